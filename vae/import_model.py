"""Bring your own model: a VAE trained elsewhere, read from its saved weights and made a Latent Explorer checkpoint.

    python -m vae.import_model FILE --name NAME

FILE is either the `state_dict` of the course notebook's VAE (the layout of pytorch/examples' vae/main.py: layers
fc1, fc21 (mu), fc22 (logvar), fc3, fc4, ReLU between them, a sigmoid on the output), saved with
`torch.save(model.state_dict(), FILE)`, any hidden and latent size; or a checkpoint folder of Latent Explorer's.

Nothing in FILE is run: it is read with `torch.load(weights_only=True)`, which accepts tensors and plain containers
only. The layout is recognised from the keys and shapes, then the weights are written into the model family the app
already draws: our MLP VAE with one hidden layer of the same width and ReLU computes exactly the notebook's functions
(encoder fc1 -> ReLU -> [fc21 | fc22], decoder fc3 -> ReLU -> fc4; our decoder returns the logits whose sigmoid the
notebook returns), so every page, the browser's decoder included, works unchanged. The model is then evaluated on the
10,000 test images with our losses and written through `vae.checkpoint.save_checkpoint`, with "imported from FILE"
and the file's sha256 in its manifest.

Every refusal raises `ImportRefused` with one line that says what is wrong and what to do; nothing is loaded then.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import pickletools
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import checkpoint as ckpt_mod
from . import registry
from .data import Mnist, file_sha256
from .device import platform_info
from .models import N_PIXELS, ConfigError, ModelConfig, build_model
from .train import evaluate, images_to_tensor

NOTEBOOK_LAYERS = ("fc1", "fc21", "fc22", "fc3", "fc4")  # the course notebook's / pytorch/examples' VAE
NOTEBOOK_KEYS = tuple(f"{layer}.{p}" for layer in NOTEBOOK_LAYERS for p in ("weight", "bias"))
MAX_FILE_BYTES = 200 * 2**20  # the command line's limit: a 784-4096-64 VAE is about 26 MB
UPLOAD_LIMIT_BYTES = 10 * 2**20  # the app's limit (the server's upload limit): a 784-400-20 VAE is about 2.6 MB
MIN_LATENT, MAX_LATENT = 2, 64  # 2: the live planes; 3 to 64: the Disentanglement page's bars and traversal rows
MAX_HIDDEN = 4096  # widest hidden layer accepted (memory and the browser decoder's payload)
SAVE_HINT = "in your notebook run torch.save(model.state_dict(), 'vae.pt') and import that file"
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")  # dicts that training scripts often wrap weights in
PREFIXES = ("module.", "_orig_mod.")  # left on the keys by DataParallel and torch.compile


class ImportRefused(ValueError):
    """A file or folder that cannot be imported; the message is one line saying why and what to do."""


@dataclass(frozen=True)
class Imported:
    """A model made from outside weights, evaluated, ready to be written as a checkpoint."""

    model: torch.nn.Module  # our VAE, eval mode, on the CPU
    layout: str  # what the source was, in words
    source: str  # the file's name as given (shown and recorded as "imported from ...")
    source_sha256: str  # of the file's bytes (of model.pt for a checkpoint folder)
    test_metrics: dict[str, float]  # recon, kl, neg_elbo: nats per test image

    @property
    def config(self) -> ModelConfig:
        return self.model.config


# --- reading a file without running it ------------------------------------------------------------------------

def _pickle_globals(data: bytes) -> list[str]:
    """"module.name" of every class or function a torch file's pickle names, read opcode by opcode (nothing runs)."""
    payload = data
    try:
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                member = next((n for n in archive.namelist() if n.endswith("data.pkl")), None)
                if member is None:
                    return []
                payload = archive.read(member)
        names: list[str] = []
        strings: list[str] = []
        for op, arg, _ in pickletools.genops(payload):
            if op.name == "GLOBAL":
                names.append(str(arg).replace(" ", "."))
            elif isinstance(arg, str):
                strings.append(arg)
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                names.append(f"{strings[-2]}.{strings[-1]}")
        return names
    except Exception:  # a damaged pickle: the caller says what torch said
        return []


def _explain_refusal(data: bytes, what: str) -> str:
    """Why torch's weights-only loader refused `data`: a whole nn.Module, or objects that would run code."""
    names = _pickle_globals(data)
    if any(n.startswith("torch.nn.modules.") for n in names):
        own = next((n for n in names if not n.startswith(("torch.", "collections."))), None)
        which = f" ({own.rsplit('.', 1)[-1]})" if own else ""
        return (f"{what} holds a whole model object{which}, saved with torch.save(model); loading it would run its "
                f"code, so it is refused. Save its weights instead: {SAVE_HINT}.")
    foreign = [n for n in names if not n.startswith(("torch.", "collections.", "builtins.set"))]
    named = f" (it names {foreign[0]})" if foreign else ""
    return (f"{what} holds Python objects that would run code when loaded{named}, so nothing was loaded; "
            f"{SAVE_HINT}.")


