"""The learned segmenter's serving side: cutting the probability map into an outline."""

import itertools

import cv2
import numpy as np
import pytest

from skinapp.vision.learned import (
    FALLBACK_NOTE,
    SegmenterInfo,
    boundary_confidence,
    mask_from_probability,
    outline_from_probability,
    outline_lesion,
    threshold_for,
)
from skinapp.vision.segment import SegmentParams


def blob(size=64, centre=(32, 32), radius=14, blur=1.0):
    """A disc of probability 1 on 0, its edge softened by a Gaussian of ``blur`` px."""
    p = np.zeros((size, size), np.float32)
    cv2.circle(p, centre, radius, 1.0, -1)
    return cv2.GaussianBlur(p, (0, 0), blur) if blur else p


class FakeSegmenter:
    def __init__(self, probability):
        self.info = SegmenterInfo(input_size=probability.shape[0], threshold=0.5)
        self.map = probability
        self.calls = 0

    def probability(self, image):
        self.calls += 1
        return self.map


def test_threshold_for_is_the_tuned_threshold_at_half_and_falls_with_sensitivity():
    assert threshold_for(0.5, 0.42) == pytest.approx(0.42)
    values = [threshold_for(s, 0.42) for s in np.linspace(0, 1, 11)]
    assert all(a > b for a, b in itertools.pairwise(values))
    assert values[0] == pytest.approx(0.95) and values[-1] == pytest.approx(0.05)


def test_boundary_confidence_is_high_for_a_sharp_map_and_low_for_a_blurred_one():
    assert boundary_confidence(blob(blur=0)) == pytest.approx(1.0)
    assert boundary_confidence(blob(blur=1)) > 0.8
    assert boundary_confidence(blob(blur=8)) < 0.6
    assert boundary_confidence(np.zeros((8, 8), np.float32)) == 1.0


def test_mask_is_at_the_photos_size_keeps_two_parts_drops_specks_and_fills_holes():
    p = blob(centre=(18, 32), radius=10) + blob(centre=(46, 32), radius=10)
    p[2, 2] = 1.0  # a speck
    cv2.circle(p, (18, 32), 3, 0.0, -1)  # a hole in the first part
    mask = mask_from_probability(np.clip(p, 0, 1), (300, 400), 0.5)
    assert mask.shape == (300, 400)
    count, _ = cv2.connectedComponents(mask.astype(np.uint8))
    assert count - 1 == 2
    assert mask[150, 112]  # the hole (x = 18/64 of 400, y = 32/64 of 300) is filled
    assert not mask[:20, :20].any()


def test_outline_follows_a_notched_border_without_convex_hull():
    p = blob(radius=20, blur=0)
    cv2.circle(p, (32, 12), 9, 0.0, -1)  # a deep notch at the top
    seg = outline_from_probability(p, (256, 256), 0.5)
    hull = cv2.convexHull(seg.contour.reshape(-1, 1, 2))
    assert seg.found and seg.method == "learned"
    assert seg.mask.sum() < 0.93 * cv2.contourArea(hull)
    assert not seg.mask[64, 128]  # inside the notch: not lesion


def test_blurred_map_is_flagged_uncertain_and_empty_map_is_not_found():
    sharp = outline_from_probability(blob(), (128, 128), 0.5, min_confidence=0.7)
    blurred = outline_from_probability(blob(blur=8), (128, 128), 0.5, min_confidence=0.7)
    empty = outline_from_probability(np.zeros((64, 64), np.float32), (128, 128), 0.5)
    assert not sharp.uncertain and blurred.uncertain
    assert blurred.confidence < sharp.confidence
    assert not empty.found and "No lesion" in empty.message and not empty.mask.any()


def test_lower_threshold_grows_the_outline():
    p = blob(blur=3)
    small = outline_from_probability(p, (128, 128), threshold_for(0.2))
    large = outline_from_probability(p, (128, 128), threshold_for(0.8))
    assert large.mask.sum() > small.mask.sum()
    assert (small.mask & ~large.mask).sum() == 0


def test_touching_the_edge_is_reported():
    seg = outline_from_probability(blob(centre=(4, 32), radius=12), (200, 200), 0.5)
    assert seg.touches_border


def test_outline_lesion_uses_the_model_only_when_asked_and_installed():
    photo = np.full((120, 160, 3), (205, 160, 140), np.uint8)
    cv2.circle(photo, (80, 60), 30, (110, 70, 50), -1)
    fake = FakeSegmenter(blob())
    learned = outline_lesion(photo, SegmentParams(), fake)
    assert learned.method == "learned" and learned.mask.shape == (120, 160)
    classical = outline_lesion(photo, SegmentParams(method="classical"), fake)
    fallback = outline_lesion(photo, SegmentParams(), None)
    assert fake.calls == 1
    assert classical.method == fallback.method == "classical"
    assert fallback.found and "classical" in FALLBACK_NOTE


def test_sensitivity_is_validated():
    with pytest.raises(ValueError, match="sensitivity"):
        SegmentParams(sensitivity=1.5)
    with pytest.raises(ValueError, match="method"):
        SegmentParams(method="magic")
