"""The bounded analysis pool (skinapp.pool) and the classifier's fixed interpreter pool.

Behaviours (one test each):
- at most ``workers`` analyses run at once, whatever the number of callers;
- a waiting caller is told how many analyses are ahead, and the number falls as they finish;
- a full queue refuses at once with a typed error and a clear message; a wait past the limit
  too; a refused or timed-out caller leaves no trace in the queue;
- a batch taking one turn per photo does not make a Diagnose request wait for the whole batch;
- ``SKINAPP_WORKERS`` / ``SKINAPP_QUEUE`` / ``SKINAPP_INTERPRETER_THREADS`` are read, and bad
  values are explained;
- the classifier creates at most ``max_interpreters`` LiteRT interpreters and reuses them.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from skinapp.errors import SkinappError
from skinapp.pool import AnalysisPool, PoolBusyError, PoolSettings, waiting_message
from skinapp.serving import Classifier, default_model_dir


def _wait_until(predicate, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def test_pool_bounds_concurrency():
    pool = AnalysisPool(workers=2, max_waiting=32, poll_s=0.01)
    inside, peak, lock = 0, 0, threading.Lock()

    def fake_analysis(i: int) -> int:
        nonlocal inside, peak
        with pool.turn():
            with lock:
                inside += 1
                peak = max(peak, inside)
            time.sleep(0.02)
            with lock:
                inside -= 1
        return i

    with ThreadPoolExecutor(12) as ex:
        assert sorted(ex.map(fake_analysis, range(36))) == list(range(36))
    assert peak == 2
    assert pool.peak_running == 2
    assert pool.running == 0 and pool.waiting == 0


def test_waiting_caller_is_told_its_place():
    pool = AnalysisPool(workers=1, max_waiting=8, poll_s=0.01)
    release = [threading.Event() for _ in range(3)]
    seen: dict[int, list[int]] = {0: [], 1: [], 2: []}

    def caller(i: int) -> None:
        with pool.turn(on_wait=seen[i].append):
            release[i].wait(5)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(3)]
    threads[0].start()
    _wait_until(lambda: pool.running == 1)
    threads[1].start()
    _wait_until(lambda: pool.waiting == 1)
    threads[2].start()
    _wait_until(lambda: pool.waiting == 2)
    _wait_until(lambda: seen[2] == [2])
    assert seen[0] == [] and seen[1] == [1]  # the first caller never waited
    release[0].set()
    _wait_until(lambda: seen[2] == [2, 1])  # one analysis ahead now: the second's
    release[1].set()
    release[2].set()
    for t in threads:
        t.join(5)
    assert pool.running == 0 and pool.waiting == 0
    assert waiting_message(2).startswith("The analyser is busy: 2 analyses ahead of yours")
    assert "1 analysis ahead of yours" in waiting_message(1)


def test_full_queue_refuses_with_a_clear_message():
    pool = AnalysisPool(workers=1, max_waiting=1, poll_s=0.01)
    release = threading.Event()

    def hold() -> None:
        with pool.turn():
            release.wait(5)

    running = threading.Thread(target=hold)
    running.start()
    _wait_until(lambda: pool.running == 1)
    queued = threading.Thread(target=hold)
    queued.start()
    _wait_until(lambda: pool.waiting == 1)
    t0 = time.monotonic()
    with pytest.raises(PoolBusyError) as info, pool.turn():
        pass
    assert time.monotonic() - t0 < 1.0  # refused at once, not after a wait
    assert isinstance(info.value, SkinappError)
    assert info.value.reason == "queue_full"
    assert str(info.value) == (
        "The analyser is at capacity: 1 analyses are running and 1 are waiting. "
        "Please try again in a minute."
    )
    release.set()
    running.join(5)
    queued.join(5)
    assert pool.running == 0 and pool.waiting == 0


def test_wait_past_the_limit_is_refused_and_leaves_the_queue():
    pool = AnalysisPool(workers=1, max_waiting=4, max_wait_s=0.2, poll_s=0.01)
    with pool.turn():
        with pytest.raises(PoolBusyError) as info, pool.turn():
            pass
        assert info.value.reason == "timeout"
        assert "stayed busy for 0 s. Please try again" in str(info.value)
        assert pool.waiting == 0
    with pool.turn():  # the pool still works
        assert pool.running == 1


def test_batch_takes_one_turn_per_photo_and_does_not_starve_diagnose():
    pool = AnalysisPool(workers=1, max_waiting=8, poll_s=0.01)
    order: list[str] = []
    batch_started = threading.Event()

    def batch() -> None:
        for i in range(6):
            with pool.turn(join_when_full=True):
                order.append(f"batch{i}")
                batch_started.set()
                time.sleep(0.05)

    worker = threading.Thread(target=batch)
    worker.start()
    batch_started.wait(5)
    with pool.turn():
        order.append("diagnose")
    worker.join(5)
    assert order.index("diagnose") <= 2, order  # behind at most the photo running + one
    assert len(order) == 7


def test_settings_from_environment(monkeypatch):
    monkeypatch.setenv("SKINAPP_WORKERS", "3")
    monkeypatch.setenv("SKINAPP_QUEUE", "5")
    monkeypatch.delenv("SKINAPP_INTERPRETER_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert PoolSettings.from_env() == PoolSettings(workers=3, max_waiting=5, interpreter_threads=2)
    monkeypatch.setenv("SKINAPP_INTERPRETER_THREADS", "1")
    assert PoolSettings.from_env().interpreter_threads == 1
    monkeypatch.delenv("SKINAPP_WORKERS")
    monkeypatch.delenv("SKINAPP_INTERPRETER_THREADS")
    assert PoolSettings.from_env().workers == 6
    assert PoolSettings.from_env().interpreter_threads == 1
    monkeypatch.setenv("SKINAPP_WORKERS", "two")
    with pytest.raises(ValueError, match="SKINAPP_WORKERS must be a whole number"):
        PoolSettings.from_env()
    monkeypatch.setenv("SKINAPP_WORKERS", "0")
    with pytest.raises(ValueError, match="SKINAPP_WORKERS must be at least 1"):
        PoolSettings.from_env()


needs_model = pytest.mark.skipif(
    not (default_model_dir() / "model.tflite").is_file(),
    reason=f"no model in {default_model_dir()} (models/ is committed in CI)",
)


@needs_model
def test_classifier_reuses_a_fixed_number_of_interpreters():
    clf = Classifier(default_model_dir(), num_threads=1, max_interpreters=2)
    assert clf.interpreters_created == 1  # the one made to fail early
    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 255, (96, 120, 3), dtype=np.uint8) for _ in range(4)]
    for photo in photos:
        clf.predict(photo)
    assert clf.interpreters_created == 1  # one caller at a time: the same interpreter
    expected = [clf.predict(p).p_malignant for p in photos]

    def work(i: int) -> float:
        return clf.predict(photos[i % 4], tta=i % 3 == 0).p_malignant

    with ThreadPoolExecutor(8) as ex:  # 8 threads, as 8 sessions
        got = list(ex.map(work, range(48)))
    assert clf.interpreters_created == 2
    plain = [g for i, g in enumerate(got) if i % 3 != 0]
    assert plain == pytest.approx([expected[i % 4] for i in range(48) if i % 3 != 0], abs=1e-6)


def test_the_process_pool_gives_opencv_its_threads_per_analysis(monkeypatch):
    import cv2

    import skinapp.pool as pool_module

    before = cv2.getNumThreads()
    monkeypatch.setattr(pool_module, "_DEFAULT", None)
    monkeypatch.setattr(
        pool_module, "_DEFAULT_SETTINGS", PoolSettings(workers=2, interpreter_threads=1)
    )
    try:
        pool_module.default_pool()
        assert cv2.getNumThreads() == 1
        monkeypatch.setattr(pool_module, "_DEFAULT", None)
        monkeypatch.setattr(
            pool_module, "_DEFAULT_SETTINGS", PoolSettings(workers=1, interpreter_threads=2)
        )
        pool_module.default_pool()
        assert cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(before)
