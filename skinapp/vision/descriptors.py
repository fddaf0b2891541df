"""ABCD descriptors of a segmented lesion: Asymmetry, Border, Colour, Diameter.

These are measurements of the outline and colours that dermatologists' ABCD checklist
looks at. They are **descriptive numbers, not a diagnosis**: many benign lesions are
asymmetric or multicoloured, and a few melanomas are neither.

Formulas (``M`` is the lesion mask, ``|M|`` its area in pixels):

- **Asymmetry** along each principal axis ``k`` (the major and minor axes of ``M``'s
  second moments, through its centroid): ``A_k = |M Δ R_k(M)| / (2 |M|)``, where ``R_k``
  reflects the mask about axis ``k`` and ``Δ`` is the symmetric difference. ``A_k`` is the
  share of the lesion whose mirror image falls outside the lesion: 0 for a shape symmetric
  about that axis, at most 1. The combined score is the mean of the two axes.
- **Compactness index** ``P² / (4 π |M|)``, with ``P`` the perimeter: 1 for a disc, larger
  for elongated or ragged outlines (a square scores 4/π ≈ 1.27). ``P`` is the length of the
  outer outline after Douglas-Peucker simplification with a 1-px tolerance, which removes
  the pixel staircase (it inflates a digital circle's length by about 5 %).
- **Fractal dimension** of the outline by box counting: the outline (1-px wide) is covered
  with square boxes of side ``s = 2, 4, 8, ...`` (up to a quarter of the lesion's extent);
  the dimension is the slope of ``log N(s)`` against ``log(1 / s)`` (least squares), ``N(s)``
  being the number of boxes the outline passes through. About 1 for a smooth outline,
  higher for an irregular one; undefined (None) for lesions under 16 px across.
- **Colours**: each lesion pixel is assigned to the nearest of six reference colours
  (:data:`REFERENCE_COLORS`) by CIE76 distance ΔE in CIELab, if that distance is below
  :data:`COLOR_MAX_DELTA_E`; a colour is present when it covers at least
  :data:`COLOR_MIN_SHARE` of the lesion. Pass a colour-corrected image (Shades of Gray)
  so the lamp's tint does not shift the colours.
- **Diameter**: the maximum Feret diameter, the largest distance between two pixel centres
  of the lesion (computed on the convex hull of its outline), so a disc of radius ``r``
  measures ``2 r``. The major-axis length of the moment ellipse (``4 sqrt(λ₁)``) is given as
  well. Millimetres are ``pixels × mm_per_pixel`` when the scale is known.

Shape descriptors (asymmetry, border, diameter) use the largest connected piece of the
mask; area and colours use the whole mask.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from skinapp.io import check_image

__all__ = [
    "COLOR_MAX_DELTA_E",
    "COLOR_MIN_SHARE",
    "DESCRIBE_MAX_SIDE",
    "REFERENCE_COLORS",
    "Descriptors",
    "describe_lesion",
]

#: The six dermoscopic colours as sRGB triplets, chosen to match how each colour looks in
#: colour-corrected dermoscopy photos (white: regression/scar-like areas; red: vessels,
#: erythema; light and dark brown: melanin in the epidermis; blue-gray: melanin in the
#: dermis; black: melanin in the upper epidermis).
REFERENCE_COLORS: dict[str, tuple[int, int, int]] = {
    "white": (240, 235, 230),
    "red": (200, 60, 60),
    "light_brown": (175, 115, 75),
    "dark_brown": (100, 55, 35),
    "blue_gray": (110, 125, 145),
    "black": (35, 30, 30),
}
#: A pixel farther than this CIE76 ΔE from every reference colour is left unassigned.
#: (The references are 28-81 ΔE apart; pinkish skin is 22-61 ΔE from them.)
COLOR_MAX_DELTA_E = 25.0
#: A colour counts as present when at least this share of the lesion's pixels has it.
COLOR_MIN_SHARE = 0.05

#: Long side (px) at which :func:`describe_lesion` measures larger photos.
DESCRIBE_MAX_SIDE = 512

_MIN_FRACTAL_EXTENT = 16
_MAX_COLOR_PIXELS = 50_000
_MAX_SKIN_PIXELS = 20_000
_MIN_SKIN_PIXELS = 100


@dataclass(frozen=True)
class Descriptors:
    """ABCD measurements of one lesion (see the module docstring for the formulas).

    Attributes
    ----------
    area_px : int
        Lesion area in pixels (whole mask).
    perimeter_px : float
        Outline length in pixels (largest piece, simplified with 1-px tolerance).
    asymmetry_major, asymmetry_minor : float
        Asymmetry about the major and the minor principal axis, in [0, 1].
    asymmetry : float
        Mean of the two, in [0, 1] (0 = symmetric).
    orientation_deg : float
        Angle of the major axis from the image's x axis, in degrees (-90, 90], y down.
    compactness : float
        ``perimeter² / (4 π area)``: ~1 for a disc, larger for irregular borders.
    fractal_dimension : float or None
        Box-counting dimension of the outline (~1 smooth, higher irregular); None for
        lesions too small to measure it.
    color_shares : dict of str to float
        Share of lesion pixels assigned to each reference colour (unassigned pixels count
        in no colour).
    colors : tuple of str
        Reference colours covering at least ``COLOR_MIN_SHARE`` of the lesion.
    color_count : int
        ``len(colors)``, 0 to 6.
    diameter_px : float
        Maximum Feret diameter in pixels.
    major_axis_px : float
        Major-axis length of the moment ellipse, in pixels.
    mm_per_pixel : float or None
        Scale used for the millimetre values.
    diameter_mm, major_axis_mm, area_mm2 : float or None
        The same in millimetres when ``mm_per_pixel`` is known.
    """

    area_px: int
    perimeter_px: float
    asymmetry_major: float
    asymmetry_minor: float
    asymmetry: float
    orientation_deg: float
    compactness: float
    fractal_dimension: float | None
    color_shares: dict[str, float]
    colors: tuple[str, ...]
    color_count: int
    diameter_px: float
    major_axis_px: float
    mm_per_pixel: float | None = None
    diameter_mm: float | None = None
    major_axis_mm: float | None = None
    area_mm2: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (``colors`` as a list, ``color_shares`` copied)."""
        out = dataclasses.asdict(self)
        out["colors"] = list(self.colors)
        return out


