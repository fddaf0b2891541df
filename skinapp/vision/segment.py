"""Lesion segmentation of dermoscopy images with classical image processing (no learning).

The lesion is the region that is darker and more saturated than the skin around it. The
steps, all at a small working resolution (long side ``work_size``, 224 px by default) and
then scaled back to the input size:

1. **Colour constancy.** Shades of Gray (``p = 6``) removes the lamp's colour cast, so the
   same thresholds work for every dermatoscope.
2. **Dark frame and ink.** Very dark pixels joined to the image edge are the black frame
   of a round dermatoscope field of view; they are left out, as are strongly coloured
   blue, green, cyan and purple pixels (ink marks, rulers, coloured stickers), whose hues no
   lesion has.
3. **Lesion feature.** A per-pixel value that is high on lesion (:func:`lesion_feature`):
   lesions absorb blue light (melanin, blood) and are darker and more saturated than skin.
   With ``feature="auto"`` (default) steps 3-7 run for ``0.7 * (255 - blue) + 0.3 *
   saturation``, ``255 - blue`` and ``255 - min(R, G, B)``, and the result whose lesion and
   surrounding skin are best separated (Fisher ratio) is kept. Thin dark lines (hairs) are
   removed from the feature with a grey-level opening, and it is blurred.
4. **Flat field.** A quadratic surface fitted to the skin pixels is subtracted, which
   removes vignetting and slow shading across the photo.
5. **Threshold.** Otsu's threshold ``t`` on the valid pixels; the cut is placed at
   ``skin + threshold_level * (t - skin)`` (``skin`` = median feature of the pixels below
   ``t``), slightly towards the skin because annotated masks include the paler rim.
6. **Region choice.** After an opening and a closing, the connected region with the largest
   centre-weighted area (a Gaussian of width ``center_sigma``) wins; regions touching the
   image edge or the dark frame are penalised by ``exp(-border_penalty * f)``, ``f`` being
   the share of that edge they touch.
7. **Local refinement.** The threshold is computed again (same rule, ``local_level``) in a
   neighbourhood of the chosen region, where the skin is better represented than in the
   whole photo, and the region is grown or shrunk accordingly.
8. **Shape.** Holes are filled; optionally (``convex_hull``, off by default) the outline is
   replaced by its convex hull.

Parameters were tuned on the ``train`` and ``val`` images of the ISIC 2017 and PH2 masks in
``shared/data/derm`` (never on ``test``); ``models/segmentation_metrics.json`` has the
scores (``python -m skinapp.vision.measure``).

Scale
-----
Pixel sizes (``hair_size``, ``blur_size``, ``morph_size``) are given for a working image
whose long side is :data:`REFERENCE_SIDE` (224 px) and scaled with the working image.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields

import cv2
import numpy as np

from skinapp.io import check_image
from skinapp.params import check_ranges, ui
from skinapp.preprocess.params import ColorConstancyParams
from skinapp.preprocess.transforms import apply_color_constancy

logger = logging.getLogger(__name__)

__all__ = [
    "FEATURES",
    "MIN_SIDE",
    "REFERENCE_SIDE",
    "SegmentParams",
    "Segmentation",
    "lesion_feature",
    "segment_lesion",
]

#: Long side (px) of the working image for which pixel parameters are given.
REFERENCE_SIDE = 224
#: Images with a side shorter than this (px) are not segmented (``found=False``).
MIN_SIDE = 16
#: Names of the lesion features :func:`lesion_feature` computes.
FEATURES = ("blue_saturation", "blue", "darkness", "saturation", "lightness")

#: Features tried by ``feature="auto"``; the one separating lesion and skin best wins.
_AUTO_FEATURES = ("blue_saturation", "blue", "darkness")
_COLOR_CONSTANCY = ColorConstancyParams(method="shades_of_gray", p=6)
# Hue (OpenCV scale 0-179), saturation and value (0-255) of ink and stickers: green, cyan,
# blue and purple. Fewer than 0.2 % of annotated lesion pixels fall in this box (masks of
# the derm data, before colour constancy).
_INK_HUE = (35, 150)
_INK_MIN_SATURATION = 60
_INK_MIN_VALUE = 80
_STICKER_MIN_SATURATION = 190
_STICKER_MIN_VALUE = 150
_STICKER_MIN_SHARE = 0.01
_NOTHING_FOUND = (
    "No lesion found: nothing in the image stands out from the skin around it. If the lesion "
    "fills the whole photo, take one that shows some normal skin around it."
)
# The region must cover at least this many working pixels.
_MIN_REGION_PX = 12


@dataclass(frozen=True)
class SegmentParams:
    """Parameters of :func:`segment_lesion` (defaults tuned on the train/val masks).

    Pixel sizes are for a working image with a 224-px long side and scale with it.
    ``method`` and ``sensitivity`` choose and tune the outline the app shows
    (:func:`skinapp.vision.learned.outline_lesion`); the other fields are the classical method's.
    """

    #: Which method outlines the lesion: the learned U-Net (falls back to the classical
    #: method when ``models/segmenter.tflite`` is missing) or the classical image processing.
    method: str = field(
        default="learned",
        metadata=ui(
            help="learned: the trained network draws the outline; classical: thresholds and "
            "region rules (the parameters below) do.",
            choices=("learned", "classical"),
        ),
    )
    #: Boundary sensitivity of the learned outline (0.5 = the threshold tuned on val).
    sensitivity: float = field(
        default=0.5,
        metadata=ui(
            0.0,
            1.0,
            0.05,
            "Learned outline only: higher takes in more of the pale rim, lower keeps only "
            "the surest core (0.5 is the validated setting).",
        ),
    )

    #: Long side (px) of the working image; larger inputs are shrunk to it first.
    work_size: int = field(
        default=224,
        metadata=ui(
            64,
            1024,
            16,
            "The photo is shrunk to this long side before segmenting: "
            "smaller is faster but the outline is coarser.",
        ),
    )
    #: Correct the illuminant's colour cast (Shades of Gray, p = 6) first.
    color_constancy: bool = field(
        default=True,
        metadata=ui(help="Remove the lamp's colour cast first so all cameras look alike."),
    )
    #: Which per-pixel value separates lesion from skin (see :func:`lesion_feature`);
    #: "auto" tries three and keeps the best-separated result.
    feature: str = field(
        default="auto",
        metadata=ui(
            help="What makes a pixel look like lesion: auto tries three and keeps the clearest; "
            "or little blue light plus strong colour, little blue light, darkness, colour "
            "strength, low lightness.",
            choices=("auto", *FEATURES),
        ),
    )
    #: Side (px) of the grey-level opening that erases thin dark lines (hairs); 1 = off.
    hair_size: int = field(
        default=7,
        metadata=ui(
            1,
            21,
            2,
            "Dark lines thinner than this (pixels) are ignored, so hairs are not "
            "taken for lesion; 1 turns it off.",
            odd=True,
        ),
    )
    #: Side (px) of the Gaussian blur of the feature; 1 = off.
    blur_size: int = field(
        default=5,
        metadata=ui(
            1, 15, 2, "Blur before thresholding: larger gives smoother outlines.", odd=True
        ),
    )
    #: Pixels darker than this share of the bright-skin level and joined to the image edge
    #: are the black frame of the dermatoscope and are ignored; 0 = off.
    frame_threshold: float = field(
        default=0.25,
        metadata=ui(
            0.0,
            0.6,
            0.05,
            "Very dark corners (the round dermatoscope frame) darker than this "
            "share of the skin brightness are ignored; 0 turns it off.",
        ),
    )
    #: Ignore strongly coloured blue/green/cyan/purple pixels (ink, stickers).
    ignore_ink: bool = field(
        default=True,
        metadata=ui(help="Ignore ink marks and coloured stickers (blue, green, purple)."),
    )
    #: Subtract a quadratic fit of the skin (removes vignetting and shading).
    flatten: bool = field(
        default=True,
        metadata=ui(help="Even out slow brightness changes across the photo before cutting."),
    )
    #: Cut between the skin level (0) and Otsu's threshold (1).
    threshold_level: float = field(
        default=0.9,
        metadata=ui(
            0.3,
            1.5,
            0.05,
            "Where the cut lies between skin (0) and Otsu's automatic "
            "threshold (1): lower takes in paler lesion edges.",
        ),
    )
    #: Same as ``threshold_level`` for the local re-threshold around the chosen region.
    local_level: float = field(
        default=0.8,
        metadata=ui(
            0.3,
            1.5,
            0.05,
            "The same cut, computed again in the lesion's neighbourhood "
            "only, where the nearby skin is the reference.",
        ),
    )
    #: Rounds of local re-thresholding; 0 = off.
    local_rounds: int = field(
        default=1,
        metadata=ui(0, 3, 1, "How many times the cut is refined around the lesion (0 = never)."),
    )
    #: Neighbourhood of the local re-threshold: the region grown by this times sqrt(area).
    local_margin: float = field(
        default=0.5,
        metadata=ui(
            0.1,
            2.0,
            0.05,
            "Size of the neighbourhood for the local cut, relative to the lesion's size.",
        ),
    )
    #: Side (px) of the opening and closing that clean the thresholded mask; 1 = off.
    morph_size: int = field(
        default=5,
        metadata=ui(
            1, 15, 2, "Removes specks and closes small gaps in the mask (pixels).", odd=True
        ),
    )
    #: Width of the Gaussian centre weight, as a share of the half image size.
    center_sigma: float = field(
        default=0.3,
        metadata=ui(
            0.1,
            2.0,
            0.05,
            "How strongly regions near the centre are preferred: smaller prefers the centre more.",
        ),
    )
    #: Weight against regions that touch the image edge or the dark frame.
    border_penalty: float = field(
        default=8.0,
        metadata=ui(
            0.0,
            30.0,
            1.0,
            "How strongly regions that run along the photo's edge (shadows, frame) are avoided.",
        ),
    )
    #: Replace the outline by its convex hull (off: the outline must follow the border, so
    #: that the border and asymmetry measures can see irregularity).
    convex_hull: bool = field(
        default=False,
        metadata=ui(help="Smooth the outline to its convex hull (fills notches in the edge)."),
    )
    #: Minimum mean feature difference between lesion and surrounding skin (0-255 scale)
    #: for a lesion to be reported.
    min_contrast: float = field(
        default=4.0,
        metadata=ui(
            0.0,
            60.0,
            1.0,
            "How much the lesion must stand out from the skin to be reported at all (0-255 scale).",
        ),
    )

    def __post_init__(self) -> None:
        name = type(self).__name__
        for attr in ("color_constancy", "ignore_ink", "flatten", "convex_hull"):
            value = getattr(self, attr)
            if not isinstance(value, bool):
                raise ValueError(
                    f"{name}.{attr} must be True or False. Received: `{attr}={value!r}`"
                )
        for attr in ("work_size", "hair_size", "blur_size", "local_rounds", "morph_size"):
            value = getattr(self, attr)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name}.{attr} must be an integer. Received: `{attr}={value!r}`")
        for attr in (
            "frame_threshold",
            "threshold_level",
            "local_level",
            "local_margin",
            "center_sigma",
            "border_penalty",
            "min_contrast",
            "sensitivity",
        ):
            value = getattr(self, attr)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name}.{attr} must be a number. Received: `{attr}={value!r}`")
        check_ranges(self)

    def unused_fields(self, *, learned_installed: bool = True) -> tuple[str, ...]:
        """Names of the fields the outline of these parameters does not read.

        As :func:`skinapp.vision.learned.outline_lesion` decides: when the learned segmenter
        draws the outline (``method="learned"`` and installed), every classical field;
        otherwise (classical, or its fallback) ``sensitivity``, which only moves the
        learned outline.
        """
        if self.method == "learned" and learned_installed:
            return tuple(f.name for f in fields(self) if f.name not in _LEARNED_FIELDS)
        return ("sensitivity",)


#: The fields of :class:`SegmentParams` that the learned outline reads.
_LEARNED_FIELDS = ("method", "sensitivity")


@dataclass(frozen=True)
class Segmentation:
    """Result of :func:`segment_lesion`.

    Attributes
    ----------
    mask : (H, W) ndarray of bool
        True on the lesion, same size as the input image; all False when not ``found``.
    contour : (N, 2) ndarray of int32
        Outline of ``mask`` as ``x, y`` pixel coordinates (``(0, 2)`` when not found).
    bbox : tuple of int
        ``(x, y, w, h)`` bounding box of ``mask`` in input pixels (zeros when not found).
    found : bool
        A lesion was found.
    touches_border : bool
        The lesion reaches the image edge or the dark dermatoscope frame, so part of it may
        be outside the photo (its size and shape are then underestimated).
    area_fraction : float
        Share of the image covered by ``mask``, in [0, 1].
    message : str
        One sentence for the user about the result.
    """

    mask: np.ndarray
    contour: np.ndarray
    bbox: tuple[int, int, int, int]
    found: bool
    touches_border: bool
    area_fraction: float
    message: str
    #: ``"learned"`` (the U-Net of :mod:`skinapp.vision.learned`) or ``"classical"``.
    method: str = "classical"
    #: Learned only: how sharp the probability map is at the border, in [0, 1].
    confidence: float | None = None
    #: Learned only: the confidence is below the val-derived cut-off (the outline may be off).
    uncertain: bool = False
    #: Learned only: the probability threshold that cut the map.
    threshold: float | None = None
    #: Learned only: the model's ``(S, S)`` lesion probability map (square geometry).
    probability: np.ndarray | None = field(default=None, repr=False, compare=False)


def segment_lesion(image: np.ndarray, params: SegmentParams = SegmentParams()) -> Segmentation:
    """Outline the skin lesion in a dermoscopy image.

    See the module docstring for the method. The image is not modified.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB dermoscopy image in [0, 255], any size (larger images are shrunk internally to
        ``params.work_size``; the mask is scaled back).
    params : SegmentParams
        Segmentation parameters.

    Returns
    -------
    Segmentation
        ``mask`` (H, W) bool, ``contour`` (N, 2) int32 ``x, y``, ``bbox`` ``(x, y, w, h)``,
        ``found``, ``touches_border``, ``area_fraction`` in [0, 1] and a ``message``
        ("No lesion found ..." when nothing stands out from the skin).

    Raises
    ------
    InvalidImageError
        ``image`` is not ``(H, W, 3) uint8``.

    Examples
    --------
    >>> skin = np.full((120, 160, 3), (205, 160, 140), np.uint8)
    >>> _ = cv2.circle(skin, (80, 60), 30, (110, 70, 50), -1)
    >>> seg = segment_lesion(skin)
    >>> seg.found, seg.touches_border, round(seg.area_fraction, 2)
    (True, False, 0.15)
    """
    check_image(image)
    height, width = image.shape[:2]
    if min(height, width) < MIN_SIDE:
        return _not_found(
            (height, width),
            f"No lesion found: the image is too small to segment "
            f"({width}×{height} px, at least {MIN_SIDE} px per side expected).",
        )
    work, scale = _working_image(image, params.work_size)
    ink = _ink(work, _odd(5, scale)) if params.ignore_ink else None
    if params.color_constancy:
        work = apply_color_constancy(work, _COLOR_CONSTANCY)
    small, frame = _segment_working(work, ink, params, scale)
    if small is None:
        return _not_found((height, width), _NOTHING_FOUND)
    return _result(small, frame, (height, width))


def lesion_feature(image: np.ndarray, feature: str = "blue_saturation") -> np.ndarray:
    """Per-pixel lesion likelihood, high on lesion and low on skin.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB image.
    feature : str
        ``"blue_saturation"``: ``0.7 * (255 - B) + 0.3 * S``; ``"blue"``: ``255 - B``;
        ``"darkness"``: ``255 - min(R, G, B)``; ``"saturation"``: ``S`` of HSV;
        ``"lightness"``: ``255 - L`` of CIELab (all on the 0-255 scale).

    Returns
    -------
    (H, W) ndarray of float32
        Feature in [0, 255].

    Raises
    ------
    ValueError
        ``feature`` is not one of :data:`FEATURES`.
    """
    rgb = image.astype(np.float32)
    if feature == "blue":
        return 255.0 - rgb[..., 2]
    if feature == "darkness":
        return 255.0 - rgb.min(axis=2)
    if feature == "lightness":
        return 255.0 - cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)
    saturation = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)[..., 1].astype(np.float32)
    if feature == "saturation":
        return saturation
    if feature == "blue_saturation":
        return 0.7 * (255.0 - rgb[..., 2]) + 0.3 * saturation
    raise ValueError(f"feature must be one of {FEATURES}. Received: `feature={feature!r}`")


# === Working-resolution pipeline ===


def _segment_working(
    work: np.ndarray, ink: np.ndarray | None, params: SegmentParams, scale: float
) -> tuple[np.ndarray | None, np.ndarray]:
    """(h, w) bool lesion mask of the working image (None if not found), and its frame mask.

    ``ink`` is the ink/sticker mask (None to keep every pixel).
    """
    h, w = work.shape[:2]
    frame = _dark_frame(work, params.frame_threshold, scale)
    valid = ~frame
    if ink is not None:
        without_ink = valid & ~ink
        if without_ink.sum() > 0.2 * h * w:
            valid = without_ink
    if valid.sum() < 0.2 * h * w:  # the frame rule misfired (a very dark photo)
        frame = np.zeros((h, w), bool)
        valid = np.ones((h, w), bool)

    names = _AUTO_FEATURES if params.feature == "auto" else (params.feature,)
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for name in names:
        mask, feature = _segment_feature(work, name, valid, frame, params, scale)
        if mask is None:
            continue
        score = _separation(mask, feature, valid, params) if len(names) > 1 else 0.0
        if best is None or score > best[0]:
            best = (score, mask, feature)
    if best is None:
        return None, frame
    _, mask, feature = best
    if params.convex_hull:
        mask = _convex_hull(mask) & ~frame | mask
    if mask.sum() < _MIN_REGION_PX or _contrast(mask, feature, valid, params) < params.min_contrast:
        return None, frame
    return mask, frame


def _segment_feature(
    work: np.ndarray,
    name: str,
    valid: np.ndarray,
    frame: np.ndarray,
    params: SegmentParams,
    scale: float,
) -> tuple[np.ndarray | None, np.ndarray]:
    """Steps 3-7 of the module docstring for one feature: (mask or None, flat feature)."""
    feature = lesion_feature(work, name)
    if params.hair_size > 1:
        feature = cv2.morphologyEx(feature, cv2.MORPH_OPEN, _disk(_odd(params.hair_size, scale)))
    if params.blur_size > 1:
        side = _odd(params.blur_size, scale)
        feature = cv2.GaussianBlur(feature, (side, side), 0)

    threshold = _otsu(feature[valid])
    if params.flatten:
        feature = _flatten(feature, valid & (feature <= threshold))
        threshold = _otsu(feature[valid])
    lesion = valid & (feature > threshold)
    skin_values = feature[valid & ~lesion]
    skin = float(np.median(skin_values)) if skin_values.size else threshold
    morph = _odd(params.morph_size, scale)
    cut = skin + params.threshold_level * (threshold - skin)
    mask = _choose_region(_clean(valid & (feature > cut), morph), frame, params)
    if mask is None:
        return None, feature
    mask = _fill_holes(mask)
    for _ in range(params.local_rounds):
        refined = _local_refine(mask, feature, valid, params, morph)
        if refined is None:
            break
        mask = refined
    return mask, feature


def _separation(
    mask: np.ndarray, feature: np.ndarray, valid: np.ndarray, params: SegmentParams
) -> float:
    """Fisher ratio ``(mean_in - mean_out)² / (var_in + var_out)`` of the feature inside
    the mask and in the skin around it (scale-free, so features can be compared)."""
    radius = max(3, int(params.local_margin * np.sqrt(mask.sum())))
    roi = _dilate(mask, radius) & valid
    inside, outside = feature[roi & mask], feature[roi & ~mask]
    if inside.size < 5 or outside.size < 5:
        return 0.0
    return float((inside.mean() - outside.mean()) ** 2 / (inside.var() + outside.var() + 1e-6))


def _local_refine(
    mask: np.ndarray, feature: np.ndarray, valid: np.ndarray, params: SegmentParams, morph: int
) -> np.ndarray | None:
    """Threshold again in a neighbourhood of ``mask``; keep the pieces overlapping it."""
    radius = max(3, int(params.local_margin * np.sqrt(mask.sum())))
    roi = _dilate(mask, radius) & valid
    near_skin = roi & ~_dilate(mask, 3)
    if near_skin.sum() < 30:
        return None
    threshold = _otsu(feature[roi])
    skin = float(np.median(feature[near_skin]))
    cut = skin + params.local_level * (threshold - skin)
    candidate = _clean(roi & (feature > cut), morph)
    _, labels = cv2.connectedComponents(candidate.astype(np.uint8))
    keep = np.unique(labels[mask & candidate])
    keep = keep[keep > 0]
    if keep.size == 0:
        return None
    return _fill_holes(np.isin(labels, keep))


def _contrast(mask: np.ndarray, feature: np.ndarray, valid: np.ndarray, params) -> float:
    """Mean feature of the lesion minus the median of the skin ring around it."""
    radius = max(3, int(params.local_margin * np.sqrt(mask.sum())))
    ring = _dilate(mask, radius) & valid & ~_dilate(mask, 2)
    if ring.sum() < 10:
        ring = valid & ~mask
    if not ring.any():
        return 0.0
    return float(feature[mask].mean() - np.median(feature[ring]))


def _dark_frame(work: np.ndarray, threshold: float, scale: float) -> np.ndarray:
    """(h, w) bool: large very dark regions touching the image edge (the dermatoscope's
    frame); ``scale`` is the working image's long side over 224 px."""
    h, w = work.shape[:2]
    if threshold <= 0:
        return np.zeros((h, w), bool)
    value = work.max(axis=2)
    dark = (value < threshold * np.percentile(value, 90)).astype(np.uint8)
    # An opening erases thin dark lines (hairs running off the photo), which are no frame.
    dark = cv2.morphologyEx(dark, cv2.MORPH_OPEN, _disk(_odd(9, scale)))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(dark)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    edge = edge[(edge > 0) & (stats[edge, cv2.CC_STAT_AREA] >= 0.005 * h * w)]
    frame = np.isin(labels, edge)
    if frame.any():
        frame = _dilate(frame, 3)
    return frame


