"""Image-quality checks of one photo, with messages that say how to take a better one.

Every check is a pure function of the RGB photo (and, for the lesion checks, of its
segmentation mask). Photo-level measures are taken on a copy shrunk to the model's scale
(long side :data:`QUALITY_SIDE`), so that a check means the same for a 4000-px phone photo
and a 224-px dataset image, and judges the photo at the resolution the classifier sees.

The thresholds below were tuned on the ``val`` split of ``shared/data/derm`` and on
synthetically degraded copies of it (never on ``test``): each is set so that few original
validation photos fail (false alarms) while the degradation at which the classifier's ROC
AUC drops by more than 0.03 fails. ``python -m skinapp.evaluate --trust`` measures them on
``test`` and writes ``models/trust.json``.

Exposure and colour cast are judged by the learned detector of
:mod:`skinapp.trust.photometric` when the model folder has one fitted for the current model
(``models/quality.npz``; pass it with the photo's pooled features); the fixed rules below
are the fallback, and the clipped-highlights rule applies in both cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from skinapp.io import check_image
from skinapp.trust.photo import QUALITY_SIDE, at_model_scale, color_cast

if TYPE_CHECKING:
    from skinapp.trust.photometric import PhotometricDetector

__all__ = [
    "BORDER_CUT_MAX",
    "BRIGHT_MEDIAN_MAX",
    "CAST_HUE_RANGE",
    "CAST_MIN_CHROMA",
    "CHECK_NAMES",
    "CLIPPED_MAX",
    "DARK_MEDIAN_MIN",
    "FOCUS_MIN",
    "LESION_AREA_MIN",
    "QUALITY_SIDE",
    "QualityCheck",
    "QualityReport",
    "at_model_scale",
    "border_cut_fraction",
    "check_quality",
    "color_cast",
    "exposure_stats",
    "focus_measure",
    "lesion_area_fraction",
]

#: Variance of the Laplacian of the luminance (grey levels², at :data:`QUALITY_SIDE`) below
#: which a photo is out of focus. 2.5 % of the validation photos are below it (they are
#: soft upscaled copies); a Gaussian blur of sigma 1.5 px, where the classifier's AUC has
#: dropped by more than 0.03 on val, brings almost all below it.
FOCUS_MIN = 8.0
#: Median luminance (0-255) below which the photo is too dark: 2 % of the original
#: validation photos are darker. Dermoscopy varies a lot in brightness, so a darkened photo
#: often looks like a naturally dark one: gamma 2 (AUC drop 0.036 on val) is caught in only
#: about 2 of 3 photos at this false-alarm rate; gamma 3 in 9 of 10.
DARK_MEDIAN_MIN = 122.0
#: Median luminance above which the photo is washed out (overexposed): 2.5 % of the
#: original validation photos are brighter; gamma 0.33 (AUC drop 0.048 on val) is caught in
#: about 4 of 5.
BRIGHT_MEDIAN_MAX = 212.0
#: Share of pixels with a clipped (>= 250) channel above which highlights are blown out
#: (99th percentile of the original validation photos: 0.41).
CLIPPED_MAX = 0.5
#: Share of the lesion's outline lying on the image edge above which the lesion is cut by
#: the border (a disc cut through its centre gives about 0.39; a lesion that only touches
#: the edge, about 0.05). About 4 % of the original validation photos exceed it (large
#: lesions that really reach the edge); crops removing a quarter of the lesion, about 3 in 4.
BORDER_CUT_MAX = 0.18
#: Share of the photo covered by the lesion below which it is too small to judge (about 2 %
#: of the original validation photos: dermoscopy frames lesions closely).
LESION_AREA_MIN = 0.01
#: Allowed hue (degrees, CIELAB a*-b* plane) of the mean colour of the lit pixels: skin and
#: lesions under a dermatoscope are red to yellow (0° to 90°). Outside this range the white
#: balance is off (blue or purple below, green above). About 3 % of the original validation
#: photos fall outside; channel gains of ±20 % towards blue or green (AUC drop 0.044 and
#: 0.041 on val) are caught in about 2 of 3 and 29 of 30 photos.
CAST_HUE_RANGE = (-34.0, 72.0)
#: Chroma below which the photo is nearly grey and its hue meaningless (never a cast).
CAST_MIN_CHROMA = 6.0

#: Names of the checks, in the order they are reported.
CHECK_NAMES = ("focus", "exposure", "border", "size", "color_cast")

_CLIP_LEVEL = 250


@dataclass(frozen=True)
class QualityCheck:
    """The result of one check.

    Attributes
    ----------
    name : str
        One of :data:`CHECK_NAMES`.
    passed : bool
        False when the photo fails the check (or, for the lesion checks, no lesion was
        segmented: ``value`` is then NaN and ``passed`` True, since it cannot be judged).
    value : float
        The measure the check is based on.
    message : str
        What is wrong and what to do (empty when passed).
    """

    name: str
    passed: bool
    value: float
    message: str = ""


@dataclass(frozen=True)
class QualityReport:
    """Every check of one photo, in :data:`CHECK_NAMES` order."""

    checks: tuple[QualityCheck, ...]

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> tuple[QualityCheck, ...]:
        return tuple(c for c in self.checks if not c.passed)

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(c.message for c in self.failed)

    def __getitem__(self, name: str) -> QualityCheck:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def to_dict(self) -> dict[str, dict]:
        return {
            c.name: {"passed": c.passed, "value": c.value, "message": c.message}
            for c in self.checks
        }


# === Measures ===


def _luminance(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)


def focus_measure(image: np.ndarray) -> float:
    """Sharpness: variance of the Laplacian of the luminance at the model's scale.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB photo of any size.

    Returns
    -------
    float
        In grey levels² (>= 0); higher is sharper. Comparable across photo sizes because it
        is measured on a copy with long side :data:`QUALITY_SIDE`.

    Examples
    --------
    >>> flat = np.full((50, 50, 3), 128, np.uint8)
    >>> focus_measure(flat)
    0.0
    """
    check_image(image)
    gray = _luminance(at_model_scale(image)).astype(np.float32)
    return float(cv2.Laplacian(gray, cv2.CV_32F, ksize=1).var())


def exposure_stats(image: np.ndarray) -> dict[str, float]:
    """Brightness statistics of the luminance at the model's scale.

    Returns
    -------
    dict
        ``median``: median luminance (0-255); ``clipped``: share of pixels with a channel
        >= 250, in [0, 1].
    """
    check_image(image)
    small = at_model_scale(image)
    return {
        "median": float(np.median(_luminance(small))),
        "clipped": float((small.max(axis=-1) >= _CLIP_LEVEL).mean()),
    }


def border_cut_fraction(mask: np.ndarray) -> float:
    """Share of a lesion's outline that lies on the image edge.

    Parameters
    ----------
    mask : (H, W) ndarray of bool
        Lesion mask.

    Returns
    -------
    float
        In [0, 1]: 0 when the lesion is inside the photo, about 0.4 for a disc cut in half
        by the edge, 1 when it fills the photo; 0 for an empty mask.

    Examples
    --------
    >>> mask = np.zeros((100, 100), bool)
    >>> mask[30:70, 0:40] = True  # a square cut by the left edge
    >>> round(border_cut_fraction(mask), 2)
    0.26
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return 0.0
    padded = np.pad(mask, 1).astype(np.uint8)
    inner = cv2.erode(padded, np.ones((3, 3), np.uint8))[1:-1, 1:-1].astype(bool)
    outline = mask & ~inner
    edge = np.zeros_like(mask)
    edge[[0, -1], :] = True
    edge[:, [0, -1]] = True
    return float((outline & edge).sum() / outline.sum())


