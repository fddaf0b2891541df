"""ABCD re-validation pieces: agreement with ground-truth masks, own AUCs, their rendering."""

import numpy as np
import pandas as pd

from skinapp.evidence.agreement import COMPARED, describe_row, summarize
from skinapp.evidence.baseline import descriptor_aucs
from skinapp.model.card_outline import outline_section
from skinapp.ui.evidence import descriptor_agreement_table, descriptor_auc_table


def _rows(n=40, seed=0):
    rng = np.random.default_rng(seed)
    labels = pd.Series(
        np.where(np.arange(n) % 4 == 0, "malignant", "benign"),
        index=[f"I{i}" for i in range(n)],
    )
    rows = []
    for image_id in labels.index:
        base = {c: float(rng.normal()) for c in COMPARED}
        base["compactness"] = 1.0 + (labels[image_id] == "malignant") + 0.1 * rng.normal()
        rows.append({"image_id": image_id, "mask": "ground_truth", **base})
        rows.append({"image_id": image_id, "mask": "learned", **base})  # identical values
        noisy = {c: v + rng.normal() for c, v in base.items()}
        rows.append({"image_id": image_id, "mask": "classical", **noisy})
    return pd.DataFrame(rows), labels


def test_identical_masks_agree_perfectly_and_a_separating_descriptor_has_high_auc():
    rows, labels = _rows()
    out = summarize(rows, labels)
    assert out["compactness"]["learned"]["pearson_r"] == 1.0
    assert out["compactness"]["learned"]["median_abs_diff"] == 0.0
    assert out["compactness"]["classical"]["pearson_r"] < 1.0
    assert out["compactness"]["auc"]["ground_truth"] > 0.95
    table = descriptor_agreement_table({"descriptors": out})
    assert list(table["Descriptor"])[:2] == ["asymmetry", "compactness"]


def test_empty_mask_gives_nan_descriptors():
    row = describe_row(np.zeros((20, 20, 3), np.uint8), np.zeros((20, 20), bool))
    assert set(row) == set(COMPARED) and all(np.isnan(v) for v in row.values())


def test_descriptor_aucs_use_the_raw_value_and_say_its_direction():
    rng = np.random.default_rng(1)
    parts = {}
    for split in ("val", "test"):
        label = np.where(np.arange(60) % 3 == 0, "malignant", "benign")
        frame = pd.DataFrame({"label": label, "found": 1})
        frame["compactness"] = (label == "malignant") + 0.3 * rng.normal(size=60)
        frame["color_white"] = -1.0 * (label == "malignant") + 0.3 * rng.normal(size=60)
        frame["asymmetry"] = np.nan
        parts[split] = frame
    out = descriptor_aucs(parts, n_boot=50)
    assert out["compactness"]["test"]["auc"] > 0.9
    assert out["compactness"]["direction"] == "higher_in_malignant"
    assert out["color_white"]["direction"] == "lower_in_malignant"
    assert out["asymmetry"]["test"] is None
    table = descriptor_auc_table({"descriptor_auc": out})
    assert "compactness" in set(table["Descriptor"])


def test_card_section_renders_both_files_or_says_what_is_missing():
    seg = {
        "command": "python -m skinapp.vision.measure X",
        "segmentation": {
            "learned": {
                "test": {"n": 297, "mean_jaccard": 0.85, "thresholded_jaccard": 0.8},
                "by_split": {"val": {"n": 306, "mean_jaccard": 0.83}},
            },
            "with_hair_removal": {"test": {"n": 297, "mean_jaccard": 0.79}},
        },
    }
    rows, labels = _rows()
    agree = {
        "n_images": 40,
        "n_malignant": 10,
        "split": "val",
        "descriptors": summarize(rows, labels),
    }
    text = outline_section(seg, agree)
    assert "| learned (MobileNetV2 U-Net, shipped) | 297 | 0.850 | 0.800 |" in text
    assert "| learned (MobileNetV2 U-Net, shipped) | val (tuning) | 306 | 0.830 |" in text
    assert "| compactness | 1.00 |" in text
    missing = outline_section(None, None)
    assert "segmentation_metrics.json" in missing and "descriptor_agreement.json" in missing
