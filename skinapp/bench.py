"""``python -m skinapp.bench [--quick] [--out benchmarks/results.json]``: speed, in one run.

Measures, on this machine and in the same run:

- ``classifier``: one-image latency of the Keras model (through a compiled ``tf.function``)
  and of the LiteRT serving path (:class:`skinapp.serving.Classifier`), and batch-32
  throughput of both;
- ``pipeline``: the full analysis of an uploaded JPEG (decode, downscale, hair removal,
  segmentation, descriptors, classification, heat map) at 1024 px and 4000 px, per stage;
- ``concurrency``: 8 threads analysing at once through the app's analysis pool
  (:mod:`skinapp.pool`: as many analyses at once as cores, the interpreters the app uses), as
  8 browser sessions would, against one thread analysing alone with the same classifier;
- ``predict``: ``python -m skinapp.predict`` over a folder of 500 JPEGs;
- ``metrics``: the test ROC AUC with its 2,000-resample bootstrap interval, as ``evaluate``
  computes it (1,660 lesions);
- ``app``: ``streamlit run`` to health endpoint, to the first result of an upload in Chromium
  (Playwright), and the peak resident memory of the streamlit process tree.

``--load`` runs the end-to-end load run instead (:mod:`skinapp.bench_load`: 1, 8 and 16
sessions uploading at once, as WebSocket clients and as Chromium pages; its own options
follow ``--load``).

Writes nested JSON (``{"classifier": {"keras_ms_p50": ...}, ...}``) with the machine, the
date and each target (issue 7's, and issue 20's AUC timing) with whether it is met, and
prints a table. ``--quick`` shrinks every measurement and skips the app, for tests.
TensorFlow is imported only inside the Keras measurement. Speed is measured here, not
asserted in timed tests that a loaded machine would fail.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import cv2
import numpy as np

from skinapp.bench_load import (
    CHROMIUM,
    CHROMIUM_ARGS,
    RssSampler,
    free_port,
    get_key,
    wait_healthy,
)

REPO = Path(__file__).resolve().parent.parent
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
APP_SAMPLE = SAMPLES_DIR / "ISIC_0000411.jpg"
DEFAULT_OUT = "benchmarks/results.json"
BATCH = 32
CONCURRENCY = 8
#: Long side (px) of the JPEGs in the ``predict`` folder.
PREDICT_LONG_SIDE = 600

#: Every key the issue asks for, as dotted paths into the results.
REQUIRED_KEYS = (
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

#: (name, dotted key, comparison, bound): the targets of issue 7 (analysis at 1024 px
#: tightened by issue 17: <= 150 ms and <= 30x the single-view classifier call, same run).
TARGETS = (
    ("serving p50 <= 8 ms", "classifier.serving_ms_p50", "<=", 8.0),
    ("serving >= 3x faster than Keras", "classifier.speedup_vs_keras", ">=", 3.0),
    ("analysis 1024 px p50 <= 150 ms", "pipeline.total_ms_p50_1024", "<=", 150.0),
    ("analysis 1024 px <= 30x serving p50", "pipeline.x_serving_1024", "<=", 30.0),
    ("analysis 4000 px p50 <= 500 ms", "pipeline.total_ms_p50_4000", "<=", 500.0),
    ("serving batch >= 150 img/s", "classifier.serving_batch_img_s", ">=", 150.0),
    ("predict >= 100 img/s", "predict.img_s", ">=", 100.0),
    ("app first result <= 5 s", "app.first_result_s", "<=", 5.0),
    ("app peak RSS <= 1 GB", "app.peak_rss_mb", "<=", 1024.0),
    ("test AUC + bootstrap CI <= 2 s", "metrics.auc_ci_s", "<=", 2.0),
    ("8 threads >= 1.6x one thread (issue 21)", "concurrency.speedup_vs_single", ">=", 1.6),
)
#: Size of the AUC measurement: the test split and the bootstrap of ``python -m skinapp.evaluate``.
AUC_LESIONS, AUC_PREVALENCE, AUC_BOOT = 1660, 0.2, 2000


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m skinapp.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="tiny run for tests; skips the app")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"JSON file to write (default {DEFAULT_OUT})")
    p.add_argument("--model-dir", default=None, help="model folder (default: shipped models/)")
    p.add_argument("--no-app", action="store_true", help="skip the streamlit measurements")
    p.add_argument("--seed", type=int, default=0, help="seed for image choice (default 0)")
    p.add_argument(
        "--load",
        action="store_true",
        help="run the end-to-end load run (skinapp.bench_load) with the options that follow",
    )
    return p


# === Helpers ===


def _pct(values, q: float) -> float:
    return round(float(np.percentile(np.asarray(values, np.float64), q)), 2)


def _timed(fn, reps: int) -> list[float]:
    """Wall times of ``reps`` calls of ``fn``, in ms."""
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def _sample_images() -> list[np.ndarray]:
    from skinapp.io import read_image

    return [read_image(p) for p in sorted(SAMPLES_DIR.glob("*.jpg"))]


def _upscale(image: np.ndarray, long_side: int) -> np.ndarray:
    h, w = image.shape[:2]
    f = long_side / max(h, w)
    return cv2.resize(image, (round(w * f), round(h * f)), interpolation=cv2.INTER_CUBIC)


def _jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("cv2.imencode failed")
    return buf.tobytes()


def machine_info() -> dict:
    versions = {}
    for pkg in ("ai-edge-litert", "tensorflow", "keras", "numpy", "opencv-python-headless"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    try:
        versions["streamlit"] = metadata.version("streamlit")
    except metadata.PackageNotFoundError:
        versions["streamlit"] = None
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
    }


# === Classifier ===


def bench_serving(classifier, inputs: np.ndarray, reps: int, batch_reps: int) -> dict:
    """LiteRT :meth:`Classifier.run` on one prepared image and on a batch of 32."""
    one = inputs[:1]
    batch = np.resize(inputs, (BATCH, *inputs.shape[1:]))
    for _ in range(3):
        classifier.run(one)
    single = _timed(lambda: classifier.run(one), reps)
    classifier.run(batch)  # resize + warm
    batch_ms = _timed(lambda: classifier.run(batch), batch_reps)
    classifier.run(one)  # back to batch 1 for later callers
    return {
        "serving_ms_p50": _pct(single, 50),
        "serving_ms_p95": _pct(single, 95),
        "serving_batch_img_s": round(BATCH * 1e3 / float(np.median(batch_ms)), 1),
    }


def bench_keras(model_path: Path, inputs: np.ndarray, reps: int, batch_reps: int) -> dict:
    """The Keras model called through a compiled ``tf.function`` (graph, not eager)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    from skinapp.model.export import load_keras_model

    model = load_keras_model(model_path)

    @tf.function(reduce_retracing=True)
    def call(x):
        return model(x, training=False)

    one = tf.constant(inputs[:1].astype(np.float32))
    batch = tf.constant(np.resize(inputs, (BATCH, *inputs.shape[1:])).astype(np.float32))
    for _ in range(3):
        call(one)["logits"].numpy()
    single = _timed(lambda: call(one)["logits"].numpy(), reps)
    call(batch)["logits"].numpy()
    batch_ms = _timed(lambda: call(batch)["logits"].numpy(), batch_reps)
    return {
        "keras_ms_p50": _pct(single, 50),
        "keras_ms_p95": _pct(single, 95),
        "keras_batch_img_s": round(BATCH * 1e3 / float(np.median(batch_ms)), 1),
    }


