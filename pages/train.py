"""Train live: an AE and a VAE trained in the background for this session, their latent spaces forming by epoch."""

from __future__ import annotations

import streamlit as st

from ui import resources, runtime
from ui import state as S
from ui import training as T
from vae import live, registry

BETAS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
SUBSETS = (1000, 2000, 5000, 10000, 20000, 30000, 40000, 50000, 60000)

st.set_page_config(page_title="Train \u00b7 Latent Explorer", page_icon="\u2728", layout="wide")
runtime.route_through_app()
runtime.configure()
S.init_state()

st.title("Train live")
st.markdown(
    "Train a plain **autoencoder** and a **VAE** with a 2-D code, here and now, and watch their latent spaces form. "
    "Both see the same images in the same order; the VAE's loss adds \u03b2\u00b7KL(q(z|x) \u2016 N(0, I)) to the "
    "reconstruction term. The curves show both terms as training goes; after every epoch the codes of 2,000 test "
    "digits are drawn again, so you can scrub back through the epochs. A 2-D VAE on 10,000 images for 10 epochs "
    "takes about 15 seconds on a 2-core CPU. Training runs in the background: you can leave the page and come back."
)

data = resources.mnist()
if data is None:
    st.stop()

job = T.current_job()
running = job is not None and job.running

notice = st.session_state[S.TRAIN_NOTICE]
if notice:
    st.warning(notice)
    st.session_state[S.TRAIN_NOTICE] = None

cols = st.columns([1.3, 1.2, 1.5, 1, 0.8])
cols[0].radio("Models", list(T.KIND_CHOICES), key=S.TRAIN_KINDS, format_func=T.KIND_LABELS.get, disabled=running)
cols[1].select_slider("\u03b2, the VAE's KL weight", BETAS, key=S.TRAIN_BETA, disabled=running,
                      format_func=lambda b: f"{b:g}", help="1 is the ELBO; larger packs codes into N(0, I) harder")
cols[2].select_slider("Training images (the first N of MNIST's 60,000)", SUBSETS, key=S.TRAIN_SUBSET,
                      disabled=running, format_func=lambda n: f"{n:,}")
cols[3].slider("Epochs", 1, 30, key=S.TRAIN_EPOCHS, disabled=running)
cols[4].number_input("Seed", 0, 9999, step=1, key=S.TRAIN_SEED, disabled=running,
                     help="Same seed, same settings: the same model (the saved manifest holds the command)")

try:
    request = T.request_from_state()
except live.LiveError as e:
    st.error(str(e))
    st.stop()

start_cols = st.columns([1, 4])
start_cols[0].button("Start training", type="primary", key="train_start", disabled=running, on_click=T.start,
                     help="Refused while this session's training runs, or when the server is full")
start_cols[1].caption(
    f"{T.recipe_text(request)} About {T.estimate_seconds(request):.0f} s at this server's pace; at most "
    f"{T.pool().max_jobs} trainings run on the server at once.")


@st.fragment(run_every=T.POLL_SECONDS if running else None)
def live_panel() -> None:
    """Progress, curves and the latest snapshots; polls while the training runs, reruns the page when it ends."""
    job = T.current_job()
    if job is None:
        st.info("Pick the settings and press **Start training**.")
        return
    if st.session_state[S.TRAIN_SEEN] == "running" and not job.running:
        st.session_state[S.TRAIN_SEEN] = job.state
        st.rerun(scope="app")  # the settings, the start button and the scrubber follow the new state
    st.session_state[S.TRAIN_SEEN] = job.state
    what = " and ".join(job.request.describe(k) for k in job.request.kinds)
    if job.running:
        left = job.seconds_left()
        st.progress(job.fraction(), text=f"Training {what}: {job.current or 'starting'} \u00b7 "
                                         f"{job.elapsed():.0f} s" + (f", about {left:.0f} s left" if left else ""))
        st.button("Cancel training", key="train_cancel", on_click=job.cancel,
                  help="Stops after the current batch; the curves and snapshots so far stay on the page")
    elif job.state == "done":
        st.success(f"Trained {what} in {job.elapsed():.1f} s. Explore them on the Explorer page (they stay there "
                   "for this session), or save them as checkpoints below.")
        st.page_link("pages/explorer.py", label="Explore your models", icon="\U0001f9ed")
    elif job.state == "cancelled":
        why = f" because {job.cancel_reason}" if job.cancel_reason else ""
        st.info(f"Cancelled{why} after {job.epochs_done()} of {job.request.epochs} epochs ({job.elapsed():.1f} s). "
                "Nothing was saved; press Start training to begin again.")
    else:
        st.error(f"{job.error} Nothing was saved.")
    st.plotly_chart(T.curves_figure(job), key="train_curves", width="stretch", config={"displaylogo": False})
    done = job.epochs_done()
    if done == 0:
        return
    if job.running:
        epoch = done
        st.caption(f"Latest snapshot: epoch {done} of {job.request.epochs}. The scrubber appears when training ends.")
    else:
        if not (isinstance(st.session_state[S.TRAIN_EPOCH], int) and 1 <= st.session_state[S.TRAIN_EPOCH] <= done):
            st.session_state[S.TRAIN_EPOCH] = done
        epoch = done if done == 1 else st.slider("Epoch scrubber: replay how the latent spaces formed", 1, done,
                                                 key=S.TRAIN_EPOCH)
    plots = st.columns(len(job.request.kinds), gap="large")
    for col, kind in zip(plots, job.request.kinds):
        rows = job.copy_history()[kind]
        with col:
            st.plotly_chart(T.snapshot_figure(job, kind, epoch), key=f"train_snapshot_{kind}", width="stretch",
                            config={"displaylogo": False})
            row = rows[epoch - 1]
            text = f"test reconstruction {row['test_recon']:.1f} nats"
            if registry.posterior(kind):
                text += f", KL {row['test_kl']:.2f} nats, \u2212ELBO {row['test_neg_elbo']:.1f}"
            st.caption(f"Epoch {epoch}: {text}.")


live_panel()

job = T.current_job()
if job is not None and job.state == "done":
    st.subheader("Keep a model")
    st.caption("Your models stay on this server for this session only; save one to make it a checkpoint in "
               "checkpoints/ that every session can load, with a manifest holding the exact training command.")
    T.save_section(job)
