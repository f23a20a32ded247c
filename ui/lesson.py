"""The guided lesson: the course's story in steps, for a teacher at a projector.

Each step is a link (`/lesson?step=N`, read and written by ui/share.py like every share link), sets the view once on
entry through the explorer's share parameters (the same state a copied explorer link sets), says in a sentence or
two what to look at, shows the measured number that backs it (read from the manifests, checkpoints/AMORTIZATION.json,
or measured here with the judge: never typed), and, where a guess teaches something, asks first and hides the answer
until Reveal. Keys (ui/lesson_keys.js): PageDown / Right / N next, PageUp / Left / P previous, R or . reveal.

    from ui import lesson
    lesson.page()        # the whole page (pages/lesson.py is a thin wrapper)

The pure parts (tests/test_lesson.py): STEPS, `step_from_link(text, n, current) -> (step, notice)`,
`nearest_available(step, usable) -> step`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import streamlit as st
from streamlit.errors import StreamlitAPIException

from vae import latent
from vae.checkpoint import Checkpoint

from . import amortization, components, panels, projector, resources, share
from . import state as S
from .images import png_bytes, tile

KEYS_COMPONENT = "latent-explorer.lesson_keys"  # declared in pyproject.toml: its JavaScript is a file, fetched once
KEYS_KEY = "lesson_keys"
_keys_mount = components.register(KEYS_COMPONENT, "lesson_keys")
SAMPLE_SEED = 2024  # the seed of the prior draws the lesson's numbers come from (vae.evaluate's too)
JUDGE = "judge"
BETA_FAMILY = {"vae-z2-beta0.1": "\u03b2 0.1", "vae-z2-beta0.5": "\u03b2 0.5", "vae-z2": "\u03b2 1",
               "vae-z2-beta2": "\u03b2 2", "vae-z2-beta4": "\u03b2 4"}
HIGHER_DIMS_PAGE = "pages/higher_dims.py"


@dataclass(frozen=True)
class Step:
    slug: str
    title: str
    look: str  # one or two sentences: what to look at
    needs: tuple[str, ...]  # checkpoints the step cannot do without
    view: Mapping[str, str] = field(default_factory=dict)  # explorer share parameters set on entry
    question: str | None = None  # asked before Reveal; None: nothing to guess
    optional: tuple[str, ...] = ()  # checkpoints used when present


STEPS: tuple[Step, ...] = (
    Step("gaussian", "One Gaussian on the pixels",
         "The simplest generative model of digits: one multivariate Gaussian with the training images' mean and all "
         "784 \u00d7 784 pixel covariances, sampled as x = L z + \u03bc (L the Cholesky factor).",
         ("gaussian-pixels",),
         question="It matches every pixel's mean and every pair of pixels' correlation. Will its samples look like "
                  "digits?"),
    Step("ae-plane", "A plain autoencoder and its plane",
         "Each dot is a test digit's 2-number code from the AE's encoder, coloured by its label. Move the pointer: "
         "the digit beside the plane is decoded from the z under it, in the browser.",
         ("ae-z2",), view={"model": "ae-z2"},
         question="Nothing told the AE where to put its codes. How far from the origin will they spread?"),
    Step("holes", "Its holes",
         "Between and around the AE's clusters lies space no code occupies. Draw z from N(0, I), the usual "
         "'prior', and decode: the AE was never trained there.",
         ("ae-z2", JUDGE), view={"model": "ae-z2", "z": "0,0"},
         question="We decode 2,000 draws z ~ N(0, I) through the AE and let the judge label them. Which digit will "
                  "be rarest?"),
    Step("vae", "The VAE: the ELBO and its KL term",
         "The VAE's encoder gives a Gaussian q(z|x); training maximizes the ELBO = reconstruction \u2212 "
         "KL(q(z|x) \u2016 N(0, I)). The KL term pulls every code into the prior's circles: compare the planes.",
         ("ae-z2", "vae-z2"), view={"model": "vae-z2"},
         question="The VAE pays a KL term for its tidy plane. Will it rebuild the test digits better or worse than "
                  "the AE?"),
    Step("reparam", "The reparametrization trick",
         "Training draws z = \u03bc + \u03c3\u00b7\u03b5 with \u03b5 ~ N(0, I): the noise sits outside, so "
         "gradients reach \u03bc and \u03c3. The red ellipses are this digit's q(z|x) at 1\u03c3 and 2\u03c3 "
         "(zoom in with the wheel).",
         ("vae-z2",), view={"model": "vae-z2", "digit": "0", "eps": "0"},
         question="We decode 8 draws z = \u03bc + \u03c3\u00b7\u03b5 of this digit's q(z|x). Will they look "
                  "alike, or like different digits?"),
    Step("samples", "Prior samples",
         "Generation is decoding z ~ N(0, I). The same 40 draws go through both decoders below, as panels A and B.",
         ("ae-z2", "vae-z2", JUDGE), view={"model": "vae-z2", "tab": "samples"},
         question="Which model drew panel A, and which panel B?"),
    Step("interpolation", "Interpolation and continuity",
         "Encode two test digits, walk the straight line between their codes and decode each step. A smooth "
         "decoder morphs; a jumpy one holds a shape and then switches.",
         ("ae-z2", "vae-z2"), view={"model": "vae-z2", "tab": "interpolation", "a": "3", "b": "2"},
         question="Over 300 random pairs of test digits, whose film strips will jump more: the AE's or the VAE's?"),
    Step("beta", "\u03b2: how hard the KL term pulls",
         "\u03b2-VAE weights the KL term by \u03b2 (\u03b2 = 1 is the VAE). Move the slider: same seed and "
         "architecture, only \u03b2 differs.",
         ("vae-z2",), view={"model": "vae-z2-beta4"}, optional=tuple(BETA_FAMILY),
         question="Raise \u03b2 from 0.1 to 4: will the codes spread out or pack together, and will reconstructions "
                  "get better or worse?"),
    Step("higher", "Higher dimensions",
         "In 2-D an MLP decoder draws some digit almost everywhere, so the AE looks fine. In 20 dimensions the KL "
         "term matters: the same N(0, I) draws go through a 20-D AE and a 20-D VAE, as panels A and B.",
         ("vae-z20", JUDGE), optional=("ae-z20",),
         question="Which 20-D model drew panel A, and which panel B?"),
    Step("amortization", "The amortization gap",
         "The encoder guesses q(z|x) for every image with one network. Fit q to one image alone by gradient steps "
         "on its own ELBO: the green ellipse is that fit, the red one the encoder's; the ELBO difference is the "
         "amortization gap.",
         ("vae-z2",), view={"model": "vae-z2", "digit": "0"},
         question="How many nats will the fit to this one image gain over the encoder's guess: none, a few, or "
                  "dozens?"),
)
N_STEPS = len(STEPS)


# --- pure helpers ------------------------------------------------------------------------------------------------

def step_from_link(text: str | None, n: int, current: int = 1) -> tuple[int, str | None]:
    """A link's `step` text -> (a valid step in 1..n, a one-line notice or None).

    Missing: the current step. Out of range: the nearest end. Garbled (not a whole number): the current step."""
    if text is None:
        return current, None
    t = str(text).strip()
    if t.lstrip("+-").isascii() and t.lstrip("+-").isdigit() and len(t) <= 12:
        value = int(t)
        if 1 <= value <= n:
            return value, None
        nearest = 1 if value < 1 else n
        return nearest, f"There is no step {value}: the lesson has steps 1 to {n}. Showing step {nearest}."
    return current, (f"The link's step={t[:20]!r} is not a step number (1 to {n}). Showing step {current}.")


def nearest_available(step: int, usable: Callable[[int], bool], n: int = N_STEPS) -> int | None:
    """The usable step nearest to `step` (the later one on a tie), or None when no step is usable."""
    for d in range(n):
        for s in (step + d, step - d):
            if 1 <= s <= n and usable(s):
                return s
    return None


# --- measured numbers (cached; each from the shipped checkpoints) -------------------------------------------------

def _manifest(name: str) -> dict | None:
    loaded = resources.load_model(name)
    return loaded.checkpoint.manifest if loaded.checkpoint is not None else None


@st.cache_data(show_spinner="Measuring with the judge", max_entries=32)
def _prior_judged(name: str, stamp: float, judge_stamp: float, n: int = 2000) -> dict:
    """The judge's view of n decoded draws z ~ N(0, I) (seed SAMPLE_SEED): confident share, entropy, histogram."""
    from vae.metrics import MAX_DRAWS, completeness

    model = resources.load_model(name).checkpoint.model
    judge = resources.load_model(JUDGE).checkpoint.model
    z = latent.sample_codes(n, model.config.latent_dim, SAMPLE_SEED, limit=MAX_DRAWS)
    return completeness(model, judge, z)


