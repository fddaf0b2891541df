"""``python -m skinapp.evidence.ablation``: what the shipped classifier does with other inputs.

    python -m skinapp.evidence.ablation --data ../shared/data/derm --model-dir models

Each validation image is given to the shipped classifier (``model.tflite`` through the serving
path, :meth:`skinapp.serving.Classifier.run`) in several versions:

- ``none``: the plain photo (what the app classifies; the reference),
- ``hair_removal``: after the app's DullRazor-style hair removal,
- ``color_constancy``: after Shades of Gray colour constancy (p = 6),
- ``app_pipeline``: after the app's default pipeline (colour constancy, then hair removal),
- ``segmentation_crop``: cropped to the app's lesion segmentation (bounding box plus a 10%
  margin each side, from :mod:`skinapp.evidence.descriptors`); the whole photo when no
  lesion is found.

The ROC AUC difference to ``none`` gets a paired bootstrap 95% CI and DeLong's p. This
measures *the effect of changing the input of a model trained on plain photos*: a drop means
"do not switch this on in front of this model", not that the step cannot help a model trained
with it (the frozen-feature proxy in ``preprocessing_ablation.json`` answers that question).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from skinapp.evidence.descriptors import DEFAULT_CACHE, load_descriptors
from skinapp.evidence.stats import compare_aucs
from skinapp.io import read_image
from skinapp.model.data import binary_labels, image_path, read_metadata
from skinapp.model.metrics import roc_auc_with_ci
from skinapp.model.preprocessing import prepare_model_input
from skinapp.preprocess.params import ColorConstancyParams
from skinapp.preprocess.pipeline import Pipeline, PipelineParams
from skinapp.preprocess.transforms import apply_color_constancy
from skinapp.vision.hair import remove_hair

logger = logging.getLogger(__name__)

VARIANTS = ("none", "hair_removal", "color_constancy", "app_pipeline", "segmentation_crop")
CROP_MARGIN = 0.10


def crop_to_box(
    image: np.ndarray, box: tuple[int, int, int, int] | None, margin: float
) -> np.ndarray:
    """Crop ``(x, y, w, h)`` widened by ``margin`` of its size on each side; whole image if None."""
    if box is None or box[2] <= 0 or box[3] <= 0:
        return image
    x, y, w, h = box
    dx, dy = round(w * margin), round(h * margin)
    height, width = image.shape[:2]
    x0, y0 = max(0, x - dx), max(0, y - dy)
    x1, y1 = min(width, x + w + dx), min(height, y + h + dy)
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def variant_functions() -> dict[str, Callable[[np.ndarray, tuple | None], np.ndarray]]:
    """``name -> f(image, lesion_box) -> image`` for every variant."""
    cc = ColorConstancyParams(method="shades_of_gray", p=6)
    app = Pipeline(PipelineParams.from_dict({"resize": {"mode": "none"}}))
    return {
        "none": lambda im, box: im,
        "hair_removal": lambda im, box: remove_hair(im).image,
        "color_constancy": lambda im, box: apply_color_constancy(im, cc),
        "app_pipeline": lambda im, box: app.run(im).image,
        "segmentation_crop": lambda im, box: crop_to_box(im, box, CROP_MARGIN),
    }


def variant_log_odds(
    classifier,
    data_dir: str | Path,
    frame: pd.DataFrame,
    boxes: list[tuple | None],
    variants: tuple[str, ...] = VARIANTS,
    batch_size: int = 64,
) -> dict[str, np.ndarray]:
    """Uncalibrated malignant log-odds of every image of ``frame`` under every variant."""
    funcs = variant_functions()
    out: dict[str, list[np.ndarray]] = {v: [] for v in variants}
    ids = list(frame["image_id"])
    for s in range(0, len(ids), batch_size):
        images = [read_image(image_path(data_dir, i)) for i in ids[s : s + batch_size]]
        for v in variants:
            batch = np.stack(
                [
                    prepare_model_input(funcs[v](im, box), classifier.input_spec)
                    for im, box in zip(images, boxes[s : s + batch_size], strict=True)
                ]
            )
            logits, _ = classifier.run(batch)
            out[v].append(classifier.log_odds(logits))
        logger.info("ablation: %d / %d images", min(s + batch_size, len(ids)), len(ids))
    return {v: np.concatenate(parts) for v, parts in out.items()}


def ablation_table(
    y: np.ndarray, scores: dict[str, np.ndarray], *, n_boot: int = 2000, seed: int = 0
) -> dict[str, dict]:
    """Per variant: AUC with CI, and the paired difference to ``none``."""
    result = {}
    for name, s in scores.items():
        ci = roc_auc_with_ci(y, s, n_boot=n_boot, seed=seed)
        row = {"auc": ci.auc, "low": ci.low, "high": ci.high}
        if name != "none":
            cmp = compare_aucs(y, s, scores["none"], n_boot=n_boot, seed=seed)
            row["delta_vs_none"] = cmp["bootstrap"]["diff"]
            row["delta_ci95"] = [cmp["bootstrap"]["low"], cmp["bootstrap"]["high"]]
            row["p_bootstrap"] = cmp["bootstrap"]["p"]
            row["p_delong"] = cmp["delong"]["p"]
        result[name] = row
    return result


def _boxes(descriptors: pd.DataFrame) -> list[tuple | None]:
    out = []
    for row in descriptors.itertuples():
        found = getattr(row, "found", 0) == 1
        out.append(
            (int(row.bbox_x), int(row.bbox_y), int(row.bbox_w), int(row.bbox_h)) if found else None
        )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m skinapp.evidence.ablation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True)
    p.add_argument("--model-dir", default="models")
    p.add_argument("--split", default="val", choices=("val", "test"))
    p.add_argument("--cache", default=str(DEFAULT_CACHE), help="descriptor cache (boxes)")
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="default: MODEL_DIR/ablation.json")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    from skinapp.model.report import _jsonable
    from skinapp.serving import Classifier

    t0 = time.time()
    meta = read_metadata(args.data)
    frame = meta[meta["split"] == args.split].reset_index(drop=True)
    desc = load_descriptors(args.data, list(frame["image_id"]), args.cache)
    classifier = Classifier(args.model_dir, calibrated=False)
    scores = variant_log_odds(classifier, args.data, frame, _boxes(desc))
    y = binary_labels(frame)
    result = {
        "split": args.split,
        "n": len(frame),
        "n_malignant": int(y.sum()),
        "model_version": classifier.version,
        "lesion_found_share": float(desc["found"].mean()),
        "variants": ablation_table(y, scores, n_boot=args.n_boot, seed=args.seed),
        "method": " ".join(__doc__.split("\n\n")[2].split())
        + " "
        + " ".join(__doc__.split("\n\n")[4].split()),
        "command": "python -m skinapp.evidence.ablation " + " ".join(argv or sys.argv[1:]),
        "seconds": round(time.time() - t0, 1),
    }
    out = Path(args.out or Path(args.model_dir) / "ablation.json")
    out.write_text(json.dumps(_jsonable(result), indent=2) + "\n")
    if out.resolve() == (Path(args.model_dir) / "ablation.json").resolve():
        from skinapp.model.card import refresh_model_card

        refresh_model_card(args.model_dir)  # the card quotes ablation.json
    for name, row in result["variants"].items():
        delta = (
            ""
            if name == "none"
            else (
                f" delta {row['delta_vs_none']:+.4f} [{row['delta_ci95'][0]:+.4f}, "
                f"{row['delta_ci95'][1]:+.4f}] p={row['p_bootstrap']:.3g}"
            )
        )
        print(f"{name}: AUC {row['auc']:.4f}{delta}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
