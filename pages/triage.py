"""Batch triage: many photos (or zips) in, a table sorted riskiest first out."""

import streamlit as st

from skinapp.triage import to_csv
from skinapp.ui import batch, cache, state, views

state.init_state()
st.title("Batch triage")
st.caption(
    "Many dermoscopic photos at once, sorted by risk grade and then probability, so the "
    "lesions to look at first come first. Each photo is analysed exactly as on Diagnose, "
    "with the validated default settings."
)
views.disclaimer()

uploads = batch.inputs()
if not uploads:
    st.info("Upload photos or zip files of photos (or add the bundled samples) to begin.")
    st.stop()

classifier = cache.classifier_or_stop()

result = batch.analysed(uploads, classifier)
batch.problem_list(result)
if not result.rows:
    st.stop()

frame = batch.filtered(result)
st.caption(f"{len(frame)} of {len(result.rows)} photos shown · model {classifier.version}")
batch.result_table(frame)
st.download_button(
    "Download table (CSV)",
    data=to_csv(frame),
    file_name="skinapp-triage.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
    help="The rows shown, without thumbnails. File names are included as uploaded.",
)
