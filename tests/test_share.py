"""ui/share.py: links -> session values and back (pure functions, every hostile value), then AppTests of both pages
opened with a link."""

from __future__ import annotations

import math

import pytest
from streamlit.testing.v1 import AppTest

from helpers import copy_link_data, open_explorer_tab
from ui import share as H
from ui import state as S
from vae.checkpoint import CHECKPOINT_DIR, available, read_manifest

EXPLORER = str(CHECKPOINT_DIR.parent / "pages" / "explorer.py")
DIS_PAGE = str(CHECKPOINT_DIR.parent / "pages" / "disentanglement.py")
FAMILY = ("ae-z2", "vae-z2-beta0.1", "vae-z2-beta0.5", "vae-z2", "vae-z2-beta2", "vae-z2-beta4")
OFFER = H.Offer(models=FAMILY, default_model="vae-z2", n_digits=10_000, z_limit=100.0)
DIS_OFFER = H.Offer(models=("vae-z10-beta1", "vae-z10-beta4", "vae-z10-beta8", "vae-z20"),
                    default_model="vae-z10-beta4", latent_dims={"vae-z10-beta1": 10, "vae-z10-beta4": 10,
                                                                "vae-z10-beta8": 10, "vae-z20": 20},
                    default_compare=("vae-z10-beta1", "vae-z10-beta4", "vae-z10-beta8"))


def keys_of(page: str) -> list[str]:
    return [k for p in H.PAGES[page] for k in p.keys]


def state_with(page: str, **changes) -> dict:
    state = {k: S.DEFAULTS[k] for k in keys_of(page)}
    state.update(changes)
    return state


# --- defaults and round trips -------------------------------------------------------------------------------------

@pytest.mark.parametrize("page,offer", [(H.EXPLORER, OFFER), (H.DISENTANGLEMENT, DIS_OFFER)])
def test_no_parameters_give_the_defaults_and_defaults_give_a_bare_url(page, offer):
    values, ignored = H.parse(page, {}, offer)
    assert ignored == []
    expected = {k: S.DEFAULTS[k] for k in keys_of(page)}
    if page == H.EXPLORER:
        expected[S.FAMILY_MODEL] = "vae-z2"
    assert values == expected
    assert H.encode(page, values, offer) == {}


EXPLORER_LINKS = [
    {"model": "vae-z2-beta4", "z": "0.5,-1.2", "grid": "15,2,gaussian"},  # grid at its default is dropped below
    {"model": "ae-z2", "z": "-30.25,12", "digit": "42", "eps": "3", "same": "off", "map": "continuity",
     "grid": "30,4,linear", "a": "0", "b": "9999", "steps": "64", "path": "spherical", "m": "1", "seed": "4294967295"},
    {"z": "100,-100", "digit": "0", "grid": "2,0.5,gaussian", "steps": "2", "m": "100", "seed": "7"},
]


@pytest.mark.parametrize("params", EXPLORER_LINKS)
def test_an_explorer_link_round_trips(params):
    values, ignored = H.parse(H.EXPLORER, params, OFFER)
    assert ignored == []
    canonical = {k: v for k, v in params.items() if not (k == "grid" and v == "15,2,gaussian")}
    assert H.encode(H.EXPLORER, values, OFFER) == canonical, "link -> state -> link"
    again, _ = H.parse(H.EXPLORER, H.encode(H.EXPLORER, values, OFFER), OFFER)
    assert again == values, "state -> link -> state"


def test_a_link_sets_exactly_the_state_it_names():
    values, _ = H.parse(H.EXPLORER, {"model": "vae-z2-beta4", "z": "0.5,-1.2", "grid": "20,2.5,linear", "a": "3",
                                     "b": "2", "digit": "7", "eps": "5"}, OFFER)
    assert values[S.FAMILY_MODEL] == "vae-z2-beta4"
    assert values[S.PINNED_Z] == [0.5, -1.2] and (values[S.Z_INPUT[0]], values[S.Z_INPUT[1]]) == (0.5, -1.2)
    assert (values[S.GRID_N], values[S.GRID_EXTENT], values[S.GRID_SPACING]) == (20, 2.5, "linear")
    assert (values[S.INTERP_START], values[S.INTERP_END], values[S.SELECTED]) == (3, 2, 7)
    assert (values[S.SHOW_EPS], values[S.EPS_SEED]) == (True, 5)


