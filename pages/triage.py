"""Batch triage: many photos (or zips) in, a table sorted riskiest first out."""

import streamlit as st

from skinapp.analysis import AnalysisSettings
from skinapp.errors import SkinappError
from skinapp.triage import to_csv
from skinapp.ui import batch, cache, state, views
from skinapp.ui import trust as trust_views

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
batch.not_lesion_list(result)
if not result.rows:
    st.stop()

if result.not_lesions:
    st.subheader("Lesions, riskiest first")
frame = batch.filtered(result)
st.caption(f"{len(frame)} of {len(result.rows)} photos shown · model {classifier.version}")
st.caption("Click a row to see that photo's result and images below the table.")
picked = batch.result_table(frame)
st.download_button(
    "Download table (CSV)",
    data=to_csv(frame),
    file_name="skinapp-triage.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
    help="The rows shown, without thumbnails. File names are included as uploaded.",
)
if picked is not None:
    name = str(frame.loc[picked, "file"])
    st.subheader(f"Details · {name}")
    data = batch.photo_bytes(uploads, name)
    try:
        if data is None:
            raise SkinappError(f"{name} is no longer in the batch.")
        analysis = cache.analysis(data, AnalysisSettings(), classifier)
    except SkinappError as err:
        st.error(str(err))
    else:
        metrics = trust_views.performance_metrics(analysis, cache.model_json("metrics.json"))
        trust_views.result_or_warning(analysis, metrics)
        views.image_row(analysis)
        with st.expander("Lesion descriptors (ABCD)"):
            views.descriptor_table(analysis)
