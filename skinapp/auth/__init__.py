"""Who may use the app and what they did: authentication modes, accounts, the audit trail.

- :func:`auth_config` / :func:`check_exposure` (:mod:`skinapp.auth.config`): ``SKINAPP_AUTH``
  (none, accounts, oidc, proxy) and the refusal to serve without a login on a network address.
- :class:`Accounts` (:mod:`skinapp.auth.accounts`): argon2id-hashed personal accounts,
  lockout, roles; ``python -m skinapp.users`` administers them.
- :class:`AuditLog` (:mod:`skinapp.auth.audit`): the append-only audit trail.
- :mod:`skinapp.auth.roles`: the roles and the navigation sections each may open.

Core code: no Streamlit here (the login gate is :mod:`skinapp.ui.gate`).
"""

from skinapp.auth.accounts import Accounts, User
from skinapp.auth.audit import ACTIONS, AuditEvent, AuditLog, events_csv
from skinapp.auth.config import AuthConfig, AuthMode, auth_config, check_exposure, is_loopback
from skinapp.auth.errors import (
    AccountLockedError,
    AuthConfigError,
    AuthError,
    LoginError,
    PasswordPolicyError,
    UnknownUserError,
)
from skinapp.auth.roles import ADMIN, CLINICIAN, ROLES, Identity

__all__ = [
    "ACTIONS",
    "ADMIN",
    "CLINICIAN",
    "ROLES",
    "AccountLockedError",
    "Accounts",
    "AuditEvent",
    "AuditLog",
    "AuthConfig",
    "AuthConfigError",
    "AuthError",
    "AuthMode",
    "Identity",
    "LoginError",
    "PasswordPolicyError",
    "UnknownUserError",
    "User",
    "auth_config",
    "check_exposure",
    "events_csv",
    "is_loopback",
]