def prior_judged(name: str) -> dict:
    return _prior_judged(name, resources.stamp(name), resources.stamp(JUDGE))


@st.cache_data(show_spinner="Walking 300 paths", max_entries=16)
def _continuity(name: str, stamp: float) -> dict:
    from vae.metrics import path_continuity

    mu, _ = resources.encoded(name)
    return path_continuity(resources.load_model(name).checkpoint.model, mu, pairs=300, steps=10, seed=0)


def continuity(name: str) -> dict:
    return _continuity(name, resources.stamp(name))


def _code_box(name: str) -> tuple[float, float]:
    """Width and height of the box holding the middle 99% of a model's test codes (z units)."""
    mu, _ = resources.encoded(name)
    lo, hi = np.percentile(mu, [0.5, 99.5], axis=0)
    return float(hi[0] - lo[0]), float(hi[1] - lo[1])


# --- the page ----------------------------------------------------------------------------------------------------

def _usable(step: int) -> bool:
    return all(resources.load_model(n).checkpoint is not None for n in STEPS[step - 1].needs)


def _go(step: int) -> None:
    st.session_state[S.LESSON_STEP] = max(1, min(N_STEPS, step))


def _reveal(step: int) -> None:
    revealed = st.session_state[S.LESSON_REVEALED]
    if step not in revealed:
        revealed.append(step)


