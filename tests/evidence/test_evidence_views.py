"""The model card and the dashboard show the evidence files (generated fixture files only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from skinapp.model.card import load_evidence_files, render_model_card
from skinapp.ui import evidence as views

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def files(evidence_dir):
    return load_evidence_files(evidence_dir)


def _metrics_config(evidence_dir):
    metrics = json.loads((evidence_dir / "metrics.json").read_text())
    config = json.loads((evidence_dir / "model_config.json").read_text())
    return metrics, config


def test_card_has_every_evidence_section(evidence_dir, files):
    metrics, config = _metrics_config(evidence_dir)
    card = render_model_card(metrics, config, None, files)
    for heading in (
        "## Diagnoses, grade 1 and per-diagnosis results",
        "## Subgroups (test split)",
        "## Data caveats",
        "## Generalisation to unseen collections",
        "## A transparent baseline",
        "## Ablations with the shipped model",
        "## Why our numbers are lower than published 95–99% accuracies",
    ):
        assert heading in card
    assert "akiec" in card and "200×150" in card and "squashed" in card
    mel = files["evidence"]["melanoma"]["vs_rest"]
    assert f"{mel['auc']:.3f}" in card
    assert "Not measured yet" not in card
    leak = files["leakage"]["inflation"]["dx_accuracy_1nn"]["mean"]
    assert f"{leak:+.3f}" in card


def test_card_says_what_is_missing(evidence_dir):
    metrics, config = _metrics_config(evidence_dir)
    card = render_model_card(metrics, config, None, {})
    assert card.count("Not measured yet") == 6
    assert "python -m skinapp.evidence.cross_dataset" in card


def test_table_builders(files):
    ev = files["evidence"]
    assert len(views.diagnosis_table(ev)) == len(ev["diagnoses"])
    assert set(views.subgroup_table(ev, "sex")["Variable"]) == {"sex"}
    assert "too small" in set(views.subgroup_table(ev)["Flag"])
    assert len(views.confirmed_table(ev)) == 4  # all, histo, melanoma vs rest / vs benign
    assert len(views.cross_dataset_table(files["cross_dataset"])) == 2 + 3  # parts + datasets
    assert len(views.baseline_table(files["baseline"])) == 3
    assert list(views.ablation_table(files["ablation"])["p (bootstrap)"]) == ["", "0.06"]
    assert len(views.leakage_table(files["leakage"])) == 6


def test_filter_gallery(evidence_dir):
    import pandas as pd

    gallery = pd.read_csv(evidence_dir / "gallery" / "gallery.csv")
    assert len(views.filter_gallery(gallery)) == 2
    assert list(views.filter_gallery(gallery, dx=["mel"])["image_id"]) == ["G0"]
    assert views.filter_gallery(gallery, dx=["mel"], datasets=["B"]).empty
    assert list(views.filter_gallery(gallery, kinds=["true_negative"])["dx"]) == ["nv"]


def test_dashboard_renders_the_evidence_section(evidence_dir, monkeypatch):
    monkeypatch.setenv("SKINAPP_MODEL_DIR", str(evidence_dir))
    at = AppTest.from_file(str(REPO / "pages" / "dashboard.py"), default_timeout=60)
    at.session_state["dashboard.tab"] = "Evidence"  # tabs run lazily: open it
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(h.value == "Evidence" for h in at.header)
    tab_labels = [t.label for t in at.tabs]
    for label in ("Per diagnosis", "Subgroups", "Generalisation & leakage", "Gallery"):
        assert label in tab_labels
    frames = [df.value for df in at.dataframe]
    columns = {c for f in frames for c in f.columns}
    for column in (
        "Sensitivity (t1)",  # per diagnosis
        "Flag",  # subgroups
        "Candidate ROC AUC",  # cross-dataset
        "Image-level (leaky) split",  # leakage
        "CNN minus baseline (95% CI)",  # baseline
        "Δ vs plain photo (95% CI)",  # ablation
    ):
        assert column in columns
    captions = [c for image in at.image for c in image.captions]
    assert captions.count("heat map") == 2 and captions.count("photo") == 2  # two gallery items

    at.multiselect(key=views.GALLERY_KEYS[0]).set_value(["nv"]).run()
    assert not at.exception
    assert any("1 images match" in c.value for c in at.caption)


def test_gallery_without_thumbnails_lists_the_cases(evidence_dir, tmp_path, monkeypatch):
    """A fresh clone has gallery.csv but no photos (never committed): a table, not an error."""
    import shutil

    model_dir = tmp_path / "model"
    shutil.copytree(evidence_dir, model_dir)
    for photo in (model_dir / "gallery").glob("*.jpg"):
        photo.unlink()
    monkeypatch.setenv("SKINAPP_MODEL_DIR", str(model_dir))
    at = AppTest.from_file(str(REPO / "pages" / "dashboard.py"), default_timeout=60)
    at.session_state["dashboard.tab"] = "Evidence"  # tabs run lazily: open it
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.image
    assert any("thumbnails are not shipped" in i.value for i in at.info)
    frames = [df.value for df in at.dataframe]
    assert any(set(f.get("image_id", [])) == {"G0", "G1"} for f in frames)


def test_dashboard_without_evidence_files_points_to_the_commands(
    evidence_dir, tmp_path, monkeypatch
):
    import shutil

    for name in ("metrics.json", "model_config.json"):
        shutil.copy(evidence_dir / name, tmp_path / name)
    monkeypatch.setenv("SKINAPP_MODEL_DIR", str(tmp_path))
    at = AppTest.from_file(str(REPO / "pages" / "dashboard.py"), default_timeout=60)
    at.session_state["dashboard.tab"] = "Evidence"  # tabs run lazily: open it
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(c.value for c in at.caption)
    assert "python -m skinapp.evidence.baseline" in text and "evidence.json" in text


def test_card_flags_evidence_measured_with_another_model(evidence_dir, files):
    metrics, config = _metrics_config(evidence_dir)
    shipped = metrics["extra"]["model_version"]
    same = dict(files, baseline={**files["baseline"], "model_version": shipped})
    assert "Stale" not in render_model_card(metrics, config, None, same)
    other = dict(files, baseline={**files["baseline"], "model_version": "0123456789ab"})
    card = render_model_card(metrics, config, None, other)
    assert card.count("**Stale:**") == 1 and "python -m skinapp.evidence.baseline" in card
