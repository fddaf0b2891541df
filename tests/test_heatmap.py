"""skinapp.heatmap: the colour table and the legend are OpenCV's JET colours."""

import cv2
import numpy as np
import pytest

from skinapp.heatmap import colormap_rgb, legend_bar


def test_legend_bar_has_opencvs_jet_colours():
    levels = np.linspace(0, 255, 200).round().astype(np.uint8)[None, :]
    expected = cv2.cvtColor(cv2.applyColorMap(levels, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    bar = legend_bar(200, 5)
    assert bar.shape == (5, 200, 3) and bar.dtype == np.uint8
    np.testing.assert_array_equal(bar, np.repeat(expected, 5, axis=0))
    bar[0, 0] = 0  # a legend is the caller's own array


def test_the_shared_table_is_read_only():
    table = colormap_rgb(cv2.COLORMAP_JET)
    assert table.shape == (256, 3)
    with pytest.raises(ValueError):
        table[0, 0] = 1
