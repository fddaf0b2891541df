"""The least a Streamlit page does per upload: a yardstick for the load run's harness.

``python -m skinapp.bench_load --app benchmarks/floor_app.py`` loads this page exactly as it
loads skinapp's Diagnose (the same heading, source choice and uploader), but an upload only
reads the bytes and shows one metric: no analysis, no images. Whatever this page measures
is the cost of Streamlit and of the clients themselves.
"""

import streamlit as st

st.title("Diagnose")
st.radio("Image source", ["Upload"], horizontal=True)
photos = st.file_uploader("Dermoscopic photo(s)", accept_multiple_files=True)
if photos:
    st.metric("Risk grade", f"{len(photos[0].getvalue()) % 3 + 1} of 3")
