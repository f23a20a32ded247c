"""One table of model families and one of datasets: what the rest of the code looks kinds and data up in.

A model family is what a manifest's "model" entry names with its "kind": the config class that reads that entry, the
module class the config builds, how pages label it, whether it has a posterior q(z|x) (and so an ELBO, IWAE bounds,
posterior ellipses, KL per dimension) and a prior p(z) to sample from, whether the browser can run its decoder, and
whether the explorer's pages show it. `vae.checkpoint` builds every model through `build(model_config)`, one lookup.

Classes (and a dataset's loader) are named here as "module:attribute" and imported on first use, so importing this
table (and `vae.checkpoint`) imports no family's module. Those modules never import `vae.checkpoint` either: the
command lines that read and write checkpoints live apart (vae.judge_cli, vae.gaussian_cli, vae.metrics_cli).

A dataset entry names the file a model was trained and scored on, its label names and the sha256 of the file, and
new manifests record the entry's name; `dataset(name).load()` reads its arrays. MNIST is the only shipped one;
`vae.data` keeps its opt-in torchvision loaders for others.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import torch

from .models import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ModelFamily:
    kind: str  # the "kind" a manifest's model entry carries
    label: str  # how pages name one: "AE", "VAE"
    config_class: str  # "module:attribute" of the dataclass config (with from_dict and to_dict)
    module_class: str  # "module:attribute" of the nn.Module built from the config (its __init__ takes the config)
    has_posterior: bool  # encode(x) gives q(z|x) = N(mu, diag(exp(logvar))): ELBO, IWAE, ellipses, KL per dimension
    has_prior: bool  # p(z) = N(0, I) to sample z from
    browser_decodable: bool  # its MLP decoders run in the browser (vae.decoder_bytes); conv decoders never do
    explorable: bool  # an autoencoder with a latent space: offered by the explorer, draw, train and import pages

    def config_type(self) -> type:
        return _resolve(self.config_class)

    def module_type(self) -> type:
        return _resolve(self.module_class)

    def build(self, model_config: dict) -> torch.nn.Module:
        """The untrained module a manifest's "model" entry describes (ConfigError when the entry is invalid)."""
        return self.module_type()(self.config_type().from_dict(model_config))


def _resolve(path: str):
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


FAMILIES: dict[str, ModelFamily] = {f.kind: f for f in (
    ModelFamily("ae", "AE", "vae.models:ModelConfig", "vae.models:AE", has_posterior=False, has_prior=False,
                browser_decodable=True, explorable=True),
    ModelFamily("vae", "VAE", "vae.models:ModelConfig", "vae.models:VAE", has_posterior=True, has_prior=True,
                browser_decodable=True, explorable=True),
    ModelFamily("judge", "judge (digit classifier)", "vae.judge:JudgeConfig", "vae.judge:Judge",
                has_posterior=False, has_prior=False, browser_decodable=False, explorable=False),
    ModelFamily("gaussian", "pixel Gaussian", "vae.gaussian:GaussianConfig", "vae.gaussian:PixelGaussian",
                has_posterior=False, has_prior=True, browser_decodable=False, explorable=False),
)}
EXPLORABLE_KINDS = tuple(k for k, f in FAMILIES.items() if f.explorable)  # ("ae", "vae")


def family(kind: str) -> ModelFamily:
    """The family of `kind`; ConfigError listing the known kinds otherwise."""
    try:
        return FAMILIES[kind]
    except (KeyError, TypeError):
        raise ConfigError(f"Unknown model kind {kind!r}. Possible values: {', '.join(FAMILIES)}.") from None


def build(model_config: dict) -> torch.nn.Module:
    """The untrained model a manifest's "model" entry describes: one lookup of its "kind" in FAMILIES."""
    if not isinstance(model_config, dict):
        raise ConfigError(f"model config must be a JSON object, got {type(model_config).__name__}")
    return family(model_config.get("kind")).build(model_config)


def label(kind: str) -> str:
    return family(kind).label


def has_posterior(model: torch.nn.Module) -> bool:
    """Whether a built model's family has q(z|x) (a VAE), from its config's kind."""
    config = getattr(model, "config", None)
    return family(getattr(config, "kind", None)).has_posterior


def has_prior(model: torch.nn.Module) -> bool:
    """Whether a built model's family has a prior p(z) to sample from (a plain AE does not: pages fit a Gaussian to
    its codes instead)."""
    config = getattr(model, "config", None)
    return family(getattr(config, "kind", None)).has_prior


def posterior(kind) -> bool:
    """Whether models of `kind` (a manifest's or a results row's "kind") have q(z|x); False for unknown kinds."""
    found = FAMILIES.get(kind) if isinstance(kind, str) else None
    return bool(found and found.has_posterior)


# --- datasets ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dataset:
    name: str  # what manifests record under data.dataset
    file: str  # the .npz, relative to the repository root
    label_names: tuple[str, ...]  # class index -> name
    sha256: str  # fingerprint of the file as shipped
    image_shape: tuple[int, int] = (28, 28)
    loader: str = "vae.data:load_mnist"  # "module:attribute" of the function that reads and checks the file

    @property
    def path(self) -> Path:
        return REPO_ROOT / self.file

    def load(self, path: str | Path | None = None):
        """The dataset's arrays (a `vae.data.Mnist`: x_train, y_train, x_test, y_test, uint8) read from its file,
        or from `path` (a copy named on a command line with --data); vae.data.DataError saying what to do when the
        file is missing or does not hold what it should."""
        return _resolve(self.loader)(self.path if path is None else path)


DATASETS: dict[str, Dataset] = {d.name: d for d in (
    Dataset("mnist", "data/mnist.npz", tuple(str(d) for d in range(10)),
            "5ce6941f1fba5a49fcea88f422b14cbe6b99cec782a05dc76ae6be0430f4450f"),
)}
DEFAULT_DATASET = "mnist"


def dataset(name: str = DEFAULT_DATASET) -> Dataset:
    """The entry of `name`; ConfigError listing the known datasets otherwise. Every module that reads images loads
    them through it: `registry.dataset().load()`, or `.load(args.data)` for a command line's --data."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ConfigError(f"Unknown dataset {name!r}. Possible values: {', '.join(DATASETS)}.") from None


def data_record(sha256: str, name: str = DEFAULT_DATASET, **counts: int) -> dict:
    """A manifest's "data" entry: the dataset's name and file, the sha256 of the file used, and image counts."""
    d = dataset(name)
    return {"dataset": d.name, "file": d.file, "sha256": sha256, **counts}
