"""The page layout shared by the PDF reports (fpdf2): A4 with the decision-support footer,
headings, label/value tables, image rows, the heat-map scale, notes and a signature line.

Core PDF fonts cover Latin-1 only, so every text passes through :func:`pdf_text`, which
spells out the few other characters the app uses (dashes, >=, <=, ...).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from fpdf import FPDF
from PIL import Image

from skinapp.case_info import CaseInfo, days_between
from skinapp.heatmap import legend_bar
from skinapp.io import downscale_max_side
from skinapp.model.grading import GRADE_DISCLAIMER, GRADE_TEXT
from skinapp.report_html import descriptor_rows

__all__ = [
    "MUTED",
    "CaseInfo",
    "ReportDoc",
    "case_rows",
    "days_between",
    "descriptor_table",
    "grade_block",
    "new_doc",
    "pdf_text",
    "utc",
]

#: Long side (px) of the images placed in the PDF (sharp at print size, small file).
PDF_IMAGE_SIDE = 640
_REPLACE = {
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2265": ">=",
    "\u2264": "<=",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "\u2192": "->",
    "\u00a0": " ",
}
_GRADE_RGB = {1: (14, 116, 144), 2: (217, 119, 6), 3: (185, 28, 28)}
_INK, MUTED, _RULE = (31, 41, 55), (100, 116, 139), (203, 213, 225)


def pdf_text(text: Any) -> str:
    """``text`` as Latin-1-safe text for the core PDF fonts (unknown characters become ?)."""
    out = str(text)
    for char, plain in _REPLACE.items():
        out = out.replace(char, plain)
    return out.encode("latin-1", "replace").decode("latin-1")


class ReportDoc(FPDF):
    """A4 portrait with the decision-support line and page numbers in the footer."""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=7)
        self.set_text_color(*MUTED)
        self.cell(
            0,
            5,
            pdf_text(f"skinapp - decision support, not a diagnosis - page {self.page_no()}/{{nb}}"),
            align="C",
        )

    # --- building blocks ---

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font("Helvetica", "B", 11)
        self.set_text_color(*_INK)
        self.cell(0, 7, pdf_text(text), new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(*_RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1.5)

    def para(self, text: str, *, size: float = 9, style: str = "", color=_INK) -> None:
        self.set_font("Helvetica", style, size)
        self.set_text_color(*color)
        self.multi_cell(0, size * 0.5, pdf_text(text), new_x="LMARGIN", new_y="NEXT")

    def rows(self, rows: Sequence[tuple[str, str]], *, first: float = 70) -> None:
        """A two-column table of label and value (long texts wrap inside their cell)."""
        self.set_font("Helvetica", "", 8.5)
        self.set_text_color(*_INK)
        self.set_draw_color(*_RULE)
        self.set_fill_color(255, 255, 255)
        with self.table(
            col_widths=(first, self.epw - first),
            width=self.epw,
            first_row_as_headings=False,
            borders_layout="HORIZONTAL_LINES",
            line_height=4.4,
            padding=0.8,
            text_align="LEFT",
            cell_fill_mode="NONE",
        ) as table:
            for label, value in rows:
                row = table.row()
                self.set_font("Helvetica", "B", 8.5)
                row.cell(pdf_text(label))
                self.set_font("Helvetica", "", 8.5)
                row.cell(pdf_text(value))
        self.ln(1)

    def images(self, items: Sequence[tuple[np.ndarray, str]], *, per_row: int = 3) -> None:
        """Images in a row (equal widths), each with its caption; a new page if needed."""
        gap = 4.0
        width = (self.epw - gap * (per_row - 1)) / per_row
        for start in range(0, len(items), per_row):
            chunk = items[start : start + per_row]
            heights = [width * im.shape[0] / im.shape[1] for im, _ in chunk]
            needed = max(heights) + 10
            if self.get_y() + needed > self.page_break_trigger:
                self.add_page()
            top = self.get_y()
            for i, (image, caption) in enumerate(chunk):
                x = self.l_margin + i * (width + gap)
                small = downscale_max_side(np.ascontiguousarray(image), PDF_IMAGE_SIDE)
                self.image(Image.fromarray(small), x=x, y=top, w=width)
                self.set_xy(x, top + heights[i] + 0.8)
                self.set_font("Helvetica", size=7.5)
                self.set_text_color(*MUTED)
                self.multi_cell(width, 3.6, pdf_text(caption), align="C")
            self.set_y(top + needed)

    def legend(self) -> None:
        """The heat map's colour scale with its two ends named."""
        y = self.get_y()
        self.image(Image.fromarray(legend_bar(256, 8)), x=self.l_margin + 38, y=y + 0.8, w=60, h=3)
        self.set_font("Helvetica", size=7.5)
        self.set_text_color(*MUTED)
        self.set_xy(self.l_margin, y)
        self.cell(37, 4.5, "Heat map colour scale:")
        self.set_x(self.l_margin + 100)
        self.cell(0, 4.5, pdf_text("none (photo unchanged) -> strongest evidence for malignancy"))
        self.ln(5.5)

    def notes_and_signature(self, notes: str) -> None:
        """The clinician's notes (or ruled lines to write on) and a signature line."""
        if self.get_y() + 46 > self.page_break_trigger:
            self.add_page()
        self.heading("Clinician's notes")
        if notes.strip():
            self.para(notes.strip())
            self.ln(2)
        else:
            self.set_draw_color(*_RULE)
            for _ in range(3):
                self.ln(7)
                self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
            self.ln(2)
        self.ln(10)
        y = self.get_y()
        self.set_draw_color(*_INK)
        self.line(self.l_margin, y, self.l_margin + 90, y)
        self.line(self.l_margin + 110, y, self.w - self.r_margin, y)
        self.set_font("Helvetica", size=8)
        self.set_text_color(*MUTED)
        self.set_xy(self.l_margin, y + 1)
        self.cell(90, 4, "Clinician (name and signature)")
        self.set_x(self.l_margin + 110)
        self.cell(0, 4, "Date")
        self.ln(6)


