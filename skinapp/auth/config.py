"""How users are authenticated: ``SKINAPP_AUTH`` and its settings, read in one place.

Modes (``SKINAPP_AUTH``):

``none`` (default)
    One user on this machine, as before: no login. Refused on a network address (anything
    but loopback) unless ``SKINAPP_ALLOW_OPEN_NETWORK=1`` opts out, with a warning.
``accounts``
    Personal accounts in the case store's database (``python -m skinapp.users``).
``oidc``
    Streamlit's ``st.login`` against the identity provider of ``.streamlit/secrets.toml``.
``proxy``
    A reverse proxy authenticates; its user header (``SKINAPP_PROXY_USER_HEADER``, default
    ``X-Forwarded-User``) is trusted only on connections from ``SKINAPP_PROXY_ADDRESSES``.

Other settings: ``SKINAPP_AUTH_IDLE_MINUTES`` (30), ``SKINAPP_AUTH_MAX_FAILURES`` (5),
``SKINAPP_AUTH_LOCKOUT_MINUTES`` (15), ``SKINAPP_AUTH_MIN_PASSWORD`` (12).

Core code: no Streamlit here.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from skinapp.auth.errors import AuthConfigError

__all__ = [
    "ALLOW_OPEN_ENV",
    "AUTH_ENV",
    "OPEN_NETWORK_WARNING",
    "AuthConfig",
    "AuthMode",
    "auth_config",
    "check_exposure",
    "is_loopback",
]

AUTH_ENV = "SKINAPP_AUTH"
ALLOW_OPEN_ENV = "SKINAPP_ALLOW_OPEN_NETWORK"
OPEN_NETWORK_WARNING = (
    f"WARNING: {AUTH_ENV}=none on a network address ({ALLOW_OPEN_ENV}=1): there is no login. "
    "Anyone who reaches this address sees every patient in the case history. Use "
    f"{AUTH_ENV}=accounts (python -m skinapp.users add ...) for anything but a trusted, "
    "private network."
)


class AuthMode(StrEnum):
    NONE = "none"
    ACCOUNTS = "accounts"
    OIDC = "oidc"
    PROXY = "proxy"


@dataclass(frozen=True)
class AuthConfig:
    """Resolved authentication settings (see the module docstring for the variables)."""

    mode: AuthMode = AuthMode.NONE
    idle_minutes: float = 30.0
    max_failures: int = 5
    lockout_minutes: float = 15.0
    min_password: int = 12
    allow_open_network: bool = False
    proxy_header: str = "X-Forwarded-User"
    proxy_addresses: tuple[str, ...] = ()
    oidc_provider: str | None = None

    @property
    def has_login(self) -> bool:
        return self.mode is not AuthMode.NONE


def _number(env: Mapping[str, str], name: str, default: float, low: float, kind=float):
    raw = (env.get(name) or "").strip()
    if not raw:
        return kind(default)
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or value < low:
        raise AuthConfigError(f"{name} must be a number of at least {low}. Received: {raw!r}.")
    return value


def auth_config(environ: Mapping[str, str] | None = None) -> AuthConfig:
    """The authentication settings of the environment.

    Raises
    ------
    AuthConfigError
        An unknown mode, a bad number, or ``proxy`` without ``SKINAPP_PROXY_ADDRESSES``.
    """
    env = os.environ if environ is None else environ
    raw = (env.get(AUTH_ENV) or "none").strip().lower()
    try:
        mode = AuthMode(raw)
    except ValueError:
        choices = "|".join(m.value for m in AuthMode)
        raise AuthConfigError(f"{AUTH_ENV} must be one of {choices}. Received: {raw!r}.") from None
    addresses = tuple(
        a.strip() for a in (env.get("SKINAPP_PROXY_ADDRESSES") or "").split(",") if a.strip()
    )
    for address in addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise AuthConfigError(
                f"SKINAPP_PROXY_ADDRESSES must list IP addresses (e.g. 127.0.0.1). "
                f"Received: {address!r}."
            ) from None
    if mode is AuthMode.PROXY and not addresses:
        raise AuthConfigError(
            f"{AUTH_ENV}=proxy trusts a user header only from the proxy: set "
            "SKINAPP_PROXY_ADDRESSES to its address (e.g. 127.0.0.1)."
        )
    return AuthConfig(
        mode=mode,
        idle_minutes=_number(env, "SKINAPP_AUTH_IDLE_MINUTES", 30, 1),
        max_failures=_number(env, "SKINAPP_AUTH_MAX_FAILURES", 5, 1, int),
        lockout_minutes=_number(env, "SKINAPP_AUTH_LOCKOUT_MINUTES", 15, 1),
        min_password=_number(env, "SKINAPP_AUTH_MIN_PASSWORD", 12, 8, int),
        allow_open_network=(env.get(ALLOW_OPEN_ENV) or "").strip() == "1",
        proxy_header=(env.get("SKINAPP_PROXY_USER_HEADER") or "X-Forwarded-User").strip(),
        proxy_addresses=addresses,
        oidc_provider=(env.get("SKINAPP_OIDC_PROVIDER") or "").strip() or None,
    )


def is_loopback(address: str | None) -> bool:
    """True for ``localhost``, ``127.x.x.x`` and ``::1``; False for ``""`` (all interfaces),
    ``0.0.0.0`` and any other address."""
    address = (address or "").strip().strip("[]")
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def check_exposure(config: AuthConfig, address: str | None) -> str | None:
    """The one decision on serving without a login: may ``config`` listen on ``address``?

    Returns None when it may, the warning to print when it may only because the user opted
    out (``SKINAPP_ALLOW_OPEN_NETWORK=1``).

    Raises
    ------
    AuthConfigError
        ``none`` on a non-loopback address without the opt-out.
    """
    if config.has_login or is_loopback(address):
        return None
    if config.allow_open_network:
        return OPEN_NETWORK_WARNING
    where = address or "every network interface"
    raise AuthConfigError(
        f"Refusing to serve patient data without a login on {where}. Either listen on this "
        f"machine only (--server.address 127.0.0.1), or turn logins on with {AUTH_ENV}=accounts "
        f"(then python -m skinapp.users add NAME --role admin), or, on a trusted private "
        f"network only, opt out with {ALLOW_OPEN_ENV}=1."
    )
