"""Password hashing with argon2id (argon2-cffi's defaults: memory-hard, salted per hash).

Only the encoded hash (``$argon2id$v=19$m=65536,t=3,p=4$salt$hash``) is ever stored.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from skinapp.auth.errors import PasswordPolicyError

__all__ = ["MAX_PASSWORD", "check_policy", "hash_password", "needs_rehash", "verify_password"]

MAX_PASSWORD = 256
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against for unknown users, so a wrong user name costs as long as a wrong
    password. Made on first use: hashing takes ~0.3 s, which every app start paid before."""
    return _HASHER.hash("skinapp-no-such-user")


def check_policy(password: str, min_length: int) -> str:
    """The password if it is long enough (a passphrase is best), else a clear error."""
    if not isinstance(password, str) or len(password) < min_length:
        raise PasswordPolicyError(
            f"The password must have at least {min_length} characters (a few unrelated words "
            "make a good one)."
        )
    if len(password) > MAX_PASSWORD:
        raise PasswordPolicyError(f"The password must have at most {MAX_PASSWORD} characters.")
    return password


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(encoded: str | None, password: str) -> bool:
    """True if ``password`` matches; False for a mismatch or no hash (same cost either way)."""
    try:
        return _HASHER.verify(encoded or _dummy_hash(), password) and encoded is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    try:
        return _HASHER.check_needs_rehash(encoded)
    except InvalidHashError:
        return True