def _ink(work: np.ndarray, grow: int) -> np.ndarray:
    """(h, w) bool: strongly coloured green/cyan/blue/purple pixels (ink, stickers).

    Computed on the photo before colour constancy, which can turn a dark reddish lesion
    purple; dark pixels are never ink, as their hue is unreliable.
    """
    hsv = cv2.cvtColor(work, cv2.COLOR_RGB2HSV)
    hue, sat, value = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    ink = (
        (hue >= _INK_HUE[0])
        & (hue <= _INK_HUE[1])
        & (sat > _INK_MIN_SATURATION)
        & (value >= _INK_MIN_VALUE)
    )
    # Coloured stickers (yellow, orange, red dots): large blobs of very saturated, bright
    # colour. Lesions are darker or less saturated; single pixels of that colour are kept.
    vivid = ((sat > _STICKER_MIN_SATURATION) & (value > _STICKER_MIN_VALUE)).astype(np.uint8)
    if vivid.any():
        vivid = cv2.morphologyEx(vivid, cv2.MORPH_OPEN, _disk(grow))
        _, labels, stats, _ = cv2.connectedComponentsWithStats(vivid)
        big = np.nonzero(stats[:, cv2.CC_STAT_AREA] >= _STICKER_MIN_SHARE * vivid.size)[0]
        ink |= np.isin(labels, big[big > 0])
    if ink.any():
        ink = cv2.dilate(ink.astype(np.uint8), _disk(grow)) > 0
    return ink


