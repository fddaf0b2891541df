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
