"""``python -m skinapp.evidence.cross_dataset``: does the model work on collections it never saw?

    python -m skinapp.train --data ../shared/data/derm --train-datasets HAM10000 \\
        --out runs/ham_only ...
    python -m skinapp.evidence.cross_dataset --data ../shared/data/derm \\
        --model-dir runs/ham_only --reference models

The candidate model (trained on some datasets only, read from its ``model_config.json``) and
the reference model (the shipped one, trained on all) are scored through the serving path
(:func:`skinapp.evaluate.split_log_odds`) on the test split, which is split into the
*in-distribution* images (datasets the candidate was trained on) and the *out-of-distribution*
ones (the rest). Reported: ROC AUC with bootstrap CI of both models on both parts and per
dataset, the candidate's drop (in minus out), and paired comparisons candidate vs reference
(DeLong and paired bootstrap) on each part. The reference's scores are read from its
``test_predictions.csv`` when present (same serving path, saves a pass over the images).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skinapp.evidence.stats import compare_aucs
from skinapp.model.data import binary_labels, read_metadata
from skinapp.model.metrics import MIN_CLASS_COUNT, roc_auc_with_ci

logger = logging.getLogger(__name__)


def _auc(y: np.ndarray, s: np.ndarray, n_boot: int, seed: int) -> dict[str, Any]:
    n_pos = int(y.sum())
    out: dict[str, Any] = {"n": int(y.size), "n_malignant": n_pos}
    if min(n_pos, y.size - n_pos) < MIN_CLASS_COUNT:
        out.update(auc=None, low=None, high=None, too_small=True)
        return out
    ci = roc_auc_with_ci(y, s, n_boot=n_boot, seed=seed)
    out.update(auc=ci.auc, low=ci.low, high=ci.high, too_small=False)
    return out


def cross_dataset_report(
    y: np.ndarray,
    datasets: Sequence[str],
    scores: Mapping[str, np.ndarray],
    in_datasets: Sequence[str],
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """AUCs of ``scores`` (``{"candidate": ..., "reference": ...}``) in and out of distribution.

    Parameters
    ----------
    y : (N,) 0/1 labels of the test images.
    datasets : (N,) source dataset of each image.
    scores : model name -> (N,) scores (any monotone malignancy score).
    in_datasets : datasets the candidate was trained on.

    Returns
    -------
    dict
        ``parts`` (``in``/``out`` -> model -> AUC block), ``by_dataset`` (dataset -> model ->
        AUC block), ``drop`` (model -> in minus out AUC, None when a part is too small) and
        ``paired`` (part -> candidate-minus-reference comparison, when both AUCs exist).
    """
    y = np.asarray(y)
    ds = np.asarray(datasets, dtype=object)
    is_in = np.isin(ds, list(in_datasets))
    masks = {"in": is_in, "out": ~is_in}
    parts = {
        part: {m: _auc(y[mask], s[mask], n_boot, seed) for m, s in scores.items()}
        for part, mask in masks.items()
    }
    by_dataset = {
        d: {m: _auc(y[ds == d], s[ds == d], n_boot, seed) for m, s in scores.items()}
        for d in sorted(set(ds))
    }
    drop = {}
    for m in scores:
        a_in, a_out = parts["in"][m]["auc"], parts["out"][m]["auc"]
        drop[m] = None if a_in is None or a_out is None else a_in - a_out
    paired = {}
    if {"candidate", "reference"} <= set(scores):
        for part, mask in masks.items():
            if parts[part]["candidate"]["auc"] is not None:
                paired[part] = compare_aucs(
                    y[mask],
                    scores["candidate"][mask],
                    scores["reference"][mask],
                    n_boot=n_boot,
                    seed=seed,
                )
    return {"parts": parts, "by_dataset": by_dataset, "drop": drop, "paired": paired}


def model_test_log_odds(model_dir: Path, data_dir: Path, test: pd.DataFrame) -> np.ndarray:
    """Uncalibrated test log-odds of a model folder (exported to LiteRT first if needed)."""
    from skinapp.evaluate import export, split_log_odds
    from skinapp.serving import Classifier

    saved = model_dir / "test_predictions.csv"
    if saved.is_file():
        table = pd.read_csv(saved, dtype={"image_id": str}).set_index("image_id")
        if set(test["image_id"]) <= set(table.index) and "log_odds" in table:
            logger.info("Using the saved test log-odds of %s", model_dir)
            return table.loc[list(test["image_id"]), "log_odds"].to_numpy(float)
    if not (model_dir / "model.tflite").is_file() or not (model_dir / "head.npz").is_file():
        logger.info("Exporting %s to LiteRT", model_dir)
        export(model_dir)
    return split_log_odds(Classifier(model_dir, calibrated=False), data_dir, test)


def trained_on(model_dir: Path) -> list[str]:
    """The ``train_datasets`` recorded in ``model_config.json`` (empty = all)."""
    config = json.loads((model_dir / "model_config.json").read_text())
    return list((config.get("train_config") or {}).get("train_datasets") or [])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m skinapp.evidence.cross_dataset",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True)
    p.add_argument("--model-dir", required=True, help="candidate model (trained on a subset)")
    p.add_argument("--reference", default="models", help="model trained on all datasets")
    p.add_argument("--in-datasets", nargs="+", help="override the candidate's training datasets")
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="models/cross_dataset.json")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    from skinapp.errors import SkinappError
    from skinapp.evidence.report import model_version
    from skinapp.model.report import _jsonable

    t0 = time.time()
    data_dir, cand, ref = Path(args.data), Path(args.model_dir), Path(args.reference)
    try:
        in_datasets = args.in_datasets or trained_on(cand)
        if not in_datasets:
            raise ValueError(
                f"{cand} was trained on all datasets: pass --in-datasets or train with "
                "--train-datasets"
            )
        meta = read_metadata(data_dir)
        test = meta[meta["split"] == "test"].reset_index(drop=True)
        scores = {
            "candidate": model_test_log_odds(cand, data_dir, test),
            "reference": model_test_log_odds(ref, data_dir, test),
        }
    except (FileNotFoundError, ValueError, SkinappError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    result = cross_dataset_report(
        binary_labels(test),
        test["dataset"],
        scores,
        in_datasets,
        n_boot=args.n_boot,
        seed=args.seed,
    )
    result.update(
        candidate={"model_dir": str(cand), "train_datasets": in_datasets},
        reference={"model_dir": str(ref), "train_datasets": trained_on(ref) or "all"},
        model_version=model_version(ref),
        in_datasets=in_datasets,
        out_datasets=sorted(set(test["dataset"]) - set(in_datasets)),
        method=" ".join(__doc__.split("\n\n")[2].split()),
        command="python -m skinapp.evidence.cross_dataset " + " ".join(argv or sys.argv[1:]),
        seconds=round(time.time() - t0, 1),
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(_jsonable(result), indent=2) + "\n")
    for part in ("in", "out"):
        c, r = result["parts"][part]["candidate"], result["parts"][part]["reference"]
        print(f"{part}: candidate AUC {c['auc']} (n={c['n']}), reference AUC {r['auc']}")
    print(f"candidate drop (in - out): {result['drop']['candidate']}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
