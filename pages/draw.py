"""Draw a digit (or upload one): preprocessed as MNIST was, encoded by the AE and the VAE, placed on their latent
planes, reconstructed, and read by the judge."""

from __future__ import annotations

import streamlit as st

from ui import canvas, importer, projector, resources, runtime
from ui import draw as D
from ui import state as S
from ui.images import png_bytes
from vae.preprocess import MAX_UPLOAD_BYTES, MAX_UPLOAD_PIXELS, quantize

st.set_page_config(page_title="Draw a digit \u00b7 Latent Explorer", page_icon="\u2728", layout="wide")
runtime.route_through_app()
runtime.configure()
S.init_state()

st.title("Draw a digit")
st.markdown(
    "Draw a digit, or upload a photo of one, and see where each model puts it. First it is made into an MNIST digit "
    "the way MNIST itself was made: the ink's bounding box is scaled so that its longer side is 20 pixels (keeping "
    "the aspect ratio, with grey anti-aliased edges) and placed in a 28\u00d728 field with its **centre of mass** "
    "at the centre. The encoders only ever saw such digits, written by American students and clerks; a drawing far "
    "from that style (hair-thin or very bold strokes, a crossed 7, a 1 with a base, a digit touching a frame) is "
    "off the data they learned, so its code can land between the clusters or among another digit's codes, and the "
    "reconstruction shows what the model made of it."
)

top = st.columns([1.15, 1, 1], gap="large")
with top[0]:
    st.markdown("**Draw** one digit, large: white ink on black, like MNIST")
    drawing = canvas.drawing_canvas()
with top[1]:
    upload = st.file_uploader(
        "**Or upload** a photo or scan of one digit", key=S.DRAW_UPLOAD,
        max_upload_size=MAX_UPLOAD_BYTES // 2**20,
        help="PNG, JPEG, GIF, BMP, WebP or TIFF. Dark ink on light paper is inverted automatically. Up to "
             f"{MAX_UPLOAD_BYTES // 2**20} MB and {MAX_UPLOAD_PIXELS / 1e6:g} megapixels (a JPEG photo may have more: "
             "it is decoded at a reduced scale).")
    choice = canvas.choose(drawing, upload)
    st.caption("The newest input is shown: a new stroke replaces the upload, a new upload replaces the drawing.")
    if choice.message:
        st.warning(choice.message)
    if choice.digit is None and not choice.message:
        st.info("Draw a digit first (or upload an image of one): it appears here as the models see it.")
    elif choice.digit is not None:
        note = " (the last one that worked)" if choice.stale else ""
        st.markdown(f"Shown: **{choice.label}**{note}")

data = resources.mnist()
mine = importer.session_models()  # models trained on the Train live page or imported in this session
use_mine = bool(mine) and st.session_state[S.USE_SESSION_MODELS]
names = (mine.get("ae", D.AE_NAME), mine.get("vae", D.VAE_NAME)) if use_mine else (D.AE_NAME, D.VAE_NAME)
models, judge = D.load_models(names)
if mine:
    st.toggle(f"Use the models you {importer.made_in_session()}", key=S.USE_SESSION_MODELS,
              help="Off: the shipped ae-z2 and vae-z2. Yours stay for this session only.")

with top[2]:
    if choice.digit is not None:
        st.image(png_bytes(choice.digit, projector.digit_factor(8)), output_format="PNG",
                 caption="what the models see: 28\u00d728, box 20 px, centre of mass at (14, 14)")
        if judge is not None:
            st.markdown(f"Your digit: {D.reading_text(judge, quantize(choice.digit))}")
        st.download_button("Preprocessed digit (PNG, 28\u00d728)", png_bytes(choice.digit), file_name="digit-28x28.png",
                           mime="image/png", key="draw_download_digit", on_click="ignore")

if choice.digit is None or data is None or not models:
    st.stop()

st.divider()
cols = st.columns(len(models), gap="large")
for col, ckpt in zip(cols, models):
    with col:
        D.model_panel(ckpt, choice.digit, judge, data)
