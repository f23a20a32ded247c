"""The Train page's parts: the server's training pool, this session's job, live curves and latent snapshots.

The pool lives once per server process (vae.live.shared_pool, a module-level object: not st.cache_resource, which
any client can empty with Streamlit's clear_cache and so get a fresh pool with every slot free). The pool knows which
session started each training and asks the Streamlit runtime whether that session is still there: a closed tab's
training is cancelled after $LATENT_EXPLORER_SESSION_GRACE seconds (default 20) and frees its slot. A session keeps
its own job in st.session_state, so a page that reruns, or a student who visits another page and comes back, finds
the training where it is.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui import projector, resources
from ui import state as S
from ui.plots import latent_scatter
from vae import live, registry
from vae.checkpoint import CheckpointError

LABELS = {kind: registry.label(kind) for kind in live.KINDS}  # {"ae": "AE", "vae": "VAE"}
# The Models radio's options, from the registry's explorable kinds: all of them side by side, then each alone (the
# last first: "VAE only" before "AE only").
KIND_CHOICES = {"both": live.KINDS, **{kind: (kind,) for kind in reversed(live.KINDS)}}
KIND_LABELS = {"both": " and ".join(LABELS.values()) + ", side by side",
               **{kind: f"{LABELS[kind]} only" for kind in live.KINDS}}
PALETTE = ("#CC6677", "#332288", "#117733", "#DDCC77")  # the explorer's AE and VAE colours; a new kind takes the next
COLORS = dict(zip(live.KINDS, PALETTE))
POLL_SECONDS = 0.7  # how often a running training's panel refreshes


def _server_runtime() -> Runtime | None:
    """The Streamlit server's runtime; None in scripts and in AppTest (which stands a mock in for it, and gives every
    simulated session the same id)."""
    if not Runtime.exists():
        return None
    runtime = Runtime.instance()
    return runtime if type(runtime) is Runtime else None


def session_alive(session_id: str) -> bool:
    """Whether the session `session_id` is connected to this server (Streamlit 1.67: Runtime.is_active_session,
    thread-safe). A session whose tab closed, or whose connection dropped, is not; one that reconnects is again.
    Without a server runtime every session counts as present."""
    runtime = _server_runtime()
    return True if runtime is None else bool(runtime.is_active_session(session_id))


def pool() -> live.TrainingPool:
    """The server's one training pool (at most $LATENT_EXPLORER_MAX_TRAININGS trainings at once, default 2)."""
    return live.shared_pool(device=resources.device(), is_alive=session_alive)


def session_id() -> str | None:
    """This session's id on a real server (the owner of its trainings), else None."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None and _server_runtime() is not None else None


def current_job() -> live.LiveJob | None:
    return st.session_state.get(S.TRAIN_JOB)


def session_models() -> dict[str, str]:
    """kind -> "session-..." checkpoint name of the models this session trained and finished (may be empty)."""
    job = current_job()
    return dict(job.models) if job is not None and job.state == "done" else {}


def session_label(name: str) -> str:
    """How a session model is named in pickers: "your VAE (beta 1, 10,000 images, 10 epochs)"."""
    job = current_job()
    if job is not None:
        for kind, n in job.models.items():
            if n == name:
                return f"your {job.request.describe(kind)}"
    return name


def request_from_state() -> live.TrainRequest:
    """The training the page's widgets describe now (raises live.LiveError for values out of range)."""
    state = st.session_state
    return live.TrainRequest(kinds=KIND_CHOICES.get(state[S.TRAIN_KINDS], ()), beta=float(state[S.TRAIN_BETA]),
                             train_subset=int(state[S.TRAIN_SUBSET]), epochs=int(state[S.TRAIN_EPOCHS]),
                             seed=int(state[S.TRAIN_SEED]))


