"""Row selection by source dataset and by CV fold, and the cached-view batches (with and
without mixup)."""

import numpy as np
import pandas as pd
import pytest

from skinapp.model.train_loop import (
    CachedViews,
    TrainConfig,
    fold_rows,
    select_splits,
    training_rows,
)


def _meta() -> pd.DataFrame:
    rows = []
    for i in range(24):
        rows.append(
            {
                "image_id": f"I{i}",
                "dx": ("nv", "mel", "bkl", "bcc")[i % 4],
                "label": ("benign", "malignant")[i % 2],
                "dataset": ("HAM10000", "ISIC2017", "PH2")[i % 3],
                "split": ("train", "train", "val")[(i // 3) % 3],
            }
        )
    return pd.DataFrame(rows)


def test_dataset_filter_selects_exactly_those_training_rows():
    meta = _meta()
    splits = select_splits(meta, TrainConfig(data="", train_datasets=("HAM10000",)))
    train = splits["train"]
    assert len(train) == (meta["split"] == "train").sum()  # the cache covers the whole split
    rows = training_rows(train, TrainConfig(data="", train_datasets=("HAM10000",)))
    assert set(train.iloc[rows]["dataset"]) == {"HAM10000"}
    expected = meta[(meta["split"] == "train") & (meta["dataset"] == "HAM10000")]["image_id"]
    assert list(train.iloc[rows]["image_id"]) == list(expected)
    # validation is never filtered: the run is judged on every source
    assert set(splits["val"]["dataset"]) == {"HAM10000", "ISIC2017", "PH2"}


def test_no_filter_keeps_every_row_and_unknown_dataset_is_an_error():
    train = select_splits(_meta(), TrainConfig(data=""))["train"]
    np.testing.assert_array_equal(training_rows(train, TrainConfig(data="")), np.arange(len(train)))
    with pytest.raises(ValueError, match="No benign and malignant"):
        training_rows(train, TrainConfig(data="", train_datasets=("NOPE",)))


@pytest.fixture
def acts():
    rng = np.random.default_rng(0)
    return rng.normal(size=(3, 10, 2, 2, 4)).astype(np.float16)  # (views, N, h, w, c)


def test_batches_follow_rows_and_cover_each_image_once(acts):
    rows = np.array([1, 3, 5, 7, 9])
    y = np.arange(5)
    data = CachedViews(acts, y, np.ones(5, np.float32), batch_size=2, seed=0, rows=rows)
    seen = []
    for i in range(len(data)):
        x, yb, _ = data[i]
        for xi, label in zip(x, yb, strict=True):
            matches = [v for v in range(3) if np.allclose(xi, acts[v, rows[label]])]
            assert matches, "each sample is one cached view of its own row"
        seen.extend(yb)
    assert sorted(seen) == list(y)


def test_mixup_gives_soft_targets_and_mixed_inputs(acts):
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    w = np.linspace(1, 2, 10).astype(np.float32)
    data = CachedViews(acts, y, w, batch_size=10, seed=1, mixup_alpha=0.4, n_classes=3)
    x, targets, weights = data[0]
    assert x.shape == (10, 2, 2, 4) and targets.shape == (10, 3)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, atol=1e-6)
    assert targets.max(axis=1).min() >= 0.5 - 1e-6  # the first image dominates each mix
    assert (weights >= 1).all() and (weights <= 2).all()


def test_one_hot_without_mixup(acts):
    y = np.array([2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
    data = CachedViews(acts, y, np.ones(10, np.float32), batch_size=10, seed=0, n_classes=3)
    _, targets, _ = data[0]
    assert set(np.unique(targets)) == {0.0, 1.0}
    assert (targets.sum(axis=1) == 1).all()


def test_folds_hold_out_whole_lesions_and_cover_every_row_once():
    train = pd.DataFrame(
        {
            "image_id": [f"I{i}" for i in range(30)],
            "lesion_id": [f"L{i // 3}" if i < 24 else None for i in range(30)],  # 3 per lesion
        }
    )
    rows = np.arange(2, 30)  # a dataset filter may have dropped some rows
    held_all = []
    for fold in range(3):
        learn, held = fold_rows(train, rows, folds=3, fold=fold, seed=0)
        assert set(learn) | set(held) == set(rows) and not set(learn) & set(held)
        lesions = train["lesion_id"].fillna(train["image_id"])
        assert not set(lesions[learn]) & set(lesions[held]), "a lesion on both sides"
        held_all.extend(held)
    assert sorted(held_all) == list(rows)
    with pytest.raises(ValueError, match="at least 50 lesions"):
        fold_rows(train, rows, folds=50, fold=0, seed=0)


def test_fold_settings_are_checked():
    with pytest.raises(ValueError, match="folds"):
        TrainConfig(data="", folds=3, fold=3)


def test_weight_average_is_the_running_mean_of_the_epochs_from_start():
    import keras

    from skinapp.model.train_loop import WeightAverage

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    average = WeightAverage(start=2)
    average.set_model(model)
    for epoch, value in enumerate([1.0, 2.0, 4.0, 9.0]):
        model.layers[0].kernel.assign(np.full((2, 1), value))
        average.on_epoch_end(epoch)
    assert average.count == 3  # epochs 2, 3 and 4 (1-based)
    average.assign()
    np.testing.assert_allclose(np.array(model.layers[0].kernel), np.full((2, 1), 5.0), rtol=1e-6)


def test_more_views_reuse_a_finished_smaller_cache(tmp_path):
    import keras

    from skinapp.model.augment import AugmentParams
    from skinapp.model.train_loop import cache_activations, views_cache_path

    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    bottom = keras.Model(inputs, keras.layers.Conv2D(2, 3)(inputs))
    images = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    kw = {"seed": 3, "augment_params": AugmentParams()}
    two = cache_activations(bottom, images, views_cache_path(tmp_path, "train", 2), views=2, **kw)
    three = cache_activations(bottom, images, views_cache_path(tmp_path, "train", 3), views=3, **kw)
    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    fresh = cache_activations(
        bottom, images, views_cache_path(fresh_dir, "train", 3), views=3, **kw
    )
    assert three.shape == (3, 5, 14, 14, 2)
    np.testing.assert_array_equal(three[:2], two)
    np.testing.assert_allclose(three, fresh, atol=1e-3)  # copied views = recomputed views