def test_a_changed_state_round_trips_through_its_link():
    state = state_with(H.EXPLORER, **{S.FAMILY_MODEL: "vae-z2-beta0.5", S.PINNED_Z: [1.5, -0.25],
                                      S.Z_INPUT[0]: 1.5, S.Z_INPUT[1]: -0.25, S.SELECTED: 123, S.LINKED: False,
                                      S.MAP_KIND: "completeness", S.GRID_N: 7, S.GRID_EXTENT: 3.75,
                                      S.INTERP_STEPS: 40, S.INTERP_KIND: "spherical", S.SAMPLES_M: 64,
                                      S.SAMPLES_SEED: 12})
    params = H.encode(H.EXPLORER, state, OFFER)
    assert params == {"model": "vae-z2-beta0.5", "z": "1.5,-0.25", "digit": "123", "same": "off",
                      "map": "completeness", "grid": "7,3.75,gaussian", "steps": "40", "path": "spherical",
                      "m": "64", "seed": "12"}
    values, ignored = H.parse(H.EXPLORER, params, OFFER)
    assert ignored == [] and values == state


def test_z_is_written_to_four_decimals_and_read_back_rounded():
    state = state_with(H.EXPLORER, **{S.PINNED_Z: [0.123456789, -2.00004]})
    assert H.encode(H.EXPLORER, state, OFFER)["z"] == "0.1235,-2"
    values, _ = H.parse(H.EXPLORER, {"z": "0.123456789,-2.00004"}, OFFER)
    assert values[S.PINNED_Z] == [0.1235, -2.0]


@pytest.mark.parametrize("text,extent", [("2.1", 2.0), ("2.13", 2.25), ("0.5", 0.5), ("4", 4.0)])
def test_the_grid_range_snaps_to_the_sliders_steps(text, extent):
    values, ignored = H.parse(H.EXPLORER, {"grid": f"10,{text},linear"}, OFFER)
    assert ignored == [] and values[S.GRID_EXTENT] == extent


def test_a_plus_sign_or_spaces_are_read_and_percent_encoded_commas_too():
    # "+" in a query string decodes to a space; st.query_params hands over the decoded text
    values, ignored = H.parse(H.EXPLORER, {"z": " 0.5, 1.2", "steps": " 24 "}, OFFER)
    assert ignored == [] and values[S.PINNED_Z] == [0.5, 1.2] and values[S.INTERP_STEPS] == 24


# --- hostile and bad values ------------------------------------------------------------------------------------

HOSTILE = [
    ("z", "abc"), ("z", "nan,1"), ("z", "NaN,NaN"), ("z", "inf,0"), ("z", "-Infinity,0"), ("z", "1e309,0"),
    ("z", "0.5"), ("z", "1,2,3"), ("z", "100.5,0"), ("z", "1_0,2"), ("z", "0x10,1"), ("z", ""), ("z", ","),
    ("z", "1" * 400 + ",0"),
    ("model", "nope"), ("model", "<script>alert(1)</script>"), ("model", "vae-z2' OR '1'='1"),
    ("model", "../../etc/passwd"), ("model", "session-ae-20260101"), ("model", "VAE-Z2"), ("model", ""),
    ("digit", "-1"), ("digit", "10000"), ("digit", "99999999999999999999999"), ("digit", "1.5"), ("digit", "seven"),
    ("digit", "1e3"), ("digit", "\u0661\u0662"), ("eps", "-3"), ("eps", "x"), ("same", "maybe"),
    ("map", "heat"), ("map", "none; DROP TABLE"), ("grid", "1,2,gaussian"), ("grid", "31,2,gaussian"),
    ("grid", "15,5,gaussian"), ("grid", "15,0.25,gaussian"), ("grid", "15,2,cubic"), ("grid", "15,2"),
    ("grid", "15,nan,linear"), ("a", "10000"), ("b", "-5"), ("steps", "1"), ("steps", "65"), ("path", "curvy"),
    ("m", "0"), ("m", "101"), ("seed", "-1"), ("seed", str(2**32)), ("seed", "1e3"),
]


