"""The live slice in a real browser: the pointer's (a, b) goes through z = z0 + a u + b v into both 20-D decoders,
which match torch; the distance to the nearest code is the one vae.slice computes, in code standard deviations.

Drives tests/apps/slice_app.py with two untrained 20-D models (the shipped architecture, decoder weights scaled up so
pixels span 0..1) saved to a temporary folder: the maths is what is tested, not the training.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch
from conftest import start_app, stop_app
from helpers import steady_rect

from vae import checkpoint as ckpt_mod
from vae import slice as sl
from vae.data import load_mnist
from vae.latent import encode_images
from vae.models import ModelConfig, build_model

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAMES = {"ae-z20": "ae", "vae-z20": "vae"}
KEYS = {"ae-z20": "slice_ae", "vae-z20": "slice_vae"}
TOL = 1e-2  # max |browser pixel - torch pixel|: float16 weights, 20 inputs far from 0


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("slice-checkpoints")
    nets = {}
    for name, kind in NAMES.items():
        torch.manual_seed(len(name))
        model = build_model(ModelConfig(kind=kind, latent_dim=20, hidden=(512, 256))).eval()
        with torch.no_grad():
            for p in model.decoder.parameters():
                p.mul_(2.0)
        manifest = {"training": {}, "history": [], "test_metrics": {}, "data": {}, "versions": {},
                    "command": "tests/test_slice_browser.py (random weights)"}
        ckpt_mod.save_checkpoint(folder / name, model, manifest)
        nets[name] = ckpt_mod.load_checkpoint(folder / name).model
    return nets, folder


@pytest.fixture(scope="module")
def page(models, browser):
    _, folder = models
    env = {ckpt_mod.CHECKPOINT_DIR_ENV: str(folder), "SLICE_KIND": "prior", "SLICE_SEED": "4"}
    proc, url = start_app("tests/apps/slice_app.py", env=env)
    page = browser.new_page()
    try:
        page.goto(url)
        page.wait_for_function("() => { const h = window.__latentPlane; return h && h.slice_ae && h.slice_vae &&"
                               " h.slice_ae.lastDecode && h.slice_vae.lastDecode; }", timeout=180_000)
        yield page
    finally:
        page.close()
        stop_app(proc)


def hook(page, k: str, expr: str):
    return page.evaluate(f"(k) => {{ const h = window.__latentPlane[k]; return {expr}; }}", k)


def clouds(nets) -> dict:
    x = load_mnist().x_test
    out = {}
    for name, net in nets.items():
        enc = encode_images(net, x)
        out[name] = enc.mu if enc.logvar is None else sl.aggregate_posterior(enc.mu, enc.logvar, 0)
    return out


def test_pointer_decodes_the_slice_in_both_models_with_distances_in_code_spreads(page, models):
    nets, _ = models
    plane = sl.random_plane(20, 4)
    codes = clouds(nets)
    rect, view = steady_rect(page, "slice_ae"), hook(page, "slice_ae", "h.view")
    assert view == {"x": [-2, 2], "y": [-2, 2]}
    for fx, fy in [(0.5, 0.5), (0.2, 0.8), (0.9, 0.15)]:
        x, y = rect["left"] + fx * rect["width"], rect["top"] + fy * rect["height"]
        ab = (-2 + 4 * fx, 2 - 4 * fy)
        page.mouse.move(x, y)
        page.wait_for_function(
            "([a, b]) => ['slice_ae', 'slice_vae'].every((k) => { const d = window.__latentPlane[k].lastDecode;"
            " return d && Math.abs(d.z[0] - a) < 0.02 && Math.abs(d.z[1] - b) < 0.02; })",
            arg=list(ab), timeout=10_000)
        for name, k in KEYS.items():
            got = hook(page, k, "({z: h.lastDecode.z, pixels: Array.from(h.lastDecode.pixels), source: h.shown.source,"
                                " near: h.nearestCode})")
            assert got["source"] == ("pointer" if name == "ae-z20" else "linked")
            z = plane.points(got["z"][0], got["z"][1]).astype(np.float32)
            with torch.inference_mode():
                want = torch.sigmoid(nets[name].decode(torch.from_numpy(z))).reshape(-1).numpy()
            diff = np.abs(np.array(got["pixels"], np.float32) - want).max()
            assert diff <= TOL, f"{name} at (a, b) = {got['z']}: max |browser - torch| = {diff:.2e}"
            w = sl.Whitener.fit(codes[name])
            dist = w.nearest_distance(z, codes[name])[0]
            assert got["near"] is not None
            # the browser holds the codes in float16: the distance agrees to about 1%
            assert abs(got["near"]["distance"] - dist) <= 0.02 * dist + 0.02, (name, got["near"], dist)
    text = page.locator(".lp-near").first.inner_text()
    assert "code SDs away" in text and "codes' own gap" in text
    page.mouse.move(5, 5)


def test_codes_are_drawn_where_they_project(page, models):
    nets, _ = models
    plane = sl.random_plane(20, 4)
    codes = clouds(nets)["ae-z20"]
    got = np.array(hook(page, "slice_ae", "Array.from(h.planePoints ? h.planePoints.slice(0, 40) : [])"))
    want = plane.project(codes[:20].astype(np.float16).astype(np.float64)).ravel()
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)


@pytest.fixture(scope="module")
def whitened_page(browser):
    env = {"SLICE_WHITENED_2D": "ae-z2"}
    proc, url = start_app("tests/apps/slice_app.py", env=env)
    page = browser.new_page()
    try:
        page.goto(url)
        page.wait_for_function("() => { const h = window.__latentPlane; return h && h['white_ae-z2'] &&"
                               " h['white_ae-z2'].lastDecode; }", timeout=180_000)
        yield page
    finally:
        page.close()
        stop_app(proc)


def test_a_2d_plane_in_whitened_units_decodes_mean_plus_L_w(whitened_page):
    """The explorer's whitened view: (a, b) = w goes through z = m + L w (u, v the columns of L, not orthogonal);
    the codes are drawn at W (c - m); the readout's distance is vae.slice's."""
    page, k = whitened_page, "white_ae-z2"
    net = ckpt_mod.load_checkpoint(ckpt_mod.CHECKPOINT_DIR / "ae-z2").model
    codes = encode_images(net, load_mnist().x_test).mu
    w = sl.Whitener.fit(codes)
    L = np.linalg.inv(w.matrix)
    got = np.array(hook(page, k, "Array.from(h.planePoints.slice(0, 40))")).reshape(-1, 2)
    np.testing.assert_allclose(got, w(codes[:20]), atol=2e-3)
    rect = steady_rect(page, k)
    view = hook(page, k, "h.view")
    for fx, fy in [(0.5, 0.5), (0.3, 0.7)]:
        page.mouse.move(rect["left"] + fx * rect["width"], rect["top"] + fy * rect["height"])
        ab = (view["x"][0] + fx * (view["x"][1] - view["x"][0]), view["y"][1] - fy * (view["y"][1] - view["y"][0]))
        page.wait_for_function(
            "([k, a, b, tol]) => { const d = window.__latentPlane[k].lastDecode;"
            " return d && Math.abs(d.z[0] - a) < tol && Math.abs(d.z[1] - b) < tol; }",
            arg=[k, ab[0], ab[1], 0.05], timeout=10_000)
        shown = hook(page, k, "({z: h.lastDecode.z, pixels: Array.from(h.lastDecode.pixels), near: h.nearestCode})")
        z = (w.mean + L @ np.asarray(shown["z"])).astype(np.float32)[None]
        with torch.inference_mode():
            want = torch.sigmoid(net.decode(torch.from_numpy(z))).reshape(-1).numpy()
        assert np.abs(np.array(shown["pixels"], np.float32) - want).max() <= 2e-3
        assert shown["near"]["distance"] == pytest.approx(w.nearest_distance(z, codes)[0], rel=0.01, abs=2e-3)
