"""Thread counts: numpy's BLAS on one thread; OpenCV on the pool's threads per analysis.

numpy's OpenBLAS starts a worker per core, and after each matrix product the workers
spin-wait for more work (about 0.1 s) before they sleep. An analysis does only a few small
products (colour distances in the descriptors, the out-of-distribution distances), but each
left a worker spinning: one analysis kept *both* cores busy (191 ms of CPU for 97 ms of wall
time at 1024 px), which slowed its own classifier call and halved what the analysis pool
gets done at once. The products are far too small to gain from a second thread.

:func:`use_one_blas_thread` sets it for the process: through ``OPENBLAS_NUM_THREADS`` (and
its siblings) before numpy is imported, and through threadpoolctl once it is. The package
calls it on import (``skinapp/__init__.py``), so the app, the benchmarks and every command
line run that way; set ``SKINAPP_BLAS_THREADS`` to another number to change it.
"""

from __future__ import annotations

import os
import sys

__all__ = ["blas_threads", "use_analysis_threads", "use_one_blas_thread"]

_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def blas_threads() -> int:
    """The BLAS thread count skinapp uses: ``SKINAPP_BLAS_THREADS``, 1 by default."""
    raw = os.environ.get("SKINAPP_BLAS_THREADS", "").strip()
    try:
        return max(1, int(raw)) if raw else 1
    except ValueError:
        return 1


def use_one_blas_thread() -> None:
    """Limit the BLAS libraries of this process to :func:`blas_threads` threads."""
    n = str(blas_threads())
    for name in _VARIABLES:  # read by OpenBLAS/MKL when numpy loads them
        os.environ.setdefault(name, n)
    if "numpy" not in sys.modules:
        return
    try:  # numpy is already loaded (e.g. by Streamlit): set the running library
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=int(n), user_api="blas")


def use_analysis_threads(n: int) -> None:
    """Let OpenCV use ``n`` threads, for the process (the analysis pool's threads per analysis).

    With as many pooled analyses as cores, OpenCV's own thread pool only adds threads that
    wait for work (spinning) while the other analysis needs the core: measured on two cores,
    8 pooled analyses did 1.62-1.69x the work of one analysis alone with one OpenCV thread,
    1.55-1.57x with OpenCV's default of one thread per core.
    """
    import cv2

    cv2.setNumThreads(max(1, int(n)))
