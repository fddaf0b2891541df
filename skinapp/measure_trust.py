"""Measure the trust checks and fit what they need: ``models/trust.json`` and ``models/ood.npz``.

Run through ``python -m skinapp.evaluate --data ../shared/data/derm --model-dir models --trust``
(after the model's own evaluation, so ``calibration.json`` describes the current model).
One pass per split through the serving classifier's ``run``:

1. **OOD.** The two-tier trust detector ("not a lesion" / "unusual") is fitted and measured by
   :func:`skinapp.measure_loso.run_loso`, which ``evaluate --trust`` runs after this
   (leave-one-source-out, then on all sources; saved as ``ood.npz``, measured in
   ``ood_loso.json`` and the ``ood`` block here). Its AUROC is
   measured with the ``test`` lesions as in-distribution against the images of
   :func:`_ood_sets`: scikit-image's bundled natural photographs (whole and random crops),
   other bundled images (microscopy, retina, faces), synthetic images (flat colours, noise,
   text, documents) and heavily degraded test lesions.
2. **TTA.** The eight views of every ``val`` and ``test`` image in one batch each; a Platt
   calibration and grade thresholds are refitted on the ``val`` TTA means (the single-view
   calibration does not fit averaged log-odds), and single view vs TTA is compared on
   ``test`` (AUC, ECE, Brier, sensitivity/specificity), with the latency of both paths.
3. **Quality.** The learned exposure / colour-cast detector
   (:mod:`skinapp.trust.photometric`) is fitted on ``val`` and copies of it degraded as in
   its ``TRAINING_DEGRADATIONS``; saved as ``quality.npz``. Then every check on the original
   ``test`` photos (false alarms) and on degraded
   copies (Gaussian blur, gamma darkening/brightening, colour casts, crops that cut the
   lesion, zoom-out), with the classifier's ROC AUC at each level and the level at which it
   drops by more than :data:`AUC_DROP`. The lesion checks need a segmentation per image, so
   they run on a seeded random subset of :data:`N_SEGMENT` test images.

The other quality thresholds are constants in :mod:`skinapp.trust.quality`, tuned on ``val``;
their false-alarm rates on the original ``val`` photos are recorded too, and the detector's
out-of-fold rates on ``val``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from skinapp.trust import degrade
from skinapp.trust import quality as quality_module
from skinapp.trust.negatives import as_rgb
from skinapp.trust.ood import OOD_FILE, pool_features
from skinapp.trust.photometric import (
    FALSE_ALARM_RATE,
    JPEG_QUALITY,
    PHOTOMETRIC_FILE,
    TRAINING_DEGRADATIONS,
    PhotometricDetector,
    fit_photometric,
    photo_stats,
)
from skinapp.trust.quality import CHECK_NAMES, check_quality
from skinapp.trust.tta import N_VIEWS, TRUST_FILE, run_views, spread

logger = logging.getLogger(__name__)

__all__ = ["AUC_DROP", "N_SEGMENT", "natural_photos", "run_trust"]

#: A degradation "matters" once the classifier's test ROC AUC has dropped by more than this.
AUC_DROP = 0.03
#: Test images (seeded random subset) on which the segmentation-based checks are measured.
N_SEGMENT = 300
#: Random crops taken from each natural photo (more, varied out-of-distribution samples).
CROPS_PER_PHOTO = 12

#: Degradations of whole photos: family -> (levels, function, the check meant to catch it).
IMAGE_DEGRADATIONS: dict[str, tuple[tuple[float, ...], Callable, str]] = {
    "blur_sigma": ((0.5, 1.0, 1.5, 2.0, 3.0), degrade.gaussian_blur, "focus"),
    "gamma_dark": ((1.5, 2.0, 3.0), degrade.gamma, "exposure"),
    "gamma_bright": ((0.7, 0.5, 0.33), degrade.gamma, "exposure"),
    "cast_blue": ((0.1, 0.2, 0.3), lambda im, s: degrade.color_cast(im, s, "blue"), "color_cast"),
    "cast_green": (
        (0.1, 0.2, 0.3),
        lambda im, s: degrade.color_cast(im, s, "green"),
        "color_cast",
    ),
}
#: Degradations that need the lesion's position (run on the segmented subset).
LESION_DEGRADATIONS = {"crop_cut": ((0.25, 0.5), "border"), "zoom_out": ((0.5, 0.3), "size")}

# scikit-image's bundled photographs of the real world (no download needed).
_NATURAL = (
    "astronaut",
    "brick",
    "camera",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "hubble_deep_field",
    "moon",
    "rocket",
)
# Bundled medical / microscopy images: not skin, but closer to it than street photos.
_MEDICAL = ("immunohistochemistry", "retina", "cell", "microaneurysms")
# Bundled drawings and graphics.
_GRAPHICS = ("page", "text", "logo", "colorwheel", "checkerboard", "horse")


def natural_photos() -> dict[str, np.ndarray]:
    """scikit-image's bundled natural photographs as ``(H, W, 3) uint8`` RGB, by name."""
    import skimage.data

    photos = {name: as_rgb(getattr(skimage.data, name)()) for name in _NATURAL}
    photos["motorcycle"] = as_rgb(skimage.data.stereo_motorcycle()[0])
    return photos