def new_doc(title: str, created_at: dt.datetime, model_version: str) -> ReportDoc:
    doc = ReportDoc(format="A4")
    doc.set_margins(15, 14, 15)
    doc.set_auto_page_break(True, margin=16)
    doc.set_creation_date(created_at)
    doc.set_title(pdf_text(title))
    doc.set_author("skinapp")
    doc.set_creator("skinapp")
    doc.set_producer("skinapp")
    doc.alias_nb_pages()
    doc.add_page()
    doc.set_font("Helvetica", "B", 16)
    doc.set_text_color(14, 116, 144)
    doc.cell(0, 9, pdf_text(title), new_x="LMARGIN", new_y="NEXT")
    doc.para(
        f"Created {created_at.strftime('%Y-%m-%d %H:%M %Z')} - model version {model_version}",
        size=8.5,
        color=MUTED,
    )
    doc.ln(1.5)
    doc.set_fill_color(255, 247, 237)
    doc.set_draw_color(253, 186, 116)
    doc.set_font("Helvetica", "B", 8.5)
    doc.set_text_color(*_INK)
    doc.multi_cell(
        0,
        4.3,
        pdf_text(f"Decision support, not a diagnosis. {GRADE_DISCLAIMER}"),
        border=1,
        fill=True,
        padding=2,
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return doc


def utc(created_at: dt.datetime | None) -> dt.datetime:
    created_at = created_at or dt.datetime.now(dt.UTC)
    return created_at if created_at.tzinfo else created_at.replace(tzinfo=dt.UTC)


def case_rows(case: CaseInfo) -> list[tuple[str, str]]:
    rows = [("Patient pseudonym", case.pseudonym), ("Lesion", case.lesion_id)]
    rows.append(("Body site", case.body_site or "not given"))
    if case.visit_date is not None:
        rows.append(("Visit date", case.visit_date.isoformat()))
    rows.append(
        (
            "Days since the previous visit",
            "first visit" if case.days_since_previous is None else str(case.days_since_previous),
        )
    )
    return rows


def grade_block(doc: ReportDoc, grade: int, p: float, interval: str) -> None:
    """The grade with its meaning (wrapped), then the probability and its interval, beside a
    bar in the grade's colour."""
    top = doc.get_y()
    left = doc.l_margin + 5
    doc.set_xy(left, top)
    doc.set_font("Helvetica", "B", 13)
    doc.set_text_color(*_INK)
    doc.cell(60, 7, f"Risk grade {grade} of 3")
    doc.set_font("Helvetica", "", 9)
    doc.multi_cell(
        0,
        4.5,
        pdf_text(f"A risk grade, not a cancer stage. {GRADE_TEXT.get(grade, '')}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    doc.set_xy(left, max(doc.get_y(), top + 7) + 1)
    doc.set_font("Helvetica", "B", 10)
    doc.cell(60, 5, f"Probability of malignancy {p:.1%}")
    doc.set_font("Helvetica", "", 8.5)
    doc.multi_cell(0, 4.3, pdf_text(interval), new_x="LMARGIN", new_y="NEXT")
    bottom = max(doc.get_y(), top + 17)
    doc.set_fill_color(*_GRADE_RGB.get(grade, _INK))
    doc.rect(doc.l_margin, top, 2.2, bottom - top, style="F")
    doc.set_y(bottom + 2)


def descriptor_table(doc: ReportDoc, descriptors: Mapping[str, Any] | None) -> None:
    doc.heading("Lesion descriptors (ABCD)")
    if not descriptors:
        doc.para("No lesion was segmented, so no descriptors were computed.", size=8.5)
        return
    doc.rows(
        [
            (f"{letter} - {measure}" if letter else measure, value)
            for letter, measure, value in descriptor_rows(descriptors)
        ],
        first=85,
    )
    doc.para(
        "Measurements of the automatic outline, for discussion; none of them is a diagnosis. "
        "Pixels are those of the analysed image.",
        size=7.5,
        color=MUTED,
    )
