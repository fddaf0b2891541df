"""How the heat map is read: its colour scale, its caption, and what a blank map means.

One place for the words and the legend that Diagnose, the Lab and both reports show next to
the heat map (:func:`skinapp.analysis.overlay_heatmap` draws it with OpenCV's JET colormap,
blended in proportion to the heat).
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

__all__ = [
    "BLANK_NOTE",
    "HEATMAP_CAPTION",
    "HEATMAP_HELP",
    "colormap_rgb",
    "is_blank",
    "legend_bar",
]

#: Caption under the heat map image.
HEATMAP_CAPTION = "Heat map: evidence for malignancy"

#: What the colours mean (next to the legend bar).
HEATMAP_HELP = (
    "Colour shows where the image raised the model's estimate of malignancy: none (photo "
    "unchanged) through blue and yellow to red (strongest). It shows where the evidence "
    "lies, not why, and is not an outline of a tumour."
)

#: Shown when the map has no visible evidence anywhere.
BLANK_NOTE = (
    "The heat map is blank: no region of this photo raised the malignancy estimate "
    "(nothing in it looked malignant to the model). That is itself a result, not an error."
)

#: Heat below this everywhere draws no visible colour (blend weight < 3 %).
BLANK_MAX = 0.05


def is_blank(heatmap: np.ndarray | None) -> bool:
    """True when a heat map (values in [0, 1]) would show no visible colour anywhere.

    Examples
    --------
    >>> is_blank(np.zeros((7, 7))), is_blank(np.eye(7))
    (True, False)
    """
    if heatmap is None:
        return False
    heat = np.nan_to_num(np.asarray(heatmap, dtype=np.float32), nan=0.0)
    return bool(heat.size == 0 or float(heat.max()) < BLANK_MAX)


def legend_bar(width: int = 256, height: int = 14) -> np.ndarray:
    """The heat map's colour scale, low (left) to high (right), as an RGB image.

    Returns
    -------
    (height, width, 3) ndarray of uint8
        JET colours from 0 to 1, as :func:`skinapp.analysis.overlay_heatmap` uses them.

    Examples
    --------
    >>> legend_bar(64, 8).shape
    (8, 64, 3)
    """
    if width < 2 or height < 1:
        raise ValueError(f"`width` >= 2 and `height` >= 1 required. Received: {width}x{height}")
    levels = np.linspace(0, 255, width).round().astype(np.uint8)
    return np.repeat(colormap_rgb(cv2.COLORMAP_JET)[levels][None], height, axis=0)


@functools.cache
def colormap_rgb(colormap: int) -> np.ndarray:
    """``(256, 3) uint8`` RGB colour of each level of an OpenCV colormap (read-only).

    ``cv2.applyColorMap`` rebuilds its table on every call (about 7 ms); indexing a table
    built once gives the same colours.

    Examples
    --------
    >>> colormap_rgb(cv2.COLORMAP_JET)[[0, 255]].tolist()  # dark blue to dark red
    [[0, 0, 128], [128, 0, 0]]
    """
    ramp = np.arange(256, dtype=np.uint8)[:, None]
    table = cv2.cvtColor(cv2.applyColorMap(ramp, colormap), cv2.COLOR_BGR2RGB)[:, 0]
    table.setflags(write=False)
    return table