def _random_crops(image: np.ndarray, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    h, w = image.shape[:2]
    out = []
    for _ in range(n):
        side = int(rng.uniform(0.3, 0.8) * min(h, w))
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        out.append(image[y : y + side, x : x + side].copy())
    return out


# === Running the model ===


class _Runner:
    """Batches photos through ``classifier.run``: log-odds, pooled features, TTA log-odds."""

    def __init__(self, classifier, batch_size: int = 64):
        self.clf, self.batch_size = classifier, batch_size

    def _prepare(self, images) -> np.ndarray:
        from skinapp.model.preprocessing import prepare_model_input

        return np.stack([prepare_model_input(im, self.clf.input_spec) for im in images])

    def single(self, images) -> tuple[np.ndarray, np.ndarray]:
        """``(N,)`` log-odds and ``(N, F)`` pooled features of one view each."""
        odds, feats = [], []
        for s in range(0, len(images), self.batch_size):
            logits, features = self.clf.run(self._prepare(images[s : s + self.batch_size]))
            odds.append(self.clf.log_odds(logits))
            feats.append(pool_features(features))
        return np.concatenate(odds), np.concatenate(feats)

    def tta(self, images) -> tuple[np.ndarray, np.ndarray]:
        """``(N, 8)`` log-odds of the views and ``(N, F)`` pooled features of view 0."""
        step = max(1, self.batch_size // N_VIEWS)
        parts = [
            run_views(self.clf, self._prepare(images[s : s + step]))
            for s in range(0, len(images), step)
        ]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(y, score))


def _rate(flags) -> float:
    flags = np.asarray(flags, dtype=bool)
    return float(flags.mean()) if flags.size else float("nan")


# === TTA ===


def _tta_report(clf, y_val, tta_val, y_test, odds_test, tta_test, samples) -> dict[str, Any]:
    from skinapp.model.calibration import fit_calibration
    from skinapp.model.grading import (
        choose_thresholds,
        grade_table,
        sensitivity_at_t1,
        specificity_at_t2,
    )
    from skinapp.model.metrics import summarize

    targets = json.loads((clf.model_dir / "calibration.json").read_text()).get(
        "threshold_targets", {}
    )
    calibration = fit_calibration(tta_val.mean(axis=1), y_val, "platt")
    thresholds = choose_thresholds(y_val, calibration.apply(tta_val.mean(axis=1)), **targets)

    def report(p, th):
        out = summarize(y_test, p, th.operating, n_boot=1000, seed=0)
        out["sensitivity_at_t1"] = sensitivity_at_t1(y_test, p, th.t1)
        out["specificity_at_t2"] = specificity_at_t2(y_test, p, th.t2)
        out["grades"] = grade_table(y_test, p, th).to_dict(orient="records")
        out.pop("confusion_matrix", None)
        return out

    p_single = clf.calibration.apply(odds_test)
    p_tta = calibration.apply(tta_test.mean(axis=1))
    p_tta_single_cal = clf.calibration.apply(tta_test.mean(axis=1))
    views = np.asarray(calibration.apply(tta_test.ravel())).reshape(tta_test.shape)
    spreads = [spread(v, (thresholds.t1, thresholds.t2)) for v in views]
    unstable = np.array([s.unstable for s in spreads])
    width = np.array([s.high - s.low for s in spreads])
    wrong = (np.asarray(p_tta) >= thresholds.operating) != y_test.astype(bool)
    single_report, tta_report = report(p_single, clf.thresholds), report(p_tta, thresholds)
    aucs = [(r.get("roc_auc") or {}).get("auc") for r in (tta_report, single_report)]
    use = (  # no AUC (too few lesions of a class to measure it): keep the single view
        None not in aucs and aucs[0] > aucs[1] and tta_report["brier"] <= single_report["brier"]
    )
    return {
        "model_version": clf.version,
        "calibration": calibration.to_dict(),
        "thresholds": thresholds.to_dict(),
        "threshold_targets": targets,
        "n_views": N_VIEWS,
        "views": "the 8 symmetries of the square (4 quarter turns x mirror), one batch",
        "used_in_app": bool(use),
        "test": tta_report,
        "single_view_test": single_report,
        "tta_with_single_view_calibration": {
            "ece": float(_ece(y_test, p_tta_single_cal)),
            "brier": float(np.mean((np.asarray(p_tta_single_cal) - y_test) ** 2)),
            "note": "TTA means under the single-view Platt map: averaging shrinks log-odds, "
            "so the map must be refitted on validation TTA outputs",
        },
        "interval": {
            "definition": "lowest to highest calibrated probability over the 8 views",
            "median_width": float(np.median(width)),
            "p90_width": float(np.quantile(width, 0.9)),
            "share_unstable": _rate(unstable),
            "error_rate_unstable": _rate(wrong[unstable]),
            "error_rate_stable": _rate(wrong[~unstable]),
        },
        "latency_ms": _latency(clf, samples),
    }


def _ece(y, p) -> float:
    from skinapp.model.metrics import expected_calibration_error

    return expected_calibration_error(y, p)


def _latency(clf, samples: list[np.ndarray], repeats: int = 20) -> dict[str, float]:
    """Median ms of ``predict`` (one view) and ``predict(tta=True)`` on the bundled samples."""
    out = {}
    for name, tta in (("single_view", False), ("tta", True)):
        clf.predict(samples[0], tta=tta)  # warm up (tensor allocation)
        times = []
        for i in range(repeats):
            t0 = time.perf_counter()
            clf.predict(samples[i % len(samples)], tta=tta)
            times.append((time.perf_counter() - t0) * 1000)
        out[f"{name}_median"] = float(np.median(times))
    out["note"] = "on the measuring machine, shared CPU; predict includes resizing and heat map"
    return out


# === OOD ===


def _ood_sets(rng: np.random.Generator, test_images: list[np.ndarray]) -> dict[str, list]:
    import skimage.data

    photos = natural_photos()
    crops = [c for im in photos.values() for c in _random_crops(im, CROPS_PER_PHOTO, rng)]
    medical = [as_rgb(getattr(skimage.data, n)()) for n in _MEDICAL]
    faces = [as_rgb(f) for f in skimage.data.lfw_subset()[:100]]
    graphics = [as_rgb(getattr(skimage.data, n)()) for n in _GRAPHICS]
    synthetic = {
        "flat": [degrade.flat_image(rng) for _ in range(25)],
        "noise": [degrade.noise_image(rng) for _ in range(25)],
        "text": [degrade.text_image(rng) for _ in range(25)],
        "document": [degrade.document_image(rng) for _ in range(25)],
    }
    picks = rng.choice(len(test_images), min(100, len(test_images)), replace=False)
    lesions = [test_images[i] for i in picks]
    return {
        "natural_photos": list(photos.values()),
        "natural_photo_crops": crops,
        "medical_microscopy": medical,
        "faces_lfw": faces,
        "graphics": graphics,
        **{f"synthetic_{k}": v for k, v in synthetic.items()},
        "synthetic_all": [im for v in synthetic.values() for im in v],
        "degraded_blur_sigma6": [degrade.gaussian_blur(im, 6.0) for im in lesions],
        "degraded_gamma4": [degrade.gamma(im, 4.0) for im in lesions],
        "degraded_gamma0.2": [degrade.gamma(im, 0.2) for im in lesions],
        "degraded_noise60": [
            np.clip(im + rng.normal(0, 60, im.shape), 0, 255).astype(np.uint8) for im in lesions
        ],
    }


# === Quality ===


def _check_flags(images, masks=None, features=None, detector=None) -> dict[str, np.ndarray]:
    """``{check: (N,) bool failed}`` plus ``"any"``; ``features`` (N, F) feed ``detector``."""
    reports = [
        check_quality(
            im,
            None if masks is None else masks[i],
            detector=detector,
            features=None if features is None else features[i],
        )
        for i, im in enumerate(images)
    ]
    flags = {name: np.array([not r[name].passed for r in reports]) for name in CHECK_NAMES}
    flags["any"] = np.array([not r.ok for r in reports])
    return flags


def _rates(flags: dict[str, np.ndarray]) -> dict[str, float]:
    return {name: _rate(v) for name, v in flags.items()}


def _described(runner, images) -> tuple[np.ndarray, np.ndarray]:
    """``(stats, pooled features)`` of ``images`` and, stacked under them, of their JPEG copies."""
    images = [*images, *(degrade.jpeg(im, JPEG_QUALITY) for im in images)]
    return np.stack([photo_stats(im) for im in images]), runner.single(images)[1]


def _fit_photometric(runner, val_images, groups, version) -> PhotometricDetector:
    """The learned exposure / colour-cast detector, fitted on val and its degraded copies.

    Every photo, original or degraded, is also used after a JPEG round trip, so that the
    regression cannot lean on the histogram gaps a tone curve leaves in decoded pixels.
    """
    degraded = {
        condition: [_described(runner, [f(im, lv) for im in val_images]) for _, f, lv in recipes]
        for condition, recipes in TRAINING_DEGRADATIONS.items()
    }
    stats, features = _described(runner, val_images)
    return fit_photometric(stats, features, degraded, np.tile(groups, 2), model_version=version)


def _quality_report(
    runner, val_images, test_images, y_test, odds_test, test_feats, detector, rng
) -> dict[str, Any]:
    from skinapp.vision.segment import segment_lesion

    base_auc = _auc(y_test, odds_test)
    families: dict[str, Any] = {}
    for family, (levels, func, target) in IMAGE_DEGRADATIONS.items():
        rows = []
        for level in levels:
            degraded = [func(im, level) for im in test_images]
            odds, feats = runner.single(degraded)
            flags = _check_flags(degraded, features=feats, detector=detector)
            auc = _auc(y_test, odds)
            rows.append({"level": level, "auc": auc, "auc_drop": base_auc - auc, **_rates(flags)})
            logger.info("quality %s %s: AUC %.4f, %s", family, level, auc, _rates(flags))
        families[family] = _family_summary(rows, target, "test split", len(test_images))
        level = families[family]["auc_drop_level"]
        if level is not None:  # the same photos saved as JPEG after the degradation
            degraded = [degrade.jpeg(func(im, level), JPEG_QUALITY) for im in test_images]
            feats = runner.single(degraded)[1]
            flags = _check_flags(degraded, features=feats, detector=detector)
            families[family][f"detection_at_auc_drop_level_jpeg{JPEG_QUALITY}"] = _rate(
                flags[target]
            )

    subset = rng.choice(len(test_images), min(N_SEGMENT, len(test_images)), replace=False)
    originals = [test_images[i] for i in subset]
    y_sub = y_test[subset]
    masks = [segment_lesion(im).mask for im in originals]
    found = np.array([m.any() for m in masks])
    sub_flags = _check_flags(originals, masks, test_feats[subset], detector)
    sub_auc = _auc(y_sub, odds_test[subset])
    for family, (levels, target) in LESION_DEGRADATIONS.items():
        rows = []
        for level in levels:
            degraded, keep = [], np.flatnonzero(found)
            for j in keep:
                if family == "crop_cut":
                    side = ("left", "right", "top", "bottom")[int(rng.integers(4))]
                    degraded.append(degrade.crop_cut(originals[j], masks[j], level, side))
                else:
                    degraded.append(degrade.zoom_out(originals[j], level, rng))
            new_masks = [segment_lesion(im).mask for im in degraded]
            odds, feats = runner.single(degraded)
            flags = _check_flags(degraded, new_masks, feats, detector)
            auc = _auc(y_sub[keep], odds)
            ref = _auc(y_sub[keep], odds_test[subset][keep])
            rows.append({"level": level, "auc": auc, "auc_drop": ref - auc, **_rates(flags)})
            logger.info("quality %s %s: AUC %.4f, %s", family, level, auc, _rates(flags))
        families[family] = _family_summary(
            rows,
            target,
            f"random subset of {int(found.sum())} test images with a lesion found",
            int(found.sum()),
        )
    resaved = [degrade.jpeg(im, JPEG_QUALITY) for im in test_images]
    resaved_flags = _check_flags(resaved, None, runner.single(resaved)[1], detector)
    return {
        "test_auc_original": base_auc,
        "false_alarms_test": {
            **{
                k: v
                for k, v in _rates(_check_flags(test_images, None, test_feats, detector)).items()
                if k != "any"
            },
            **{k: _rate(sub_flags[k]) for k in ("border", "size")},
            "any": _rate(sub_flags["any"]),
            "n_image_checks": len(test_images),
            "n_lesion_checks": len(originals),
            "note": "focus, exposure and colour cast on every test photo; border, size and "
            f"'any' on the segmented subset (AUC there {sub_auc:.3f})",
        },
        f"false_alarms_test_jpeg{JPEG_QUALITY}": _rates(resaved_flags),
        "false_alarms_val": {
            **{k: v for k, v in _rates(_check_flags(val_images)).items() if k not in ("any",)},
            "n": len(val_images),
            "note": "tuning split, image-level checks, fixed rules (the fallback); the learned "
            "exposure / colour-cast detector's out-of-fold val rates are under 'photometric'",
        },
        "photometric": {
            "used": detector is not None,
            "method": "logistic regression per condition on photo statistics + the model's "
            "pooled features; every val photo, original or degraded, used as decoded and after "
            f"a JPEG (quality {JPEG_QUALITY}) round trip; thresholds from lesion-grouped "
            "5-fold out-of-fold scores of the original val photos",
            "trained_on": {
                c: [f"{name} {level}" for name, _, level in recipes]
                for c, recipes in TRAINING_DEGRADATIONS.items()
            },
            "false_alarm_rate_targets": FALSE_ALARM_RATE,
            "val_out_of_fold": None if detector is None else detector.summary,
        },
        "no_lesion_found_test_subset": _rate(~found),
        "degradations": families,
        "auc_drop_threshold": AUC_DROP,
    }


def _family_summary(rows: list[dict], target: str, population: str, n: int) -> dict[str, Any]:
    """Rows per level, and the first level where the AUC dropped by more than AUC_DROP."""
    critical = next((r for r in rows if r["auc_drop"] > AUC_DROP), None)
    return {
        "check": target,
        "population": population,
        "n": n,
        "levels": rows,
        "auc_drop_level": None if critical is None else critical["level"],
        "detection_at_auc_drop_level": None if critical is None else critical[target],
        "any_check_at_auc_drop_level": None if critical is None else critical["any"],
    }


# === Entry point ===


def run_trust(
    data_dir: str | Path,
    model_dir: str | Path,
    *,
    seed: int = 0,
    batch_size: int = 64,
    command: str = "",
) -> dict[str, Any]:
    """Fit the OOD detector and TTA calibration, measure everything, write the files.

    Writes ``ood.npz`` and ``trust.json`` into ``model_dir`` and returns the latter's content.
    """
    from skinapp.io import read_image
    from skinapp.model.data import binary_labels, image_path, read_metadata
    from skinapp.model.report import _jsonable
    from skinapp.serving import Classifier

    t_start = time.time()
    data_dir, model_dir = Path(data_dir), Path(model_dir)
    clf = Classifier(model_dir)
    runner = _Runner(clf, batch_size)
    meta = read_metadata(data_dir)
    parts = {s: meta[meta["split"] == s].reset_index(drop=True) for s in ("train", "val", "test")}

    def images(split):
        return [read_image(image_path(data_dir, i)) for i in parts[split]["image_id"]]

    rng = np.random.default_rng(seed)
    timings = {}
    t0 = time.time()
    val_images, test_images = images("val"), images("test")
    tta_val, _ = runner.tta(val_images)
    tta_test, test_feats = runner.tta(test_images)
    timings["features_s"] = time.time() - t0
    y_val, y_test = binary_labels(parts["val"]), binary_labels(parts["test"])
    odds_test = tta_test[:, 0]  # view 0 is the unrotated, validated single-view input

    t0 = time.time()
    lesions = parts["val"]["lesion_id"].fillna(parts["val"]["image_id"]).to_numpy()
    photometric = _fit_photometric(runner, val_images, lesions, clf.version)
    photometric.save(model_dir / PHOTOMETRIC_FILE)
    timings["photometric_fit_s"] = time.time() - t0

    samples = [read_image(p) for p in sorted((Path(__file__).parent / "samples").glob("*.jpg"))]
    tta = _tta_report(clf, y_val, tta_val, y_test, odds_test, tta_test, samples)
    t0 = time.time()
    quality = _quality_report(
        runner, val_images, test_images, y_test, odds_test, test_feats, photometric, rng
    )
    quality["thresholds"] = {
        name: getattr(quality_module, name)
        for name in quality_module.__all__
        if name.isupper() and name != "CHECK_NAMES"
    }
    timings["quality_s"] = time.time() - t0
    timings["total_s"] = time.time() - t_start
    result = _jsonable(
        {
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "model_version": clf.version,
            "command": command
            or f"python -m skinapp.evaluate --data {data_dir} --model-dir {model_dir} --trust",
            "seed": seed,
            "quality": quality,
            "ood": {},  # filled in by skinapp.measure_loso (evaluate --trust runs it next)
            "tta": tta,
            "timings": {k: round(v, 1) for k, v in timings.items()},
        }
    )
    (model_dir / TRUST_FILE).write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    logger.info(
        "Wrote %s, %s and %s in %.0f s",
        model_dir / TRUST_FILE,
        OOD_FILE,
        PHOTOMETRIC_FILE,
        timings["total_s"],
    )
    return result
