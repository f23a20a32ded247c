"""Every shipped link parameter (ui/share.py's tables) at its bounds, just beyond them and garbled, on the page that
reads it: no panel may raise an uncaught exception from any URL. A value at a bound is applied (no notice names it);
one beyond is ignored with the notice."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ui import disentangle as D
from ui import share as H
from vae import latent
from vae.checkpoint import CHECKPOINT_DIR, available

pytestmark = pytest.mark.slow
ROOT = CHECKPOINT_DIR.parent
PAGE_FILES = {H.EXPLORER: str(ROOT / "pages" / "explorer.py"),
              H.DISENTANGLEMENT: str(ROOT / "pages" / "disentanglement.py")}
OTHER_PAGES = [str(ROOT / "app.py")] + sorted(str(p) for p in (ROOT / "pages").glob("*.py")
                                         if str(p) not in PAGE_FILES.values())
EXPLORER_FAMILY = ("ae-z2", "vae-z2-beta0.1", "vae-z2-beta0.5", "vae-z2", "vae-z2-beta2", "vae-z2-beta4")  # the page's
N_DIGITS = 10_000
GARBLE = ("", "nan", "-inf", "1e999", "<script>alert(1)</script>", "\uff11", "1,2,3,4", "9" * 250, ",,,", " ")


def _family() -> list[str]:
    shipped = set(available())
    return [n for n in EXPLORER_FAMILY if n in shipped]


def _vaes() -> list[D.VaeInfo]:
    return D.vae_checkpoints()[0]


def _bounds(page: str) -> dict[str, tuple[dict, dict]]:
    """name -> (parameters at the low bound, at the high bound); a parameter read against the model carries it."""
    if page == H.EXPLORER:
        family, (lo_x, hi_x, _) = _family(), H.GRID_EXTENT
        low = {"model": family[0], "z": "-100,-100", "digit": "0", "eps": "0", "same": "off",
               "map": H.MAP_KINDS[0], "grid": f"2,{lo_x},{latent.GRID_SPACINGS[0]}", "a": "0", "b": "0",
               "steps": "2", "path": latent.PATH_KINDS[0], "m": "1", "seed": "0", "tab": tuple(H.EXPLORER_TABS)[0]}
        high = {"model": family[-1], "z": "100,100", "digit": str(N_DIGITS - 1), "eps": str(H.MAX_SEED),
                "same": "on", "map": H.MAP_KINDS[-1], "grid": f"{latent.MAX_GRID},{hi_x},{latent.GRID_SPACINGS[-1]}",
                "a": str(N_DIGITS - 1), "b": str(N_DIGITS - 1), "steps": str(latent.MAX_STEPS),
                "path": latent.PATH_KINDS[-1], "m": str(H.SAMPLES_MAX), "seed": str(H.MAX_SEED),
                "tab": tuple(H.EXPLORER_TABS)[-1]}
        return {name: ({name: low[name]}, {name: high[name]}) for name in low}
    vaes = _vaes()
    first, last = vaes[0], vaes[-1]
    names = [v.name for v in vaes]
    low = {"model": {"model": first.name}, "digit": {"digit": "0"}, "center": {"center": H.CENTERS[0]},
           "dim": {"model": first.name, "dim": "0"}, "cols": {"cols": str(H.DIS_COLUMNS[0])},
           "rows": {"rows": H.ROW_CHOICES[0]}, "k": {"model": first.name, "k": "1"},
           "compare": {"compare": names[0]}, "compare_rows": {"compare_rows": str(H.DIS_COMPARE_ROWS[0])}}
    high = {"model": {"model": last.name}, "digit": {"digit": str(N_DIGITS - 1)}, "center": {"center": H.CENTERS[-1]},
            "dim": {"model": last.name, "dim": str(last.latent_dim - 1)}, "cols": {"cols": str(H.DIS_COLUMNS[-1])},
            "rows": {"rows": H.ROW_CHOICES[-1]}, "k": {"model": last.name, "k": str(last.latent_dim)},
            "compare": {"compare": ",".join(names[-H.MAX_COMPARE:])},
            "compare_rows": {"compare_rows": str(H.DIS_COMPARE_ROWS[1])}}
    return {name: (low[name], high[name]) for name in low}


def _beyond(page: str) -> dict[str, str]:
    """One value per parameter just past a bound (or not offered)."""
    if page == H.EXPLORER:
        lo_x = H.GRID_EXTENT[0]
        return {"model": "vae-z10-beta4", "z": "100.001,0", "digit": str(N_DIGITS), "eps": str(H.MAX_SEED + 1),
                "same": "maybe", "map": "jacobian", "grid": f"{latent.MAX_GRID + 1},{lo_x},linear", "a": "-1",
                "b": str(N_DIGITS), "steps": str(latent.MAX_STEPS + 1), "path": "cubic",
                "m": str(H.SAMPLES_MAX + 1), "seed": "-1", "tab": "maps"}
    last = _vaes()[-1]
    return {"model": "ae-z2", "digit": "-1", "center": "origin", "dim": str(last.latent_dim),
            "cols": str(H.DIS_COLUMNS[-1] + 2), "rows": "some", "k": "0",
            "compare": ",".join([last.name] * 2), "compare_rows": str(H.DIS_COMPARE_ROWS[1] + 1)}


def _open(path: str, params: dict) -> AppTest:
    app = AppTest.from_file(path, default_timeout=300)
    app.query_params.update(params)
    app.run()
    assert not app.exception, (params, [e.value for e in app.exception])
    return app


def _named(app: AppTest) -> str:
    return " ".join(w.value for w in app.warning)


@pytest.fixture(scope="module", autouse=True)
def _needs_the_shipped_models():
    if len(_family()) < 2 or len(_vaes()) < 2:
        pytest.skip("needs the shipped checkpoints")


@pytest.mark.parametrize("page", [H.EXPLORER, H.DISENTANGLEMENT])
def test_the_tables_here_cover_every_parameter_of_the_page(page):
    names = [p.name for p in H.PAGES[page]]
    assert sorted(_bounds(page)) == sorted(names) and sorted(_beyond(page)) == sorted(names)


@pytest.mark.parametrize("page", [H.EXPLORER, H.DISENTANGLEMENT])
def test_each_parameter_at_each_bound_is_applied_without_an_exception(page):
    for name, ends in _bounds(page).items():
        for params in ends:
            app = _open(PAGE_FILES[page], params)
            assert f"**{name}**" not in _named(app), f"{params} is within the bounds, yet ignored"


@pytest.mark.parametrize("page", [H.EXPLORER, H.DISENTANGLEMENT])
def test_all_parameters_at_once_low_high_and_beyond(page):
    for end in (0, 1):
        params = {}
        for ends in _bounds(page).values():
            params.update(ends[end])
        note = _named(_open(PAGE_FILES[page], params))  # a z far from the codes is warned about, not ignored
        assert not [name for name in params if f"**{name}**" in note], (params, note)
    beyond = _beyond(page)
    note = _named(_open(PAGE_FILES[page], beyond))
    assert all(f"**{name}**" in note for name in beyond), note
    for name, value in beyond.items():
        assert f"**{name}**" in _named(_open(PAGE_FILES[page], {name: value})), (name, value)


@pytest.mark.parametrize("page", [H.EXPLORER, H.DISENTANGLEMENT])
def test_garbled_values_and_repeated_parameters(page):
    names = [p.name for p in H.PAGES[page]]
    for garble in GARBLE:
        _open(PAGE_FILES[page], {name: garble for name in names} | {"projector": garble})
    _open(PAGE_FILES[page], {name: ["1", "2"] for name in names})


def test_the_pages_without_link_parameters_ignore_any_link():
    params = {p.name: "<b>1e999</b>" for page in H.PAGES.values() for p in page} | {"projector": "1"}
    for path in OTHER_PAGES:
        _open(path, params)


def test_spherical_path_on_every_model_of_the_explorer_says_when_it_falls_back():
    for model in _family():  # the default ends #3 and #2: the AE's codes are nearly opposite
        _open(PAGE_FILES[H.EXPLORER], {"model": model, "path": "spherical", "tab": "interpolation"})
    app = _open(PAGE_FILES[H.EXPLORER], {"path": "spherical", "a": "7", "b": "7", "tab": "interpolation"})
    notes = [c.value for c in app.caption if c.value.startswith("Path: ")]
    assert notes == [f"Path: {latent.PATH_METHODS['linear-parallel']}."] * 2, "one note under each model's strip"
