"""The analysis pool seen from the pages (AppTest, shipped model).

Behaviours:
- Diagnose waits for a turn, draws "… analyses ahead of yours" while it waits, then shows
  the result; the cached result then replays on a rerun without the waiting message;
- when the queue is full, Diagnose shows the pool's message instead of waiting or failing;
- Batch triage takes its turns in the same pool.
"""

from __future__ import annotations

import mmap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from skinapp import pool as pool_module
from skinapp.pool import AnalysisPool
from skinapp.serving import default_model_dir
from skinapp.ui import cache, state

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "skinapp" / "samples" / "ISIC_0000309.jpg"

pytestmark = pytest.mark.skipif(
    not (default_model_dir() / "model.tflite").is_file(),
    reason=f"no model in {default_model_dir()} (models/ is committed in CI)",
)


def _unique_upload(tag: str) -> tuple[str, bytes, str]:
    """The sample with a tag after its end: the same photo, a fresh cache key."""
    return ("lesion.jpg", SAMPLE.read_bytes() + f"{tag}{time.time_ns()}".encode(), "image/jpeg")


def _diagnose() -> AppTest:
    at = AppTest.from_file(str(REPO / "pages/diagnose.py"), default_timeout=60)
    at.run()
    return at


@pytest.fixture
def one_worker_pool(monkeypatch):
    def make(max_waiting: int) -> AnalysisPool:
        pool = AnalysisPool(workers=1, max_waiting=max_waiting, poll_s=0.01)
        monkeypatch.setattr(pool_module, "_DEFAULT", pool)
        return pool

    return make


def test_diagnose_shows_its_place_then_the_result(one_worker_pool, monkeypatch):
    pool = one_worker_pool(max_waiting=4)
    shown: list[int] = []

    def recording_message(ahead: int) -> str:
        shown.append(ahead)
        return pool_module.waiting_message(ahead)

    monkeypatch.setattr(cache, "waiting_message", recording_message)
    release = threading.Event()

    def other_session() -> None:
        with pool.turn():
            release.wait(30)

    holder = threading.Thread(target=other_session)
    holder.start()
    deadline = time.monotonic() + 5
    while pool.running == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    threading.Thread(target=lambda: (_wait_for(lambda: shown), release.set()), daemon=True).start()

    at = _diagnose()
    at.file_uploader(key=state.DIAGNOSE_UPLOAD).set_value(_unique_upload("wait")).run()
    holder.join(5)
    assert not at.exception, [e.value for e in at.exception]
    assert shown == [1]  # "1 analysis ahead of yours" was drawn while waiting
    assert {m.label for m in at.metric} >= {"Risk grade", "Malignancy probability"}
    assert not any("ahead of yours" in i.value for i in at.info)  # cleared once it ran
    at.run()  # a rerun replays the cached result; the waiting message is not part of it
    assert not at.exception, [e.value for e in at.exception]
    assert shown == [1]
    assert not any("ahead of yours" in i.value for i in at.info)


def _wait_for(predicate, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_diagnose_full_queue_shows_the_message(one_worker_pool):
    pool = one_worker_pool(max_waiting=0)
    at = _diagnose()
    with pool.turn():  # another session's analysis holds the only place
        at.file_uploader(key=state.DIAGNOSE_UPLOAD).set_value(_unique_upload("full")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("The analyser is at capacity" in e.value for e in at.error)
    assert not at.metric
    at.run()  # errors are not cached: with a free place the analysis runs
    assert not at.error
    assert at.metric


def test_batch_triage_takes_turns_in_the_same_pool(one_worker_pool):
    pool = one_worker_pool(max_waiting=4)
    at = AppTest.from_file(str(REPO / "pages/triage.py"), default_timeout=120)
    at.run()
    at.toggle(key="triage.samples").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert pool.peak_running == 1 and pool.running == 0
    assert "6 of 6 photos shown" in " ".join(c.value for c in at.caption)


def test_a_second_session_is_lent_the_result_without_a_copy(monkeypatch):
    runs: list[int] = []
    real = cache.analyze_in_pool
    monkeypatch.setattr(cache, "analyze_in_pool", lambda *a, **k: runs.append(1) or real(*a, **k))
    upload = _unique_upload("shared")
    first, second = _diagnose(), _diagnose()
    for at in (first, second):
        at.file_uploader(key=state.DIAGNOSE_UPLOAD).set_value(upload).run()
        assert not at.exception, [e.value for e in at.exception]
        assert {m.label for m in at.metric} >= {"Risk grade"}
    assert runs == [1]  # analysed once for both sessions
    kept = [at.session_state["cache.analyses"] for at in (first, second)]
    (key,) = kept[0]
    assert kept[0][key] is kept[1][key]  # the same object, not a copy
    assert cache._SHARED.get(key) is kept[0][key]  # lent while a session keeps it
    image = kept[0][key].image  # kept outside the malloc heaps (skinapp.memory.off_heap)
    while isinstance(image, (np.ndarray, memoryview)):
        image = image.base if isinstance(image, np.ndarray) else image.obj
    assert isinstance(image, mmap.mmap)
    # (freed once none keeps it: tests/ui/test_results.py)
