"""Analyses in memory: each session keeps its last few; sessions share what some session keeps.

An analysis holds some 14 MB of images (1024 px working image). The memory they take is
therefore set by what the sessions keep, and nothing else keeps a copy:

- a session's :class:`SessionResults` (in its ``st.session_state``) holds its latest
  results, and :mod:`skinapp.ui.sessions` empties it when the session's tab has closed (even
  where Streamlit still references the closed session object for a while);
- :class:`SharedResults` lends a result another session already holds (the same photo,
  settings and model: a bundled sample opened by two users) without a second copy, and runs
  each key's analysis once when two sessions ask at the same moment. It holds its results
  weakly: once no session keeps a result it is freed, so a quiet server keeps no analysis.

Shared results must not be changed in place: :func:`skinapp.ui.cache.analysis` makes their
arrays read-only. No streamlit import here.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["SessionResults", "SharedResults"]


class SessionResults(OrderedDict):
    """One session's latest results by key, most recent last, at most ``size``.

    Examples
    --------
    >>> kept = SessionResults(size=2)
    >>> for key in "abc":
    ...     kept.keep(key, key.upper())
    >>> list(kept), kept.recall("b"), list(kept)
    (['b', 'c'], 'B', ['c', 'b'])
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def recall(self, key: Hashable) -> Any | None:
        """The result for ``key`` (now the most recent), or None."""
        if key not in self:
            return None
        self.move_to_end(key)
        return self[key]

    def keep(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` as the most recent result, dropping the oldest beyond ``size``."""
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class SharedResults:
    """Results by key, held weakly; :meth:`get_or_compute` computes a key once at a time.

    Examples
    --------
    >>> class Result:
    ...     pass
    >>> shared, calls = SharedResults(), []
    >>> kept = shared.get_or_compute("k", lambda: calls.append(1) or Result())
    >>> shared.get_or_compute("k", Result) is kept, len(calls), len(shared)
    (True, 1, 1)
    >>> del kept  # no one keeps it: it is gone
    >>> len(shared)
    0
    """

    def __init__(self) -> None:
        self._items: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self._computing: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            return self._items.get(key)

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The result some session keeps for ``key``, else ``compute()``'s (shared from now
        on while someone keeps it). A second caller for a key being computed waits for it
        instead of computing it again. Exceptions are not kept: the next caller retries."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                return found
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:
            found = self.get(key)
            if found is not None:
                return found
            try:
                result = compute()
                with self._lock:
                    self._items[key] = result
                return result
            finally:
                with self._lock:
                    if self._computing.get(key) is gate:
                        del self._computing[key]
