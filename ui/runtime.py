"""Process-wide settings for serving small models to many sessions, applied once per server process."""

from __future__ import annotations

import gc

import streamlit as st
import torch
from streamlit.runtime.pages_manager import PagesManager

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


def route_through_app() -> None:
    """Make sure a page runs inside app.py's st.navigation, not Streamlit's pages/-directory mode.

    Because a pages/ folder sits beside app.py, a fresh server starts in the old pages/-directory mode, and stays in
    it until app.py itself calls st.navigation. A first visitor who opens /explorer directly would get this page run
    on its own, with a sidebar listing "app" and "explorer". Switching the mode off and rerunning sends the run
    through app.py, which names the pages properly (Streamlit 1.67: PagesManager.uses_pages_directory).
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
