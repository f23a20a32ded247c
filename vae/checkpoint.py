"""The only code that reads or writes checkpoint folders.

A checkpoint is a folder:
    model.pt        the unwrapped model's state_dict (tensors only: loads with weights_only=True)
    manifest.json   model config, training config, per-epoch history, final test metrics, data sha256, versions,
                    the exact training command, and the sha256 of model.pt

Everything that can go wrong while loading raises CheckpointError, whose message names the file and what is wrong.
"""

from __future__ import annotations

import atexit
import json
import os
import pickle
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from .data import file_sha256
from .models import ConfigError, ModelConfig, build_model

FORMAT_VERSION = 1
WEIGHTS_FILE = "model.pt"
MANIFEST_FILE = "manifest.json"
REQUIRED_KEYS = ("format_version", "model", "training", "history", "test_metrics", "data", "versions", "command",
                 "weights_sha256")
REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT_DIR = REPO_ROOT / "checkpoints"
CHECKPOINT_DIR_ENV = "LATENT_EXPLORER_CHECKPOINTS"  # another folder of checkpoints to look names up in


SESSION_PREFIX = "session-"  # names of models trained live in the app: they wait in scratch_dir() until saved
SCRATCH_DIR_ENV = "LATENT_EXPLORER_SCRATCH"  # where those wait (default: a temporary folder of this process)
_scratch: Path | None = None


def checkpoint_dir() -> Path:
    """Where checkpoint names are looked up: $LATENT_EXPLORER_CHECKPOINTS, else the shipped checkpoints/."""
    return Path(os.environ.get(CHECKPOINT_DIR_ENV) or CHECKPOINT_DIR)


def scratch_dir() -> Path:
    """Where models trained in an app session are kept until someone saves one: $LATENT_EXPLORER_SCRATCH, else a
    temporary folder made once per process and removed when the process exits (they are never checkpoints/)."""
    global _scratch
    if os.environ.get(SCRATCH_DIR_ENV):
        path = Path(os.environ[SCRATCH_DIR_ENV])
        path.mkdir(parents=True, exist_ok=True)
        return path
    if _scratch is None:
        _scratch = Path(tempfile.mkdtemp(prefix="latent-explorer-scratch-"))
        atexit.register(shutil.rmtree, _scratch, ignore_errors=True)
    return _scratch


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, truncated or does not match its config."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass
class Checkpoint:
    model: torch.nn.Module  # on the requested device, in eval mode, parameters frozen
    manifest: dict
    path: Path

    @property
    def name(self) -> str:
        return self.manifest.get("name", self.path.name)

    @property
    def config(self) -> ModelConfig:
        return self.model.config


def resolve(name_or_path: str | Path) -> Path:
    """A checkpoint name like "vae-z2" (looked up in checkpoints/), "session-..." (scratch_dir()) or a folder path."""
    p = Path(name_or_path)
    if p.is_dir() or p.is_absolute() or len(p.parts) > 1:
        return p
    if p.name.startswith(SESSION_PREFIX):
        return scratch_dir() / p
    return checkpoint_dir() / p


def available(directory: str | Path | None = None) -> list[str]:
    """Names of the checkpoint folders in `directory` (default: checkpoint_dir()) that have a manifest, sorted."""
    d = Path(directory) if directory is not None else checkpoint_dir()
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir() if (p / MANIFEST_FILE).is_file())


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _save_tensors(state: dict, path: str) -> None:
    """torch.save through an open file: given a path, torch names the zip archive's inner folder after the file, and
    the temporary name _atomic_write picks is random, so equal weights gave different bytes (and sha256)."""
    with open(path, "wb") as f:
        torch.save(state, f)


