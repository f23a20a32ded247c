"""The app's server gives torch one OpenMP thread per kernel unless the environment says otherwise (ui/__init__.py):
without it a click cost the server 33 ms of CPU instead of 19 (measured there)."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO_ROOT

PROBE = "import ui, torch; print(torch.__config__.parallel_info())"


def _parallel_info(env_extra: dict) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, env={**env, **env_extra},
                         capture_output=True, text=True, timeout=120, check=True)
    return out.stdout


def test_importing_ui_before_torch_gives_one_openmp_thread():
    assert "omp_get_max_threads() : 1" in _parallel_info({})


def test_a_thread_count_in_the_environment_is_kept():
    assert "omp_get_max_threads() : 2" in _parallel_info({"OMP_NUM_THREADS": "2"})