# === Pipeline and concurrency ===


def bench_pipeline(classifier, image: np.ndarray, sizes: tuple[int, ...], reps: int) -> dict:
    """:func:`analyze_bytes` on JPEGs of ``image`` upscaled to each long side."""
    from skinapp.analysis import AnalysisSettings, analyze_bytes

    settings = AnalysisSettings()
    out: dict = {"reps": reps}
    for size in sizes:
        data = _jpeg(_upscale(image, size))
        analyze_bytes(data, settings, classifier)  # warm
        runs = [analyze_bytes(data, settings, classifier).timings_ms for _ in range(reps)]
        out[f"total_ms_p50_{size}"] = _pct([r["total"] for r in runs], 50)
        out[f"stages_{size}"] = {
            stage: _pct([r[stage] for r in runs], 50) for stage in runs[0] if stage != "total"
        }
        out[f"jpeg_kb_{size}"] = round(len(data) / 1024, 1)
    return out


def bench_concurrency(model_dir: str | None, image: np.ndarray, rounds: int) -> dict:
    """``CONCURRENCY`` threads each running an analysis at once, ``rounds`` times, through an
    analysis pool and a classifier set up as the app's (:mod:`skinapp.pool`); and one thread
    running ``CONCURRENCY * rounds`` analyses alone with the same classifier."""
    from skinapp.analysis import AnalysisSettings, analyze_bytes
    from skinapp.pool import AnalysisPool, PoolSettings, analyze_in_pool
    from skinapp.serving import Classifier
    from skinapp.threads import use_analysis_threads

    conf = PoolSettings.from_env()
    use_analysis_threads(conf.interpreter_threads)  # as default_pool() sets up the app
    classifier = Classifier(
        model_dir, num_threads=conf.interpreter_threads, max_interpreters=conf.workers
    )
    analysis_pool = AnalysisPool(conf.workers, max_waiting=CONCURRENCY)
    settings = AnalysisSettings()
    data = _jpeg(_upscale(image, 1024))
    barrier = threading.Barrier(CONCURRENCY)

    def work(_):
        barrier.wait()
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            analyze_in_pool(data, settings, classifier, pool=analysis_pool)
            times.append((time.perf_counter() - t0) * 1e3)
        return times

    for _ in range(2):  # warm-up
        analyze_bytes(data, settings, classifier)
    t0 = time.perf_counter()
    for _ in range(CONCURRENCY * rounds):
        analyze_bytes(data, settings, classifier)
    single_img_s = CONCURRENCY * rounds / (time.perf_counter() - t0)
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        barrier.reset()
        t0 = time.perf_counter()
        latencies = [t for ts in pool.map(work, range(CONCURRENCY)) for t in ts]
        wall = time.perf_counter() - t0
    img_s = len(latencies) / wall
    return {
        "threads": CONCURRENCY,
        "workers": conf.workers,
        "interpreter_threads": conf.interpreter_threads,
        "analyses": len(latencies),
        "p50_ms": _pct(latencies, 50),
        "p95_ms": _pct(latencies, 95),
        "img_s": round(img_s, 2),
        "single_img_s": round(single_img_s, 2),
        "speedup_vs_single": round(img_s / single_img_s, 2),
    }