def start() -> None:
    """Start this session's training (the Start button's callback, so it reads the widgets as they are when
    pressed): refuses a second one, and a full server, with a notice; the settings stay as they were."""
    job = current_job()
    if job is not None and job.running:
        st.session_state[S.TRAIN_NOTICE] = ("A training is already running in this session: wait for it or cancel "
                                            "it before starting another.")
        return
    try:
        request = request_from_state()
    except live.LiveError as e:
        st.session_state[S.TRAIN_NOTICE] = str(e)
        return
    data = resources.mnist()
    if data is None:
        return
    try:  # the pool also discards this session's previous unsaved models (saved ones stay in checkpoints/)
        st.session_state[S.TRAIN_JOB] = pool().submit(request, data, owner=session_id())
    except (live.PoolBusy, live.LiveError) as e:
        st.session_state[S.TRAIN_NOTICE] = str(e)
        return
    if job is not None:
        live.discard(job)
    st.session_state[S.TRAIN_SEEN] = "running"
    st.session_state[S.TRAIN_EPOCH] = None


def _layers(manifest_model: dict) -> str:
    """784-512-256-2 from a model config (as a dict): the widths of an MLP encoder, image to z."""
    return "\u2013".join(str(w) for w in (784, *manifest_model["hidden"], manifest_model["latent_dim"]))


def recipe_text(request: live.TrainRequest, shipped: str = "vae-z2") -> str:
    """What a training here builds, read from the request's own configs, beside the shipped model's manifest (so
    the text cannot claim an architecture or schedule that is not the one trained)."""
    model, train = request.model_config("vae").to_dict(), request.train_config("vae")
    text = (f"Latent size {model['latent_dim']} (the plane you can see), MLP {_layers(model)}, batches of "
            f"{train.batch_size}, Adam at {train.lr:g} with a {train.lr_schedule} learning rate.")
    loaded = resources.load_model(shipped)
    if loaded.checkpoint is not None:
        m = loaded.checkpoint.manifest
        same = m["model"]["hidden"] == model["hidden"] and m["training"]["lr_schedule"] == train.lr_schedule
        text += (f" The shipped {shipped} is {'the same' if same else 'larger and trained longer'}: MLP "
                 f"{_layers(m['model'])}, a {m['training']['lr_schedule']} schedule, {m['training']['epochs']} "
                 f"epochs on {m['training']['train_subset']:,} images.")
    return text


def estimate_seconds(request: live.TrainRequest) -> float:
    """Rough run time from the pace of this session's last training (else 20,000 images/s for each model)."""
    job = current_job()
    rate = 20000.0
    if job is not None and job.batches_done > 20 and job.elapsed() > 0:
        rate = job.batches_done * 128 / job.elapsed()
    return len(request.kinds) * request.epochs * request.train_subset / rate


def curves_figure(job: live.LiveJob) -> go.Figure:
    """Reconstruction and KL per image (nats) against epochs: training batches as lines, test set as dots."""
    curves, history = job.copy_curves(), job.copy_history()
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=("Reconstruction \u2212log p(x|z), nats per image",
                                        "KL(q(z|x) \u2016 p(z)), nats per image (the VAE's; an AE has none)"))
    for kind, curve in curves.items():
        color, name = COLORS[kind], LABELS[kind]
        rows = history[kind]
        fig.add_trace(go.Scatter(x=curve.x, y=curve.recon, mode="lines", name=f"{name} training batches",
                                 line=dict(color=color, width=2), legendgroup=kind), 1, 1)
        fig.add_trace(go.Scatter(x=[r["epoch"] for r in rows], y=[r["test_recon"] for r in rows],
                                 mode="markers", name=f"{name} test set", legendgroup=kind,
                                 marker=dict(color=color, size=9, symbol="circle-open", line=dict(width=2))), 1, 1)
        if registry.posterior(kind):  # a KL term to draw
            fig.add_trace(go.Scatter(x=curve.x, y=curve.kl, mode="lines", name="VAE KL (training)",
                                     line=dict(color=color, width=2), legendgroup=kind, showlegend=False), 1, 2)
            fig.add_trace(go.Scatter(x=[r["epoch"] for r in rows], y=[r["test_kl"] for r in rows], mode="markers",
                                     name="VAE KL (test)", legendgroup=kind, showlegend=False,
                                     marker=dict(color=color, size=9, symbol="circle-open", line=dict(width=2))),
                          1, 2)
    epochs = job.request.epochs
    fig.update_xaxes(title="epoch", range=[0, epochs + 0.2], gridcolor="#e6e6e6")
    fig.update_yaxes(gridcolor="#e6e6e6", rangemode="tozero")
    recon = [v for c in curves.values() for v in c.recon]
    if recon:  # the first batches (about 540 nats) would squash the rest of the curve
        fig.update_yaxes(range=[0, min(max(recon), 2.2 * float(np.percentile(recon, 10)))], row=1, col=1)
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=40, b=10), plot_bgcolor="white", font=dict(size=13),
                      legend=dict(orientation="h", y=-0.22))
    return projector.figure(fig)


