"""The two-tier trust detector on synthetic features, its generated fitting images, and the
leave-one-source-out table."""

from __future__ import annotations

import numpy as np
import pytest

from skinapp.errors import ModelLoadError
from skinapp.measure_loso import flag_table
from skinapp.trust.detector import fit_detector, load_detector
from skinapp.trust.negatives import FAMILIES, generated_negatives, varied_lesions

F = 48


@pytest.fixture(scope="module")
def world():
    """Lesions: a low-rank cloud around a shared direction; sources differ by a small shift
    along a direction no other source varies in; non-lesions point elsewhere."""
    rng = np.random.default_rng(0)
    centre = np.zeros(F)
    centre[:4] = 5.0
    basis = rng.normal(size=(6, F))

    def lesions(n, shift=0.0):
        x = centre + rng.normal(size=(n, 6)) @ basis * 0.3
        x[:, 40] += shift  # another clinic: a shift the fit sources never show
        return x

    negatives = rng.normal(size=(400, F)) * 3
    negatives[:, 10:20] += 6
    train, val, other = lesions(600), lesions(300), lesions(300, shift=1.5)
    non_lesions = rng.normal(size=(100, F)) * 3  # unlike the fitting negatives, too
    non_lesions[:, 20:30] += 6
    return {
        "train": train,
        "val": val,
        "other_source": other,
        "negatives": negatives,
        "non_lesions": non_lesions,
    }


def test_not_a_lesion_needs_both_scores_and_unusual_is_the_distance_alone(world):
    det = fit_detector(world["train"], world["val"], world["negatives"], model_version="v1")
    val = det.assess(world["val"])
    assert np.mean([a.ood for a in val]) <= 0.01
    assert np.mean([a.unusual for a in val]) == pytest.approx(0.015, abs=0.02)
    shifted = det.assess(world["other_source"])
    # far from the training lesions (unusual), but still lesion-like: not "not a lesion"
    assert np.mean([a.ood for a in shifted]) <= 0.02
    assert np.mean([a.unusual for a in shifted]) > 0.5
    photos = det.assess(world["non_lesions"])
    assert np.mean([a.ood for a in photos]) > 0.9
    assert not any(a.ood and a.unusual for a in [*val, *shifted, *photos])
    ood_scores = [a.ood_score for a in photos]
    assert min(ood_scores) > np.median([a.ood_score for a in val])


def test_feature_maps_and_round_trip(world, tmp_path):
    det = fit_detector(
        world["train"], world["val"], world["negatives"], varied_lesions=world["val"][:50]
    )
    maps = np.broadcast_to(world["val"][:, None, None, :], (len(world["val"]), 2, 2, F))
    assert [a.ood_score for a in det.assess(maps)] == pytest.approx(
        [a.ood_score for a in det.assess(world["val"])]
    )
    det.save(tmp_path / "ood.npz")
    loaded = load_detector(tmp_path / "ood.npz")
    assert [a.ood_score for a in loaded.assess(world["non_lesions"])] == pytest.approx(
        [a.ood_score for a in det.assess(world["non_lesions"])], rel=1e-4, abs=1e-4
    )
    with pytest.raises(ValueError, match="fitted on 48 features"):
        det.assess(np.ones((2, 8)))
    with pytest.raises(ValueError, match="not_lesion_quantile"):
        fit_detector(world["train"], world["val"], world["negatives"], not_lesion_quantile=0)
    (tmp_path / "old.npz").write_bytes(b"not an npz")
    with pytest.raises(ModelLoadError, match="trust detector"):
        load_detector(tmp_path / "old.npz")


def test_generated_images_are_rgb_and_varied_lesions_keep_their_shape():
    rng = np.random.default_rng(0)
    negatives = generated_negatives(rng, n_per_family=3, size=64)
    assert set(negatives) == set(FAMILIES)
    for images in negatives.values():
        assert images and all(im.shape == (64, 64, 3) and im.dtype == np.uint8 for im in images)
    lesion = np.full((60, 80, 3), (200, 150, 130), np.uint8)
    varied = varied_lesions([lesion, lesion], rng)
    assert len(varied) == 2 and all(v.dtype == np.uint8 and v.ndim == 3 for v in varied)


def test_flag_table_checks_the_targets_per_diagnosis():
    dx = np.array(["nv"] * 100 + ["bcc"] * 20 + ["df"] * 5)
    ood = np.zeros(125, bool)
    ood[100] = True  # 1 of 20 BCC: 5 %, at the limit
    ood[120:] = True  # 5 of 5 df: under 20 images, not checked per diagnosis
    table = flag_table(ood, np.zeros(125, bool), dx)
    assert table["per_dx"]["bcc"] == {"n": 20, "ood": 0.05, "unusual": 0.0}
    assert table["worst_dx_ood_with_20_images"] == 0.05
    assert table["ood"] == pytest.approx(6 / 125) and not table["meets_targets"]  # 4.8 % > 2 %
    ood[120:] = False
    assert flag_table(ood, np.zeros(125, bool), dx)["meets_targets"]
    ood[101] = True  # 2 of 20 BCC: 10 %
    assert not flag_table(ood, np.zeros(125, bool), dx)["meets_targets"]


def test_held_out_groups_follow_the_sources_present():
    from skinapp.measure_loso import _groups

    split = np.array(["train", "val", "test"] * 4)
    derm = np.repeat(["HAM10000", "ISIC2017", "ISIC_ARCHIVE", "PH2"], 3)
    assert set(_groups(derm, split)) == {
        "HAM10000",
        "ISIC2017",
        "ISIC_ARCHIVE",
        "PH2",
        "ISIC2017+ISIC_ARCHIVE",
    }
    other = np.repeat(["A", "B"], 6)
    assert _groups(other, split) == {"A": ("A",), "B": ("B",)}
    assert _groups(np.repeat(["A"], 12), split) == {}  # nothing left to fit on
