"""The training dataset filter (``--train-datasets``) selects the right rows."""

from __future__ import annotations

import pandas as pd
import pytest

from skinapp.model.train_loop import TrainConfig, select_splits


def _meta() -> pd.DataFrame:
    rows = []
    for split in ("train", "val", "test"):
        for ds in ("HAM10000", "ISIC2017", "PH2"):
            for label in ("benign", "malignant"):
                rows.append(
                    {
                        "image_id": f"{split}-{ds}-{label}",
                        "split": split,
                        "dataset": ds,
                        "label": label,
                        "dx": "nv" if label == "benign" else "mel",
                    }
                )
    return pd.DataFrame(rows)


def test_filter_keeps_only_the_chosen_training_datasets():
    splits = select_splits(_meta(), TrainConfig(data="x", train_datasets=("HAM10000",)))
    assert set(splits["train"]["dataset"]) == {"HAM10000"}
    assert len(splits["train"]) == 2
    # validation is not filtered: model selection still sees every collection
    assert set(splits["val"]["dataset"]) == {"HAM10000", "ISIC2017", "PH2"}
    assert "test" not in splits  # test is never touched by training


def test_no_filter_keeps_every_training_row():
    splits = select_splits(_meta(), TrainConfig(data="x"))
    assert len(splits["train"]) == 6


def test_filter_on_several_datasets():
    cfg = TrainConfig(data="x", train_datasets=("ISIC2017", "PH2"))
    assert set(select_splits(_meta(), cfg)["train"]["dataset"]) == {"ISIC2017", "PH2"}


def test_filter_that_leaves_one_class_is_refused():
    meta = _meta()
    meta = meta[~((meta["dataset"] == "PH2") & (meta["label"] == "malignant"))]
    with pytest.raises(ValueError, match="benign and malignant"):
        select_splits(meta, TrainConfig(data="x", train_datasets=("PH2",)))
