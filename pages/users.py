"""Users (admin): the personal accounts of SKINAPP_AUTH=accounts."""

import streamlit as st

from skinapp.errors import SkinappError
from skinapp.ui import admin, gate, state

state.init_state()
gate.require_role("admin")
st.title("Users")
st.caption(
    "Personal accounts for SKINAPP_AUTH=accounts (passwords are stored as argon2id hashes "
    "only). The same is possible on the server: python -m skinapp.users --help."
)
admin.flash()
try:
    frame = admin.users_frame()
    st.dataframe(frame, hide_index=True, width="stretch")
    admin.user_forms(list(frame["User"]) if len(frame) else [])
except SkinappError as err:
    st.error(str(err))
