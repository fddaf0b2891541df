"""The learned lesion segmenter: a MobileNetV2 U-Net (Keras, training side only).

The encoder is the ImageNet MobileNetV2 the classifier also starts from
(:func:`skinapp.model.build.build_backbone`, batch-norm frozen because the shipped weights have
it folded); its stem (``Conv1`` … ``block_2``) stays frozen, the rest is fine-tuned. The
decoder is light: at each scale a bilinear upsampling, the encoder's skip activation
(``block_*_expand_relu``, U-Net style) and one depthwise-separable convolution.

The model takes raw RGB pixels in [0, 255] (float32, ``(N, S, S, 3)``, the photo squashed to
the square) and returns ``(N, S, S, 1)`` lesion probabilities; the serving side
(:mod:`skinapp.vision.learned`) upsamples them smoothly to the photo's own size.
TensorFlow is needed here, never on the serving path (the LiteRT export runs alone).
"""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import numpy as np

from skinapp.model.build import build_backbone

logger = logging.getLogger(__name__)

#: Encoder activations used as skips, finest first (strides 2, 4, 8, 16), and the bottleneck.
SKIP_LAYERS = (
    "block_1_expand_relu",
    "block_3_expand_relu",
    "block_6_expand_relu",
    "block_13_expand_relu",
)
BOTTLENECK_LAYER = "block_16_project"
#: First encoder layer that is fine-tuned; everything before it stays frozen.
FIRST_TRAINABLE = "block_3_expand"
#: Decoder widths from the coarsest upsampling to the finest.
DECODER_FILTERS = (96, 64, 48, 32)


def _decoder_block(x, skip, filters: int, name: str):
    x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_up")(x)
    x = keras.layers.Concatenate(name=f"{name}_cat")([x, skip])
    x = keras.layers.SeparableConv2D(
        filters, 3, padding="same", use_bias=False, name=f"{name}_sep"
    )(x)
    # momentum 0.9: the moving statistics keep up within an epoch of a short CPU training.
    x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def build_segmenter(input_size: int, backbone_weights: str | None) -> keras.Model:
    """MobileNetV2 U-Net: ``(N, S, S, 3)`` pixels in [0, 255] → ``(N, S, S, 1)`` probability.

    ``input_size`` must be a multiple of 32.
    """
    if input_size % 32:
        raise ValueError(f"input_size must be a multiple of 32. Received: `{input_size}`")
    base = build_backbone(backbone_weights, input_size)
    trainable = False
    for layer in base.layers:
        trainable = trainable or layer.name == FIRST_TRAINABLE
        if not isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = trainable
    encoder = keras.Model(
        base.input,
        [base.get_layer(n).output for n in (*SKIP_LAYERS, BOTTLENECK_LAYER)],
        name="encoder",
    )
    pixels = keras.Input((input_size, input_size, 3), name="pixels")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(pixels)
    *skips, x = encoder(x)
    for i, (skip, filters) in enumerate(zip(reversed(skips), DECODER_FILTERS, strict=True)):
        x = _decoder_block(x, skip, filters, f"dec{i}")
    x = keras.layers.UpSampling2D(2, interpolation="bilinear", name="up_out")(x)
    x = keras.layers.Conv2D(1, 3, padding="same", name="logit")(x)
    probability = keras.layers.Activation("sigmoid", name="probability", dtype="float32")(x)
    return keras.Model(pixels, probability, name="segmenter")


def dice_bce_loss(y_true, y_pred):
    """Binary cross-entropy plus soft Dice loss (Dice pulls towards whole-lesion overlap)."""
    from keras import ops

    eps = 1e-6
    y_pred = ops.clip(y_pred, eps, 1 - eps)
    bce = ops.mean(keras.losses.binary_crossentropy(y_true, y_pred))
    inter = ops.sum(y_true * y_pred, axis=(1, 2, 3))
    total = ops.sum(y_true, axis=(1, 2, 3)) + ops.sum(y_pred, axis=(1, 2, 3))
    dice = 1.0 - (2.0 * inter + 1.0) / (total + 1.0)
    return bce + ops.mean(dice)


def jaccard_scores(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-image Jaccard index of two ``(N, H, W)`` bool stacks (both empty counts 1)."""
    inter = np.logical_and(pred, truth).sum(axis=(1, 2))
    union = np.logical_or(pred, truth).sum(axis=(1, 2))
    return np.where(union == 0, 1.0, inter / np.maximum(union, 1))


def thresholded_jaccard(scores: np.ndarray, floor: float = 0.65) -> float:
    """ISIC 2018 score: the mean of per-image Jaccard with values below ``floor`` counted 0."""
    return float(np.where(scores < floor, 0.0, scores).mean()) if len(scores) else 0.0


def export_segmenter(model: keras.Model, path: str | Path, *, float16: bool = True) -> Path:
    """Write ``model`` as a LiteRT flatbuffer (float16 weights unless ``float16=False``).

    The batch dimension stays dynamic; the input is named ``pixels``.
    """
    import tensorflow as tf

    size = model.input.shape[1]
    spec = [tf.TensorSpec([None, size, size, 3], tf.float32, name="pixels")]
    options = {}
    if float16:
        options = {
            "optimizations": [tf.lite.Optimize.DEFAULT],
            "target_spec": {"supported_types": [tf.float16]},
        }
    path = Path(path)
    model.export(str(path), format="litert", input_signature=spec, verbose=False, **options)
    logger.info("wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path
