"""AppTests of the explorer page and each of its panels: widgets set by key, outputs checked."""

from __future__ import annotations

import math
import re

import pytest
from streamlit.testing.v1 import AppTest

from helpers import live_planes, open_explorer_tab
from vae.checkpoint import CHECKPOINT_DIR

pytestmark = pytest.mark.slow
EXPLORER = str(CHECKPOINT_DIR.parent / "pages" / "explorer.py")


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(EXPLORER, default_timeout=120).run()
    assert not app.exception
    return app


def _subheaders(app: AppTest) -> list[str]:
    return [s.value for s in app.subheader]


def _image_captions(app: AppTest) -> list[str]:
    return [img.caption for el in app.get("image") for img in el.proto.imgs]


def test_explorer_mounts_two_live_planes_and_pins_the_origin(at):
    assert not at.error
    assert "Pinned z = (0.000, 0.000)" in _subheaders(at)
    assert [t.label for t in at.tabs] == ["Manifold grid", "Interpolation", "Prior samples"]
    assert len(live_planes(at)) == 2, "one live plane per model"
    captions = _image_captions(at)
    assert captions.count("decoded here (server)") == 2
    assert sum(c.startswith("5 nearest test codes: ") for c in captions) == 2
    assert sum(c.startswith("nearest training image: a ") for c in captions) == 2


def test_typed_z_is_pinned_for_both_models(at):
    at.number_input(key="z1_input").set_value(1.25).run()
    at.number_input(key="z2_input").set_value(-0.5).run()
    assert not at.exception
    assert "Pinned z = (1.250, -0.500)" in _subheaders(at)
    # the pinned z is printed once, in the heading over both models, not again under each plane
    assert sum("(1.250, -0.500)" in m.value for m in at.markdown) == 0


def test_a_click_from_the_plane_pins_z_and_selects_the_digit(at):
    at.session_state["plane_vae-z2"] = {"pinned": {"z": [0.4, -0.3], "nearest_index": 7, "seq": 1}}
    at.run()
    assert not at.exception
    assert "Pinned z = (0.400, -0.300)" in _subheaders(at)
    assert "Selected test digit #7" in _subheaders(at)
    at.button(key="resample_eps").click().run()
    assert not at.exception
    assert sum(c.startswith("decoded draws z = ") for c in _image_captions(at)) == 1, "the VAE's draws (not the AE)"


@pytest.mark.parametrize("bad", [[math.nan, 0.0], [math.inf, 1.0], [1e6, 0.0], "garbage"])
def test_bad_z_from_the_plane_keeps_the_last_good_z_and_says_why(at, bad):
    at.number_input(key="z1_input").set_value(0.5).run()
    at.session_state["plane_ae-z2"] = {"pinned": {"z": bad, "nearest_index": None, "seq": 9}}
    at.run()
    assert not at.exception
    assert "Pinned z = (0.500, 0.000)" in _subheaders(at)
    assert len(at.warning) == 1 and at.warning[0].value.startswith("Ignored z from the plane:")


def test_grid_panel_sizes_and_spacings(at):
    at.slider(key="grid_n").set_value(30).run()
    at.radio(key="grid_spacing").set_value("linear").run()
    at.slider(key="grid_extent").set_value(3.5).run()
    assert not at.exception
    captions = _image_captions(at)
    assert any("over z in \u00b13.5" in c for c in captions)
    assert any("over its own codes" in c for c in captions), "the AE also gets a grid over its own codes"


def test_interpolation_panel(at):
    open_explorer_tab(at, "interpolation")
    at.number_input(key="interp_start").set_value(10).run()
    at.number_input(key="interp_end").set_value(11).run()
    at.slider(key="interp_steps").set_value(64).run()
    at.radio(key="interp_kind").set_value("spherical").run()
    assert not at.exception
    charts = [el for el in at.main if el.type == "plotly_chart"]
    assert charts, "the pixel-change chart is drawn"
    assert any("From a 0 (#10) to a 6 (#11)" in c.value for c in at.caption)


def test_samples_panel_new_draws_change_the_seed(at):
    open_explorer_tab(at, "samples")
    at.slider(key="samples_m").set_value(100).run()
    seed = at.session_state["samples_seed"]
    at.button(key="new_draws").click().run()
    assert not at.exception
    assert at.session_state["samples_seed"] == seed + 1
    captions = _image_captions(at)
    assert any("Gaussian fitted to its codes" in c for c in captions)


