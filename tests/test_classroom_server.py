"""The training limit against clients that speak Streamlit's websocket protocol directly (as a hostile or careless
student's script could): clear_cache does not reset it, and a session that goes away gives its slot back.

Each test starts its own server (tests.conftest.start_app) with LATENT_EXPLORER_MAX_TRAININGS=1 and talks to it the
way the browser does (one websocket per tab, BackMsg protobufs; see benchmarks/concurrent_sessions.py): load the
Train page, press Start (a trigger_value on the button's widget id), send BackMsg.clear_cache, close the socket.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect

from conftest import start_app, stop_app
from vae import live

pytestmark = pytest.mark.slow  # real MNIST, real trainings
PAGE = "train"
GRACE = 2.0  # LATENT_EXPLORER_SESSION_GRACE for these servers


@dataclass
class Page:
    """What one script run of the Train page showed."""
    alerts: list[str] = field(default_factory=list)
    progress: str = ""  # the progress bar's text while a training of this session runs
    widgets: dict[str, str] = field(default_factory=dict)  # widget key -> widget id (buttons and sliders)
    page_hash: str = ""
    errors: list[str] = field(default_factory=list)


class Tab:
    """One browser tab, at the protocol level."""

    def __init__(self, url: str):
        host = url.removeprefix("http://")
        self.origin = url
        self.ws = connect(f"ws://{host}/_stcore/stream", subprotocols=["streamlit"], origin=url, max_size=None,
                          open_timeout=60, legacy=True)
        self.page_hash = ""
        self.widgets: dict[str, str] = {}

    def run(self, trigger: str | None = None, timeout: float = 180.0) -> Page:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.page_name, cs.page_script_hash = PAGE, self.page_hash
        cs.context_info.timezone, cs.context_info.locale = "UTC", "en-US"
        cs.context_info.url = f"{self.origin}/{PAGE}"
        if trigger is not None:
            w = cs.widget_states.widgets.add()
            w.id, w.trigger_value = self.widgets[trigger], True
            # the longest training the page offers, as the browser would send the two sliders: one that would
            # still run long after these tests' time bounds
            subset = cs.widget_states.widgets.add()
            subset.id = self.widgets["train_subset"]
            subset.string_array_value.data.append(f"{live.MAX_SUBSET:,}")
            epochs = cs.widget_states.widgets.add()
            epochs.id = self.widgets["train_epochs"]
            epochs.double_array_value.data.append(30)
        self.ws.send(msg.SerializeToString())
        page = self._read(timeout)
        assert not page.errors, page.errors
        self.page_hash = page.page_hash or self.page_hash
        self.widgets.update(page.widgets)
        return page

    def start(self) -> Page:
        if "train_start" not in self.widgets:
            self.run()
        return self.run(trigger="train_start")

    def clear_cache(self) -> None:
        msg = BackMsg()
        msg.clear_cache = True
        self.ws.send(msg.SerializeToString())
        self.widgets = {}  # a cleared session_state forgets the widgets' callbacks: the next start runs the page first

    def close(self) -> None:
        self.ws.close()

    def _read(self, timeout: float) -> Page:
        page = Page()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                page.errors.append("timeout")
                return page
            try:
                fm = ForwardMsg.FromString(self.ws.recv(timeout=left))
            except TimeoutError:
                page.errors.append("timeout")
                return page
            kind = fm.WhichOneof("type")
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                etype = el.WhichOneof("type")
                if etype == "alert":
                    page.alerts.append(el.alert.body)
                elif etype == "progress":
                    page.progress = el.progress.text
                elif etype in ("button", "slider"):
                    wid = getattr(el, etype).id
                    page.widgets[wid.rsplit("-", 1)[-1]] = wid
                elif etype == "exception":
                    page.errors.append(f"{el.exception.type}: {el.exception.message[:200]}")
            elif kind == "navigation":
                page.page_hash = fm.navigation.page_script_hash
            elif kind == "script_finished":
                if fm.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    page = Page(page_hash=page.page_hash)  # the answer is the run that follows
                    continue
                if fm.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                    page.errors.append(f"script_finished {fm.script_finished}")
                return page


def _busy(page: Page) -> bool:
    return any(a.startswith("The server is already running 1 training, its limit") for a in page.alerts)


@pytest.fixture
def server(monkeypatch, request):
    """A server with one training slot; request.param is client.toolbarMode."""
    monkeypatch.setenv(live.MAX_JOBS_ENV, "1")
    monkeypatch.setenv(live.GRACE_ENV, str(GRACE))
    monkeypatch.setenv("STREAMLIT_CLIENT_TOOLBAR_MODE", request.param)
    proc, url = start_app()
    tabs: list[Tab] = []

    def tab() -> Tab:
        tabs.append(Tab(url))
        return tabs[-1]

    yield tab
    for t in tabs:
        try:
            t.close()
        except Exception:
            pass
    stop_app(proc)


@pytest.mark.parametrize("server", ["developer"], indirect=True)
def test_clear_cache_does_not_reset_the_limit_and_a_closed_tab_frees_its_slot(server):
    """In developer mode Streamlit honours clear_cache (every cache and the sender's session_state emptied): the limit
    must hold anyway, because the pool is not a cache entry and knows which session owns each training."""
    a, b = server(), server()
    first = a.start()
    assert first.progress.startswith("Training AE, 60,000 images, 30 epochs, seed 0 and VAE"), first
    assert not _busy(first), first.alerts
    b.clear_cache()
    refused = b.start()
    assert _busy(refused) and not refused.progress, refused.alerts
    a.clear_cache()  # a's session_state is gone too, so its page no longer knows about its training
    again = a.start()
    assert not again.progress and "A training is already running in this session: wait for it or cancel it " \
                                  "before starting another." in again.alerts, again.alerts
    assert _busy(b.start())

    a.close()  # the tab with the training closes: the training is cancelled after the grace period
    closed = time.monotonic()
    started = None
    while time.monotonic() - closed < GRACE + 30:
        page = b.start()
        if page.progress:
            started = time.monotonic() - closed
            break
        assert _busy(page), page.alerts
        time.sleep(0.5)
    assert started is not None, "the closed tab's training kept its slot"
    assert GRACE - 0.1 <= started < GRACE + 30, "kept for the grace period (a tab may come back), then cancelled"


@pytest.mark.parametrize("server", ["viewer"], indirect=True)
def test_in_viewer_mode_a_clients_clear_cache_is_ignored(server):
    a, b = server(), server()
    assert a.start().progress
    a.clear_cache()
    page = a.run()
    assert page.progress, "the session kept its state: its running training is still on its page"
    b.clear_cache()
    refused = b.start()
    assert _busy(refused), refused.alerts
