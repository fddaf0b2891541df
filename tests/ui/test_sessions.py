"""Closed tabs' sessions are freed (skinapp.ui.sessions), and freed memory goes back to the
system (skinapp.memory)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from skinapp import memory
from skinapp.ui import sessions

REPO = Path(__file__).resolve().parents[2]


class FakeRuntime:
    def __init__(self) -> None:
        self.active: set[str] = set()
        self.closed: list[str] = []

    def is_active_session(self, session_id: str) -> bool:
        return session_id in self.active

    def clear_user_info_for_session(self, session_id: str) -> None:
        self.closed.append(session_id)


@pytest.fixture
def tracked(monkeypatch):
    table: dict[str, float | None] = {}
    monkeypatch.setattr(sessions, "_TRACKED", table)
    monkeypatch.setattr(sessions, "_RELEASE", {})
    return table


def test_a_session_is_closed_only_after_staying_disconnected(tracked):
    runtime = FakeRuntime()
    runtime.active = {"open", "blip"}
    tracked.update({"open": None, "blip": None, "gone": None})
    assert sessions.reap_disconnected(runtime, now=100.0, after_s=30) == []  # first seen gone
    runtime.active.discard("blip")
    assert sessions.reap_disconnected(runtime, now=110.0, after_s=30) == []
    runtime.active.add("blip")  # reconnected within the window: kept, its clock reset
    assert sessions.reap_disconnected(runtime, now=131.0, after_s=30) == ["gone"]
    assert runtime.closed == ["gone"]
    assert set(tracked) == {"open", "blip"} and tracked["blip"] is None
    runtime.active.discard("blip")
    assert sessions.reap_disconnected(runtime, now=140.0, after_s=30) == []
    assert sessions.reap_disconnected(runtime, now=170.0, after_s=30) == ["blip"]
    assert set(tracked) == {"open"}


def test_closing_a_session_releases_what_it_keeps(tracked):
    runtime = FakeRuntime()
    runtime.active = {"open"}
    tracked.update({"open": None, "gone": None})
    released: list[str] = []

    def failing() -> None:
        raise RuntimeError("boom")

    sessions._RELEASE.update(
        {
            "open": [lambda: released.append("open")],
            "gone": [failing, lambda: released.append("gone")],
        }
    )
    sessions.reap_disconnected(runtime, now=0.0, after_s=30)
    assert released == []  # disconnected, not yet for long enough
    assert sessions.reap_disconnected(runtime, now=31.0, after_s=30) == ["gone"]
    assert released == ["gone"]  # a failing callback does not keep the others from running
    assert "gone" not in sessions._RELEASE and "open" in sessions._RELEASE
    sessions.reap_disconnected(runtime, now=100.0, after_s=30)
    assert released == ["gone"]  # called once


def test_tracking_outside_a_server_does_nothing(tracked):
    sessions.track_this_session()  # no script run context here
    assert tracked == {}


def test_reaping_happens_before_streamlit_drops_the_session():
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    ttl = config["server"]["disconnectedSessionTTL"]
    assert ttl > sessions.REAP_AFTER_S + 2 * sessions.EVERY_S


def test_trimmer_trims_after_activity(monkeypatch):
    # Count only this trimmer's calls: the app's own trimmer may still be lingering from an
    # earlier test's analysis and calls the same (patched) function from its thread.
    threads = []
    monkeypatch.setattr(
        memory, "release_freed_memory", lambda: threads.append(threading.get_ident()) or True
    )
    trimmer = memory.Trimmer(every_s=0.02, linger_s=0.2)
    trimmer.touch()
    mine = trimmer._thread.ident
    calls = _Mine(threads, mine)
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(calls) >= 3
    # Past linger_s since the touch it stops trimming. Poll instead of one fixed sleep: on a
    # loaded machine the thread can be preempted between a trim and its count.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        stopped_at = trimmer.trims
        time.sleep(0.3)
        if trimmer.trims == stopped_at == len(calls):
            break
    assert trimmer.trims == stopped_at == len(calls)


def test_memory_calls_are_safe_here():
    assert isinstance(memory.release_freed_memory(), bool)
    # glibc takes the heap count and the trim and map thresholds; elsewhere nothing happens
    assert memory.limit_arenas(4) is (memory._LIBC is not None)


class _Mine:
    """``len()`` of the calls that came from one thread."""

    def __init__(self, threads: list[int], ident: int | None) -> None:
        self.threads, self.ident = threads, ident

    def __len__(self) -> int:
        return sum(1 for t in list(self.threads) if t == self.ident)
