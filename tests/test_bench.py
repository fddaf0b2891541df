"""``python -m skinapp.bench --quick`` runs end to end and writes every key of issue 7."""

import json
import math
import re
from pathlib import Path

import pytest

from skinapp import bench
from skinapp.serving import DEFAULT_MODEL_DIR

REPO = Path(__file__).resolve().parent.parent
ISSUE_KEYS = (
    "classifier.keras_ms_p50",
    "classifier.serving_ms_p50",
    "classifier.serving_ms_p95",
    "classifier.keras_batch_img_s",
    "classifier.serving_batch_img_s",
    "pipeline.total_ms_p50_1024",
    "pipeline.total_ms_p50_4000",
    "pipeline.stages_1024",
    "app.cold_start_s",
    "app.first_result_s",
    "app.peak_rss_mb",
    "concurrency.p95_ms",
    "concurrency.img_s",
    "predict.img_s",
)
#: Keys that --quick does not measure (the app is skipped) and records as None.
APP_KEYS = {"app.cold_start_s", "app.first_result_s", "app.peak_rss_mb"}

pytestmark = pytest.mark.skipif(
    not (DEFAULT_MODEL_DIR / "model.keras").is_file(), reason="no shipped model in models/"
)


def test_required_keys_match_the_issue():
    assert set(bench.REQUIRED_KEYS) == set(ISSUE_KEYS)


def test_get_key_resolves_dotted_paths():
    assert bench.get_key({"a": {"b": 3}}, "a.b") == 3
    with pytest.raises(KeyError):
        bench.get_key({"a": {}}, "a.b")


def _figures(node, prefix=""):
    """Every number in a results tree, as (dotted key, value); booleans are not figures."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _figures(value, f"{prefix}{key}.")
    elif node is None or (isinstance(node, (int, float)) and not isinstance(node, bool)):
        yield prefix.rstrip("."), node


@pytest.mark.slow
def test_quick_run_writes_every_key(tmp_path):
    # GIVEN a tiny run
    out = tmp_path / "nested" / "results.json"
    # WHEN the benchmark runs end to end
    assert bench.main(["--quick", "--out", str(out)]) == 0
    # THEN every dotted key of the issue resolves ...
    results = json.loads(out.read_text())
    for key in ISSUE_KEYS:
        bench.get_key(results, key)
    assert {"decode", "preprocess", "segment", "describe", "classify"} <= set(
        results["pipeline"]["stages_1024"]
    )
    # ... every measured figure is a positive, finite number (a stage may round to 0.00 ms)
    measured = ("classifier", "pipeline", "concurrency", "predict", "metrics")
    figures = dict(_figures({name: results[name] for name in measured}))
    assert len(figures) > 30
    for key, value in figures.items():
        assert value is not None and math.isfinite(value), key
        assert value >= 0 if ".stages_" in key else value > 0, key
    for size in (1024, 4000):
        stages = results["pipeline"][f"stages_{size}"].values()
        assert max(stages) <= results["pipeline"][f"total_ms_p50_{size}"]
    # ... the app, skipped by --quick, says so instead of a number
    assert all(results["app"][key.split(".")[1]] is None for key in APP_KEYS)
    assert "skipped" in results["app"]["reason"]
    # ... the speed-up is the ratio of the two latencies it names (rounded to 0.01)
    c = results["classifier"]
    assert c["speedup_vs_keras"] == pytest.approx(
        c["keras_ms_p50"] / c["serving_ms_p50"], abs=0.006
    )
    assert results["quick"] is True
    assert results["machine"]["cpu_count"] >= 1
    assert results["predict"]["images"] == 50
    concurrency = results["concurrency"]  # issue 21: through the app's pool, vs one thread
    assert concurrency["single_img_s"] > 0 and concurrency["workers"] >= 1
    assert concurrency["speedup_vs_single"] == pytest.approx(
        concurrency["img_s"] / concurrency["single_img_s"], rel=0.02
    )
    # ... and each target reports the figure it is about
    assert set(results["targets"]) == {t[0] for t in bench.TARGETS}
    for name, key, op, bound in bench.TARGETS:
        value, target = bench.get_key(results, key), results["targets"][name]
        assert target["value"] == value, name
        met = None if value is None else (value <= bound if op == "<=" else value >= bound)
        assert target["met"] is met, name


def test_reference_results_hold_every_key():
    path = REPO / "benchmarks" / "results.json"
    if not path.is_file():
        pytest.skip("no committed reference run")
    results = json.loads(path.read_text())
    assert results["quick"] is False
    for key in ISSUE_KEYS:
        bench.get_key(results, key)


def test_serving_path_does_not_import_tensorflow():
    # the bench module itself must not pull TensorFlow in at import time
    source = (REPO / "skinapp" / "bench.py").read_text()
    top_level = [line for line in source.splitlines() if re.match(r"^(import|from) ", line)]
    assert not any("tensorflow" in line or "keras" in line for line in top_level)