def describe_lesion(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    mm_per_pixel: float | None = None,
    max_side: int | None = DESCRIBE_MAX_SIDE,
) -> Descriptors:
    """Measure asymmetry, border irregularity, colours and diameter of a lesion.

    Descriptive measurements only; they are not a diagnosis.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB image in [0, 255], preferably colour-corrected.
    mask : (H, W) ndarray of bool
        True on the lesion (e.g. ``segment_lesion(image).mask``); must not be empty.
    mm_per_pixel : float, optional
        Physical size of one pixel in millimetres (> 0); adds ``*_mm`` values.
    max_side : int or None
        Larger inputs are measured on a copy shrunk to this long side (area interpolation
        for the image, the mask re-cut at half coverage): 4× fewer pixels at 1024 px, and
        the box-counting dimension is then measured at the same scale for every photo.
        Areas and lengths are still reported in the input's pixels. None: full size.

    Returns
    -------
    Descriptors
        See :class:`Descriptors`; formulas in the module docstring.

    Raises
    ------
    InvalidImageError
        ``image`` is not ``(H, W, 3) uint8``.
    ValueError
        ``mask`` is not a 2-D array of the image's height and width, is empty, or
        ``mm_per_pixel`` is not a positive number.

    Examples
    --------
    >>> image = np.full((100, 100, 3), (205, 160, 140), np.uint8)
    >>> mask = np.zeros((100, 100), np.uint8)
    >>> _ = cv2.circle(mask, (50, 50), 30, 1, -1)
    >>> d = describe_lesion(image, mask.astype(bool), mm_per_pixel=0.1)
    >>> round(d.diameter_px), round(d.diameter_mm, 1), d.asymmetry < 0.05
    (60, 6.0, True)
    """
    check_image(image)
    mask = _check_mask(mask, image.shape[:2])
    if mm_per_pixel is not None and (
        isinstance(mm_per_pixel, bool)
        or not isinstance(mm_per_pixel, (int, float))
        or not math.isfinite(mm_per_pixel)
        or mm_per_pixel <= 0
    ):
        raise ValueError(
            f"mm_per_pixel must be a positive number or None. Received: `{mm_per_pixel=}`"
        )
    area = int(np.count_nonzero(mask))
    factor = 1.0  # input pixels per measured pixel
    if max_side is not None and max(mask.shape) > max_side:
        image, mask, factor = _shrink(image, mask, max_side)
    piece = _largest_piece(mask)
    contour = _outer_contour(piece)
    piece_area = int(np.count_nonzero(piece))

    centre, angle, (lam_major, _) = _principal_axes(piece)
    pixels = np.nonzero(piece)  # (ys, xs), shared by both axes
    asym_major = _axis_asymmetry(piece, pixels, centre, angle)
    asym_minor = _axis_asymmetry(piece, pixels, centre, angle + math.pi / 2)
    perimeter = float(cv2.arcLength(cv2.approxPolyDP(contour, 1.0, True), True))
    if perimeter == 0.0:  # a one- or two-pixel lesion: count the pixel edges instead
        perimeter = float(4 * piece_area)
    compactness = perimeter**2 / (4 * math.pi * piece_area)
    shares = _color_shares(image, mask)
    colors = tuple(name for name, share in shares.items() if share >= COLOR_MIN_SHARE)
    diameter = _feret_diameter(contour) * factor
    major_axis = 4.0 * math.sqrt(max(lam_major, 0.0)) * factor
    perimeter *= factor
    # orientation: y grows downwards in images; report the angle as seen (counter-clockwise).
    orientation = -math.degrees(angle)
    orientation = orientation - 180.0 if orientation > 90 else orientation
    orientation = orientation + 180.0 if orientation <= -90 else orientation
    orientation = orientation + 0.0  # no "-0.0"

    scale = float(mm_per_pixel) if mm_per_pixel is not None else None
    return Descriptors(
        area_px=area,
        perimeter_px=round(perimeter, 3),
        asymmetry_major=round(asym_major, 4),
        asymmetry_minor=round(asym_minor, 4),
        asymmetry=round((asym_major + asym_minor) / 2, 4),
        orientation_deg=round(orientation, 2),
        compactness=round(compactness, 4),
        fractal_dimension=_fractal_dimension(contour, piece.shape),
        color_shares={k: round(v, 4) for k, v in shares.items()},
        colors=colors,
        color_count=len(colors),
        diameter_px=round(diameter, 3),
        major_axis_px=round(major_axis, 3),
        mm_per_pixel=scale,
        diameter_mm=None if scale is None else round(diameter * scale, 4),
        major_axis_mm=None if scale is None else round(major_axis * scale, 4),
        area_mm2=None if scale is None else round(area * scale**2, 4),
    )