# === Metrics ===


def bench_metrics(reps: int, seed: int = 0) -> dict:
    """:func:`roc_auc_with_ci` as ``evaluate`` runs it: the test split's size, 2,000 resamples."""
    from skinapp.model.metrics import roc_auc_with_ci

    rng = np.random.default_rng(seed)
    y = (rng.random(AUC_LESIONS) < AUC_PREVALENCE).astype(int)
    p = 1.0 / (1.0 + np.exp(-(rng.normal(size=AUC_LESIONS) + 1.5 * y)))
    runs = _timed(lambda: roc_auc_with_ci(y, p, n_boot=AUC_BOOT, seed=0), reps)
    return {
        "lesions": AUC_LESIONS,
        "n_boot": AUC_BOOT,
        "auc_ci_s": round(float(np.median(runs)) / 1e3, 3),
    }


# === predict ===


def bench_predict(images: list[np.ndarray], n: int, model_dir: str | None) -> dict:
    """``skinapp.predict.main`` over a temporary folder of ``n`` JPEGs made from the samples."""
    from skinapp import predict

    with tempfile.TemporaryDirectory(prefix="skinapp-bench-") as tmp:
        folder = Path(tmp) / "images"
        folder.mkdir()
        # The bundled samples are 224 px wide; a dataset folder holds ~600x450 JPEGs
        # (HAM10000/ISIC size), so upscale to that, varying size and orientation.
        variants = []
        for k, image in enumerate(images):
            for turn in range(4):
                im = np.rot90(image, turn).copy()
                variants.append(_jpeg(_upscale(im, PREDICT_LONG_SIDE + 8 * (k + turn))))
        for i in range(n):
            (folder / f"img_{i:04d}.jpg").write_bytes(variants[i % len(variants)])
        argv = [str(folder), "--out", str(Path(tmp) / "preds.csv"), "--no-progress"]
        if model_dir:
            argv += ["--model-dir", model_dir]
        stderr = io.StringIO()
        t0 = time.perf_counter()
        old, sys.stderr = sys.stderr, stderr
        try:
            rc = predict.main(argv)
        finally:
            sys.stderr = old
        seconds = time.perf_counter() - t0
        rows = (Path(tmp) / "preds.csv").read_text().count("\n") - 1
    if rc != 0 or rows != n:
        raise RuntimeError(f"predict failed (rc={rc}, {rows}/{n} rows): {stderr.getvalue()}")
    return {
        "images": n,
        "long_side_px": PREDICT_LONG_SIDE,
        "seconds": round(seconds, 2),
        "img_s": round(n / seconds, 1),
    }


# === App ===


def _tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and all its descendants, in MB (psutil or /proc)."""
    try:
        import psutil

        proc = psutil.Process(root)
        procs = [proc, *proc.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs) / 2**20
    except ImportError:
        pass
    except Exception:  # the process ended between the listing and the reading
        return 0.0
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    total_kb, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def _first_result(url: str, timeout_s: float) -> None:
    """Open Diagnose in Chromium, upload the sample, wait for "Risk grade"."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(timeout_s * 1e3)
            page.goto(url)
            page.get_by_role("heading", name="Diagnose").wait_for()
            page.get_by_text("Upload", exact=True).first.click()
            page.locator("input[type=file]").first.set_input_files(str(APP_SAMPLE))
            page.get_by_text("Risk grade", exact=False).first.wait_for()
        finally:
            browser.close()


