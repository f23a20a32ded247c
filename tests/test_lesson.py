"""The guided lesson (ui/lesson.py, pages/lesson.py): steps as links, bad links, missing models, reveal, keys."""

from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest

from ui import lesson
from vae.checkpoint import CHECKPOINT_DIR

LESSON = str(CHECKPOINT_DIR.parent / "pages" / "lesson.py")


def test_the_story_has_at_least_eight_steps_in_the_course_order():
    slugs = [s.slug for s in lesson.STEPS]
    assert len(slugs) >= 8 and len(set(slugs)) == len(slugs)
    order = ["gaussian", "ae-plane", "holes", "vae", "reparam", "samples", "interpolation", "beta", "higher",
             "amortization"]
    assert [s for s in slugs if s in order] == order
    for s in lesson.STEPS:
        assert s.look.count(". ") <= 2 and len(s.look) < 330, f"{s.slug}: one or two sentences"
        assert s.question is None or s.question.endswith("?")
    assert sum(s.question is not None for s in lesson.STEPS) >= 6


@pytest.mark.parametrize("text, current, expected, noticed", [
    (None, 4, 4, False), ("3", 1, 3, False), ("10", 1, 10, False), ("0", 5, 1, True), ("99", 2, 10, True),
    ("-3", 2, 1, True), ("abc", 6, 6, True), ("2.5", 1, 1, True), ("", 7, 7, True), ("\u0663", 2, 2, True),
    ("1" * 40, 3, 3, True)])
def test_step_from_link_gives_the_nearest_valid_step_and_a_notice(text, current, expected, noticed):
    step, note = lesson.step_from_link(text, 10, current)
    assert step == expected and (note is not None) is noticed
    if note:
        assert str(expected) in note


def test_nearest_available_step():
    assert lesson.nearest_available(5, lambda s: s != 5, 10) == 6
    assert lesson.nearest_available(10, lambda s: s < 8, 10) == 7
    assert lesson.nearest_available(1, lambda s: s in (4, 9), 10) == 4
    assert lesson.nearest_available(3, lambda s: False, 10) is None


def _run(step: str | None = None) -> AppTest:
    at = AppTest.from_file(LESSON, default_timeout=240)
    if step is not None:
        at.query_params["step"] = step
    return at.run()


def _measured(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**Measured:**")]


@pytest.mark.slow
def test_reveal_hides_the_answer_until_pressed_and_next_previous_move():
    at = _run("3")
    assert not at.exception
    assert any(m.value.startswith("#### Step 3 of 10") for m in at.markdown)
    assert _measured(at) == [], "the number that answers the question waits for Reveal"
    assert any("Guess first" in c.value for c in at.caption)
    at.button(key="lesson_reveal").click().run()
    (measured,) = _measured(at)
    assert "as 1s" in measured or "as " in measured and "%" in measured
    assert at.button(key="lesson_reveal").disabled
    at.button(key="lesson_next").click().run()
    assert any(m.value.startswith("#### Step 4 of 10") for m in at.markdown)
    assert at.query_params["step"] == "4"
    at.button(key="lesson_prev").click().run()
    assert any(m.value.startswith("#### Step 3 of 10") for m in at.markdown)
    assert _measured(at), "a step revealed once stays revealed in the session"


@pytest.mark.slow
@pytest.mark.parametrize("text, shown", [("99", 10), ("0", 1), ("banana", 1)])
def test_a_bad_step_link_shows_a_notice_and_the_nearest_step(text, shown):
    at = _run(text)
    assert not at.exception
    assert any(f"Showing step {shown}" in w.value for w in at.warning)
    assert any(m.value.startswith(f"#### Step {shown} of 10") for m in at.markdown)
    # the URL holds the step shown (step 1 is the default: a bare URL)
    assert at.query_params.get("step") == (str(shown) if shown != 1 else None)


@pytest.mark.slow
def test_a_step_whose_model_is_missing_moves_to_the_nearest_step_that_works(tmp_path, monkeypatch):
    for name in os.listdir(CHECKPOINT_DIR):
        if (CHECKPOINT_DIR / name).is_dir() and name != "gaussian-pixels":
            (tmp_path / name).symlink_to(CHECKPOINT_DIR / name)
    monkeypatch.setenv("LATENT_EXPLORER_CHECKPOINTS", str(tmp_path))
    at = _run("1")
    assert not at.exception
    assert any("Step 1 needs gaussian-pixels" in w.value and "Showing step 2" in w.value for w in at.warning)
    assert any(m.value.startswith("#### Step 2 of 10") for m in at.markdown)


@pytest.mark.slow
def test_each_step_sets_its_view_once_and_the_teacher_can_wander():
    at = _run("5")  # the reparametrization step selects test digit 0 and shows its draws
    assert at.session_state["selected_digit"] == 0 and at.session_state["show_eps"] is True
    at.session_state["selected_digit"] = 42  # the teacher clicks elsewhere: the step does not snap back
    at.run()
    assert at.session_state["selected_digit"] == 42
    at.button(key="lesson_next").click().run()  # step 6: the prior-samples view
    assert at.session_state["selected_digit"] is None and at.session_state["explorer_tab"] == "Prior samples"