def read_state_dict(source: str | Path | bytes, what: str | None = None,
                    max_bytes: int = MAX_FILE_BYTES) -> tuple[dict[str, torch.Tensor], str]:
    """A file's tensors by name (float32, on the CPU) and the sha256 of its bytes, read with weights_only=True.

    source: a path or the file's bytes (an upload); what: how messages name it. Refuses files over `max_bytes`, files
    torch.save did not write, whole pickled models, pickles that would run code and anything that is not a
    state_dict, each with one line.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        what = what or str(source)
        if path.is_dir():
            raise ImportRefused(f"{what} is a folder without a Latent Explorer manifest.json; pass the weights file "
                                "saved with torch.save(model.state_dict(), FILE), or a checkpoint folder.")
        if not path.is_file():
            raise ImportRefused(f"{what} not found; pass the file saved with torch.save(model.state_dict(), FILE).")
        size = path.stat().st_size
        if size > max_bytes:
            raise ImportRefused(f"{what} is {size / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB limit; a "
                                "784-400-20 VAE's state_dict is about 2.6 MB: save only the state_dict.")
        data = path.read_bytes()
    else:
        data = bytes(source)
        what = what or "the file"
        if len(data) > max_bytes:
            raise ImportRefused(f"{what} is {len(data) / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB "
                                "limit; a 784-400-20 VAE's state_dict is about 2.6 MB: save only the state_dict.")
    if not data:
        raise ImportRefused(f"{what} is empty; {SAVE_HINT}.")
    sha = hashlib.sha256(data).hexdigest()
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if _pickle_globals(data) or "unsupported global" in str(e).lower():
            raise ImportRefused(_explain_refusal(data, what)) from None
        raise ImportRefused(f"{what} is not a file written by torch.save ({_first_line(e)}); {SAVE_HINT}.") from None
    except Exception as e:  # torch raises several types for files it did not write
        raise ImportRefused(f"{what} is not a file written by torch.save ({_first_line(e)}); {SAVE_HINT}.") from None
    return _as_state_dict(obj, what), sha


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:120]}" if text else type(e).__name__


def _as_state_dict(obj, what: str) -> dict[str, torch.Tensor]:
    """The loaded object as {name: float32 tensor}: unwraps {"state_dict": ...} and DataParallel/compile prefixes."""
    if isinstance(obj, dict):
        for key in WRAPPER_KEYS:
            if isinstance(obj.get(key), dict) and not isinstance(obj.get(key), torch.Tensor):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        kind = type(obj).__name__ if not isinstance(obj, dict) else "an empty dict"
        raise ImportRefused(f"{what} holds {kind}, not a state_dict of tensors; {SAVE_HINT}.")
    state: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise ImportRefused(f"{what} is not a state_dict: entry {str(key)[:40]!r} holds "
                                f"{type(value).__name__}, not a tensor; {SAVE_HINT}.")
        if not value.is_floating_point():
            raise ImportRefused(f"{what}: {key} holds {value.dtype} values, not floating-point weights; {SAVE_HINT}.")
        for prefix in PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        state[key] = value.detach().to("cpu", torch.float32)
    return state


# --- recognising a layout ----------------------------------------------------------------------------------------

def _shape(state: dict[str, torch.Tensor], key: str) -> tuple[int, ...]:
    return tuple(state[key].shape)


def notebook_config(state: dict[str, torch.Tensor], what: str = "the file") -> ModelConfig:
    """The ModelConfig of our VAE that computes the notebook VAE `state` holds; ImportRefused if it holds another.

    Shapes (H hidden, Z latent): fc1 (H, 784), fc21 and fc22 (Z, H), fc3 (H, Z), fc4 (784, H), each bias its row count.
    """
    keys = set(state)
    if keys != set(NOTEBOOK_KEYS):
        raise ImportRefused(_unknown_layout(state, what))
    hidden, n_in = _shape(state, "fc1.weight")
    latent = _shape(state, "fc21.weight")[0]
    expected = {"fc1.weight": (hidden, n_in), "fc21.weight": (latent, hidden), "fc22.weight": (latent, hidden),
                "fc3.weight": (hidden, latent), "fc4.weight": (n_in, hidden)}
    for key, shape in expected.items():
        if _shape(state, key) != shape:
            raise ImportRefused(f"{what}: {key} has shape {_shape(state, key)}, but the other layers make it "
                                f"{shape} (hidden {hidden}, latent {latent}); the weights do not form one VAE.")
        bias = key.replace("weight", "bias")
        if _shape(state, bias) != (shape[0],):
            raise ImportRefused(f"{what}: {bias} has shape {_shape(state, bias)}, expected ({shape[0]},).")
    if n_in != N_PIXELS:
        raise ImportRefused(f"{what}: the model reads {n_in} inputs, but the app shows 28x28 = {N_PIXELS}-pixel "
                            "images; train it on MNIST's 28x28 digits (flattened) to import it.")
    if not MIN_LATENT <= latent <= MAX_LATENT:
        raise ImportRefused(f"{what}: latent size {latent} cannot be shown: the planes need 2 dimensions and the "
                            f"Disentanglement page takes 3 to {MAX_LATENT}; train with latent_dim from {MIN_LATENT} "
                            f"to {MAX_LATENT}.")
    if hidden > MAX_HIDDEN:
        raise ImportRefused(f"{what}: hidden width {hidden} is over the {MAX_HIDDEN} the app accepts.")
    return ModelConfig(kind="vae", latent_dim=latent, arch="mlp", hidden=(hidden,), activation="relu")


def _unknown_layout(state: dict[str, torch.Tensor], what: str) -> str:
    keys = sorted(state)
    if any(k.startswith(("encoder.", "decoder.")) for k in keys):
        return (f"{what} looks like a Latent Explorer model.pt: its manifest.json says how to build it, so import "
                "the whole checkpoint folder (python -m vae.import_model FOLDER --name NAME) or copy it into "
                "checkpoints/.")
    shown = ", ".join(keys[:6]) + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")
    missing = [k for k in NOTEBOOK_KEYS if k not in state]
    hint = f"; missing {', '.join(missing[:4])}" if missing and len(missing) < len(NOTEBOOK_KEYS) else ""
    return (f"{what} holds another architecture (keys {shown}{hint}); the importer knows the course notebook's VAE: "
            f"fc1, fc21, fc22, fc3, fc4, each with weight and bias.")


def convert_notebook(state: dict[str, torch.Tensor], what: str = "the file") -> torch.nn.Module:
    """Our VAE holding the notebook VAE's weights, in eval mode on the CPU.

    Our encoder's last layer outputs [mu | logvar] (VAE.encode splits it in two), so its weight is fc21's rows over
    fc22's; the decoder returns logits, and the notebook's output sigmoid(fc4(...)) is their sigmoid.
    """
    config = notebook_config(state, what)
    for key, value in state.items():
        if not torch.isfinite(value).all():
            raise ImportRefused(f"{what}: {key} holds NaN or infinite values; the model diverged while training. "
                                "Retrain it (a lower learning rate helps) and import it again.")
    model = build_model(config)
    enc = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)]
    dec = [m for m in model.decoder.modules() if isinstance(m, torch.nn.Linear)]
    sources = {enc[0]: ("fc1",), enc[1]: ("fc21", "fc22"), dec[0]: ("fc3",), dec[1]: ("fc4",)}
    with torch.no_grad():
        for linear, layers in sources.items():
            linear.weight.copy_(torch.cat([state[f"{layer}.weight"] for layer in layers]))
            linear.bias.copy_(torch.cat([state[f"{layer}.bias"] for layer in layers]))
    return model.eval().requires_grad_(False)


# --- evaluating and writing -----------------------------------------------------------------------------------

def evaluate_on_test_set(model: torch.nn.Module, x_test_uint8: np.ndarray) -> dict[str, float]:
    """recon, kl and neg_elbo (nats per image) over the test images, one eps draw per image from vae.train's fixed
    evaluation seed: the numbers every checkpoint's manifest holds."""
    terms = evaluate(model, images_to_tensor(x_test_uint8), beta=1.0)
    if not registry.has_posterior(model):  # no KL term, no ELBO
        return {"recon": terms["recon"]}
    return {k: terms[k] for k in ("recon", "kl", "neg_elbo")}


