"""The saved-case fields a report shows, and the days between two visits.

Apart from :mod:`skinapp.pdf_layout` (which re-exports them) so that the pages that only
save or list visits do not import fpdf2, some 28 MB resident once imported (issue 21).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["CaseInfo", "days_between"]


@dataclass(frozen=True)
class CaseInfo:
    """The saved-case fields a report shows (all from the case store, never a name)."""

    pseudonym: str
    lesion_id: str
    body_site: str = ""
    visit_date: dt.date | None = None
    days_since_previous: int | None = None


def days_between(earlier: dt.date | None, later: dt.date | None) -> int | None:
    """Whole days from ``earlier`` to ``later`` (None if either is missing)."""
    if earlier is None or later is None:
        return None
    return (later - earlier).days