@pytest.mark.parametrize("name,text", HOSTILE)
def test_a_bad_value_falls_back_to_its_default_and_the_rest_applies(name, text):
    good = {"steps": "30"} if name != "steps" else {"m": "50"}
    values, ignored = H.parse(H.EXPLORER, {name: text, **good}, OFFER)
    assert ignored == [name]
    defaults, _ = H.parse(H.EXPLORER, good, OFFER)
    assert values == defaults, "the bad parameter's keys hold their defaults, the good one applies"
    assert values[S.INTERP_STEPS] == 30 or values[S.SAMPLES_M] == 50
    for k in keys_of(H.EXPLORER):
        v = values[k]
        assert not (isinstance(v, float) and not math.isfinite(v))


def test_repeated_and_overlong_parameters_are_ignored_and_named_once():
    query = {"z": ["1,2", "3,4"], "a": ["5", "5"], "digit": "7" * (H.MAX_CHARS + 1), "b": "8"}
    values, ignored = H.parse(H.EXPLORER, query, OFFER)
    assert ignored == ["z", "digit", "a"]
    assert values[S.PINNED_Z] == [0.0, 0.0] and values[S.INTERP_START] == 3 and values[S.SELECTED] is None
    assert values[S.INTERP_END] == 8
    note = H.notice(H.EXPLORER, ignored)
    assert all(note.count(f"**{n}**") == 1 for n in ignored)


def test_the_notice_names_parameters_but_never_repeats_a_value_from_the_link():
    evil = "<img src=x onerror=alert(1)>"
    _, ignored = H.parse(H.EXPLORER, {"model": evil, "map": "**bold**", "z": "[link](http://x)"}, OFFER)
    note = H.notice(H.EXPLORER, ignored)
    assert ignored == ["model", "z", "map"]
    assert "onerror" not in note and "http://x" not in note and "**bold**" not in note
    assert note.startswith("Part of this link could not be used")


def test_unknown_parameters_are_ignored_without_a_notice():
    values, ignored = H.parse(H.EXPLORER, {"foo": "bar", "Model": "x", "utm_source": "mail", "embed": "true"}, OFFER)
    assert ignored == [] and H.encode(H.EXPLORER, values, OFFER) == {}


def test_the_model_is_checked_against_the_list_the_page_offers():
    offer = H.Offer(models=("ae-z2", "vae-z2", "session-vae-ab12"), default_model="vae-z2")
    values, ignored = H.parse(H.EXPLORER, {"model": "session-vae-ab12"}, offer)
    assert ignored == [] and values[S.FAMILY_MODEL] == "session-vae-ab12"
    values, ignored = H.parse(H.EXPLORER, {"model": "vae-z2-beta4"}, offer)  # shipped, but not offered here
    assert ignored == ["model"] and values[S.FAMILY_MODEL] == "vae-z2"


def test_z_is_checked_against_the_pages_limit():
    values, ignored = H.parse(H.EXPLORER, {"z": "5,1"}, H.Offer(models=FAMILY, z_limit=4.0))
    assert ignored == ["z"] and values[S.PINNED_Z] == [0.0, 0.0]


# --- the disentanglement page ---------------------------------------------------------------------------------------

