"""Shared fixtures: the bundled CC0 samples and a tiny generated dataset in the derm layout."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO / "skinapp" / "samples"
MODELS_DIR = REPO / "models"
SHARED_DERM = REPO.parent / "shared" / "data" / "derm"


@pytest.fixture(scope="session", autouse=True)
def _private_case_store(tmp_path_factory):
    """No test may write to the user's real case history: the whole session (and every app
    it starts as a subprocess) uses a throw-away data folder and never PostgreSQL."""
    saved = {k: os.environ.get(k) for k in ("SKINAPP_DATA_DIR", "SKINAPP_DATABASE_URL")}
    os.environ["SKINAPP_DATA_DIR"] = str(tmp_path_factory.mktemp("skinapp-data"))
    os.environ.pop("SKINAPP_DATABASE_URL", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def sample_paths() -> list[Path]:
    """The six bundled CC0 dermoscopy images (3 nevi, 3 melanomas)."""
    return sorted(SAMPLES_DIR.glob("*.jpg"))


def _synthetic_lesion(rng: np.random.Generator, malignant: bool, size=(96, 128)) -> np.ndarray:
    h, w = size
    image = np.empty((h, w, 3), np.uint8)
    image[:] = (205, 160, 140)
    image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    centre = (int(w / 2 + rng.integers(-10, 10)), int(h / 2 + rng.integers(-8, 8)))
    colour = (60, 30, 40) if malignant else (140, 90, 60)
    axes = (int(rng.integers(18, 30)), int(rng.integers(14, 24)))
    cv2.ellipse(image, centre, axes, float(rng.integers(0, 180)), 0, 360, colour, -1)
    if malignant:
        cv2.circle(image, centre, 6, (90, 90, 120), -1)
    return image


@pytest.fixture(scope="session")
def tiny_derm(tmp_path_factory) -> Path:
    """A 36-image dataset laid out like shared/data/derm (metadata.csv, images/, masks/)."""
    root = tmp_path_factory.mktemp("tiny_derm")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    rows = []
    dx_cycle = [("nv", "benign"), ("bkl", "benign"), ("mel", "malignant"), ("bcc", "malignant")]
    for i in range(36):
        dx, label = dx_cycle[i % 4]
        split = ("train", "train", "val", "test")[(i // 4) % 4] if i < 32 else "test"
        image = _synthetic_lesion(rng, label == "malignant")
        image_id = f"IMG_{i:04d}"
        cv2.imwrite(str(root / "images" / f"{image_id}.jpg"), image[:, :, ::-1])
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        mask = (gray < 150).astype(np.uint8) * 255
        cv2.imwrite(str(root / "masks" / f"{image_id}.png"), mask)
        rows.append(
            {
                "image_id": image_id,
                "lesion_id": image_id,
                "dx": dx,
                "label": label,
                "dataset": "SYNTH" if i % 2 else "SYNTH2",
                "split": split,
                "has_mask": 1,
                "width": image.shape[1],
                "height": image.shape[0],
            }
        )
    pd.DataFrame(rows).to_csv(root / "metadata.csv", index=False)
    return root


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_derm, tmp_path_factory) -> Path:
    """A model trained (random backbone, 1+1 epochs) and evaluated on ``tiny_derm``."""
    from skinapp import evaluate, train

    out = tmp_path_factory.mktemp("tiny_model")
    cache = tmp_path_factory.mktemp("tiny_cache")
    argv = [
        "--data",
        str(tiny_derm),
        "--out",
        str(out),
        "--cache-dir",
        str(cache),
        "--backbone-weights",
        "none",
        "--views",
        "2",
        "--head-epochs",
        "1",
        "--finetune-epochs",
        "1",
        "--cut-layer",
        "block_12_add",
        "--finetune-from-block",
        "13",
        "--batch-size",
        "8",
    ]
    assert train.main(argv) == 0
    assert evaluate.main(["--data", str(tiny_derm), "--model-dir", str(out), "--n-boot", "50"]) == 0
    return out
