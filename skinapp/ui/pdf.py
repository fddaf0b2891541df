"""Diagnose's PDF report, made when its download is clicked: fpdf2 (some 28 MB resident once
imported) is loaded then, not by every page that offers the button (issue 21: memory)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skinapp.analysis import Analysis

__all__ = ["analysis_pdf"]


def analysis_pdf(analysis: Analysis, **kwargs: Any) -> bytes:
    """:func:`skinapp.report_pdf.render_pdf` of ``analysis`` (same keyword arguments)."""
    from skinapp.report_pdf import render_pdf

    return render_pdf(analysis, **kwargs)
