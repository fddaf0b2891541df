"""``python -m skinapp.measure_loso --data ../shared/data/derm``: fit the trust detector and
measure it leave-one-source-out.

Would dermoscopy from a clinic the detector never saw be called "not a lesion"? For each
source of the data set (HAM10000, ISIC2017, ISIC_ARCHIVE, PH2, and ISIC2017 + ISIC_ARCHIVE
together), the detector (:func:`skinapp.trust.detector.fit_detector`) is fitted on the *other*
sources only (``train`` to fit, ``val`` for the thresholds) and its flag rates are counted on
the held-out source, overall and per diagnosis. The held-out images counted are its ``val`` and
``test`` photos: the classifier whose features the detector reads was trained on every
source's ``train`` photos, so only those two splits are new to the network too (the rates on
all of the source's photos are given as well).

Then the shipped detector is fitted on all sources and written to ``<model-dir>/ood.npz``;
its flag rates on the ``test`` split (per source and diagnosis) and its AUROC against the
images of :mod:`skinapp.trust.measure` (scikit-image's natural photographs and crops of them,
microscopy, faces, graphics, synthetic and heavily degraded images; none of them used to fit)
go to ``<model-dir>/ood_loso.json``; the ``ood`` block of ``trust.json`` and ``MODEL_CARD.md``
are brought up to date. Targets: held-out lesions flagged "not a lesion" <= 2 %, <= 5 % in
every diagnosis with at least 20 images; natural photographs AUROC >= 0.99.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["HELD_OUT", "LOSO_FILE", "flag_table", "main", "run_loso"]

#: Written next to the model.
LOSO_FILE = "ood_loso.json"
#: Held-out groups: name -> the datasets left out of the fit.
HELD_OUT = {
    "HAM10000": ("HAM10000",),
    "ISIC2017": ("ISIC2017",),
    "ISIC_ARCHIVE": ("ISIC_ARCHIVE",),
    "PH2": ("PH2",),
    "ISIC2017+ISIC_ARCHIVE": ("ISIC2017", "ISIC_ARCHIVE"),
}
#: Targets of issue 16.
TARGET_OVERALL, TARGET_PER_DX, MIN_DX_IMAGES, TARGET_AUROC = 0.02, 0.05, 20, 0.99
#: Varied copies (:func:`~skinapp.trust.negatives.varied_lesions`) per dataset's train photos.
VARIED_PER_DATASET = 600
_CHUNK = 512


def flag_table(ood: np.ndarray, unusual: np.ndarray, dx: np.ndarray) -> dict[str, Any]:
    """Rates of ``ood`` and ``unusual`` overall and per diagnosis (with counts)."""
    ood, unusual, dx = np.asarray(ood, bool), np.asarray(unusual, bool), np.asarray(dx)
    per_dx = {
        str(d): {
            "n": int((dx == d).sum()),
            "ood": float(ood[dx == d].mean()),
            "unusual": float(unusual[dx == d].mean()),
        }
        for d in sorted(set(dx.tolist()))
    }
    checked = [v["ood"] for v in per_dx.values() if v["n"] >= MIN_DX_IMAGES]
    return {
        "n": int(ood.size),
        "ood": float(ood.mean()) if ood.size else float("nan"),
        "unusual": float(unusual.mean()) if unusual.size else float("nan"),
        "per_dx": per_dx,
        "worst_dx_ood_with_20_images": max(checked) if checked else None,
        "meets_targets": bool(
            ood.size and ood.mean() <= TARGET_OVERALL and all(v <= TARGET_PER_DX for v in checked)
        ),
    }


def _groups(dataset: np.ndarray, split: np.ndarray) -> dict[str, tuple[str, ...]]:
    """The held-out groups of :data:`HELD_OUT` (or each dataset present, for other data) that
    have images and leave train and val photos of other sources to fit on."""
    present = set(dataset.tolist())
    groups = {k: v for k, v in HELD_OUT.items() if set(v) <= present}
    groups.update({d: (d,) for d in sorted(present) if d not in groups})
    return {
        name: exclude
        for name, exclude in groups.items()
        if all(((~np.isin(dataset, exclude)) & (split == s)).any() for s in ("train", "val"))
    }


def _flags(detector, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    found = detector.assess(features)
    return (
        np.array([a.ood for a in found], bool),
        np.array([a.unusual for a in found], bool),
        np.array([a.ood_score for a in found]),
    )


def _lesion_features(runner, data_dir: Path, ids, cache: Path | None, version: str):
    from skinapp.io import read_image
    from skinapp.model.data import image_path

    if cache is not None and cache.is_file():
        with np.load(cache) as saved:
            if str(saved["version"]) == version and list(saved["image_id"]) == list(ids):
                logger.info("Lesion features from %s", cache)
                return saved["feats"]
    feats = []
    for start in range(0, len(ids), _CHUNK):
        images = [read_image(image_path(data_dir, i)) for i in ids[start : start + _CHUNK]]
        feats.append(runner.single(images)[1].astype(np.float32))
        logger.info("features: %d of %d photos", start + len(images), len(ids))
    feats = np.concatenate(feats)
    if cache is not None:
        np.savez(cache, image_id=np.asarray(ids), feats=feats, version=version)
    return feats


def run_loso(
    data_dir: str | Path,
    model_dir: str | Path,
    *,
    seed: int = 0,
    cache: str | Path | None = None,
    command: str = "",
) -> dict[str, Any]:
    """Measure leave-one-source-out, fit and save the shipped detector; returns the JSON."""
    from sklearn.metrics import roc_auc_score

    from skinapp.io import read_image
    from skinapp.measure_trust import _ood_sets, _Runner
    from skinapp.model.data import image_path, read_metadata
    from skinapp.serving import Classifier
    from skinapp.trust.detector import (
        NOT_LESION_C,
        NOT_LESION_QUANTILE,
        UNUSUAL_QUANTILE,
        fit_detector,
    )
    from skinapp.trust.negatives import generated_negatives, varied_lesions
    from skinapp.trust.ood import OOD_FILE

    t0 = time.time()
    data_dir, model_dir = Path(data_dir), Path(model_dir)
    clf = Classifier(model_dir)
    runner = _Runner(clf)
    meta = read_metadata(data_dir).reset_index(drop=True)
    ids = meta["image_id"].tolist()
    feats = _lesion_features(runner, data_dir, ids, Path(cache) if cache else None, clf.version)
    split, dataset, dx = (meta[c].to_numpy() for c in ("split", "dataset", "dx"))

    rng = np.random.default_rng(seed)
    negatives = np.concatenate(
        [runner.single(v)[1] for v in generated_negatives(rng).values() if v]
    )
    varied_ds, varied = [], []
    for name in sorted(set(dataset.tolist())):
        pool = np.flatnonzero((dataset == name) & (split == "train"))
        pick = rng.choice(pool, min(VARIED_PER_DATASET, pool.size), replace=False)
        photos = [read_image(image_path(data_dir, ids[i])) for i in pick]
        varied.append(runner.single(varied_lesions(photos, rng))[1])
        varied_ds += [name] * len(pick)
    varied, varied_ds = np.concatenate(varied), np.asarray(varied_ds)
    logger.info("features ready in %.0f s", time.time() - t0)

    def fit(exclude: tuple[str, ...]):
        keep = ~np.isin(dataset, exclude)
        return fit_detector(
            feats[keep & (split == "train")],
            feats[keep & (split == "val")],
            negatives,
            varied_lesions=varied[~np.isin(varied_ds, exclude)],
            model_version=clf.version,
        )

    loso = {}
    for name, exclude in _groups(dataset, split).items():
        detector = fit(exclude)
        held = np.isin(dataset, exclude)
        ood, unusual, _ = _flags(detector, feats[held])
        unseen = split[held] != "train"
        loso[name] = {
            "fitted_on": sorted(set(dataset.tolist()) - set(exclude)),
            "val_test": flag_table(ood[unseen], unusual[unseen], dx[held][unseen]),
            "all_splits": flag_table(ood, unusual, dx[held]),
        }
        logger.info("held out %s: %s", name, loso[name]["val_test"]["ood"])

    detector = fit(())
    detector.save(model_dir / OOD_FILE)
    test = split == "test"
    ood, unusual, test_scores = _flags(detector, feats[test])
    val_ood, _, _ = _flags(detector, feats[split == "val"])
    by_source = {
        name: flag_table(
            ood[dataset[test] == name],
            unusual[dataset[test] == name],
            dx[test][dataset[test] == name],
        )
        for name in sorted(set(dataset.tolist()))
    }
    test_images = [read_image(image_path(data_dir, i)) for i in np.asarray(ids)[test]]
    against = {}
    sets = _ood_sets(np.random.default_rng(seed), test_images)
    sets.pop("synthetic_all", None)
    sets["natural_photos_and_crops"] = sets["natural_photos"] + sets["natural_photo_crops"]
    for name, images in sets.items():
        flagged, _, scores = _flags(detector, runner.single(images)[1])
        labels = np.r_[np.zeros(len(test_scores)), np.ones(len(scores))]
        against[name] = {
            "n": len(images),
            "auroc": float(roc_auc_score(labels, np.r_[test_scores, scores])),
            "detected": float(flagged.mean()),
        }
    result = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_version": clf.version,
        "command": command
        or f"python -m skinapp.measure_loso --data {data_dir} --model-dir {model_dir}",
        "seed": seed,
        "method": (
            "not a lesion = lesion-vs-generated-non-lesion logistic regression AND Mahalanobis "
            f"distance both above their {NOT_LESION_QUANTILE} val quantiles; unusual = distance "
            f"above its {UNUSUAL_QUANTILE} val quantile (C={NOT_LESION_C})"
        ),
        "targets": {
            "held_out_ood": TARGET_OVERALL,
            "per_dx_ood": TARGET_PER_DX,
            "min_dx_images": MIN_DX_IMAGES,
            "natural_photo_auroc": TARGET_AUROC,
        },
        "n_negatives": len(negatives),
        "n_varied_lesions": len(varied),
        "leave_one_source_out": loso,
        "shipped": {
            "fitted_on": "all sources: train (fit), val (thresholds)",
            "val_ood": float(val_ood.mean()),
            "test": flag_table(ood, unusual, dx[test]),
            "test_by_source": by_source,
            "against": against,
        },
        "seconds": round(time.time() - t0, 1),
    }
    result = json.loads(json.dumps(result, default=float, allow_nan=True).replace("NaN", "null"))
    (model_dir / LOSO_FILE).write_text(json.dumps(result, indent=2) + "\n")
    _update_trust_json(model_dir, detector, result)
    from skinapp.model.card import refresh_model_card

    refresh_model_card(model_dir)  # the card quotes ood_loso.json
    return result


def _update_trust_json(model_dir: Path, detector, result: dict[str, Any]) -> None:
    """The ``ood`` block of ``trust.json`` (read by the Dashboard) for the new detector."""
    path = model_dir / "trust.json"
    if not path.is_file():
        return
    trust = json.loads(path.read_text())
    shipped = result["shipped"]
    trust["ood"] = {
        "method": result["method"],
        "n_components": int(detector.distance.components.shape[0]),
        "n_features": detector.distance.n_features,
        "threshold": 0.0,
        "threshold_rule": "ood_score > 0: both scores above their val quantiles",
        "test_flagged": shipped["test"]["ood"],
        "test_unusual": shipped["test"]["unusual"],
        "test_n": shipped["test"]["n"],
        "val_flagged": shipped["val_ood"],
        "against": shipped["against"],
        "note": "in-distribution = test split lesions; AUROC = P(ood_score of the image > "
        f"ood_score of a test lesion); leave-one-source-out rates in {LOSO_FILE} "
        f"(`{result['command']}`)",
    }
    path.write_text(json.dumps(trust, indent=2, allow_nan=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m skinapp.measure_loso",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, help="derm data folder (metadata.csv + images/)")
    p.add_argument("--model-dir", default="models")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--cache",
        default=None,
        help="npz file to keep the lesion features in (reused when it is for this model)",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from skinapp.errors import SkinappError

    command = "python -m skinapp.measure_loso " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    try:
        result = run_loso(
            args.data, args.model_dir, seed=args.seed, cache=args.cache, command=command
        )
    except (SkinappError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name, block in result["leave_one_source_out"].items():
        vt = block["val_test"]
        print(
            f"held out {name:24s} n={vt['n']:5d} ood {vt['ood']:.2%} unusual {vt['unusual']:.2%} "
            f"worst dx {vt['worst_dx_ood_with_20_images']} targets met: {vt['meets_targets']}"
        )
    natural = result["shipped"]["against"]["natural_photos_and_crops"]
    print(f"natural photos AUROC {natural['auroc']:.4f}, flagged {natural['detected']:.1%}")
    print(f"test split flagged not-a-lesion {result['shipped']['test']['ood']:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
