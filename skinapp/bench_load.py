"""``python -m skinapp.bench_load`` (or ``python -m skinapp.bench --load``): the app under load.

Starts ``streamlit run app.py`` on a free local port and, for each N in ``--sessions``
(default 1, 8, 16), opens N sessions at once, each uploading its own photo on Diagnose
(unique bytes, so no session is served from another's cache; long sides 224, 1024 and 3000 px
in turn). The uploads start together once every session has its page open. Two kinds of
client, each a run of its own against a fresh server (``--clients``, default both):

- ``websocket``: Streamlit's own protocol without a browser (:mod:`skinapp.bench_client`),
  timed from asking for the upload URL until the server has sent "Risk grade": the
  server's own time under load, as when the browsers run on the users' machines.
- ``browser``: Playwright driving Debian's Chromium (one browser context per session), timed
  on the page's clock from the file input's change to the first frame drawn after "Risk
  grade" entered the page (a MutationObserver in the page; polling from Playwright would
  round each time up to its next poll). Chromium runs on the same two cores as the server
  and takes more CPU per upload than the server, so these times include the harness's own
  drawing.

Measured per round:

- ``errors``: sessions without a result (timeout, exception box, error message, lost
  connection), with the first few reasons;
- ``upload_to_result_s`` p50 / p95 / max, timed as said above;
- the server's resident memory (RSS, MB): ``rss_before_mb`` (the round about to start),
  ``rss_peak_mb`` (sampled every 0.1 s during the round) and ``rss_after_mb`` (``--settle``
  seconds, default 60, after every session closed).

The single-session round is run once per photo size and its mean is the baseline that the
8-session slowest result of the same client is compared with (issue 21: at most 5x; the
ideal on two cores is 4x); every target is evaluated for each client. Writes JSON (default
``benchmarks/load.json``) and prints a table. The machine's load average is recorded at the
start and the end, because other work on the machine slows every number here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
CHROMIUM = os.environ.get("SKINAPP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
]
DEFAULT_OUT = "benchmarks/load.json"
SIZES = (224, 1024, 3000)
DEFAULT_SESSIONS = (1, 8, 16)
#: The script the load run serves (``--app``).
DEFAULT_APP = REPO / "app.py"
#: Who uploads: Streamlit's protocol without a browser (skinapp.bench_client), or Chromium.
CLIENTS = ("websocket", "browser")
#: The Diagnose uploader the websocket clients fill (the browser finds the file input).
UPLOADER_LABEL = "Dermoscopic photo(s)"

#: (name, dotted key, comparison, bound): the load targets of issue 21.
TARGETS = (
    ("0 errors at 16 sessions", "rounds.16.errors", "<=", 0),
    ("RSS at the 16-session peak <= 900 MB", "rounds.16.rss_peak_mb", "<=", 900.0),
    ("RSS a minute after 16 sessions <= 650 MB", "rounds.16.rss_after_mb", "<=", 650.0),
    ("8-session slowest <= 5x single", "slowest_8_vs_single", "<=", 5.0),
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m skinapp.bench_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--sessions",
        default=",".join(map(str, DEFAULT_SESSIONS)),
        help="comma-separated numbers of simultaneous sessions (default 1,8,16)",
    )
    p.add_argument(
        "--clients",
        default=",".join(CLIENTS),
        help="comma-separated clients, each a run of its own against a fresh server: "
        "websocket (the server alone) and/or browser (Chromium on this machine; default both)",
    )
    p.add_argument(
        "--app",
        default=str(DEFAULT_APP),
        help="the Streamlit script to serve (default: skinapp's app.py; "
        "benchmarks/floor_app.py is the least a page can do per upload)",
    )
    p.add_argument("--out", default=DEFAULT_OUT, help=f"JSON file to write (default {DEFAULT_OUT})")
    p.add_argument(
        "--settle", type=float, default=60.0, help="seconds to wait after a round (default 60)"
    )
    p.add_argument(
        "--timeout", type=float, default=180.0, help="seconds a session may take (default 180)"
    )
    return p


# === Photos ===


def unique_photo(index: int, long_side: int) -> bytes:
    """A bundled sample at ``long_side`` px with a per-``index`` nudge: unique bytes."""
    samples = sorted(SAMPLES_DIR.glob("*.jpg"))
    bgr = cv2.imread(str(samples[index % len(samples)]), cv2.IMREAD_COLOR)
    h, w = bgr.shape[:2]
    scale = long_side / max(h, w)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    bgr = cv2.resize(
        bgr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interp
    )
    bgr[0, 0] = (index * 37 % 256, index * 11 % 256, index % 256)  # one pixel differs
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


# === The server ===


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of one process, in MB (from /proc; 0 when it has ended)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RssSampler(threading.Thread):
    """The peak of ``measure(pid)`` (MB; by default the process's RSS) between :meth:`start`
    and :meth:`stop`."""

    def __init__(
        self, pid: int, every_s: float = 0.1, measure: Callable[[int], float] = rss_mb
    ) -> None:
        super().__init__(daemon=True)
        self.pid, self.every_s, self.peak_mb = pid, every_s, 0.0
        self.measure = measure
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak_mb = max(self.peak_mb, self.measure(self.pid))
            self._done.wait(self.every_s)

    def stop(self) -> float:
        self._done.set()
        self.join(timeout=5)
        return round(self.peak_mb, 1)


def start_app(
    port: int, log_path: Path, env: dict[str, str] | None = None, script: Path = DEFAULT_APP
) -> subprocess.Popen:
    """``streamlit run script`` from the repository (its ``.streamlit/config.toml``)."""
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.headless", "true", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    log = log_path.open("wb")
    return subprocess.Popen(
        cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 90.0) -> bool:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


# === Sessions ===


#: Runs in every page before Streamlit's own scripts. It stamps, on the page's clock, the
#: moment the uploader's file input changes (the user's drop) and the first frame painted after
#: the result (or a problem) entered the page. Polling from Playwright instead would round each
#: time up to its next poll (0.02, 0.07, 0.17, 0.27, 0.77 s, then every 0.5 s).
_STAMPS_JS = """
(() => {
  const stamps = { change: null, done: null, problem: null };
  window.__skinappLoad = stamps;
  let settle;
  window.__skinappDone = new Promise((resolve) => { settle = resolve; });
  const PROBLEM = "%(problem)s";
  const finish = (problem) => {
    if (stamps.change === null || stamps.done !== null) return;
    stamps.done = -1;  // once
    stamps.problem = problem;
    requestAnimationFrame(() => setTimeout(() => {
      stamps.done = performance.now();
      settle(stamps);
    }, 0));
  };
  const check = (node) => {
    if (node.nodeType !== 1) return;
    const bad = node.matches(PROBLEM) ? node : node.querySelector(PROBLEM);
    if (bad) finish((bad.innerText || bad.textContent || "").slice(0, 200));
    else if ((node.textContent || "").includes("%(result)s")) finish(null);
  };
  document.addEventListener("change", (event) => {
    if (event.target && event.target.type === "file") stamps.change = performance.now();
  }, true);
  new MutationObserver((records) => {
    if (stamps.change === null || stamps.done !== null) return;
    for (const record of records) for (const node of record.addedNodes) check(node);
  }).observe(document, { childList: true, subtree: true });
})();
"""
RESULT_TEXT = "Risk grade"
PROBLEM_SELECTOR = (
    "[data-testid=stException], [data-testid=stAlertContentError], [data-testid=stConnectionStatus]"
)


async def _session(
    browser, url: str, photo: bytes, ready: asyncio.Queue, start: asyncio.Event, timeout_s: float
):
    """One session: open Diagnose, report ready, wait for ``start``, upload, wait for the
    result. Returns ``(seconds from the file input's change to the result, None)`` or
    ``(None, reason)``."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        await context.add_init_script(
            _STAMPS_JS % {"problem": PROBLEM_SELECTOR, "result": RESULT_TEXT}
        )
        page = await context.new_page()
        page.set_default_timeout(timeout_s * 1e3)
        await page.goto(url)
        await page.get_by_role("heading", name="Diagnose").wait_for()
        await page.get_by_text("Upload", exact=True).first.click()
        uploader = page.locator("input[type=file]").first
        await uploader.wait_for(state="attached")
        await ready.put(1)
        await start.wait()
        await uploader.set_input_files(
            {"name": "lesion.jpg", "mimeType": "image/jpeg", "buffer": photo}
        )
        try:
            stamps = await asyncio.wait_for(
                page.evaluate("window.__skinappDone"), timeout=timeout_s
            )
        except TimeoutError:
            return None, f"no result within {timeout_s:.0f} s"
        if stamps["problem"] is not None:
            return None, stamps["problem"] or "an error box or a lost connection"
        return (stamps["done"] - stamps["change"]) / 1e3, None
    except Exception as err:  # a browser failure is a result of the run, not a crash
        return None, f"{type(err).__name__}: {err}"[:200]
    finally:
        await context.close()


async def _round(url: str, photos: list[bytes], timeout_s: float, client: str) -> list[tuple]:
    """All sessions of one round, uploading together: ``[(seconds or None, reason), ...]``."""
    ready, start = asyncio.Queue(), asyncio.Event()
    if client == "websocket":
        from skinapp.bench_client import time_upload

        tasks = [
            asyncio.ensure_future(
                asyncio.wait_for(time_upload(url, UPLOADER_LABEL, photo, ready, start), timeout_s)
            )
            for photo in photos
        ]
        await _all_ready(ready, tasks, timeout_s)
        start.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        return [
            (None, f"no result within {timeout_s:.0f} s") if isinstance(o, BaseException) else o
            for o in outcomes
        ]
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            tasks = [
                asyncio.ensure_future(_session(browser, url, photo, ready, start, timeout_s))
                for photo in photos
            ]
            await _all_ready(ready, tasks, timeout_s)
            start.set()
            return await asyncio.gather(*tasks)
        finally:
            await browser.close()


#: Seconds to let the opened pages finish drawing before the uploads start together.
SETTLE_BEFORE_UPLOAD_S = 2.0


async def _all_ready(ready: asyncio.Queue, tasks: list, timeout_s: float) -> None:
    """Wait until every session has its page open (or has failed), then a little longer, so
    that the uploads start together and are not timed against other pages still loading."""
    deadline = time.perf_counter() + timeout_s
    waiting = len(tasks)
    while waiting and time.perf_counter() < deadline:
        try:
            await asyncio.wait_for(ready.get(), timeout=0.2)
            waiting -= 1
        except TimeoutError:
            waiting = min(waiting, sum(not t.done() for t in tasks))
    await asyncio.sleep(SETTLE_BEFORE_UPLOAD_S)


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def run_round(
    url: str, pid: int, photos: list[bytes], timeout_s: float, settle_s: float, client: str
) -> dict:
    before = rss_mb(pid)
    sampler = RssSampler(pid)
    sampler.start()
    t0 = time.perf_counter()
    outcomes = asyncio.run(_round(url, photos, timeout_s, client))
    wall = time.perf_counter() - t0
    peak = sampler.stop()
    time.sleep(settle_s)
    times = [t for t, _ in outcomes if t is not None]
    reasons = [r for _, r in outcomes if r is not None]
    return {
        "sessions": len(photos),
        "errors": len(reasons),
        "error_reasons": reasons[:5],
        "upload_to_result_s": {
            "p50": _pct(times, 50),
            "p95": _pct(times, 95),
            "max": round(max(times), 3) if times else None,
        },
        "times_s": [round(t, 3) for t in times],
        "round_wall_s": round(wall, 1),
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": max(peak, round(before, 1)),
        "rss_after_mb": round(rss_mb(pid), 1),
        "settle_s": settle_s,
    }


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run_load(
    sessions: list[int],
    timeout_s: float,
    settle_s: float,
    clients: list[str],
    script: Path = DEFAULT_APP,
) -> dict:
    """The whole load run: each client in turn against its own fresh server of ``script``."""
    from skinapp.pool import default_settings

    pool = default_settings()
    results: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadavg_start": _loadavg(),
        },
        "pool": {
            "workers": pool.workers,
            "max_waiting": pool.max_waiting,
            "interpreter_threads": pool.interpreter_threads,
        },
        "app": _shown_path(script),
        "clients": {},
    }
    for client in clients:
        results["clients"][client] = run_client(sessions, timeout_s, settle_s, client, script)
    results["machine"]["loadavg_end"] = _loadavg()
    return results