# === Helpers ===


def _shrink(
    image: np.ndarray, mask: np.ndarray, max_side: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """``image`` and ``mask`` with their long side shrunk to ``max_side``, and the factor."""
    h, w = mask.shape
    factor = max(h, w) / max_side
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(mask.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA)
    cut = small_mask >= 128
    if not cut.any():  # a lesion of a few pixels: keep its brightest trace
        cut = small_mask == small_mask.max()
    return small, cut, factor


def _check_mask(mask: Any, shape: tuple[int, int]) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.shape != shape:
        raise ValueError(
            f"mask must be a 2-D array of the image's size {shape}. "
            f"Received: `mask.shape={getattr(mask, 'shape', None)}`"
        )
    mask = mask.astype(bool)
    if not mask.any():
        raise ValueError("mask must contain the lesion. Received: an empty mask (all False).")
    return mask


def _largest_piece(mask: np.ndarray) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    if count <= 2:
        return mask
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == best


def _outer_contour(piece: np.ndarray) -> np.ndarray:
    contours, _ = cv2.findContours(piece.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    return max(contours, key=len)


def _principal_axes(piece: np.ndarray) -> tuple[tuple[float, float], float, tuple[float, float]]:
    """Centroid (x, y), major-axis angle (radians, image coordinates) and the two
    eigenvalues (major, minor) of the pixel covariance."""
    m = cv2.moments(piece.astype(np.uint8), binaryImage=True)
    cx, cy = m["m10"] / m["m00"], m["m01"] / m["m00"]
    mu20, mu02, mu11 = m["mu20"] / m["m00"], m["mu02"] / m["m00"], m["mu11"] / m["m00"]
    angle = 0.5 * math.atan2(2 * mu11, mu20 - mu02)
    common = math.sqrt(((mu20 - mu02) / 2) ** 2 + mu11**2)
    mean = (mu20 + mu02) / 2
    return (cx, cy), angle, (mean + common, mean - common)


def _axis_asymmetry(
    piece: np.ndarray,
    pixels: tuple[np.ndarray, np.ndarray],
    centre: tuple[float, float],
    angle: float,
) -> float:
    """``|M Δ R(M)| / (2 |M|)`` for the reflection R about the line through ``centre`` at
    ``angle`` (radians, image coordinates); ``pixels`` is ``np.nonzero(piece)``."""
    ys, xs = pixels
    cx, cy = centre
    cos2, sin2 = math.cos(2 * angle), math.sin(2 * angle)
    dx, dy = xs - cx, ys - cy
    # Reflection about a line through the origin at angle θ: [[cos2θ, sin2θ], [sin2θ, -cos2θ]].
    rx = np.rint(cx + cos2 * dx + sin2 * dy).astype(np.int64)
    ry = np.rint(cy + sin2 * dx - cos2 * dy).astype(np.int64)
    h, w = piece.shape
    inside = (rx >= 0) & (rx < w) & (ry >= 0) & (ry < h)
    mirrored_in_lesion = np.zeros(xs.shape, bool)
    mirrored_in_lesion[inside] = piece[ry[inside], rx[inside]]
    # |M Δ R(M)| / (2|M|) = 1 - |M ∩ R(M)| / |M| = share of pixels whose mirror image is
    # outside the lesion.
    return float(1.0 - mirrored_in_lesion.mean())


def _feret_diameter(contour: np.ndarray) -> float:
    hull = cv2.convexHull(contour).reshape(-1, 2).astype(np.float64)
    if len(hull) < 2:
        return 0.0
    diff = hull[:, None, :] - hull[None, :, :]
    return float(np.sqrt((diff**2).sum(-1).max()))


def _fractal_dimension(contour: np.ndarray, shape: tuple[int, int]) -> float | None:
    """Box-counting dimension of the 1-px outline, or None if the lesion is too small."""
    pts = contour.reshape(-1, 2)
    x0, y0 = pts.min(axis=0)
    extent = int(max(pts.max(axis=0) - pts.min(axis=0))) + 1
    if extent < _MIN_FRACTAL_EXTENT:
        return None
    outline = np.zeros((extent, extent), np.uint8)
    cv2.polylines(outline, [(pts - (x0, y0)).astype(np.int32).reshape(-1, 1, 2)], True, 1)
    sizes = [2**k for k in range(1, 12) if 2**k <= extent / 4]
    if len(sizes) < 3:
        return None
    # Boxes of side 2s are 2×2 blocks of boxes of side s (the grid starts at the origin and
    # the padding is empty), so each level is pooled from the one before.
    side = -(-extent // sizes[-1]) * sizes[-1]
    boxes = np.zeros((side, side), np.uint8)
    boxes[:extent, :extent] = outline
    counts = []
    for _ in sizes:
        n = len(boxes) // 2
        boxes = boxes.reshape(n, 2, n, 2).max(axis=(1, 3))
        counts.append(int(np.count_nonzero(boxes)))
    slope, _ = np.polyfit(np.log(1.0 / np.array(sizes)), np.log(np.array(counts)), 1)
    return round(float(slope), 4)


def _skin_lab(image: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """Median CIELab colour of the pixels outside the mask, or None if there are too few."""
    outside = image[~mask]
    if len(outside) < _MIN_SKIN_PIXELS:
        return None
    if len(outside) > _MAX_SKIN_PIXELS:  # a regular subsample: the median barely moves
        outside = outside[:: -(-len(outside) // _MAX_SKIN_PIXELS)]
    lab = cv2.cvtColor(outside.astype(np.float32)[None] / 255.0, cv2.COLOR_RGB2LAB)[0]
    return np.median(lab, axis=0)


def _color_shares(image: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    names = list(REFERENCE_COLORS)
    refs = np.array([REFERENCE_COLORS[n] for n in names], np.float32)[None] / 255.0
    ref_lab = cv2.cvtColor(refs, cv2.COLOR_RGB2LAB)[0]
    pixels = image[mask]
    if len(pixels) > _MAX_COLOR_PIXELS:  # a regular subsample: the shares barely move
        pixels = pixels[:: -(-len(pixels) // _MAX_COLOR_PIXELS)]
    pixels = pixels.astype(np.float32)[None] / 255.0
    lab = cv2.cvtColor(pixels, cv2.COLOR_RGB2LAB)[0]
    # Squared distances throughout (the same comparisons, without square roots), expanded
    # as |x|² - 2 x·r + |r|² so that the work is one small matrix product.
    norm2 = np.einsum("ij,ij->i", lab, lab)
    dist2 = norm2[:, None] - 2.0 * (lab @ ref_lab.T) + (ref_lab**2).sum(axis=1)[None, :]
    nearest = dist2.argmin(axis=1)
    best2 = dist2[np.arange(len(lab)), nearest]
    assigned = best2 < COLOR_MAX_DELTA_E**2
    skin = _skin_lab(image, mask)
    if skin is not None:  # pixels that look like the surrounding skin have no lesion colour
        diff = lab - skin.astype(np.float32)
        assigned &= np.einsum("ij,ij->i", diff, diff) >= best2
    counts = np.bincount(nearest[assigned], minlength=len(names))
    total = max(1, len(lab))
    return {name: float(counts[i] / total) for i, name in enumerate(names)}
