"""Pure image transforms of the preprocessing pipeline.

Every transform takes an ``(H, W, 3) uint8`` RGB image and a parameter dataclass, returns a
new ``uint8`` RGB array with values in [0, 255] (results are rounded and clipped), and never
modifies its input. With the ``"none"`` method a transform returns a copy of its input.
Hair removal lives in :mod:`skinapp.vision.hair`.

Parameter defaults are shared instances (``# noqa: B008``): the dataclasses are frozen.
"""

from __future__ import annotations

import cv2
import numpy as np

from skinapp.io import check_image
from skinapp.preprocess.params import (
    ColorConstancyParams,
    ContrastParams,
    DenoiseParams,
    ResizeParams,
)

__all__ = ["apply_color_constancy", "denoise", "enhance_contrast", "resize"]

_INTERPOLATION = {
    "area": cv2.INTER_AREA,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "nearest": cv2.INTER_NEAREST,
}


# === Geometry ===


def resize(image: np.ndarray, params: ResizeParams = ResizeParams()) -> np.ndarray:  # noqa: B008
    """Bring an image to a square ``size × size`` input.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB image.
    params : ResizeParams
        ``mode="stretch"`` resizes to ``size × size`` ignoring the aspect ratio (as in
        training); ``"pad"`` fits the long side to ``size`` and centres the image on black
        or edge-replicated borders; ``"crop"`` fits the short side to ``size`` and cuts the
        centre; ``"none"`` returns a copy.

    Returns
    -------
    (size, size, 3) ndarray of uint8
        RGB in [0, 255]; ``(H, W, 3)`` for ``mode="none"``.

    Raises
    ------
    InvalidImageError
        ``image`` is not ``(H, W, 3) uint8``.

    Examples
    --------
    >>> resize(np.zeros((150, 200, 3), np.uint8), ResizeParams(size=64, mode="pad")).shape
    (64, 64, 3)
    """
    check_image(image)
    if params.mode == "none":
        return image.copy()
    height, width = image.shape[:2]
    size = params.size
    if params.mode == "stretch":
        return _resample(image, size, size, params.interpolation)
    if params.mode == "pad":
        scale = size / max(height, width)
        new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
        fitted = _resample(image, new_w, new_h, params.interpolation)
        top, left = (size - new_h) // 2, (size - new_w) // 2
        border = cv2.BORDER_CONSTANT if params.pad_fill == "black" else cv2.BORDER_REPLICATE
        return cv2.copyMakeBorder(
            fitted, top, size - new_h - top, left, size - new_w - left, border, value=(0, 0, 0)
        )
    # crop
    scale = size / min(height, width)
    new_h, new_w = max(size, round(height * scale)), max(size, round(width * scale))
    fitted = _resample(image, new_w, new_h, params.interpolation)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return np.ascontiguousarray(fitted[top : top + size, left : left + size])


def _resample(image: np.ndarray, width: int, height: int, interpolation: str) -> np.ndarray:
    """``cv2.resize`` to ``(height, width)``; "auto" = area to shrink, linear to enlarge."""
    if (height, width) == image.shape[:2]:
        return image.copy()
    if interpolation == "auto":
        shrinking = height <= image.shape[0] and width <= image.shape[1]
        flag = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    else:
        flag = _INTERPOLATION[interpolation]
    return cv2.resize(np.ascontiguousarray(image), (width, height), interpolation=flag)


# === Filtering ===


def denoise(image: np.ndarray, params: DenoiseParams = DenoiseParams()) -> np.ndarray:  # noqa: B008
    """Reduce noise with a Gaussian, median, bilateral or non-local-means filter.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB image.
    params : DenoiseParams
        ``method`` selects the filter; ``kernel_size`` is the window (gaussian, median)
        or diameter (bilateral); ``sigma`` the spatial spread (0 = OpenCV's default for the
        kernel size); ``color_sigma`` the bilateral range spread; ``strength`` the
        non-local-means ``h``.

    Returns
    -------
    (H, W, 3) ndarray of uint8
        Filtered RGB in [0, 255]; a copy for ``method="none"``.

    Raises
    ------
    InvalidImageError
        ``image`` is not ``(H, W, 3) uint8``.

    Notes
    -----
    Non-local means costs about 1 s for a 1024-px image; use it on 224-px images.

    Examples
    --------
    >>> denoise(np.zeros((8, 8, 3), np.uint8), DenoiseParams(method="median")).shape
    (8, 8, 3)
    """
    check_image(image)
    method, k = params.method, params.kernel_size
    if method == "none":
        return image.copy()
    source = np.ascontiguousarray(image)
    if method == "gaussian":
        return cv2.GaussianBlur(source, (k, k), params.sigma)
    if method == "median":
        return cv2.medianBlur(source, k)
    if method == "bilateral":
        # OpenCV's own default sigma for a Gaussian of this size when sigma is 0.
        sigma_space = params.sigma or 0.3 * ((k - 1) * 0.5 - 1) + 0.8
        return cv2.bilateralFilter(source, k, params.color_sigma, sigma_space)
    # nlm: OpenCV's colour variant works in CIELab and expects BGR.
    bgr = cv2.cvtColor(source, cv2.COLOR_RGB2BGR)
    clean = cv2.fastNlMeansDenoisingColored(bgr, None, params.strength, params.strength, 7, 21)
    return cv2.cvtColor(clean, cv2.COLOR_BGR2RGB)


