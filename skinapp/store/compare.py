"""Two visits side by side at one scale, each with its lesion outline.

Pure numpy/OpenCV: images are ``(H, W, 3) uint8`` RGB, outlines ``(N, 2)`` ``x, y`` pixels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from skinapp.analysis import draw_contour
from skinapp.io import check_image, downscale_max_side

__all__ = ["PAD_COLOR", "AlignedPair", "align_on_lesion", "align_pair", "blend", "flicker_gif"]

#: Fill of the canvas around the smaller photo (a neutral grey, unlike skin or pigment).
PAD_COLOR = (236, 239, 241)


@dataclass(frozen=True)
class AlignedPair:
    """The two photos on canvases of the same size and scale.

    Attributes
    ----------
    first, second : (H, W, 3) ndarray of uint8
        Same shape; each photo centred, outline drawn.
    mm_per_pixel : float or None
        The common scale, when both visits had one.
    note : str
        How they were aligned, for a caption.
    """

    first: np.ndarray
    second: np.ndarray
    mm_per_pixel: float | None
    note: str


def align_pair(
    first: np.ndarray,
    first_contour: np.ndarray,
    first_mm: float | None,
    second: np.ndarray,
    second_contour: np.ndarray,
    second_mm: float | None,
) -> AlignedPair:
    """Scale two photos to the same millimetres per pixel (or, without a scale on both, to
    the same long side), draw each outline, and centre both on canvases of one size, so
    that equal columns show them at the same scale.

    The finer photo is shrunk to the coarser one's scale (never enlarged beyond it).

    Raises
    ------
    InvalidImageError
        An image is not ``(H, W, 3) uint8``.

    Examples
    --------
    >>> a, b = np.zeros((100, 200, 3), np.uint8), np.zeros((50, 50, 3), np.uint8)
    >>> pair = align_pair(a, np.empty((0, 2)), 0.01, b, np.empty((0, 2)), 0.02)
    >>> pair.first.shape == pair.second.shape == (50, 100, 3)
    True
    """
    check_image(first, name="first")
    check_image(second, name="second")
    scales, common_mm, note = _scales(first, first_mm, second, second_mm)
    drawn = [
        _scaled_with_outline(image, contour, scale)
        for image, contour, scale in (
            (first, first_contour, scales[0]),
            (second, second_contour, scales[1]),
        )
    ]
    height = max(d.shape[0] for d in drawn)
    width = max(d.shape[1] for d in drawn)
    a, b = (_centre_on_canvas(d, height, width) for d in drawn)
    return AlignedPair(first=a, second=b, mm_per_pixel=common_mm, note=note)


def _scales(
    first: np.ndarray, first_mm: float | None, second: np.ndarray, second_mm: float | None
) -> tuple[tuple[float, float], float | None, str]:
    """Resize factors of both photos to one scale, the common mm per pixel, and a note."""
    if first_mm and second_mm:
        target = max(first_mm, second_mm)
        scales = (first_mm / target, second_mm / target)
        note = f"Both photos at {target:.4f} mm per pixel (from the scale saved with each visit)."
        common_mm: float | None = target
    else:
        side = min(max(first.shape[:2]), max(second.shape[:2]))
        scales = (side / max(first.shape[:2]), side / max(second.shape[:2]))
        note = (
            "No millimetre scale on both visits: photos shown at the same size, which "
            "matches only if both were taken with the same dermatoscope and zoom."
        )
        common_mm = None
    return scales, common_mm, note


def align_on_lesion(
    first: np.ndarray,
    first_contour: np.ndarray,
    first_mm: float | None,
    second: np.ndarray,
    second_contour: np.ndarray,
    second_mm: float | None,
) -> AlignedPair:
    """Like :func:`align_pair`, but each photo is shifted so that the centre of its lesion
    outline lands on the canvas centre: laid over each other (:func:`blend`,
    :func:`flicker_gif`) the two lesions coincide, and a change in size or shape shows as a
    moving edge. A photo without an outline is centred on itself.

    Examples
    --------
    >>> a = np.zeros((60, 80, 3), np.uint8)
    >>> square = np.array([[10, 10], [30, 10], [30, 30], [10, 30]])
    >>> pair = align_on_lesion(a, square, None, a, square + 40, None)
    >>> pair.first.shape == pair.second.shape
    True
    """
    check_image(first, name="first")
    check_image(second, name="second")
    scales, common_mm, note = _scales(first, first_mm, second, second_mm)
    placed = []
    for image, contour, scale in (
        (first, first_contour, scales[0]),
        (second, second_contour, scales[1]),
    ):
        points = np.asarray(contour, dtype=np.float64).reshape(-1, 2) * scale
        drawn = _scaled_with_outline(image, contour, scale)
        h, w = drawn.shape[:2]
        cx, cy = points.mean(axis=0) if len(points) >= 3 else (w / 2, h / 2)
        cx, cy = min(max(float(cx), 0.0), w), min(max(float(cy), 0.0), h)
        placed.append((drawn, int(np.rint(cx)), int(np.rint(cy))))
    half_w = max(max(cx, d.shape[1] - cx) for d, cx, _ in placed)
    half_h = max(max(cy, d.shape[0] - cy) for d, _, cy in placed)
    width, height = 2 * half_w, 2 * half_h
    canvases = []
    for drawn, cx, cy in placed:
        canvas = np.empty((height, width, 3), np.uint8)
        canvas[:] = PAD_COLOR
        top, left = half_h - cy, half_w - cx
        canvas[top : top + drawn.shape[0], left : left + drawn.shape[1]] = drawn
        canvases.append(canvas)
    return AlignedPair(
        first=canvases[0],
        second=canvases[1],
        mm_per_pixel=common_mm,
        note=note + " Both lesions are centred on their outline's centre.",
    )


def blend(first: np.ndarray, second: np.ndarray, weight: float) -> np.ndarray:
    """``first`` faded into ``second``: weight 0 shows ``first``, 1 shows ``second``.

    Raises
    ------
    ValueError
        Different shapes, or ``weight`` outside [0, 1].
    """
    if first.shape != second.shape:
        raise ValueError(f"Shapes differ. Received: {first.shape} and {second.shape}")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"`weight` must be in [0, 1]. Received: `weight={weight}`")
    return cv2.addWeighted(first, 1.0 - weight, second, weight, 0.0)


def flicker_gif(first: np.ndarray, second: np.ndarray, *, period_ms: int = 700) -> bytes:
    """A looping two-frame GIF that flips between the photos (the eye catches what moves).

    The frames are re-encoded from pixels (no metadata); long side at most 512 px.
    """

    frames = [
        Image.fromarray(downscale_max_side(np.ascontiguousarray(f), 512)) for f in (first, second)
    ]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="GIF", save_all=True, append_images=frames[1:], duration=period_ms, loop=0
    )
    return buffer.getvalue()


def _scaled_with_outline(image: np.ndarray, contour: np.ndarray, scale: float) -> np.ndarray:
    points = np.asarray(contour, dtype=np.float64).reshape(-1, 2)
    if abs(scale - 1.0) > 1e-6:
        h, w = image.shape[:2]
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = cv2.resize(np.ascontiguousarray(image), size, interpolation=cv2.INTER_AREA)
        points = points * scale
    return draw_contour(image, np.round(points).astype(np.int32))


def _centre_on_canvas(image: np.ndarray, height: int, width: int) -> np.ndarray:
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = PAD_COLOR
    top = (height - image.shape[0]) // 2
    left = (width - image.shape[1]) // 2
    canvas[top : top + image.shape[0], left : left + image.shape[1]] = image
    return canvas
