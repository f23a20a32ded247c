"""Training throughput of our loop beside a plain reference loop, in the same process.

    python -m benchmarks.train_throughput [--images 60000] [--repeats 3] [--threads 0]

The reference is PyTorch's MNIST VAE example (pytorch/examples, vae/main.py): its model (784-400-20, ReLU, sigmoid
output), its loss (summed BCE + analytic KL), Adam at 1e-3, batch 128, and a shuffled DataLoader. Its dataset is the
same uint8 images already converted to float tensors (a TensorDataset), so the comparison measures the training loops,
not PIL decoding. Ours is `vae.train.train_epoch` on the same architecture (ModelConfig hidden=(400,), latent 20).
Both run one epoch per repeat, alternating, after one warm-up epoch each; the median is reported.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from vae import registry
from vae.models import ModelConfig, build_model
from vae.train import TrainConfig, images_to_tensor, train_epoch


class ReferenceVAE(nn.Module):
    """pytorch/examples vae/main.py, unchanged in substance."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        return mu + torch.randn_like(std) * std

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def reference_loss(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def reference_epoch(model, optimizer, loader) -> float:
    model.train()
    train_loss = 0.0
    for data, in loader:
        optimizer.zero_grad()
        recon, mu, logvar = model(data)
        loss = reference_loss(recon, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    return train_loss / len(loader.dataset)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_throughput", description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=60000, help="training images per epoch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    x = images_to_tensor(registry.dataset().load().x_train[:args.images])

    torch.manual_seed(0)
    ref = ReferenceVAE()
    ref_opt = torch.optim.Adam(ref.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x), batch_size=128, shuffle=True)

    ours = build_model(ModelConfig(kind="vae", latent_dim=20, hidden=(400,)))
    ours_opt = torch.optim.Adam(ours.parameters(), lr=1e-3)
    cfg = TrainConfig(batch_size=128, lr=1e-3)
    gen = torch.Generator().manual_seed(0)

    def run_ref():
        return reference_epoch(ref, ref_opt, loader)

    def run_ours():
        terms, _ = train_epoch(ours, ours_opt, x, cfg, gen, 0, 1)
        return terms["loss"]

    times = {"reference": [], "ours": []}
    for name, fn in (("reference", run_ref), ("ours", run_ours)):
        fn()  # warm-up epoch
    for _ in range(args.repeats):
        for name, fn in (("reference", run_ref), ("ours", run_ours)):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    rate = {name: len(x) / statistics.median(t) for name, t in times.items()}
    print(f"training throughput, VAE 784-400-20, batch 128, {len(x)} images/epoch, {torch.get_num_threads()} threads, "
          f"median of {args.repeats} epochs")
    print(f"  reference loop (pytorch/examples vae): {rate['reference']:9.0f} images/s")
    print(f"  our loop (vae.train.train_epoch):      {rate['ours']:9.0f} images/s")
    ratio = rate["ours"] / rate["reference"]
    print(f"  ratio ours / reference: {ratio:.2f} ({'not slower' if ratio >= 1 else 'SLOWER'})")
    return 0 if ratio >= 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
