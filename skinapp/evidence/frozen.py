"""Frozen ImageNet MobileNetV2 features (no fine-tuning), cached per image id.

The cheap recipe of the leakage demonstration: the photo is stretched to 224×224 exactly as
the classifier's input (:func:`skinapp.model.preprocessing.prepare_model_input`), passed
through the ImageNet backbone, and two intermediate blocks are average-pooled (the same
layers as :mod:`skinapp.model.ablate_preprocessing`). ~20 ms per image on one core.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from skinapp.model.data import load_model_inputs
from skinapp.model.preprocessing import ModelInputSpec

logger = logging.getLogger(__name__)

DEFAULT_WEIGHTS = "../shared/pretrained/mobilenet_v2_1.0_224_no_top.weights.h5"
DEFAULT_CACHE = Path("runs/evidence/frozen_mnv2.npz")
FEATURE_LAYERS = ("block_15_add", "block_16_project_BN")


def feature_model(weights: str | None):
    """Keras model: ``(N, 224, 224, 3)`` float in [-1, 1] -> list of pooled layer outputs.

    ``weights=None`` gives a random backbone (tests).
    """
    import keras

    base = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(224, 224, 3)
    )
    if weights:
        base.load_weights(weights)
    pooled = [
        keras.layers.GlobalAveragePooling2D()(base.get_layer(n).output) for n in FEATURE_LAYERS
    ]
    return keras.Model(base.input, pooled)


def compute_features(
    model, data_dir: str | Path, image_ids: Sequence[str], batch_size: int = 64
) -> np.ndarray:
    """``(N, F) float32`` pooled features, F = 160 + 320 for the default layers."""
    out = []
    for s in range(0, len(image_ids), 512):  # bounded memory: 512 images at a time
        images = load_model_inputs(data_dir, list(image_ids[s : s + 512]), ModelInputSpec())
        parts = model.predict(
            images.astype(np.float32) / 127.5 - 1.0, batch_size=batch_size, verbose=0
        )
        out.append(np.concatenate([np.asarray(p) for p in parts], axis=1))
    return np.concatenate(out).astype(np.float32)


def load_features(
    data_dir: str | Path,
    image_ids: Sequence[str],
    weights: str | None = DEFAULT_WEIGHTS,
    cache: str | Path = DEFAULT_CACHE,
) -> np.ndarray:
    """Features for ``image_ids`` (row order kept), computing and caching missing ones."""
    cache = Path(cache)
    ids = np.array([], dtype=str)
    feats = np.zeros((0, 0), np.float32)
    if cache.is_file():
        with np.load(cache) as stored:
            if tuple(stored["layers"]) == FEATURE_LAYERS:
                ids, feats = stored["image_id"].astype(str), stored["features"]
    index = {k: i for i, k in enumerate(ids)}
    todo = [i for i in dict.fromkeys(image_ids) if i not in index]
    if todo:
        logger.info("Computing frozen features of %d images (cache %s)", len(todo), cache)
        new = compute_features(feature_model(weights), data_dir, todo)
        feats = new if feats.size == 0 else np.concatenate([feats, new])
        ids = np.concatenate([ids, np.array(todo, dtype=str)])
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, image_id=ids, features=feats, layers=np.array(FEATURE_LAYERS))
        index = {k: i for i, k in enumerate(ids)}
    return feats[[index[i] for i in image_ids]]
