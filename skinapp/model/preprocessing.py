"""What the classifier sees: the single implementation shared by training, ``predict`` and the app.

An RGB photo of any size becomes a ``(S, S, 3) uint8`` model input by the shared
``skinapp.preprocess`` transforms: first shrunk to the data's scale (:func:`at_model_scale`:
long side S, like every photo the model was trained and validated on), then optional color
constancy, then a plain resize to a square ("stretch"). Stretching, not padding, matches the
data: HAM10000 images are 4:3 and the ISIC 2017 test images were already squashed to squares.
Pixel scaling to [-1, 1] happens inside the model, so the Keras and LiteRT paths share it too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from skinapp.io import downscale_max_side
from skinapp.preprocess.params import ColorConstancyParams, ResizeParams
from skinapp.preprocess.transforms import apply_color_constancy, resize

MODEL_INPUT_SIZE = 224


@dataclass(frozen=True)
class ModelInputSpec:
    """How images are prepared for the model; saved with the model in ``model_config.json``.

    Attributes
    ----------
    size : int
        Square input side in pixels.
    color_constancy : str
        ``"none"``, ``"gray_world"`` or ``"shades_of_gray"`` applied before resizing.
    """

    size: int = MODEL_INPUT_SIZE
    color_constancy: str = "none"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelInputSpec:
        return cls(**{k: data[k] for k in ("size", "color_constancy") if k in data})


def at_model_scale(image: np.ndarray, size: int = MODEL_INPUT_SIZE) -> np.ndarray:
    """``image`` shrunk (area interpolation, aspect kept) so that its long side is at most
    ``size``: the scale of the dataset photos (long side 224), at which the classifier, the
    segmenter and the photo-level quality measures work. ``image`` itself when it is already
    that small, so an analysis shrinks a photo once and passes the result on.
    """
    if max(image.shape[:2]) <= size:
        return image
    return downscale_max_side(image, size)


def prepare_model_input(image: np.ndarray, spec: ModelInputSpec = ModelInputSpec()) -> np.ndarray:
    """Turn an RGB photo into the classifier's input.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB image of any size.
    spec : ModelInputSpec
        The preparation recorded with the model.

    Returns
    -------
    (S, S, 3) uint8 ndarray
        ``S = spec.size``; the input is not modified.
    """
    image = at_model_scale(image, spec.size)
    if spec.color_constancy != "none":
        image = apply_color_constancy(image, ColorConstancyParams(method=spec.color_constancy))
    return resize(image, ResizeParams(size=spec.size, mode="stretch"))