def import_file(source: str | Path | bytes, mnist: Mnist, what: str | None = None,
                max_bytes: int = MAX_FILE_BYTES) -> Imported:
    """Read, recognise, convert and evaluate a notebook VAE's state_dict (a path or an upload's bytes)."""
    what = what or str(source)
    state, sha = read_state_dict(source, what, max_bytes)
    model = convert_notebook(state, what)
    return Imported(model, "the course notebook's VAE (fc1, fc21, fc22, fc3, fc4)", what, sha,
                    evaluate_on_test_set(model, mnist.x_test))


def import_folder(folder: str | Path, mnist: Mnist) -> Imported:
    """A Latent Explorer checkpoint folder, loaded as the app loads one (sha256 checked) and evaluated again."""
    try:
        loaded = ckpt_mod.load_checkpoint(Path(folder))
    except ckpt_mod.CheckpointError as e:
        raise ImportRefused(str(e)) from None
    model = loaded.model
    if not isinstance(getattr(model, "config", None), ModelConfig):
        raise ImportRefused(f"{folder} holds a {loaded.manifest['model'].get('kind')!r} model, not an AE or a VAE; "
                            "only those can be explored.")
    if not MIN_LATENT <= model.config.latent_dim <= MAX_LATENT:
        raise ImportRefused(f"{folder}: latent size {model.config.latent_dim} cannot be shown: the planes need 2 "
                            f"dimensions and the Disentanglement page takes 3 to {MAX_LATENT}.")
    return Imported(model, f"a Latent Explorer checkpoint ({loaded.name})", str(folder),
                    loaded.manifest["weights_sha256"], evaluate_on_test_set(model, mnist.x_test))