def revealed(step: int) -> bool:
    return step in st.session_state[S.LESSON_REVEALED]


def _keys() -> None:
    """Mount the keyboard listener and act on the key it reports in this run."""
    result = _keys_mount(key=KEYS_KEY, data={"enabled": True}, on_action_change=lambda: None)
    action = getattr(result, "action", None)
    step = st.session_state[S.LESSON_STEP]
    if action == "next":
        _go(step + 1)
    elif action == "previous":
        _go(step - 1)
    elif action == "reveal" and STEPS[step - 1].question:
        _reveal(step)


def _apply_view(step: int, offer: share.Offer) -> None:
    """Set the explorer state the step's view names, once on entry (the teacher may then wander)."""
    if st.session_state[S.LESSON_APPLIED] == step:
        return
    values, _ = share.parse(share.EXPLORER, dict(STEPS[step - 1].view), offer)
    st.session_state.update(values)
    st.session_state[S.LESSON_APPLIED] = step


def _explorer_offer() -> share.Offer:
    family = tuple(n for n in ("ae-z2", *BETA_FAMILY) if resources.load_model(n).checkpoint is not None)
    data = resources.mnist()
    return share.Offer(family or ("vae-z2",), "vae-z2", n_digits=0 if data is None else len(data.y_test))


def page() -> None:
    """The lesson page: keys, the step's header, its number, its question and its view."""
    link_text = st.query_params.get("step")
    first = share.LESSON not in st.session_state[S.SHARE_SEEN]
    if first and link_text is not None:  # a link: out of range or garbled -> the nearest valid step, with a notice
        step, note = step_from_link(link_text, N_STEPS, st.session_state[S.LESSON_STEP])
        if note:
            st.warning(note, icon=":material/link_off:")
            st.query_params["step"] = str(step)
    share.sync(share.LESSON, share.Offer(models=(), n_steps=N_STEPS), box_here=False)
    _keys()
    step = st.session_state[S.LESSON_STEP]
    target = nearest_available(step, _usable)
    if target is None:
        st.error("The lesson needs the shipped checkpoints, and none of its steps can load them. Restore "
                 "checkpoints/ (git checkout) or retrain them with `make train-all`.")
        return
    if target != step:
        missing = [n for n in STEPS[step - 1].needs if resources.load_model(n).checkpoint is None]
        st.warning(f"Step {step} needs {', '.join(missing)}, which cannot be loaded here "
                   f"({resources.load_model(missing[0]).error}). Showing step {target}, the nearest one that works.")
        step = target
        _go(step)
    offer = _explorer_offer()
    _apply_view(step, offer)
    s = STEPS[step - 1]
    _header(step, s)
    st.session_state[_NUMBER_SLOT] = st.container(key="lesson_number")  # the measured number: under the question
    CONTENT[s.slug](step, s)
    with st.container(key="lesson_footer"):
        _contents(step, offer)
        share.reserve_box()  # the share box, at the bottom
    share.update()