def bench_app(timeout_s: float = 90.0) -> dict:
    """Cold start, first result and peak RSS of ``streamlit run app.py``."""
    out: dict = {"cold_start_s": None, "first_result_s": None, "peak_rss_mb": None}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
        "--server.headless", "true", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler = RssSampler(proc.pid, measure=_tree_rss_mb)
    sampler.start()
    try:
        if not wait_healthy(url, proc, timeout_s):
            out["reason"] = f"streamlit not healthy within {timeout_s:.0f} s"
            return out
        out["cold_start_s"] = round(time.perf_counter() - t0, 2)
        if not Path(CHROMIUM).exists():
            out["first_result_reason"] = f"no Chromium at {CHROMIUM}"
        else:
            try:
                _first_result(url, timeout_s)
                out["first_result_s"] = round(time.perf_counter() - t0, 2)
                time.sleep(1.0)  # let the page finish drawing (images) for the RSS peak
            except ImportError:
                out["first_result_reason"] = "playwright not installed"
            except Exception as err:  # a browser or timeout failure is a result, not a crash
                out["first_result_reason"] = f"{type(err).__name__}: {err}"[:300]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out["peak_rss_mb"] = sampler.stop()
    return out


# === Orchestration ===


def evaluate_targets(results: dict) -> dict:
    """Each issue-7 target with its measured value and whether it is met (None: not measured)."""
    out = {}
    for name, key, op, bound in TARGETS:
        try:
            value = get_key(results, key)
        except KeyError:
            value = None
        met = None if value is None else (value <= bound if op == "<=" else value >= bound)
        out[name] = {"key": key, "value": value, "target": f"{op} {bound:g}", "met": met}
    return out


def run_benchmarks(quick: bool, model_dir: str | None, with_app: bool, seed: int = 0) -> dict:
    from skinapp.model.preprocessing import prepare_model_input
    from skinapp.serving import Classifier

    rng = np.random.default_rng(seed)
    images = _sample_images()
    photo = images[int(rng.integers(len(images)))]
    results: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": machine_info(),
    }
    t0 = time.perf_counter()
    classifier = Classifier(model_dir)
    results["serving_load_s"] = round(time.perf_counter() - t0, 3)
    inputs = np.stack([prepare_model_input(im, classifier.input_spec) for im in images])

    reps, batch_reps = (10, 2) if quick else (200, 10)
    classifier_res = bench_serving(classifier, inputs, reps, batch_reps)
    results["classifier"] = classifier_res
    results["pipeline"] = bench_pipeline(classifier, photo, (1024, 4000), reps=2 if quick else 15)
    results["concurrency"] = bench_concurrency(model_dir, photo, rounds=1 if quick else 4)
    results["predict"] = bench_predict(images, 50 if quick else 500, model_dir)
    results["metrics"] = bench_metrics(reps=1 if quick else 5, seed=seed)
    if with_app:
        results["app"] = bench_app()
    else:
        results["app"] = {
            "cold_start_s": None,
            "first_result_s": None,
            "peak_rss_mb": None,
            "reason": "skipped (--quick or --no-app)",
        }
    # Keras last, so that importing TensorFlow cannot affect the other measurements.
    keras_res = bench_keras(
        classifier.model_dir / "model.keras", inputs, reps=5 if quick else 50, batch_reps=batch_reps
    )
    classifier_res.update(keras_res)
    classifier_res["speedup_vs_keras"] = round(
        keras_res["keras_ms_p50"] / classifier_res["serving_ms_p50"], 2
    )
    results["classifier"] = dict(sorted(classifier_res.items()))
    results["pipeline"]["x_serving_1024"] = round(
        results["pipeline"]["total_ms_p50_1024"] / classifier_res["serving_ms_p50"], 1
    )
    results["targets"] = evaluate_targets(results)
    return results


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def print_table(results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=False)
    cpus = results["machine"]["cpu_count"]
    table = Table(title=f"skinapp benchmark ({results['date']}, {cpus} CPU)")
    table.add_column("key")
    table.add_column("value", justify="right")
    for key in REQUIRED_KEYS:
        value = get_key(results, key)
        if isinstance(value, dict):
            value = ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
        table.add_row(key, _fmt(value))
    console.print(table)
    targets = Table(title="targets")
    for col in ("target", "measured", "met"):
        targets.add_column(col)
    for name, t in results["targets"].items():
        met = {True: "[green]yes", False: "[red]no", None: "not measured"}[t["met"]]
        targets.add_row(name, _fmt(t["value"]), met)
    console.print(targets)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--load" in argv:  # every option after --load is the load run's
        from skinapp import bench_load

        return bench_load.main(argv[argv.index("--load") + 1 :])
    args = build_parser().parse_args(argv)
    from skinapp.errors import SkinappError

    with_app = not (args.quick or args.no_app)
    try:
        results = run_benchmarks(args.quick, args.model_dir, with_app, args.seed)
    except SkinappError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"results in {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["REQUIRED_KEYS", "build_parser", "get_key", "main", "run_benchmarks"]
