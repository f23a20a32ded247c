"""Streamlit-only helpers: cached resources, session-state keys, shared widgets. `vae/` never imports this.

Importing this package (the app's first import of project code, before anything loads torch) gives the server one
OpenMP thread per kernel unless the environment says otherwise: `torch.set_num_threads(1)` (ui/runtime.py) did not
stop two-thread kernels in Streamlit's script threads. Measured with `python -m benchmarks.concurrent_sessions
--sessions 30`: a click's batched nearest-training-image search (PixelIndex.query_many) cost 33 ms of server CPU per
click without it and 19 ms with it, the spare thread spinning in OpenMP's wait loop.
"""

import os as _os

if "OMP_NUM_THREADS" not in _os.environ and "MKL_NUM_THREADS" not in _os.environ:  # else the deployer chose
    _os.environ["OMP_NUM_THREADS"] = _os.environ["MKL_NUM_THREADS"] = "1"
