"""Importing the course notebook's VAE: layout recognition, exact conversion, the notebook's loss reproduced, and one
clear refusal for every kind of bad file (nothing loaded, nothing run)."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import tiny_config
from vae import checkpoint as ckpt_mod
from vae import import_model as imp
from vae import registry
from vae.data import Mnist, file_sha256
from vae.models import build_model
from vae.train import EVAL_SEED, images_to_tensor

REPO_ROOT = Path(__file__).resolve().parent.parent


class NotebookVAE(nn.Module):
    """The course notebook's model, restated for the test: the same layer names and shapes, ReLU hidden layers,
    a sigmoid output and its summed loss."""

    def __init__(self, input_dim: int = 784, hidden_dim: int = 400, latent_dim: int = 20):
        super().__init__()
        self.fc1 = nn.Linear(input_dim, hidden_dim)
        self.fc21 = nn.Linear(hidden_dim, latent_dim)  # mean of q(z|x)
        self.fc22 = nn.Linear(hidden_dim, latent_dim)  # log-variance of q(z|x)
        self.fc3 = nn.Linear(latent_dim, hidden_dim)
        self.fc4 = nn.Linear(hidden_dim, input_dim)
        self.latent_dim = latent_dim

    def encode(self, x):
        h = F.relu(self.fc1(x))
        return self.fc21(h), self.fc22(h)

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x, eps=None):
        mu, logvar = self.encode(x.view(-1, 784))
        if eps is None:
            eps = torch.randn_like(mu)
        return self.decode(mu + eps * torch.exp(0.5 * logvar)), mu, logvar


def notebook_loss(recon_x, x, mu, logvar):
    """Summed Bernoulli cross-entropy plus the analytic KL to N(0, I), over the whole batch (the notebook's)."""
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def _fake_mnist(n_train=512, n_test=300, seed=0) -> Mnist:
    """Digit-like images without the real data: a bright random blob on black, labels 0..9."""
    rng = np.random.default_rng(seed)

    def images(n):
        yy, xx = np.mgrid[:28, :28]
        cy, cx = rng.uniform(9, 19, (2, n, 1, 1))
        r = rng.uniform(3, 7, (n, 1, 1))
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r ** 2))
        return np.clip(blob * 300 - 40, 0, 255).astype(np.uint8)

    return Mnist(images(n_train), rng.integers(0, 10, n_train).astype(np.uint8), images(n_test),
                 rng.integers(0, 10, n_test).astype(np.uint8))


