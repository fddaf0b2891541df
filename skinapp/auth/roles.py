"""Roles and what each may open: the one place the navigation and the admin pages ask."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ADMIN", "CLINICIAN", "ROLES", "SECTIONS", "Identity", "may_open", "sections"]

CLINICIAN = "clinician"
ADMIN = "admin"
ROLES = (CLINICIAN, ADMIN)

#: Navigation sections of app.py and the roles that see them.
SECTIONS: dict[str, tuple[str, ...]] = {
    "Clinic": (CLINICIAN, ADMIN),
    "Lab": (CLINICIAN, ADMIN),
    "Model": (CLINICIAN, ADMIN),
    "Admin": (ADMIN,),
}


@dataclass(frozen=True)
class Identity:
    """Who is using this session.

    Attributes
    ----------
    username : str
        The account name (``local`` without logins, the provider's e-mail with OIDC).
    role : str
        One of :data:`ROLES`.
    mode : str
        The authentication mode that established it.
    """

    username: str
    role: str
    mode: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


def sections(role: str) -> list[str]:
    """The navigation sections ``role`` may open, in app order."""
    return [name for name, roles in SECTIONS.items() if role in roles]


def may_open(role: str, section: str) -> bool:
    return role in SECTIONS.get(section, ())
