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
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .data import file_sha256
from . import registry
from .models import ConfigError, ModelConfig

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
SCRATCH_PREFIX = "latent-explorer-scratch-"  # the default scratch folder: this prefix, the process id, random letters
STALE_SECONDS = 60.0  # a save unfinished for this long was interrupted (a save takes well under a second)
TMP_SUFFIX = ".tmp"
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
        # The process id in the name lets the next server remove the folder of one that was killed (atexit never ran)
        _scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
        atexit.register(shutil.rmtree, _scratch, ignore_errors=True)
    return _scratch


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # another user's process (PermissionError): it exists
        return False
    return False


def remove_stale_scratch(root: str | Path | None = None) -> list[Path]:
    """Remove the default scratch folders (in the temporary folder) of server processes that no longer run, e.g. one
    killed with SIGKILL, whose unsaved models would otherwise stay on disk for good. Returns the folders removed."""
    root = Path(root) if root is not None else Path(tempfile.gettempdir())
    removed = []
    for folder in root.glob(f"{SCRATCH_PREFIX}*"):
        pid, dash, _ = folder.name[len(SCRATCH_PREFIX):].partition("-")  # PID-random; older names had no PID
        if folder.is_dir() and dash and pid.isdigit() and int(pid) != os.getpid() and _process_gone(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


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


class NameTaken(CheckpointError):
    """A new checkpoint's folder already exists (nothing was written)."""


def _is_path(text: str) -> bool:
    return "/" in text or os.sep in text or bool(os.altsep and os.altsep in text) or Path(text).is_absolute()


def resolve(name_or_path: str | Path) -> Path:
    """The folder of a checkpoint name or path.

    A name ("vae-z2", a string without a path separator) is looked up in checkpoint_dir() ("session-..." names in
    scratch_dir()) and nowhere else: never in the working directory, so a model saved as "data" is checkpoints/data
    and not the repository's data/ folder. A folder of the working directory is written as a path ("./NAME"); a Path
    object is always a folder path.
    """
    if isinstance(name_or_path, Path) or _is_path(str(name_or_path)):
        return Path(name_or_path)
    name = str(name_or_path)
    if name in ("", ".", ".."):
        raise CheckpointError(repr(name), "not a checkpoint name; name a folder in checkpoints/, e.g. vae-z2")
    if name.startswith(SESSION_PREFIX):
        return scratch_dir() / name
    return checkpoint_dir() / name


def display_path(path: str | Path) -> str:
    """A checkpoint file as a reader of the page knows it: "checkpoints/NAME/FILE" for the checkpoint folder."""
    path = Path(path)
    for root, label in ((checkpoint_dir(), "checkpoints"), (CHECKPOINT_DIR, "checkpoints")):
        try:
            return str(Path(label) / path.resolve().relative_to(Path(root).resolve()))
        except ValueError:
            continue
    return str(path)


def available(directory: str | Path | None = None) -> list[str]:
    """Names of the checkpoint folders in `directory` (default: checkpoint_dir()) that have a manifest, sorted."""
    d = Path(directory) if directory is not None else checkpoint_dir()
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir() if (p / MANIFEST_FILE).is_file())


@dataclass(frozen=True)
class Scan:
    """What a folder of checkpoints holds: the names that load, and why the others cannot be used."""
    usable: list[str]  # sorted names whose manifest, model config, weights and sha256 are all good
    broken: list[tuple[str, str]]  # (name, one line naming the file and what is wrong), sorted by name


def _only_save_files(folder: Path) -> bool:
    """True when `folder` holds nothing but what a save writes before its manifest (model.pt, *.tmp files)."""
    return all(p.is_file() and (p.name == WEIGHTS_FILE or p.name.endswith(TMP_SUFFIX)) for p in folder.iterdir())


def _reason(error: CheckpointError) -> str:
    return f"{display_path(error.path)}: {error.problem}"


