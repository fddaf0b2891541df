"""Model Dashboard: how good the shipped model really is, from the files saved in models/."""

import streamlit as st

from skinapp.ui import cache, charts, metrics_views, state, threshold, views
from skinapp.ui import differential as differential_views
from skinapp.ui import evidence as evidence_views
from skinapp.ui import trust as trust_views

state.init_state()
st.title("Model Dashboard")
metrics = cache.model_json("metrics.json")
if metrics is None:
    st.warning(
        f"No metrics.json in {cache.model_dir()}: run `python -m skinapp.evaluate` "
        "(or restore the shipped models/) to fill this dashboard."
    )
    st.stop()

extra = metrics.get("extra") or {}
predictions = cache.model_csv("test_predictions.csv")
th = metrics["thresholds"]

# A compact summary first (on a phone the cards sit two abreast, the details in tabs below).
if predictions is not None:
    st.markdown(
        f"**In plain words.** {threshold.grade_sentence(predictions, th['t1'], th['t2'])} "
        "_(Single view, `predict`'s default; the app's 8-view TTA answer is below.)_"
    )
differential = cache.model_json("differential.json")
with views.phone_grid("dashboard-cards"):
    differential_views.headline(metrics, cache.model_json("trust.json"), differential)
st.caption(
    f"Model {extra.get('model_version', 'n/a')} · evaluated {metrics.get('created', 'n/a')} · "
    "every number and chart is read from the saved evaluation files. Headline numbers are on "
    "the held-out test split."
)

roc, pr = cache.model_csv("roc.csv"), cache.model_csv("pr.csv")
# Only the open tab runs (and draws its charts): the page loads in a fraction of the time.
tabs = st.tabs(
    [
        "Threshold & curves",
        "Calibration",
        "Risk grades",
        "Datasets",
        "Training",
        "Segmentation",
        "Model card",
        "Evidence",
        "Trust",
        "Differential diagnosis",
    ],
    key=state.DASHBOARD_TAB,
    on_change="rerun",
)
if tabs[0].open:
    with tabs[0]:
        st.caption(differential_views.SINGLE_VIEW_NOTE)
        operating = float(th["operating"])
        value = st.slider(
            "Threshold on the calibrated probability",
            0.0,
            1.0,
            value=operating,
            step=0.001,
            format="%.3f",
            key=state.DASHBOARD_THRESHOLD,
            help=f"The shipped operating threshold is {operating:.3f} (chosen on validation). "
            "Lesions with p at or above it are called malignant.",
        )
        if predictions is not None:
            counts = threshold.counts_at(predictions, value)
            point = {
                "threshold": value,
                "sensitivity": counts["sensitivity"],
                "specificity": counts["specificity"],
                "tpr": counts["sensitivity"],
                "fpr": 1 - counts["specificity"],
            }
            st.markdown(threshold.threshold_sentence(counts))
        elif roc is not None:
            point = charts.operating_point(roc, value)
            st.caption("No test_predictions.csv: the nearest saved ROC point is used.")
        else:
            point = None
        if point is not None:
            with views.phone_grid("dashboard-threshold"):
                c1, c2, c3 = st.columns(3)
            c1.metric("Sensitivity at this threshold", f"{point['sensitivity']:.1%}")
            c2.metric("Specificity at this threshold", f"{point['specificity']:.1%}")
            c3.metric("Threshold", f"p ≥ {value:.3f}")
        left, right = st.columns(2)
        if roc is not None:
            left.plotly_chart(charts.roc_figure(roc, point=point), key="roc")
            right.plotly_chart(charts.threshold_figure(roc, value), key="thr")
        left, right = st.columns(2)
        if pr is not None:
            left.plotly_chart(charts.pr_figure(pr, prevalence=metrics["test"].get("prevalence")))
        if predictions is not None:
            right.plotly_chart(
                charts.confusion_figure(threshold.confusion_at(counts)), key="confusion"
            )
        else:
            confusion = cache.model_json("confusion.json")
            if confusion is not None:
                right.plotly_chart(charts.confusion_figure(confusion), key="confusion")
if tabs[1].open:
    with tabs[1]:
        st.caption(differential_views.SINGLE_VIEW_NOTE)
        calibration = cache.model_csv("calibration.csv")
        if calibration is not None:
            st.plotly_chart(charts.reliability_figure(calibration))
        cal, test = metrics.get("calibration", {}), metrics["test"]
        unc = test.get("uncalibrated") or {}
        st.caption(
            f"Calibration: {cal.get('method', 'n/a')} fitted on validation. "
            f"ECE {views.fmt(test.get('ece'))} (uncalibrated {views.fmt(unc.get('ece'))}); "
            f"Brier {views.fmt(test.get('brier'))}."
        )
if tabs[2].open:
    with tabs[2]:
        st.caption(differential_views.SINGLE_VIEW_NOTE)
        grades = cache.model_csv("grades.csv")
        st.caption(
            f"Grade 1: p < {th['t1']:.3f} · grade 2: {th['t1']:.3f} ≤ p < {th['t2']:.3f} · "
            f"grade 3: p ≥ {th['t2']:.3f}. Test sensitivity at t1 "
            f"{views.fmt(metrics['test'].get('sensitivity_at_t1'), '.1%')}, specificity at t2 "
            f"{views.fmt(metrics['test'].get('specificity_at_t2'), '.1%')}."
        )
        if grades is not None:
            st.plotly_chart(charts.grades_figure(grades))
            st.dataframe(metrics_views.grade_table(grades), hide_index=True, width="stretch")
if tabs[3].open:
    with tabs[3]:
        st.caption(differential_views.SINGLE_VIEW_NOTE)
        st.dataframe(metrics_views.group_table(metrics), hide_index=True, width="stretch")
if tabs[4].open:
    with tabs[4]:
        history = cache.model_csv("history.csv")
        if history is not None:
            st.plotly_chart(charts.history_figure(history))
        else:
            st.caption("No history.csv saved with this model.")
        st.caption(metrics_views.cross_validation_caption(cache.model_json("folds.json")))
if tabs[5].open:
    with tabs[5]:
        seg = cache.model_json("segmentation_metrics.json")
        if seg is None:
            st.caption("No segmentation_metrics.json saved yet (`make segment-metrics`).")
        else:
            st.caption(metrics_views.split_roles_caption(seg))
            st.dataframe(metrics_views.flatten_numbers(seg), hide_index=True, width="stretch")
if tabs[6].open:
    with tabs[6]:
        card = cache.model_text("MODEL_CARD.md")
        st.markdown(card or "No MODEL_CARD.md saved with this model.")

if tabs[7].open:
    with tabs[7]:
        evidence_views.evidence_section()
if tabs[8].open:
    with tabs[8]:
        trust_views.dashboard_section()
if tabs[9].open:
    with tabs[9]:
        differential_views.differential_tab(differential)
