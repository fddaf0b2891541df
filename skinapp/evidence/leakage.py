"""``python -m skinapp.evidence.leakage``: how much does a leaky split inflate the metrics?

    python -m skinapp.evidence.leakage --data ../shared/data/derm --out models/leakage.json

HAM10000 holds several photos of many lesions. When images, not lesions, are split at random,
photos of one lesion land in both training and test, and the test set partly measures
recognition of lesions already seen. The same cheap recipe (frozen ImageNet MobileNetV2
features, :mod:`skinapp.evidence.frozen`, plus a head) is trained and tested on:

- ``grouped``: random splits by lesion (no lesion in both sets), and
- ``leaky``: random splits by image,

with the same numbers of training and test images (those of the shipped train/test split of the
chosen datasets), repeated over several seeds. Heads: a class-balanced logistic regression for
malignant vs benign (ROC AUC, balanced accuracy), a multinomial logistic regression over the 7
diagnoses (plain accuracy, the number most papers report) and a 1-nearest-neighbour classifier
(memorises; shows the effect most clearly). Writes a JSON summary with the per-seed values.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from skinapp.evidence.frozen import DEFAULT_CACHE, DEFAULT_WEIGHTS, FEATURE_LAYERS, load_features
from skinapp.model.data import binary_labels, read_metadata

logger = logging.getLogger(__name__)

SPLITS = ("grouped", "leaky")


def image_split(n: int, n_train: int, n_test: int, rng: np.random.Generator):
    """Random image-level split: disjoint index arrays of ``n_train`` and ``n_test`` rows."""
    order = rng.permutation(n)
    return order[:n_train], order[n_train : n_train + n_test]


def lesion_split(groups: np.ndarray, n_train: int, n_test: int, rng: np.random.Generator):
    """Random lesion-grouped split: no group has rows in both arrays.

    Whole lesions are drawn for the test set until it holds ``n_test`` images (the last
    lesion's surplus images are dropped, which cannot leak); ``n_train`` images are then drawn
    from the remaining lesions.
    """
    codes = pd.factorize(pd.Series(groups))[0]
    test_rows: list[int] = []
    used = np.zeros(codes.max() + 1, bool)
    for g in rng.permutation(codes.max() + 1):
        test_rows.extend(np.flatnonzero(codes == g)[: n_test - len(test_rows)])
        used[g] = True
        if len(test_rows) >= n_test:
            break
    rest = np.flatnonzero(~used[codes])
    if rest.size < n_train:
        raise ValueError(f"Not enough images left for a training set of {n_train}")
    return rng.permutation(rest)[:n_train], np.asarray(test_rows)


def overlap_share(groups: np.ndarray, train: np.ndarray, test: np.ndarray) -> float:
    """Share of test images whose lesion also has an image in the training set."""
    seen = set(groups[train])
    return float(np.mean([g in seen for g in groups[test]]))


def score_split(
    x: np.ndarray,
    y: np.ndarray,
    dx: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    c: float,
    groups: np.ndarray | None = None,
) -> dict[str, float]:
    """Fit the three heads on ``train`` rows and score them on ``test`` rows.

    With ``groups`` (lesion of every row), also: the diagnosis accuracy on test images whose
    lesion has a photo in ``train`` ("seen") and on the others, and the share of seen test
    images whose nearest training photo is of the same lesion (the recipe recognises the lesion
    rather than judging it).
    """
    scaler = StandardScaler().fit(x[train])
    xtr, xte = scaler.transform(x[train]), scaler.transform(x[test])
    binary = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(xtr, y[train])
    p = binary.predict_proba(xte)[:, 1]
    multi = LogisticRegression(C=c, max_iter=2000).fit(xtr, dx[train]).predict(xte)
    knn_model = KNeighborsClassifier(n_neighbors=1).fit(xtr, dx[train])
    knn = knn_model.predict(xte)
    out = {
        "binary_roc_auc": float(roc_auc_score(y[test], p)),
        "binary_accuracy": float(accuracy_score(y[test], p >= 0.5)),
        "binary_balanced_accuracy": float(balanced_accuracy_score(y[test], p >= 0.5)),
        "dx_accuracy": float(accuracy_score(dx[test], multi)),
        "dx_accuracy_1nn": float(accuracy_score(dx[test], knn)),
    }
    if groups is not None:
        seen = np.isin(groups[test], groups[train])
        if seen.any():
            nearest = knn_model.kneighbors(xte[seen], 1, return_distance=False)[:, 0]
            same = groups[train][nearest] == groups[test][seen]
            out["nearest_photo_same_lesion_share"] = float(same.mean())
        for name, mask in (("seen", seen), ("unseen", ~seen)):
            if mask.any():
                out[f"dx_accuracy_{name}_lesions"] = float(np.mean(multi[mask] == dx[test][mask]))
                out[f"dx_accuracy_1nn_{name}_lesions"] = float(np.mean(knn[mask] == dx[test][mask]))
    return out


def _summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    keys = [k for k in runs[0] if k != "seed" and all(k in r for r in runs)]
    return {
        k: {
            "mean": float(np.mean([r[k] for r in runs])),
            "sd": float(np.std([r[k] for r in runs], ddof=1)) if len(runs) > 1 else 0.0,
        }
        for k in keys
    }


def leakage_experiment(
    x: np.ndarray,
    meta: pd.DataFrame,
    *,
    n_train: int,
    n_test: int,
    seeds: int = 5,
    c: float = 0.05,
) -> dict[str, Any]:
    """Grouped vs leaky random splits of the rows of ``meta`` (features ``x``), ``seeds`` each.

    Returns ``{"runs": {split: [per-seed metrics]}, "summary": {split: {metric: {mean, sd}}},
    "inflation": {metric: {mean, sd}}}`` where inflation = leaky - grouped per seed (paired by
    seed: same seed, same numbers of images).
    """
    y = binary_labels(meta)
    dx = meta["dx"].to_numpy()
    groups = meta["lesion_id"].fillna(meta["image_id"]).to_numpy()
    runs: dict[str, list[dict[str, float]]] = {s: [] for s in SPLITS}
    for seed in range(seeds):
        for name in SPLITS:
            rng = np.random.default_rng(seed)
            if name == "leaky":
                train, test = image_split(len(meta), n_train, n_test, rng)
            else:
                train, test = lesion_split(groups, n_train, n_test, rng)
            result = score_split(x, y, dx, train, test, c, groups if name == "leaky" else None)
            result["test_images_whose_lesion_is_in_train"] = overlap_share(groups, train, test)
            runs[name].append({"seed": seed, **result})
            logger.info("seed %d %s: %s", seed, name, result)
    inflation = [
        {k: lk[k] - gr[k] for k in gr if k != "seed"}
        for lk, gr in zip(runs["leaky"], runs["grouped"], strict=True)
    ]
    return {
        "runs": runs,
        "summary": {name: _summary(r) for name, r in runs.items()},
        "inflation": _summary(inflation),
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m skinapp.evidence.leakage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, help="folder with metadata.csv and images/")
    p.add_argument("--backbone-weights", default=DEFAULT_WEIGHTS, help="'none' = random (tests)")
    p.add_argument("--cache", default=str(DEFAULT_CACHE), help="feature cache (.npz)")
    p.add_argument("--datasets", nargs="+", default=["HAM10000"])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--C", type=float, default=0.05, dest="c", help="logistic regression C")
    p.add_argument("--out", default="models/leakage.json")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    t0 = time.time()
    meta = read_metadata(args.data)
    meta = meta[meta["dataset"].isin(args.datasets)].reset_index(drop=True)
    if meta.empty:
        print(f"error: no images of datasets {args.datasets}", file=sys.stderr)
        return 2
    n_train = int((meta["split"] == "train").sum())
    n_test = int((meta["split"] == "test").sum())
    weights = None if args.backbone_weights == "none" else args.backbone_weights
    x = load_features(args.data, list(meta["image_id"]), weights, args.cache)
    result = leakage_experiment(x, meta, n_train=n_train, n_test=n_test, seeds=args.seeds, c=args.c)
    lesions = meta["lesion_id"].fillna(meta["image_id"])
    out = {
        "method": " ".join(__doc__.split("\n\n")[2].split()),
        "recipe": {
            "features": f"frozen ImageNet MobileNetV2, GAP of {', '.join(FEATURE_LAYERS)}",
            "input": "photo stretched to 224x224 (as the classifier's input)",
            "heads": "LogisticRegression(C, class_weight=balanced) on malignant vs benign; "
            "multinomial LogisticRegression(C) on dx; 1-NN on dx; standardised features",
            "C": args.c,
            "threshold": "p >= 0.5 for binary accuracy",
        },
        "datasets": args.datasets,
        "n_images": len(meta),
        "n_lesions": int(lesions.nunique()),
        "images_per_lesion_max": int(lesions.value_counts().max()),
        "n_train": n_train,
        "n_test": n_test,
        "seeds": args.seeds,
        **result,
        "command": "python -m skinapp.evidence.leakage " + " ".join(argv or sys.argv[1:]),
        "seconds": round(time.time() - t0, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    s, inf = out["summary"], out["inflation"]
    for key in ("binary_roc_auc", "binary_accuracy", "dx_accuracy", "dx_accuracy_1nn"):
        print(
            f"{key}: grouped {s['grouped'][key]['mean']:.3f}, leaky {s['leaky'][key]['mean']:.3f}"
            f" (inflation {inf[key]['mean']:+.3f} ± {inf[key]['sd']:.3f})"
        )
    lk = s["leaky"]
    if "dx_accuracy_1nn_seen_lesions" in lk:
        print(
            "leaky split, 1-NN 7-class accuracy on test images whose lesion is in training "
            f"{lk['dx_accuracy_1nn_seen_lesions']['mean']:.3f} vs the others "
            f"{lk['dx_accuracy_1nn_unseen_lesions']['mean']:.3f}; nearest training photo of "
            f"the same lesion for {lk['nearest_photo_same_lesion_share']['mean']:.3f} of them"
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