def scan(directory: str | Path | None = None, load=None, names=None) -> Scan:
    """Check every checkpoint folder in `directory` (default: checkpoint_dir()), or only those among `names`, by
    loading it with `load(name)` (default: load_checkpoint on the CPU; a caller with a cache passes its cached
    loader). A name in `names` without a folder is neither usable nor broken: it is simply not there.

    A folder that exists but cannot be used is reported, never dropped: a missing manifest (an interrupted save, or
    a folder that is not a checkpoint), a manifest that is not valid, weights that are missing, fail their sha256 or
    do not fit the model config. Hidden folders (".name") and files are not checkpoints and are skipped.
    """
    d = Path(directory) if directory is not None else checkpoint_dir()
    load = load or (lambda name: load_checkpoint(d / name))
    usable, broken = [], []
    if not d.is_dir():
        return Scan(usable, broken)
    for folder in sorted(d.iterdir()):
        if not folder.is_dir() or folder.name.startswith(".") or (names is not None and folder.name not in names):
            continue
        if not (folder / MANIFEST_FILE).is_file():
            what = ("a save that was interrupted: it holds only " + (", ".join(sorted(p.name for p in folder.iterdir()))
                                                                     or "nothing")
                    if _only_save_files(folder) else "not a checkpoint folder")
            broken.append((folder.name, f"{display_path(folder / MANIFEST_FILE)} is missing ({what}); delete the "
                                        "folder or retrain the checkpoint with `python -m vae.train`"))
            continue
        try:
            load(folder.name)
        except CheckpointError as e:
            broken.append((folder.name, _reason(e)))
        else:
            usable.append(folder.name)
    return Scan(usable, broken)


def _newest_change(path: Path) -> float:
    times = [path.stat().st_mtime] + ([p.stat().st_mtime for p in path.iterdir()] if path.is_dir() else [])
    return max(times)


def leftovers(directory: str | Path | None = None, min_age: float = STALE_SECONDS) -> list[Path]:
    """What interrupted saves left in `directory` (default: checkpoint_dir()), untouched for `min_age` seconds:
    folders without a manifest that hold nothing but model.pt and .tmp files (or nothing), and .tmp files inside
    checkpoint folders. A folder with anything else in it is not ours to delete: scan() reports it instead."""
    d = Path(directory) if directory is not None else checkpoint_dir()
    if not d.is_dir():
        return []
    now, found = time.time(), []
    for folder in sorted(d.iterdir()):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        try:
            if not (folder / MANIFEST_FILE).exists():
                if _only_save_files(folder) and now - _newest_change(folder) >= min_age:
                    found.append(folder)
            else:
                found += [p for p in sorted(folder.glob(f"*{TMP_SUFFIX}"))
                          if p.is_file() and now - p.stat().st_mtime >= min_age]
        except FileNotFoundError:  # removed meanwhile
            continue
    return found


def clean_leftovers(directory: str | Path | None = None, min_age: float = STALE_SECONDS) -> list[str]:
    """Remove leftovers(directory, min_age) so their names are free again; one line for each thing removed."""
    done = []
    for path in leftovers(directory, min_age):
        if path.is_dir():
            contents = ", ".join(sorted(p.name for p in path.iterdir())) or "nothing"
            shutil.rmtree(path, ignore_errors=True)
            done.append(f"removed {display_path(path)}/, left by an interrupted save (it held {contents})")
        else:
            path.unlink(missing_ok=True)
            done.append(f"removed {display_path(path)}, a temporary file left by an interrupted write")
    return done


def startup_cleanup() -> list[str]:
    """What a server does once when it starts: remove the scratch folders of servers that were killed and the
    leftovers of interrupted saves in checkpoint_dir(). One line for each thing removed (for the server's log)."""
    done = [f"removed {p}, the unsaved models of a server process that no longer runs" for p in remove_stale_scratch()]
    return done + clean_leftovers()


