import json

import numpy as np
import pytest
import torch

from helpers import tiny_config
from vae import train
from vae.checkpoint import load_checkpoint
from vae.data import Mnist
from vae.train import TrainConfig, TrainingDiverged, evaluate, fit, images_to_tensor, main, train_epoch


def _fake_mnist(n_train=256, n_test=64, seed=0) -> Mnist:
    rng = np.random.default_rng(seed)
    return Mnist(rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_train, dtype=np.uint8),
                 rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_test, dtype=np.uint8))


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_same_seed_gives_the_same_metrics_and_another_seed_does_not(kind):
    """Training is deterministic: the same seed on the same machine gives the same figures, bit for bit. That is
    what "reproducible" means in the README: on another CPU (another maths-library or kernel path) the weights
    differ from the first epoch on and a model's test figures agree only within the tolerance measured by
    `python -m benchmarks.retrain_tolerance` (0.5% for ae-z2), so this test compares runs of one process only."""
    mnist = _fake_mnist()
    cfg = TrainConfig(epochs=2, batch_size=32, seed=7)
    _, h1 = fit(tiny_config(kind), cfg, mnist, log=lambda _: None)
    _, h2 = fit(tiny_config(kind), cfg, mnist, log=lambda _: None)
    _, h3 = fit(tiny_config(kind), TrainConfig(epochs=2, batch_size=32, seed=8), mnist, log=lambda _: None)
    strip = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h]  # noqa: E731
    assert strip(h1) == strip(h2)
    assert strip(h1) != strip(h3)
    assert len(h1) == 2 and h1[-1]["test_recon"] < h1[0]["train_recon"], "loss should fall while training"


def test_nan_guard_stops_training_with_a_clear_error():
    model = tiny_config("vae")
    from vae.models import build_model
    net = build_model(model)
    x = torch.rand(64, 1, 28, 28)
    x[3, 0, 5, 5] = float("nan")
    opt = torch.optim.Adam(net.parameters())
    with pytest.raises(TrainingDiverged, match="loss became nan"):
        train_epoch(net, opt, x, TrainConfig(batch_size=64), torch.Generator().manual_seed(0), 0, 1)


def test_main_writes_a_checkpoint_whose_metrics_can_be_reproduced(tmp_path, monkeypatch):
    mnist = _fake_mnist(n_train=128)
    monkeypatch.setattr(train.data_mod, "load_mnist", lambda path=None: mnist)
    monkeypatch.setattr(train.data_mod, "file_sha256", lambda path: "f" * 64)
    out = tmp_path / "tiny-vae"
    argv = ["--model", "vae", "--latent-dim", "2", "--hidden", "16,8", "--epochs", "2", "--batch-size", "32",
            "--seed", "3", "--out", str(out), "--no-progress", "--device", "cpu"]
    assert main(argv) == 0
    ckpt = load_checkpoint(out)
    m = ckpt.manifest
    assert m["command"] == "python -m vae.train " + " ".join(argv)
    assert m["data"]["sha256"] == "f" * 64 and m["versions"]["torch"] == torch.__version__
    assert (m["data"]["dataset"], m["data"]["file"]) == ("mnist", "data/mnist.npz"), "the registry's dataset entry"
    assert [row["epoch"] for row in m["history"]] == [1, 2]
    assert set(m["test_metrics"]) == {"recon", "kl", "loss", "neg_elbo"}
    again = evaluate(ckpt.model, images_to_tensor(mnist.x_test), beta=1.0)
    for key, value in m["test_metrics"].items():
        assert again[key] == pytest.approx(value, abs=1e-3), key
    json.dumps(m)  # everything in the manifest is plain JSON


@pytest.mark.parametrize("argv,message", [
    (["--model", "gan"], "Unknown model kind 'gan'. Possible values: ae, vae."),
    (["--latent-dim", "0"], "latent_dim must be an integer >= 1, got 0."),
    (["--beta", "-1"], "beta must be a finite number >= 0, got -1.0."),
    (["--hidden", "a,b"], "--hidden must be comma-separated integers"),
    (["--device", "tpu"], "Unknown device 'tpu'."),
])
def test_bad_arguments_give_one_line_errors(tmp_path, capsys, argv, message):
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_missing_data_file_is_one_line_error(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "none.npz"), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert "none.npz not found" in err and len(err.splitlines()) == 1
