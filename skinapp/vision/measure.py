"""Measure lesion segmentation and hair removal against ground truth.

Run as (``make segment-metrics``)::

    python -m skinapp.vision.measure --data ../shared/data/derm \\
        --out models/segmentation_metrics.json

**Segmentation.** Every image of the dataset with a ground-truth mask (``has_mask == 1`` in
``metadata.csv``) is segmented with the classical
:func:`~skinapp.vision.segment.segment_lesion`, once as it is and once after
:func:`~skinapp.vision.hair.remove_hair`, and with the learned segmenter
(:mod:`skinapp.vision.learned`, ``learned``) when ``--model-dir`` holds ``segmenter.tflite``.
Per image the Jaccard index ``|P ∩ G| / |P ∪ G|`` and the Dice coefficient ``2 |P ∩ G| / (|P| +
|G|)`` are computed (1 when both masks are empty); the file reports their mean and median, the
share of images with Jaccard < 0.65 (the ISIC challenge's "failure" threshold) and the
*thresholded Jaccard* of ISIC 2018 (per-image Jaccard, counted as 0 below 0.65), over all masked
images, over the ``train``+``val`` images the parameters were tuned on, over ``test`` alone, and
per dataset and split.

**Hair removal.** Images on which :func:`~skinapp.vision.hair.detect_hair` finds less than
0.5 % hair are drawn at random (``--seed``); synthetic hairs are painted on them (cubic
Bézier curves across the image, 1-4 px wide at 224 px, dark brown to black, 2-12 per image)
and :func:`~skinapp.vision.hair.remove_hair` is run on the result. The detected hair mask is
compared with the painted one pixel by pixel: strictly, and with a 1-pixel tolerance (a
detected pixel counts as correct if a painted pixel lies within 1 px of it, in the 3 × 3
neighbourhood, and a painted pixel counts as found if a detected pixel lies within 1 px:
the removal deliberately grows its mask by ``dilate`` px to cover the hairs' soft edges).
Precision, recall and F1 are pooled over all pixels of all images. PSNR (dB, peak 255, over
the whole image) of the restored image against the hair-free original is reported next to
the PSNR of the hairy image against the original (the baseline the removal should beat),
together with the PSNR over the painted pixels only.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import json
import logging
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from skinapp.errors import SkinappError
from skinapp.io import read_image
from skinapp.vision.hair import HairRemovalParams, detect_hair, remove_hair
from skinapp.vision.segment import SegmentParams, segment_lesion

logger = logging.getLogger(__name__)

__all__ = [
    "FAILURE_JACCARD",
    "build_parser",
    "dice",
    "jaccard",
    "main",
    "measure_hair_removal",
    "measure_segmentation",
    "paint_hairs",
    "psnr",
    "summarize",
]

#: ISIC challenge threshold: a segmentation with a lower Jaccard index counts as failed.
FAILURE_JACCARD = 0.65
#: Images on which detect_hair finds less than this share of hair count as hair-free.
HAIR_FREE_SHARE = 0.005


# === Metrics ===


def jaccard(pred: np.ndarray, truth: np.ndarray) -> float:
    """Jaccard index ``|P ∩ G| / |P ∪ G|`` of two (H, W) bool masks (1.0 if both empty)."""
    union = np.count_nonzero(pred | truth)
    return 1.0 if union == 0 else np.count_nonzero(pred & truth) / union


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """Dice coefficient ``2 |P ∩ G| / (|P| + |G|)`` of two (H, W) bool masks (1.0 if both empty)."""
    total = np.count_nonzero(pred) + np.count_nonzero(truth)
    return 1.0 if total == 0 else 2 * np.count_nonzero(pred & truth) / total


def psnr(image: np.ndarray, reference: np.ndarray, where: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB (peak 255) of ``image`` against ``reference``.

    Parameters
    ----------
    image, reference : (H, W, 3) ndarray of uint8
        Images of the same shape.
    where : (H, W) ndarray of bool, optional
        Only these pixels are compared (all by default).

    Returns
    -------
    float
        ``10 log10(255² / MSE)``; ``inf`` for identical images, ``nan`` for an empty ``where``.
    """
    diff = image.astype(np.float64) - reference.astype(np.float64)
    if where is not None:
        if not where.any():
            return float("nan")
        diff = diff[where]
    mse = float(np.mean(diff**2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def summarize(scores: pd.DataFrame) -> dict[str, Any]:
    """Summary statistics of per-image ``jaccard`` and ``dice`` columns.

    Returns
    -------
    dict
        ``n``, ``mean_jaccard``, ``median_jaccard``, ``mean_dice``, ``median_dice``,
        ``share_jaccard_below_0.65``, ``thresholded_jaccard`` (ISIC 2018: Jaccard below 0.65
        counted as 0), ``found_rate`` and ``touches_border_rate`` where those columns exist.
    """
    n = len(scores)
    if n == 0:
        return {"n": 0}
    j, d = scores["jaccard"].to_numpy(), scores["dice"].to_numpy()
    out: dict[str, Any] = {
        "n": n,
        "mean_jaccard": _r(j.mean()),
        "median_jaccard": _r(np.median(j)),
        "mean_dice": _r(d.mean()),
        "median_dice": _r(np.median(d)),
        f"share_jaccard_below_{FAILURE_JACCARD}": _r((j < FAILURE_JACCARD).mean()),
        "thresholded_jaccard": _r(np.where(j < FAILURE_JACCARD, 0.0, j).mean()),
    }
    for column, key in (("found", "found_rate"), ("touches_border", "touches_border_rate")):
        if column in scores:
            out[key] = _r(scores[column].mean())
    return out


def _r(value: float) -> float | None:
    """``value`` rounded to 4 decimals; None for NaN or infinity (not valid JSON)."""
    value = float(value)
    return round(value, 4) if np.isfinite(value) else None


# === Segmentation ===

#: The name the model card reads these scores from (``models/segmentation_metrics.json``).
CARD_FILE_NAME = "segmentation_metrics.json"
#: What each split's scores mean (written beside them): only ``test`` is held out.
SPLIT_ROLES = {
    "test": "held out, the headline: never used for training or tuning",
    "val": "tuning: the learned segmenter's epoch, threshold and uncertainty cut-off, "
    "and the classical parameters",
    "train": "training: the learned segmenter learnt these masks (the classical parameters "
    "were tuned on them too), so its scores here are optimistic",
    "all, train_val": "pools of the splits scored (train_val: train and val); not held out",
}


@functools.lru_cache(maxsize=2)
def _segmenter(model_dir: str | None):
    """The learned segmenter of ``model_dir`` loaded once per process (None: not measured)."""
    if model_dir is None:
        return None
    from skinapp.vision.learned import load_segmenter

    return load_segmenter(model_dir, num_threads=1)


def _score_one(task: tuple) -> dict[str, Any]:
    """Segment one image (classical with and without hair removal, and learned when a
    segmenter is given) and score each against its mask."""
    image_id, image_path, mask_path, seg_params, hair_params, model_dir, classical = task
    image = read_image(image_path)
    truth = cv2.imread(mask_path, cv2.IMREAD_GRAYSCALE)
    if truth is None:
        raise FileNotFoundError(f"Cannot read the mask {mask_path}")
    if truth.shape != image.shape[:2]:
        logger.warning("%s: mask %s resized to the image %s", image_id, truth.shape, image.shape)
        truth = cv2.resize(truth, image.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    truth = truth > 127
    row: dict[str, Any] = {"image_id": image_id}
    for tag, hair in (("plain", False), ("hair", True)):
        if tag not in classical:
            continue
        start = time.perf_counter()
        source = remove_hair(image, hair_params).image if hair else image
        seg = segment_lesion(source, seg_params)
        row[f"{tag}_ms"] = (time.perf_counter() - start) * 1000
        row[f"{tag}_jaccard"] = jaccard(seg.mask, truth)
        row[f"{tag}_dice"] = dice(seg.mask, truth)
        row[f"{tag}_found"] = seg.found
        row[f"{tag}_touches_border"] = seg.touches_border
    segmenter = _segmenter(model_dir)
    if segmenter is not None:
        from skinapp.vision.learned import outline_lesion

        start = time.perf_counter()
        seg = outline_lesion(image, SegmentParams(method="learned"), segmenter)
        row["learned_ms"] = (time.perf_counter() - start) * 1000
        row["learned_jaccard"] = jaccard(seg.mask, truth)
        row["learned_dice"] = dice(seg.mask, truth)
        row["learned_found"] = seg.found
        row["learned_touches_border"] = seg.touches_border
        row["learned_confidence"] = seg.confidence
    return row


def _score_many(tasks: list) -> list[dict[str, Any]]:
    return [_score_one(task) for task in tasks]


def measure_segmentation(
    data: Path,
    seg_params: SegmentParams = SegmentParams(),  # noqa: B008
    hair_params: HairRemovalParams = HairRemovalParams(),  # noqa: B008
    *,
    jobs: int = 1,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
    model_dir: str | Path | None = None,
    splits: Sequence[str] | None = None,
    classical: Sequence[str] = ("plain", "hair"),
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Segment every masked image of a derm-layout dataset and score it.

    Parameters
    ----------
    data : Path
        Folder with ``metadata.csv``, ``images/<image_id>.jpg`` and ``masks/<image_id>.png``.
    seg_params, hair_params : SegmentParams, HairRemovalParams
        Parameters of the segmentation and of the hair removal run before it.
    jobs : int
        1 (one process) or 2 (the main process and one worker, each half the images).
    limit : int, optional
        Score only the first ``limit`` masked images (for quick checks).
    progress : callable, optional
        Called with the number of images just finished.
    model_dir : path, optional
        Folder with ``segmenter.tflite``: the learned segmenter is scored too (``learned``).
    splits : sequence of str, optional
        Score only the masked images of these splits (default: all).
    classical : sequence of str
        Classical variants to score: ``"plain"`` (as is), ``"hair"`` (after hair removal).

    Returns
    -------
    summary : dict
        ``without_hair_removal`` and ``with_hair_removal`` (classical), and ``learned``
        when a segmenter was found, each with ``all``, ``train_val``,
        ``test``, ``by_split``, ``by_dataset`` and ``by_dataset_split`` summaries (see
        :func:`summarize`), and ``timing_ms_per_image``.
    scores : pandas.DataFrame
        One row per image with its metadata and per-image scores.
    """
    meta = pd.read_csv(data / "metadata.csv")
    meta = meta[meta["has_mask"] == 1].reset_index(drop=True)
    if splits:
        meta = meta[meta["split"].isin(list(splits))].reset_index(drop=True)
    if limit is not None:
        meta = meta.head(limit)
    tasks = [
        (
            row.image_id,
            str(data / "images" / f"{row.image_id}.jpg"),
            str(data / "masks" / f"{row.image_id}.png"),
            seg_params,
            hair_params,
            None if model_dir is None else str(model_dir),
            tuple(classical),
        )
        for row in meta.itertuples()
    ]
    rows = _run(tasks, jobs, progress)
    scores = meta[["image_id", "dataset", "split"]].merge(pd.DataFrame(rows), on="image_id")
    summary: dict[str, Any] = {}
    methods = [
        (tag, key)
        for tag, key in (("plain", "without_hair_removal"), ("hair", "with_hair_removal"))
        if tag in classical
    ]
    if "learned_jaccard" in scores:
        methods.append(("learned", "learned"))
    for tag, key in methods:
        view = scores[["dataset", "split"]].copy()
        for metric in ("jaccard", "dice", "found", "touches_border"):
            view[metric] = scores[f"{tag}_{metric}"]
        summary[key] = {
            "all": summarize(view),
            "train_val": summarize(view[view["split"].isin(["train", "val"])]),
            "test": summarize(view[view["split"] == "test"]),
            "by_split": {s: summarize(g) for s, g in view.groupby("split")},
            "by_dataset": {d: summarize(g) for d, g in view.groupby("dataset")},
            "by_dataset_split": {
                f"{d}/{s}": summarize(g) for (d, s), g in view.groupby(["dataset", "split"])
            },
        }
        ms = scores[f"{tag}_ms"]
        summary[key]["timing_ms_per_image"] = {"mean": _r(ms.mean()), "median": _r(ms.median())}
    return summary, scores


def _run(tasks: list, jobs: int, progress: Callable[[int], None] | None) -> list[dict[str, Any]]:
    """Score ``tasks`` in this process, handing the second half to one worker if jobs == 2."""
    if jobs <= 1 or len(tasks) < 8:
        rows = []
        for task in tasks:
            rows.append(_score_one(task))
            if progress:
                progress(1)
        return rows
    half = len(tasks) // 2
    chunks = [tasks[i : i + 50] for i in range(half, len(tasks), 50)]
    with ProcessPoolExecutor(max_workers=1) as pool:
        futures = [pool.submit(_score_many, chunk) for chunk in chunks]
        rows = []
        for task in tasks[:half]:
            rows.append(_score_one(task))
            if progress:
                progress(1)
        for future, chunk in zip(futures, chunks, strict=True):
            rows.extend(future.result())
            if progress:
                progress(len(chunk))
    return rows


# === Hair removal ===


def paint_hairs(
    image: np.ndarray, rng: np.random.Generator, *, n_hairs: tuple[int, int] = (2, 12)
) -> tuple[np.ndarray, np.ndarray]:
    """Paint random synthetic hairs on a copy of ``image``.

    Each hair is a cubic Bézier curve between two random points on the image border (or
    one on the border and one inside, for hairs that end on the skin), 1-4 px wide at a
    224-px long side (scaled with the image), dark brown to black with a slightly varying
    shade along its length.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        Hair-free RGB image.
    rng : numpy.random.Generator
        Source of randomness (seeded by the caller).
    n_hairs : (int, int)
        Inclusive range of the number of hairs.

    Returns
    -------
    hairy : (H, W, 3) ndarray of uint8
        The image with hairs.
    mask : (H, W) ndarray of bool
        True on the painted hair pixels.
    """
    h, w = image.shape[:2]
    scale = max(h, w) / 224
    hairy = image.copy()
    mask = np.zeros((h, w), bool)
    for _ in range(int(rng.integers(n_hairs[0], n_hairs[1] + 1))):
        width = max(1, round(int(rng.integers(1, 5)) * scale))
        start = _border_point(rng, w, h)
        end = _border_point(rng, w, h) if rng.random() < 0.7 else rng.uniform((0, 0), (w, h))
        ctrl = rng.uniform((-0.2 * w, -0.2 * h), (1.2 * w, 1.2 * h), size=(2, 2))
        t = np.linspace(0, 1, 200)[:, None]
        points = (
            (1 - t) ** 3 * start
            + 3 * (1 - t) ** 2 * t * ctrl[0]
            + 3 * (1 - t) * t**2 * ctrl[1]
            + t**3 * end
        )
        one = np.zeros((h, w), np.uint8)
        cv2.polylines(one, [np.round(points).astype(np.int32)], False, 1, width, cv2.LINE_8)
        one = one.astype(bool)
        base = np.array([rng.uniform(15, 70), rng.uniform(10, 50), rng.uniform(5, 40)])
        shade = rng.normal(0, 6, size=(int(one.sum()), 1))
        hairy[one] = np.clip(base + shade, 0, 255).astype(np.uint8)
        mask |= one
    return hairy, mask


def _border_point(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    side = int(rng.integers(4))
    u = rng.random()
    return np.array(
        [(u * w, 0.0), (u * w, h - 1.0), (0.0, u * h), (w - 1.0, u * h)][side], dtype=float
    )


def measure_hair_removal(
    data: Path,
    hair_params: HairRemovalParams = HairRemovalParams(),  # noqa: B008
    *,
    n_images: int = 200,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Paint synthetic hairs on hair-free images and score :func:`remove_hair` on them.

    Parameters
    ----------
    data : Path
        Folder with ``metadata.csv`` and ``images/`` (derm layout).
    hair_params : HairRemovalParams
        Parameters of the hair removal under test.
    n_images : int
        Number of hair-free images to use.
    seed : int
        Seed of the image draw and of the painted hairs.
    progress : callable, optional
        Called with the number of images just finished.

    Returns
    -------
    dict
        Pooled pixel ``precision``, ``recall`` and ``f1`` (strict and with 1-px tolerance),
        PSNR means (restored and hairy vs original; whole image and painted pixels), the
        number of images examined and used, and the share of hair detected on the clean
        originals.
    """
    meta = pd.read_csv(data / "metadata.csv")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(meta))
    tp = fp = fn = tp_tol_pred = tp_tol_truth = n_pred = n_truth = 0
    psnr_restored, psnr_hairy, psnr_restored_hair, psnr_hairy_hair = [], [], [], []
    clean_share, examined, used = [], 0, []
    cross = np.ones((3, 3), np.uint8)
    for index in order:
        if len(used) >= n_images:
            break
        image_id = meta.loc[index, "image_id"]
        examined += 1
        try:
            image = read_image(data / "images" / f"{image_id}.jpg")
        except (SkinappError, OSError) as err:  # a bad file is skipped, not fatal
            logger.warning("Skipping %s: %s", image_id, err)
            continue
        share = float(detect_hair(image, hair_params).mean())
        if share >= HAIR_FREE_SHARE:
            continue
        clean_share.append(share)
        used.append(image_id)
        hairy, truth = paint_hairs(image, rng)
        result = remove_hair(hairy, hair_params)
        pred = result.mask
        tp += int(np.count_nonzero(pred & truth))
        fp += int(np.count_nonzero(pred & ~truth))
        fn += int(np.count_nonzero(~pred & truth))
        near_truth = cv2.dilate(truth.astype(np.uint8), cross) > 0
        near_pred = cv2.dilate(pred.astype(np.uint8), cross) > 0
        tp_tol_pred += int(np.count_nonzero(pred & near_truth))
        tp_tol_truth += int(np.count_nonzero(truth & near_pred))
        n_pred += int(np.count_nonzero(pred))
        n_truth += int(np.count_nonzero(truth))
        psnr_restored.append(psnr(result.image, image))
        psnr_hairy.append(psnr(hairy, image))
        psnr_restored_hair.append(psnr(result.image, image, truth))
        psnr_hairy_hair.append(psnr(hairy, image, truth))
        if progress:
            progress(1)

    def prf(tp_p: int, tp_t: int) -> dict[str, float]:
        precision = tp_p / n_pred if n_pred else 0.0
        recall = tp_t / n_truth if n_truth else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": _r(precision), "recall": _r(recall), "f1": _r(f1)}

    return {
        "n_images": len(used),
        "n_examined": examined,
        "seed": seed,
        "hair_free_rule": f"detect_hair finds < {HAIR_FREE_SHARE:.1%} hair",
        "synthetic_hairs": "2-12 cubic Bezier curves per image, 1-4 px wide at 224 px, "
        "RGB about (15-70, 10-50, 5-40) with per-pixel shade noise",
        "pixels": {"painted": n_truth, "detected": n_pred},
        "strict": prf(tp, tp),
        "tolerance_1px": prf(tp_tol_pred, tp_tol_truth),
        "psnr_db": {
            "restored_vs_original": _mean_finite(psnr_restored),
            "hairy_vs_original": _mean_finite(psnr_hairy),
            "restored_vs_original_on_hair_pixels": _mean_finite(psnr_restored_hair),
            "hairy_vs_original_on_hair_pixels": _mean_finite(psnr_hairy_hair),
        },
        "hair_share_detected_on_clean_originals": _r(np.mean(clean_share)) if used else None,
    }


def _mean_finite(values: list[float]) -> float | None:
    """Mean of the finite values (a perfect restoration has an infinite PSNR), or None."""
    finite = [v for v in values if np.isfinite(v)]
    return _r(np.mean(finite)) if finite else None


# === Command line ===


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m skinapp.vision.measure",
        description="Score lesion segmentation (Jaccard, Dice) against the ground-truth masks "
        "and hair removal on synthetic hairs; write the results as JSON.",
    )
    parser.add_argument("--data", type=Path, required=True, help="derm dataset folder")
    parser.add_argument(
        "--out", type=Path, default=Path("models/segmentation_metrics.json"), help="JSON file"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the hair-removal test")
    parser.add_argument(
        "--hair-images", type=int, default=200, help="hair-free images for the hair test"
    )
    parser.add_argument(
        "--jobs", type=int, choices=(1, 2), default=2, help="processes (2 = one extra worker)"
    )
    parser.add_argument("--limit", type=int, default=None, help="score only N masked images")
    parser.add_argument(
        "--splits", nargs="+", default=None, help="score only these splits (default: all)"
    )
    parser.add_argument(
        "--classical",
        choices=("both", "hair", "plain"),
        default="both",
        help="classical variants scored beside the learned one (default: both)",
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path("models"),
        help="folder with segmenter.tflite: the learned segmenter is scored beside the "
        "classical method (default: models)",
    )
    parser.add_argument(
        "--per-image", type=Path, default=None, help="also write per-image scores (CSV)"
    )
    return parser


def _segmenter_info(model_dir: Path) -> dict[str, Any] | None:
    path = model_dir / "segmenter.json"
    if not (model_dir / "segmenter.tflite").is_file() or not path.is_file():
        return None
    info = json.loads(path.read_text())
    return {"file": str(model_dir / "segmenter.tflite"), **info}


def _refresh_card(out: Path, model_dir: Path) -> None:
    """Re-render ``MODEL_CARD.md`` when ``out`` is the model's file (the card quotes it)."""
    if out.resolve() != (model_dir / out.name).resolve() or out.name != CARD_FILE_NAME:
        return
    from skinapp.model.card import refresh_model_card

    refresh_model_card(model_dir)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurements and write the JSON file; return 0, or 2 on bad input."""
    args = build_parser().parse_args(argv)
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    if not (args.data / "metadata.csv").is_file():
        console.print(f"[red]No metadata.csv in {args.data}: expected a derm-layout dataset.")
        return 2
    seg_params, hair_params = SegmentParams(), HairRemovalParams()
    n_masked = int((pd.read_csv(args.data / "metadata.csv")["has_mask"] == 1).sum())
    if args.limit is not None:
        n_masked = min(n_masked, args.limit)
    start = time.perf_counter()
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("Segmenting", total=n_masked)
        segmentation, scores = measure_segmentation(
            args.data,
            seg_params,
            hair_params,
            jobs=args.jobs,
            limit=args.limit,
            progress=lambda k: bar.advance(task, k),
            model_dir=args.model_dir if (args.model_dir / "segmenter.tflite").is_file() else None,
            splits=args.splits,
            classical=("plain", "hair") if args.classical == "both" else (args.classical,),
        )
        task = bar.add_task("Hair removal", total=args.hair_images)
        hair = measure_hair_removal(
            args.data,
            hair_params,
            n_images=args.hair_images,
            seed=args.seed,
            progress=lambda k: bar.advance(task, k),
        )
    plain = segmentation.get("without_hair_removal", {}).get("train_val", {}).get("mean_jaccard")
    with_hair = segmentation.get("with_hair_removal", {}).get("train_val", {}).get("mean_jaccard")
    report = {
        "command": "python -m skinapp.vision.measure "
        + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data": str(args.data),
        "seed": args.seed,
        "runtime_s": round(time.perf_counter() - start, 1),
        "environment": {
            "python": platform.python_version(),
            "opencv": cv2.__version__,
            "numpy": np.__version__,
        },
        "tuning": "SegmentParams defaults were tuned on the train and val images only; "
        "the learned segmenter was trained on the train masks, its epoch and threshold "
        "chosen on the val masks; 'test' is reported separately and was never used for "
        "tuning or training.",
        "shipped_method": "learned" if "learned" in segmentation else "classical",
        "segmenter": _segmenter_info(args.model_dir),
        "segment_params": dataclasses.asdict(seg_params),
        "hair_removal_params": dataclasses.asdict(hair_params),
        "segmentation": segmentation,
        "splits": args.splits or "all",
        "split_roles": SPLIT_ROLES,
        "hair_removal_before_segmentation_helps_on_train_val": None
        if plain is None or with_hair is None
        else bool(with_hair > plain),
        "hair_removal": hair,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    if args.per_image:
        scores.to_csv(args.per_image, index=False)
    _refresh_card(args.out, args.model_dir)
    for key in segmentation:
        by_split = segmentation[key]["by_split"]
        console.print(
            f"{key}: mean / thresholded Jaccard "
            + ", ".join(
                f"{split} {by_split[split].get('mean_jaccard')} / "
                f"{by_split[split].get('thresholded_jaccard')}"
                for split in ("test", "val", "train")
                if split in by_split
            )
        )
    psnr_db = hair["psnr_db"]
    console.print(
        f"hair removal: F1 (1 px) {hair['tolerance_1px']['f1']}, PSNR "
        f"{psnr_db['restored_vs_original']} dB (hairy {psnr_db['hairy_vs_original']} dB)"
    )
    console.print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    from skinapp.logs import setup_logging

    setup_logging()
    sys.exit(main())