def lesion_area_fraction(mask: np.ndarray) -> float:
    """Share of the photo covered by the lesion mask, in [0, 1]."""
    mask = np.asarray(mask, dtype=bool)
    return float(mask.mean()) if mask.size else 0.0


# === Checks ===


def _cast_name(hue: float) -> str:
    if -135 <= hue < CAST_HUE_RANGE[0]:
        return "blue"
    if CAST_HUE_RANGE[1] < hue < 180:
        return "green"
    if CAST_HUE_RANGE[0] <= hue <= CAST_HUE_RANGE[1]:
        return "unusual"  # the learned check saw a cast the mean hue does not show
    return "cyan"


def check_quality(
    image: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    detector: PhotometricDetector | None = None,
    features: np.ndarray | None = None,
) -> QualityReport:
    """Run every quality check on a photo.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB photo of any size; not modified.
    mask : (H', W') ndarray of bool, optional
        Lesion segmentation (any size; only shares are used). None when no lesion was
        found: the border and size checks then pass with a NaN value, since the
        segmentation's own message already says that nothing was found.
    detector : PhotometricDetector, optional
        Learned exposure and colour-cast checks for the current model; used together with
        ``features`` (else the fixed rules decide).
    features : (F,) ndarray, optional
        The classifier's pooled features of this photo (:attr:`Prediction.features`).

    Returns
    -------
    QualityReport

    Raises
    ------
    InvalidImageError
        ``image`` is not ``(H, W, 3) uint8``.
    """
    check_image(image)
    small = at_model_scale(image)  # every photo-level measure works at this scale: shrink once
    verdict = None
    if detector is not None and features is not None:
        verdict = detector.judge(small, features)
    checks = [_focus_check(small), _exposure_check(small, verdict)]
    has_lesion = mask is not None and np.asarray(mask, dtype=bool).any()
    if has_lesion:
        checks += [_border_check(mask), _size_check(mask)]
    else:
        checks += [
            QualityCheck("border", True, float("nan")),
            QualityCheck("size", True, float("nan")),
        ]
    checks.append(_cast_check(small, verdict))
    return QualityReport(tuple(checks))