def test_a_disentanglement_link_round_trips():
    params = {"model": "vae-z20", "digit": "7", "center": "prior", "dim": "15", "cols": "15", "rows": "all",
              "k": "3", "compare": "vae-z10-beta1,vae-z20", "compare_rows": "10"}
    values, ignored = H.parse(H.DISENTANGLEMENT, params, DIS_OFFER)
    assert ignored == []
    assert values[S.DIS_MODEL] == "vae-z20" and values[S.DIS_DIM] == 15
    assert values[S.DIS_COMPARE] == ["vae-z10-beta1", "vae-z20"]
    assert H.encode(H.DISENTANGLEMENT, values, DIS_OFFER) == params
    again, _ = H.parse(H.DISENTANGLEMENT, H.encode(H.DISENTANGLEMENT, values, DIS_OFFER), DIS_OFFER)
    assert again == values


def test_the_dimension_is_checked_against_the_links_model():
    _, ignored = H.parse(H.DISENTANGLEMENT, {"model": "vae-z10-beta8", "dim": "15"}, DIS_OFFER)
    assert ignored == ["dim"], "vae-z10-beta8 has 10 dimensions"
    values, ignored = H.parse(H.DISENTANGLEMENT, {"model": "nope", "dim": "9"}, DIS_OFFER)
    assert ignored == ["model"] and values[S.DIS_MODEL] is None and values[S.DIS_DIM] == 9, \
        "checked against the default model (10-D)"


@pytest.mark.parametrize("name,text", [("cols", "8"), ("cols", "17"), ("cols", "5"), ("rows", "some"),
                                       ("center", "middle"), ("k", "0"), ("k", "11"), ("compare", "a,b"),
                                       ("compare", "vae-z20,vae-z20"), ("compare_rows", "11"),
                                       ("compare", "vae-z10-beta1,vae-z10-beta4,vae-z10-beta8,vae-z20")])
def test_bad_disentanglement_values_fall_back(name, text):
    values, ignored = H.parse(H.DISENTANGLEMENT, {name: text, "digit": "5"}, DIS_OFFER)
    assert ignored == [name] and values[S.DIS_INDEX] == 5
    assert all(values[k] == S.DEFAULTS[k] for p in H.DISENTANGLEMENT_PARAMS if p.name == name for k in p.keys)


def test_an_empty_comparison_is_a_choice_and_the_default_one_is_left_out():
    values, ignored = H.parse(H.DISENTANGLEMENT, {"compare": ""}, DIS_OFFER)
    assert ignored == [] and values[S.DIS_COMPARE] == []
    assert H.encode(H.DISENTANGLEMENT, values, DIS_OFFER) == {"compare": ""}
    state = state_with(H.DISENTANGLEMENT, **{S.DIS_COMPARE: list(DIS_OFFER.default_compare)})
    assert H.encode(H.DISENTANGLEMENT, state, DIS_OFFER) == {}


def test_what_the_page_chose_itself_stays_out_of_the_link():
    offer = H.Offer(**{**DIS_OFFER.__dict__, "top_dims": {"vae-z10-beta4": 6}, "n_active": {"vae-z10-beta4": 5}})
    state = state_with(H.DISENTANGLEMENT, **{S.DIS_MODEL: "vae-z10-beta4", S.DIS_DIM: 6, S.DIS_TOP_K: 5})
    assert H.encode(H.DISENTANGLEMENT, state, offer) == {}, "the top dimension and k = all 5 active units"
    state[S.DIS_DIM], state[S.DIS_TOP_K] = 2, 4
    assert H.encode(H.DISENTANGLEMENT, state, offer) == {"dim": "2", "k": "4"}


# --- links ---------------------------------------------------------------------------------------------------------

def test_link_keeps_commas_readable_and_escapes_the_rest():
    assert H.link("http://127.0.0.1:8501/explorer", {}) == "http://127.0.0.1:8501/explorer"
    assert (H.link("http://h/explorer", {"model": "vae-z2-beta4", "z": "0.5,-1.2"})
            == "http://h/explorer?model=vae-z2-beta4&z=0.5,-1.2")
    assert H.link("/x", {"compare": "", "a": "b&c=d"}) == "/x?compare=&a=b%26c%3Dd"