def view_box(snapshots: list[np.ndarray]) -> tuple[list[float], list[float]]:
    """One square view for every epoch of a model (so a replay does not rescale), holding the prior's 3 sigma."""
    lo = np.min([np.percentile(s, 0.5, axis=0) for s in snapshots], axis=0)
    hi = np.max([np.percentile(s, 99.5, axis=0) for s in snapshots], axis=0)
    lo, hi = np.minimum(lo, -3.3), np.maximum(hi, 3.3)
    center, half = (lo + hi) / 2, float((hi - lo).max()) / 2 * 1.05
    return [center[0] - half, center[0] + half], [center[1] - half, center[1] + half]


def snapshot_figure(job: live.LiveJob, kind: str, epoch: int) -> go.Figure:
    snapshots = job.all_snapshots(kind)
    title = f"{LABELS[kind]} after epoch {epoch} of {job.request.epochs}"
    fig = latent_scatter(snapshots[epoch - 1], job.snapshot_labels, title, height=460)
    x_range, y_range = view_box(snapshots)
    fig.update_xaxes(range=x_range)
    fig.update_yaxes(range=y_range)
    fig.update_layout(legend=dict(orientation="h", y=-0.14, title=None), margin=dict(b=60))
    return projector.figure(fig)


def save_section(job: live.LiveJob) -> None:
    """Save a finished session model into checkpoints/ under a name the user picks (only on request)."""
    for kind, session_name in job.models.items():
        key = f"{S.TRAIN_SAVE_NAME}_{kind}"
        if key not in st.session_state:
            beta = f"-beta{job.request.beta:g}" if registry.posterior(kind) else ""
            # the job's id at the end: students who keep the default settings do not all pick one name
            st.session_state[key] = live.free_name(
                f"my-{kind}-z2{beta}-{job.request.train_subset // 1000}k-{job.request.epochs}ep-{job.id[:4]}")
        cols = st.columns([3, 1])
        cols[0].text_input(f"Checkpoint name for your {LABELS[kind]}", key=key, max_chars=63,
                           help="Lower-case letters, digits, '.', '_' and '-'; an existing name is never overwritten")
        cols[1].button(f"Save the {LABELS[kind]} to checkpoints/", key=f"train_save_{kind}", on_click=_save,
                       args=(kind, session_name, key))
        result = st.session_state.pop(f"{key}_result", None)
        if result is not None:
            (st.success if result[0] else st.error)(result[1])


def _save(kind: str, session_name: str, name_key: str) -> None:
    """The save button's callback: the outcome is shown once, under that model's row."""
    try:
        path = live.save_to_checkpoints(session_name, st.session_state[name_key])
    except (live.LiveError, CheckpointError, OSError) as e:
        st.session_state[f"{name_key}_result"] = (False, str(e))
    else:
        st.session_state[f"{name_key}_result"] = (
            True, f"Saved your {LABELS[kind]} as checkpoints/{path.name}: its manifest holds the command that "
                  "retrains it, and every session can now load it by that name.")
