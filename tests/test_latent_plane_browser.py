"""The live latent plane in a real browser: decoding in JavaScript matches torch, clicks reach Python, reruns do not
re-create the plane, the "same z" link decodes one z in both planes.

Drives tests/apps/latent_plane_app.py. It uses the shipped ae-z2 and vae-z2 when both load; otherwise (for example
while they are being retrained), or with LATENT_PLANE_TEST_RANDOM=1, two random models of the same architecture saved
to a temporary folder.
"""

from __future__ import annotations

import os
import re
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import start_app, stop_app
from helpers import steady_rect

from vae import checkpoint as ckpt_mod
from vae.data import load_mnist
from vae.latent import encode_images
from vae.models import ModelConfig, build_model

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAMES = ("ae-z2", "vae-z2")
F16_TOL = 2e-3  # max |browser pixel - torch pixel| with float16 weights
SAVED_KIND = {"ae-z2": "ae", "vae-z2": "vae"}


def _random_checkpoints(folder: Path) -> None:
    """Two untrained models shaped like the shipped ones, decoder weights scaled up so pixels span 0..1."""
    for name, kind in SAVED_KIND.items():
        torch.manual_seed(len(name))
        model = build_model(ModelConfig(kind=kind, latent_dim=2, hidden=(512, 512, 256))).eval()
        with torch.no_grad():
            for p in model.decoder.parameters():
                p.mul_(2.5)
        manifest = {"training": {}, "history": [], "test_metrics": {}, "data": {}, "versions": {},
                    "command": "tests/test_latent_plane_browser.py (random weights)"}
        ckpt_mod.save_checkpoint(folder / name, model, manifest)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """{name: model} and the folder the app reads them from (None: the shipped checkpoints/)."""
    try:
        if os.environ.get("LATENT_PLANE_TEST_RANDOM") == "1":  # force the random models
            raise ckpt_mod.CheckpointError("-", "random models asked for")
        return {n: ckpt_mod.load_checkpoint(ckpt_mod.CHECKPOINT_DIR / n).model for n in NAMES}, None
    except ckpt_mod.CheckpointError:
        folder = tmp_path_factory.mktemp("plane-checkpoints")
        _random_checkpoints(folder)
        return {n: ckpt_mod.load_checkpoint(folder / n).model for n in NAMES}, folder


@pytest.fixture(scope="module")
def page(models, browser):
    _, folder = models
    env = {"LATENT_PLANE_MODELS": ",".join(NAMES), "LATENT_PLANE_BROKEN": "1"}
    if folder is not None:
        env[ckpt_mod.CHECKPOINT_DIR_ENV] = str(folder)
    proc, url = start_app("tests/apps/latent_plane_app.py", env=env)
    page = browser.new_page()
    try:
        page.goto(url)
        page.wait_for_function("() => { const h = window.__latentPlane; return h && "
                               + " && ".join(f"h['{key(n)}'] && h['{key(n)}'].lastDecode" for n in NAMES) + "; }",
                               timeout=120_000)
        page.mouse.move(5, 5)
        yield page
    finally:
        page.close()
        stop_app(proc)


def key(name: str) -> str:
    return f"plane_{name}"


def hook(page, name: str, expr: str):
    return page.evaluate(f"(k) => {{ const h = window.__latentPlane[k]; return {expr}; }}", key(name))


def torch_pixels(model, z) -> np.ndarray:
    with torch.inference_mode():
        return torch.sigmoid(model.decode(torch.tensor([z], dtype=torch.float32))).reshape(-1).numpy()


def z_at(rect: dict, view: dict, x: float, y: float) -> tuple[float, float]:
    """The z under client pixel (x, y) of a plane whose data area is `rect` showing `view`."""
    sx, sy = view["x"][1] - view["x"][0], view["y"][1] - view["y"][0]
    return (view["x"][0] + (x - rect["left"]) / rect["width"] * sx,
            view["y"][1] - (y - rect["top"]) / rect["height"] * sy)


