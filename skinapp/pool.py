"""A bounded analysis pool shared by every session of a process.

Streamlit runs each session's script in its own thread, so without a bound N users start N
analyses at once, each interpreter on every core: all of them slow down together and memory
grows with the busiest moment. :class:`AnalysisPool` lets at most ``workers`` analyses run at
once (as many as there are cores by default); the others wait in a first-come, first-served
queue and are told their place through a callback; when ``max_waiting`` are already waiting
a new request is refused at once with :class:`PoolBusyError` (a clear message, not an
unbounded wait).

Batch triage takes one turn per photo (:func:`analyze_in_pool` per file), so a batch of 200
photos goes to the back of the queue after each photo and a Diagnose upload arriving in the
middle waits for at most ``workers`` photos, not for the whole batch.

Settings (environment, read once by :func:`default_pool`):

- ``SKINAPP_WORKERS``: analyses at once (default: the number of cores);
- ``SKINAPP_QUEUE``: most analyses waiting for a turn (default 32);
- ``SKINAPP_INTERPRETER_THREADS``: threads of each LiteRT interpreter and of OpenCV (default:
  cores // workers, at least 1), so that the pool never starts more threads than there are
  cores.

No streamlit here: pages show the place in the queue through ``on_wait`` (``skinapp.ui.cache``).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from skinapp.errors import SkinappError
from skinapp.memory import Trimmer, limit_arenas
from skinapp.threads import use_analysis_threads

if TYPE_CHECKING:
    from skinapp.analysis import Analysis, AnalysisSettings
    from skinapp.serving import Classifier

__all__ = [
    "AnalysisPool",
    "OnWait",
    "PoolBusyError",
    "PoolSettings",
    "analyze_in_pool",
    "default_pool",
    "default_settings",
    "waiting_message",
]

#: Called while waiting with the number of analyses ahead (running + queued in front).
OnWait = Callable[[int], None]

DEFAULT_MAX_WAITING = 32
#: Longest wait for a turn before giving up with :class:`PoolBusyError`, in seconds.
DEFAULT_MAX_WAIT_S = 300.0


class PoolBusyError(SkinappError):
    """No turn for this analysis: the queue is full, or the wait ran past its limit.

    Attributes
    ----------
    reason : str
        ``"queue_full"`` or ``"timeout"``.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _env_int(name: str, default: int, *, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise ValueError(f"{name} must be a whole number. Received: {name}={raw!r}") from err
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}. Received: {name}={raw!r}")
    return value


