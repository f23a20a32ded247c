"""Import a model: the VAE a student trained in the course notebook, uploaded as a state_dict and explored here."""

from __future__ import annotations

import streamlit as st

from ui import importer, resources, runtime
from ui import state as S

st.set_page_config(page_title="Import a model \u00b7 Latent Explorer", page_icon="\u2728", layout="wide")
runtime.route_through_app()
runtime.configure()
S.init_state()

st.title("Import a model")
st.markdown(
    "Bring the VAE you trained in the course notebook: the model with layers **fc1**, **fc21** (\u03bc), **fc22** "
    "(log \u03c3\u00b2), **fc3** and **fc4** and a sigmoid output, as in PyTorch's example, with any hidden and "
    "latent size. Save its weights in the notebook with"
)
st.code("torch.save(model.state_dict(), 'vae.pt')", language="python")
st.markdown(
    "and upload `vae.pt` here. The file is read as tensors only (nothing in it runs), recognised by its layer names "
    "and shapes, copied into the app's own VAE, which computes the same functions, and scored on the 10,000 test "
    "digits with the same loss as the notebook's. It stays on this server for this session; save it to make it a "
    "checkpoint every session can load."
)

if resources.mnist() is None:
    st.stop()

upload = st.file_uploader(
    "The state_dict file (.pt or .pth)", key=S.IMPORT_UPLOAD, max_upload_size=importer.UPLOAD_LIMIT_MB,
    help=f"Up to {importer.UPLOAD_LIMIT_MB} MB: a 784-400-20 VAE's state_dict is about 2.6 MB. A whole model saved "
         "with torch.save(model) is refused: it could run code when loaded.")
importer.handle_upload(upload)
importer.result_message()

entries = importer.imports()
if not entries:
    st.info("No model imported in this session yet. On the command line: `python -m vae.import_model vae.pt "
            "--name my-vae` writes it straight into checkpoints/.")
    st.stop()

for entry in reversed(entries):
    st.subheader(entry.label)
    st.caption(importer.metrics_text(entry))
    importer.where_to_look(entry)
    importer.save_section(entry)
    st.divider()
