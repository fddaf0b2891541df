"""Diagnose: photo(s) in; hair removal, segmentation, heat map, result, grade and report out."""

import dataclasses
from datetime import UTC, datetime
from functools import partial

import streamlit as st

from skinapp.errors import SkinappError
from skinapp.report_html import render_report
from skinapp.store.records import NOTES_MAX_CHARS
from skinapp.ui import cache, casebook, state, views, widgets
from skinapp.ui import trust as trust_views
from skinapp.ui.pdf import analysis_pdf

state.init_state()
st.title("Diagnose")
st.caption("Dermoscopic photo of one skin lesion in; risk estimate and the evidence behind it out.")
views.disclaimer()

images = widgets.image_inputs("diagnose", multiple=True)
mm_per_pixel = st.number_input(
    "Scale in millimetres per pixel (optional)",
    min_value=0.001,
    max_value=5.0,
    value=None,
    step=0.001,
    format="%.4f",
    key=state.DIAGNOSE_MM_PER_PIXEL,
    placeholder="e.g. 0.0200 — leave empty if unknown",
    help="With a scale the lesion diameter is also given in millimetres.",
)
if not images:
    st.info("Upload a dermoscopic photo, use the camera, or pick a bundled sample to begin.")
    st.stop()

classifier = cache.classifier_or_stop()

lab_settings = state.current_settings()
if lab_settings.differs_from_validated_defaults():
    st.warning(
        "Your Preprocessing Lab settings differ from the validated defaults ("
        + ", ".join(widgets.setting_label(name) for name in lab_settings.changed_parameters())
        + "). Reset them in the Lab to see the validated result.",
        icon=":material/tune:",
    )
settings = widgets.with_outline_sensitivity(
    dataclasses.replace(lab_settings, mm_per_pixel=mm_per_pixel), classifier
)

results = []
with st.spinner("Analysing…"):
    for name, data in images:
        try:
            results.append((name, cache.analysis(data, settings, classifier)))
        except SkinappError as err:
            st.error(f"{name}: {err}")
if not results:
    st.stop()

shown = 0
if len(results) > 1:
    st.dataframe(trust_views.summary_frame(results), hide_index=True, width="stretch")
    shown = st.selectbox(
        "Show details of",
        range(len(results)),
        format_func=lambda i: results[i][0],
        key=state.DIAGNOSE_SELECTED,
    )
analysis = results[shown][1]
if trust_views.not_a_lesion_only(analysis):  # one message, and nothing else
    st.stop()
trust_views.quality_warnings(analysis)

# The answer first (on a phone the images would push it ~2,000 px down), then the evidence.
metrics = trust_views.performance_metrics(analysis, cache.model_json("metrics.json"))
trust_views.result_or_warning(analysis, metrics)

show_hair = st.toggle("Show detected hair", key=state.DIAGNOSE_SHOW_HAIR)
views.image_row(analysis, show_hair_mask=show_hair)
for note in analysis.notes:
    st.caption(f":material/info: {note}")

with st.expander("Lesion descriptors (ABCD)", expanded=True, icon=":material/straighten:"):
    views.descriptor_table(analysis)

notes = st.text_area(
    "Clinician's notes (optional)",
    key=state.DIAGNOSE_NOTES,
    max_chars=NOTES_MAX_CHARS,
    placeholder="Printed on the PDF report; saved with the visit if you save it.",
    height=90,
)
casebook.save_form(analysis, classifier.version, notes=notes or "")
performance = views.performance_at_operating(metrics)
pdf_col, html_col = st.columns(2)
pdf_col.download_button(
    "Download report (PDF)",
    data=partial(
        analysis_pdf,
        analysis,
        model_version=classifier.version,
        created_at=datetime.now(UTC),
        performance=performance,
        case=casebook.saved_case(analysis),
        notes=notes or "",
    ),
    file_name="skinapp-report.pdf",
    mime="application/pdf",
    on_click="ignore",
    icon=":material/picture_as_pdf:",
    type="primary",
    help="Printable: images, grade and probability, quality checks, ABCD, model version and "
    "date, your notes and a signature line; the pseudonym, lesion, site and dates once the "
    "visit is saved. No file name or EXIF.",
)
html_col.download_button(
    "Download report (HTML)",
    data=partial(
        render_report,
        analysis,
        model_version=classifier.version,
        created_at=datetime.now(UTC),
        performance=performance,
    ),
    file_name="skinapp-report.html",
    mime="text/html",
    on_click="ignore",
    icon=":material/download:",
    help="Images, result, model version and date; no file name, EXIF or patient data.",
)
st.caption(
    f"Model {classifier.version} · analysed in {analysis.timings_ms['total']:.0f} ms "
    f"({', '.join(f'{k} {v:.0f}' for k, v in analysis.timings_ms.items() if k != 'total')})"
)