def _header(step: int, s: Step) -> None:
    """One row: back, the step's title, next, reveal (buttons sized to their labels); then what to look at and the
    question, in one paragraph."""
    with st.container(key="lesson_header"):
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.button("\u25c0 Back", key="lesson_prev", on_click=_go, args=(step - 1,), disabled=step == 1,
                      help="Previous step (PageUp, \u2190 or P)")
            st.markdown(f"#### Step {step} of {N_STEPS} \u00b7 {s.title}", width="stretch")
            st.button("Next \u25b6", key="lesson_next", on_click=_go, args=(step + 1,), disabled=step == N_STEPS,
                      help="Next step (PageDown, \u2192 or N)")
            if s.question:
                st.button("Reveal", key="lesson_reveal", on_click=_reveal, args=(step,), disabled=revealed(step),
                          help="Show the answer (R)", type="primary")
        if s.question and revealed(step):  # the answer comes under the question; the description makes room
            st.markdown(f"**Predict:** {s.question}")
        else:
            st.markdown(s.look + (f" **Predict:** {s.question}" if s.question else ""))


_NUMBER_SLOT = "_lesson_number_slot"  # this run's container for the measured number (a session key: runs are threads)


def _number(text: str) -> None:
    """The measured number that backs the step (or answers its question): under the question, above the view."""
    with st.session_state.get(_NUMBER_SLOT) or st.container():
        st.markdown(f"**Measured:** {text}")


def _hidden(what: str = "the answer") -> None:
    st.caption(f"Guess first: {what} appears on Reveal (R).")


def _contents(step: int, offer: share.Offer) -> None:
    """Every step as a button (the teacher can jump), and the explorer with this step's view."""
    with st.expander("All steps, and this view in the Explorer"):
        cols = st.columns(2)
        for i, s in enumerate(STEPS, start=1):
            cols[(i - 1) // math.ceil(N_STEPS / 2)].button(
                f"{i}. {s.title}", key=f"lesson_goto_{i}", on_click=_go, args=(i,), disabled=i == step,
                width="stretch")
        params = share.encode(share.EXPLORER, st.session_state, offer)
        try:
            st.page_link("pages/explorer.py", label="Explore this view freely (the lesson keeps its step)",
                         query_params=params, icon="\U0001f9ed")
        except StreamlitAPIException:
            pass


# --- step contents -----------------------------------------------------------------------------------------------

def _ckpt(name: str) -> Checkpoint | None:
    return resources.load_model(name).checkpoint


def _mosaic(images: np.ndarray, caption: str, per_row: int = 10, factor: int = 2) -> None:
    st.image(png_bytes(tile(images, per_row), projector.digit_factor(factor)), caption=caption, output_format="PNG")