def test_writing_replaces_our_parameters_and_keeps_everyone_elses():
    current = {"foo": ["x"], "z": ["1,2", "3,4"], "cols": ["9"], "projector": ["1"], "model": ["nope"]}
    assert H.url_params(current, {"model": "ae-z2", "grid": "20,2,linear"}) == {
        "model": ["ae-z2"], "grid": ["20,2,linear"], "foo": ["x"], "projector": ["1"]}, \
        "z (a default now) and cols (the other page's) go; unknown parameters stay"
    assert H.url_params({}, {}) == {}
    assert H.link("/explorer", H.url_params({"t": ["a", "b"]}, {"z": "1,2"})) == "/explorer?z=1,2&t=a&t=b"


def test_the_bounds_match_the_widgets():
    """share.py restates a few widget bounds (it cannot import the panels that import it)."""
    import inspect

    from ui import disentangle, maps, panels
    assert tuple(maps.MAPS) == H.MAP_KINDS
    assert tuple(disentangle.CENTERS) == H.CENTERS and tuple(disentangle.ROW_CHOICES) == H.ROW_CHOICES
    source = inspect.getsource(panels.samples_panel)
    assert f'slider("Samples M", 1, {H.SAMPLES_MAX},' in source
    lo, hi, step = H.GRID_EXTENT
    assert f"{lo}, {hi}, step={step}, key=S.GRID_EXTENT" in inspect.getsource(panels.grid_panel)
    assert '7, 15, step=2, key=S.DIS_COLUMNS' in inspect.getsource(disentangle.traversal_controls)


# --- AppTest: the pages opened with a link ---------------------------------------------------------------------

def _subheaders(app: AppTest) -> list[str]:
    return [s.value for s in app.subheader]


def _open(page: str, params: dict) -> AppTest:
    app = AppTest.from_file(page, default_timeout=180)
    app.query_params.update(params)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.mark.slow
def test_explorer_opened_with_a_link_shows_that_view_and_the_link():
    app = _open(EXPLORER, {"model": "vae-z2-beta4", "z": "0.5,-1.2", "grid": "20,2.5,linear", "digit": "7"})
    assert not app.warning
    assert "Pinned z = (0.500, -1.200)" in _subheaders(app)
    assert "Selected test digit #7" in _subheaders(app)
    assert app.select_slider(key=S.FAMILY_MODEL).value == "vae-z2-beta4"
    assert any(m.value.startswith("**VAE (vae-z2-beta4)**") for m in app.markdown)  # z is in the heading above
    assert app.slider(key=S.GRID_N).value == 20 and app.slider(key=S.GRID_EXTENT).value == 2.5
    assert any("over z in \u00b12.5" in img.caption for el in app.get("image") for img in el.proto.imgs)
    assert app.query_params == {"model": "vae-z2-beta4", "z": "0.5,-1.2", "digit": "7", "grid": "20,2.5,linear"}
    box = [d.get("follow") for d in copy_link_data(app)]
    assert box == [{"drop": ["projector"], "add": []}], "the share box shows the page's URL, less projector mode"
    app.slider(key=S.GRID_N).set_value(25).run()  # a widget changes: the URL follows, the rest stays
    assert app.query_params["grid"] == "25,2.5,linear" and app.query_params["z"] == "0.5,-1.2"
    app.number_input(key=S.Z_INPUT[0]).set_value(-3.0).run()
    assert app.query_params["z"] == "-3,-1.2", "the link is not read again: the typed z stays"
    assert "Pinned z = (-3.000, -1.200)" in _subheaders(app)


