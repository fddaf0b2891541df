"""Audit trail (admin): who did what to which patient record, filtered and exported."""

from functools import partial

import streamlit as st

from skinapp.auth import ACTIONS
from skinapp.errors import SkinappError
from skinapp.ui import admin, gate, state

state.init_state()
identity = gate.require_role("admin")
st.title("Audit trail")
st.caption(
    "Every login, failed login, logout, opened history, saved visit, export and erasure, "
    "newest first. The rows cannot be changed or deleted from the app (the database refuses "
    "it), and they outlive an erased patient: they name the pseudonym, never an image."
)
filters = admin.audit_filters()
try:
    events = gate.audit_log().events(**filters)
except SkinappError as err:
    st.error(str(err))
    st.stop()
st.caption(f"{len(events)} rows")
st.dataframe(admin.audit_frame(events), hide_index=True, width="stretch")
st.download_button(
    "Export these rows (CSV)",
    data=partial(admin.audit_csv, events, identity.username, gate.client_address()),
    file_name="skinapp-audit.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
)
with st.expander("What the actions mean"):
    st.table({"Action": list(ACTIONS), "Meaning": list(ACTIONS.values())})