def _planes(names: Sequence[str]) -> None:
    """Live planes side by side (one per name); clicks pin z and select a digit as on the explorer."""
    from .planes import new_click, plane_for

    ckpts = [c for c in (_ckpt(n) for n in names) if c is not None]
    data = resources.mnist()
    for ckpt in ckpts:
        click = new_click(ckpt)
        if click is not None:
            z = click.get("z")
            try:
                good = latent.check_z(np.asarray(z, np.float64), 2, limit=100.0)[0]
            except (ValueError, TypeError):
                continue
            st.session_state[S.PINNED_Z] = [float(good[0]), float(good[1])]
            idx = click.get("nearest_index")
            if isinstance(idx, int) and 0 <= idx < len(data.y_test):
                st.session_state[S.SELECTED] = idx
    cols = st.columns(len(ckpts), gap="medium")
    for col, ckpt in zip(cols, ckpts):
        with col:
            plane_for(ckpt, data.y_test, "none")


def _gaussian(step: int, s: Step) -> None:
    from vae import gaussian

    m = _manifest("gaussian-pixels")
    t = m["test_metrics"]
    data = resources.mnist()
    c = st.columns([1, 1])
    with c[0]:
        _mosaic(data.x_test[:40] / 255.0, "40 test digits: what the Gaussian was fitted to (60,000 like them)")
    with c[1]:
        if revealed(step):
            _mosaic(np.clip(gaussian.sample(_ckpt("gaussian-pixels").model, 40, 0), 0, 1),
                    "40 samples of the Gaussian, clipped to [0, 1]")
        else:
            _hidden("its samples")
    if revealed(step):
        judge = _manifest(JUDGE)
        acc = f", {judge['test_metrics']['accuracy']:.1%} accurate on test digits" if judge else ""
        _number(f"the judge (a CNN digit classifier{acc}) is confident on **{t['confident']:.1%}** of "
                f"{m['training']['judge_draws']:,} samples; label entropy {t['label_entropy_bits']:.2f} bits. One "
                "bump around the average digit: strokes of several digits at once.")


def _ae_plane(step: int, s: Step) -> None:
    m = _manifest("ae-z2")
    _planes(["ae-z2"])
    if revealed(step):
        w, h = _code_box("ae-z2")
        _number(f"the middle 99% of the AE's test codes fill a box **{w:.0f} \u00d7 {h:.0f}** units (N(0, I) puts "
                f"95% of its mass within {math.sqrt(-2 * math.log(0.05)):.2f} of the origin); test reconstruction "
                f"{m['test_metrics']['recon']:.1f} nats per digit.")


def _holes(step: int, s: Step) -> None:
    ae = prior_judged("ae-z2")
    c = st.columns([3, 2])
    with c[0]:
        _planes(["ae-z2"])
    with c[1]:
        if revealed(step):
            z = latent.sample_codes(40, 2, SAMPLE_SEED)
            _mosaic(latent.decode(_ckpt("ae-z2").model, z), "the AE decodes 40 of the draws z ~ N(0, I)", 8)
        else:
            _hidden("the draws and their labels")
    if revealed(step):
        hist = np.asarray(ae["label_histogram"])
        rare = int(hist.argmin())
        vae = prior_judged("vae-z2")["label_histogram"] if _ckpt("vae-z2") else None
        other = f"; the VAE's draws hold {vae[rare]:.0%} {rare}s" if vae is not None else ""
        _number(f"of 2,000 AE draws the judge labels **{hist[rare]:.1%} as {rare}s**{other}. Labels: "
                + " ".join(f"{d}:{p:.0%}" for d, p in enumerate(hist)) + ".")


def _vae(step: int, s: Step) -> None:
    _planes(["ae-z2", "vae-z2"])
    if revealed(step):
        ae, vae = _manifest("ae-z2")["test_metrics"], _manifest("vae-z2")["test_metrics"]
        worse = vae["recon"] - ae["recon"]
        _number(f"reconstruction (\u2212log p(x|z), nats per test digit): AE {ae['recon']:.2f}, VAE "
                f"{vae['recon']:.2f}: the VAE is **{'worse' if worse > 0 else 'better'} by {abs(worse):.2f}**. It "
                f"also pays KL {vae['kl']:.2f}, so \u2212ELBO = {vae['neg_elbo']:.2f}. What it buys is the plane.")


