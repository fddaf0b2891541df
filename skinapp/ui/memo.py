"""A classifier that remembers its last predictions by image content (for the Lab).

Moving a Lab slider re-runs the whole analysis, but the photo the validated prediction is
made on does not change with the preprocessing settings, and a segmentation slider changes
neither image the model sees: those predictions (8 TTA views each) are taken from memory
instead of being recomputed. Thread-safe; holds a few small results, never the images.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import streamlit as st

from skinapp.ui import cache

__all__ = ["MemoClassifier", "lab_classifier"]


class MemoClassifier:
    """Wraps a :class:`skinapp.serving.Classifier`: ``predict`` is memoised on (pixels,
    shape, tta) for the last ``size`` images; every other attribute is the wrapped one's.

    Examples
    --------
    >>> class Counting:
    ...     version, calls = "v", 0
    ...     def predict(self, image, *, tta=False):
    ...         Counting.calls += 1
    ...         return float(image.mean())
    >>> memo = MemoClassifier(Counting())
    >>> image = np.ones((4, 4, 3), np.uint8)
    >>> memo.predict(image), memo.predict(image.copy()), Counting.calls, memo.version
    (1.0, 1.0, 1, 'v')
    """

    def __init__(self, inner: Any, size: int = 16) -> None:
        self._inner = inner
        self._size = size
        self._memo: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def predict(self, image: np.ndarray, *, tta: bool = False) -> Any:
        """The wrapped ``predict``, or its remembered result for the same pixels."""
        pixels = np.ascontiguousarray(image)
        key = (hashlib.sha1(pixels.tobytes(), usedforsecurity=False).hexdigest(), pixels.shape, tta)
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        result = self._inner.predict(image, tta=tta)
        with self._lock:
            self._memo[key] = result
            while len(self._memo) > self._size:
                self._memo.popitem(last=False)
        return result


@st.cache_resource(show_spinner=False, max_entries=2)
def _memo_for(version: str, _inner: Any) -> MemoClassifier:
    return MemoClassifier(_inner)


def lab_classifier() -> MemoClassifier:
    """The shared classifier with memoised predictions, one per model version (all Lab
    sessions share it: the same photo gives the same prediction whoever asks).

    Raises
    ------
    ModelLoadError
        As :func:`skinapp.ui.cache.classifier`.
    """
    inner = cache.classifier()
    return _memo_for(inner.version, inner)
