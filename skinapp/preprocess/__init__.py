"""Preprocessing: parameter dataclasses, pure transforms and the pipeline that chains them.

Order: colour constancy → denoise → contrast → hair removal → resize. Hair removal itself
lives in :mod:`skinapp.vision.hair` and is re-exported here with its parameters.
"""

from skinapp.preprocess.params import (
    ColorConstancyParams,
    ContrastParams,
    DenoiseParams,
    HairRemovalParams,
    ResizeParams,
)
from skinapp.preprocess.pipeline import STEP_NAMES, Pipeline, PipelineParams, PipelineResult
from skinapp.preprocess.transforms import (
    apply_color_constancy,
    denoise,
    enhance_contrast,
    resize,
)
from skinapp.vision.hair import HairRemovalResult, detect_hair, remove_hair

__all__ = [
    "STEP_NAMES",
    "ColorConstancyParams",
    "ContrastParams",
    "DenoiseParams",
    "HairRemovalParams",
    "HairRemovalResult",
    "Pipeline",
    "PipelineParams",
    "PipelineResult",
    "ResizeParams",
    "apply_color_constancy",
    "denoise",
    "detect_hair",
    "enhance_contrast",
    "remove_hair",
    "resize",
]