def _shown_path(script: Path) -> str:
    """``script`` relative to the repository when inside it (no machine paths in results)."""
    try:
        return str(Path(script).resolve().relative_to(REPO))
    except ValueError:
        return Path(script).name


def run_client(
    sessions: list[int],
    timeout_s: float,
    settle_s: float,
    client: str,
    script: Path = DEFAULT_APP,
) -> dict:
    """Every round with one kind of client (``"websocket"`` or ``"browser"``), a fresh
    server for them; the targets are evaluated on it."""
    results: dict = {"client": client, "rounds": {}}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "streamlit.log"
        proc = start_app(port, log_path, script=script)
        try:
            t0 = time.perf_counter()
            if not wait_healthy(url, proc):
                raise RuntimeError(
                    "streamlit did not become healthy:\n" + log_path.read_text()[-2000:]
                )
            results["cold_start_s"] = round(time.perf_counter() - t0, 2)
            results["rss_idle_mb"] = round(rss_mb(proc.pid), 1)
            # One warm-up session loads the model (what every later session finds loaded).
            warm = run_round(url, proc.pid, [unique_photo(10_000, 1024)], timeout_s, 2.0, client)
            results["warmup"] = warm
            results["rss_model_loaded_mb"] = warm["rss_after_mb"]
            singles = []
            for i, size in enumerate(SIZES):
                photo = unique_photo(20_000 + i, size)
                one = run_round(url, proc.pid, [photo], timeout_s, 2.0, client)
                results["rounds"][f"1x{size}"] = one
                singles += one["times_s"]
            if singles:
                results["single_s_mean"] = round(float(np.mean(singles)), 3)
            offset = 0
            for n in sessions:
                if n == 1:
                    continue  # measured above, once per size
                photos = [unique_photo(offset + i, SIZES[i % len(SIZES)]) for i in range(n)]
                offset += n
                results["rounds"][str(n)] = run_round(
                    url, proc.pid, photos, timeout_s, settle_s, client
                )
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log = log_path.read_text(errors="replace")
            results["server_log_tail"] = log[-1500:]
            results["server_log"] = log if "Traceback" in log or "Error" in log else ""
    eight = results["rounds"].get("8", {}).get("upload_to_result_s", {}).get("max")
    if eight is not None and results.get("single_s_mean"):
        results["slowest_8_vs_single"] = round(eight / results["single_s_mean"], 2)
    results["targets"] = evaluate_targets(results)
    return results


