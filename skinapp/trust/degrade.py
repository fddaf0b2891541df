"""Synthetic degradations of dermoscopy photos and synthetic non-dermoscopy images.

Used only to measure the trust checks (:mod:`skinapp.measure_trust`) and in tests. Every
function is pure: ``(H, W, 3) uint8`` RGB in, a new ``uint8`` RGB image out, randomness only
through an explicit ``rng``.
"""

from __future__ import annotations

import cv2
import numpy as np

from skinapp.io import check_image

__all__ = [
    "color_cast",
    "crop_cut",
    "document_image",
    "flat_image",
    "gamma",
    "gaussian_blur",
    "jpeg",
    "noise_image",
    "text_image",
    "zoom_out",
]

#: Sigmas of :func:`gaussian_blur` are given for an image whose long side is this (px).
REFERENCE_SIDE = 224


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Defocus: Gaussian blur with ``sigma`` px at a 224-px long side (scaled with size)."""
    check_image(image)
    if sigma <= 0:
        return image.copy()
    scaled = sigma * max(image.shape[:2]) / REFERENCE_SIDE
    return cv2.GaussianBlur(image, (0, 0), scaled)


def gamma(image: np.ndarray, value: float) -> np.ndarray:
    """Exposure change ``255 * (x / 255) ** value``: darker for ``value > 1``, brighter below 1."""
    check_image(image)
    table = np.clip(255.0 * (np.arange(256) / 255.0) ** value + 0.5, 0, 255).astype(np.uint8)
    return table[image]


def color_cast(image: np.ndarray, strength: float, color: str = "blue") -> np.ndarray:
    """White-balance error: channel gains ``1 ± strength`` towards ``"blue"`` or ``"green"``."""
    check_image(image)
    gains = {
        "blue": (1 - strength, 1.0, 1 + strength),
        "green": (1 - strength, 1 + strength, 1 - strength),
    }[color]
    return np.clip(image * np.asarray(gains, np.float32) + 0.5, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int = 90) -> np.ndarray:
    """Save and reload as JPEG, as a camera or phone stores a photo after the error happened.

    A tone curve or channel gain applied to decoded pixels leaves gaps in the histogram that a
    real, compressed photo does not have; compressing again removes that tell-tale trace, so a
    check cannot pass by spotting it.
    """
    check_image(image)
    ok, buffer = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("OpenCV could not encode the image as JPEG.")
    return np.ascontiguousarray(cv2.imdecode(buffer, cv2.IMREAD_COLOR)[:, :, ::-1])


def crop_cut(image: np.ndarray, mask: np.ndarray, cut: float, side: str = "right") -> np.ndarray:
    """Crop the photo so that the image edge cuts ``cut`` of the lesion's extent.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
    mask : (H, W) ndarray of bool
        The lesion (must not be empty).
    cut : float in (0, 1)
        Share of the lesion's width (or height) that falls outside the crop.
    side : {"left", "right", "top", "bottom"}
        Which edge of the lesion is cut off.

    Returns
    -------
    ndarray of uint8
        The crop (at least 16 px on each side).
    """
    check_image(image)
    ys, xs = np.nonzero(np.asarray(mask, dtype=bool))
    if xs.size == 0:
        raise ValueError("`mask` is empty: there is no lesion to cut.")
    h, w = image.shape[:2]
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    if side == "right":
        return image[:, : max(16, int(x1 - cut * (x1 - x0)))].copy()
    if side == "left":
        return image[:, min(w - 16, int(x0 + cut * (x1 - x0))) :].copy()
    if side == "bottom":
        return image[: max(16, int(y1 - cut * (y1 - y0)))].copy()
    if side == "top":
        return image[min(h - 16, int(y0 + cut * (y1 - y0))) :].copy()
    raise ValueError(f"`side` must be left, right, top or bottom. Received: `side={side!r}`")


def zoom_out(image: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Lesion smaller in the frame: shrink by ``factor`` and surround with skin-like margin.

    The margin is the median colour of the photo's outer rim plus mild noise, so that the
    output keeps the input's size.
    """
    check_image(image)
    h, w = image.shape[:2]
    small = cv2.resize(
        image, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA
    )
    rim = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    out = np.clip(np.median(rim, axis=0) + rng.normal(0, 3, (h, w, 3)), 0, 255).astype(np.uint8)
    y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    out[y : y + small.shape[0], x : x + small.shape[1]] = small
    return out


# === Non-dermoscopy images ===


def flat_image(rng: np.random.Generator, size: int = 224) -> np.ndarray:
    """A single random colour."""
    return np.full((size, size, 3), rng.integers(0, 256, 3), np.uint8)


def noise_image(rng: np.random.Generator, size: int = 224) -> np.ndarray:
    """Uniform colour noise, smoothed at a random scale (from pixel noise to blobs)."""
    noise = rng.integers(0, 256, (size, size, 3)).astype(np.uint8)
    sigma = float(rng.choice([0, 1, 3, 8]))
    if sigma:
        noise = cv2.GaussianBlur(noise, (0, 0), sigma)
        noise = cv2.normalize(noise, None, 0, 255, cv2.NORM_MINMAX)
    return noise


def text_image(rng: np.random.Generator, size: int = 224) -> np.ndarray:
    """A few large words in a random colour on a random plain background."""
    out = np.full((size, size, 3), rng.integers(0, 256, 3), np.uint8)
    words = ["skin", "photo", "lesion", "report", "hello", "data", "clinic", "sample"]
    for row in range(int(rng.integers(2, 5))):
        text = " ".join(rng.choice(words, 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        y = 40 + row * 50
        cv2.putText(out, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.9, colour, 2, cv2.LINE_AA)
    return out


def document_image(rng: np.random.Generator, size: int = 224) -> np.ndarray:
    """A scanned-page look: a title, lines of small text and a table on white paper."""
    out = np.full((size, size, 3), int(rng.integers(225, 256)), np.uint8)
    ink = (20, 20, 20)
    cv2.putText(out, "REPORT", (10, 24), cv2.FONT_HERSHEY_DUPLEX, 0.7, ink, 1, cv2.LINE_AA)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz     "))
    for i in range(int(rng.integers(6, 12))):
        line = "".join(rng.choice(letters, 34))
        cv2.putText(out, line, (10, 44 + 14 * i), cv2.FONT_HERSHEY_PLAIN, 0.8, ink, 1, cv2.LINE_AA)
    top = 44 + 14 * 12
    for x in range(10, size - 10, 51):
        cv2.line(out, (x, top), (x, size - 6), ink, 1)
    cv2.line(out, (10, top), (size - 10, top), ink, 1)
    noise = rng.normal(0, 4, out.shape)
    return np.clip(out + noise, 0, 255).astype(np.uint8)
