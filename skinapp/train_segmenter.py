"""``python -m skinapp.train_segmenter``: train the learned lesion segmenter (MobileNetV2 U-Net).

Example (this machine, offline ImageNet weights)::

    python -m skinapp.train_segmenter --data ../shared/data/derm \\
        --backbone-weights ../shared/pretrained/mobilenet_v2_1.0_224_no_top.weights.h5 \\
        --out runs/seg

Learns from the **train**-split masks (``metadata.csv``: ``has_mask == 1``), with flips, quarter
turns, random zoom/shift (zooming out adds a black dermoscope-like frame) and colour jitter;
after every epoch it scores the **val**-split masks at each photo's own size and keeps the
epoch with the best val thresholded Jaccard. The probability threshold is then tuned on val.
``test`` is never read. Writes to ``--out``: ``segmenter.keras`` (best epoch),
``segmenter.tflite`` (float16 LiteRT, what the app serves), ``segmenter.json`` (input size,
threshold, "outline uncertain" cut-off, val scores: copy it beside the tflite),
``history.csv`` and ``config.json``. ``--finish-only`` redoes the tuning and export of a
trained ``segmenter.keras``.
Ship with ``cp runs/seg/segmenter.tflite runs/seg/segmenter.json models/``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2
import numpy as np

#: ISIC challenge level: a segmentation with a lower Jaccard index counts as failed.
FAILURE_JACCARD = 0.65


@dataclass(frozen=True)
class SegTrainConfig:
    data: str
    out: str = "runs/seg"
    backbone_weights: str = "../shared/pretrained/mobilenet_v2_1.0_224_no_top.weights.h5"
    input_size: int = 160
    epochs: int = 12
    batch_size: int = 16
    lr: float = 1e-3
    seed: int = 0
    threads: int = 2
    limit: int = 0


def build_parser() -> argparse.ArgumentParser:
    d = SegTrainConfig(data="")
    p = argparse.ArgumentParser(
        prog="python -m skinapp.train_segmenter",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, help="folder with metadata.csv, images/ and masks/")
    p.add_argument("--out", default=d.out, help="output folder")
    p.add_argument(
        "--backbone-weights", default=d.backbone_weights, help="*_no_top.weights.h5 or 'none'"
    )
    p.add_argument(
        "--input-size", type=int, default=d.input_size, help="square input side (multiple of 32)"
    )
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr, help="peak Adam learning rate (cosine decay)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=d.threads, help="TensorFlow CPU threads")
    p.add_argument(
        "--limit", type=int, default=d.limit, help="use at most N images per split (tests)"
    )
    p.add_argument(
        "--finish-only",
        action="store_true",
        help="do not train: tune threshold and uncertainty cut-off of OUT/segmenter.keras on "
        "val and export it",
    )
    return p


def load_split(data: Path, split: str, size: int, limit: int = 0):
    """Images squashed to ``size``², their masks likewise, and the original masks (for scoring)."""
    import pandas as pd

    meta = pd.read_csv(data / "metadata.csv")
    rows = meta[(meta["has_mask"] == 1) & (meta["split"] == split)].sort_values("image_id")
    if limit:
        rows = rows.head(limit)
    images, masks, originals = [], [], []
    for image_id in rows["image_id"]:
        bgr = cv2.imread(str(data / "images" / f"{image_id}.jpg"), cv2.IMREAD_COLOR)
        mask = cv2.imread(str(data / "masks" / f"{image_id}.png"), cv2.IMREAD_GRAYSCALE)
        if bgr is None or mask is None:
            raise SystemExit(f"error: cannot read image or mask of {image_id} under {data}")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        images.append(cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA))
        masks.append(cv2.resize(mask, (size, size), interpolation=cv2.INTER_AREA))
        originals.append(mask > 127)
    return np.stack(images), np.stack(masks), originals, list(rows["image_id"])


def make_dataset(images: np.ndarray, masks: np.ndarray, size: int, batch: int, seed: int):
    """Endless shuffled, augmented ``(pixels, mask)`` batches (TensorFlow ops, CPU)."""
    import tensorflow as tf

    def augment(image, mask):
        image = tf.cast(image, tf.float32)
        mask = tf.cast(mask[..., None], tf.float32) / 255.0
        both = tf.concat([image, mask], axis=-1)
        # Random zoom (side 0.7-1.2 of the photo) and shift; outside the photo is black.
        side = tf.random.uniform([], 0.7, 1.2)
        aspect = tf.exp(tf.random.uniform([], -0.2, 0.2))
        h, w = side * tf.sqrt(aspect), side / tf.sqrt(aspect)
        cy = 0.5 + tf.random.uniform([], -0.15, 0.15)
        cx = 0.5 + tf.random.uniform([], -0.15, 0.15)
        box = tf.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2])[None]
        both = tf.image.crop_and_resize(both[None], box, [0], [size, size])[0]
        both = tf.cond(
            tf.random.uniform([]) < 0.5, lambda: tf.image.flip_left_right(both), lambda: both
        )
        both = tf.image.rot90(both, tf.random.uniform([], 0, 4, tf.int32))
        image, mask = both[..., :3] / 255.0, both[..., 3:]
        image = tf.image.random_hue(image, 0.04)
        image = tf.image.random_saturation(image, 0.7, 1.3)
        image = tf.image.random_brightness(image, 0.12)
        image = tf.image.random_contrast(image, 0.75, 1.25)
        return tf.clip_by_value(image, 0.0, 1.0) * 255.0, mask

    ds = tf.data.Dataset.from_tensor_slices((images, masks))
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).repeat()
    ds = ds.map(augment, num_parallel_calls=1, deterministic=True)
    return ds.batch(batch, drop_remainder=True).prefetch(2)


def predict_probs(model, images: np.ndarray, batch: int = 32, views: int = 1) -> np.ndarray:
    """``(N, S, S)`` maps; with ``views=2`` the mean with the mirror image's (as served)."""
    out = [
        np.asarray(model(images[s : s + batch].astype(np.float32), training=False))[..., 0]
        for s in range(0, len(images), batch)
    ]
    probs = np.concatenate(out)
    if views == 2:
        mirrored = predict_probs(model, images[:, :, ::-1].copy(), batch)
        probs = (probs + mirrored[:, :, ::-1]) / 2
    return probs