def _reparam(step: int, s: Step) -> None:
    ckpt = _ckpt("vae-z2")
    index = st.session_state[S.SELECTED]
    if index is None:
        index = 0
        st.session_state[S.SELECTED] = 0
    mu, logvar = resources.encoded("vae-z2")
    c = st.columns([3, 2])
    with c[0]:
        _planes(["vae-z2"])
    with c[1]:
        data = resources.mnist()
        st.image(png_bytes(data.x_test[index] / 255.0, projector.digit_factor(4)), output_format="PNG",
                 caption=f"test digit #{index}, a {data.y_test[index]}")
        if revealed(step):
            draws = latent.posterior_samples(mu[index], logvar[index], 8, st.session_state[S.EPS_SEED])
            _mosaic(latent.decode(ckpt.model, draws), "8 draws z = \u03bc + \u03c3\u00b7\u03b5, decoded", 4)
            st.button("Resample \u03b5", key="lesson_resample", on_click=lambda: st.session_state.update(
                {S.EPS_SEED: st.session_state[S.EPS_SEED] + 1, S.SHOW_EPS: True}))
        else:
            _hidden("the decoded draws")
    if revealed(step):
        sigma = np.exp(0.5 * logvar[index])
        spread = mu.std(0)
        _number(f"this digit's q(z|x) has \u03c3 = **({sigma[0]:.3f}, {sigma[1]:.3f})**, while the test codes "
                f"spread with standard deviation ({spread[0]:.2f}, {spread[1]:.2f}): the draws stay a hair from "
                "\u03bc, so they decode alike.")


def _samples(step: int, s: Step) -> None:
    z = latent.sample_codes(40, 2, SAMPLE_SEED)
    order = ["vae-z2", "ae-z2"]
    c = st.columns(2)
    for col, name, tag in zip(c, order, "AB"):
        with col:
            _mosaic(latent.decode(_ckpt(name).model, z), f"panel {tag}" + (f": {name}" if revealed(step) else ""), 8)
    if revealed(step):
        j = {n: prior_judged(n) for n in order}
        _number(f"panel A is **{order[0]}**, panel B **{order[1]}**. Judge labels of 2,000 draws: entropy "
                + ", ".join(f"{n} {j[n]['label_entropy_bits']:.2f} bits" for n in order)
                + " (3.32 = all ten digits equally often); confident "
                + ", ".join(f"{n} {j[n]['confident']:.0%}" for n in order) + ".")


def _interpolation(step: int, s: Step) -> None:
    data = resources.mnist()
    a, b = st.session_state[S.INTERP_START], st.session_state[S.INTERP_END]
    steps = 12
    for name in ("ae-z2", "vae-z2"):
        mu, _ = resources.encoded(name)
        images = latent.decode(_ckpt(name).model, latent.interpolate(mu[a], mu[b], steps))
        _mosaic(images, f"{name}: from a {data.y_test[a]} (#{a}) to a {data.y_test[b]} (#{b})", steps, 3)
    if revealed(step):
        ae, vae = continuity("ae-z2"), continuity("vae-z2")
        _number(f"largest single step as a share of the path ({1 / 10:.2f} = an even 10-step morph): "
                f"AE **{ae['max_step_share']:.3f}**, VAE **{vae['max_step_share']:.3f}** over 300 random pairs. "
                f"Path length over end-to-end distance: AE {ae['path_ratio']:.2f}, VAE {vae['path_ratio']:.2f}"
                + (": the VAE's paths wander more, since its KL term packs all ten classes near the origin and a "
                   "straight line crosses other digits." if vae["path_ratio"] > ae["path_ratio"] else "."))


