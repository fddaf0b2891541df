"""Two sessions writing at once: threads sharing one store (the app's sessions) and separate
processes (several app replicas) racing to create the schema and then saving, on SQLite and
PostgreSQL. No write may fail or be lost."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from skinapp.store import open_store
from tests.store.helpers import make_visit

REPO = Path(__file__).resolve().parents[2]
THREADS, SAVES_PER_THREAD = 6, 8
PROCESSES, SAVES_PER_PROCESS = 3, 10

_WORKER = textwrap.dedent(
    """
    import datetime as dt, sys
    from skinapp.store import StoreConfig, open_store
    from skinapp.store.config import postgres_url, store_config
    from tests.store.helpers import make_visit

    url, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config = StoreConfig(url=postgres_url(url)) if url.startswith("postgres") else store_config()
    store = open_store(config)  # races the other processes to create the schema
    for i in range(n):
        store.save_visit(make_visit(name, f"L{i % 3}", dt.date(2024, 1, 1 + i)))
        store.patients()  # interleave reads with the writes
    print("ok", name)
    """
)


def test_threads_writing_at_once_lose_nothing(store):
    def work(worker: int) -> list[int]:
        return [
            store.save_visit(make_visit(f"T-{worker}", f"L{i}", dt.date(2024, 2, 1 + i)))
            for i in range(SAVES_PER_THREAD)
        ]

    with ThreadPoolExecutor(THREADS) as pool:
        ids = [i for batch in pool.map(work, range(THREADS)) for i in batch]
    assert len(set(ids)) == THREADS * SAVES_PER_THREAD
    assert store.count() == (THREADS * SAVES_PER_THREAD,) * 2
    assert store.patients() == [f"T-{w}" for w in range(THREADS)]


def test_processes_creating_and_writing_at_once_lose_nothing(store_config_any):
    url = "" if store_config_any.is_sqlite else _plain_url(store_config_any)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, url or "sqlite", f"W-{p}", str(SAVES_PER_PROCESS)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(PROCESSES)
    ]
    outputs = [proc.communicate(timeout=240) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-2000:]
        assert out.startswith("ok")
    store = open_store(store_config_any)
    try:
        assert store.count() == (PROCESSES * SAVES_PER_PROCESS,) * 2
        for p in range(PROCESSES):
            assert len(store.visits(f"W-{p}")) == SAVES_PER_PROCESS
    finally:
        store.dispose()


def _plain_url(config) -> str:
    return config.url.set(drivername="postgresql").render_as_string(hide_password=False)