def score(probs: np.ndarray, originals: list[np.ndarray], threshold: float) -> np.ndarray:
    """Per-image Jaccard at each photo's own size, cut exactly as the app cuts the map."""
    from skinapp.model.segmenter import jaccard_scores
    from skinapp.vision.learned import mask_from_probability

    return np.array(
        [
            jaccard_scores(mask_from_probability(prob, truth.shape, threshold)[None], truth[None])[
                0
            ]
            for prob, truth in zip(probs, originals, strict=True)
        ]
    )


def tune_min_confidence(confidence: np.ndarray, scores: np.ndarray) -> tuple[float, dict]:
    """The "outline uncertain" cut-off, from the val images.

    Candidates are the 5 %, 10 %, ... 30 % quantiles of the val confidences; the largest one
    below which the flagged images' mean Jaccard is still under the ISIC failure level (0.65)
    is kept, so that the note mostly flags outlines that are off. If none qualifies, the 5 %
    quantile (one image in twenty is flagged).
    """
    chosen = float(np.quantile(confidence, 0.05))
    for q in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3):
        cut = float(np.quantile(confidence, q))
        flagged = confidence < cut
        if flagged.any() and scores[flagged].mean() < FAILURE_JACCARD:
            chosen = cut
    flagged = confidence < chosen
    return round(chosen, 4), {
        "flagged_share": round(float(flagged.mean()), 4),
        "flagged_mean_jaccard": round(float(scores[flagged].mean()), 4) if flagged.any() else None,
        "kept_mean_jaccard": round(float(scores[~flagged].mean()), 4),
    }


