"""History: follow one lesion across the visits saved from Diagnose."""

import streamlit as st

from skinapp.errors import SkinappError
from skinapp.ui import cache, casebook, followup, gate, state, views, visit_notes

state.init_state()
st.title("Lesion history")
st.caption(
    "Visits saved from Diagnose (tick “Save to case history”), compared over time. "
    "Change is the strongest sign to act on in a followed lesion."
)
views.disclaimer()
casebook.erased_confirmation()

try:
    store = casebook.store()
    picked = casebook.patient_picker(store)
    if picked is not None:
        gate.view_history(*picked)
except SkinappError as err:
    st.error(str(err))
    st.stop()
if picked is None:
    st.info(
        "No saved visits match. On Diagnose, tick “Save to case history” to save a visit "
        "of a lesion; save it again at the next visit to compare.",
        icon=":material/history:",
    )
    st.stop()
patient, lesion = picked
visits = store.visits(patient, lesion)

st.subheader(f"{patient} · lesion {lesion}")
followup.review_badge(visits)

st.markdown("**Visits**")
st.dataframe(
    followup.timeline_frame(visits),
    hide_index=True,
    width="stretch",
    column_config={"Probability": st.column_config.NumberColumn(format="percent")},
)

visit_notes.editor(store, visits)
visit_notes.print_buttons(store, visits)

if len(visits) < 2:
    st.info("One visit so far: save another visit of this lesion to compare.")
else:
    st.subheader("Compare two visits")
    left, right = st.columns(2)
    by_id = {v.id: v for v in visits}
    first_id = left.selectbox(
        "Earlier visit",
        [v.id for v in visits[:-1]],
        format_func=lambda i: followup.visit_label(by_id[i]),
        key="history.first",
    )
    later = [v.id for v in visits[[v.id for v in visits].index(first_id) + 1 :]]
    second_id = right.selectbox(
        "Later visit",
        later,
        index=len(later) - 1,
        format_func=lambda i: followup.visit_label(by_id[i]),
        key="history.second",
    )
    first, second = by_id[first_id], by_id[second_id]
    mode = st.segmented_control(
        "Show",
        followup.COMPARE_MODES,
        default=followup.COMPARE_MODES[0],
        key="history.compare_mode",
    )
    st.caption(f"{(second.visit_date - first.visit_date).days} days between these visits.")
    try:
        followup.side_by_side(store, first, second, mode=mode or followup.COMPARE_MODES[0])
    except SkinappError as err:
        st.error(str(err))
    st.subheader("Over time")
    thresholds = (cache.model_json("metrics.json") or {}).get("thresholds")
    st.plotly_chart(followup.trend_figure(visits, thresholds), width="stretch")
    st.caption(
        "Sizes start at zero and probabilities span 0-100 %, so small changes look small; "
        "dashed lines mark the review rule's thresholds (from the first visit) and the "
        "grade thresholds."
    )

with st.expander("Export or erase this patient's records", icon=":material/folder_shared:"):
    st.caption(f"Stored in {store.config.describe()}. {casebook.PRIVACY_NOTE}")
    casebook.patient_admin(store, patient)
