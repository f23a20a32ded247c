"""The click floor (benchmarks/floor_app.py) stays a floor of the explorer: a click on either plane makes it send the
same kinds and numbers of messages as the explorer's fragment does, so its CPU per click is what those messages cost
Streamlit without the explorer's computation (python -m benchmarks.click_floor)."""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import os
import random
import subprocess
import sys

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.conftest import REPO_ROOT, start_app, stop_app

PLANE_KEYS = ("plane_ae-z2", "plane_vae-z2")


def _kind(raw: bytes) -> tuple[str, str]:
    fm = ForwardMsg.FromString(raw)
    if fm.WhichOneof("type") != "delta":
        return "message", fm.WhichOneof("type")
    d = fm.delta
    kind = d.WhichOneof("type")
    if kind == "new_element":
        return "element", d.new_element.WhichOneof("type")
    if kind == "add_block":
        return "block", d.add_block.WhichOneof("type")
    return "delta", kind


async def _click_messages(url: str) -> list[tuple[tuple[float, float], collections.Counter, list[str]]]:
    """Load the explorer page as the benchmark's client does, click each plane once (seeded z), and count the kinds
    of messages each click's run sends; with the run's errors."""
    from benchmarks.concurrent_sessions import Session

    session = Session(url, 0, random.Random(0))
    first = await session.open(timeout=120)
    assert first.finished and not first.errors, first.errors
    out = []
    for key in PLANE_KEYS:
        seen: collections.Counter = collections.Counter()
        recv = session.ws.recv

        async def counting(*args, **kwargs):
            raw = await recv(*args, **kwargs)
            seen[_kind(raw)] += 1
            return raw

        session.ws.recv = counting
        args, z = session.click_args(key)
        run = await session.rerun(args, timeout=120)
        session.ws.recv = recv
        assert run.finished and run.pinned_text == f"Pinned z = ({z[0]:.3f}, {z[1]:.3f})", run.pinned_text
        out.append((z, seen, run.errors))
    await session.close()
    return out


def _run(url: str):
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # its own event loop, whatever the test runner has
        return pool.submit(asyncio.run, _click_messages(url)).result()


@pytest.fixture(scope="module")
def floor_url():
    proc, url = start_app("benchmarks/floor_app.py", env={"FLOOR_PARTS": "elements"})
    yield url
    stop_app(proc)


@pytest.mark.slow
def test_a_click_on_the_floor_sends_the_messages_of_a_click_on_the_explorer(app_url, floor_url):
    explorer, floor = _run(app_url), _run(floor_url)
    for (z, want, errors), (z_floor, got, floor_errors) in zip(explorer, floor):
        assert z == z_floor, "same client, same seed, same views: the same clicks"
        assert not errors and not floor_errors
        assert got == want, (z, sorted(got.items()), sorted(want.items()))
    # the AE plane's click lies far outside vae-z2's codes (a warning), the VAE plane's inside (none)
    assert explorer[0][1][("element", "alert")] == 1 and explorer[1][1][("element", "alert")] == 0
    assert explorer[0][1][("element", "bidi_component")] == 2 and explorer[0][1][("element", "imgs")] == 2


@pytest.mark.slow
def test_the_planes_only_floor_sends_the_planes_and_the_heading():
    proc, url = start_app("benchmarks/floor_app.py", env={"FLOOR_PARTS": "plane"})
    try:
        clicks = _run(url)
    finally:
        stop_app(proc)
    for _, seen, errors in clicks:
        assert not errors
        elements = {k[1]: n for k, n in seen.items() if k[0] == "element"}
        assert elements == {"heading": 1, "bidi_component": 2}, elements


def test_an_unknown_floor_is_refused():
    out = subprocess.run([sys.executable, "-c", "import runpy; runpy.run_path('benchmarks/floor_app.py')"],
                         env={**os.environ, "FLOOR_PARTS": "everything"}, capture_output=True, text=True,
                         cwd=REPO_ROOT)
    assert out.returncode != 0 and "FLOOR_PARTS must be 'plane' or 'elements'" in out.stderr + out.stdout