@pytest.mark.slow
def test_explorer_opened_with_a_hostile_link_warns_once_and_shows_defaults():
    app = _open(EXPLORER, {"model": "<script>alert(1)</script>", "z": "nan,1", "digit": "99999", "a": ["1", "2"],
                           "grid": "12,3,linear", "steps": "1" * 5000, "foo": "bar"})
    assert len(app.warning) == 1
    note = app.warning[0].value
    for name in ("model", "z", "digit", "a", "steps"):
        assert f"**{name}**" in note
    assert "script" not in note and "grid" not in note
    assert "Pinned z = (0.000, 0.000)" in _subheaders(app)
    assert not any(s.startswith("Selected test digit") for s in _subheaders(app))
    assert app.select_slider(key=S.FAMILY_MODEL).value == "vae-z2"
    assert app.slider(key=S.GRID_N).value == 12, "the good part of the link applies"
    assert app.query_params == {"grid": "12,3,linear", "foo": "bar"}, "ours cleaned to what is shown, foo left"
    open_explorer_tab(app, "interpolation")
    app.slider(key=S.INTERP_STEPS).set_value(20).run()
    assert not app.warning, "the notice is shown once"


@pytest.mark.slow
def test_a_link_to_a_model_this_session_does_not_have_falls_back():
    app = _open(EXPLORER, {"model": "session-vae-20260101-abcd", "z": "1,1"})
    assert len(app.warning) == 1 and "**model**" in app.warning[0].value
    assert app.select_slider(key=S.FAMILY_MODEL).value == "vae-z2"
    assert "Pinned z = (1.000, 1.000)" in _subheaders(app)


@pytest.mark.slow
def test_disentanglement_opened_with_a_link():
    names = [n for n in ("vae-z10-beta1", "vae-z10-beta8") if n in available()]
    if len(names) < 2:
        pytest.skip("needs the shipped beta family")
    latent_dim = read_manifest("vae-z10-beta8")["model"]["latent_dim"]
    app = _open(DIS_PAGE, {"model": "vae-z10-beta8", "digit": "7", "dim": str(latent_dim - 1), "cols": "15",
                           "center": "prior", "compare": ",".join(names), "compare_rows": "3"})
    assert not app.warning
    assert app.selectbox(key=S.DIS_MODEL).value == "vae-z10-beta8"
    assert app.selectbox(key=S.DIS_DIM).value == latent_dim - 1
    assert app.number_input(key=S.DIS_INDEX).value == 7 and app.slider(key=S.DIS_COLUMNS).value == 15
    assert app.radio(key=S.DIS_CENTER).value == "prior"
    assert app.multiselect(key=S.DIS_COMPARE).value == names
    assert app.query_params["dim"] == str(latent_dim - 1) and app.query_params["compare"] == ",".join(names)
    assert [d.get("follow") for d in copy_link_data(app)] == [{"drop": ["projector"], "add": []}]

    bad = _open(DIS_PAGE, {"model": "vae-z2", "dim": "99", "cols": "8", "digit": "3"})
    assert len(bad.warning) == 1 and all(f"**{n}**" in bad.warning[0].value for n in ("model", "dim", "cols"))
    assert bad.number_input(key=S.DIS_INDEX).value == 3
    assert bad.query_params == {"digit": "3"}, "a default page writes only what differs"


BOUND_APP = """
import streamlit as st
from ui import share
from ui import state as S
S.init_state()
st.toggle("Projector mode", key="projector", bind="query-params")
share.sync(share.EXPLORER, share.Offer(("ae-z2", "vae-z2"), "vae-z2"))
share.update()
"""


def test_a_parameter_bound_to_a_widget_stays_and_ours_still_follow_the_state():
    """Streamlit refuses to replace the whole query when a widget is bound to a parameter: only ours change."""
    app = AppTest.from_string(BOUND_APP, default_timeout=60)
    app.query_params.update({"projector": "true", "z": "1,2", "steps": "0", "foo": "x"})
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.toggle(key="projector").value is True
    assert app.query_params == {"projector": "true", "z": "1,2", "foo": "x"}, "the bad steps is cleaned away"
    assert len(app.warning) == 1 and "**steps**" in app.warning[0].value
    app.session_state[S.PINNED_Z] = [3.0, -4.5]
    app.run()
    assert not app.exception
    assert app.query_params["z"] == "3,-4.5" and app.query_params["projector"] == "true"