def save_checkpoint(folder: str | Path, model: torch.nn.Module, manifest: dict) -> Path:
    """Write model.pt (state_dict of the unwrapped model, on CPU) and manifest.json into `folder`.

    `manifest` holds everything but the model config, format version and weights hash, which are added here.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    module = getattr(model, "_orig_mod", getattr(model, "module", model))  # unwrap torch.compile / DataParallel
    state = {k: v.detach().to("cpu").clone() for k, v in module.state_dict().items()}
    weights = folder / WEIGHTS_FILE
    _atomic_write(weights, lambda tmp: _save_tensors(state, tmp))
    full = {"format_version": FORMAT_VERSION, "name": folder.name, "model": module.config.to_dict(), **manifest,
            "weights_sha256": file_sha256(weights)}
    missing = [k for k in REQUIRED_KEYS if k not in full]
    if missing:
        raise ValueError(f"manifest is missing {missing}")
    text = json.dumps(full, indent=2, sort_keys=False) + "\n"
    _atomic_write(folder / MANIFEST_FILE, lambda tmp: Path(tmp).write_text(text))
    return folder


def record_metrics(folder: str | Path, key: str, values: dict) -> dict:
    """Add `values` under `key` to a checkpoint's manifest (e.g. an IWAE bound computed after training).

    The weights are untouched, so their sha256 stays valid. Keys written by training cannot be replaced this way.
    """
    if key in REQUIRED_KEYS or key in ("name", "model"):
        raise ValueError(f"{key!r} is written by training and cannot be replaced")
    folder = resolve(folder)
    manifest = read_manifest(folder)
    manifest[key] = values
    text = json.dumps(manifest, indent=2) + "\n"
    _atomic_write(folder / MANIFEST_FILE, lambda tmp: Path(tmp).write_text(text))
    return manifest


def read_manifest(folder: str | Path) -> dict:
    """The manifest of a checkpoint folder, checked for the keys every checkpoint has."""
    folder = resolve(folder)
    if not folder.is_dir():
        raise CheckpointError(folder, "checkpoint folder not found; list the shipped ones in checkpoints/ or train "
                                      "one with `python -m vae.train --out checkpoints/NAME`")
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise CheckpointError(path, "manifest.json is missing; retrain the checkpoint with `python -m vae.train`")
    try:
        manifest = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(path, f"manifest is not valid JSON ({e}); restore or retrain the checkpoint") from None
    if not isinstance(manifest, dict):
        raise CheckpointError(path, "manifest is not a JSON object; restore or retrain the checkpoint")
    missing = [k for k in REQUIRED_KEYS if k not in manifest]
    if missing:
        raise CheckpointError(path, f"manifest lacks {', '.join(missing)}; restore or retrain the checkpoint")
    if manifest["format_version"] != FORMAT_VERSION:
        raise CheckpointError(path, f"format version {manifest['format_version']} is not {FORMAT_VERSION}; "
                                    "retrain the checkpoint with this version of Latent Explorer")
    return manifest


def _build(model_config: dict) -> torch.nn.Module:
    """The untrained model a manifest's "model" entry describes: the judge classifier, the pixel Gaussian, or an
    AE/VAE."""
    if not isinstance(model_config, dict):
        raise ConfigError(f"model config must be a JSON object, got {type(model_config).__name__}")
    if model_config.get("kind") == "judge":
        from .judge import Judge, JudgeConfig  # the judge module imports this one: import here, not at the top
        return Judge(JudgeConfig.from_dict(model_config))
    if model_config.get("kind") == "gaussian":
        from .gaussian import GaussianConfig, PixelGaussian  # likewise imports this module
        return PixelGaussian(GaussianConfig.from_dict(model_config))
    return build_model(ModelConfig.from_dict(model_config))


def _refused_pickle(torch_message: str) -> str:
    """Why a weights file that pickles Python objects is refused, in one line, without torch's advice to load it
    unsafely (the objects named in such a file can run code while they are unpickled)."""
    found = re.search(r"GLOBAL ([\w.]+)", torch_message)
    what = f" (it names {found.group(1)})" if found else ""
    return (f"refused: this is not a plain weights file{what}. It pickles Python objects, and loading those could "
            "run code, so Latent Explorer reads tensors only; save the model's state_dict, or retrain the "
            "checkpoint with `python -m vae.train`")


def load_checkpoint(folder: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Build the model from the manifest's config and load its weights strictly (weights_only=True).

    The model comes back in eval mode with frozen parameters. Raises CheckpointError on any problem.
    """
    folder = resolve(folder)
    manifest = read_manifest(folder)
    manifest_path = folder / MANIFEST_FILE
    try:
        model = _build(manifest["model"])
    except (ConfigError, TypeError) as e:
        raise CheckpointError(manifest_path, f"model config is invalid ({e}); retrain the checkpoint") from None
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(weights, "weights file is missing; restore it (git checkout) or retrain the checkpoint")
    if file_sha256(weights) != manifest["weights_sha256"]:
        raise CheckpointError(weights, "weights file does not match the sha256 in manifest.json (truncated, corrupt "
                                       "or from another run); restore it (git checkout) or retrain the checkpoint")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # torch's own text goes on to suggest weights_only=False, which would run whatever code the file holds
        raise CheckpointError(weights, _refused_pickle(str(e))) from None
    except Exception as e:  # torch raises several types for a damaged file
        raise CheckpointError(weights, f"weights cannot be read ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
                                       "restore it or retrain the checkpoint") from None
    if not isinstance(state, dict):
        raise CheckpointError(weights, "weights file does not hold a state_dict; retrain the checkpoint")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        detail = " ".join(str(e).split())[:300]
        raise CheckpointError(weights, f"weights do not match the model config in manifest.json ({detail}); "
                                       "retrain the checkpoint") from None
    model.eval().requires_grad_(False)
    return Checkpoint(model=model.to(device), manifest=manifest, path=folder)
