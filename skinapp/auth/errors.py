"""Errors of authentication and accounts; each message says what to do."""

from __future__ import annotations

from skinapp.errors import SkinappError

__all__ = [
    "AccountLockedError",
    "AuthConfigError",
    "AuthError",
    "LoginError",
    "PasswordPolicyError",
    "UnknownUserError",
]


class AuthError(SkinappError):
    """Root of the authentication errors (``str(err)`` is a user-facing message)."""


class AuthConfigError(AuthError):
    """``SKINAPP_AUTH`` and its settings are unusable or unsafe for the listening address."""


class LoginError(AuthError):
    """Wrong user name or password, or a disabled account."""


class AccountLockedError(LoginError):
    """Too many failed logins in a row: the account is locked for a while."""


class PasswordPolicyError(AuthError, ValueError):
    """A new password is too short (or too long)."""


class UnknownUserError(AuthError, LookupError):
    """No account of that user name (command line and admin page)."""
