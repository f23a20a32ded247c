"""Streamlit-only helpers: cached resources, session-state keys, shared widgets. `vae/` never imports this.

Importing this package (the app's first import of project code, before anything loads torch) gives the server one
OpenMP and MKL thread per kernel unless the environment sets a count. With `torch.set_num_threads(1)` alone
(ui/runtime.py), the explorer's batched nearest-training-image search (PixelIndex.query_many) cost 33 ms of server
CPU per click, against 19 ms with `OMP_NUM_THREADS=1` (`python -m benchmarks.concurrent_sessions --sessions 30`), though
`torch.get_num_threads()` read 1 in Streamlit's script threads; a standalone process does not reproduce the
difference, so where inside torch the extra CPU went is not known. The variables close it whatever the cause.
"""

import os as _os

if "OMP_NUM_THREADS" not in _os.environ and "MKL_NUM_THREADS" not in _os.environ:  # else the deployer chose
    _os.environ["OMP_NUM_THREADS"] = _os.environ["MKL_NUM_THREADS"] = "1"