@dataclass(frozen=True)
class PoolSettings:
    """How many analyses run at once, how many may wait, and threads per interpreter."""

    workers: int
    max_waiting: int = DEFAULT_MAX_WAITING
    interpreter_threads: int = 1
    max_wait_s: float = DEFAULT_MAX_WAIT_S

    @classmethod
    def from_env(cls) -> PoolSettings:
        """``SKINAPP_WORKERS``, ``SKINAPP_QUEUE``, ``SKINAPP_INTERPRETER_THREADS`` or defaults."""
        cores = os.cpu_count() or 1
        workers = _env_int("SKINAPP_WORKERS", cores)
        return cls(
            workers=workers,
            max_waiting=_env_int("SKINAPP_QUEUE", DEFAULT_MAX_WAITING, minimum=0),
            interpreter_threads=_env_int("SKINAPP_INTERPRETER_THREADS", max(1, cores // workers)),
        )


def waiting_message(ahead: int) -> str:
    """What a waiting user reads, e.g. "2 analyses ahead of yours"."""
    noun = "analysis" if ahead == 1 else "analyses"
    return (
        f"The analyser is busy: {ahead} {noun} ahead of yours. Yours starts as soon as a "
        "place is free; keep this page open."
    )


class AnalysisPool:
    """At most ``workers`` analyses at once; the rest wait first come, first served.

    Parameters
    ----------
    workers : int
        Analyses that may run at the same time (>= 1).
    max_waiting : int
        Most requests waiting for a turn; one more is refused with :class:`PoolBusyError`.
    max_wait_s : float
        Longest wait for a turn; past it :class:`PoolBusyError` (``reason="timeout"``).
    poll_s : float
        How often a waiting caller re-checks its place (``on_wait`` is called when it changes).
    """

    def __init__(
        self,
        workers: int,
        max_waiting: int = DEFAULT_MAX_WAITING,
        *,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
        poll_s: float = 0.2,
        trimmer: Trimmer | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"An analysis pool needs at least one worker. Received: {workers}")
        self.workers, self.max_waiting = workers, max_waiting
        self.max_wait_s, self.poll_s = max_wait_s, poll_s
        self._cond = threading.Condition()
        self._running = 0
        self._queue: deque[object] = deque()
        self.peak_running = 0  # most analyses seen running at once (for tests and the bench)
        self.trimmer = trimmer

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @contextmanager
    def turn(
        self, on_wait: OnWait | None = None, *, join_when_full: bool = False
    ) -> Iterator[None]:
        """Hold one of the ``workers`` places for the ``with`` block.

        Parameters
        ----------
        on_wait : callable, optional
            ``on_wait(ahead)``, from the waiting thread, whenever the number of analyses
            ahead (running, plus queued in front) changes; never called when a place is free
            at once.
        join_when_full : bool
            Wait for room in the queue instead of refusing (batch triage: its user already
            waits for a progress bar).

        Raises
        ------
        PoolBusyError
            The queue is full (``reason="queue_full"``) or no place came free within
            ``max_wait_s`` (``reason="timeout"``).
        """
        self._acquire(on_wait, join_when_full)
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()
            if self.trimmer is not None:
                self.trimmer.touch()

    def _acquire(self, on_wait: OnWait | None, join_when_full: bool) -> None:
        ticket = object()
        deadline = time.monotonic() + self.max_wait_s
        last_ahead = None
        with self._cond:
            if self._running < self.workers and not self._queue:
                self._start()
                return
            while len(self._queue) >= self.max_waiting:
                if not join_when_full:
                    raise PoolBusyError(
                        f"The analyser is at capacity: {self._running} analyses are running "
                        f"and {len(self._queue)} are waiting. Please try again in a minute.",
                        reason="queue_full",
                    )
                self._wait_or_time_out(deadline)
            self._queue.append(ticket)
        try:
            while True:
                with self._cond:
                    place = self._queue.index(ticket)
                    if place == 0 and self._running < self.workers:
                        self._queue.popleft()
                        self._start()
                        self._cond.notify_all()  # the next in line may move up
                        return
                    ahead = self._running + place
                    if ahead == last_ahead:
                        self._wait_or_time_out(deadline)
                        continue
                last_ahead = ahead
                if on_wait is not None:
                    on_wait(ahead)  # outside the lock: it may draw on a page
        except BaseException:
            with self._cond:
                if ticket in self._queue:
                    self._queue.remove(ticket)
                self._cond.notify_all()
            raise

    def _start(self) -> None:
        self._running += 1
        self.peak_running = max(self.peak_running, self._running)

    def _wait_or_time_out(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise PoolBusyError(
                f"The analyser stayed busy for {self.max_wait_s:.0f} s. Please try again in a "
                "minute.",
                reason="timeout",
            )
        self._cond.wait(min(self.poll_s, left))


_DEFAULT: AnalysisPool | None = None
_DEFAULT_SETTINGS: PoolSettings | None = None
_DEFAULT_LOCK = threading.Lock()


def default_settings() -> PoolSettings:
    """The process's :class:`PoolSettings`, read from the environment once."""
    global _DEFAULT_SETTINGS
    with _DEFAULT_LOCK:
        if _DEFAULT_SETTINGS is None:
            _DEFAULT_SETTINGS = PoolSettings.from_env()
        return _DEFAULT_SETTINGS


def default_pool() -> AnalysisPool:
    """The one pool of this process (every session, Diagnose, Lab and Batch triage)."""
    global _DEFAULT
    settings = default_settings()
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            # Streamlit runs every rerun in a new thread; without a cap glibc gives threads
            # up to 8 heaps per core, each keeping the freed pages of the busiest moment.
            limit_arenas(max(2, settings.workers))
            use_analysis_threads(settings.interpreter_threads)
            _DEFAULT = AnalysisPool(
                settings.workers,
                settings.max_waiting,
                max_wait_s=settings.max_wait_s,
                trimmer=Trimmer(),
            )
        return _DEFAULT


def analyze_in_pool(
    data: bytes,
    settings: AnalysisSettings,
    classifier: Classifier,
    *,
    pool: AnalysisPool | None = None,
    on_wait: OnWait | None = None,
    join_when_full: bool = False,
) -> Analysis:
    """:func:`skinapp.analysis.analyze_bytes` in one turn of ``pool`` (default: the process's).

    Raises
    ------
    PoolBusyError
        No turn (see :meth:`AnalysisPool.turn`).
    SkinappError
        The bytes are not a readable image, or a step failed.
    """
    from skinapp.analysis import analyze_bytes

    with (pool or default_pool()).turn(on_wait, join_when_full=join_when_full):
        return analyze_bytes(data, settings, classifier)
