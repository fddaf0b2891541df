"""Give freed memory back to the operating system (glibc), so a busy moment does not stay.

Python frees an analysis' arrays when the page has drawn them, but glibc keeps the freed
pages in its heaps for reuse, one heap ("arena") per thread up to 8 per core: after a burst
of sessions the process keeps its peak size for good. Two remedies, both no-ops where glibc
is absent (macOS, Windows, musl):

- :func:`limit_arenas` caps the number of heaps (what ``MALLOC_ARENA_MAX`` does, set at run
  time for the heaps created from then on) and bounds the free memory each heap keeps at its
  top (glibc lets it grow with the largest block freed, up to 64 MB per heap, and
  ``malloc_trim`` never shrinks the top of a thread's heap);
- :func:`release_freed_memory` (``malloc_trim(0)``) returns the free pages of every heap;
  :class:`Trimmer` calls it a few seconds after analyses ran, in a background thread.

And one layout rule: what a session keeps for long (an analysis' images) does not live in the
heaps among the short-lived arrays of the analyses still running. Kept between them, each
result pins the heap around it and the freed space between results cannot be given back
(measured: some 110 MB resident but free after 16 sessions had left). :func:`off_heap`
moves a result's arrays into memory maps of their own, whose pages go back to the system the
moment the session drops them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import logging
import mmap
import threading
import time
from typing import Any

import numpy as np

__all__ = ["Trimmer", "limit_arenas", "off_heap", "off_heap_copy", "release_freed_memory"]

#: Arrays smaller than this stay where they are (a map takes whole pages).
OFF_HEAP_MIN_BYTES = 64 * 1024

logger = logging.getLogger(__name__)

# glibc's mallopt parameter numbers
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
#: Free memory at the top of a heap beyond which ``free`` gives it back to the system.
#: Measured (16 browser sessions at once, peak / RSS after they left): glibc's automatic
#: limit 745 / 448 MB, 32 MB 723 / 435, 16 MB 691 / 402, 8 MB 670 / 408; the price is page
#: faults when a heap grows again (two analyses at once, per analysis: 4,900 faults and 107
#: ms of CPU automatic, 4,300 and 111 ms at 32 MB, 5,900 and 117 ms at 16 MB, 8,400 and
#: 123 ms at 8 MB).
TRIM_THRESHOLD_BYTES = 16 * 1024 * 1024
#: Blocks from this size get a memory map of their own. Setting the trim threshold turns
#: glibc's automatic thresholds off; this is the largest value they reach by themselves, so
#: image-sized arrays stay in the heaps (a map per array would cost page faults each time).
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024


def _libc():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim  # noqa: B018 - glibc only
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def limit_arenas(n: int) -> bool:
    """Use at most ``n`` malloc heaps from now on, each keeping at most
    :data:`TRIM_THRESHOLD_BYTES` free at its top; True where glibc took the settings."""
    if _LIBC is None:
        return False
    return all(
        _LIBC.mallopt(param, int(value)) == 1
        for param, value in (
            (_M_ARENA_MAX, n),
            (_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
            (_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
        )
    )


def release_freed_memory() -> bool:
    """Return freed heap pages to the system (``malloc_trim(0)``); True if any was returned."""
    return bool(_LIBC is not None and _LIBC.malloc_trim(0) == 1)


class Trimmer:
    """Calls :func:`release_freed_memory` every ``every_s`` seconds while analyses run and for
    ``linger_s`` seconds after the last one, in a daemon thread.

    The pool calls :meth:`touch` when an analysis ends. Pages free their images a moment
    after drawing them, and Streamlit frees a closed session's uploads and media later still,
    so trimming goes on for a while after the last analysis. A trim of an idle heap takes
    well under a millisecond; of a busy one, a few milliseconds.
    """

    def __init__(self, every_s: float = 2.0, linger_s: float = 120.0) -> None:
        self.every_s, self.linger_s = every_s, linger_s
        self.trims = 0
        self._last_touch = 0.0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def touch(self) -> None:
        if _LIBC is None:
            return
        self._last_touch = time.monotonic()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="skinapp-trim", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            while time.monotonic() - self._last_touch < self.linger_s:
                time.sleep(self.every_s)
                release_freed_memory()
                self.trims += 1


def off_heap_copy(array: np.ndarray) -> np.ndarray:
    """A read-only copy of ``array`` in an anonymous memory map of its own (outside the
    malloc heaps: its pages are returned to the system when the copy is freed); ``array``
    itself when smaller than :data:`OFF_HEAP_MIN_BYTES` or of object dtype."""
    if array.nbytes < OFF_HEAP_MIN_BYTES or array.dtype.hasobject:
        return array
    out = np.frombuffer(_anonymous_map(array.nbytes), dtype=array.dtype, count=array.size)
    out = out.reshape(array.shape)
    out[...] = array
    out.flags.writeable = False
    return out


def _anonymous_map(size: int) -> mmap.mmap:
    """``size`` bytes of private anonymous memory (Windows: a page-file-backed map)."""
    private = getattr(mmap, "MAP_PRIVATE", None)
    return mmap.mmap(-1, size) if private is None else mmap.mmap(-1, size, flags=private)


def off_heap(value: Any) -> Any:
    """``value`` with every array inside it (nested dataclasses, dicts, lists, tuples) moved
    by :func:`off_heap_copy`; an array found twice is copied once and stays shared. Frozen
    dataclasses are rebuilt with :func:`dataclasses.replace`; other objects are kept as
    they are.

    Examples
    --------
    >>> @dataclasses.dataclass(frozen=True)
    ... class Result:
    ...     image: np.ndarray
    ...     steps: dict
    >>> image = np.ones((256, 256, 3), np.uint8)
    >>> moved = off_heap(Result(image, {"input": image}))
    >>> moved.image is moved.steps["input"], moved.image is image, int(moved.image.sum())
    (True, False, 196608)
    """
    return _off_heap(value, {})


def _off_heap(value: Any, memo: dict[int, Any]) -> Any:
    if isinstance(value, np.ndarray):
        if id(value) not in memo:
            memo[id(value)] = (value, off_heap_copy(value))  # the source pins its id
        return memo[id(value)][1]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [f.name for f in dataclasses.fields(value) if f.init]
        changes = {name: _off_heap(getattr(value, name), memo) for name in fields}
        if all(changes[name] is getattr(value, name) for name in fields):
            return value
        return dataclasses.replace(value, **changes)
    if type(value) is dict:
        return {key: _off_heap(item, memo) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_off_heap(item, memo) for item in value)
    return value