def test_a_decoder_the_browser_cannot_run_gets_a_static_plane_and_a_note(tmp_path, monkeypatch):
    """A conv VAE under the name vae-z2: no live plane for it, a clear note, the server panels still decode it."""
    import shutil

    import torch

    from helpers import tiny_config
    from vae.checkpoint import CHECKPOINT_DIR_ENV, read_manifest, save_checkpoint
    from vae.models import build_model

    shutil.copytree(CHECKPOINT_DIR / "ae-z2", tmp_path / "ae-z2")
    shutil.copytree(CHECKPOINT_DIR / "gaussian-pixels", tmp_path / "gaussian-pixels")  # else a note says it is missing
    manifest = {k: v for k, v in read_manifest(CHECKPOINT_DIR / "vae-z2").items()
                if k not in ("format_version", "name", "model", "weights_sha256")}
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "vae-z2", build_model(tiny_config("vae", "conv")), manifest)
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    app = AppTest.from_file(EXPLORER, default_timeout=120).run()
    assert not app.exception
    notes = [i.value for i in app.info]
    assert len(notes) == 1 and notes[0].startswith("Live decoding is off for vae-z2:")
    assert len(live_planes(app)) == 1, "the AE keeps its live plane"
    assert any(el.type == "plotly_chart" for el in app.main), "the conv VAE gets a static plane"
    assert _image_captions(app).count("decoded here (server)") == 2


@pytest.mark.parametrize("kind", ["codes", "distance", "completeness", "precision", "continuity"])
def test_maps_under_the_planes(at, kind):
    from ui import maps

    at.radio(key="map_kind").set_value(kind).run()
    assert not at.exception and not at.info
    title = maps.MAPS[kind].capitalize() + ": "
    captions = [c.value[len(title):] for c in at.caption if c.value.startswith(title)]
    assert len(captions) == 2, "one map per plane, with its number"
    number = {"codes": r"\d+% of N\(0, I\) draws land among the codes; the prior's 3\u03c3 circle holds \d+%",
              "continuity": r"Per code SD: median \d+, spikiness \(99th percentile / median\) \d+\.\d"}
    for c in captions:
        assert re.match(number.get(kind, r"Mean over the view \d\.\d\d.*spread \(SD\) \d\.\d\d"), c), c
    assert maps.CAPTIONS[kind] in [c.value for c in at.caption], "what the colours mean, once under both planes"


def test_maps_separate_the_models_where_the_difference_is_real(at):
    """Distance to the nearest code (in each model's code SDs) is larger over the AE's view than the VAE's; the
    judge's confidence is not (the explanation says why)."""
    at.radio(key="map_kind").set_value("distance").run()
    means = [float(re.search(r"Mean over the view (\d\.\d\d)", c.value).group(1)) for c in at.caption
             if c.value.startswith("Distance to the nearest code: ")]
    assert means[0] > 2 * means[1], means  # AE first


def test_whitened_view_and_far_outside_warning(at):
    at.toggle(key="explorer_whitened").set_value(True).run()
    assert not at.exception
    assert any(c.value.startswith("Whitened units:") for c in at.caption)
    at.number_input(key="z1_input").set_value(-22.0).run()
    at.number_input(key="z2_input").set_value(-75.0).run()
    assert not at.exception
    warnings = [w.value for w in at.warning if "standard deviations of its codes away from every code" in w.value]
    assert len(warnings) == 2 and "AE (ae-z2)" in warnings[0] and "VAE (vae-z2)" in warnings[1]
    at.number_input(key="z1_input").set_value(0.0).run()
    at.number_input(key="z2_input").set_value(0.0).run()
    assert not [w for w in at.warning if "away from every code" in w.value]


def test_beta_scrubber_walks_the_family_from_the_ae(at):
    from vae.checkpoint import available
    family = [n for n in ("ae-z2", "vae-z2-beta0.1", "vae-z2-beta0.5", "vae-z2", "vae-z2-beta2", "vae-z2-beta4")
              if n in available()]
    open_explorer_tab(at, "interpolation")  # its strips carry each model's title
    slider = at.select_slider(key="family_model")
    assert list(slider.options) == [{"ae-z2": "AE", "vae-z2": "\u03b2 1"}.get(n, "\u03b2 " + n.split("beta")[-1])
                                    for n in family]
    for name in family:
        slider.set_value(name).run()
        assert not at.exception
        assert len(live_planes(at)) == 2, f"two planes with {name} on the right"
        titles = [m.value for m in at.markdown if m.value.startswith("**") and m.value.endswith(")**")]
        assert any(name in t for t in titles)


def test_only_the_open_tab_runs(at):
    """Lazy tabs: the grid (the default tab) runs, the interpolation and samples panels do not until opened, and
    the tab opened last is the only one that runs."""
    assert at.slider(key="grid_n").value
    with pytest.raises(KeyError):
        at.number_input(key="interp_start")
    with pytest.raises(KeyError):
        at.slider(key="samples_m")
    open_explorer_tab(at, "interpolation")
    assert not at.exception and at.number_input(key="interp_start").value is not None
    with pytest.raises(KeyError):
        at.slider(key="grid_n")
    assert [el for el in at.main if el.type == "plotly_chart"], "the interpolation's chart"
