"""The disentanglement page: its parts without Streamlit (posterior statistics and traversal values in vae.traversal;
bar clicked -> dimension, which checkpoints are offered, in ui.disentangle_figures; GIF and PNG rendering in
ui.images) and AppTests of the page with the shipped checkpoints and with a folder of tiny ones."""

from __future__ import annotations

import io
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from helpers import IDLE, served_page, tiny_config
from ui import disentangle as D
from ui import resources
from ui import disentangle_figures as F
from ui.images import bounce_order, traversal_gif, traversal_png
from vae import registry
from vae.checkpoint import (CHECKPOINT_DIR, CHECKPOINT_DIR_ENV, available, load_checkpoint, read_manifest,
                            save_checkpoint)
from vae.metrics import active_units, kl_per_dimension
from vae.models import build_model
from vae.traversal import PosteriorStats, decode_traversal, stats_from_posteriors, sweep_values

PAGE = str(CHECKPOINT_DIR.parent / "pages" / "disentanglement.py")


# --- pure helpers -------------------------------------------------------------------------------------------------

def test_the_pure_part_imports_without_streamlit():
    """Only ui.disentangle draws: the maths, the figures and the pictures load in a process without Streamlit."""
    code = ("import sys, vae.traversal, ui.disentangle_figures, ui.images; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=CHECKPOINT_DIR.parent, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def _stats(d: int = 6, seed: int = 0) -> PosteriorStats:
    rng = np.random.default_rng(seed)
    scale = np.array([2.0, 0.01, 1.0, 0.001, 0.5, 3.0])[:d]  # some dimensions barely move: inactive
    mu = rng.standard_normal((500, d)) * scale
    logvar = rng.normal(-1.0, 0.3, (500, d)) * (scale > 0.05)
    return stats_from_posteriors(mu, logvar)


def test_stats_sort_by_kl_and_sum_to_the_total():
    s = _stats()
    assert np.all(np.diff(s.kl[s.order]) <= 0), "dimensions by decreasing KL"
    assert sorted(s.order.tolist()) == list(range(6))
    assert s.total_kl == pytest.approx(float(s.kl.sum()))
    assert s.active.tolist() == [True, False, True, False, True, True]
    assert s.n_active == 4


def _event(*points):
    return {"selection": {"points": list(points), "point_indices": [], "box": [], "lasso": []}}


def test_a_clicked_bar_maps_to_its_dimension():
    trace_dims = [[5, 0, 2], [3, 1]]
    assert F.dimension_from_selection(_event({"curve_number": 0, "point_index": 0}), trace_dims) == 5
    assert F.dimension_from_selection(_event({"curve_number": 0, "point_index": 2}), trace_dims) == 2
    assert F.dimension_from_selection(_event({"curve_number": 1, "point_index": 1}), trace_dims) == 1
    assert F.dimension_from_selection(_event({"curve_number": 1, "point_number": 0}), trace_dims) == 3


@pytest.mark.parametrize("event", [
    None, {}, _event(), {"selection": None}, _event({"curve_number": 2, "point_index": 0}),
    _event({"curve_number": 0, "point_index": 3}), _event({"curve_number": -1, "point_index": 0}),
    _event({"curve_number": True, "point_index": 0}), _event({"curve_number": "0", "point_index": 0}), _event("x"),
])
def test_an_empty_or_unusable_selection_changes_nothing(event):
    assert F.dimension_from_selection(event, [[5, 0, 2], [3, 1]]) is None


def test_selection_state_read_as_attributes_too():
    class PlotlyState:  # what st.session_state[chart_key] holds: a dict that also answers .selection
        selection = {"points": [{"curve_number": 1, "point_index": 0}]}
    assert F.dimension_from_selection(PlotlyState(), [[4], [7]]) == 7


def test_the_kl_chart_draws_each_bar_where_the_mapping_says():
    s = _stats()
    fig, trace_dims = F.kl_figure(s, "t")
    assert len(fig.data) == 2 and [t.name.split(":")[0] for t in fig.data] == ["active", "inactive"]
    for c, trace in enumerate(fig.data):
        for i, x in enumerate(trace.x):
            event = _event({"curve_number": c, "point_index": i})
            dim = F.dimension_from_selection(event, trace_dims)
            assert x == f"z{dim}" and trace.y[i] == pytest.approx(s.kl[dim])
            assert bool(s.active[dim]) == (c == 0)
    assert list(fig.layout.xaxis.categoryarray) == [f"z{j}" for j in s.order], "bars in decreasing KL"


def test_traversal_gif_loops_there_and_back_at_the_upscaled_size():
    n, factor = 7, 5
    images = np.random.default_rng(0).random((n, 28, 28)).astype(np.float32)
    gif = traversal_gif(images, sweep_values(n), factor=factor)
    im = Image.open(io.BytesIO(gif))
    assert im.format == "GIF" and im.n_frames == 2 * n - 2
    assert im.size == (28 * factor, 28 * factor + max(8, 2 * factor))
    assert im.info.get("loop") == 0, "loops forever"
    frames = []
    for k in range(im.n_frames):
        im.seek(k)
        frames.append(np.asarray(im.convert("L")))
    top = [f[:28 * factor] for f in frames]
    order = bounce_order(n)
    for k, idx in enumerate(order):  # each frame is its image, upscaled by whole pixels (no blur)
        expected = np.kron((np.clip(images[idx], 0, 1) * 255 + 0.5).astype(np.uint8), np.ones((factor, factor)))
        assert np.abs(top[k].astype(int) - expected).max() <= 1
    assert order == [0, 1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1]


def test_traversal_png_is_one_labelled_grid():
    rows, cols, factor = 3, 7, 2
    images = np.random.default_rng(1).random((rows, cols, 28, 28)).astype(np.float32)
    png = traversal_png(images, ["z0  KL 1.00", "z3  KL 0.50", "z1  KL 0.01"], sweep_values(cols), factor)
    im = Image.open(io.BytesIO(png))
    assert im.format == "PNG" and im.mode == "L"
    cell = 28 * factor
    assert im.width > cols * (cell + 2) and im.height > rows * (cell + 2), "room for the labels and the header"
    bottom_right = np.asarray(im)[-cell:, -cell:]
    expected = (np.clip(images[-1, -1], 0, 1) * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(bottom_right, np.kron(expected, np.ones((factor, factor), np.uint8)))


def test_sweep_values_span_plus_minus_three():
    v = sweep_values(11)
    assert v[0] == -3 and v[-1] == 3 and v[5] == 0 and len(v) == 11
    with pytest.raises(ValueError):
        sweep_values(1)


def _manifest(beta: float = 1.0) -> dict:
    """The training part of a shipped manifest, with `beta`: enough for save_checkpoint."""
    manifest = {k: v for k, v in read_manifest(CHECKPOINT_DIR / "vae-z20").items()
                if k not in ("format_version", "name", "model", "weights_sha256")}
    manifest["training"] = {**manifest["training"], "beta": beta}
    return manifest


def _tiny(folder, kind: str, latent_dim: int, beta: float = 1.0, seed: int = 0) -> None:
    torch.manual_seed(seed)
    save_checkpoint(folder, build_model(tiny_config(kind, "mlp", latent_dim)), _manifest(beta))


@pytest.fixture
def tiny_checkpoints(tmp_path, monkeypatch):
    """A checkpoint folder with an AE, a 2-D VAE, two >2-D VAEs (beta 1 and 4), one with broken weights, one whose
    manifest is not JSON, an interrupted save (no manifest) and an AE with broken weights; names are looked up there."""
    _tiny(tmp_path / "tiny-ae-z4", "ae", 4)
    _tiny(tmp_path / "tiny-vae-z2", "vae", 2)
    _tiny(tmp_path / "tiny-vae-z3", "vae", 3, beta=1.0, seed=1)
    _tiny(tmp_path / "tiny-vae-z4-beta4", "vae", 4, beta=4.0, seed=2)
    _tiny(tmp_path / "tiny-vae-z5-broken", "vae", 5)
    (tmp_path / "tiny-vae-z5-broken" / "model.pt").write_bytes(b"not a state dict")
    (tmp_path / "not-json").mkdir()
    (tmp_path / "not-json" / "manifest.json").write_text("{")
    (tmp_path / "interrupted").mkdir()
    (tmp_path / "interrupted" / "model.pt").write_bytes(b"half a save")
    _tiny(tmp_path / "tiny-ae-z6-broken", "ae", 6)
    (tmp_path / "tiny-ae-z6-broken" / "model.pt").write_bytes(b"not a state dict")
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    return tmp_path


def test_only_vaes_above_two_dimensions_that_load_are_offered_and_the_broken_ones_listed(tiny_checkpoints):
    infos, unusable = D.vae_checkpoints()
    assert [v.name for v in infos] == ["tiny-vae-z3", "tiny-vae-z4-beta4"]
    assert [(v.latent_dim, v.beta) for v in infos] == [(3, 1.0), (4, 4.0)]
    reasons = dict(unusable)
    assert list(reasons) == ["interrupted", "not-json", "tiny-vae-z5-broken"], "not the broken AE: never offered here"
    assert reasons["interrupted"].startswith("checkpoints/interrupted/manifest.json is missing (a save that was "
                                             "interrupted: it holds only model.pt)")
    assert reasons["not-json"].startswith("checkpoints/not-json/manifest.json: manifest is not valid JSON")
    assert reasons["tiny-vae-z5-broken"].startswith("checkpoints/tiny-vae-z5-broken/model.pt: weights file does not "
                                                    "match the sha256")
    assert F.default_model(infos) == "tiny-vae-z3"


@pytest.mark.parametrize("manifest, expected", [
    ({"model": {"kind": "vae", "latent_dim": 3}}, True),
    ({"model": {"kind": "vae", "latent_dim": 2}}, False),  # nothing to disentangle
    ({"model": {"kind": "vae", "latent_dim": True}}, False),
    ({"model": {"kind": "ae", "latent_dim": 10}}, False),  # no posterior: no KL per dimension
    ({"model": {"kind": "judge"}}, False),
    ({"model": {"kind": "gaussian", "dim": 784}}, False),
    ({"model": {"kind": "no-such-kind", "latent_dim": 10}}, False),
    ({"model": "not an object"}, True),  # unreadable: listed with its reason, in case it is one
    (None, True),
])
def test_which_manifests_the_page_offers(manifest, expected):
    assert F.offered(manifest) is expected


def test_beta_read_from_a_manifest():
    assert F.beta_of({"training": {"beta": 4}}) == 4.0
    assert F.beta_of({"training": {}}) == 1.0, "a plain VAE's manifest may leave beta out"
    assert np.isnan(F.beta_of({"training": {"beta": True}})) and np.isnan(F.beta_of({"training": {"beta": "4"}}))


def test_the_beta_family_is_preferred_then_vae_z20():
    family = [F.VaeInfo(f"vae-z10-beta{b}", 10, float(b)) for b in (1, 4, 8)]
    z20 = F.VaeInfo("vae-z20", 20, 1.0)
    assert F.default_model([z20, *family]) == "vae-z10-beta4"
    assert F.default_comparison([*family, z20]) == ["vae-z10-beta1", "vae-z10-beta4", "vae-z10-beta8"]
    assert F.default_model([F.VaeInfo("other", 5, 1.0), z20]) == "vae-z20"
    assert F.default_model([family[0], z20]) == "vae-z10-beta1"
    assert F.default_model([]) is None


# --- the page (slow: real MNIST and checkpoints) ------------------------------------------------------------------

def _captions(app: AppTest) -> list[str]:
    return [img.caption for el in app.get("image") for img in el.proto.imgs]


def _charts(app: AppTest) -> list:
    return [el for el in app.main if el.type == "plotly_chart"]


def _metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def _eligible_shipped() -> list[str]:
    names = []
    for name in available():
        try:
            m = read_manifest(name)
        except Exception:
            continue
        if registry.posterior(m["model"].get("kind")) and m["model"].get("latent_dim", 0) > 2:
            names.append(name)
    return names


@pytest.mark.slow
def test_page_with_the_shipped_checkpoints():
    from vae.data import load_mnist
    from vae.latent import encode_images

    app = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not app.exception and not app.error
    picker = app.selectbox(key="dis_model")
    eligible = _eligible_shipped()
    assert sorted(o.split()[0] for o in picker.options) == sorted(eligible), "every VAE above 2-D, nothing else"
    family = [n for n in eligible if n.startswith("vae-z10-beta")]
    assert picker.value == (family[len(family) // 2] if family else "vae-z20")

    picker.set_value("vae-z20").run()
    app.number_input(key="dis_test_index").set_value(42).run()
    app.slider(key="dis_columns").set_value(15).run()
    app.radio(key="dis_center").set_value("digit").run()
    app.number_input(key="dis_top_k").set_value(8).run()
    assert not app.exception and not app.error
    assert len(_charts(app)) >= 1, "the KL chart"

    data = load_mnist()
    enc = encode_images(load_checkpoint("vae-z20").model, data.x_test)
    kl = kl_per_dimension(enc.mu, enc.logvar)
    assert _metric(app, "\u03a3 KL (nats)") == f"{kl.sum():.2f}"
    assert _metric(app, "active units") == f"{int(active_units(enc.mu).sum())} of 20"
    assert _metric(app, "\u03b2") == "1" and _metric(app, "latent size d") == "20"

    captions = _captions(app)
    assert f"#42: a {data.y_test[42]}" in captions
    top = int(np.argmax(kl))
    assert f"z{top} from \u22123 to +3 around \u03bc(x) of test digit #42" in captions, "the top dimension up close"
    assert any(c.startswith("vae-z20: rows z\u2c7c by decreasing KL (8 of 20), 15 columns") and c.endswith("#42")
               for c in captions)
    assert {b.proto.label for b in app.get("download_button")} >= {"Download this sweep as GIF",
                                                                   "Download the grid as PNG"}

    app.selectbox(key="dis_dim").set_value(int(np.argsort(-kl)[2])).run()  # the keyboard path to a dimension
    app.radio(key="dis_center").set_value("prior").run()
    app.radio(key="dis_rows").set_value("all").run()
    assert not app.exception
    captions = _captions(app)
    third = int(np.argsort(-kl)[2])
    assert f"z{third} from \u22123 to +3 around z = 0 (the prior's mean)" in captions
    assert any(c.startswith("vae-z20: rows z\u2c7c by decreasing KL (20 of 20)") for c in captions)

    if len(eligible) >= 2:  # the beta family, once trained, beside vae-z20
        pair = (family or [n for n in eligible if n != "vae-z20"])[:1] + ["vae-z20"]
        app.multiselect(key="dis_compare").set_value(pair).run()
        assert not app.exception and not app.error
        captions = _captions(app)
        assert all(any(c.startswith(f"{n}: top 5 dimensions by KL") for c in captions) for n in pair)
        assert len(_charts(app)) == 3


@pytest.mark.slow
def test_page_offers_only_big_vaes_compares_two_and_lists_the_broken_ones(tiny_checkpoints):
    app = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not app.exception
    assert app.selectbox(key="dis_model").options == ["tiny-vae-z3  \u00b7  \u03b2 = 1  \u00b7  3-D",
                                                      "tiny-vae-z4-beta4  \u00b7  \u03b2 = 4  \u00b7  4-D"]
    listed = [c.value for c in app.caption if c.value.startswith("Not offered: ")]
    assert [c.split(":")[1].strip() for c in listed] == ["interrupted", "not-json", "tiny-vae-z5-broken"]
    assert "checkpoints/tiny-vae-z5-broken/model.pt: weights file does not match the sha256" in listed[2]
    assert all("\n" not in c for c in listed), "one line each"

    app.multiselect(key="dis_compare").set_value(["tiny-vae-z3", "tiny-vae-z4-beta4"]).run()
    assert not app.exception
    assert len(_charts(app)) == 3, "the model's KL chart and one per compared model"
    captions = _captions(app)
    for name in ("tiny-vae-z3", "tiny-vae-z4-beta4"):
        assert any(c.startswith(f"{name}: top ") and c.endswith("#0") for c in captions)

    (tiny_checkpoints / "tiny-vae-z4-beta4" / "model.pt").write_bytes(b"damaged while the server runs")
    time.sleep(resources.STAMP_TTL_S + 0.1)  # the page looks at a checkpoint's files once a second at most
    app.run()
    assert not app.exception
    assert app.selectbox(key="dis_model").options == ["tiny-vae-z3  \u00b7  \u03b2 = 1  \u00b7  3-D"]
    assert any(c.value.startswith("Not offered: tiny-vae-z4-beta4: checkpoints/tiny-vae-z4-beta4/model.pt: ")
               for c in app.caption), "a checkpoint damaged later is listed on the next run"


@pytest.mark.slow
def test_page_without_any_big_vae_says_so(tmp_path, monkeypatch):
    _tiny(tmp_path / "tiny-ae-z4", "ae", 4)
    _tiny(tmp_path / "tiny-vae-z2", "vae", 2)
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    app = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not app.exception
    assert len(app.info) == 1 and app.info[0].value.startswith("No VAE with more than 2 latent dimensions")
    assert app.title[0].value == "Disentanglement"


@pytest.mark.slow
def test_gif_of_a_real_traversal_decodes_to_the_expected_frames():
    ckpt = load_checkpoint("vae-z20")
    center = np.zeros(ckpt.config.latent_dim, np.float32)
    values = sweep_values(D.GIF_STEPS)
    images = decode_traversal(ckpt.model, center, [3], values)[0]
    im = Image.open(io.BytesIO(traversal_gif(images, values)))
    assert im.n_frames == 2 * D.GIF_STEPS - 2
    assert im.size == (280, 280 + 20)
    assert im.info.get("loop") == 0


# --- in Chromium: a click on a bar reaches Python -----------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.browser
def test_clicking_a_bar_shows_that_dimension_up_close(browser):
    def settle():
        page.wait_for_timeout(300)
        page.wait_for_function(IDLE, timeout=60_000)

    def up_close() -> str:
        return page.locator("h4").filter(has_text="up close").first.inner_text()

    with served_page(browser, "disentanglement", (1600, 1400)) as (page, _):
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot g.point path').length >= 3",
                               timeout=120_000)
        settle()
        first = up_close()
        bars = page.locator(".js-plotly-plot").first.locator("g.point path")
        ticks = page.locator(".js-plotly-plot").first.locator("g.xtick text").all_text_contents()
        box = bars.nth(2).bounding_box()  # the third bar: the third dimension by KL (all shipped models have 3 active)
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function("t => [...document.querySelectorAll('h4')].some(e => e.innerText.startsWith(t + ' '))",
                               arg=ticks[2], timeout=30_000)
        assert up_close().startswith(ticks[2] + " up close") and up_close() != first
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # again: deselects, no change
        settle()
        page.wait_for_timeout(1000)
        assert up_close().startswith(ticks[2] + " up close")
        gif = page.locator('[data-testid="stImage"] img').filter(has=page.locator("xpath=self::*[contains(@src, "
                                                                                  "'.gif')]"))
        assert gif.count() >= 1, "the sweep is shown as an animated GIF"
        assert page.locator('[data-testid="stException"]').count() == 0