def import_path(path: str | Path, mnist: Mnist, max_bytes: int = MAX_FILE_BYTES) -> Imported:
    """A checkpoint folder of ours when `path` is one, else a notebook VAE's state_dict file."""
    p = Path(path)
    if p.is_dir() and (p / ckpt_mod.MANIFEST_FILE).is_file():
        return import_folder(p, mnist)
    return import_file(p, mnist, str(path), max_bytes)


def manifest(imported: Imported, command: str, data_path: str | Path | None = None) -> dict:
    """Everything save_checkpoint needs besides the model: provenance, test metrics, data fingerprint, versions.

    The model was not trained here: "training" records only the beta its test metrics use and that it was imported,
    and "history" is empty. data_path: the file the test metrics were computed on (None: the dataset's own)."""
    return {
        "training": {"beta": 1.0, "imported": True},
        "history": [],
        "test_metrics": imported.test_metrics,
        "data": registry.data_record(file_sha256(data_path or registry.dataset().path), test_images=10000),
        "versions": platform_info(),  # library versions, maths library, CPU and its flags, threads
        "command": command,
        "provenance": f"imported from {imported.source}",
        "imported_from": {"file": imported.source, "sha256": imported.source_sha256, "layout": imported.layout},
    }


def write_checkpoint(imported: Imported, folder: str | Path, command: str,
                     data_path: str | Path | None = None) -> Path:
    """Write the imported model as a new checkpoint folder (model.pt, manifest.json with sha256), atomically as the
    Train page saves: the folder must not exist yet, and of two writes of one name at the same moment one wins and
    the other gets ImportRefused having written nothing."""
    return _save_new(Path(folder), imported.model, manifest(imported, command, data_path))


def _save_new(folder: Path, model: torch.nn.Module, manifest_: dict) -> Path:
    try:
        return ckpt_mod.save_checkpoint(folder, model, manifest_, new=True)
    except ckpt_mod.NameTaken:
        raise ImportRefused(f"checkpoints/{folder.name} already exists: pick another name (nothing was "
                            "overwritten).") from None


def command_for(source: str, name: str) -> str:
    return f"python -m vae.import_model {source} --name {name}"


def check_name(name: str) -> str:
    """A new checkpoint name (the Train page's rules: vae.live.check_name), as ImportRefused when refused."""
    from .live import LiveError
    from .live import check_name as live_check_name

    try:
        return live_check_name(name)
    except LiveError as e:
        raise ImportRefused(str(e)) from None


def keep(session_name: str, name: str) -> Path:
    """Copy an imported model waiting in the scratch folder into checkpoints/`name` (only on request)."""
    name = check_name(name)
    try:
        loaded = ckpt_mod.load_checkpoint(session_name)
    except ckpt_mod.CheckpointError as e:
        raise ImportRefused(str(e)) from None
    kept = {k: v for k, v in loaded.manifest.items() if k not in ("format_version", "name", "model", "weights_sha256")}
    kept["command"] = command_for(loaded.manifest.get("imported_from", {}).get("file", "FILE"), name)
    return _save_new(ckpt_mod.checkpoint_dir() / name, loaded.model, kept)


# --- command line ------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    from .data import DataError

    parser = argparse.ArgumentParser(prog="python -m vae.import_model", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", metavar="FILE", help="a state_dict saved with torch.save(model.state_dict(), "
                                                       "FILE), or a Latent Explorer checkpoint folder")
    parser.add_argument("--name", required=True, help="the new checkpoint's name in checkpoints/")
    parser.add_argument("--data", default=str(registry.dataset().path), help="the dataset's .npz file")
    args = parser.parse_args(argv)
    try:
        name = check_name(args.name)
        mnist = registry.dataset().load(args.data)
        imported = import_path(args.source, mnist)
        out = write_checkpoint(imported, ckpt_mod.checkpoint_dir() / name, command_for(args.source, name), args.data)
    except (ImportRefused, DataError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    cfg = imported.config
    print(f"imported {imported.layout}: {cfg.kind.upper()} 784-{'-'.join(map(str, cfg.hidden))}-{cfg.latent_dim}")
    print("test: " + "  ".join(f"{k} {v:.2f}" for k, v in imported.test_metrics.items()) + " (nats per image)")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
