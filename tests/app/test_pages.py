"""Every page of the app, driven with Streamlit's AppTest against the shipped model.

Behaviours (one test each):
- every page runs clean with no image; app.py routes to Diagnose and switches pages;
- Diagnose with a bundled sample shows the original, hair-removed, segmentation and heat map
  images, the result, the grade with its meaning, the measured performance, the disclaimer
  and the report download;
- a bad upload shows the I/O module's message and the page keeps working; several uploads
  give a summary table; Lab settings that differ from the defaults are pointed out;
- Lab sliders change the output; the segmentation settings the chosen method does not read
  are greyed out and the learned-vs-classical comparison stays; reset restores the defaults;
  settings reach Diagnose;
- the Dashboard renders every chart from the saved files; its threshold slider moves the
  operating point.

Pages that need the model are skipped (with the reason) only where ``models/`` lacks it;
the model is committed, so they run in CI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from skinapp.analysis import AnalysisSettings
from skinapp.heatmap import BLANK_NOTE, HEATMAP_HELP
from skinapp.io import MAX_UPLOAD_BYTES, MAX_UPLOAD_MB, read_image
from skinapp.model.grading import GRADE_TEXT
from skinapp.serving import default_model_dir
from skinapp.ui import state

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "skinapp" / "samples"
TIMEOUT = 60
PAGES = ["pages/diagnose.py", "pages/lab.py", "pages/dashboard.py", "pages/about.py"]

needs_model = pytest.mark.skipif(
    not (default_model_dir() / "model.tflite").is_file(),
    reason=f"no model in {default_model_dir()} (models/ is committed in CI)",
)
needs_metrics = pytest.mark.skipif(
    not (default_model_dir() / "metrics.json").is_file(),
    reason=f"no metrics.json in {default_model_dir()} (models/ is committed in CI)",
)


def _page(path: str) -> AppTest:
    at = AppTest.from_file(str(REPO / path), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _with_sample(path: str, sample: str = "ISIC_0000309") -> AppTest:
    at = _page(path)
    prefix = Path(path).stem
    at.radio(key=f"{prefix}.source").set_value("Sample").run()
    at.selectbox(key=f"{prefix}.sample").set_value(sample).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _captions(at: AppTest) -> list[str]:
    return [c for image in at.image for c in image.captions]


def _text(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "caption", "info", "warning", "error")
        for e in at.get(kind)
    ]
    return "\n".join(str(p) for p in parts)


# === Every page ===


@pytest.mark.parametrize("path", PAGES)
def test_every_page_runs_clean_on_first_load(path):
    at = _page(path)
    assert at.title, "every page has a title"
    assert not at.error


def test_app_routes_to_diagnose_and_switches_pages():
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "Diagnose"

    at.switch_page("pages/lab.py").run()
    assert at.title[0].value == "Preprocessing Lab"
    at.switch_page("pages/about.py").run()
    assert at.title[0].value == "About skinapp"


def test_about_explains_the_grades():
    at = _page("pages/about.py")
    text = _text(at)
    assert "not a diagnosis" in text and "not a cancer stage" in text
    assert at.table
    assert "never stored" not in text  # History stores visits on request
    assert "What is stored, when and where" in [h.value for h in at.subheader]
    assert "Save to case history" in text and "not written to disk" in text


def test_upload_limit_in_config_matches_the_io_limit():
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    # The browser counts maxUploadSize in decimal MB; the reader and the help texts agree.
    assert config["server"]["maxUploadSize"] * 1_000_000 == MAX_UPLOAD_BYTES
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_MB
    for page in ("pages/diagnose.py", "pages/triage.py"):
        (uploader,) = _page(page).get("file_uploader")
        assert uploader.proto.max_upload_size_mb == MAX_UPLOAD_MB, page  # what the browser gets
        assert f"up to {MAX_UPLOAD_MB} MB each" in uploader.proto.help, page
    assert config["server"]["enableXsrfProtection"] is True
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] == "none"


def test_production_config_runs_no_full_garbage_collection_per_script_run():
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    # gc.collect(2) after every run held the GIL ~80 ms while other sessions waited.
    assert config["runner"]["postScriptGC"] is False
    assert config["server"]["fileWatcherType"] == "none"


# === Diagnose ===


@needs_model
@pytest.mark.skipif(
    not (default_model_dir() / "differential.json").is_file(),
    reason="no differential.json next to the model",
)
def test_diagnose_shows_the_differential_beside_the_grade():
    from skinapp.model.differential import DX_NAMES

    at = _with_sample("pages/diagnose.py", "ISIC_0000180")
    text = _text(at)
    assert "Differential diagnosis" in text and "top call" in text
    assert "8-view TTA" in text  # every figure names the answer it describes
    bars = [(p.proto.text, p.proto.value) for p in at.get("progress")]
    names = [t.split(" · ")[0] for t, _ in bars]
    assert 3 <= len(names) <= 4 and set(names) <= set(DX_NAMES.values())
    assert sum(t.endswith(" · top call") for t, _ in bars) == 1
    probs = [float(t.split(" · ")[1].rstrip("%")) for t, _ in bars]
    assert probs[:3] == sorted(probs[:3], reverse=True) and sum(probs) <= 100.05
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) >= {"Risk grade", "Malignancy probability"}
    assert not any(v in ("Benign", "Malignant") for v in metrics.values())


@needs_model
def test_diagnose_sample_shows_images_result_grade_and_disclaimer():
    at = _with_sample("pages/diagnose.py")

    captions = _captions(at)
    assert captions[0] == "Original"
    assert any(c.startswith("Hair removed") for c in captions)
    assert any(c.startswith("Segmentation") for c in captions)
    assert any(c.startswith("Heat map") for c in captions)
    metrics = {m.label: m.value for m in at.metric}
    assert "Model result" not in metrics  # one verdict: the grade, no benign/malignant word
    assert metrics["Malignancy probability"].endswith("%")
    grade = int(metrics["Risk grade"].split()[0])
    text = _text(at)
    assert GRADE_TEXT[grade] in text
    assert "Decision support, not a diagnosis" in text
    assert "not a cancer stage" in text
    assert "sensitivity" in text and "specificity" in text
    labels = [b.label for b in at.get("download_button")]
    assert "Download report (PDF)" in labels and "Download report (HTML)" in labels
    assert HEATMAP_HELP in text or BLANK_NOTE in text  # the heat map's scale is explained
    assert any(b.label == "Enlarge heat map" for b in at.button)
    assert not at.error


@needs_model
def test_diagnose_hair_mask_on_demand():
    at = _with_sample("pages/diagnose.py")
    at.toggle(key=state.DIAGNOSE_SHOW_HAIR).set_value(True).run()

    assert any(c.startswith("Detected hair") for c in _captions(at))


@needs_model
def test_diagnose_bad_upload_shows_the_io_message_and_keeps_working():
    at = _page("pages/diagnose.py")
    at.file_uploader(key=state.DIAGNOSE_UPLOAD).set_value(
        ("lesion.jpg", b"Dear colleague, please find attached...", "image/jpeg")
    ).run()

    assert not at.exception
    assert len(at.error) == 1
    assert "not an image skinapp can read" in at.error[0].value
    assert "Received: a text file" in at.error[0].value
    assert at.title[0].value == "Diagnose"

    at.radio(key=state.DIAGNOSE_SOURCE).set_value("Sample").run()
    assert not at.error
    assert at.metric


@needs_model
def test_diagnose_several_uploads_give_a_summary():
    files = [(p.name, p.read_bytes(), "image/jpeg") for p in sorted(SAMPLES.glob("*.jpg"))[:2]] + [
        ("empty.png", b"", "image/png")
    ]
    at = _page("pages/diagnose.py")
    at.file_uploader(key=state.DIAGNOSE_UPLOAD).set_value(files).run()

    assert not at.exception
    assert len(at.error) == 1 and "empty" in at.error[0].value
    summary = at.dataframe[0].value
    assert list(summary["Image"]) == [f[0] for f in files[:2]]
    at.selectbox(key=state.DIAGNOSE_SELECTED).set_value(1).run()
    assert at.metric


@needs_model
def test_diagnose_points_out_lab_settings_that_differ():
    at = AppTest.from_file(str(REPO / "pages/diagnose.py"), default_timeout=TIMEOUT)
    at.session_state[state.SETTINGS] = AnalysisSettings(classify_preprocessed=True)
    at.run()
    at.radio(key=state.DIAGNOSE_SOURCE).set_value("Sample").run()

    warnings = " ".join(w.value for w in at.warning)
    assert "differ from the validated defaults" in warnings
    assert "Give the model the preprocessed image" in warnings  # the Lab's label
    assert "classify_preprocessed" not in warnings  # not the code name
    assert "measured on original photos" in _text(at)


@needs_model
def test_diagnose_scale_gives_millimetres():
    at = _with_sample("pages/diagnose.py")
    at.number_input(key=state.DIAGNOSE_MM_PER_PIXEL).set_value(0.05).run()

    assert not at.exception
    (table,) = [m.value for m in at.markdown if m.value.startswith("| Measure | Value |")]
    (row,) = [line for line in table.splitlines() if line.startswith("| D · Diameter")]
    diameter = row.strip("| ").split(" | ")[1]
    assert diameter.endswith("px)") and " mm (" in diameter


# === Lab ===


@needs_model
def test_lab_shows_every_step_and_the_effect_on_the_probability():
    at = _with_sample("pages/lab.py")

    captions = _captions(at)
    for label in ("Original", "Colour constancy", "Hair removed", "Model input size"):
        assert label in captions
    assert any(c.startswith("Before:") for c in captions)
    assert any(c.startswith("After:") for c in captions)
    labels = [m.label for m in at.metric]
    assert "Original photo (validated input)" in labels
    assert "Lab-preprocessed image" in labels
    strip = [
        i for i in at.image if i.captions and i.captions[0] in ("Original", "Model input size")
    ]
    assert len(strip) == 2  # the square model input is padded to the photo's aspect
    denoise = at.selectbox(key=f"{state.LAB_PIPELINE}.denoise.method")
    if denoise.value == "none":  # greyed-out sliders say why
        assert any("pick a method" in c.value for c in at.caption)


@needs_model
def test_lab_sliders_change_the_output():
    at = _with_sample("pages/lab.py")
    hair_before = next(c for c in _captions(at) if c.startswith("Hair mask"))

    at.slider(key=f"{state.LAB_PIPELINE}.hair_removal.threshold").set_value(5).run()

    hair_after = next(c for c in _captions(at) if c.startswith("Hair mask"))
    assert hair_after != hair_before
    assert at.session_state[state.SETTINGS].pipeline.hair_removal.threshold == 5
    warning = " ".join(w.value for w in at.warning)
    assert "Hair removal › " in warning and "hair_removal.threshold" not in warning

    at.segmented_control(key=state.LAB_STEP).set_value("hair_removal").run()
    assert "After: Hair removed" in _captions(at)
    at.checkbox(key=f"{state.LAB_PIPELINE}.hair_removal.enabled").uncheck().run()
    assert not at.exception
    assert "Hair removed" not in _captions(at)


@needs_model
def test_lab_greys_out_the_settings_the_outline_method_does_not_read():
    at = _with_sample("pages/lab.py")
    seg = state.LAB_SEGMENT
    assert at.selectbox(key=f"{seg}.method").value == "learned"
    assert not at.slider(key=f"{seg}.sensitivity").disabled
    for name in ("threshold_level", "morph_size", "work_size"):
        assert at.slider(key=f"{seg}.{name}").disabled, name
    assert at.checkbox(key=f"{seg}.convex_hull").disabled
    assert any("classical settings (thresholds" in c.value for c in at.caption)
    # the learned-vs-classical comparison still draws the classical outline in magenta
    assert any("magenta: the classical method's" in c for c in _captions(at))

    at.selectbox(key=f"{seg}.method").set_value("classical").run()

    assert not at.exception
    assert at.slider(key=f"{seg}.sensitivity").disabled
    assert not at.slider(key=f"{seg}.threshold_level").disabled
    assert not at.checkbox(key=f"{seg}.convex_hull").disabled
    assert any("magenta: the learned method's" in c for c in _captions(at))
    at.slider(key=f"{seg}.threshold_level").set_value(0.6).run()
    assert at.session_state[state.SETTINGS].segment.threshold_level == 0.6


@needs_model
def test_lab_reset_restores_the_validated_defaults():
    at = _with_sample("pages/lab.py")
    at.slider(key=f"{state.LAB_PIPELINE}.hair_removal.threshold").set_value(5).run()
    at.toggle(key=state.LAB_CLASSIFY_PREPROCESSED).set_value(True).run()
    assert at.session_state[state.SETTINGS] != AnalysisSettings()

    reset = next(b for b in at.button if b.label == "Reset all to defaults")
    reset.click().run()

    assert at.session_state[state.SETTINGS] == AnalysisSettings()
    assert not at.warning


@needs_model
def test_lab_settings_reach_diagnose():
    at = _with_sample("pages/lab.py")
    at.toggle(key=state.LAB_CLASSIFY_PREPROCESSED).set_value(True).run()
    settings = at.session_state[state.SETTINGS]

    diagnose = AppTest.from_file(str(REPO / "pages/diagnose.py"), default_timeout=TIMEOUT)
    diagnose.session_state[state.SETTINGS] = settings
    diagnose.run()
    diagnose.radio(key=state.DIAGNOSE_SOURCE).set_value("Sample").run()
    assert "Give the model the preprocessed image" in " ".join(w.value for w in diagnose.warning)


@needs_model
def test_lab_bad_upload_shows_the_io_message():
    at = _page("pages/lab.py")
    at.radio(key=state.LAB_SOURCE).set_value("Upload").run()
    at.file_uploader(key=state.LAB_UPLOAD).set_value(
        ("x.png", b"\x89PNG\r\n\x1a\n", "image/png")
    ).run()

    assert not at.exception
    assert len(at.error) == 1 and "incomplete or damaged" in at.error[0].value


# === Dashboard ===


def _open_tab(at: AppTest, label: str) -> AppTest:
    at.session_state[state.DASHBOARD_TAB] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@needs_metrics
def test_dashboard_renders_from_the_saved_files():
    at = _page("pages/dashboard.py")

    labels = [m.label for m in at.metric]
    for label in ("ROC AUC", "Sensitivity", "Specificity", "Balanced accuracy", "ECE"):
        assert label in labels
    assert len(at.get("plotly_chart")) == 4  # ROC, threshold, PR, confusion: the open tab only
    assert "of 100 malignant lesions" in " ".join(m.value for m in at.markdown).lower()
    assert len(at.tabs) == 10
    assert not at.error
    assert len(_open_tab(at, "Calibration").get("plotly_chart")) == 1  # reliability
    assert any("Model card" in m.value for m in _open_tab(at, "Model card").markdown)
    if (default_model_dir() / "segmentation_metrics.json").is_file():
        # the outline's scores say which split is held out (train is the segmenter's own)
        roles = " ".join(c.value for c in _open_tab(at, "Segmentation").caption)
        assert "**test**: held out" in roles and "**train**: training" in roles
    at = _open_tab(at, "Trust")
    trust_path = default_model_dir() / "trust.json"
    trust = json.loads(trust_path.read_text()) if trust_path.is_file() else {}
    if (trust.get("tta") or {}).get("used_in_app"):
        # the headline cards are the app's answer (TTA) and say so; single view is labelled
        auc = trust["tta"]["test"]["roc_auc"]["auc"]
        assert {m.label: m.value for m in at.metric}["ROC AUC"] == f"{auc:.3f}"
        assert any("The app's answer (8-view TTA)" in m.value for m in at.markdown)
        captions = " ".join(c.value for c in at.caption)
        assert "Single view (one pass" in captions
    diff_path = default_model_dir() / "differential.json"
    if diff_path.is_file():
        bacc = json.loads(diff_path.read_text())["tta"]["test"]["balanced_accuracy"]
        values = {m.label: m.value for m in at.metric}
        assert values["Balanced 7-class accuracy"] == f"{bacc:.1%}"
        at = _open_tab(at, "Differential diagnosis")
        table = next(d.value for d in at.dataframe if "One-vs-rest ROC AUC" in d.value.columns)
        assert len(table) == 7 and table["One-vs-rest ROC AUC"].between(0.5, 1).all()
        assert sum("Top call vs true" in c.proto.spec for c in at.get("plotly_chart")) == 1
        assert not at.exception


@needs_metrics
def test_dashboard_confusion_matrix_and_words_follow_the_slider():
    import pandas as pd

    from skinapp.ui.threshold import counts_at

    predictions = pd.read_csv(default_model_dir() / "test_predictions.csv")
    at = _page("pages/dashboard.py")
    at.slider(key=state.DASHBOARD_THRESHOLD).set_value(0.122).run()
    counts = counts_at(predictions, 0.122)
    confusion = next(c for c in at.get("plotly_chart") if "Confusion" in c.proto.spec)
    figure = json.loads(confusion.proto.spec)
    assert figure["data"][0]["z"] == [[counts["tn"], counts["fp"]], [counts["fn"], counts["tp"]]]
    assert "p ≥ 0.122" in figure["layout"]["title"]["text"]
    words = " ".join(m.value for m in at.markdown)
    assert f"At p ≥ 0.122: of 100 malignant lesions, {round(100 * counts['sensitivity'])}" in (
        words
    )
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Sensitivity at this threshold"] == f"{counts['sensitivity']:.1%}"
    assert metrics["Threshold"] == "p ≥ 0.122"


@needs_metrics
def test_dashboard_threshold_slider_moves_the_operating_point():
    at = _page("pages/dashboard.py")
    before = {m.label: m.value for m in at.metric}

    at.slider(key=state.DASHBOARD_THRESHOLD).set_value(0.999).run()

    after = {m.label: m.value for m in at.metric}
    sens = "Sensitivity at this threshold"
    spec = "Specificity at this threshold"
    assert float(after[sens].rstrip("%")) <= float(before[sens].rstrip("%"))
    assert float(after[spec].rstrip("%")) >= float(before[spec].rstrip("%"))

    at.slider(key=state.DASHBOARD_THRESHOLD).set_value(0.0).run()
    assert {m.label: m.value for m in at.metric}[sens] == "100.0%"


def test_samples_are_readable():
    for path in SAMPLES.glob("*.jpg"):
        assert read_image(path).shape[2] == 3
