"""The classifier builds, its cached-activation split is exact, and BN never trains."""

import keras
import numpy as np
import pytest

from skinapp.model.build import (
    ClassifierSpec,
    backbone_of,
    build_bottom_model,
    build_classifier,
    build_top_model,
    set_trainable_from,
)

SPEC = ClassifierSpec(classes=("bcc", "mel", "nv"), input_size=96)


@pytest.fixture(scope="module")
def model():
    return build_classifier(SPEC, None)


def test_outputs_shapes(model):
    x = np.random.default_rng(0).uniform(0, 255, (2, 96, 96, 3)).astype("float32")
    out = model(x, training=False)
    assert out["logits"].shape == (2, 3)
    assert out["features"].shape == (2, 3, 3, 1280)


@pytest.mark.parametrize("cut", ["block_5_add", "block_12_add"])
def test_bottom_then_top_equals_full_model(model, cut):
    x = np.random.default_rng(1).uniform(0, 255, (2, 96, 96, 3)).astype("float32")
    full = np.asarray(model(x, training=False)["logits"])
    split = build_top_model(model, cut)(build_bottom_model(model, cut)(x))
    np.testing.assert_allclose(np.asarray(split), full, atol=1e-4)


def test_top_model_shares_weights_with_classifier(model):
    set_trainable_from(model, 13)
    top = build_top_model(model, "block_12_add")
    shared = {id(v) for v in model.trainable_weights}
    assert {id(v) for v in top.trainable_weights} <= shared


def test_batchnorm_stays_frozen(model):
    set_trainable_from(model, 6)
    bns = [
        la for la in backbone_of(model).layers if isinstance(la, keras.layers.BatchNormalization)
    ]
    assert bns and not any(la.trainable for la in bns)
    assert backbone_of(model).get_layer("block_6_expand").trainable
    assert not backbone_of(model).get_layer("block_5_expand").trainable


def test_invalid_spec():
    with pytest.raises(ValueError, match="Received"):
        ClassifierSpec(classes=("only",))
    with pytest.raises(ValueError, match="Received"):
        ClassifierSpec(classes=("a", "b"), dropout=1.5)


def test_one_training_step_changes_weights(model):
    set_trainable_from(model, 15)
    top = build_top_model(model, "block_12_add")
    top.compile(
        keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    x = np.random.default_rng(2).normal(size=(4, *top.input.shape[1:])).astype("float32")
    before = np.asarray(model.get_layer("predictions").kernel).copy()
    top.fit(x, np.array([0, 1, 2, 1]), epochs=1, verbose=0)
    assert not np.allclose(before, np.asarray(model.get_layer("predictions").kernel))
