"""What sessions keep of their analyses (skinapp.ui.results): each session its last few,
lent to other sessions without a copy, and nothing kept once no session keeps it."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from skinapp.ui.results import SessionResults, SharedResults


class Result:
    """Stands for an Analysis (weakly referenceable, like any dataclass)."""


def test_a_session_keeps_its_latest_results():
    kept = SessionResults(size=2)
    a, b, c = Result(), Result(), Result()
    kept.keep("a", a)
    kept.keep("b", b)
    assert kept.recall("a") is a  # now the most recent
    kept.keep("c", c)
    assert list(kept) == ["a", "c"]
    assert kept.recall("b") is None
    kept.clear()
    assert kept.recall("a") is None


def test_a_shared_result_lives_while_a_session_keeps_it():
    shared = SharedResults()
    session = SessionResults(size=3)
    session.keep("k", shared.get_or_compute("k", Result))
    other = shared.get_or_compute("k", lambda: pytest.fail("computed a second time"))
    assert other is session.recall("k")  # the same object, not a copy
    del other
    session.clear()  # what the reaper does when the tab has closed
    gc.collect()
    assert len(shared) == 0 and shared.get("k") is None
    again = shared.get_or_compute("k", Result)  # computed anew
    assert isinstance(again, Result)


def test_two_sessions_asking_at_once_compute_once():
    shared = SharedResults()
    started, release = threading.Event(), threading.Event()
    calls, got = [], []

    def slow() -> Result:
        calls.append(1)
        started.set()
        release.wait(5)
        return Result()

    first = threading.Thread(target=lambda: got.append(shared.get_or_compute("k", slow)))
    first.start()
    assert started.wait(5)
    second = threading.Thread(target=lambda: got.append(shared.get_or_compute("k", slow)))
    second.start()
    time.sleep(0.05)
    release.set()
    first.join(5)
    second.join(5)
    assert len(calls) == 1
    assert len(got) == 2 and got[0] is got[1]


def test_a_failed_analysis_is_not_kept():
    shared = SharedResults()

    def broken() -> Result:
        raise ValueError("unreadable")

    with pytest.raises(ValueError):
        shared.get_or_compute("k", broken)
    assert isinstance(shared.get_or_compute("k", Result), Result)  # the next caller retries