def _flatten(feature: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """``feature`` minus a quadratic surface least-squares fitted to it on ``skin`` pixels."""
    h, w = feature.shape
    ys, xs = np.nonzero(skin)
    if ys.size < 50:
        return feature
    step = max(1, ys.size // 2000)
    ys, xs = ys[::step], xs[::step]

    def design(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x = x / max(w - 1, 1) * 2 - 1
        y = y / max(h - 1, 1) * 2 - 1
        return np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=-1)

    coef, *_ = np.linalg.lstsq(
        design(xs.astype(np.float32), ys.astype(np.float32)), feature[ys, xs], rcond=None
    )
    grid_y, grid_x = np.mgrid[0:h, 0:w].astype(np.float32)
    surface = design(grid_x, grid_y) @ coef.astype(np.float32)
    return (feature - surface).astype(np.float32)


def _choose_region(mask: np.ndarray, frame: np.ndarray, params: SegmentParams):
    """The connected region with the best centre-weighted, edge-penalised area, or None."""
    h, w = mask.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    if count <= 1:
        return None
    grid_y, grid_x = np.mgrid[0:h, 0:w].astype(np.float32)
    d2 = ((grid_x - (w - 1) / 2) / (w / 2)) ** 2 + ((grid_y - (h - 1) / 2) / (h / 2)) ** 2
    weight = np.exp(-d2 / (2 * params.center_sigma**2))
    score = np.bincount(labels.ravel(), weights=weight.ravel(), minlength=count)
    edge = _edge_ring(frame)
    touching = np.bincount(labels[edge], minlength=count) / max(1, int(edge.sum()))
    score = score * np.exp(-params.border_penalty * touching)
    score[0] = -1.0
    score[stats[:, cv2.CC_STAT_AREA] < _MIN_REGION_PX] = -1.0
    best = int(np.argmax(score))
    if score[best] <= 0:
        return None
    return labels == best


def _edge_ring(frame: np.ndarray) -> np.ndarray:
    """(h, w) bool: the outermost pixels of the image and of the frame's inner edge."""
    inside = ~frame
    ring = np.zeros(frame.shape, bool)
    ring[0], ring[-1], ring[:, 0], ring[:, -1] = True, True, True, True
    eroded = cv2.erode(
        inside.astype(np.uint8),
        np.ones((3, 3), np.uint8),
        borderType=cv2.BORDER_CONSTANT,
        borderValue=1,
    )
    return (ring & inside) | (inside & (eroded == 0))


# === Small helpers ===


def _working_image(image: np.ndarray, work_size: int) -> tuple[np.ndarray, float]:
    """The image shrunk to a long side of at most ``work_size``, and its scale vs 224 px."""
    height, width = image.shape[:2]
    long_side = max(height, width)
    if long_side <= work_size:
        return np.ascontiguousarray(image), long_side / REFERENCE_SIDE
    factor = work_size / long_side
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    work = cv2.resize(np.ascontiguousarray(image), size, interpolation=cv2.INTER_AREA)
    return work, work_size / REFERENCE_SIDE


def _odd(size: int, scale: float) -> int:
    """``size`` px at 224 px in pixels of the working image, odd and at least 1."""
    if size <= 1:
        return 1
    return max(3, round(size * scale)) | 1


def _disk(side: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    return cv2.dilate(mask.astype(np.uint8), _disk(2 * radius + 1)) > 0


def _clean(mask: np.ndarray, side: int) -> np.ndarray:
    """Opening then closing with a disc of diameter ``side`` (no-op for 1)."""
    if side <= 1:
        return mask
    element = _disk(side)
    out = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, element)
    return cv2.morphologyEx(out, cv2.MORPH_CLOSE, element) > 0


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold of float ``values`` (computed on 256 bins between the 0.5 and 99.5
    percentiles)."""
    if values.size == 0:
        return 0.0
    low, high = np.percentile(values, [0.5, 99.5])
    if high - low < 1e-6:
        return float(high)
    scaled = np.clip((values - low) / (high - low) * 255, 0, 255).astype(np.uint8)
    level, _ = cv2.threshold(scaled.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return float(low + level / 255 * (high - low))


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every background region not connected to the image edge filled."""
    _, labels = cv2.connectedComponents((~mask).astype(np.uint8), connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return mask | ((labels > 0) & ~np.isin(labels, edge))


def _convex_hull(mask: np.ndarray) -> np.ndarray:
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    hull = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(hull, [cv2.convexHull(np.vstack(contours))], 1)
    return hull > 0


def outline_message(touches_border: bool, area_fraction: float) -> str:
    """The sentence shown under an outline, whichever method drew it."""
    if touches_border:
        return (
            "The lesion touches the image border: part of it may be outside the photo, so "
            "its size and shape may be underestimated."
        )
    return f"Lesion outlined: it covers {area_fraction:.1%} of the image."


def _not_found(shape: tuple[int, int], message: str) -> Segmentation:
    return Segmentation(
        mask=np.zeros(shape, bool),
        contour=np.zeros((0, 2), np.int32),
        bbox=(0, 0, 0, 0),
        found=False,
        touches_border=False,
        area_fraction=0.0,
        message=message,
    )


def _result(small: np.ndarray, frame: np.ndarray, shape: tuple[int, int]) -> Segmentation:
    """Build the full-resolution :class:`Segmentation` from the working-size mask."""
    height, width = shape
    touches = bool((small & _edge_ring(frame)).sum() >= 2)
    if small.shape != shape:
        up = cv2.resize(
            small.astype(np.uint8) * 255, (width, height), interpolation=cv2.INTER_LINEAR
        )
        mask = up >= 128
    else:
        mask = small.copy()
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:  # vanished in resizing (a few-pixel lesion on a huge image)
        return _not_found(shape, _NOTHING_FOUND)
    contour = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.int32)
    x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
    fraction = float(mask.mean())
    message = outline_message(touches, fraction)
    return Segmentation(
        mask=mask,
        contour=contour,
        bbox=(int(x), int(y), int(w), int(h)),
        found=True,
        touches_border=touches,
        area_fraction=fraction,
        message=message,
    )
