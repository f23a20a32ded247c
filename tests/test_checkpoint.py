import json
from pathlib import Path

import pytest
import torch

from helpers import KINDS_ARCHS, tiny_config
from vae.checkpoint import (MANIFEST_FILE, WEIGHTS_FILE, CheckpointError, available, load_checkpoint, read_manifest,
                            save_checkpoint)
from vae.data import file_sha256
from vae.models import build_model

MANIFEST = {"training": {"beta": 1.0}, "history": [{"epoch": 1}], "test_metrics": {"recon": 100.0},
            "data": {"sha256": "x"}, "versions": {"torch": torch.__version__}, "command": "python -m vae.train"}


def _saved(tmp_path: Path, kind="vae", arch="mlp") -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    model = build_model(tiny_config(kind, arch))
    return save_checkpoint(tmp_path / "ck", model, MANIFEST), model


@pytest.mark.parametrize("kind,arch", KINDS_ARCHS)
def test_round_trip_restores_every_tensor(tmp_path, kind, arch):
    folder, model = _saved(tmp_path, kind, arch)
    loaded = load_checkpoint(folder)
    original, restored = model.state_dict(), loaded.model.state_dict()
    assert original.keys() == restored.keys()
    for key in original:
        assert torch.equal(original[key], restored[key]), key
    assert loaded.config == model.config
    assert not loaded.model.training, "loaded models are in eval mode"
    assert all(not p.requires_grad for p in loaded.model.parameters())
    assert loaded.manifest["test_metrics"] == {"recon": 100.0}
    assert loaded.manifest["weights_sha256"] == file_sha256(folder / WEIGHTS_FILE)
    assert available(tmp_path) == ["ck"]


def _rewrite_manifest(folder: Path, change) -> None:
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    change(manifest)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))


def test_missing_folder(tmp_path):
    with pytest.raises(CheckpointError, match="nothing-here: checkpoint folder not found"):
        load_checkpoint(tmp_path / "nothing-here")


def test_missing_manifest(tmp_path):
    folder, _ = _saved(tmp_path)
    (folder / MANIFEST_FILE).unlink()
    with pytest.raises(CheckpointError, match="manifest.json: manifest.json is missing"):
        load_checkpoint(folder)


def test_manifest_not_json(tmp_path):
    folder, _ = _saved(tmp_path)
    (folder / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(CheckpointError, match="manifest is not valid JSON"):
        read_manifest(folder)


def test_manifest_missing_keys(tmp_path):
    folder, _ = _saved(tmp_path)
    _rewrite_manifest(folder, lambda m: m.pop("history"))
    with pytest.raises(CheckpointError, match="manifest lacks history"):
        load_checkpoint(folder)


def test_missing_weights(tmp_path):
    folder, _ = _saved(tmp_path)
    (folder / WEIGHTS_FILE).unlink()
    with pytest.raises(CheckpointError, match="model.pt: weights file is missing"):
        load_checkpoint(folder)


def test_truncated_weights(tmp_path):
    folder, _ = _saved(tmp_path)
    data = (folder / WEIGHTS_FILE).read_bytes()
    (folder / WEIGHTS_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="model.pt: weights file does not match the sha256"):
        load_checkpoint(folder)


def test_corrupt_weights_with_matching_hash_still_fail_clearly(tmp_path):
    folder, _ = _saved(tmp_path)
    (folder / WEIGHTS_FILE).write_bytes(b"\x00garbage" * 100)
    _rewrite_manifest(folder, lambda m: m.update(weights_sha256=file_sha256(folder / WEIGHTS_FILE)))
    with pytest.raises(CheckpointError, match="model.pt: weights cannot be read"):
        load_checkpoint(folder)


def test_weights_that_do_not_match_the_config(tmp_path):
    folder, _ = _saved(tmp_path)
    _rewrite_manifest(folder, lambda m: m["model"].update(latent_dim=3))
    with pytest.raises(CheckpointError, match="weights do not match the model config"):
        load_checkpoint(folder)


def test_unknown_kind_in_manifest(tmp_path):
    folder, _ = _saved(tmp_path)
    _rewrite_manifest(folder, lambda m: m["model"].update(kind="gan"))
    with pytest.raises(CheckpointError, match="model config is invalid \\(Unknown model kind 'gan'"):
        load_checkpoint(folder)


def test_pickled_objects_are_refused(tmp_path):
    """weights_only=True: a file that pickles a Python object (not plain tensors) is not executed."""
    folder, model = _saved(tmp_path)
    torch.save({"model": model}, folder / WEIGHTS_FILE)
    _rewrite_manifest(folder, lambda m: m.update(weights_sha256=file_sha256(folder / WEIGHTS_FILE)))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(folder)
    message = str(info.value)
    assert "model.pt: refused: this is not a plain weights file (it names vae.models." in message
    assert "loading those could run code" in message and "\n" not in message
    assert "weights_only" not in message and "Re-running" not in message  # never torch's advice to load it unsafely


def test_equal_weights_give_the_same_file_and_sha256(tmp_path):
    """A retrained model whose tensors are bit-identical must reproduce the recorded weights hash."""
    torch.manual_seed(0)
    model = build_model(tiny_config("vae", "mlp"))
    manifest = {k: {} for k in ("training", "history", "test_metrics", "data", "versions")} | {"command": "x"}
    a = save_checkpoint(tmp_path / "a", model, manifest)
    b = save_checkpoint(tmp_path / "b", model, manifest)
    assert (a / WEIGHTS_FILE).read_bytes() == (b / WEIGHTS_FILE).read_bytes()
    assert read_manifest(a)["weights_sha256"] == read_manifest(b)["weights_sha256"]
