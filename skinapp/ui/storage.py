"""The case store of this app process, opened once (the schema is created on first use).

Shared by the case-history widgets (:mod:`skinapp.ui.casebook`), the login gate and the
audit trail (:mod:`skinapp.ui.gate`).
"""

from __future__ import annotations

import streamlit as st

from skinapp.store import CaseStore, open_store
from skinapp.store.config import store_config

__all__ = ["store"]


@st.cache_resource(show_spinner=False)
def _open(url: str) -> CaseStore:
    return open_store(store_config())


def store() -> CaseStore:
    """The case store of ``SKINAPP_DATABASE_URL`` / ``SKINAPP_DATA_DIR`` (opened once per
    process and location; the schema is created on first use).

    Raises
    ------
    StoreError
        Bad configuration, or the database cannot be opened.
    """
    return _open(store_config().url.render_as_string(hide_password=False))
