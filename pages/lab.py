"""Preprocessing Lab: change every preprocessing and segmentation parameter and watch the effect."""

import dataclasses

import streamlit as st

from skinapp.analysis import STEP_LABELS, AnalysisSettings, compare_outlines
from skinapp.errors import SkinappError
from skinapp.heatmap import HEATMAP_CAPTION
from skinapp.preprocess import PipelineParams
from skinapp.ui import cache, memo, state, views, widgets
from skinapp.ui.display import display_jpeg

state.init_state()
st.title("Preprocessing Lab")
st.caption(
    "Change the settings in the sidebar and watch each step: colour constancy, denoising, "
    "contrast, hair removal, resize, then segmentation and the model's probability. "
    "Diagnose uses these settings too."
)

current = state.current_settings()
with st.sidebar:
    st.header("Settings")
    st.button(
        "Reset all to defaults",
        on_click=widgets.reset_lab_settings,
        icon=":material/restart_alt:",
        help="Back to the settings the app was validated with.",
    )
    pipeline = widgets.param_form(
        PipelineParams,
        key=state.LAB_PIPELINE,
        value=current.pipeline,
        reset=False,
        expanded=("hair_removal",),
    )
    with st.expander("Segmentation"):
        segment = widgets.segment_form(
            current.segment, learned_installed=widgets.learned_segmenter_installed()
        )
    st.session_state.setdefault(state.LAB_CLASSIFY_PREPROCESSED, current.classify_preprocessed)
    classify_preprocessed = st.toggle(
        "Give the model the preprocessed image",
        key=state.LAB_CLASSIFY_PREPROCESSED,
        help="Off (validated): the model sees the original photo. On: it sees the pipeline "
        "output, and Diagnose will say that the measured performance may not apply.",
    )
    settings = AnalysisSettings(
        pipeline=pipeline, segment=segment, classify_preprocessed=classify_preprocessed
    )
    st.session_state[state.SETTINGS] = settings
    widgets.settings_import_export(settings)

if settings.differs_from_validated_defaults():
    st.warning(
        "Changed from the validated defaults: "
        + ", ".join(widgets.setting_label(name) for name in settings.changed_parameters())
        + ". Reset them with “Reset all to defaults” in the sidebar.",
        icon=":material/tune:",
    )

images = widgets.image_inputs("lab", multiple=False, default="Sample")
if not images:
    st.info("Upload a photo, use the camera, or pick a bundled sample to start experimenting.")
    st.stop()

try:
    classifier = memo.lab_classifier()  # unchanged images are not classified again
    with st.spinner("Processing…"):
        analysis = cache.analysis(
            images[0].data, dataclasses.replace(settings, compare_inputs=True), classifier
        )
except SkinappError as err:
    st.error(str(err))
    st.stop()

st.subheader("Every step")
views.pipeline_strip(analysis)

st.subheader("Before / after")
ran = [name for name in analysis.steps if name != "input"]
if ran:
    step = st.segmented_control(
        "Step", ran, format_func=lambda s: STEP_LABELS.get(s, s), key=state.LAB_STEP
    )
    views.step_gallery(analysis, step if step in ran else ran[0])
else:
    st.caption("Every preprocessing step is switched off.")

st.subheader("Hair and lesion")
cols = st.columns(3)
cols[0].image(
    display_jpeg(analysis.hair_overlay),
    caption=f"Hair mask ({analysis.hair_fraction:.1%})",
    width="stretch",
)
cols[1].image(display_jpeg(analysis.contour_overlay), caption="Segmentation", width="stretch")
cols[2].image(display_jpeg(analysis.heatmap_overlay), caption=HEATMAP_CAPTION, width="stretch")
views.heatmap_legend(analysis, key="lab")
for note in analysis.notes:
    st.caption(f":material/info: {note}")
views.outline_comparison(compare_outlines(analysis, getattr(classifier, "segmenter", None)))

st.subheader("Effect on the model's probability")
views.probability_effect(analysis)
st.caption(
    f"Processed in {analysis.timings_ms['total']:.0f} ms "
    f"({', '.join(f'{k} {v:.0f}' for k, v in analysis.timings_ms.items() if k != 'total')}); "
    "results are cached, so returning to earlier settings is instant."
)
