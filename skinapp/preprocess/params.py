"""Parameters of the preprocessing transforms.

Each class is a frozen dataclass whose fields carry :func:`skinapp.params.ui` metadata, so the
Preprocessing Lab builds its widgets from ``dataclasses.fields()``. Every step can be switched
off with the ``"none"`` choice of its ``method`` (or ``mode``). Pixel sizes are in pixels of
the image the transform receives.

``HairRemovalParams`` lives in :mod:`skinapp.vision.hair` and is re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from skinapp.params import check_ranges, ui
from skinapp.vision.hair import HairRemovalParams

__all__ = [
    "ColorConstancyParams",
    "ContrastParams",
    "DenoiseParams",
    "HairRemovalParams",
    "ResizeParams",
]


def _check_types(params: Any, ints: tuple[str, ...] = (), floats: tuple[str, ...] = ()) -> None:
    """``ValueError`` unless the named fields are ints (resp. real numbers), bools excluded."""
    name = type(params).__name__
    for attr in ints:
        value = getattr(params, attr)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name}.{attr} must be an integer. Received: `{attr}={value!r}`")
    for attr in floats:
        value = getattr(params, attr)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name}.{attr} must be a number. Received: `{attr}={value!r}`")


@dataclass(frozen=True)
class ResizeParams:
    """How the image is brought to the model's square input size."""

    #: Side of the square output in pixels (the model takes 224).
    size: int = field(
        default=224,
        metadata=ui(32, 1024, 16, "Side in pixels of the square image given to the model."),
    )
    #: "stretch" resizes to size × size (what the model was trained on), "pad" keeps the
    #: aspect ratio and fills the borders, "crop" keeps the aspect ratio and cuts the long
    #: side, "none" keeps the image as it is.
    mode: str = field(
        default="stretch",
        metadata=ui(
            help="Stretch squashes the photo to a square (what the model saw in training), "
            "pad adds borders, crop cuts the long side, none keeps the photo as it is.",
            choices=("stretch", "pad", "crop", "none"),
        ),
    )
    #: Border used by ``mode="pad"``: "black" or "edge" (repeat the outermost pixels).
    pad_fill: str = field(
        default="black",
        metadata=ui(
            help="With pad: fill the borders with black, or repeat the photo's edge pixels.",
            choices=("black", "edge"),
        ),
    )
    #: Resampling filter; "auto" uses area averaging to shrink and bilinear to enlarge.
    interpolation: str = field(
        default="auto",
        metadata=ui(
            help="How new pixels are computed: auto (area when shrinking, linear when "
            "enlarging), or force area, linear, cubic or nearest.",
            choices=("auto", "area", "linear", "cubic", "nearest"),
        ),
    )

    def __post_init__(self) -> None:
        _check_types(self, ints=("size",))
        check_ranges(self)


@dataclass(frozen=True)
class DenoiseParams:
    """Noise reduction (off by default: dermoscopy JPEGs are rarely noisy)."""

    #: "gaussian" blur, "median" filter, edge-preserving "bilateral" filter, "nlm" for
    #: non-local means (best and slowest), or "none".
    method: str = field(
        default="none",
        metadata=ui(
            help="Smoothing filter: gaussian blurs, median removes specks, bilateral and "
            "nlm (non-local means, slowest) smooth while keeping edges sharp.",
            choices=("none", "gaussian", "median", "bilateral", "nlm"),
        ),
    )
    #: Window side in pixels for gaussian and median, filter diameter for bilateral.
    kernel_size: int = field(
        default=5,
        metadata=ui(
            3, 15, 2, "Size of the neighbourhood averaged (gaussian, median, bilateral).", odd=True
        ),
    )
    #: Spatial standard deviation for gaussian and bilateral; 0 derives it from kernel_size.
    sigma: float = field(
        default=0.0,
        metadata=ui(
            0.0, 10.0, 0.5, "How far blurring reaches, in pixels (0 = from the kernel size)."
        ),
    )
    #: Bilateral only: colour difference (0-255 scale) still averaged together.
    color_sigma: float = field(
        default=40.0,
        metadata=ui(
            5.0, 150.0, 5.0, "Bilateral: how different two colours may be and still be mixed."
        ),
    )
    #: Non-local means only: filter strength ``h`` (larger removes more noise and detail).
    strength: float = field(
        default=7.0,
        metadata=ui(1.0, 30.0, 1.0, "Non-local means: how much noise (and fine detail) to remove."),
    )

    def __post_init__(self) -> None:
        _check_types(self, ints=("kernel_size",), floats=("sigma", "color_sigma", "strength"))
        check_ranges(self)


@dataclass(frozen=True)
class ContrastParams:
    """Contrast enhancement of the lightness channel (L of CIELab); colours are kept."""

    #: "hist_eq" spreads lightness over the full range, "clahe" does it per tile with a
    #: clip limit (adaptive, less noise), "none" leaves contrast alone.
    method: str = field(
        default="none",
        metadata=ui(
            help="Histogram equalisation stretches brightness over the whole image; CLAHE "
            "does it tile by tile with a limit, so it amplifies noise less.",
            choices=("none", "hist_eq", "clahe"),
        ),
    )
    #: CLAHE: contrast limit per tile (higher = stronger enhancement).
    clip_limit: float = field(
        default=2.0,
        metadata=ui(0.5, 10.0, 0.5, "CLAHE: how much local contrast may be amplified."),
    )
    #: CLAHE: the image is split into tile_grid × tile_grid tiles.
    tile_grid: int = field(
        default=8,
        metadata=ui(1, 16, 1, "CLAHE: number of tiles per side; more tiles = more local."),
    )

    def __post_init__(self) -> None:
        _check_types(self, ints=("tile_grid",), floats=("clip_limit",))
        check_ranges(self)


@dataclass(frozen=True)
class ColorConstancyParams:
    """Illuminant correction so that images from different dermatoscopes look alike.

    Shades of Gray (Finlayson & Trezzi, 2004) with ``p = 6`` is the usual choice for
    dermoscopy (Barata et al., 2015); Gray World is the special case ``p = 1``.
    """

    #: "shades_of_gray" (Minkowski norm ``p``), "gray_world" (``p = 1``) or "none".
    method: str = field(
        default="shades_of_gray",
        metadata=ui(
            help="Removes the colour cast of the lamp: gray world assumes the average colour "
            "is grey, shades of gray weighs bright pixels more (p).",
            choices=("none", "gray_world", "shades_of_gray"),
        ),
    )
    #: Minkowski norm of Shades of Gray: 1 is Gray World, large values approach max-RGB.
    p: int = field(
        default=6,
        metadata=ui(1, 16, 1, "Shades of gray: how much bright pixels count (1 = gray world)."),
    )

    def __post_init__(self) -> None:
        _check_types(self, ints=("p",))
        check_ranges(self)
