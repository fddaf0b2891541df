"""Build the MobileNetV2 lesion classifier and the sub-model used for cached fine-tuning.

The classifier takes raw RGB pixels in [0, 255] (float32, shape ``(N, 224, 224, 3)``) and
scales them inside the model (``x / 127.5 - 1``, MobileNetV2's ``preprocess_input``), so every
caller (training, Keras evaluation, the LiteRT export) feeds the same uint8-range images.

Two outputs:

- ``logits``: ``(N, n_classes)`` pre-softmax scores over the diagnosis classes,
- ``features``: ``(N, 7, 7, 1280)`` the last feature map, for class-activation maps.

Fine-tuning on a 2-core CPU is made affordable by caching the activations of the frozen lower
blocks: :func:`build_top_model` replays the classifier's own layers from a cut layer onwards,
so training it trains the shared weights of the full classifier.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import keras

logger = logging.getLogger(__name__)

INPUT_SIZE = 224
FEATURE_LAYER = "out_relu"


@dataclass(frozen=True)
class ClassifierSpec:
    """Architecture of the classifier head.

    Attributes
    ----------
    classes : tuple of str
        Output classes (diagnosis codes, e.g. ``("akiec", "bcc", "bkl", ...)``).
    dropout : float
        Dropout rate before the dense output, in [0, 1).
    input_size : int
        Square input side in pixels.
    """

    classes: tuple[str, ...]
    dropout: float = 0.3
    input_size: int = INPUT_SIZE

    def __post_init__(self) -> None:
        if len(self.classes) < 2:
            raise ValueError(f"Need at least two classes. Received: `classes={self.classes}`")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1). Received: `dropout={self.dropout}`")


def build_backbone(weights: str | None, input_size: int = INPUT_SIZE) -> keras.Model:
    """MobileNetV2 (alpha 1.0) without its top, with ImageNet weights.

    Parameters
    ----------
    weights : str or None
        ``"imagenet"`` (needs internet), a path to a ``*_no_top.weights.h5`` file, or
        None / ``"none"`` for random weights (tests).
    """
    if weights == "none":
        weights = None
    base = keras.applications.MobileNetV2(
        include_top=False,
        weights="imagenet" if weights == "imagenet" else None,
        input_shape=(input_size, input_size, 3),
    )
    if weights not in (None, "imagenet"):
        base.load_weights(weights)
    # The shipped ImageNet weights have batch-norm folded into biases: BN must stay in
    # inference mode forever (see shared/pretrained/README.md), so it is never trainable.
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    return base


def build_classifier(spec: ClassifierSpec, backbone_weights: str | None) -> keras.Model:
    """The full classifier: pixels in [0, 255] -> (logits, last feature map).

    Returns
    -------
    keras.Model
        Inputs ``(N, S, S, 3)`` float32 in [0, 255]; outputs ``{"logits": (N, C),
        "features": (N, S/32, S/32, 1280)}``.
    """
    # === Layers ===
    base = build_backbone(backbone_weights, spec.input_size)
    pool = keras.layers.GlobalAveragePooling2D(name="avg_pool")
    dropout = keras.layers.Dropout(spec.dropout, name="head_dropout")
    dense = keras.layers.Dense(len(spec.classes), name="predictions")

    # === Functional model ===
    inputs = keras.Input((spec.input_size, spec.input_size, 3), name="pixels")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="preprocess_input")(inputs)
    features = base(x)
    logits = dense(dropout(pool(features)))
    logits = keras.layers.Activation("linear", name="logits", dtype="float32")(logits)
    features = keras.layers.Activation("linear", name="features")(features)
    return keras.Model(inputs, {"logits": logits, "features": features}, name="skinapp_mnv2")


def backbone_of(model: keras.Model) -> keras.Model:
    """The MobileNetV2 sub-model inside a classifier built by :func:`build_classifier`."""
    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


def head_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Pooling, dropout and dense layers of the head, in order."""
    return [model.get_layer(n) for n in ("avg_pool", "head_dropout", "predictions")]


def build_top_model(model: keras.Model, cut_layer: str, *, until: str = "logits") -> keras.Model:
    """A model from the cut layer's activation to the logits, sharing the classifier's layers.

    Parameters
    ----------
    model : keras.Model
        A classifier from :func:`build_classifier`.
    cut_layer : str
        Backbone layer whose output is cached (e.g. ``"block_12_add"``); layers after it are
        replayed, so their weights are the very variables of ``model``.
    until : {"logits", "pooled"}
        Stop after the dense layer (logits) or after global average pooling.

    Returns
    -------
    keras.Model
        Input: the cut layer's activation; output: logits ``(N, C)`` or pooled ``(N, 1280)``.
    """
    base = backbone_of(model)
    start = base.get_layer(cut_layer)
    inputs = keras.Input(start.output.shape[1:], name=f"{cut_layer}_activation")
    tensors = {cut_layer: inputs}
    names = [layer.name for layer in base.layers]
    for layer in base.layers[names.index(cut_layer) + 1 :]:
        parents = [t._keras_history.operation.name for t in layer._inbound_nodes[0].input_tensors]
        args = [tensors[p] for p in parents]
        tensors[layer.name] = layer(args if len(args) > 1 else args[0])
    x = tensors[base.layers[-1].name]
    for layer in head_layers(model)[: 1 if until == "pooled" else None]:
        x = layer(x)
    return keras.Model(inputs, x, name=f"top_from_{cut_layer}")


def build_bottom_model(model: keras.Model, cut_layer: str) -> keras.Model:
    """Pixels in [0, 255] -> the cut layer's activation (frozen feature extractor)."""
    base = backbone_of(model)
    inner = keras.Model(base.input, base.get_layer(cut_layer).output)
    inputs = keras.Input(model.input.shape[1:], name="pixels")
    x = model.get_layer("preprocess_input")(inputs)
    return keras.Model(inputs, inner(x), name=f"bottom_to_{cut_layer}")


def set_trainable_from(model: keras.Model, first_block: int) -> int:
    """Make backbone layers trainable from ``block_{first_block}`` on (BN stays frozen).

    Returns the number of trainable weight tensors in the backbone.
    """
    base = backbone_of(model)
    base.trainable = True
    started = False
    for layer in base.layers:
        if layer.name.startswith(f"block_{first_block}_"):
            started = True
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = started and not is_bn
    return len(base.trainable_weights)
