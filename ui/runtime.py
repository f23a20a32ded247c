"""Process-wide settings for serving small models to many sessions, applied once per server process."""

from __future__ import annotations

import gc
import sys

import streamlit as st
import torch
from streamlit import config as st_config
from streamlit.runtime.app_session import AppSession
from streamlit.runtime.pages_manager import PagesManager

from vae import checkpoint as ckpt_mod

_done = False


def configure() -> None:
    """Once per server process: one torch thread (small inference in a web server is faster without thread
    contention), a frozen GC, clients' clear_cache requests ignored in viewer mode, and the leftovers of a killed
    server or an interrupted save cleaned up.

    Streamlit's post-script gc.collect(2) is off in .streamlit/config.toml; freezing the objects created by the heavy
    imports keeps any later collection from walking them again.
    """
    global _done
    if _done:
        return
    torch.set_num_threads(1)
    guard_clear_cache()
    for line in ckpt_mod.startup_cleanup():
        print(f"Latent Explorer: {line}", file=sys.stderr, flush=True)
    gc.collect()
    gc.freeze()
    _done = True


def guard_clear_cache() -> bool:
    """Ignore clients' clear_cache requests while client.toolbarMode is "viewer" (the classroom setting).

    Streamlit 1.67 honours a BackMsg.clear_cache from any client, in every toolbar mode
    (AppSession._handle_clear_cache_request empties st.cache_data and st.cache_resource for the whole server), so one
    visitor, or a script speaking the websocket protocol, could make every model, decoder payload and index be
    rebuilt for everyone, again and again. The viewer toolbar offers no Clear cache item, so in that mode such a request
    does not come from the app's own interface; it is dropped. Other modes (a developer's own server) keep Streamlit's
    behaviour. The training limit does not depend on this: the pool is not a cache entry. Returns whether the guard
    is installed (False where this Streamlit has no such handler).
    """
    original = getattr(AppSession, "_handle_clear_cache_request", None)
    if original is None:
        return False
    if getattr(original, "viewer_guard", False):
        return True

    def handle_clear_cache_request(self: AppSession) -> None:
        if st_config.get_option("client.toolbarMode") == "viewer":
            return
        original(self)

    handle_clear_cache_request.viewer_guard = True
    AppSession._handle_clear_cache_request = handle_clear_cache_request
    if st_config.get_option("client.toolbarMode") == "viewer":
        print("Latent Explorer: clients' clear_cache requests are ignored (client.toolbarMode is viewer)",
              file=sys.stderr, flush=True)
    return True


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
