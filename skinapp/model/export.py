"""Export the trained Keras classifier to LiteRT (TFLite) for fast CPU inference.

TensorFlow is needed here (training stack) but never on the serving path: the exported
``model.tflite`` runs with ``ai-edge-litert`` alone.
"""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import numpy as np

logger = logging.getLogger(__name__)


def load_keras_model(path: str | Path) -> keras.Model:
    """Load a ``.keras`` classifier with ``safe_mode=True`` (no arbitrary code, no pickles)."""
    return keras.saving.load_model(path, safe_mode=True, compile=False)


def export_litert(model: keras.Model, path: str | Path) -> Path:
    """Write ``model`` as a float32 LiteRT flatbuffer with outputs ``logits`` and ``features``.

    The batch dimension stays dynamic so the serving path can run batches.
    """
    import tensorflow as tf

    size = model.input.shape[1]
    path = Path(path)
    spec = [tf.TensorSpec([None, size, size, 3], tf.float32, name="pixels")]
    model.export(str(path), format="litert", input_signature=spec, verbose=False)
    flatbuffer = path.read_bytes()

    logger.info("wrote %s (%.1f MB)", path, len(flatbuffer) / 1e6)
    return path


def keras_logits(model: keras.Model, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """``(N, C)`` logits of the Keras model for ``(N, S, S, 3) uint8`` inputs."""
    out = []
    for s in range(0, len(images), batch_size):
        batch = images[s : s + batch_size].astype(np.float32)
        out.append(np.asarray(model(batch, training=False)["logits"]))
    return np.concatenate(out)
