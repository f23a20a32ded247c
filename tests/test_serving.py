"""How the explorer's components and decoders travel: JavaScript and CSS as files the browser fetches once (not in
every rerun's messages), decoder payloads as static files named by a hash of their bytes, which browsers cache."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import random
import re
import struct
import urllib.request
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from ui import components

REPO = Path(__file__).resolve().parents[1]
PLANE_KEYS = ("plane_ae-z2", "plane_vae-z2")


# --- unit -----------------------------------------------------------------------------------------------------------

def test_hashed_names_follow_the_content(tmp_path):
    a = components.hashed_name("latent_plane", "js", b"one")
    assert a.startswith("latent_plane.") and a.endswith(".js") and a.count(".") == 2
    assert a == components.hashed_name("latent_plane", "js", b"one")
    assert a != components.hashed_name("latent_plane", "js", b"two")
    path = components.write_once(tmp_path / "assets", a, b"one")
    assert path.read_bytes() == b"one" and (path.stat().st_mode & 0o777) == 0o644
    assert components.write_once(tmp_path / "assets", a, b"one") == path  # an existing file is the same file
    assert sorted(p.name for p in (tmp_path / "assets").iterdir()) == [a]  # no temporary files left


def test_a_component_unknown_to_the_manifest_is_served_inline():
    # No Streamlit runtime here, so no manifest was scanned: file-backed JS is refused and register() falls back.
    components.register("latent-explorer.test_only_component", "latent_plane")
    assert components.SERVED["latent-explorer.test_only_component"] == "inline"


def test_declared_asks_streamlit_without_registering():
    # No runtime here: Streamlit knows no manifest, so nothing is declared, and asking registers nothing.
    from streamlit.components.v2.get_bidi_component_manager import get_bidi_component_manager

    assert not components.declared("latent-explorer.latent_plane")
    assert get_bidi_component_manager().get("latent-explorer.latent_plane") is None


def test_the_manifest_declares_every_component_the_app_registers():
    import tomllib

    from ui import canvas, latent_plane, lesson
    manifest = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["streamlit"]["component"]
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]
    declared = {f"{project}.{c['name']}" for c in manifest["components"]}
    assert {latent_plane.COMPONENT_NAME, canvas.COMPONENT_NAME, lesson.KEYS_COMPONENT} <= declared
    assert all((REPO / "latent_explorer" / c["asset_dir"]).is_dir() for c in manifest["components"])


def test_a_damaged_copy_of_a_published_payload_gets_no_url(monkeypatch):
    import numpy as np

    from ui import latent_plane as lp
    from vae.decoder_bytes import pack
    payload = pack({"kind": "mlp_decoder", "payload_id": "feedc0ffee"}, {"w": np.ones(4, np.float32)})
    monkeypatch.setitem(lp._PUBLISHED, "feedc0ffee", (payload, "app/static/latent-explorer/x.lex"))
    assert lp.published_url(payload) == "app/static/latent-explorer/x.lex"
    assert lp.published_url(bytes(payload)) == "app/static/latent-explorer/x.lex"  # equal bytes, another object
    assert lp.published_url(payload[:-8] + b"\0" * 8) is None  # same header, other bytes


# --- a running app, at the protocol level ---------------------------------------------------------------------------

def _lex_header(data: bytes, offset: int = 0) -> tuple[dict, int]:
    """(header, end of the header) of the LEX1 container at `offset` (vae/decoder_bytes.py)."""
    assert data[offset:offset + 4] == b"LEX1"
    (n,) = struct.unpack_from("<I", data, offset + 4)
    return json.loads(data[offset + 8:offset + 8 + n]), offset + 8 + n


def _watch_components(session, seen) -> Callable[[], None]:
    """Call seen(element, message bytes) for every bidi_component element the session's websocket receives from now
    on; returns the function that stops watching."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    real_recv = session.ws.recv

    async def recv():
        raw = await real_recv()
        fm = ForwardMsg.FromString(raw)
        if fm.WhichOneof("type") == "delta" and fm.delta.WhichOneof("type") == "new_element":
            if fm.delta.new_element.WhichOneof("type") == "bidi_component":
                seen(fm.delta.new_element.bidi_component, len(raw))
        return raw

    session.ws.recv = recv

    def restore():
        session.ws.recv = real_recv
    return restore


async def _load_and_click(url: str) -> tuple[dict, list]:
    """The first run's plane elements and every bidi_component element of one click's rerun."""
    from benchmarks.concurrent_sessions import Session
    session = Session(url, 0, random.Random(0))
    first_planes = {}
    real_read = session.read_run

    async def read_run(timeout):  # keep the raw plane elements of each run
        seen = []
        restore = _watch_components(session, lambda el, nbytes: seen.append((el, nbytes)))
        try:
            result = await real_read(timeout)
        finally:
            restore()
        result.bidi = seen
        return result

    session.read_run = read_run
    first = await session.open(timeout=120)
    assert not first.errors, first.errors
    for el, _ in first.bidi:
        for key in PLANE_KEYS:
            if el.id.endswith("-" + key):
                first_planes[key] = el
    args, _ = session.click_args(PLANE_KEYS[0])
    click = await session.rerun(args, timeout=60)
    assert click.finished and not click.errors, click.errors
    await session.close()
    return first_planes, click.bidi + [(None, click.nbytes)]


