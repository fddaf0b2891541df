"""skinapp runs numpy's BLAS on one thread (see skinapp/threads.py)."""

import json
import os
import subprocess
import sys

import pytest

from skinapp.threads import blas_threads


def test_the_default_is_one_thread_and_the_variable_changes_it(monkeypatch):
    monkeypatch.delenv("SKINAPP_BLAS_THREADS", raising=False)
    assert blas_threads() == 1
    monkeypatch.setenv("SKINAPP_BLAS_THREADS", "2")
    assert blas_threads() == 2
    monkeypatch.setenv("SKINAPP_BLAS_THREADS", "many")
    assert blas_threads() == 1


@pytest.mark.parametrize("numpy_first", [False, True], ids=["skinapp_first", "numpy_first"])
def test_importing_skinapp_leaves_blas_on_one_thread(numpy_first):
    # numpy_first: as under Streamlit, which loads numpy (and OpenBLAS) before the app.
    code = (
        ("import numpy\n" if numpy_first else "")
        + "import json, numpy, skinapp\n"
        + "from threadpoolctl import threadpool_info\n"
        + "print(json.dumps([i['num_threads'] for i in threadpool_info()"
        + " if i['user_api'] == 'blas']))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("NUM_THREADS")}
    env.pop("SKINAPP_BLAS_THREADS", None)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    counts = json.loads(out.stdout)
    assert counts and set(counts) == {1}