def _focus_check(image: np.ndarray) -> QualityCheck:
    value = focus_measure(image)
    if value >= FOCUS_MIN:
        return QualityCheck("focus", True, value)
    return QualityCheck(
        "focus",
        False,
        value,
        f"The photo looks out of focus (sharpness {value:.1f}, expected at least "
        f"{FOCUS_MIN:.0f}). Hold the dermatoscope still, let the camera focus on the lesion "
        "and take it again.",
    )


def _exposure_check(image: np.ndarray, verdict: dict | None = None) -> QualityCheck:
    stats = exposure_stats(image)
    median = stats["median"]
    if verdict is None:
        dark, bright = median < DARK_MEDIAN_MIN, median > BRIGHT_MEDIAN_MAX
    else:
        dark, bright = verdict["dark"][1], verdict["bright"][1]
        if dark and bright:  # rare; the brightness itself says which
            dark, bright = median < 128, median >= 128
    if dark:
        return QualityCheck(
            "exposure",
            False,
            median,
            f"The photo is too dark (median brightness {median:.0f} of 255; shadows and "
            "colours look underexposed). Switch on or brighten the dermatoscope's light, or "
            "raise the camera's exposure, and take it again.",
        )
    if stats["clipped"] > CLIPPED_MAX or bright:
        return QualityCheck(
            "exposure",
            False,
            median,
            f"The photo is overexposed (washed out; {stats['clipped']:.0%} of the pixels are "
            "blown out white). Lower the light or the exposure, avoid glare (contact fluid or "
            "polarised mode) and take it again.",
        )
    return QualityCheck("exposure", True, median)


def _border_check(mask: np.ndarray) -> QualityCheck:
    value = border_cut_fraction(mask)
    if value <= BORDER_CUT_MAX:
        return QualityCheck("border", True, value)
    return QualityCheck(
        "border",
        False,
        value,
        f"The lesion is cut by the image border ({value:.0%} of its outline lies on the "
        "edge), so part of it is not analysed. Centre the whole lesion with a rim of normal "
        "skin around it and take it again.",
    )


def _size_check(mask: np.ndarray) -> QualityCheck:
    value = lesion_area_fraction(mask)
    if value >= LESION_AREA_MIN:
        return QualityCheck("size", True, value)
    return QualityCheck(
        "size",
        False,
        value,
        f"The lesion fills only {value:.1%} of the photo, too little to judge its detail. "
        "Move closer or zoom in so that it fills a good part of the frame.",
    )


def _cast_check(image: np.ndarray, verdict: dict | None = None) -> QualityCheck:
    hue, chroma = color_cast(image)
    low, high = CAST_HUE_RANGE
    if verdict is None:
        passed = chroma < CAST_MIN_CHROMA or low <= hue <= high
    else:
        passed = not verdict["color_cast"][1]
    if passed:
        return QualityCheck("color_cast", True, hue)
    return QualityCheck(
        "color_cast",
        False,
        hue,
        f"The colours have a strong {_cast_name(hue)} cast (white balance off). Use the "
        "dermatoscope's own light, set the camera's white balance to auto or daylight, and "
        "take it again.",
    )
