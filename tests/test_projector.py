"""Projector mode: figures restyled per session (fonts, strokes, markers), a style sheet only when the mode is on."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from ui import projector
from ui.plots import latent_scatter
from vae.checkpoint import CHECKPOINT_DIR

APP = str(CHECKPOINT_DIR.parent / "app.py")


def _figure() -> go.Figure:
    fig = go.Figure(go.Scatter(x=[0, 1], y=[1, 0], mode="lines+markers", line=dict(width=3), marker=dict(size=6)))
    fig.update_layout(title=dict(text="t", font=dict(size=18)), font=dict(size=12), height=300)
    return fig


def test_projector_figure_scales_type_strokes_and_markers():
    fig = projector.figure(_figure(), force=True)
    assert fig.data[0].line.width == pytest.approx(3 * projector.LINE_SCALE)
    assert fig.data[0].marker.size == pytest.approx(6 * projector.MARKER_SCALE)
    assert fig.layout.font.size == projector.MIN_FONT  # 12 * 1.6 = 19.2 is raised to the floor
    assert fig.layout.title.font.size == pytest.approx(18 * projector.FONT_SCALE)
    assert fig.layout.height == 345
    assert fig.layout.xaxis.tickfont.size >= projector.MIN_FONT and fig.layout.xaxis.linewidth == 3
    assert fig.layout.font.color == "#000000"


def test_projector_figure_leaves_a_figure_alone_when_off():
    before = _figure().to_plotly_json()
    assert projector.figure(_figure(), force=False).to_plotly_json() == before


def test_latent_scatter_in_projector_mode_gets_bigger_opaque_dots_and_thicker_prior_circles():
    import numpy as np
    rng = np.random.default_rng(0)
    fig = projector.figure(latent_scatter(rng.normal(size=(200, 2)), rng.integers(0, 10, 200), "t"), force=True)
    dots = [t for t in fig.data if t.mode == "markers"]
    assert all(t.marker.size == pytest.approx(4 * projector.MARKER_SCALE) and t.marker.opacity >= 0.9 for t in dots)
    assert fig.layout.legend.orientation == "h", "a vertical legend in large type would squeeze the plane"
    circles = [t for t in fig.data if t.mode == "lines"]
    assert all(t.line.width == pytest.approx(1.5 * projector.LINE_SCALE) for t in circles)


@pytest.mark.slow
def test_the_sidebar_toggle_injects_the_style_sheet_on_every_page():
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    styles = lambda: [h for h in at.get("html") if "data-testid=\"stAppViewContainer\"" in h.proto.body]
    assert at.sidebar.toggle(key="projector").value is False and styles() == []
    at.sidebar.toggle(key="projector").set_value(True).run()
    assert len(styles()) == 1 and "font-size: 22px" in styles()[0].proto.body
    at.switch_page("pages/train.py").run()
    assert not at.exception and len(styles()) == 1, "the mode follows the session to another page"
    at.sidebar.toggle(key="projector").set_value(False).run()
    assert styles() == []


@pytest.mark.slow
@pytest.mark.parametrize("value, on", [("1", True), ("on", True), ("0", False), ("banana", False)])
def test_a_link_opens_with_projector_mode_and_the_parameter_leaves_the_url(value, on):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["projector"] = value
    at.run()
    assert not at.exception and at.sidebar.toggle(key="projector").value is on
    warnings = [w.value for w in at.warning if "projector=" in w.value]
    assert warnings == (["Ignored the link's projector='banana': it takes 1 (on) or 0 (off). Use the sidebar switch."]
                        if value == "banana" else [])
    # read once, then gone: a link copied from the address bar does not put every student in projector mode
    assert at.query_params.get("projector") is None
    at.sidebar.toggle(key="projector").set_value(not on).run()
    assert at.query_params.get("projector") is None and at.sidebar.toggle(key="projector").value is (not on)
    # the tick that puts projector=1 into shared links is offered only while the mode is on
    assert ("share_projector" in [c.key for c in at.sidebar.checkbox]) is (not on)
