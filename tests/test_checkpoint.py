import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from helpers import KINDS_ARCHS, tiny_config
from vae import checkpoint as ckpt_mod
from vae.checkpoint import (CHECKPOINT_DIR_ENV, MANIFEST_FILE, REPO_ROOT, SCRATCH_PREFIX, STALE_SECONDS, WEIGHTS_FILE,
                            CheckpointError, NameTaken, available, clean_leftovers, leftovers, load_checkpoint,
                            read_manifest, remove_stale_scratch, resolve, save_checkpoint, scan, Scan)
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


# --- saving a new checkpoint from the app: atomic, exclusive, and what an interrupted save leaves ----------------

def _tiny(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(tiny_config("vae", "mlp"))


def test_two_threads_saving_one_name_exactly_one_wins_and_its_checkpoint_loads(tmp_path):
    for attempt in range(15):
        folder = tmp_path / f"race-{attempt}"
        barrier = threading.Barrier(2)
        outcomes: dict[int, object] = {}

        models = {seed: _tiny(seed) for seed in (1, 2)}  # built here: torch's global RNG is not per thread

        def save(seed: int) -> None:
            model = models[seed]
            barrier.wait()
            try:
                outcomes[seed] = save_checkpoint(folder, model, MANIFEST, new=True)
            except NameTaken as e:
                outcomes[seed] = e

        threads = [threading.Thread(target=save, args=(seed,)) for seed in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        winners = [seed for seed, out in outcomes.items() if isinstance(out, Path)]
        losers = [out for out in outcomes.values() if isinstance(out, NameTaken)]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        assert f"race-{attempt}: already exists; pick another name (nothing was overwritten)" in str(losers[0])
        loaded = load_checkpoint(folder)  # checks the sha256 of model.pt against the manifest
        for a, b in zip(models[winners[0]].state_dict().values(), loaded.model.state_dict().values()):
            assert torch.equal(a, b), "the folder holds the winner's weights only"
        assert sorted(p.name for p in folder.iterdir()) == [MANIFEST_FILE, WEIGHTS_FILE]


def test_a_new_save_never_touches_an_existing_folder(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(NameTaken):
        save_checkpoint(tmp_path / "taken", _tiny(), MANIFEST, new=True)
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]


def test_a_failed_new_save_removes_the_folder_it_made(tmp_path, monkeypatch):
    def full_disk(folder, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt_mod, "_write_manifest", full_disk)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(tmp_path / "ck", _tiny(), MANIFEST, new=True)
    assert not (tmp_path / "ck").exists(), "the name is free again"


CRASH_BETWEEN_FILES = """
import os, sys, torch
sys.path.insert(0, sys.argv[2])
from helpers import tiny_config
from vae import checkpoint as ckpt_mod
from vae.models import build_model
ckpt_mod._write_manifest = lambda folder, text: os._exit(9)  # the process dies after model.pt, before the manifest
ckpt_mod.save_checkpoint(sys.argv[1], build_model(tiny_config("vae", "mlp")), {
    "training": {}, "history": [], "test_metrics": {}, "data": {}, "versions": {}, "command": "x"}, new=True)
"""


def test_a_crash_between_the_two_files_leaves_no_checkpoint_and_the_next_start_frees_the_name(tmp_path):
    folder = tmp_path / "interrupted"
    proc = subprocess.run([sys.executable, "-c", CRASH_BETWEEN_FILES, str(folder), str(Path(__file__).parent)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == [WEIGHTS_FILE]  # renamed into place, fsynced; no manifest
    assert available(tmp_path) == []  # never offered as a model
    found = scan(tmp_path)
    assert found.usable == [] and len(found.broken) == 1
    name, reason = found.broken[0]
    assert name == "interrupted" and "interrupted/manifest.json is missing (a save that was interrupted: it holds " \
                                      "only model.pt)" in reason
    with pytest.raises(NameTaken):
        save_checkpoint(folder, _tiny(), MANIFEST, new=True)
    assert leftovers(tmp_path) == [], "a fresh leftover may be a save still under way: kept for a minute"
    assert clean_leftovers(tmp_path, min_age=0) == [f"removed {folder}/, left by an interrupted save (it held "
                                                    "model.pt)"]
    save_checkpoint(folder, _tiny(), MANIFEST, new=True)
    assert load_checkpoint(folder).manifest["name"] == "interrupted"


def test_leftover_cleaning_removes_only_what_a_save_writes(tmp_path):
    good, _ = _saved(tmp_path)
    (good / "manifest.json12ab.tmp").write_text("half")  # an interrupted manifest rewrite (record_metrics)
    (tmp_path / "empty").mkdir()
    (tmp_path / "someone-elses").mkdir()
    (tmp_path / "someone-elses" / "data.csv").write_text("1,2")
    old = time.time() - 2 * STALE_SECONDS
    for p in [good / "manifest.json12ab.tmp", tmp_path / "empty", tmp_path / "someone-elses"]:
        os.utime(p, (old, old))
    assert leftovers(tmp_path) == [tmp_path / "ck" / "manifest.json12ab.tmp", tmp_path / "empty"]
    assert len(clean_leftovers(tmp_path)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck", "someone-elses"]
    assert sorted(p.name for p in good.iterdir()) == [MANIFEST_FILE, WEIGHTS_FILE]
    assert load_checkpoint(good).manifest["name"] == "ck"
    assert dict(scan(tmp_path).broken)["someone-elses"].endswith(
        "someone-elses/manifest.json is missing (not a checkpoint folder); delete the folder or retrain the "
        "checkpoint with `python -m vae.train`")


def test_the_scratch_folder_of_a_killed_server_is_removed_at_the_next_start(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folders = {pid: tmp_path / f"{SCRATCH_PREFIX}{pid}-x1y2" for pid in (dead.pid, os.getpid(), os.getppid())}
    for folder in folders.values():
        (folder / "session-abc-vae").mkdir(parents=True)
    (tmp_path / "unrelated-folder").mkdir()
    assert remove_stale_scratch(tmp_path) == [folders[dead.pid]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [folders[os.getpid()].name, folders[os.getppid()].name, "unrelated-folder"])


# --- names resolve in checkpoints/ only ----------------------------------------------------------------------

RESERVED = ("data", "docs", "ui", "vae", "pages", "tests", "benchmarks", "checkpoints")


@pytest.mark.parametrize("name", RESERVED)
def test_names_of_working_directory_folders_resolve_in_the_checkpoint_folder(tmp_path, monkeypatch, name):
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    assert (REPO_ROOT / name).is_dir()
    assert resolve(name) == tmp_path / name
    with pytest.raises(CheckpointError, match=f"{name}: checkpoint folder not found"):
        read_manifest(name)
    save_checkpoint(resolve(name), _tiny(), MANIFEST, new=True)
    assert load_checkpoint(name).path == tmp_path / name and available() == [name]
    assert resolve(f"./{name}") == Path(name), "a folder of the working directory is written as a path"


def test_names_that_are_not_names_are_refused():
    for bad in ("", ".", ".."):
        with pytest.raises(CheckpointError, match="not a checkpoint name"):
            resolve(bad)
    assert resolve("session-x1-vae") == ckpt_mod.scratch_dir() / "session-x1-vae"


# --- a folder that exists but cannot be used is reported, with the file and the reason ----------------------------

def test_scan_reports_every_folder_that_cannot_be_used(tmp_path):
    def saved(name: str) -> Path:
        return save_checkpoint(tmp_path / name, _tiny(), MANIFEST)

    saved("good")
    _rewrite_manifest(saved("bad-shapes"), lambda m: m["model"].update(latent_dim=3))
    (saved("bad-json") / MANIFEST_FILE).write_text("{oops")
    (saved("no-manifest") / MANIFEST_FILE).unlink()
    _rewrite_manifest(saved("old-format"), lambda m: m.update(format_version=0))
    with open(saved("bad-sha") / WEIGHTS_FILE, "ab") as f:
        f.write(b"x")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "README.md").write_text("not a checkpoint")
    found = scan(tmp_path)
    assert found.usable == ["good"]
    broken = dict(found.broken)
    assert [n for n, _ in found.broken] == ["bad-json", "bad-sha", "bad-shapes", "no-manifest", "old-format"]
    assert f"{tmp_path}/bad-json/manifest.json: manifest is not valid JSON" in broken["bad-json"]
    assert f"{tmp_path}/bad-sha/model.pt: weights file does not match the sha256" in broken["bad-sha"]
    assert f"{tmp_path}/bad-shapes/model.pt: weights do not match the model config" in broken["bad-shapes"]
    assert f"{tmp_path}/no-manifest/manifest.json is missing (a save that was interrupted" in broken["no-manifest"]
    assert f"{tmp_path}/old-format/manifest.json: format version 0 is not 1" in broken["old-format"]
    assert all("\n" not in reason for reason in broken.values())
    assert available(tmp_path) == ["bad-json", "bad-sha", "bad-shapes", "good", "old-format"]


def test_scan_names_files_in_the_checkpoint_folder_as_checkpoints_slash(tmp_path, monkeypatch):
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    (save_checkpoint(tmp_path / "m", _tiny(), MANIFEST) / MANIFEST_FILE).write_text("[]")
    assert scan().broken == [("m", "checkpoints/m/manifest.json: manifest is not a JSON object; restore or retrain "
                                    "the checkpoint")]


def test_scan_can_be_limited_to_the_names_a_page_offers(tmp_path):
    for name in ("a", "b"):
        save_checkpoint(tmp_path / name, _tiny(), MANIFEST)
    (tmp_path / "c").mkdir()
    assert scan(tmp_path, names=("a", "c", "missing")) == Scan(["a"], [("c", scan(tmp_path).broken[0][1])])
    assert scan(tmp_path, names=()) == Scan([], [])
