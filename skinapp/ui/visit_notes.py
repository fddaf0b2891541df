"""History page sections: the clinician's notes of a visit, and the printable reports
(one visit, or the lesion's whole timeline)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial

import streamlit as st

from skinapp.errors import SkinappError
from skinapp.io import read_image
from skinapp.store import CaseStore, Visit
from skinapp.store.records import NOTES_MAX_CHARS
from skinapp.ui.followup import visit_label

__all__ = ["editor", "print_buttons", "timeline_pdf", "visit_pdf"]

NOTES_VISIT = "history.notes_visit"
NOTES_TEXT = "history.notes_text"
PRINT_VISIT = "history.print_visit"


def _visits_by_id(visits: Sequence[Visit], key: str) -> dict[int, Visit]:
    """Visits by id; a picker still on a visit of another lesion (or an erased one) is reset
    to the latest visit."""
    by_id = {v.id: v for v in visits}
    if st.session_state.get(key) not in by_id:
        st.session_state.pop(key, None)
    return by_id


def editor(case_store: CaseStore, visits: Sequence[Visit]) -> None:
    """Pick a visit, edit its notes, save them."""
    by_id = _visits_by_id(visits, NOTES_VISIT)
    with st.expander("Notes per visit", icon=":material/edit_note:"):
        visit_id = st.selectbox(
            "Visit",
            list(reversed(by_id)),
            format_func=lambda i: visit_label(by_id[i]) if i in by_id else str(i),
            key=NOTES_VISIT,
        )
        visit = by_id[visit_id]
        with st.form(f"history.notes_form.{visit_id}", border=False):
            text = st.text_area(
                "Notes",
                value=visit.notes,
                max_chars=NOTES_MAX_CHARS,
                placeholder="e.g. patient reports itching; excised 2024-05-02, histology benign",
                key=f"{NOTES_TEXT}.{visit_id}",
            )
            saved = st.form_submit_button("Save notes", icon=":material/save:")
        if saved:
            try:
                case_store.set_notes(visit_id, text)
            except SkinappError as err:
                st.error(str(err))
            else:
                st.toast("Notes saved.", icon=":material/check_circle:")
                st.rerun()


def visit_pdf(case_store: CaseStore, visits: Sequence[Visit], visit_id: int) -> bytes:
    """The PDF report of one saved visit (with the days since the one before it)."""
    from skinapp.report_pdf import render_visit_pdf  # fpdf2 only once a PDF is made

    index = [v.id for v in visits].index(visit_id)
    visit = visits[index]
    return render_visit_pdf(
        visit,
        read_image(case_store.image(visit.id)),
        previous=visits[index - 1] if index else None,
        created_at=datetime.now(UTC),
    )


def timeline_pdf(case_store: CaseStore, visits: Sequence[Visit]) -> bytes:
    """The PDF of the lesion's timeline: every visit, its photo, measures and notes."""
    from skinapp.report_pdf import render_timeline_pdf  # fpdf2 only once a PDF is made

    images = [read_image(case_store.image(v.id)) for v in visits]
    return render_timeline_pdf(visits, images, created_at=datetime.now(UTC))


def print_buttons(case_store: CaseStore, visits: Sequence[Visit]) -> None:
    """Download a visit's report or the lesion's timeline report (PDF)."""
    by_id = _visits_by_id(visits, PRINT_VISIT)
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    visit_id = left.selectbox(
        "Print the report of",
        list(reversed(by_id)),
        format_func=lambda i: visit_label(by_id[i]) if i in by_id else str(i),
        key=PRINT_VISIT,
    )
    stamp = by_id[visit_id].visit_date.isoformat()
    left.download_button(
        "Visit report (PDF)",
        data=partial(visit_pdf, case_store, visits, visit_id),
        file_name=f"skinapp-visit-{stamp}.pdf",
        mime="application/pdf",
        on_click="ignore",
        icon=":material/picture_as_pdf:",
        help="This visit: photo and outline, result, ABCD, notes, signature line.",
    )
    right.download_button(
        "Lesion timeline (PDF)",
        data=partial(timeline_pdf, case_store, visits),
        file_name="skinapp-lesion-timeline.pdf",
        mime="application/pdf",
        on_click="ignore",
        icon=":material/picture_as_pdf:",
        help="Every visit of this lesion: dates, days between, measures, photos, notes.",
    )
