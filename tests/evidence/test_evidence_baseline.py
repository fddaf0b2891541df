"""The ABCD baseline: features with missing indicators, fitted on train, compared paired."""

from __future__ import annotations

import statistics

import numpy as np
import pandas as pd
import pytest

from skinapp.evidence.baseline import FeatureBuilder, run_baseline
from skinapp.evidence.descriptors import DESCRIPTOR_COLUMNS, lesion_record


def _tables(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    meta = pd.DataFrame(
        {
            "image_id": [f"I{i}" for i in range(n)],
            "label": np.where(y == 1, "malignant", "benign"),
            "dx": np.where(y == 1, "mel", "nv"),
            "split": rng.choice(["train", "val", "test"], n, p=[0.6, 0.2, 0.2]),
            "age": np.where(rng.random(n) < 0.2, np.nan, rng.integers(20, 80, n)),
            "sex": rng.choice(["male", "female", None], n),
            "localization": rng.choice(["back", "face", "unknown", None], n),
        }
    )
    desc = pd.DataFrame({c: rng.random(n) for c in DESCRIPTOR_COLUMNS})
    desc["asymmetry"] = y + rng.normal(0, 0.6, n)  # the informative ABCD descriptor
    desc["fractal_dimension"] = np.where(rng.random(n) < 0.1, np.nan, desc["fractal_dimension"])
    desc["found"] = 1
    desc["image_id"] = meta["image_id"]
    return meta, desc, y


def test_feature_builder_imputes_and_flags_missing_values():
    meta, desc, _ = _tables()
    table = meta.merge(desc, on="image_id")
    train = table["split"] == "train"
    table.loc[~train, "age"] += 15  # val/test patients older: their median is not train's
    builder = FeatureBuilder(with_meta=True).fit(table[train])
    x = builder.transform(table)
    assert not x.isna().any().any()
    assert (x["age_missing"] == table["age"].isna()).all()
    # missing values become the *training* median, computed here without the builder
    for column in ("age", "fractal_dimension"):
        known = [float(v) for v in table[column] if not np.isnan(v)]
        train_median = statistics.median(float(v) for v in table.loc[train, column].dropna())
        assert train_median != statistics.median(known)  # the fixture tells the two apart
        assert x.loc[table[column].isna(), column].eq(train_median).all(), column
    assert (x["sex_missing"] == ~table["sex"].isin(["male", "female"])).all()
    assert (x["site_missing"] == table["localization"].fillna("unknown").eq("unknown")).all()
    assert "site_back" in x and "site_unknown" not in x
    assert list(FeatureBuilder(with_meta=False).fit(table).transform(table).columns) == [
        "found",
        *DESCRIPTOR_COLUMNS,
    ]


def test_baseline_is_fitted_on_train_chosen_on_val_and_compared_paired():
    meta, desc, y = _tables()
    test = meta["split"] == "test"
    rng = np.random.default_rng(9)
    # a "CNN" that knows the label much better than the descriptors do
    cnn = pd.DataFrame(
        {"image_id": meta["image_id"], "log_odds": 3 * y + rng.normal(0, 0.5, len(y))}
    )
    # logistic regression only: gradient boosting is slow on a shared 2-core machine
    out = run_baseline(meta, desc, cnn[test], n_boot=200, families=("logistic_regression",))
    assert out["n"]["test"] == test.sum()
    abcd = out["models"]["abcd"]
    assert abcd["chosen"] in abcd["val_auc"]
    assert abcd["val_auc"][abcd["chosen"]] == max(abcd["val_auc"].values())
    assert 0.75 < abcd["test_auc"]["auc"] < out["cnn"]["auc"]
    d = abcd["cnn_minus_baseline"]
    assert d["bootstrap"]["diff"] > 0 and d["delong"]["p"] < 0.01
    coef = abcd["logistic_regression"]["standardised_coefficients"]
    assert next(iter(coef)) == "asymmetry" and coef["asymmetry"] > 0  # largest weight first
    # metadata carry no signal here: no significant gain
    assert out["meta_minus_abcd"]["delong"]["p"] > 0.01


def test_candidates_cover_both_families():
    from skinapp.evidence.baseline import candidates

    names = [n for n, _ in candidates()]
    assert any(n.startswith("logistic_regression") for n in names)
    assert any(n.startswith("gradient_boosting") for n in names)
    assert all(n.startswith("gradient") for n, _ in candidates(("gradient_boosting",)))


def test_lesion_record_on_a_drawn_lesion():
    import cv2

    image = np.full((120, 160, 3), (205, 160, 140), np.uint8)
    cv2.circle(image, (80, 60), 30, (110, 70, 50), -1)
    row = lesion_record(image)
    assert row["found"] == 1 and row["touches_border"] == 0
    assert row["diameter_rel"] == pytest.approx(60 / 160, abs=0.05)
    assert row["asymmetry"] < 0.1
    blank = lesion_record(np.full((120, 160, 3), (205, 160, 140), np.uint8))
    assert blank["found"] == 0 and np.isnan(blank["asymmetry"])


def test_descriptor_cache_computes_once(tiny_derm, tmp_path, monkeypatch):
    from skinapp.evidence import descriptors

    cache = tmp_path / "desc.csv"
    ids = ["IMG_0000", "IMG_0001", "IMG_0002"]
    first = descriptors.load_descriptors(tiny_derm, ids, cache)
    assert list(first["image_id"]) == ids and first["found"].all()

    def fail(*args, **kwargs):
        raise AssertionError("recomputed a cached image")

    monkeypatch.setattr(descriptors, "compute_descriptors", fail)
    again = descriptors.load_descriptors(tiny_derm, ids[::-1], cache)
    assert list(again["image_id"]) == ids[::-1]
    assert again.set_index("image_id").loc[ids, "asymmetry"].tolist() == pytest.approx(
        first["asymmetry"].tolist()
    )
