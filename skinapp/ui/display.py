"""The JPEG bytes a page shows for a result image, encoded once per image.

Given an array, ``st.image`` checks its range, copies it and encodes it as a quality-100
JPEG on every rerun of the page: for Diagnose's four 1024-px images that is about half of a
rerun's server time (a toggle, a typed note, the outline slider), and some 1.4 MB sent to
the browser for each result. Pages pass :func:`display_jpeg` bytes instead:

- quality :data:`DISPLAY_QUALITY`, visually lossless at the size shown and about a third of
  the bytes (it matters on a shared tunnel link);
- encoded once per image: a kept analysis's arrays are read-only and shared by the sessions
  that show it (:mod:`skinapp.ui.cache`), so their bytes are kept with them and freed with
  them. A writable array may still change, so it is encoded every time.

No streamlit import here.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from skinapp.io import encode_jpeg

__all__ = ["DISPLAY_QUALITY", "display_jpeg"]

#: JPEG quality of the images a page shows (the PDF and HTML reports encode their own).
DISPLAY_QUALITY = 90

_ENCODED: dict[int, tuple[weakref.ref, bytes]] = {}
_LOCK = threading.Lock()


def display_jpeg(image: np.ndarray) -> bytes:
    """``image`` (``(H, W, 3) uint8`` RGB) as the JPEG a page shows.

    Examples
    --------
    >>> image = np.zeros((8, 8, 3), np.uint8)
    >>> image.flags.writeable = False
    >>> display_jpeg(image) is display_jpeg(image)  # encoded once
    True
    """
    if image.flags.writeable:
        return encode_jpeg(image, DISPLAY_QUALITY)
    key = id(image)
    with _LOCK:
        kept = _ENCODED.get(key)
        if kept is not None and kept[0]() is image:
            return kept[1]
    data = encode_jpeg(image, DISPLAY_QUALITY)
    with _LOCK:
        _ENCODED[key] = (weakref.ref(image, lambda _, key=key: _forget(key)), data)
    return data


def _forget(key: int) -> None:
    """Drop the bytes of an image that has been freed (its id may be reused)."""
    with _LOCK:
        kept = _ENCODED.get(key)
        if kept is not None and kept[0]() is None:
            del _ENCODED[key]
