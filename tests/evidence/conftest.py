"""Small generated predictions and a model folder holding every evidence file (no real data)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skinapp.evidence.cross_dataset import cross_dataset_report
from skinapp.evidence.leakage import leakage_experiment
from skinapp.evidence.report import compute_evidence
from skinapp.evidence.stats import compare_aucs
from skinapp.io import encode_jpeg

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
THRESHOLDS = {"t1": 0.1, "t2": 0.6, "operating": 0.4}


def make_predictions(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Test predictions with every column evaluate writes; malignant lesions score higher."""
    rng = np.random.default_rng(seed)
    dx = rng.choice(
        ["mel", "bcc", "akiec", "nv", "bkl", "df", "vasc"],
        n,
        p=[0.15, 0.05, 0.05, 0.55, 0.1, 0.05, 0.05],
    )
    label = np.where(np.isin(dx, ["mel", "bcc", "akiec"]), "malignant", "benign")
    z = rng.normal(0, 1.3, n) + np.where(label == "malignant", 1.5, -1.0)
    p = 1 / (1 + np.exp(-z))
    frame = pd.DataFrame(
        {
            "image_id": [f"ID_{i:04d}" for i in range(n)],
            "lesion_id": [f"L_{i // 2:04d}" for i in range(n)],
            "dataset": rng.choice(["A", "B", "TINY"], n, p=[0.6, 0.37, 0.03]),
            "dx": dx,
            "dx_type": rng.choice(["histo", "follow_up", None], n),
            "label": label,
            "age": rng.choice([np.nan, 20, 35, 50, 65, 80], n),
            "sex": rng.choice(["male", "female", None], n),
            "localization": rng.choice(["back", "face", None], n),
            "log_odds": z,
            "p_malignant": p,
        }
    )
    frame["grade"] = np.where(p < THRESHOLDS["t1"], 1, np.where(p < THRESHOLDS["t2"], 2, 3))
    return frame


@pytest.fixture(scope="session")
def thresholds() -> dict[str, float]:
    return dict(THRESHOLDS)


@pytest.fixture(scope="session")
def predictions() -> pd.DataFrame:
    return make_predictions()


def _json(path: Path, data) -> None:
    from skinapp.model.report import _jsonable

    path.write_text(json.dumps(_jsonable(data)))


@pytest.fixture(scope="session")
def evidence_dir(tmp_path_factory, predictions) -> Path:
    """A model folder with the shipped metrics files plus generated evidence files."""
    out = tmp_path_factory.mktemp("evidence_models")
    for name in (
        "metrics.json",
        "roc.csv",
        "pr.csv",
        "grades.csv",
        "calibration.csv",
        "confusion.json",
        "model_config.json",
    ):
        if (MODELS_DIR / name).is_file():
            shutil.copy(MODELS_DIR / name, out / name)
    preds = predictions
    preds.to_csv(out / "test_predictions.csv", index=False)
    ev = compute_evidence(preds, THRESHOLDS, 0.85, n_boot=50)
    _json(out / "evidence.json", ev)
    y = (preds["label"] == "malignant").to_numpy(int)
    s = preds["log_odds"].to_numpy()
    noisy = s + np.random.default_rng(1).normal(0, 2, len(s))
    cross = cross_dataset_report(
        y, preds["dataset"], {"candidate": noisy, "reference": s}, ["A"], n_boot=50
    )
    cross.update(
        in_datasets=["A"],
        out_datasets=["B", "TINY"],
        candidate={"model_dir": "runs/a_only"},
        command="python -m x",
    )
    _json(out / "cross_dataset.json", cross)
    cmp = compare_aucs(y, s, noisy, n_boot=50)
    model = {
        "chosen": "logistic_regression(C=1.0)",
        "test_auc": {"auc": 0.7, "low": 0.6, "high": 0.8},
        "cnn_minus_baseline": cmp,
        "logistic_regression": {"standardised_coefficients": {"asymmetry": 0.5}},
    }
    _json(
        out / "baseline.json",
        {
            "n": {"test": len(y)},
            "cnn": {"auc": 0.9, "low": 0.85, "high": 0.95},
            "models": {"abcd": model, "abcd_meta": model},
        },
    )
    _json(
        out / "ablation.json",
        {
            "split": "val",
            "n": len(y),
            "n_malignant": int(y.sum()),
            "lesion_found_share": 0.97,
            "variants": {
                "none": {"auc": 0.9, "low": 0.85, "high": 0.95},
                "hair_removal": {
                    "auc": 0.88,
                    "low": 0.83,
                    "high": 0.93,
                    "delta_vs_none": -0.02,
                    "delta_ci95": [-0.04, 0.0],
                    "p_bootstrap": 0.06,
                    "p_delong": 0.05,
                },
            },
        },
    )
    meta = preds.rename(columns={"log_odds": "z"})
    x = np.random.default_rng(2).normal(size=(len(meta), 4))
    leak = leakage_experiment(x, meta, n_train=200, n_test=80, seeds=2)
    leak.update(
        recipe={"features": "random"},
        datasets=["A"],
        n_train=200,
        n_test=80,
        n_images=len(meta),
        n_lesions=200,
        seeds=2,
    )
    _json(out / "leakage.json", leak)
    gallery = out / "gallery"
    gallery.mkdir()
    photo = encode_jpeg(np.full((30, 40, 3), 120, np.uint8))
    rows = []
    for i, (kind, dx, ds) in enumerate(
        [("false_negative", "mel", "A"), ("true_negative", "nv", "B")]
    ):
        (gallery / f"G{i}.jpg").write_bytes(photo)
        (gallery / f"G{i}_cam.jpg").write_bytes(photo)
        rows.append(
            {
                "image_id": f"G{i}",
                "kind": kind,
                "dx": dx,
                "label": "x",
                "dataset": ds,
                "p_malignant": 0.01,
                "grade": 1,
                "confidence": 0.99,
                "photo": f"G{i}.jpg",
                "heatmap": f"G{i}_cam.jpg",
                "license": "CC0",
                "attribution": "test",
            }
        )
    pd.DataFrame(rows).to_csv(gallery / "gallery.csv", index=False)
    return out
