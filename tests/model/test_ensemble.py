"""An ensemble averages its members' logits, keeps exact heat maps, saves safely and exports."""

import json

import keras
import numpy as np
import pytest

from skinapp.model import ensemble
from skinapp.model.build import ClassifierSpec, build_classifier
from skinapp.model.ensemble import build_ensemble, head_kernel, members_of
from skinapp.model.export import load_keras_model

SPEC = ClassifierSpec(classes=("bcc", "mel", "nv"), input_size=64)


@pytest.fixture(scope="module")
def members():
    keras.utils.set_random_seed(0)
    return [build_classifier(SPEC, None), build_classifier(SPEC, None)]


@pytest.fixture(scope="module")
def model(members):
    return build_ensemble(members)


@pytest.fixture(scope="module")
def pixels():
    return np.random.default_rng(0).uniform(0, 255, (3, 64, 64, 3)).astype("float32")


def test_logits_are_the_mean_and_features_side_by_side(model, members, pixels):
    out = model(pixels, training=False)
    each = [m(pixels, training=False) for m in members]
    mean = np.mean([np.asarray(o["logits"]) for o in each], axis=0)
    np.testing.assert_allclose(np.asarray(out["logits"]), mean, atol=1e-5)
    assert out["features"].shape == (3, 2, 2, 2 * 1280)
    np.testing.assert_allclose(
        np.asarray(out["features"])[..., :1280], np.asarray(each[0]["features"]), atol=1e-6
    )


def test_stacked_kernel_reproduces_the_averaged_head(model, members, pixels):
    """pool(features) @ head_kernel + mean bias == logits: the heat map's direction is exact."""
    out = model(pixels, training=False)
    pooled = np.asarray(out["features"]).mean(axis=(1, 2))
    biases = [keras.ops.convert_to_numpy(m.get_layer("predictions").bias) for m in members]
    bias = np.mean(biases, axis=0)
    np.testing.assert_allclose(
        pooled @ head_kernel(model) + bias, np.asarray(out["logits"]), atol=1e-4
    )
    assert len(members_of(model)) == 2
    single = members[0]
    assert members_of(single) == [single]
    np.testing.assert_array_equal(
        head_kernel(single), keras.ops.convert_to_numpy(single.get_layer("predictions").kernel)
    )


def test_needs_two_members(members):
    with pytest.raises(ValueError, match="at least two"):
        build_ensemble(members[:1])


def _save_member(model, folder, classes=SPEC.classes):
    folder.mkdir()
    model.save(folder / "model.keras")
    config = {
        "classes": list(classes),
        "malignant_classes": ["bcc", "mel"],
        "input": {"size": 64},
        "train_config": {"seed": 1},
    }
    (folder / "model_config.json").write_text(json.dumps(config))
    (folder / "history.csv").write_text("stage,epoch,loss\nhead,0,1.0\n")
    return folder


def test_cli_writes_a_loadable_ensemble(model, members, pixels, tmp_path):
    a = _save_member(members[0], tmp_path / "a")
    b = _save_member(members[1], tmp_path / "b")
    out = tmp_path / "out"
    assert ensemble.main([str(a), str(b), "--out", str(out)]) == 0
    loaded = load_keras_model(out / "model.keras")  # safe_mode=True
    expected = model(pixels, training=False)["logits"]
    np.testing.assert_allclose(
        np.asarray(loaded(pixels, training=False)["logits"]), np.asarray(expected), atol=1e-5
    )
    config = json.loads((out / "model_config.json").read_text())
    assert config["classes"] == list(SPEC.classes)
    assert [m["source"] for m in config["ensemble"]] == [str(a), str(b)]
    history = (out / "history.csv").read_text().splitlines()
    assert history[0].startswith("member,") and len(history) == 3


def test_cli_refuses_members_with_other_classes(members, tmp_path, capsys):
    a = _save_member(members[0], tmp_path / "a")
    b = _save_member(members[1], tmp_path / "b", classes=("mel", "nv", "bcc"))
    assert ensemble.main([str(a), str(b), "--out", str(tmp_path / "out")]) == 2
    assert "classes" in capsys.readouterr().err