def _beta(step: int, s: Step) -> None:
    family = [n for n in BETA_FAMILY if _ckpt(n) is not None]
    if st.session_state[S.FAMILY_MODEL] not in family:
        st.session_state[S.FAMILY_MODEL] = family[-1]
    c = st.columns([3, 2])
    with c[1]:
        st.select_slider("\u03b2 of the plane's model", family, key=S.FAMILY_MODEL, format_func=BETA_FAMILY.get)
        if revealed(step):
            rows = ["| \u03b2 | KL | recon |", "|---|---|---|"]
            for n in family:
                t = _manifest(n)["test_metrics"]
                rows.append(f"| {BETA_FAMILY[n]} | {t['kl']:.2f} | {t['recon']:.2f} |")
            st.markdown("\n".join(rows))
        else:
            _hidden("the table")
    with c[0]:
        _planes([st.session_state[S.FAMILY_MODEL]])
    if revealed(step):
        lo, hi = _manifest(family[0])["test_metrics"], _manifest(family[-1])["test_metrics"]
        _number(f"from {BETA_FAMILY[family[0]]} to {BETA_FAMILY[family[-1]]} the KL falls **{lo['kl']:.2f} \u2192 "
                f"{hi['kl']:.2f}** nats (codes pack together) and reconstruction error rises {lo['recon']:.2f} "
                f"\u2192 {hi['recon']:.2f} nats (nats per test digit).")


def _higher(step: int, s: Step) -> None:
    names = [n for n in ("ae-z20", "vae-z20") if _ckpt(n) is not None]
    order = sorted(names, key=lambda n: n.startswith("ae"))  # the VAE in panel A, the AE (if shipped) in B
    z = latent.sample_codes(40, 20, SAMPLE_SEED)
    c = st.columns(2)
    for col, name, tag in zip(c, order, "AB"):
        with col:
            _mosaic(latent.decode(_ckpt(name).model, z), f"panel {tag}" + (f": {name}" if revealed(step) else ""), 8)
    if len(order) < 2:
        c[1].info("ae-z20 is not shipped here, so only the VAE is shown; train it with `python -m vae.train` "
                  "(see checkpoints/README.md).")
    try:
        st.page_link(HIGHER_DIMS_PAGE, icon="\U0001f9ca",
                     label="Open the Higher dimensions page: samplers, scores and a live slice")
    except (StreamlitAPIException, KeyError):
        pass
    if revealed(step):
        j = {n: prior_judged(n) for n in order}
        _number("panel A is " + " and panel B is ".join(f"**{n}**" for n in order) + ". Of 2,000 draws z ~ N(0, I) "
                "the judge is confident on " + ", ".join(f"{n} **{j[n]['confident']:.0%}**" for n in order) + ".")


def _amortization(step: int, s: Step) -> None:
    ckpt = _ckpt("vae-z2")
    index = st.session_state[S.SELECTED]
    if index is None:
        index = 0
        st.session_state[S.SELECTED] = 0
    c = st.columns([3, 2])
    with c[0]:
        _planes(["vae-z2"])
    with c[1]:
        amortization.fit_panel(ckpt, index, key_prefix="lesson_amort", compact=True)
    if revealed(step):
        rows = amortization.shipped_summary()
        if rows:
            _number(f"over the first {rows[0]['images']} test digits: "
                    + "; ".join(f"{r['model']} gap **{r['gap']['mean']:.2f} \u00b1 {r['gap']['std']:.2f}** nats "
                                f"(median {r['gap']['median']:.2f})" for r in rows)
                    + ": a few nats, small beside the ELBO itself, but paid on every image.")
        else:
            st.info("No checkpoints/AMORTIZATION.json here: run `python -m vae.amortization` for the averages.")


CONTENT: dict[str, Callable[[int, Step], None]] = {
    "gaussian": _gaussian, "ae-plane": _ae_plane, "holes": _holes, "vae": _vae, "reparam": _reparam,
    "samples": _samples, "interpolation": _interpolation, "beta": _beta, "higher": _higher,
    "amortization": _amortization,
}
assert set(CONTENT) == {s.slug for s in STEPS}
