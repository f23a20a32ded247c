"""The browser's JavaScript decoder against torch on every activation it implements: ReLU runs in
tests/test_latent_plane_browser.py on the shipped models; here a random ELU model and a random tanh model go through
the same harness (tests/apps/latent_plane_app.py), so their branches of ui/latent_plane.js run too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import start_app, stop_app

from vae import checkpoint as ckpt_mod
from vae import decoder_bytes
from vae.models import ModelConfig, build_model

pytestmark = [pytest.mark.browser, pytest.mark.slow]

F16_TOL = 2e-3  # max |browser pixel - torch pixel| with float16 weights, as for the ReLU models
ACTIVATIONS = {"elu-z2": "elu", "tanh-z2": "tanh"}


def _random_models(folder: Path) -> dict[str, torch.nn.Module]:
    """Untrained 2-D VAEs with ELU and tanh hidden layers, decoder weights scaled up so that the hidden units reach
    deep into both sides of the activation and the pixels span 0..1."""
    models = {}
    for i, (name, activation) in enumerate(ACTIVATIONS.items()):
        torch.manual_seed(10 + i)
        model = build_model(ModelConfig(kind="vae", latent_dim=2, hidden=(128, 64), activation=activation)).eval()
        with torch.no_grad():
            for p in model.decoder.parameters():
                p.mul_(2.5)
        ckpt_mod.save_checkpoint(folder / name, model, {
            "training": {}, "history": [], "test_metrics": {}, "data": {}, "versions": {},
            "command": "tests/test_decoder_activations_browser.py (random weights)"})
        models[name] = ckpt_mod.load_checkpoint(folder / name).model
    return models


@pytest.fixture(scope="module")
def harness(tmp_path_factory, browser):
    folder = tmp_path_factory.mktemp("activation-checkpoints")
    models = _random_models(folder)
    env = {"LATENT_PLANE_MODELS": ",".join(ACTIVATIONS), ckpt_mod.CHECKPOINT_DIR_ENV: str(folder)}
    proc, url = start_app("tests/apps/latent_plane_app.py", env=env)
    page = browser.new_page()
    try:
        page.goto(url)
        page.wait_for_function("() => { const h = window.__latentPlane; return h && "
                               + " && ".join(f"h['plane_{n}'] && h['plane_{n}'].lastDecode" for n in ACTIVATIONS)
                               + "; }", timeout=120_000)
        yield page, models
    finally:
        page.close()
        stop_app(proc)


def test_the_payloads_carry_the_activation_under_test():
    """Guards the test's premise: the browser receives ELU and tanh layers, not a ReLU fallback."""
    for name, activation in ACTIVATIONS.items():
        torch.manual_seed(0)
        model = build_model(ModelConfig(kind="vae", latent_dim=2, hidden=(8, 4), activation=activation))
        layers = decoder_bytes.decoder_layers(model)
        assert [act for _, _, act, _ in layers] == [activation, activation, None], name


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_browser_decoder_matches_torch(harness, name):
    page, models = harness
    zs = np.random.default_rng(0).uniform(-3, 3, size=(12, 2)).round(4).tolist() + [[0.0, 0.0], [2.5, -2.5]]
    worst = 0.0
    for z in zs:
        got = np.array(page.evaluate("([k, z]) => Array.from(window.__latentPlane[k].decode(z))",
                                     [f"plane_{name}", z]), np.float32)
        with torch.inference_mode():
            want = torch.sigmoid(models[name].decode(torch.tensor([z], dtype=torch.float32))).reshape(-1).numpy()
        assert got.shape == want.shape == (784,)
        diff = float(np.abs(got - want).max())
        worst = max(worst, diff)
        assert diff <= F16_TOL, f"{name} at z={z}: max |browser - torch| = {diff:.2e}"
    assert worst > 0.0, "float16 weights cannot give exactly torch's float32 pixels: is the decoder running?"
    print(f"\n{name}: max |browser - torch| over {len(zs)} codes = {worst:.2e}")
