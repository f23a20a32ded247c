"""AppTests of the Import a model page: an upload becomes a session model on the explorer, the draw page or the
Disentanglement page; every bad file gets one line and changes nothing; saving happens only on request."""

from __future__ import annotations

import io

import pytest
import torch
from streamlit.testing.v1 import AppTest

from helpers import live_planes, open_explorer_tab
from test_import_model import NotebookVAE
from vae import checkpoint as ckpt_mod
from vae.checkpoint import CHECKPOINT_DIR

pytestmark = pytest.mark.slow  # the page scores imports on the real test set
APP = str(CHECKPOINT_DIR.parent / "app.py")
UPLOAD = "import_upload"


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch):
    monkeypatch.setenv(ckpt_mod.SCRATCH_DIR_ENV, str(tmp_path / "scratch"))
    return tmp_path


def _page(timeout: float = 120) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=timeout).run()
    at.switch_page("pages/import_model.py").run()
    assert not at.exception and at.title[0].value == "Import a model"
    return at


def _bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _notebook_state(latent: int, hidden: int = 64, seed: int = 0) -> bytes:
    torch.manual_seed(seed)
    return _bytes(NotebookVAE(hidden_dim=hidden, latent_dim=latent).state_dict())


def _upload(at: AppTest, name: str, content: bytes) -> AppTest:
    return at.file_uploader(key=UPLOAD).set_value((name, content, "application/octet-stream")).run()


def test_the_page_explains_what_to_upload_and_waits():
    at = _page()
    assert "torch.save(model.state_dict(), 'vae.pt')" in at.code[0].value
    assert at.info[0].value.startswith("No model imported in this session yet.")
    assert not at.error


def test_a_2d_import_goes_on_the_explorer_and_the_draw_page_and_is_saved_on_request(scratch, monkeypatch):
    at = _upload(_page(), "my-vae.pt", _notebook_state(2))
    assert not at.exception
    assert at.success[0].value == "Imported your imported VAE 784-64-2 (my-vae.pt)."
    entry = at.session_state["imports"][0]
    assert entry.name.startswith("session-import-") and (scratch / "scratch" / entry.name).is_dir()
    caption = next(c.value for c in at.caption if "test digits" in c.value)
    assert f"\u2212ELBO {entry.test_metrics['neg_elbo']:.2f} nats" in caption
    assert "live planes" in at.markdown[-1].value or any("live planes" in m.value for m in at.markdown)

    at.run()  # a rerun with the same upload does not import it again
    assert len(at.session_state["imports"]) == 1

    checkpoints = scratch / "checkpoints"
    monkeypatch.setenv(ckpt_mod.CHECKPOINT_DIR_ENV, str(checkpoints))
    assert not checkpoints.exists(), "nothing is saved without a request"
    name_key = f"import_save_name_{entry.name}"
    at.text_input(key=name_key).set_value("Bad Name!").run()
    at.button(key=f"import_save_{entry.name}").click().run()
    assert "Name the checkpoint with 1 to 63 lower-case letters" in at.error[0].value
    at.text_input(key=name_key).set_value("notebook-z2").run()
    at.button(key=f"import_save_{entry.name}").click().run()
    assert at.success[-1].value.startswith("Saved as checkpoints/notebook-z2")
    assert ckpt_mod.available(checkpoints) == ["notebook-z2"]
    assert ckpt_mod.read_manifest(checkpoints / "notebook-z2")["provenance"] == "imported from my-vae.pt"
    monkeypatch.delenv(ckpt_mod.CHECKPOINT_DIR_ENV)

    at.switch_page("pages/explorer.py").run()
    assert not at.exception
    toggle = at.toggle(key="use_session_models")
    assert toggle.value is True and toggle.label == "Show the models you imported on the Import a model page"
    planes = [c.proto.id for c in live_planes(at)]
    assert any(entry.name in p for p in planes), planes
    open_explorer_tab(at, "interpolation")  # its film strips carry each model's title
    assert any("your imported VAE (my-vae.pt)" in m.value for m in at.markdown)
    at.switch_page("pages/draw.py").run()
    assert not at.exception
    assert at.toggle(key="use_session_models").label == "Use the models you imported on the Import a model page"


