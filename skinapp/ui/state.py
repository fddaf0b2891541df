"""Session-state keys (``"<page>.<name>"``) and their initial values, set up by :func:`init_state`.

Widget values live under widget keys that Streamlit deletes when a page stops rendering the
widget; what must survive a page change (the Lab settings Diagnose uses, the image handed
from one page to another) is kept under the plain keys below.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from skinapp.analysis import AnalysisSettings
from skinapp.ui import gate

# === Shared between pages ===
#: The Lab's current :class:`~skinapp.analysis.AnalysisSettings` (Diagnose analyses with them).
SETTINGS = "lab.settings"
#: ``(name, bytes)`` of the image the Lab works on, handed over from Diagnose.
LAB_IMAGE = "lab.image"

# === Diagnose ===
DIAGNOSE_SOURCE = "diagnose.source"
DIAGNOSE_SAMPLE = "diagnose.sample"
DIAGNOSE_UPLOAD = "diagnose.upload"
DIAGNOSE_CAMERA = "diagnose.camera"
DIAGNOSE_MM_PER_PIXEL = "diagnose.mm_per_pixel"
DIAGNOSE_SHOW_HAIR = "diagnose.show_hair_mask"
DIAGNOSE_SELECTED = "diagnose.selected"
DIAGNOSE_NOTES = "diagnose.notes"
DIAGNOSE_SENSITIVITY = "diagnose.boundary_sensitivity"

# === Preprocessing Lab ===
LAB_SOURCE = "lab.source"
LAB_SAMPLE = "lab.sample"
LAB_UPLOAD = "lab.upload"
LAB_PIPELINE = "lab.pipeline"  # prefix of the generated pipeline widgets
LAB_SEGMENT = "lab.segment"  # prefix of the generated segmentation widgets
LAB_CLASSIFY_PREPROCESSED = "lab.classify_preprocessed"
LAB_STEP = "lab.step"
LAB_IMPORT = "lab.import"
LAB_IMPORT_ERROR = "lab.import_error"

# === Dashboard ===
DASHBOARD_THRESHOLD = "dashboard.threshold"
DASHBOARD_TAB = "dashboard.tab"

_DEFAULTS: dict[str, Any] = {
    LAB_IMAGE: None,
    LAB_IMPORT_ERROR: None,
}


def _leave_pages_directory_mode() -> None:
    """Rerun through ``app.py`` when Streamlit ran this page in its legacy folder mode.

    Streamlit decides per process, before any script runs, that an app with a ``pages/``
    folder is a "pages directory" app, and only leaves that mode once ``st.navigation`` is
    called. A first visit straight to ``/lab`` or ``/dashboard`` therefore runs the page
    without ``app.py``: no page config, no sections, ``app`` listed as a page (see
    streamlit/streamlit#10276). Clearing the flag and rerunning sends the run through
    ``app.py``, which then opens the page asked for.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the legacy mode
        return
    if getattr(PagesManager, "uses_pages_directory", None):
        PagesManager.uses_pages_directory = False
        st.rerun()


def init_state() -> None:
    """Pass the login gate, then give every non-widget key its initial value (idempotent;
    call at the top of a page)."""
    _leave_pages_directory_mode()
    gate.require_login()
    if SETTINGS not in st.session_state:
        st.session_state[SETTINGS] = AnalysisSettings()
    for key, value in _DEFAULTS.items():
        st.session_state.setdefault(key, value)


def current_settings() -> AnalysisSettings:
    """The Lab settings of this session (defaults until the Lab changes them)."""
    init_state()
    return st.session_state[SETTINGS]