def _train_one_epoch(model: NotebookVAE, x_uint8: np.ndarray, batch_size: int = 128) -> None:
    """The notebook's training step: Adam at 1e-3, shuffled batches of 128, one epoch."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = images_to_tensor(x_uint8).view(-1, 784)
    model.train()
    for idx in torch.randperm(len(x)).split(batch_size):
        opt.zero_grad()
        recon, mu, logvar = model(x[idx])
        loss = notebook_loss(recon, x[idx], mu, logvar)
        loss.backward()
        opt.step()
    model.eval()


def _notebook_test_loss(model: NotebookVAE, x_uint8: np.ndarray, batch_size: int = 1000) -> float:
    """The notebook's test loss per image with the draws our evaluation makes: eps from a generator seeded with
    EVAL_SEED, batches of 1000 in order."""
    gen = torch.Generator().manual_seed(EVAL_SEED)
    x = images_to_tensor(x_uint8)
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size].view(-1, 784)
            eps = torch.randn((len(xb), model.latent_dim), generator=gen)
            recon, mu, logvar = model(xb, eps)
            total += notebook_loss(recon, xb, mu, logvar).item()
    return total / len(x)


def _save_state_dict(model: nn.Module, path: Path) -> Path:
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture
def checkpoints(tmp_path, monkeypatch):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    monkeypatch.setenv(ckpt_mod.CHECKPOINT_DIR_ENV, str(folder))
    return folder


@pytest.mark.parametrize("hidden,latent", [(400, 20), (64, 2), (32, 5)])
def test_conversion_computes_the_notebook_functions_exactly(tmp_path, hidden, latent):
    torch.manual_seed(1)
    nb = NotebookVAE(hidden_dim=hidden, latent_dim=latent).eval()
    state, _ = imp.read_state_dict(_save_state_dict(nb, tmp_path / "vae.pt"))
    ours = imp.convert_notebook(state)
    assert ours.config.hidden == (hidden,) and ours.config.latent_dim == latent and ours.config.activation == "relu"
    x = torch.rand(7, 784)
    mu, logvar = ours.encode(x)
    nb_mu, nb_logvar = nb.encode(x)
    assert torch.allclose(mu, nb_mu, atol=1e-6) and torch.allclose(logvar, nb_logvar, atol=1e-6)
    z = torch.randn(7, latent)
    assert torch.allclose(torch.sigmoid(ours.decode(z)).view(7, 784), nb.decode(z), atol=1e-6)


def test_imported_test_elbo_equals_the_notebook_loss_on_the_same_draws(tmp_path):
    data = _fake_mnist()
    torch.manual_seed(0)
    nb = NotebookVAE(hidden_dim=400, latent_dim=20)
    _train_one_epoch(nb, data.x_train)
    path = _save_state_dict(nb, tmp_path / "vae.pt")
    imported = imp.import_file(path, data)
    expected = _notebook_test_loss(nb, data.x_test)
    assert imported.test_metrics["neg_elbo"] == pytest.approx(expected, rel=1e-5)
    assert imported.test_metrics["neg_elbo"] == pytest.approx(imported.test_metrics["recon"]
                                                              + imported.test_metrics["kl"], rel=1e-6)
    assert imported.source_sha256 == file_sha256(path)


def test_written_checkpoint_loads_with_manifest_and_provenance(tmp_path, checkpoints):
    data = _fake_mnist(n_train=128, n_test=100)
    torch.manual_seed(0)
    nb = NotebookVAE(hidden_dim=32, latent_dim=2)
    path = _save_state_dict(nb, tmp_path / "my-vae.pt")
    imported = imp.import_file(path, data, what="my-vae.pt")
    folder = imp.write_checkpoint(imported, checkpoints / "nb-z2", imp.command_for("my-vae.pt", "nb-z2"))
    loaded = ckpt_mod.load_checkpoint("nb-z2")
    m = loaded.manifest
    assert m["provenance"] == "imported from my-vae.pt"
    assert m["imported_from"]["sha256"] == file_sha256(path)
    assert m["weights_sha256"] == file_sha256(folder / ckpt_mod.WEIGHTS_FILE)
    assert m["test_metrics"] == imported.test_metrics
    assert m["command"] == "python -m vae.import_model my-vae.pt --name nb-z2"
    assert m["model"]["latent_dim"] == 2 and m["model"]["hidden"] == [32]
    assert m["data"]["dataset"] == "mnist" and m["data"]["test_images"] == 10000
    for key, value in imported.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key


def test_keep_copies_a_scratch_import_into_checkpoints(tmp_path, checkpoints, monkeypatch):
    monkeypatch.setenv(ckpt_mod.SCRATCH_DIR_ENV, str(tmp_path / "scratch"))
    data = _fake_mnist(n_train=128, n_test=100)
    path = _save_state_dict(NotebookVAE(hidden_dim=16, latent_dim=3), tmp_path / "nb.pt")
    session = "session-import-abc"
    imp.write_checkpoint(imp.import_file(path, data, what="nb.pt"), ckpt_mod.scratch_dir() / session, "x")
    assert ckpt_mod.available() == []
    out = imp.keep(session, "mine")
    assert out == checkpoints / "mine" and ckpt_mod.available() == ["mine"]
    assert ckpt_mod.read_manifest("mine")["command"] == "python -m vae.import_model nb.pt --name mine"
    with pytest.raises(imp.ImportRefused, match="already exists"):
        imp.keep(session, "mine")


def test_saves_are_atomic_and_a_taken_name_is_refused_in_one_line_with_nothing_overwritten(tmp_path, checkpoints,
                                                                                            monkeypatch, capsys):
    """As the Train page saves: the folder is created by the save itself, so a name taken after the name check (by
    another session or command at the same moment) is refused and the folder that holds it is left as it was."""
    monkeypatch.setenv(ckpt_mod.SCRATCH_DIR_ENV, str(tmp_path / "scratch"))
    data = _fake_mnist(n_train=128, n_test=100)
    path = _save_state_dict(NotebookVAE(hidden_dim=16, latent_dim=2), tmp_path / "nb.pt")
    imported = imp.import_file(path, data, what="nb.pt")
    other = checkpoints / "taken"
    other.mkdir()
    (other / "note.txt").write_text("someone else's")
    with pytest.raises(imp.ImportRefused, match=r"^checkpoints/taken already exists: pick another name \(nothing "
                                                r"was overwritten\)\.$"):
        imp.write_checkpoint(imported, other, "x")
    assert sorted(p.name for p in other.iterdir()) == ["note.txt"]

    session = "session-import-race"
    imp.write_checkpoint(imported, ckpt_mod.scratch_dir() / session, "x")
    monkeypatch.setattr(imp, "check_name", lambda name: name)  # the name was free when it was checked
    with pytest.raises(imp.ImportRefused, match="already exists"):
        imp.keep(session, "taken")
    assert sorted(p.name for p in other.iterdir()) == ["note.txt"]
    monkeypatch.setattr(registry.Dataset, "load", lambda self, path=None: data)  # not the real images
    assert imp.main([str(path), "--name", "taken"]) == 2  # the command line: exit 2, one line, nothing written
    err = capsys.readouterr().err.strip()
    assert err == "error: checkpoints/taken already exists: pick another name (nothing was overwritten)."
    assert sorted(p.name for p in other.iterdir()) == ["note.txt"]


def test_the_manifest_records_the_platform_as_other_manifests_do(tmp_path, checkpoints):
    from vae.device import platform_info

    data = _fake_mnist(n_train=128, n_test=100)
    path = _save_state_dict(NotebookVAE(hidden_dim=16, latent_dim=2), tmp_path / "nb.pt")
    imp.write_checkpoint(imp.import_file(path, data, what="nb.pt"), checkpoints / "nb", "x")
    versions = ckpt_mod.read_manifest("nb")["versions"]
    assert versions == platform_info()
    assert {"torch", "numpy", "python", "maths_library", "cpu", "cpu_flags", "threads"} <= set(versions)


def test_wrapped_and_prefixed_state_dicts_are_unwrapped(tmp_path):
    nb = NotebookVAE(hidden_dim=16, latent_dim=2)
    wrapped = {"epoch": 3, "state_dict": {f"module.{k}": v for k, v in nb.state_dict().items()}}
    torch.save(wrapped, tmp_path / "w.pt")
    state, _ = imp.read_state_dict(tmp_path / "w.pt")
    assert set(state) == set(imp.NOTEBOOK_KEYS)


def test_a_checkpoint_folder_of_ours_is_imported_and_reevaluated(tmp_path):
    data = _fake_mnist(n_train=64, n_test=50)
    model = build_model(tiny_config("vae", latent_dim=3))
    folder = ckpt_mod.save_checkpoint(tmp_path / "ours", model, {
        "training": {"beta": 1.0}, "history": [], "test_metrics": {}, "data": {}, "versions": {}, "command": "x"})
    imported = imp.import_path(folder, data)
    assert imported.config == model.config
    assert set(imported.test_metrics) == {"recon", "kl", "neg_elbo"}


# --- bad input: one line each, nothing loaded or run -------------------------------------------------------------

class _Exploit:
    """Unpickling this would call os.system: a file made with it must be refused without running anything."""

    def __reduce__(self):
        return (os.system, ("touch PWNED_MARKER",))


def _one_line(e: pytest.ExceptionInfo) -> str:
    text = str(e.value)
    assert "\n" not in text and len(text) < 400, text
    return text


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_pickle_that_would_run_code_is_refused_and_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, write in (("raw.pkl", lambda f: pickle.dump({"fc1.weight": _Exploit()}, f)),
                        ("torch.pt", lambda f: torch.save({"fc1.weight": _Exploit()}, f))):
        with open(tmp_path / name, "wb") as f:
            write(f)
        with pytest.raises(imp.ImportRefused) as e:
            imp.read_state_dict(tmp_path / name)
        assert "would run code" in _one_line(e) and "system" in str(e.value)
        assert not (tmp_path / "PWNED_MARKER").exists()


def test_a_whole_saved_module_is_refused_with_the_state_dict_advice(tmp_path):
    torch.save(NotebookVAE(hidden_dim=8, latent_dim=2), tmp_path / "whole.pt")
    with pytest.raises(imp.ImportRefused) as e:
        imp.read_state_dict(tmp_path / "whole.pt")
    text = _one_line(e)
    assert "whole model object (NotebookVAE)" in text and "torch.save(model.state_dict()" in text


@pytest.mark.parametrize("content,match", [
    (b"hello, not a model", "not a file written by torch.save"),
    (b"", "is empty"),
])
def test_files_torch_did_not_write_are_refused(tmp_path, content, match):
    (tmp_path / "f.pt").write_bytes(content)
    with pytest.raises(imp.ImportRefused, match=match) as e:
        imp.read_state_dict(tmp_path / "f.pt")
    _one_line(e)


@pytest.mark.parametrize("obj,match", [
    ([1, 2, 3], "holds list, not a state_dict"),
    ({"fc1.weight": 3}, "holds int, not a tensor"),
    ({"fc1.weight": torch.ones(2, dtype=torch.int64)}, "not floating-point weights"),
    ({}, "holds an empty dict"),
])
def test_objects_that_are_not_state_dicts_are_refused(tmp_path, obj, match):
    torch.save(obj, tmp_path / "f.pt")
    with pytest.raises(imp.ImportRefused, match=match) as e:
        imp.read_state_dict(tmp_path / "f.pt")
    _one_line(e)


def _refusal(state: dict) -> str:
    with pytest.raises(imp.ImportRefused) as e:
        imp.convert_notebook(state, "nb.pt")
    return _one_line(e)


def test_other_architectures_are_refused_naming_what_is_known():
    conv = {"conv1.weight": torch.zeros(8, 1, 3, 3), "conv1.bias": torch.zeros(8), "fc.weight": torch.zeros(10, 8)}
    assert "another architecture (keys conv1.bias, conv1.weight, fc.weight)" in _refusal(conv)
    partial = {k: v for k, v in NotebookVAE(hidden_dim=8, latent_dim=2).state_dict().items() if "fc22" not in k}
    assert "missing fc22.weight, fc22.bias" in _refusal(partial)
    ours = build_model(tiny_config("vae")).state_dict()
    assert "Latent Explorer model.pt" in _refusal(ours)


def test_inconsistent_shapes_and_bad_values_are_refused():
    state = NotebookVAE(hidden_dim=8, latent_dim=2).state_dict()
    assert "fc22.weight has shape (3, 8)" in _refusal({**state, "fc22.weight": torch.zeros(3, 8)})
    assert "fc4.bias has shape (10,)" in _refusal({**state, "fc4.bias": torch.zeros(10)})
    assert "NaN or infinite" in _refusal({**state, "fc3.bias": torch.full((8,), float("nan"))})
    assert "reads 100 inputs" in _refusal(NotebookVAE(input_dim=100, hidden_dim=8, latent_dim=2).state_dict())


@pytest.mark.parametrize("latent", [1, imp.MAX_LATENT + 1])
def test_latent_sizes_the_pages_cannot_show_are_refused(latent):
    assert f"latent size {latent} cannot be shown" in _refusal(NotebookVAE(hidden_dim=8, latent_dim=latent)
                                                               .state_dict())


def test_oversize_files_and_uploads_are_refused_before_reading(tmp_path):
    big = tmp_path / "big.pt"
    with open(big, "wb") as f:
        f.truncate(imp.UPLOAD_LIMIT_BYTES + 1)  # sparse: no memory or disk used
    with pytest.raises(imp.ImportRefused, match=r"10.0 MB, over the 10 MB limit") as e:
        imp.read_state_dict(big, max_bytes=imp.UPLOAD_LIMIT_BYTES)
    _one_line(e)
    with pytest.raises(imp.ImportRefused, match="over the 1 MB limit"):
        imp.read_state_dict(b"x" * (2**20 + 1), "upload.pt", max_bytes=2**20)


def test_the_servers_upload_limit_is_the_import_pages():
    import tomllib

    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == imp.UPLOAD_LIMIT_BYTES // 2**20


def test_cli_refuses_with_one_line_and_exit_2(tmp_path, checkpoints, capsys):
    (tmp_path / "bad.pt").write_bytes(b"nope")
    assert imp.main([str(tmp_path / "bad.pt"), "--name", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "not a file written by torch.save" in err
    assert imp.main([str(tmp_path / "bad.pt"), "--name", "Bad Name"]) == 2
    assert "lower-case letters" in capsys.readouterr().err
    assert ckpt_mod.available() == []


@pytest.mark.slow
def test_cli_imports_a_notebook_vae_trained_on_real_mnist(tmp_path, checkpoints):
    """One epoch of the notebook's model on 2,000 real training digits, saved, imported by the command line: the
    manifest's test -ELBO over the 10,000 test digits equals the notebook's loss on the same draws."""
    from vae.data import load_mnist

    data = load_mnist()
    torch.manual_seed(0)
    nb = NotebookVAE()
    _train_one_epoch(nb, data.x_train[:2000])
    path = _save_state_dict(nb, tmp_path / "vae.pt")
    result = subprocess.run([sys.executable, "-m", "vae.import_model", str(path), "--name", "notebook-vae"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, ckpt_mod.CHECKPOINT_DIR_ENV: str(checkpoints)})
    assert result.returncode == 0, result.stderr
    assert "VAE 784-400-20" in result.stdout
    manifest = json.loads((checkpoints / "notebook-vae" / ckpt_mod.MANIFEST_FILE).read_text())
    assert manifest["test_metrics"]["neg_elbo"] == pytest.approx(_notebook_test_loss(nb, data.x_test), rel=1e-5)
    assert manifest["provenance"] == f"imported from {path}"
    assert manifest["data"]["test_images"] == 10000