def get_key(results: dict, dotted: str):
    """``results["a"]["b"]`` for ``"a.b"``; raises KeyError when absent."""
    node = results
    for part in dotted.split("."):
        node = node[part]
    return node


def evaluate_targets(results: dict) -> dict:
    out = {}
    for name, key, op, bound in TARGETS:
        try:
            value = get_key(results, key)
        except (KeyError, TypeError):
            value = None
        met = None if value is None else (value <= bound if op == "<=" else value >= bound)
        out[name] = {"key": key, "value": value, "target": f"{op} {bound:g}", "met": met}
    return out


def markdown_table(results: dict) -> str:
    """The rounds of every client as one Markdown table (what the README shows)."""
    lines = [
        "| client | sessions | photo px | errors | upload→result p50 / p95 / max (s) "
        "| RSS before / peak / after (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for client, run in results["clients"].items():
        for name, r in run["rounds"].items():
            lines.append(_table_row(client, name, r))
    return "\n".join(lines)


def _table_row(client: str, name: str, r: dict) -> str:
    sizes = name.split("x")[1] if "x" in name else "224/1024/3000"
    t = r["upload_to_result_s"]
    return (
        f"| {client} | {r['sessions']} | {sizes} | {r['errors']} | "
        f"{t['p50']} / {t['p95']} / {t['max']} | "
        f"{r['rss_before_mb']:.0f} / {r['rss_peak_mb']:.0f} / {r['rss_after_mb']:.0f} "
        f"(+{r['settle_s']:.0f} s) |"
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    clients = [c for c in args.clients.split(",") if c.strip()]
    if unknown := set(clients) - set(CLIENTS):
        print(f"error: unknown client(s) {sorted(unknown)}; choose from {CLIENTS}", file=sys.stderr)
        return 2
    if "browser" in clients and not Path(CHROMIUM).exists():
        print(f"error: no Chromium at {CHROMIUM} (set SKINAPP_CHROMIUM)", file=sys.stderr)
        return 2
    sessions = [int(s) for s in args.sessions.split(",") if s.strip()]
    results = run_load(sessions, args.timeout, args.settle, clients, Path(args.app))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown_table(results))
    for client, run in results["clients"].items():
        for name, t in run["targets"].items():
            met = {True: "yes", False: "NO", None: "not measured"}[t["met"]]
            print(f"{client}: {name}: {t['value']} ({met})")
    print(f"results in {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["build_parser", "evaluate_targets", "main", "markdown_table", "run_load", "unique_photo"]
