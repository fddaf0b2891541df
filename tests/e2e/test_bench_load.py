"""The load benchmark (skinapp.bench_load): unique photos, its table and targets, and tiny
real runs (2 sessions; WebSocket clients, then Chromium) that must finish without errors.
Nothing here is timed."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from browser_app import require_browser

from skinapp import bench, bench_load


def test_each_session_gets_unique_bytes_at_the_asked_size():
    photos = [bench_load.unique_photo(i, size) for i in range(6) for size in bench_load.SIZES]
    assert len(set(photos)) == len(photos)
    for data, size in zip(photos, bench_load.SIZES * 6, strict=False):
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert max(image.shape[:2]) == size


def test_targets_and_table():
    results = {
        "client": "websocket",
        "rounds": {
            "1x1024": _round(1, [2.0], before=480, peak=520, after=500),
            "16": _round(16, [3.0] * 16, before=500, peak=880, after=600),
        },
        "slowest_8_vs_single": 4.2,
    }
    targets = bench_load.evaluate_targets(results)
    assert targets["0 errors at 16 sessions"]["met"] is True
    assert targets["RSS at the 16-session peak <= 900 MB"]["met"] is True
    assert targets["RSS a minute after 16 sessions <= 650 MB"]["met"] is True
    assert targets["8-session slowest <= 5x single"]["met"] is True
    results["rounds"]["16"]["errors"] = 1
    assert bench_load.evaluate_targets(results)["0 errors at 16 sessions"]["met"] is False
    del results["slowest_8_vs_single"]
    assert bench_load.evaluate_targets(results)["8-session slowest <= 5x single"]["met"] is None
    table = bench_load.markdown_table({"clients": {"websocket": results}}).splitlines()
    assert table[2] == "| websocket | 1 | 1024 | 0 | 2.0 / 2.0 / 2.0 | 480 / 520 / 500 (+60 s) |"
    assert table[3].startswith("| websocket | 16 | 224/1024/3000 | 1 | 3.0 / 3.0 / 3.0 |")


def _round(n, times, *, before, peak, after):
    return {
        "sessions": n,
        "errors": 0,
        "upload_to_result_s": {"p50": np.median(times), "p95": max(times), "max": max(times)},
        "rss_before_mb": before,
        "rss_peak_mb": peak,
        "rss_after_mb": after,
        "settle_s": 60.0,
    }


@pytest.mark.slow
def test_a_tiny_websocket_load_run_has_no_errors(tmp_path):
    _tiny_run(tmp_path, "websocket")


@pytest.mark.e2e
@pytest.mark.slow
def test_a_tiny_browser_load_run_has_no_errors(tmp_path):
    require_browser()
    _tiny_run(tmp_path, "browser")


def _tiny_run(tmp_path, client):
    out = tmp_path / "load.json"
    argv = ["--load", "--sessions", "2", "--settle", "1", "--clients", client, "--out", str(out)]
    assert bench.main(argv) == 0
    results = json.loads(out.read_text())
    assert results["app"] == "app.py" and list(results["clients"]) == [client]
    run = results["clients"][client]
    assert set(run["rounds"]) == {"1x224", "1x1024", "1x3000", "2"}
    for name, r in run["rounds"].items():
        assert r["errors"] == 0, (name, r["error_reasons"])
        assert len(r["times_s"]) == r["sessions"]
        assert all(0 < t < 60 for t in r["times_s"])
        assert 0 < r["rss_before_mb"] <= r["rss_peak_mb"]
    assert run["single_s_mean"] > 0
    assert results["pool"]["workers"] >= 1
