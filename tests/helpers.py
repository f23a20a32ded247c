"""What several test files share: tiny model configs for the unit tests, and for the browser tests and the screenshot
commands the waits for a page's latent planes and an app server with a headless Chromium."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from vae.models import ModelConfig

TINY = {
    ("ae", "mlp"): dict(hidden=(16, 8)),
    ("vae", "mlp"): dict(hidden=(16, 8)),
    ("ae", "conv"): dict(channels=(4, 8), conv_hidden=16),
    ("vae", "conv"): dict(channels=(4, 8), conv_hidden=16),
}
KINDS_ARCHS = sorted(TINY)


def tiny_config(kind: str = "vae", arch: str = "mlp", latent_dim: int = 2) -> ModelConfig:
    return ModelConfig(kind=kind, arch=arch, latent_dim=latent_dim, **TINY[(kind, arch)])


# One tiny "model" entry per registered model family (vae.registry.FAMILIES): tests/test_registry.py fails when a
# family is registered without one here.
TINY_FAMILIES = {
    "ae": tiny_config("ae").to_dict(),
    "vae": tiny_config("vae").to_dict(),
    "judge": {"kind": "judge", "channels": [2, 4], "features": 8, "dropout": 0.0},
    "gaussian": {"kind": "gaussian", "dim": 6, "jitter": 1e-6},
}


# --- pages in Chromium (browser tests and the screenshot commands) -----------------------------------------------

SHIPPED_PLANES = ("plane_ae-z2", "plane_vae-z2")  # the explorer's two live planes (ui/latent_plane.py keys)
IDLE = "() => !document.querySelector('[data-testid=stStatusWidget]')"  # no script run in progress
# Each plane has drawn its view and holds its decoder: the decoder arrives by its own fetch after the plane is
# mounted, and payloadId is set once it has (a hover before that decodes nothing).
DECODERS_READY = ("(keys) => window.__latentPlane && keys.every(k => window.__latentPlane[k] && "
                  "window.__latentPlane[k].view && window.__latentPlane[k].payloadId)")


def wait_for_decoders(page, keys: Sequence[str] = SHIPPED_PLANES, timeout: float = 120_000) -> None:
    """Wait until every latent plane in `keys` is drawn and has its decoder (timeout in ms)."""
    page.wait_for_function(DECODERS_READY, arg=list(keys), timeout=timeout)


def settle(page, ms: int = 1500, timeout: float = 60_000) -> None:
    """Wait until the app is idle (no script run in progress), then `ms` more for the browser to draw."""
    page.wait_for_function(IDLE, timeout=timeout)
    page.wait_for_timeout(ms)


def steady_rect(page, key: str, still_ms: int = 400, timeout_s: float = 20.0) -> dict:
    """The data area (client pixels) of the latent plane `key` once it has stopped moving: the same box read `still_ms`
    apart. The page above a plane can still grow after its decoder arrives, as images and captions finish drawing,
    and a click aimed from a stale box lands on another z."""
    read = f"() => window.__latentPlane[{key!r}].plotRect()"
    deadline, last = time.monotonic() + timeout_s, page.evaluate(read)
    while time.monotonic() < deadline:
        page.wait_for_timeout(still_ms)
        now = page.evaluate(read)
        if all(abs(now[k] - last[k]) < 0.5 for k in ("left", "top", "width", "height")):
            return now
        last = now
    raise AssertionError(f"plane {key} kept moving for {timeout_s} s: last box {last}")


@contextmanager
def app_in_chromium(port: int | None = None) -> Iterator[tuple[object, str]]:
    """A fresh app server and a headless Chromium for a script (the screenshot commands): yields (browser, url) and
    closes both afterwards, whatever happened. `port`: None for a free one."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app

    proc, url = start_app(port=port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser, url
            finally:
                browser.close()
    finally:
        stop_app(proc)


@contextmanager
def served_page(browser, path: str = "", size: tuple[int, int] = (1500, 1300)) -> Iterator[tuple[object, str]]:
    """A fresh app server and a new tab of the browser fixture's context at url/path in a `size` window: yields
    (page, url), then closes the tab and stops the server."""
    from tests.conftest import start_app, stop_app

    proc, url = start_app()
    page = browser.new_page()
    page.set_viewport_size({"width": size[0], "height": size[1]})
    try:
        page.goto(f"{url}/{path}")
        yield page, url
    finally:
        page.close()
        stop_app(proc)


def open_explorer_tab(app, tab: str):
    """Open the explorer's tab `tab` ("grid", "interpolation" or "samples") in an AppTest and rerun: only the open
    tab's panel runs (lazy tabs), so its widgets exist only then."""
    from ui import state as S
    from ui.share import EXPLORER_TABS

    app.session_state[S.EXPLORER_TAB] = EXPLORER_TABS[tab]
    return app.run()


def copy_link_data(node) -> list[dict]:
    """The data of each link with a Copy button (ui/copy_link.py: the share box, the class link) under an AppTest
    node: {"link": ...} for a fixed link, {"follow": {"drop", "add"}} for the page's own address."""
    import json

    return [json.loads(el.proto.json) for el in node.get("bidi_component")
            if el.proto.component_name.endswith(".copy_link")]


def copy_links(node) -> list[str]:
    """The fixed links shown with a Copy button under an AppTest node (e.g. the sidebar's class link)."""
    return [d["link"] for d in copy_link_data(node) if "link" in d]


def live_planes(node) -> list:
    """The live latent planes (ui/latent_plane.py) under an AppTest node: its components other than the share box."""
    return [el for el in node.get("bidi_component") if el.proto.component_name.endswith(".latent_plane")]
