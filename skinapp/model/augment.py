"""Training-time augmentation that suits dermoscopy, as a pure numpy/OpenCV function.

Dermoscopic lesions have no canonical orientation, so all eight flips/90° rotations are
label-preserving; small zoom and shift mimic framing; brightness, contrast, saturation and hue
jitter mimic different dermoscopes and lighting. Randomness comes only from the ``rng`` passed
in, so a seed reproduces the views exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentParams:
    """Ranges of the random augmentation (each applied independently).

    Attributes
    ----------
    max_zoom : float
        Zoom-in factor drawn from [1, max_zoom].
    max_shift : float
        Shift as a fraction of the side, drawn from [-max_shift, max_shift] per axis.
    brightness : float
        Additive brightness drawn from [-brightness, brightness] grey levels.
    contrast : float
        Multiplicative contrast drawn from [1 - contrast, 1 + contrast].
    saturation : float
        Multiplicative saturation drawn from [1 - saturation, 1 + saturation].
    hue : float
        Hue shift in degrees drawn from [-hue, hue].
    """

    max_zoom: float = 1.15
    max_shift: float = 0.06
    brightness: float = 16.0
    contrast: float = 0.15
    saturation: float = 0.15
    hue: float = 6.0


def dihedral(image: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 symmetries of the square: ``k % 4`` quarter turns, flipped if ``k >= 4``."""
    out = np.rot90(image, k % 4)
    if k >= 4:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def augment(image: np.ndarray, rng: np.random.Generator, params: AugmentParams = AugmentParams()):
    """Return a randomly augmented copy of a square ``(S, S, 3) uint8`` RGB image.

    The output has the same shape and dtype; the input is not modified.
    """
    size = image.shape[0]
    out = dihedral(image, int(rng.integers(8)))

    zoom = rng.uniform(1.0, params.max_zoom)
    dx, dy = rng.uniform(-params.max_shift, params.max_shift, 2) * size
    centre = size / 2.0
    matrix = np.array(
        [[zoom, 0, (1 - zoom) * centre + dx], [0, zoom, (1 - zoom) * centre + dy]], np.float32
    )
    out = cv2.warpAffine(
        out, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )

    hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-params.hue, params.hue) / 2.0) % 180.0
    hsv[..., 1] *= rng.uniform(1 - params.saturation, 1 + params.saturation)
    out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB)

    contrast = rng.uniform(1 - params.contrast, 1 + params.contrast)
    brightness = rng.uniform(-params.brightness, params.brightness)
    mean = out.mean()
    out = (out.astype(np.float32) - mean) * contrast + mean + brightness
    return np.clip(out, 0, 255).astype(np.uint8)
