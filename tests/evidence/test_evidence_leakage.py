"""Leakage demonstration: the splits are what they claim, and leakage shows where it should."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from skinapp.evidence import leakage


def test_image_split_sizes_and_disjoint():
    train, test = leakage.image_split(100, 60, 30, np.random.default_rng(0))
    assert len(train) == 60 and len(test) == 30 and not set(train) & set(test)


def test_lesion_split_never_shares_a_lesion():
    groups = np.repeat(np.arange(50), 3)  # 150 images, 3 per lesion
    train, test = leakage.lesion_split(groups, 90, 30, np.random.default_rng(1))
    assert len(train) == 90 and len(test) == 30
    assert not set(groups[train]) & set(groups[test])
    assert leakage.overlap_share(groups, train, test) == 0.0


def test_lesion_split_refuses_impossible_sizes():
    with pytest.raises(ValueError):
        leakage.lesion_split(np.arange(10), 9, 5, np.random.default_rng(0))


def _memorable_lesions(n_lesions=120, per_lesion=3, seed=0):
    """Features identify the lesion, not the diagnosis: only memorising can score."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=(n_lesions, 8))
    dx = rng.choice(["nv", "mel", "bkl"], n_lesions)
    rows, x = [], []
    for lesion in range(n_lesions):
        for k in range(per_lesion):
            x.append(centre[lesion] + rng.normal(0, 0.05, 8))
            rows.append(
                {
                    "image_id": f"I{lesion}_{k}",
                    "lesion_id": f"L{lesion}",
                    "dx": dx[lesion],
                    "label": "malignant" if dx[lesion] == "mel" else "benign",
                }
            )
    return np.array(x), pd.DataFrame(rows)


def test_leaky_split_inflates_a_memorising_model():
    x, meta = _memorable_lesions()
    out = leakage.leakage_experiment(x, meta, n_train=200, n_test=80, seeds=2)
    s = out["summary"]
    assert s["grouped"]["test_images_whose_lesion_is_in_train"]["mean"] == 0
    assert s["leaky"]["test_images_whose_lesion_is_in_train"]["mean"] > 0.5
    # 1-NN recognises the lesion when a sibling photo is in training, and is at chance otherwise
    assert s["leaky"]["dx_accuracy_1nn"]["mean"] > s["grouped"]["dx_accuracy_1nn"]["mean"] + 0.3
    assert s["leaky"]["dx_accuracy_1nn_seen_lesions"]["mean"] > 0.95
    assert s["leaky"]["nearest_photo_same_lesion_share"]["mean"] > 0.95
    assert out["inflation"]["dx_accuracy_1nn"]["mean"] > 0.3
    assert len(out["runs"]["leaky"]) == 2


def test_cli_end_to_end_on_tiny_data(tiny_derm, tmp_path):
    out = tmp_path / "leakage.json"
    argv = [
        "--data",
        str(tiny_derm),
        "--backbone-weights",
        "none",
        "--cache",
        str(tmp_path / "feats.npz"),
        "--datasets",
        "SYNTH",
        "SYNTH2",
        "--seeds",
        "1",
        "--out",
        str(out),
    ]
    assert leakage.main(argv) == 0
    result = json.loads(out.read_text())
    assert result["n_images"] == 36 and result["n_train"] == 16 and result["n_test"] == 12
    assert set(result["summary"]) == {"grouped", "leaky"}
    assert (tmp_path / "feats.npz").is_file()  # cached for the next run
    assert leakage.main(argv) == 0
