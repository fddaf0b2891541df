"""Batch-triage sections: the inputs, the analysis with a progress bar (kept for the
session so that filtering does not re-analyse), the problem list, the filters and the table."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from skinapp.io import UPLOAD_LIMIT_TEXT
from skinapp.pool import waiting_message
from skinapp.serving import Classifier
from skinapp.triage import TriageResult, expand_uploads, run_triage, to_frame
from skinapp.ui import sessions
from skinapp.ui.cache import sample_bytes, sample_catalog

__all__ = [
    "KEY_COLUMNS",
    "analysed",
    "filtered",
    "inputs",
    "not_lesion_list",
    "photo_bytes",
    "problem_list",
    "result_table",
]

TRIAGE_UPLOAD = "triage.upload"
TRIAGE_SAMPLES = "triage.samples"
TRIAGE_GRADES = "triage.grades"
TRIAGE_MIN_P = "triage.min_probability"
TRIAGE_SEARCH = "triage.search"
TRIAGE_TABLE = "triage.table"
#: ``(digest of the inputs and model, TriageResult)`` of the last batch (in memory only).
_RESULT = "triage.result"


def inputs() -> list[tuple[str, bytes]]:
    """Uploaded photos and zips, plus the bundled samples when asked for."""
    files = st.file_uploader(
        "Photos, or zip files of photos",
        accept_multiple_files=True,
        key=TRIAGE_UPLOAD,
        help=f"JPEG, PNG, BMP, TIFF or WebP photos, up to {UPLOAD_LIMIT_TEXT} each; zips are "
        "read in memory "
        "(never unpacked to disk). Nothing is stored.",
    )
    out = [(f.name, f.getvalue()) for f in files or []]
    if st.toggle("Add the six bundled sample photos", key=TRIAGE_SAMPLES):
        out += [(f"{image_id}.jpg", sample_bytes(image_id)) for image_id in sample_catalog()]
    return out


def _digest(uploads: Sequence[tuple[str, bytes]], model_version: str) -> str:
    h = hashlib.sha256(model_version.encode())
    for name, data in uploads:
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def analysed(uploads: Sequence[tuple[str, bytes]], classifier: Classifier) -> TriageResult:
    """Triage the inputs (once per set of inputs and model in this session)."""
    digest = _digest(uploads, classifier.version)
    cached = st.session_state.get(_RESULT)
    if cached is not None and cached[0] == digest:
        return cached[1]
    sessions.track_this_session()
    files, problems, ignored = expand_uploads(uploads)
    bar = st.progress(0.0, text=f"Analysing {len(files)} photos…")

    done_so_far = [0]

    def progress(done: int, total: int, _name: str) -> None:
        done_so_far[0] = done
        bar.progress(done / total, text=f"Analysed {done} of {total} photos")

    def waiting(ahead: int) -> None:
        bar.progress(
            done_so_far[0] / max(len(files), 1),
            text=f"Analysed {done_so_far[0]} of {len(files)} photos · {waiting_message(ahead)}",
        )

    result = run_triage(
        files,
        classifier,
        problems=problems,
        ignored=ignored,
        on_progress=progress,
        on_wait=waiting,
    )
    bar.empty()
    st.session_state[_RESULT] = (digest, result)
    return result


def problem_list(result: TriageResult) -> None:
    """The files that were not analysed, each with its reason."""
    if result.problems:
        st.warning(
            f"{len(result.problems)} file(s) could not be analysed; the others were.",
            icon=":material/warning:",
        )
        st.dataframe(
            pd.DataFrame(
                [(p.name, p.message) for p in result.problems], columns=["File", "Problem"]
            ),
            hide_index=True,
            width="stretch",
        )
    if result.ignored:
        st.caption(
            f"{result.ignored} zip entries were skipped (folders, hidden files, non-photos)."
        )


def not_lesion_list(result: TriageResult) -> None:
    """The photos that are not dermoscopic lesion images, in their own section, ungraded."""
    if not result.not_lesions:
        return
    st.subheader("Not dermoscopic lesion photos")
    st.warning(
        f"{len(result.not_lesions)} photo(s) do not look like dermoscopic images of a skin "
        "lesion. They are not graded and not ranked with the lesions below.",
        icon=":material/block:",
    )
    st.dataframe(
        pd.DataFrame([p.name for p in result.not_lesions], columns=["File"]),
        hide_index=True,
        width="stretch",
    )


def filtered(result: TriageResult) -> pd.DataFrame:
    """Filter widgets and the rows they keep (riskiest first)."""
    left, middle, right = st.columns(3)
    grades = left.multiselect("Risk grades", [3, 2, 1], default=[3, 2, 1], key=TRIAGE_GRADES)
    min_p = middle.slider(
        "Minimum probability", 0.0, 1.0, 0.0, 0.05, key=TRIAGE_MIN_P, format="%.2f"
    )
    search = right.text_input("File name contains", key=TRIAGE_SEARCH)
    frame = to_frame(result.rows)
    keep = frame["grade"].isin(grades) & (frame["p_malignant"] >= min_p)
    if search.strip():
        keep &= frame["file"].str.contains(search.strip(), case=False, regex=False)
    return frame[keep].reset_index(drop=True)


#: Table columns in order: what decides the order of work first (fits a phone's width).
KEY_COLUMNS = (
    "thumbnail",
    "grade",
    "p_malignant",
    "differential",
    "file",
    "caution",
    "lesion_found",
    "diameter_px",
    "asymmetry",
    "color_count",
    "colors",
    "notes",
)
_ROW_HEIGHT = 64


def result_table(frame: pd.DataFrame) -> int | None:
    """The triage table (every row shown, no inner scrolling; photo, grade and probability
    first) with thumbnails and a probability bar. Returns the row clicked, if any."""
    event = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=38 + _ROW_HEIGHT * max(len(frame), 1),
        row_height=_ROW_HEIGHT,
        column_order=KEY_COLUMNS,
        key=TRIAGE_TABLE,
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "thumbnail": st.column_config.ImageColumn("Photo", width=70),
            "file": st.column_config.TextColumn("File"),
            "grade": st.column_config.NumberColumn("Grade", format="%d", width=55),
            "p_malignant": st.column_config.ProgressColumn(
                "Probability", min_value=0.0, max_value=1.0, format="percent", width=110
            ),
            "differential": st.column_config.TextColumn(
                "Differential (most likely first)", width="large"
            ),
            "dx": None,
            "lesion_found": st.column_config.CheckboxColumn("Lesion found"),
            "diameter_px": st.column_config.NumberColumn("Diameter (px)", format="%.0f"),
            "asymmetry": st.column_config.NumberColumn("Asymmetry", format="%.2f"),
            "color_count": st.column_config.NumberColumn("Colours", format="%d"),
            "colors": "Colour names",
            "caution": "Caution",
            "notes": "Notes",
        },
    )
    rows = list(getattr(getattr(event, "selection", None), "rows", None) or [])
    return rows[0] if rows and rows[0] < len(frame) else None


def photo_bytes(uploads: Sequence[tuple[str, bytes]], name: str) -> bytes | None:
    """The bytes of the photo called ``name`` in the batch (zips opened in memory)."""
    files, _, _ = expand_uploads(uploads)
    return next((f.data for f in files if f.name == name), None)
