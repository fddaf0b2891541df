"""The preprocessing pipeline: colour constancy → denoise → contrast → hair removal → resize.

:class:`Pipeline` runs the enabled steps in that fixed order and keeps every intermediate
image so that the Preprocessing Lab can show them. A failure inside a step is re-raised as
:class:`~skinapp.errors.TransformError` naming the step and describing its input.

Examples
--------
>>> params = PipelineParams.from_dict({"resize": {"mode": "none"}})
>>> result = Pipeline(params).run(np.full((40, 60, 3), 128, np.uint8))
>>> list(result.steps), result.image.shape
(['input', 'color_constancy', 'hair_removal'], (40, 60, 3))
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from skinapp.errors import TransformError
from skinapp.io import check_image
from skinapp.params import from_dict, to_dict
from skinapp.preprocess.params import (
    ColorConstancyParams,
    ContrastParams,
    DenoiseParams,
    HairRemovalParams,
    ResizeParams,
)
from skinapp.preprocess.transforms import (
    apply_color_constancy,
    denoise,
    enhance_contrast,
    resize,
)
from skinapp.vision.hair import remove_hair

logger = logging.getLogger(__name__)

__all__ = ["STEP_NAMES", "Pipeline", "PipelineParams", "PipelineResult"]

#: Step names in execution order; also the field names of :class:`PipelineParams`.
STEP_NAMES = ("color_constancy", "denoise", "contrast", "hair_removal", "resize")


@dataclass(frozen=True)
class PipelineParams:
    """Parameters of every step. A step is skipped when its ``method`` (``mode`` for
    resize) is ``"none"`` or, for hair removal, when ``enabled`` is False.

    The defaults apply Shades of Gray colour constancy and hair removal, then stretch to
    the model's 224 × 224 input; denoising and contrast enhancement are off.
    """

    #: Illuminant correction (first, so later steps see neutral colours).
    color_constancy: ColorConstancyParams = field(default_factory=ColorConstancyParams)
    #: Noise reduction.
    denoise: DenoiseParams = field(default_factory=DenoiseParams)
    #: Lightness contrast enhancement.
    contrast: ContrastParams = field(default_factory=ContrastParams)
    #: DullRazor-style hair removal.
    hair_removal: HairRemovalParams = field(default_factory=HairRemovalParams)
    #: Final resize to the model input (``mode="none"`` keeps the size, e.g. for display).
    resize: ResizeParams = field(default_factory=ResizeParams)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            expected = type(f.default_factory())
            value = getattr(self, f.name)
            if not isinstance(value, expected):
                raise ValueError(
                    f"PipelineParams.{f.name} must be a {expected.__name__}. "
                    f"Received: `{f.name}={value!r}`"
                )

    def enabled_steps(self) -> tuple[str, ...]:
        """Names of the steps that will run, in order."""
        return tuple(name for name in STEP_NAMES if _is_enabled(getattr(self, name)))

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain-JSON dict ``{step: {field: value}}`` (for exporting settings)."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PipelineParams:
        """Build from :meth:`to_dict` output; missing steps and fields take their defaults
        and unknown keys are ignored (settings files stay forward-compatible).

        Raises
        ------
        ValueError
            ``data`` or a step entry is not a mapping, or a value is out of range.
        """
        if not isinstance(data, Mapping):
            raise ValueError(
                f"Pipeline settings must be a mapping of steps. Received: {type(data).__name__}"
            )
        steps: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue
            entry = data[f.name]
            if not isinstance(entry, Mapping):
                raise ValueError(
                    f"Pipeline settings for '{f.name}' must be a mapping of parameters. "
                    f"Received: `{f.name}={entry!r}`"
                )
            steps[f.name] = from_dict(type(f.default_factory()), dict(entry))
        return cls(**steps)


@dataclass(frozen=True)
class PipelineResult:
    """Output of :meth:`Pipeline.run`."""

    #: (h, w, 3) uint8 RGB output of the last step.
    image: np.ndarray
    #: Ordered ``{name: image}``: ``"input"`` (the array passed in, not copied), then the
    #: output of every step that ran, named as in :data:`STEP_NAMES`.
    steps: dict[str, np.ndarray]
    #: (H, W) bool hair mask at the resolution of the hair-removal step (before resize);
    #: all False when hair removal is off.
    hair_mask: np.ndarray


class Pipeline:
    """Runs the preprocessing steps of :class:`PipelineParams` on images.

    Parameters
    ----------
    params : PipelineParams
        Step parameters (the pipeline itself holds no other state).
    """

    def __init__(self, params: PipelineParams | None = None) -> None:
        self.params = params if params is not None else PipelineParams()

    def __repr__(self) -> str:
        return f"Pipeline(steps={self.params.enabled_steps()})"

    def run(self, image: np.ndarray) -> PipelineResult:
        """Apply the enabled steps in order.

        Parameters
        ----------
        image : (H, W, 3) ndarray of uint8
            RGB image; not modified.

        Returns
        -------
        PipelineResult
            Final image, every intermediate image, and the hair mask.

        Raises
        ------
        InvalidImageError
            ``image`` is not ``(H, W, 3) uint8``.
        TransformError
            A step failed; the error names the step and its input's shape, dtype and range.
        """
        check_image(image)
        params = self.params
        steps: dict[str, np.ndarray] = {"input": image}
        hair_mask: np.ndarray | None = None
        current = image
        for name in params.enabled_steps():
            step_params = getattr(params, name)
            start = time.perf_counter()
            try:
                if name == "hair_removal":
                    current, hair_mask = remove_hair(current, step_params)
                else:
                    current = _TRANSFORMS[name](current, step_params)
            except Exception as err:
                raise TransformError(name, *_describe(current), err) from err
            steps[name] = current
            logger.debug(
                "%s -> %s in %.1f ms", name, current.shape, 1e3 * (time.perf_counter() - start)
            )
        if hair_mask is None:  # every step before resize keeps the input's size
            hair_mask = np.zeros(image.shape[:2], dtype=bool)
        return PipelineResult(image=current, steps=steps, hair_mask=hair_mask)


_TRANSFORMS: dict[str, Callable[[np.ndarray, Any], np.ndarray]] = {
    "color_constancy": apply_color_constancy,
    "denoise": denoise,
    "contrast": enhance_contrast,
    "resize": resize,
}


def _is_enabled(step_params: Any) -> bool:
    if isinstance(step_params, HairRemovalParams):
        return step_params.enabled
    if isinstance(step_params, ResizeParams):
        return step_params.mode != "none"
    return step_params.method != "none"


def _describe(array: Any) -> tuple[tuple, str, tuple]:
    """(shape, dtype, (min, max)) of a step's input, tolerant of odd inputs."""
    shape = tuple(getattr(array, "shape", ()))
    dtype = str(getattr(array, "dtype", type(array).__name__))
    try:
        value_range = (array.min().item(), array.max().item()) if array.size else ()
    except Exception:  # a broken array must not hide the original error
        value_range = ()
    return shape, dtype, value_range