def finish(model, out: Path, cfg: SegTrainConfig, va_x, va_truth, extra: dict) -> dict:
    """Tune the threshold and the uncertainty cut-off on val, export LiteRT, write the JSON."""
    from skinapp.model.segmenter import export_segmenter, thresholded_jaccard
    from skinapp.vision.learned import boundary_confidence

    grid = [round(t, 2) for t in np.arange(0.3, 0.71, 0.05)]
    tried = {}
    for views in (1, 2):
        probs = predict_probs(model, va_x, views=views)
        by_t = {t: score(probs, va_truth, t) for t in grid}
        best = max(grid, key=lambda t: (thresholded_jaccard(by_t[t]), by_t[t].mean()))
        tried[views] = (probs, by_t, best)
    # The mirror view doubles the serving cost: keep it only for a clear gain on val.
    gain = thresholded_jaccard(tried[2][1][tried[2][2]]) - thresholded_jaccard(
        tried[1][1][tried[1][2]]
    )
    views = 2 if gain >= 0.005 else 1
    probs, by_t, threshold = tried[views]
    j = by_t[threshold]
    confidence = np.array([boundary_confidence(p) for p in probs])
    min_confidence, flagged = tune_min_confidence(confidence, j)
    export_segmenter(model, out / "segmenter.tflite")
    info = {
        "input_size": cfg.input_size,
        "threshold": threshold,
        "min_confidence": min_confidence,
        "views": views,
        "mirror_view_gain_val_thresholded_jaccard": round(float(gain), 4),
        **extra,
        "val": {
            "n": len(j),
            "mean_jaccard": round(float(j.mean()), 4),
            "thresholded_jaccard": round(thresholded_jaccard(j), 4),
            "uncertain": flagged,
            "by_threshold": {
                str(t): {
                    "mean": round(float(s.mean()), 4),
                    "thresholded": round(thresholded_jaccard(s), 4),
                }
                for t, s in by_t.items()
            },
        },
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seed": cfg.seed,
        "tuning": "epoch, threshold and uncertainty cut-off chosen on the val-split masks; "
        "test never read",
    }
    (out / "segmenter.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    cfg = SegTrainConfig(
        **{f.name: getattr(args, f.name) for f in dataclasses.fields(SegTrainConfig)}
    )
    data, out = Path(cfg.data), Path(cfg.out)
    if not (data / "metadata.csv").is_file():
        print(f"error: {data}/metadata.csv not found (pass --data)", file=sys.stderr)
        return 2
    weights = None if cfg.backbone_weights in ("none", "") else cfg.backbone_weights
    if weights and not Path(weights).is_file():
        print(f"error: backbone weights not found: {weights}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)

    import keras
    import tensorflow as tf

    from skinapp.model.segmenter import build_segmenter, dice_bce_loss, thresholded_jaccard

    try:
        tf.config.threading.set_intra_op_parallelism_threads(cfg.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already ran in this process (a test suite): keep its pool
        print("note: TensorFlow already started; --threads not applied", file=sys.stderr)
    keras.utils.set_random_seed(cfg.seed)
    started = time.time()
    tr_x, tr_y, _, _ = load_split(data, "train", round(cfg.input_size * 1.25), cfg.limit)
    va_x, _, va_truth, _ = load_split(data, "val", cfg.input_size, cfg.limit)
    print(f"train {len(tr_x)} images, val {len(va_x)}", flush=True)
    if not len(tr_x) or not len(va_x):
        print("error: no masked train or val images", file=sys.stderr)
        return 2

    if args.finish_only:  # tune and export an already trained OUT/segmenter.keras
        model = keras.saving.load_model(out / "segmenter.keras", safe_mode=True, compile=False)
        history = list(csv.DictReader((out / "history.csv").read_text().splitlines()))
        best = max(history, key=lambda r: float(r["val_thresholded_jaccard"]))
        info = finish(model, out, cfg, va_x, va_truth, {"best_epoch": int(best["epoch"])})
        print(json.dumps(info["val"] | {"threshold": info["threshold"]}), flush=True)
        return 0
    model = build_segmenter(cfg.input_size, weights)
    steps = max(1, len(tr_x) // cfg.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(
        cfg.lr * 0.1, cfg.epochs * steps, alpha=0.02, warmup_target=cfg.lr, warmup_steps=steps // 2
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=dice_bce_loss)
    ds = make_dataset(tr_x, tr_y, cfg.input_size, cfg.batch_size, cfg.seed)
    config = {
        "command": "python -m skinapp.train_segmenter "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "config": dataclasses.asdict(cfg),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "n_train": len(tr_x),
        "n_val": len(va_x),
        "tuning": "epoch and threshold chosen on the val-split masks; test never read",
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    history, best = [], (-1.0, 0)
    for epoch in range(cfg.epochs):
        t0 = time.time()
        fit = model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0)
        probs = predict_probs(model, va_x)
        j = score(probs, va_truth, 0.5)
        row = {
            "epoch": epoch + 1,
            "loss": round(float(fit.history["loss"][-1]), 4),
            "val_mean_jaccard": round(float(j.mean()), 4),
            "val_thresholded_jaccard": round(thresholded_jaccard(j), 4),
            "seconds": round(time.time() - t0, 1),
        }
        history.append(row)
        print(json.dumps(row), flush=True)
        with open(out / "history.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(row))
            writer.writeheader()
            writer.writerows(history)
        if row["val_thresholded_jaccard"] > best[0]:
            best = (row["val_thresholded_jaccard"], epoch + 1)
            model.save(out / "segmenter.keras")

    model = keras.saving.load_model(out / "segmenter.keras", safe_mode=True, compile=False)
    extra = {"best_epoch": best[1], "training_seconds": round(time.time() - started)}
    info = finish(model, out, cfg, va_x, va_truth, extra)
    config["result"] = info
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    print(json.dumps(info["val"] | {"threshold": info["threshold"]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
