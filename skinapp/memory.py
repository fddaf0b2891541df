"""Give freed memory back to the operating system (glibc), so a busy moment does not stay.

Python frees an analysis' arrays when the page has drawn them, but glibc keeps the freed
pages in its heaps for reuse, one heap ("arena") per thread up to 8 per core: after a burst
of sessions the process keeps its peak size for good. Two remedies, both no-ops where glibc
is absent (macOS, Windows, musl):

- :func:`limit_arenas` caps the number of heaps (what ``MALLOC_ARENA_MAX`` does, set at run
  time for the heaps created from then on);
- :func:`release_freed_memory` (``malloc_trim(0)``) returns the free pages of every heap;
  :class:`Trimmer` calls it a few seconds after analyses ran, in a background thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time

__all__ = ["Trimmer", "limit_arenas", "release_freed_memory"]

logger = logging.getLogger(__name__)

_M_ARENA_MAX = -8  # glibc's mallopt parameter number


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
    """Use at most ``n`` malloc heaps from now on; True where glibc took the setting."""
    return bool(_LIBC is not None and _LIBC.mallopt(_M_ARENA_MAX, int(n)) == 1)


def release_freed_memory() -> bool:
    """Return freed heap pages to the system (``malloc_trim(0)``); True if any was returned."""
    return bool(_LIBC is not None and _LIBC.malloc_trim(0) == 1)


class Trimmer:
    r"""Calls :func:`release_freed_memory` a few times after analyses ran, in a daemon thread.

    The pool :meth:`touch`\ es it when an analysis ends. Pages free their images a moment
    after drawing them and Streamlit frees a closed session's uploads and media later still,
    so it trims ``delay_s`` after the touch and then again at each of ``later_s`` (at most
    one trim per ``delay_s`` while analyses keep coming).
    """

    def __init__(self, delay_s: float = 5.0, later_s: tuple[float, ...] = (30.0, 30.0, 30.0)):
        self.delay_s, self.later_s = delay_s, later_s
        self.trims = 0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def touch(self) -> None:
        if _LIBC is None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="skinapp-trim", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            for pause in (self.delay_s, *self.later_s):
                time.sleep(pause)
                self._wake.clear()
                release_freed_memory()
                self.trims += 1
