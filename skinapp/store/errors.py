"""Errors of the case store; each message says what to do."""

from __future__ import annotations

from skinapp.errors import SkinappError

__all__ = ["CaseInputError", "StoreConfigError", "StoreError", "StoreUnavailableError"]


class StoreError(SkinappError):
    """Root of the case-store errors (``str(err)`` is a user-facing message)."""


class StoreConfigError(StoreError):
    """``SKINAPP_DATA_DIR`` or ``SKINAPP_DATABASE_URL`` is unusable."""


class StoreUnavailableError(StoreError):
    """The database cannot be opened or written (locked too long, server down, disk full)."""


class CaseInputError(StoreError, ValueError):
    """A field of a visit is missing or invalid (pseudonym, lesion id, date...).

    Attributes
    ----------
    field : str
        The offending field's name, for highlighting it in a form.
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field
