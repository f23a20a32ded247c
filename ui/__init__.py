"""Streamlit-only helpers: cached resources, session-state keys, shared widgets. `vae/` never imports this.

Importing this package (the app's first import of project code, before anything loads torch) gives the server one
OpenMP and MKL thread per kernel unless the environment sets a count. Streamlit runs every rerun in a new thread, and
`torch.set_num_threads(1)` (ui/runtime.py) does not reach OpenMP's thread team in a thread started later: without the
variable, both models' training-image search cost 9.79 ms of CPU in a fresh thread against 2.92 ms in the same thread,
with it 3.35 against 2.33 ms (`python -m benchmarks.thread_per_run`). In the server it was 33 against 19 ms of CPU per
click (`python -m benchmarks.concurrent_sessions --sessions 30`).
"""

import os as _os

if "OMP_NUM_THREADS" not in _os.environ and "MKL_NUM_THREADS" not in _os.environ:  # else the deployer chose
    _os.environ["OMP_NUM_THREADS"] = _os.environ["MKL_NUM_THREADS"] = "1"
