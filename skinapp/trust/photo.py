"""Photo-level measures shared by the rule-based quality checks and the learned detector.

:mod:`skinapp.trust.quality` (fixed rules) and :mod:`skinapp.trust.photometric` (the fitted
exposure/colour-cast detector) both judge a photo at the classifier's scale and read its
colour cast the same way; both import these measures from here, so neither imports the other.
"""

from __future__ import annotations

import cv2
import numpy as np

from skinapp.io import check_image
from skinapp.model.preprocessing import MODEL_INPUT_SIZE, at_model_scale

__all__ = ["LIT_MIN_L", "QUALITY_SIDE", "at_model_scale", "color_cast"]

#: Long side (px) at which photo-level measures are taken (:func:`at_model_scale`): the
#: classifier's input size.
QUALITY_SIDE = MODEL_INPUT_SIZE
#: Pixels darker than this (CIELAB L*, 0-255 scale) are the dermatoscope's dark frame or
#: shadow and are left out of the colour-cast estimate.
LIT_MIN_L = 40


def color_cast(image: np.ndarray) -> tuple[float, float]:
    """Hue (degrees) and chroma of the mean colour of the lit pixels, in CIELAB.

    Returns
    -------
    (hue, chroma) : (float, float)
        ``hue`` in (-180, 180] from the a* axis (0 = red, 90 = yellow, -90 = blue);
        ``chroma`` >= 0 (0 for a grey photo).
    """
    check_image(image)
    lab = cv2.cvtColor(at_model_scale(image), cv2.COLOR_RGB2LAB).reshape(-1, 3)
    lit = lab[lab[:, 0] > LIT_MIN_L]
    if len(lit) < 0.05 * len(lab):
        lit = lab
    a, b = lit[:, 1:].astype(np.float64).mean(axis=0) - 128.0
    return float(np.degrees(np.arctan2(b, a))), float(np.hypot(a, b))
