"""Share-link parameters added for the lesson: the explorer's open tab, the lesson's step, projector mode in links."""

from __future__ import annotations

from ui import share
from ui import state as S

OFFER = share.Offer(models=("ae-z2", "vae-z2"), default_model="vae-z2")


def test_the_open_tab_round_trips_through_the_link():
    values, ignored = share.parse(share.EXPLORER, {"tab": "interpolation"}, OFFER)
    assert values[S.EXPLORER_TAB] == "Interpolation" and ignored == []
    assert share.encode(share.EXPLORER, values, OFFER) == {"tab": "interpolation"}
    # the first tab is the default: a bare URL
    values, _ = share.parse(share.EXPLORER, {}, OFFER)
    assert values[S.EXPLORER_TAB] == "Manifold grid" and "tab" not in share.encode(share.EXPLORER, values, OFFER)
    values, ignored = share.parse(share.EXPLORER, {"tab": "Interpolation"}, OFFER)  # a label is not a link value
    assert ignored == ["tab"] and values[S.EXPLORER_TAB] == "Manifold grid"
    assert list(share.EXPLORER_TABS.values()) == ["Manifold grid", "Interpolation", "Prior samples"]


def test_lesson_step_is_a_link_parameter_checked_against_the_number_of_steps():
    offer = share.Offer(models=(), n_steps=10)
    values, ignored = share.parse(share.LESSON, {"step": "7"}, offer)
    assert values[S.LESSON_STEP] == 7 and not ignored
    assert share.encode(share.LESSON, values, offer) == {"step": "7"}
    for bad in ("0", "11", "x", "2.5", "-1"):
        values, ignored = share.parse(share.LESSON, {"step": bad}, offer)
        assert ignored == ["step"] and values[S.LESSON_STEP] == 1
    # the lesson's URL drops the explorer's parameters
    assert share.url_params({"z": ["1,2"], "tab": ["samples"], "utm": ["x"]}, {"step": "3"}) == {
        "step": ["3"], "utm": ["x"]}


def test_projector_mode_stays_out_of_a_shared_link_unless_ticked():
    assert share.box_follow(projector_on=True, include_projector=False) == {"drop": ["projector"], "add": []}
    assert share.box_follow(projector_on=False, include_projector=True) == {"drop": ["projector"], "add": []}
    assert share.box_follow(projector_on=True, include_projector=True) == {
        "drop": ["projector"], "add": [("projector", "1")]}
