"""The Import a model page's parts: an uploaded state_dict made a session model, where the app offers it, and saving
it to checkpoints/ on request.

An import is converted by `vae.import_model` and written to the checkpoint module's scratch folder under a
"session-import-..." name, like the Train page's models: every page loads it by that name, and it becomes a checkpoint
in checkpoints/ only through the save button. The session keeps a list of its imports (newest last); the newest 2-D
one goes on the explorer's and the draw page's planes, the higher-dimensional ones on the Disentanglement page.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from vae import checkpoint as ckpt_mod
from vae import import_model as imp
from vae import live, registry

from . import disentangle_figures, resources, training
from . import state as S

IMPORT_PREFIX = f"{ckpt_mod.SESSION_PREFIX}import-"
MAX_IMPORTS = 4  # imports a session keeps in the scratch folder; a fifth replaces the oldest
UPLOAD_LIMIT_MB = imp.UPLOAD_LIMIT_BYTES // 2**20


class _Owners:
    """Which server session made which imports (this process), so that an ended session's imports leave the scratch
    folder: a session gone for `keep_seconds` (the Train page's rule: Streamlit keeps a lost connection 2 minutes)
    has its folders removed at the next import of any session."""

    def __init__(self, keep_seconds: float = live.KEEP_UNSAVED_SECONDS):
        self.keep_seconds = keep_seconds
        self._lock = threading.Lock()
        self._names: dict[str, list[str]] = {}  # session id -> scratch names
        self._gone_since: dict[str, float] = {}

    def add(self, session: str | None, name: str) -> None:
        if session is None:  # no server runtime (tests, scripts): the process's exit removes the folder
            return
        with self._lock:
            self._names.setdefault(session, []).append(name)

    def sweep(self, alive, now: float | None = None) -> list[str]:
        """Remove the folders of sessions that `alive(session)` has said are gone for keep_seconds; return them."""
        now = time.monotonic() if now is None else now
        removed = []
        with self._lock:
            for session in list(self._names):
                if alive(session):
                    self._gone_since.pop(session, None)
                    continue
                since = self._gone_since.setdefault(session, now)
                if now - since >= self.keep_seconds:
                    for name in self._names.pop(session):
                        shutil.rmtree(ckpt_mod.scratch_dir() / name, ignore_errors=True)
                        removed.append(name)
                    self._gone_since.pop(session, None)
        return removed


OWNERS = _Owners()


@dataclass(frozen=True)
class SessionImport:
    name: str  # "session-import-..." checkpoint name in the scratch folder
    file: str  # the uploaded file's name
    kind: str  # "vae"
    latent_dim: int
    hidden: tuple[int, ...]
    test_metrics: dict

    @property
    def label(self) -> str:
        """"your imported VAE 784-400-20 (vae.pt)": how pickers and captions name it."""
        return f"your imported {registry.label(self.kind)} {self.architecture} ({self.file})"

    @property
    def architecture(self) -> str:
        return "784-" + "-".join(str(h) for h in self.hidden) + f"-{self.latent_dim}"


def imports() -> list[SessionImport]:
    """This session's imports whose scratch folders still exist, oldest first."""
    kept = [i for i in st.session_state[S.IMPORTS] if (ckpt_mod.scratch_dir() / i.name).is_dir()]
    st.session_state[S.IMPORTS] = kept
    return list(kept)


def newest_2d() -> SessionImport | None:
    return next((i for i in reversed(imports()) if i.latent_dim == 2), None)


def newest_with_latent_dim(latent_dim: int) -> SessionImport | None:
    """The newest import whose z has `latent_dim` dimensions (the higher-dimensions page takes a 20-D one)."""
    return next((i for i in reversed(imports()) if i.latent_dim == latent_dim), None)


def higher_dim() -> list[SessionImport]:
    """Imports with more than 2 latent dimensions (the Disentanglement page's), newest first."""
    return [i for i in reversed(imports()) if i.latent_dim > 2]


def session_models() -> dict[str, str]:
    """kind -> "session-..." name of the 2-D models this session made: trained on the Train page, and the newest
    2-D import in the VAE's place (the explorer and the draw page show these beside or instead of the shipped ones)."""
    models = training.session_models()
    newest = newest_2d()
    if newest is not None:
        models[newest.kind] = newest.name
    return models


def made_in_session() -> str:
    """How the session-model toggles say where the models came from."""
    imported, trained = newest_2d() is not None, bool(training.session_models())
    if imported and trained:
        return "trained or imported in this session"
    return "imported on the Import a model page" if imported else "trained on the Train live page"


@dataclass(frozen=True)
class ImportedVaeInfo(disentangle_figures.VaeInfo):
    """An import as the Disentanglement page's picker lists it, named by its file rather than its scratch name."""

    shown: str = ""

    @property
    def label(self) -> str:
        return f"{self.shown}  \u00b7  {self.latent_dim}-D"


def disentanglement_infos() -> list[disentangle_figures.VaeInfo]:
    """This session's imports with more than 2 latent dimensions, for the Disentanglement page (beta 1: the
    notebook's loss), newest first."""
    return [ImportedVaeInfo(i.name, i.latent_dim, 1.0, i.label) for i in higher_dim()]


def session_label(name: str) -> str:
    """How a session model is named: an import by its file, a trained model as the Train page names it."""
    found = next((i for i in imports() if i.name == name), None)
    return found.label if found is not None else training.session_label(name)


def handle_upload(upload) -> None:
    """Import a new upload once (a rerun with the same file does nothing): the result or the refusal goes to
    S.IMPORT_RESULT as (ok, message) and is shown by `result_message`."""
    if upload is None:
        return
    file_id = getattr(upload, "file_id", None) or f"{upload.name}:{upload.size}"
    if st.session_state[S.IMPORT_SEEN] == file_id:
        return
    st.session_state[S.IMPORT_SEEN] = file_id
    data = resources.mnist()
    if data is None:
        return
    OWNERS.sweep(training.session_alive)
    try:
        if upload.size > imp.UPLOAD_LIMIT_BYTES:  # before reading the bytes into memory
            raise imp.ImportRefused(f"{upload.name} is {upload.size / 2**20:.1f} MB, over the {UPLOAD_LIMIT_MB} MB "
                                    "limit; a 784-400-20 VAE's state_dict is about 2.6 MB: save only the state_dict.")
        with st.spinner(f"Reading {upload.name} and scoring it on the 10,000 test digits"):
            imported = imp.import_file(upload.getvalue(), data, what=upload.name, max_bytes=imp.UPLOAD_LIMIT_BYTES)
            name = f"{IMPORT_PREFIX}{uuid.uuid4().hex[:10]}"
            imp.write_checkpoint(imported, ckpt_mod.scratch_dir() / name, imp.command_for(upload.name, "NAME"))
    except imp.ImportRefused as e:
        st.session_state[S.IMPORT_RESULT] = (False, f"{e} Nothing was loaded.")
        return
    except OSError as e:
        st.session_state[S.IMPORT_RESULT] = (False, f"The import could not be written ({e}); try again.")
        return
    OWNERS.add(training.session_id(), name)
    cfg = imported.config
    entry = SessionImport(name, upload.name, cfg.kind, cfg.latent_dim, tuple(cfg.hidden), imported.test_metrics)
    kept = [*imports(), entry]
    for old in kept[:-MAX_IMPORTS]:
        shutil.rmtree(ckpt_mod.scratch_dir() / old.name, ignore_errors=True)
    st.session_state[S.IMPORTS] = kept[-MAX_IMPORTS:]
    st.session_state[S.USE_SESSION_MODELS] = True
    if entry.latent_dim > 2:  # the Disentanglement page opens on it
        st.session_state[S.DIS_MODEL] = entry.name
        st.session_state[S.DIS_DIM] = None
    st.session_state[S.IMPORT_RESULT] = (True, f"Imported {entry.label}.")


def result_message() -> None:
    result = st.session_state[S.IMPORT_RESULT]
    if result is not None:
        (st.success if result[0] else st.error)(result[1])


def metrics_text(entry: SessionImport) -> str:
    m = entry.test_metrics
    if "neg_elbo" not in m:
        return f"test reconstruction {m['recon']:.2f} nats per image"
    return (f"on the 10,000 test digits: reconstruction {m['recon']:.2f} nats, KL {m['kl']:.2f} nats, "
            f"\u2212ELBO {m['neg_elbo']:.2f} nats per image (the notebook's test loss, with one draw of z per digit)")


def where_to_look(entry: SessionImport) -> None:
    """Links to the pages that show this model: the planes for a 2-D one, the Disentanglement page otherwise."""
    if entry.latent_dim == 2:
        st.markdown("A 2-D model gets the live planes: the **Explorer** puts it on the right beside the plain AE, "
                    "and **Draw a digit** encodes your drawing with it (a toggle on each page switches back to the "
                    "shipped models).")
        st.page_link("pages/explorer.py", label="Explore it", icon="\U0001f9ed")
        st.page_link("pages/draw.py", label="Draw a digit for it", icon="\u270f\ufe0f")
        return
    st.markdown(f"A {entry.latent_dim}-D model has no plane to draw: the **Disentanglement** page shows how much "
                "each dimension carries (KL per dimension, active units) and decodes traversals of each one.")
    st.page_link("pages/disentanglement.py", label="Inspect its dimensions", icon="\U0001f9e9")
    if entry.latent_dim == 20:  # the Higher dimensions page puts a 20-D VAE beside its 20-D AE
        st.page_link("pages/higher_dims.py", label="Set it beside a 20-D AE: samplers and a live slice",
                     icon="\U0001f52d")


def save_section(entry: SessionImport) -> None:
    """Save an import into checkpoints/ under a name the user picks (only on request)."""
    key = f"{S.IMPORT_SAVE_NAME}_{entry.name}"
    if key not in st.session_state:
        stem = "".join(c if c.isalnum() else "-" for c in Path(entry.file).stem.lower()).strip("-") or "imported"
        st.session_state[key] = f"{stem[:30]}-z{entry.latent_dim}-{entry.name[-4:]}"
    cols = st.columns([3, 1], vertical_alignment="bottom")
    cols[0].text_input("Checkpoint name", key=key, max_chars=63,
                       help="Lower-case letters, digits, '.', '_' and '-'; an existing name is never overwritten")
    cols[1].button("Save to checkpoints/", key=f"import_save_{entry.name}", on_click=_save, args=(entry.name, key))
    result = st.session_state.pop(f"{key}_result", None)
    if result is not None:
        (st.success if result[0] else st.error)(result[1])


def _save(session_name: str, name_key: str) -> None:
    try:
        path = imp.keep(session_name, st.session_state[name_key])
    except (imp.ImportRefused, OSError) as e:
        st.session_state[f"{name_key}_result"] = (False, str(e))
    else:
        st.session_state[f"{name_key}_result"] = (
            True, f"Saved as checkpoints/{path.name}: its manifest says where it came from, and every session can "
                  "now load it by that name.")