def pixel_of(rect: dict, view: dict, z) -> tuple[int, int]:
    sx, sy = view["x"][1] - view["x"][0], view["y"][1] - view["y"][0]
    return (round(rect["left"] + (z[0] - view["x"][0]) / sx * rect["width"]),
            round(rect["top"] + (view["y"][1] - z[1]) / sy * rect["height"]))


def hover(page, name: str, x: int, y: int) -> dict:
    """Move the mouse to (x, y) over plane `name`; return its lastDecode once it shows the z under the pointer."""
    rect, view = hook(page, name, "h.plotRect()"), hook(page, name, "h.view")
    want = z_at(rect, view, x, y)
    tol = (view["x"][1] - view["x"][0]) / rect["width"]  # one pixel
    page.mouse.move(x, y)
    page.wait_for_function(
        "([k, zx, zy, tol]) => { const d = window.__latentPlane[k].lastDecode;"
        " return d && Math.abs(d.z[0] - zx) < tol && Math.abs(d.z[1] - zy) < tol; }",
        arg=[key(name), want[0], want[1], tol], timeout=10_000)
    got = hook(page, name, "({z: h.lastDecode.z, pixels: Array.from(h.lastDecode.pixels), source: h.shown.source})")
    assert got["source"] == "pointer"
    return got


def inside(view: dict, z) -> bool:
    return view["x"][0] <= z[0] <= view["x"][1] and view["y"][0] <= z[1] <= view["y"][1]


def test_hovered_digits_match_torch_in_both_planes_and_the_link_shares_z(page, models):
    """Hover the codes of real test digits (where float16 weights are within 2e-3 of torch; far outside the data,
    |z| >> 4 for the VAE, the float16 error grows with |z|) and the centre of each plane."""
    nets, _ = models
    images = load_mnist().x_test[:300]
    worst = {}
    for name, other in (NAMES, NAMES[::-1]):
        rect, view = hook(page, name, "h.plotRect()"), hook(page, name, "h.view")
        other_view = hook(page, other, "h.view")
        codes = [c for c in encode_images(nets[name], images).mu if inside(view, c)][:6]
        targets = [pixel_of(rect, view, c) for c in codes]
        targets.append((round(rect["left"] + rect["width"] / 2), round(rect["top"] + rect["height"] / 2)))
        for x, y in targets:
            got = hover(page, name, x, y)
            diff = np.abs(np.array(got["pixels"], np.float32) - torch_pixels(nets[name], got["z"])).max()
            worst[name] = max(worst.get(name, 0.0), float(diff))
            assert diff <= F16_TOL, f"{name} at z={got['z']}: max |browser - torch| = {diff:.2e}"
            # The linked plane decodes the same z through its own decoder and says so.
            linked = hook(page, other, "({z: h.lastDecode.z, pixels: Array.from(h.lastDecode.pixels),"
                                       " own: h.decode(h.lastDecode.z), source: h.shown.source})")
            assert linked["source"] == "linked"
            assert linked["z"] == got["z"]
            assert np.abs(np.array(linked["pixels"]) - np.array(linked["own"])).max() < 1e-6
            if inside(other_view, linked["z"]):
                diff = np.abs(np.array(linked["pixels"], np.float32) - torch_pixels(nets[other], linked["z"])).max()
                assert diff <= F16_TOL, f"linked {other} at z={linked['z']}: max diff {diff:.2e}"
        # An arbitrary z through the decode hook.
        pixels = np.array(hook(page, name, "h.decode([0.25, -1.5])"), np.float32)
        assert np.abs(pixels - torch_pixels(nets[name], [0.25, -1.5])).max() <= F16_TOL
    print(f"\nmax |browser - torch| over the hovered points: {worst}")
    page.mouse.move(5, 5)


def pinned_text(page, name: str) -> str:
    return page.get_by_text(re.compile(f"^{key(name)}: pinned z")).inner_text()