def test_a_higher_dimensional_import_goes_on_the_disentanglement_page():
    at = _upload(_page(), "z10.pt", _notebook_state(10, hidden=32))
    assert not at.exception and at.success[0].value == "Imported your imported VAE 784-32-10 (z10.pt)."
    assert any("Disentanglement" in m.value for m in at.markdown)
    name = at.session_state["imports"][0].name
    at.switch_page("pages/disentanglement.py").run()
    assert not at.exception
    picker = at.selectbox(key="dis_model")
    assert picker.value == name
    assert picker.options[0] == "your imported VAE 784-32-10 (z10.pt)  \u00b7  10-D"


@pytest.mark.parametrize("name,content,expected", [
    ("notes.txt", b"these are not weights", "is not a file written by torch.save"),
    ("whole.pt", _bytes(NotebookVAE(hidden_dim=8, latent_dim=2)), "holds a whole model object (NotebookVAE)"),
    ("conv.pt", _bytes({"conv1.weight": torch.zeros(4, 1, 3, 3), "conv1.bias": torch.zeros(4)}),
     "holds another architecture"),
    ("z1.pt", _bytes(NotebookVAE(hidden_dim=8, latent_dim=1).state_dict()), "latent size 1 cannot be shown"),
    ("big.pt", b"\0" * (10 * 2**20 + 1), "over the 10 MB limit"),
])
def test_bad_files_get_one_line_and_nothing_is_loaded(name, content, expected):
    at = _upload(_page(), name, content)
    assert not at.exception
    assert len(at.error) == 1, [e.value for e in at.error]
    message = at.error[0].value
    assert message.startswith(name) and expected in message and message.endswith("Nothing was loaded.")
    assert "\n" not in message
    assert at.session_state["imports"] == []
    assert at.info[0].value.startswith("No model imported in this session yet.")


def test_a_20d_import_takes_vae_z20s_place_on_the_higher_dimensions_page():
    at = _upload(_page(timeout=300), "nb20.pt", _notebook_state(20, hidden=32))  # the page samples and fits GMMs
    assert not at.exception and at.success[0].value == "Imported your imported VAE 784-32-20 (nb20.pt)."
    name = at.session_state["imports"][0].name
    at.switch_page("pages/higher_dims.py").run()
    assert not at.exception, at.exception
    toggle = at.toggle(key="hd_use_import")
    assert toggle.value is True and toggle.label == "Put your imported VAE 784-32-20 (nb20.pt) in place of vae-z20"
    captions = [img.caption for el in at.get("image") for img in el.proto.imgs]
    assert "your imported VAE (nb20.pt): z ~ N(0, I)" in captions  # beside ae-z20 where it is shipped
    assert not any("vae-z20" in c for c in captions)
    toggle.set_value(False).run()
    assert not at.exception
    captions = [img.caption for el in at.get("image") for img in el.proto.imgs]
    assert "VAE (vae-z20): z ~ N(0, I)" in captions and not any("nb20.pt" in c for c in captions)
    assert [i.name for i in at.session_state["imports"]] == [name], "the toggle only swaps the page's model"


@pytest.mark.parametrize("comes_back", [False, True])
def test_an_ended_sessions_imports_leave_the_scratch_folder_after_the_keep_time(scratch, comes_back):
    from ui import importer

    owners = importer._Owners(keep_seconds=100)
    folders = {}
    for session, name in (("tab-a", "session-import-a1"), ("tab-a", "session-import-a2"),
                          ("tab-b", "session-import-b")):
        folders[name] = ckpt_mod.scratch_dir() / name
        folders[name].mkdir(parents=True)
        owners.add(session, name)
    owners.add(None, "session-import-no-runtime")  # without a server runtime nothing is tracked
    alive = {"tab-a": False, "tab-b": True}
    assert owners.sweep(alive.get, now=0.0) == [] and all(f.is_dir() for f in folders.values())
    if comes_back:  # a dropped connection that reconnects within the keep time keeps its imports
        alive["tab-a"] = True
        assert owners.sweep(alive.get, now=50.0) == []
        alive["tab-a"] = False
        assert owners.sweep(alive.get, now=120.0) == [], "the clock restarts when the session is seen again"
        assert owners.sweep(alive.get, now=220.0) == ["session-import-a1", "session-import-a2"]
    else:
        assert owners.sweep(alive.get, now=99.0) == []
        assert owners.sweep(alive.get, now=100.0) == ["session-import-a1", "session-import-a2"]
    assert not folders["session-import-a1"].exists() and not folders["session-import-a2"].exists()
    assert folders["session-import-b"].is_dir(), "a live session's import stays"
