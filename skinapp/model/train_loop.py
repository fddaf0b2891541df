"""Two-stage training of the classifier on cached lower-backbone activations.

Recipe (chosen for a 2-core CPU, measured on the validation split):

1. Every training image is augmented ``views`` times (flips/90° turns, zoom/shift, colour
   jitter); the frozen lower backbone (up to ``cut_layer``) runs once per view and its
   activations are cached on disk (float16, memory-mapped, restartable).
2. Stage 1: the backbone is frozen; the pooled features of every view train the dense head
   (Adam, ``head_lr``).
3. Stage 2: the backbone from ``block_{finetune_from_block}`` on is unfrozen (batch-norm stays
   in inference mode: the shipped ImageNet weights have BN folded) and trained on the cached
   activations, one random view per image per epoch, with early stopping on validation AUC.

The head predicts the diagnosis (``dx``) classes; the malignancy score is the log-odds of the
malignant classes, so the model learns from the richer diagnosis labels while the product
reports benign/malignant.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from skinapp.model.augment import AugmentParams, augment
from skinapp.model.build import (
    ClassifierSpec,
    build_bottom_model,
    build_classifier,
    build_top_model,
    set_trainable_from,
)
from skinapp.model.data import binary_labels, load_model_inputs, read_metadata
from skinapp.model.preprocessing import MODEL_INPUT_SIZE, ModelInputSpec
from skinapp.model.scores import malignant_log_odds

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (saved as ``train_config.json``)."""

    data: str
    out: str = "models"
    backbone_weights: str = "imagenet"
    cache_dir: str = "runs/cache"
    cut_layer: str = "block_5_add"
    finetune_from_block: int = 6
    views: int = 8
    head_epochs: int = 30
    head_lr: float = 1e-4
    finetune_epochs: int = 14
    finetune_lr: float = 1e-4
    batch_size: int = 32
    dropout: float = 0.3
    patience: int = 4
    seed: int = 42
    color_constancy: str = "none"
    input_size: int = MODEL_INPUT_SIZE  # square side the photo is resized to
    mixup_alpha: float = 0.0  # >0: mix pairs of cached activations and labels in stage 2
    label_smoothing: float = 0.0
    average_from: int = 0  # >0: stage 2 also averages the weights of epochs >= this (SWA)
    train_datasets: tuple[str, ...] = field(default_factory=tuple)
    limit: int = 0  # >0: use only this many images per split (smoke tests)
    folds: int = 0  # >1 with ``fold``: cross-validation run on the training split
    fold: int = 0  # which lesion-grouped fold of the training split is held out

    def __post_init__(self) -> None:
        if self.folds and not (self.folds >= 2 and 0 <= self.fold < self.folds):
            raise ValueError(
                f"`folds` must be >= 2 and `fold` in [0, folds). Received: folds={self.folds}, "
                f"fold={self.fold}"
            )

    def input_spec(self) -> ModelInputSpec:
        return ModelInputSpec(size=self.input_size, color_constancy=self.color_constancy)


@dataclass
class SplitData:
    meta: pd.DataFrame
    y_class: np.ndarray  # (N,) int index into classes
    y_binary: np.ndarray  # (N,) 1 = malignant