def test_click_pins_z_in_python_and_reruns_keep_the_plane(page):
    name = "vae-z2"
    rect, view = steady_rect(page, key(name)), hook(page, name, "h.view")
    cell = (view["x"][1] - view["x"][0]) / 100
    runs_before = int(page.get_by_text(re.compile(r"^runs = \d+")).inner_text().split("=")[1])
    canvases = page.locator(".lp-root canvas").count()
    seqs = []
    for target in ((0.6, -0.4), (0.6, -0.4), (-1.2, 1.1)):  # a second click on the same spot must rerun too
        x, y = pixel_of(rect, view, target)
        clicked = z_at(rect, view, x, y)
        page.mouse.click(x, y)
        page.wait_for_function(
            "([k, n]) => [...document.querySelectorAll('[data-testid=stText]')].some("
            "e => e.innerText.startsWith(k + ': pinned z') && e.innerText.includes('seq = ' + n))",
            arg=[key(name), len(seqs) + 1], timeout=30_000)
        text = pinned_text(page, name)
        m = re.search(r"pinned z = \((-?[\d.]+), (-?[\d.]+)\) nearest = (\w+) seq = (\d+)", text)
        assert m, text
        z_python = (float(m.group(1)), float(m.group(2)))
        assert abs(z_python[0] - clicked[0]) <= cell / 2 and abs(z_python[1] - clicked[1]) <= cell / 2, \
            f"clicked z {clicked}, Python got {z_python} (grid cell {cell:.3f})"
        seqs.append(int(m.group(4)))
    assert seqs == sorted(set(seqs)), f"every click is a new state: {seqs}"
    runs_after = int(page.get_by_text(re.compile(r"^runs = \d+")).inner_text().split("=")[1])
    assert runs_after >= runs_before + 3
    # The reruns reached the component (it re-read its options) but created nothing.
    assert hook(page, name, "h.renders") >= 2
    assert page.evaluate("(k) => window.__latentPlaneStats[k].inits", key(name)) == 1
    assert page.evaluate("(k) => window.__latentPlaneStats[k].inits", key("ae-z2")) == 1
    assert page.locator(".lp-root canvas").count() == canvases
    pinned = hook(page, name, "h.pinned")
    assert abs(pinned[0] - (-1.2)) <= cell and abs(pinned[1] - 1.1) <= cell


def test_keyboard_nudges_and_enter_pins(page):
    name = "ae-z2"
    view = hook(page, name, "h.view")
    step = (view["x"][1] - view["x"][0]) / 100
    page.locator(".lp-plane").first.focus()
    start = hook(page, name, "h.shown.z")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowUp")
    # both key presses decoded (each is its own frame: under load the first one can be read alone)
    page.wait_for_function(
        "([k, x, y]) => { const h = window.__latentPlane[k]; return h.shown.source === 'keys' && h.lastDecode"
        " && Math.abs(h.lastDecode.z[0] - x) < 1e-9 && Math.abs(h.lastDecode.z[1] - y) < 1e-9; }",
        arg=[key(name), start[0] + step, start[1] + step], timeout=10_000)
    z = hook(page, name, "h.lastDecode.z")
    assert z == pytest.approx([start[0] + step, start[1] + step], abs=1e-9)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "([k, x]) => [...document.querySelectorAll('[data-testid=stText]')].some("
        "e => e.innerText.startsWith(k + ': pinned z = (' + x))", arg=[key(name), f"{z[0]:.6f}"], timeout=30_000)
    page.keyboard.press("Escape")


def test_damaged_payload_shows_a_message_not_a_crash(page):
    message = page.locator(".lp-message").filter(has_text="cannot be drawn")
    assert message.count() == 1
    assert "truncated" in message.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_decode_timings_are_recorded(page):
    stats = page.evaluate("() => window.__latentPlaneStats")
    for name in NAMES:
        s = stats[key(name)]
        assert s["decodes"] >= 5 and len(s["decodeMs"]) >= 5
        median = statistics.median(s["decodeMs"])
        print(f"\n{name}: {s['decodes']} decodes, median {median:.2f} ms, frame latency median "
              f"{statistics.median(s['frameLatencyMs']):.1f} ms")
        assert median < 50, "a decode should take about a millisecond, not tens"
