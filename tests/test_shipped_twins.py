"""The higher-dimensional AEs are true twins of their VAEs: the same command but for the model kind (no KL term),
and their recorded test reconstruction reproduces from the shipped weights."""

from __future__ import annotations

import shlex

import pytest

from vae.checkpoint import load_checkpoint
from vae.data import load_mnist
from vae.train import build_parser, evaluate, images_to_tensor

pytestmark = pytest.mark.slow

TWINS = {"ae-z20": "vae-z20", "ae-z10": "vae-z10-beta1"}
NOT_RECIPE = ("model", "beta", "out", "threads")  # what may differ: the kind, its KL weight, where, how many threads


def _args(name: str) -> dict:
    words = shlex.split(load_checkpoint(name).manifest["command"])
    assert words[:3] == ["python", "-m", "vae.train"]
    return vars(build_parser().parse_args(words[3:]))


@pytest.mark.parametrize("ae, vae", sorted(TWINS.items()))
def test_the_ae_is_trained_like_its_vae_twin(ae, vae):
    a, v = _args(ae), _args(vae)
    assert (a["model"], v["model"]) == ("ae", "vae")
    assert a["out"] == f"checkpoints/{ae}"
    assert {k: x for k, x in a.items() if k not in NOT_RECIPE} == {k: x for k, x in v.items() if k not in NOT_RECIPE}
    ma, mv = load_checkpoint(ae).manifest, load_checkpoint(vae).manifest
    assert {k: x for k, x in ma["model"].items() if k != "kind"} == {k: x for k, x in mv["model"].items()
                                                                     if k != "kind"}
    assert {k: x for k, x in ma["training"].items() if k != "beta"} == {k: x for k, x in mv["training"].items()
                                                                        if k != "beta"}
    assert len(ma["history"]) == ma["training"]["epochs"]


@pytest.mark.parametrize("name", sorted(TWINS))
def test_recorded_reconstruction_reproduces(name):
    ckpt = load_checkpoint(name)
    again = evaluate(ckpt.model, images_to_tensor(load_mnist().x_test), beta=1.0)
    assert again["recon"] == pytest.approx(ckpt.manifest["test_metrics"]["recon"], abs=0.05)
    twin = load_checkpoint(TWINS[name]).manifest["test_metrics"]["recon"]
    assert again["recon"] < twin, "without the KL term the AE reconstructs better than its VAE twin"
