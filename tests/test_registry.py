"""The model-family and dataset tables: every family builds, round-trips through a checkpoint and is refused by name
when unknown; every family has a tiny test config; the shipped dataset's fingerprint matches its file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import TINY_FAMILIES
from vae import checkpoint as ckpt_mod
from vae import registry
from vae.data import file_sha256
from vae.models import ConfigError

MANIFEST = {"training": {}, "history": [], "test_metrics": {}, "data": {}, "versions": {}, "command": "test"}


def test_every_registered_family_has_a_tiny_test_config():
    missing = sorted(set(registry.FAMILIES) - set(TINY_FAMILIES))
    assert not missing, f"add a tiny config for {missing} to tests/helpers.py TINY_FAMILIES"
    assert set(TINY_FAMILIES) == set(registry.FAMILIES), "a tiny config names a family that is not registered"


@pytest.mark.parametrize("kind", sorted(registry.FAMILIES))
def test_each_family_builds_its_module_and_round_trips_through_a_checkpoint(tmp_path, kind):
    fam = registry.family(kind)
    torch.manual_seed(0)
    model = registry.build(TINY_FAMILIES[kind])
    assert isinstance(model, fam.module_type()) and isinstance(model.config, fam.config_type())
    assert model.config.kind == kind and model.config.to_dict() == TINY_FAMILIES[kind]
    with torch.no_grad():
        for buffer in model.buffers():  # the pixel Gaussian's state is buffers: make them differ from the init
            buffer.add_(torch.rand_like(buffer).tril() if buffer.dim() == 2 else torch.rand_like(buffer))
    loaded = ckpt_mod.load_checkpoint(ckpt_mod.save_checkpoint(tmp_path / kind, model, MANIFEST))
    assert type(loaded.model) is type(model)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key


def test_the_tiny_autoencoder_configs_cover_every_explorable_family():
    from helpers import TINY

    assert {kind for kind, _ in TINY} == set(registry.EXPLORABLE_KINDS)


def test_the_explorable_families_are_the_ones_models_py_builds():
    from vae.models import MODEL_CLASSES, MODEL_KINDS

    assert set(MODEL_KINDS) == set(registry.EXPLORABLE_KINDS)
    assert {k: c for k, c in MODEL_CLASSES.items()} == {k: registry.family(k).module_type()
                                                         for k in registry.EXPLORABLE_KINDS}


def test_unknown_kinds_and_bad_entries_are_refused_with_the_known_ones():
    with pytest.raises(ConfigError, match="Unknown model kind 'flow'. Possible values: ae, vae, judge, gaussian"):
        registry.build({"kind": "flow"})
    with pytest.raises(ConfigError, match="Unknown model kind None"):
        registry.build({"latent_dim": 2})
    with pytest.raises(ConfigError, match="must be a JSON object"):
        registry.build(["vae"])


def test_the_flags_say_what_each_family_has():
    assert registry.EXPLORABLE_KINDS == ("ae", "vae")
    vae, ae = registry.build(TINY_FAMILIES["vae"]), registry.build(TINY_FAMILIES["ae"])
    assert registry.has_posterior(vae) and not registry.has_posterior(ae)
    assert vae.encode(torch.rand(2, 1, 28, 28)).logvar is not None, "has_posterior: a VAE's q(z|x) has a variance"
    assert ae.encode(torch.rand(2, 1, 28, 28)).logvar is None
    assert registry.has_prior(vae) and not registry.has_prior(ae)
    assert registry.posterior("vae") and not registry.posterior("ae") and not registry.posterior("flow")
    assert not registry.posterior(None) and not registry.posterior("gaussian")
    assert [registry.label(k) for k in registry.EXPLORABLE_KINDS] == ["AE", "VAE"]
    assert not registry.family("judge").browser_decodable and registry.family("vae").browser_decodable


def test_data_record_names_the_dataset():
    record = registry.data_record("abc", train_images=10, test_images=5)
    assert record == {"dataset": "mnist", "file": "data/mnist.npz", "sha256": "abc", "train_images": 10,
                      "test_images": 5}
    with pytest.raises(ConfigError, match="Unknown dataset 'svhn'. Possible values: mnist"):
        registry.dataset("svhn")
    assert registry.dataset().label_names == tuple("0123456789")


def test_a_dataset_loads_through_its_loader_from_its_file_or_a_given_copy(tmp_path):
    from vae import data

    mnist = registry.dataset("mnist")
    assert mnist.path == data.DEFAULT_PATH and mnist.loader == "vae.data:load_mnist"
    with pytest.raises(data.DataError, match="missing.npz not found"):
        mnist.load(tmp_path / "missing.npz")
    other = registry.Dataset("other", "data/other.npz", ("a", "b"), "0" * 64)
    with pytest.raises(data.DataError, match="other.npz not found"):
        other.load()  # its own file, through the same loader


@pytest.mark.slow
def test_the_shipped_dataset_loads_the_same_arrays_as_the_loader():
    from vae.data import load_mnist

    for a, b in zip(registry.dataset("mnist").load(), load_mnist()):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.slow
def test_the_shipped_dataset_fingerprint_matches_its_file():
    mnist = registry.dataset("mnist")
    assert file_sha256(mnist.path) == mnist.sha256


LIBRARIES = ("judge", "gaussian", "metrics")  # modules whose classes or functions vae.checkpoint's models need


@pytest.mark.parametrize("name", LIBRARIES)
def test_the_libraries_checkpoint_builds_from_never_import_it(name):
    """No circle between vae.checkpoint and the judge, the pixel Gaussian and the metrics: their command lines
    (vae.NAME_cli) read and write checkpoints; the libraries import neither vae.checkpoint nor their CLI, not even
    inside a function (only the `if __name__ == "__main__"` block hands over to the CLI)."""
    import ast

    tree = ast.parse((Path(registry.__file__).parent / f"{name}.py").read_text())
    main_blocks = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
    assert len(main_blocks) == 1, f"vae/{name}.py should hand `python -m vae.{name}` to vae.{name}_cli"
    inside_main = {id(n) for block in main_blocks for n in ast.walk(block)}
    imported = set()
    for node in ast.walk(tree):
        if id(node) in inside_main:
            continue
        if isinstance(node, ast.ImportFrom):
            imported.add(("." * node.level) + (node.module or ""))
            imported.update(("." * node.level) + a.name for a in node.names if node.module is None)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    forbidden = {".checkpoint", "vae.checkpoint", f".{name}_cli", f"vae.{name}_cli", ".evaluate", ".seeds"}
    assert not imported & forbidden, f"vae/{name}.py imports {sorted(imported & forbidden)}"


@pytest.mark.parametrize("first", ["vae.checkpoint", *(f"vae.{n}" for n in LIBRARIES),
                                   *(f"vae.{n}_cli" for n in LIBRARIES)])
def test_each_module_imports_first_in_a_fresh_interpreter(first):
    """Whatever is imported first, the import completes (a circle shows as an ImportError on a partly initialised
    module), and importing vae.checkpoint loads none of the libraries until a model is built."""
    import subprocess
    import sys

    code = (f"import importlib, sys; importlib.import_module({first!r}); "
            "print(sorted(m for m in ('vae.judge', 'vae.gaussian', 'vae.metrics') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    if first == "vae.checkpoint":
        assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", LIBRARIES)
def test_python_m_runs_the_command_line(name):
    """`python -m vae.NAME` (the commands in the Makefile, README and manifests) still parses its arguments."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", f"vae.{name}", "--help"], capture_output=True, text=True,
                         timeout=120, cwd=Path(registry.__file__).parent.parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"usage: python -m vae.{name} ")


def test_the_train_pages_choices_labels_and_colours_come_from_the_explorable_kinds():
    from ui import training

    kinds = registry.EXPLORABLE_KINDS
    assert training.KIND_CHOICES == {"both": kinds, "vae": ("vae",), "ae": ("ae",)}
    assert training.KIND_LABELS == {"both": "AE and VAE, side by side", "vae": "VAE only", "ae": "AE only"}
    assert set(training.COLORS) == set(kinds) and len(set(training.COLORS.values())) == len(kinds), \
        "each explorable kind needs its own colour: add one to ui.training.PALETTE"


def test_every_shipped_manifest_names_a_registered_dataset_and_its_fingerprint():
    manifests = sorted(ckpt_mod.CHECKPOINT_DIR.glob("*/manifest.json"))
    assert len(manifests) >= 10
    for path in manifests:
        data = ckpt_mod.read_manifest(path.parent)["data"]
        ds = registry.dataset(data["dataset"])  # an unknown name raises, listing the known ones
        assert (data["file"], data["sha256"]) == (ds.file, ds.sha256), path.parent.name
