"""Process-wide settings for serving small models to many sessions, applied once per server process."""

from __future__ import annotations

import gc

import torch

_done = False


def configure() -> None:
    """One torch thread (small inference in a web server is faster without thread contention) and a frozen GC.

    Streamlit's post-script gc.collect(2) is off in .streamlit/config.toml; freezing the objects created by the heavy
    imports keeps any later collection from walking them again.
    """
    global _done
    if _done:
        return
    torch.set_num_threads(1)
    gc.collect()
    gc.freeze()
    _done = True
