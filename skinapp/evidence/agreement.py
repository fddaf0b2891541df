"""``python -m skinapp.evidence.agreement``: do the ABCD descriptors survive the outline?

    python -m skinapp.evidence.agreement --data ../shared/data/derm --model-dir models

For every **val**-split image with a ground-truth mask, the descriptors
(:func:`skinapp.vision.descriptors.describe_lesion`, on the app's preprocessed image) are
computed three times: on the ground-truth mask, on the learned outline
(:mod:`skinapp.vision.learned`) and on the classical outline (no convex hull). Per
descriptor it reports the agreement of each outline with the ground truth (Pearson and
Spearman correlation, median absolute difference) and, on the same images, each
descriptor's own ROC AUC for malignancy under each mask (AUC > 0.5: higher values go with
malignancy). Writes ``models/descriptor_agreement.json``. The test split is not read.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import roc_auc_score

from skinapp.io import read_image
from skinapp.preprocess.pipeline import Pipeline, PipelineParams
from skinapp.vision.descriptors import describe_lesion
from skinapp.vision.learned import load_segmenter, outline_lesion
from skinapp.vision.segment import SegmentParams

logger = logging.getLogger(__name__)

OUT_FILE = "descriptor_agreement.json"
#: Descriptors compared (numeric fields of :class:`~skinapp.vision.descriptors.Descriptors`
#: and the colour shares).
COMPARED = (
    "asymmetry",
    "compactness",
    "fractal_dimension",
    "color_count",
    "color_blue_gray",
    "color_black",
    "color_dark_brown",
    "color_light_brown",
    "color_red",
    "color_white",
    "diameter_rel",
)
MASKS = ("ground_truth", "learned", "classical")


def describe_row(image: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """The compared descriptors of ``mask`` on ``image`` (NaN when the mask is empty)."""
    if not mask.any():
        return dict.fromkeys(COMPARED, np.nan)
    d = describe_lesion(image, mask)
    return {
        "asymmetry": d.asymmetry,
        "compactness": d.compactness,
        "fractal_dimension": np.nan if d.fractal_dimension is None else d.fractal_dimension,
        "color_count": d.color_count,
        **{f"color_{k}": v for k, v in d.color_shares.items()},
        "diameter_rel": d.diameter_px / max(mask.shape),
    }


def measure_rows(data: Path, image_ids: list[str], segmenter) -> pd.DataFrame:
    """One row per (image, mask kind) with the compared descriptors."""
    rows = []
    for image_id in image_ids:
        image = read_image(data / "images" / f"{image_id}.jpg")
        truth = cv2.imread(str(data / "masks" / f"{image_id}.png"), cv2.IMREAD_GRAYSCALE) > 127
        piped = Pipeline(PipelineParams()).run(image)
        preprocessed = piped.steps[[n for n in piped.steps if n != "resize"][-1]]
        masks = {
            "ground_truth": truth,
            "learned": outline_lesion(image, SegmentParams(), segmenter).mask,
            "classical": outline_lesion(
                image, SegmentParams(method="classical"), None, preprocessed=preprocessed
            ).mask,
        }
        for kind, mask in masks.items():
            rows.append({"image_id": image_id, "mask": kind, **describe_row(preprocessed, mask)})
    return pd.DataFrame(rows)


def _auc(y: np.ndarray, x: pd.Series) -> float | None:
    ok = x.notna().to_numpy()
    if ok.sum() < 10 or len(np.unique(y[ok])) < 2:
        return None
    return round(float(roc_auc_score(y[ok], x[ok])), 4)


def summarize(rows: pd.DataFrame, labels: pd.Series) -> dict[str, Any]:
    """Agreement with the ground truth and the per-descriptor AUC under each mask."""
    wide = {kind: g.set_index("image_id").sort_index() for kind, g in rows.groupby("mask")}
    truth = wide["ground_truth"]
    y = (labels.reindex(truth.index) == "malignant").to_numpy().astype(int)
    out: dict[str, Any] = {}
    for name in COMPARED:
        entry: dict[str, Any] = {"auc": {}}
        for kind in MASKS:
            if kind not in wide:
                continue
            x = wide[kind][name]
            entry["auc"][kind] = _auc(y, x)
            if kind == "ground_truth":
                continue
            both = truth[name].notna() & x.notna()
            a, b = truth[name][both], x[both]
            constant = a.nunique() < 2 or b.nunique() < 2
            entry[kind] = {
                "n": int(both.sum()),
                "pearson_r": None if constant else round(float(pearsonr(a, b)[0]), 4),
                "spearman_r": None if constant else round(float(spearmanr(a, b)[0]), 4),
                "median_abs_diff": round(float((a - b).abs().median()), 4),
            }
        out[name] = entry
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m skinapp.evidence.agreement", description=__doc__)
    p.add_argument("--data", required=True, type=Path, help="folder with metadata.csv")
    p.add_argument("--model-dir", default="models", type=Path, help="holds segmenter.tflite")
    p.add_argument("--out", type=Path, default=None, help=f"default: MODEL_DIR/{OUT_FILE}")
    p.add_argument("--limit", type=int, default=0, help="first N val images only (tests)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    if not (args.data / "metadata.csv").is_file():
        print(f"error: {args.data}/metadata.csv not found", file=sys.stderr)
        return 2
    segmenter = load_segmenter(args.model_dir, num_threads=1)
    if segmenter is None:
        print(f"error: no segmenter.tflite in {args.model_dir}", file=sys.stderr)
        return 2
    t0 = time.time()
    meta = pd.read_csv(args.data / "metadata.csv", dtype={"image_id": str})
    val = meta[(meta["has_mask"] == 1) & (meta["split"] == "val")].sort_values("image_id")
    if args.limit:
        val = val.head(args.limit)
    rows = measure_rows(args.data, list(val["image_id"]), segmenter)
    result = {
        "command": "python -m skinapp.evidence.agreement "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "split": "val",
        "n_images": len(val),
        "n_malignant": int((val["label"] == "malignant").sum()),
        "method": " ".join(__doc__.split("\n\n")[2].split()),
        "descriptors": summarize(rows, val.set_index("image_id")["label"]),
        "seconds": round(time.time() - t0, 1),
    }
    out = args.out or args.model_dir / OUT_FILE
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name, entry in result["descriptors"].items():
        learned = entry.get("learned", {})
        print(
            f"{name}: r(learned, truth) {learned.get('pearson_r')}, AUC truth "
            f"{entry['auc'].get('ground_truth')} learned {entry['auc'].get('learned')} "
            f"classical {entry['auc'].get('classical')}"
        )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