@pytest.fixture(scope="module")
def served(app_url):
    # In its own thread: after a Playwright (sync API) test in the same process, this thread has a running loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        first, click = pool.submit(asyncio.run, _load_and_click(app_url)).result()
    return app_url, first, click


@pytest.mark.slow
def test_a_click_does_not_resend_the_planes_javascript(served):
    import importlib.metadata
    try:
        importlib.metadata.distribution("latent-explorer")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("the project is not installed: run `pip install -e .` (make does) so Streamlit finds its components")
    url, first, click = served
    planes = [el for el, _ in click if el is not None]
    assert len(planes) == 2, "both planes remount with the new pinned z"
    for el in planes:
        # the JavaScript is a one-line loader of the module file; the style sheet goes by URL
        assert len(el.js_content) < 400 and "import(url)" in el.js_content, "source inline in a rerun's message"
        assert el.css_content == "" and el.css_source_path.startswith("latent_plane.")
        assert el.css_source_path.endswith(".css")
    assert click[-1][1] < 30_000, f"a click's run sent {click[-1][1]} bytes"
    # the module the loader imports is ui/latent_plane.js as it is now, served with a JavaScript content type
    el = planes[0]
    module = re.search(r'"(_stcore/bidi-components/[^"]+\.js)"', el.js_content).group(1)
    assert module.startswith(f"_stcore/bidi-components/{el.component_name}/latent_plane.")
    with urllib.request.urlopen(f"{url}/{module}") as r:
        assert r.status == 200 and "javascript" in r.headers["Content-Type"]
        assert r.read() == (REPO / "ui" / "latent_plane.js").read_bytes()


async def _lesson_keys_element(url: str):
    """The lesson page's keyboard component element, as a session loading /lesson receives it."""
    from benchmarks.concurrent_sessions import ClientStateArgs, Session
    session = Session(url, 0, random.Random(0))
    await session.open(timeout=120)
    found = []
    _watch_components(session, lambda el, _: found.append(el) if el.component_name.endswith("lesson_keys") else None)
    run = await session.rerun(ClientStateArgs(page_name="lesson"), timeout=120)
    await session.close()
    assert run.finished and not run.errors, run.errors
    return found


@pytest.mark.slow
def test_the_lesson_keys_javascript_is_a_file_too(app_url):
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        found = pool.submit(asyncio.run, _lesson_keys_element(app_url)).result()
    assert len(found) == 1, "the lesson page mounts its keyboard component once"
    el = found[0]
    assert el.component_name == "latent-explorer.lesson_keys"
    assert len(el.js_content) < 400 and "import(url)" in el.js_content, "source inline in the page's message"
    module = re.search(r'"(_stcore/bidi-components/[^"]+\.js)"', el.js_content).group(1)
    with urllib.request.urlopen(f"{app_url}/{module}") as r:
        assert r.status == 200 and r.read() == (REPO / "ui" / "lesson_keys.js").read_bytes()


@pytest.mark.slow
def test_decoders_travel_as_static_files_named_by_their_hash(served):
    url, first, _ = served
    assert set(first) == set(PLANE_KEYS)
    for key, el in first.items():
        options, end = _lex_header(el.bytes)
        ref, _ = _lex_header(el.bytes, end + (8 - (end % 8)) % 8)
        assert ref["kind"] == "payload_ref" and ref["payload_id"] == options["options"]["payload_id"]
        assert len(el.bytes) < 64_000, "the first run carries a reference, not the 1.7 MB decoder"
        assert ref["url"].startswith("app/static/latent-explorer/") and ref["url"].endswith(".lex")
        with urllib.request.urlopen(f"{url}/{ref['url']}") as r:
            body = r.read()
            headers = r.headers
        assert hashlib.sha256(body).hexdigest()[:20] == Path(ref["url"]).stem, "the name is the content's hash"
        assert _lex_header(body)[0]["payload_id"] == ref["payload_id"]
        # cacheable: validators, nothing forbidding storage, and a Last-Modified old enough for years of
        # heuristic freshness (RFC 9111 4.2.2: a tenth of the time since the last modification)
        assert headers["ETag"] and headers["Last-Modified"]
        assert "no-store" not in (headers.get("Cache-Control") or "")
        assert "no-cache" not in (headers.get("Cache-Control") or "")
        assert parsedate_to_datetime(headers["Last-Modified"]).year <= 2000


# --- a real browser -------------------------------------------------------------------------------------------------

PAYLOADS_JS = ("() => performance.getEntriesByType('resource').filter(e => e.name.endsWith('.lex'))"
               ".map(e => ({name: e.name, transfer: e.transferSize, size: e.decodedBodySize}))")
READY = ("(keys) => keys.every(k => window.__latentPlane && window.__latentPlane[k]"
         " && window.__latentPlane[k].lastDecode)")


@pytest.mark.slow
@pytest.mark.browser
def test_a_second_visit_takes_the_decoders_from_the_browser_cache(browser, app_url):
    loads = []
    for _ in range(2):
        page = browser.new_page()
        try:
            page.goto(f"{app_url}/explorer")
            page.wait_for_function(READY, arg=list(PLANE_KEYS), timeout=120_000)
            loads.append(page.evaluate(PAYLOADS_JS))
        finally:
            page.close()
    first, second = loads
    assert len(first) == 2 and all(e["size"] > 1_000_000 for e in first), first
    assert sorted(e["name"] for e in second) == sorted(e["name"] for e in first)
    assert all(e["transfer"] == 0 for e in second), f"sent again: {second}"