def enhance_contrast(image: np.ndarray, params: ContrastParams = ContrastParams()) -> np.ndarray:  # noqa: B008
    """Enhance contrast on the lightness channel (L of CIELab), keeping the colours.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB image.
    params : ContrastParams
        ``method="hist_eq"`` equalises the lightness histogram of the whole image;
        ``"clahe"`` equalises ``tile_grid × tile_grid`` tiles with contrast limited to
        ``clip_limit``.

    Returns
    -------
    (H, W, 3) ndarray of uint8
        RGB in [0, 255]; a copy for ``method="none"``.

    Raises
    ------
    InvalidImageError
        ``image`` is not ``(H, W, 3) uint8``.

    Examples
    --------
    >>> enhance_contrast(np.zeros((8, 8, 3), np.uint8), ContrastParams(method="clahe")).shape
    (8, 8, 3)
    """
    check_image(image)
    if params.method == "none":
        return image.copy()
    lab = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2LAB)
    lightness = lab[:, :, 0].copy()
    if params.method == "hist_eq":
        lab[:, :, 0] = cv2.equalizeHist(lightness)
    else:
        grid = (params.tile_grid, params.tile_grid)
        lab[:, :, 0] = cv2.createCLAHE(params.clip_limit, grid).apply(lightness)
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


# === Colour ===


def apply_color_constancy(
    image: np.ndarray,
    params: ColorConstancyParams = ColorConstancyParams(),  # noqa: B008
) -> np.ndarray:
    """Remove the illuminant's colour cast (Shades of Gray / Gray World).

    The illuminant is estimated per channel as the Minkowski p-mean
    ``e_c = (mean(I_c ** p)) ** (1 / p)`` (``p = 1`` for Gray World), normalised to unit
    length, and each channel is divided by ``sqrt(3) * e_c``, so that the illuminant
    becomes grey while its overall brightness is kept.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB image.
    params : ColorConstancyParams
        ``method`` and the norm ``p``.

    Returns
    -------
    (H, W, 3) ndarray of uint8
        Corrected RGB, rounded and clipped to [0, 255]; a copy for ``method="none"``.
        A uniformly tinted image becomes uniformly grey.

    Raises
    ------
    InvalidImageError
        ``image`` is not ``(H, W, 3) uint8``.

    References
    ----------
    G. D. Finlayson and E. Trezzi, "Shades of gray and colour constancy", CIC 2004.
    C. Barata, M. E. Celebi and J. S. Marques, "Improving dermoscopy image classification
    using color constancy", IEEE JBHI 19(3), 2015.

    Examples
    --------
    >>> tinted = np.full((4, 4, 3), (200, 100, 50), np.uint8)
    >>> apply_color_constancy(tinted)[0, 0].tolist()
    [132, 132, 132]
    """
    check_image(image)
    if params.method == "none":
        return image.copy()
    p = 1 if params.method == "gray_world" else params.p
    # The p-mean from each channel's 256-bin histogram (the same sum, without raising every
    # pixel to the power p), and the gains applied through a lookup table.
    image = np.ascontiguousarray(image)
    levels = (np.arange(256, dtype=np.float64) / 255.0) ** p
    counts = np.stack(
        [cv2.calcHist([image], [c], None, [256], [0, 256])[:, 0] for c in range(3)]
    ).astype(np.float64)
    illuminant = (counts @ levels / (image.shape[0] * image.shape[1])) ** (1.0 / p)
    norm = np.linalg.norm(illuminant)
    if norm == 0:  # an all-black image has no illuminant to correct
        return image.copy()
    gains = norm / (np.sqrt(3.0) * np.maximum(illuminant, 1e-6))
    values = np.arange(256, dtype=np.float32)[:, None] * gains.astype(np.float32)[None, :]
    lut = np.clip(np.rint(values), 0, 255).astype(np.uint8).reshape(256, 1, 3)
    return cv2.LUT(image, lut)
