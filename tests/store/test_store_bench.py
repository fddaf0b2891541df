"""The storage measurement runs end to end on a throw-away store and reports every number."""

from __future__ import annotations

import json

from skinapp.store import bench


def test_bench_writes_sizes_and_timings(tmp_path):
    out = tmp_path / "case_store.json"
    assert bench.main(["--n", "2", "--side", "96", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["visits_per_variant"] == 2
    assert result["mean_kb"]["png"] > 0 and result["mean_kb"]["jpeg_q90"] > 0
    assert set(result["median_ms"]) == {
        "save_visit_photo_in_db",
        "read_photo_from_db",
        "save_visit_photo_in_file",
        "read_photo_from_file",
    }