def _fsync_dir(folder: Path) -> None:
    """Make a rename or a new entry in `folder` durable (a no-op where directories cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path: Path, write) -> None:
    """Write `path` through a temporary file beside it (NAME...tmp): written, fsynced, then renamed over `path`, so
    a reader sees the old file or the whole new one, and a crash leaves at most a .tmp file behind."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=TMP_SUFFIX)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    _fsync_dir(path.parent)


def _save_tensors(state: dict, path: str) -> None:
    """torch.save through an open file: given a path, torch names the zip archive's inner folder after the file, and
    the temporary name _atomic_write picks is random, so equal weights gave different bytes (and sha256)."""
    with open(path, "wb") as f:
        torch.save(state, f)


def _write_manifest(folder: Path, text: str) -> None:
    _atomic_write(folder / MANIFEST_FILE, lambda tmp: Path(tmp).write_text(text))


def save_checkpoint(folder: str | Path, model: torch.nn.Module, manifest: dict, *, new: bool = False) -> Path:
    """Write model.pt (state_dict of the unwrapped model, on CPU) and manifest.json into `folder`.

    `manifest` holds everything but the model config, format version and weights hash, which are added here.
    Each file is written to a temporary file, fsynced and renamed; the manifest comes last, so a folder whose
    manifest exists is complete. With `new=True` (saves from the app) the folder is created here and must not exist
    yet: of two saves of one name at the same moment exactly one creates it, the other gets NameTaken and writes
    nothing; a save that fails removes the folder it created. Without it (the training commands) an existing
    checkpoint is replaced, file by file.
    """
    folder = Path(folder)
    module = getattr(model, "_orig_mod", getattr(model, "module", model))  # unwrap torch.compile / DataParallel
    state = {k: v.detach().to("cpu").clone() for k, v in module.state_dict().items()}
    full = {"format_version": FORMAT_VERSION, "name": folder.name, "model": module.config.to_dict(), **manifest}
    missing = [k for k in REQUIRED_KEYS if k not in full and k != "weights_sha256"]
    if missing:
        raise ValueError(f"manifest is missing {missing}")
    if new:
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            folder.mkdir()  # atomic: fails if the folder exists, whoever made it and whenever
        except FileExistsError:
            raise NameTaken(folder, "already exists; pick another name (nothing was overwritten)") from None
        _fsync_dir(folder.parent)
    else:
        folder.mkdir(parents=True, exist_ok=True)
    try:
        weights = folder / WEIGHTS_FILE
        _atomic_write(weights, lambda tmp: _save_tensors(state, tmp))
        full["weights_sha256"] = file_sha256(weights)
        _write_manifest(folder, json.dumps(full, indent=2, sort_keys=False) + "\n")
    except BaseException:
        if new:
            shutil.rmtree(folder, ignore_errors=True)
        raise
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
    _write_manifest(folder, json.dumps(manifest, indent=2) + "\n")
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
    """The untrained model a manifest's "model" entry describes: one lookup of its kind in vae.registry."""
    return registry.build(model_config)


def _refused_pickle(torch_message: str) -> str:
    """Why torch's weights-only loader refused a file, in one line, without torch's advice to load it unsafely
    (weights_only=False would unpickle, and so run, whatever objects the file names)."""
    found = re.search(r"GLOBAL ([\w.]+)", torch_message)
    if found:
        return (f"refused: this is not a plain weights file (it names {found.group(1)}). It pickles Python objects, "
                "and loading those could run code, so Latent Explorer reads tensors only; save the model's "
                "state_dict, or retrain the checkpoint with `python -m vae.train`")
    detail = re.search(r"WeightsUnpickler error:\s*([^\n]+)", torch_message)
    return (f"weights cannot be read (not a plain weights file{': ' + detail.group(1)[:120] if detail else ''}); "
            "restore it or retrain the checkpoint")


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