def select_splits(meta: pd.DataFrame, cfg: TrainConfig) -> dict[str, pd.DataFrame]:
    """Train/val frames per the lesion-grouped ``split`` column (test is never touched here).

    ``cfg.train_datasets`` is applied later, as a row selection in :func:`train`, so that a
    dataset-filtered run reuses the activations cached for the whole training split.
    """
    splits = {}
    for name in ("train", "val"):
        part = meta[meta["split"] == name]
        if cfg.limit:
            part = part.groupby("label", group_keys=False).head(max(cfg.limit // 2, 2))
        if part.empty or part["label"].nunique() < 2:
            raise ValueError(f"The {name} split needs benign and malignant images.")
        splits[name] = part.reset_index(drop=True)
    return splits


def training_rows(train: pd.DataFrame, cfg: TrainConfig) -> np.ndarray:
    """Positions of the ``train`` rows the run learns from: ``cfg.train_datasets``, or all."""
    if cfg.train_datasets:
        rows = np.flatnonzero(train["dataset"].isin(cfg.train_datasets).to_numpy())
    else:
        rows = np.arange(len(train))
    if rows.size == 0 or train["label"].iloc[rows].nunique() < 2:
        raise ValueError(f"No benign and malignant training images in {list(cfg.train_datasets)}.")
    return rows


def fold_rows(
    train: pd.DataFrame, rows: np.ndarray, folds: int, fold: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``rows`` of the training split into (learn, held out) for one CV fold.

    Whole lesions go to one fold (``lesion_id``; the image itself when it has none), folds
    are drawn at random (seeded) with near-equal numbers of lesions, so every image of a
    lesion is held out together, as in the dataset's own split.
    """
    lesions = train["lesion_id"].fillna(train["image_id"]).astype(str).to_numpy()[rows]
    unique = np.unique(lesions)
    if len(unique) < folds:
        raise ValueError(f"{folds} folds need at least {folds} lesions; found {len(unique)}.")
    order = np.random.default_rng(seed).permutation(unique)
    assignment = {lesion: i for i, lesion in enumerate(order)}
    in_fold = np.array([assignment[lesion] % folds == fold for lesion in lesions])
    return rows[~in_fold], rows[in_fold]


def class_names(train: pd.DataFrame) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Diagnosis classes (sorted) and the malignant subset, from the training labels."""
    classes = tuple(sorted(train["dx"].unique()))
    malignant = tuple(sorted(train.loc[train["label"] == "malignant", "dx"].unique()))
    if set(malignant) & set(train.loc[train["label"] == "benign", "dx"]):
        raise ValueError("A diagnosis is labelled both benign and malignant in metadata.csv.")
    return classes, malignant


def balanced_weights(y_binary: np.ndarray) -> np.ndarray:
    """Per-sample weights that give benign and malignant the same total weight."""
    counts = np.bincount(y_binary, minlength=2).astype(float)
    return (len(y_binary) / (2.0 * counts))[y_binary].astype(np.float32)


def cache_activations(
    bottom: keras.Model,
    images: np.ndarray,
    path: Path,
    *,
    views: int,
    seed: int,
    augment_params: AugmentParams | None,
) -> np.ndarray:
    """Run the frozen lower backbone over ``views`` augmented copies of ``images``.

    Returns a read-only float16 memmap ``(views, N, h, w, c)``. Finished views are kept on
    disk (``path`` + ``.done``), so an interrupted run resumes where it stopped.
    """
    shape = (views, len(images), *bottom.output.shape[1:])
    done_file = Path(str(path) + ".done")
    done = int(done_file.read_text()) if done_file.exists() and path.exists() else 0
    mode = "r+" if done else "w+"
    acts = np.lib.format.open_memmap(path, mode=mode, dtype=np.float16, shape=shape)
    if not done:
        done = copy_smaller_cache(acts, path)
    for v in range(done, views):
        t0 = time.time()
        rng = np.random.default_rng([seed, v])
        for start in range(0, len(images), 256):
            batch = images[start : start + 256]
            if augment_params is not None and v > 0:  # view 0 is the plain image
                batch = np.stack([augment(im, rng, augment_params) for im in batch])
            acts[v, start : start + len(batch)] = bottom.predict_on_batch(batch.astype(np.float32))
        acts.flush()
        done_file.write_text(str(v + 1))
        logger.info("cached view %d/%d of %s in %.0f s", v + 1, views, path.name, time.time() - t0)
    del acts
    return np.load(path, mmap_mode="r")


def views_cache_path(cache: Path, split: str, views: int) -> Path:
    """``<cache>/<split>-<views>v.npy``: one file per number of views."""
    return cache / f"{split}-{views}v.npy"


def copy_smaller_cache(acts: np.ndarray, path: Path) -> int:
    """Fill the first views of ``acts`` from a finished cache of the same split with fewer.

    View ``v`` depends only on ``(seed, v)``, so an 8-view cache is the start of a 16-view
    one. Returns the number of views copied (0 when there is no such cache).
    """
    split = path.name.rsplit("-", 1)[0]
    finished = []
    for other in path.parent.glob(f"{split}-*v.npy"):
        done_file = Path(str(other) + ".done")
        if other == path or not done_file.exists():
            continue
        n, smaller = int(done_file.read_text()), np.load(other, mmap_mode="r")
        if smaller.shape[1:] == acts.shape[1:] and n == smaller.shape[0] < acts.shape[0]:
            finished.append((n, other.name, smaller))
    if not finished:
        return 0
    n, name, smaller = max(finished, key=lambda f: f[0])
    acts[:n] = smaller
    acts.flush()
    Path(str(path) + ".done").write_text(str(n))
    logger.info("copied %d cached views from %s", n, name)
    return n


class CachedViews(keras.utils.PyDataset):
    """Batches of cached activations, one random view of each image per epoch.

    ``rows`` picks the images (positions in ``acts``) that ``y``/``weights`` describe. With
    ``n_classes`` set the targets are one-hot rows (for a categorical loss); ``mixup_alpha > 0``
    then mixes each batch with a shuffled copy of itself (manifold mixup at the cut layer).
    """

    def __init__(
        self,
        acts,
        y,
        weights,
        batch_size: int,
        seed: int,
        *,
        rows: np.ndarray | None = None,
        mixup_alpha: float = 0.0,
        n_classes: int = 0,
    ) -> None:
        super().__init__()
        self.acts, self.y, self.w, self.batch_size = acts, y, weights, batch_size
        self.rows = np.arange(len(y)) if rows is None else np.asarray(rows)
        self.mixup_alpha, self.n_classes = mixup_alpha, n_classes
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def __len__(self) -> int:
        return math.ceil(len(self.y) / self.batch_size)

    def __getitem__(self, i: int):
        idx = np.sort(self.order[i * self.batch_size : (i + 1) * self.batch_size])
        x = self.acts[self.view[idx], self.rows[idx]].astype(np.float32)
        y, w = self.y[idx], self.w[idx]
        if not self.n_classes:  # sparse integer targets
            return x, y, w
        if self.mixup_alpha <= 0:
            return x, np.eye(self.n_classes, dtype=np.float32)[y], w
        lam = self.rng.beta(self.mixup_alpha, self.mixup_alpha, size=len(idx)).astype(np.float32)
        lam = np.maximum(lam, 1 - lam)  # the first image dominates: its weight stays meaningful
        perm = self.rng.permutation(len(idx))
        onehot = np.eye(self.n_classes, dtype=np.float32)[y]
        x = lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * x[perm]
        y_soft = lam[:, None] * onehot + (1 - lam[:, None]) * onehot[perm]
        return x, y_soft, lam * w + (1 - lam) * w[perm]

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.y))
        self.view = self.rng.integers(self.acts.shape[0], size=len(self.y))


def malignant_auc(model, x, y_binary: np.ndarray, malignant_mask: np.ndarray) -> float:
    """ROC AUC of the model's malignant log-odds on inputs ``x`` against ``y_binary``."""
    logits = model.predict(np.asarray(x, np.float32), batch_size=256, verbose=0)
    return float(roc_auc_score(y_binary, malignant_log_odds(logits, malignant_mask)))


class ValAuc(keras.callbacks.Callback):
    """Adds ``val_auc`` (malignant vs benign ROC AUC on validation) to the epoch logs."""

    def __init__(self, x_val, y_val_binary, malignant_mask: np.ndarray) -> None:
        super().__init__()
        self.x_val, self.y_val, self.malignant_mask = x_val, y_val_binary, malignant_mask

    def on_epoch_end(self, epoch, logs=None) -> None:
        auc = malignant_auc(self.model, self.x_val, self.y_val, self.malignant_mask)
        if logs is not None:
            logs["val_auc"] = float(auc)
        logger.info("epoch %d: val_auc %.4f", epoch + 1, auc)


class WeightAverage(keras.callbacks.Callback):
    """Running mean of the trainable weights from epoch ``start`` (1-based) on: SWA.

    Averaging the weights of the late, noisy epochs lands in a flatter region than any single
    epoch (Izmailov et al., 2018). Batch-norm statistics need no update: BN is frozen here.
    """

    def __init__(self, start: int) -> None:
        super().__init__()
        self.start, self.count, self.mean = start, 0, None

    def on_epoch_end(self, epoch, logs=None) -> None:
        if epoch + 1 < self.start:
            return
        weights = [np.array(v) for v in self.model.trainable_variables]
        self.count += 1
        if self.mean is None:
            self.mean = weights
        else:
            self.mean = [m + (w - m) / self.count for m, w in zip(self.mean, weights, strict=True)]

    def assign(self) -> None:
        """Load the averaged weights into the model (call after ``fit``)."""
        for variable, value in zip(self.model.trainable_variables, self.mean, strict=True):
            variable.assign(value)


def make_callbacks(cfg: TrainConfig, run_dir: Path, stage: str, val_auc: ValAuc) -> list:
    """AUC first (the others read ``val_auc`` from the logs), then the usual four.

    With weight averaging (``cfg.average_from``) stage 2 runs every epoch at a constant
    learning rate: early stopping would cut the averaging window short, and a decayed rate
    leaves nothing different to average.
    """
    adaptive = [
        keras.callbacks.EarlyStopping(
            monitor="val_auc", mode="max", patience=cfg.patience, restore_best_weights=True
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_auc", mode="max", factor=0.3, patience=max(cfg.patience // 2, 1)
        ),
    ]
    averaging = stage == "finetune" and cfg.average_from > 0
    return [
        val_auc,
        *([] if averaging else adaptive),
        keras.callbacks.ModelCheckpoint(
            str(run_dir / f"{stage}.weights.h5"),
            monitor="val_auc",
            mode="max",
            save_best_only=True,
            save_weights_only=True,
        ),
        keras.callbacks.CSVLogger(str(run_dir / f"history_{stage}.csv")),
    ]


def pooled_features(top_frozen: keras.Model, acts: np.ndarray) -> np.ndarray:
    """Pooled last-layer features ``(V, N, 1280)`` of every cached view (frozen backbone)."""
    out = np.empty((acts.shape[0], acts.shape[1], top_frozen.output.shape[-1]), np.float32)
    for v in range(acts.shape[0]):
        for s in range(0, acts.shape[1], 256):
            out[v, s : s + 256] = top_frozen.predict_on_batch(
                np.asarray(acts[v, s : s + 256], np.float32)
            )
    return out


def train(cfg: TrainConfig) -> Path:
    """Run the whole recipe; returns the run directory holding ``model.keras``."""
    keras.utils.set_random_seed(cfg.seed)
    out = Path(cfg.out)
    run_dir = Path(cfg.cache_dir) / time.strftime("run-%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2))

    meta = read_metadata(cfg.data)
    splits = select_splits(meta, cfg)
    rows = training_rows(splits["train"], cfg)
    classes, malignant = class_names(splits["train"].iloc[rows])
    malignant_mask = np.array([c in malignant for c in classes])
    # The cache covers the whole training split; only ``rows`` of it are learnt from.
    splits["train"] = splits["train"][splits["train"]["dx"].isin(classes)].reset_index(drop=True)
    rows = training_rows(splits["train"], cfg)
    splits["val"] = splits["val"][splits["val"]["dx"].isin(classes)].reset_index(drop=True)
    held = None
    if cfg.folds:  # validate on held-out lesions of the training split, not on ``val``
        rows, held = fold_rows(splits["train"], rows, cfg.folds, cfg.fold, cfg.seed)
        logger.info(
            "fold %d/%d: learning from %d images, %d held out",
            cfg.fold + 1,
            cfg.folds,
            len(rows),
            len(held),
        )
    data = {}
    checked = splits["val"] if held is None else splits["train"].iloc[held]
    for name, part in (("train", splits["train"].iloc[rows]), ("val", checked)):
        y_class = part["dx"].map({c: i for i, c in enumerate(classes)}).to_numpy()
        data[name] = SplitData(part.reset_index(drop=True), y_class, binary_labels(part))
    logger.info(
        "train %d images, val %d; classes %s (malignant: %s)",
        len(data["train"].meta),
        len(data["val"].meta),
        classes,
        malignant,
    )

    spec = cfg.input_spec()
    model = build_classifier(
        ClassifierSpec(classes, cfg.dropout, cfg.input_size), cfg.backbone_weights
    )
    bottom = build_bottom_model(model, cfg.cut_layer)

    cache_key = f"{cfg.cut_layer}-{spec.color_constancy}-{spec.size}px-s{cfg.seed}-l{cfg.limit}"
    cache = Path(cfg.cache_dir) / cache_key
    cache.mkdir(parents=True, exist_ok=True)
    acts = {}
    for name in ("train", "val"):
        views = cfg.views if name == "train" else 1
        path = views_cache_path(cache, name, views)
        t0 = time.time()
        images = load_model_inputs(cfg.data, list(splits[name]["image_id"]), spec)
        logger.info("loaded %d %s images in %.0f s", len(images), name, time.time() - t0)
        acts[name] = cache_activations(
            bottom,
            images,
            path,
            views=views,
            seed=cfg.seed,
            augment_params=AugmentParams() if name == "train" else None,
        )
        del images
    x_val = np.asarray(acts["val"][0] if held is None else acts["train"][0][held], np.float32)
    train_weights = balanced_weights(data["train"].y_binary)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    val_auc = ValAuc(x_val, data["val"].y_binary, malignant_mask)

    # === Stage 1: frozen backbone, dense head on pooled features of every view ===
    set_trainable_from(model, 99)  # nothing in the backbone trains
    pooled_model = build_top_model(model, cfg.cut_layer, until="pooled")
    # Two views are plenty to initialise the head; stage 2 sees all of them.
    feats = pooled_features(pooled_model, acts["train"][:2])[:, rows]
    head_in = keras.Input((feats.shape[-1],))
    dense = model.get_layer("predictions")
    head = keras.Model(head_in, dense(model.get_layer("head_dropout")(head_in)))
    head.compile(keras.optimizers.Adam(cfg.head_lr), loss)
    n_views, n = feats.shape[:2]
    x_head = feats.reshape(n_views * n, -1)
    y_head = np.tile(data["train"].y_class, n_views)
    w_head = np.tile(train_weights, n_views)
    val_pooled = pooled_model.predict(x_val, batch_size=256, verbose=0)
    head_auc = ValAuc(val_pooled, data["val"].y_binary, malignant_mask)
    head.fit(
        x_head,
        y_head,
        sample_weight=w_head,
        batch_size=256,
        epochs=cfg.head_epochs,
        shuffle=True,
        verbose=2,
        callbacks=make_callbacks(cfg, run_dir, "head", head_auc),
    )
    del feats, x_head

    # === Stage 2: fine-tune the upper backbone on cached activations ===
    n_trainable = set_trainable_from(model, cfg.finetune_from_block)
    top = build_top_model(model, cfg.cut_layer)
    soft_targets = cfg.mixup_alpha > 0 or cfg.label_smoothing > 0
    if soft_targets:
        loss = keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=cfg.label_smoothing
        )
    top.compile(keras.optimizers.Adam(cfg.finetune_lr), loss)
    logger.info(
        "stage 2: %d trainable backbone tensors from block %d", n_trainable, cfg.finetune_from_block
    )
    callbacks = make_callbacks(cfg, run_dir, "finetune", val_auc)
    average = WeightAverage(cfg.average_from) if cfg.average_from > 0 else None
    top.fit(
        CachedViews(
            acts["train"],
            data["train"].y_class,
            train_weights,
            cfg.batch_size,
            cfg.seed,
            rows=rows,
            mixup_alpha=cfg.mixup_alpha,
            n_classes=len(classes) if soft_targets else 0,
        ),
        epochs=cfg.finetune_epochs,
        verbose=2,
        callbacks=callbacks + ([average] if average else []),
    )
    if average is not None:
        keep_averaged(top, average, val_auc, run_dir)

    model.trainable = False
    model.save(run_dir / "model.keras")
    write_model_config(run_dir, cfg, classes, malignant)
    merge_histories(run_dir)
    if held is not None:
        write_fold_result(run_dir, cfg, top, acts["val"][0], splits["val"], malignant_mask, val_auc)
    logger.info("saved %s", run_dir / "model.keras")
    out.mkdir(parents=True, exist_ok=True)
    return run_dir


def keep_averaged(top: keras.Model, average: WeightAverage, val_auc: ValAuc, run_dir: Path) -> None:
    """Use the averaged weights unless the last epoch's are better on the validation set.

    Writes ``average.json`` with both AUCs so the choice is on record.
    """
    if average.count == 0:
        raise ValueError("average_from is past the last fine-tuning epoch: nothing averaged.")
    last = [np.array(v) for v in top.trainable_variables]
    last_auc = malignant_auc(top, val_auc.x_val, val_auc.y_val, val_auc.malignant_mask)
    average.assign()
    avg_auc = malignant_auc(top, val_auc.x_val, val_auc.y_val, val_auc.malignant_mask)
    kept = "average" if avg_auc >= last_auc else "last"
    if kept == "last":
        for variable, value in zip(top.trainable_variables, last, strict=True):
            variable.assign(value)
    result = {
        "epochs_averaged": average.count,
        "val_auc_average": avg_auc,
        "val_auc_last": last_auc,
        "kept": kept,
    }
    (run_dir / "average.json").write_text(json.dumps(result, indent=2))
    logger.info(
        "weight average of %d epochs: val_auc %.4f (last epoch %.4f); kept %s",
        average.count,
        avg_auc,
        last_auc,
        kept,
    )


def write_fold_result(run_dir, cfg, top, val_acts, val_meta, malignant_mask, fold_auc) -> None:
    """``fold.json``: the fold's AUC on its held-out lesions and on the untouched ``val`` split.

    Early stopping and the checkpoint look at the held-out fold, which makes its AUC slightly
    optimistic; the ``val`` AUC of the same weights is free of that selection.
    """
    result = {
        "fold": cfg.fold,
        "folds": cfg.folds,
        "held_out_images": len(fold_auc.y_val),
        "held_out_auc": malignant_auc(top, fold_auc.x_val, fold_auc.y_val, malignant_mask),
        "val_auc": malignant_auc(top, val_acts, binary_labels(val_meta), malignant_mask),
    }
    (run_dir / "fold.json").write_text(json.dumps(result, indent=2))
    logger.info("fold %d/%d: %s", cfg.fold + 1, cfg.folds, result)


def write_model_config(run_dir: Path, cfg: TrainConfig, classes, malignant) -> None:
    """``model_config.json``: what inference needs besides the weights."""
    config = {
        "classes": list(classes),
        "malignant_classes": list(malignant),
        "input": cfg.input_spec().to_dict(),
        "train_config": asdict(cfg),
        "keras_version": keras.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (run_dir / "model_config.json").write_text(json.dumps(config, indent=2))


def merge_histories(run_dir: Path) -> None:
    """One ``history.csv`` with a ``stage`` column (head, finetune)."""
    frames = []
    for stage in ("head", "finetune"):
        path = run_dir / f"history_{stage}.csv"
        if path.exists():
            frame = pd.read_csv(path)
            frame.insert(0, "stage", stage)
            frames.append(frame)
    if frames:
        pd.concat(frames, ignore_index=True).to_csv(run_dir / "history.csv", index=False)
