"""Data-parallel training over several processes started by torchrun (DistributedDataParallel).

    torchrun --standalone --nproc-per-node 2 -m vae.train --model vae --latent-dim 2 --batch-size 128 --out ...

torchrun sets RANK, LOCAL_RANK, WORLD_SIZE and the rendezvous variables in each process; `World.from_env()` reads
them (None when the process runs alone, which keeps a plain `python -m vae.train` exactly as it was). The backend is
gloo on the CPU and nccl on CUDA, one GPU per process (cuda:LOCAL_RANK).

What makes a run of W processes comparable with one process: `--batch-size` stays the global batch (each process
takes batch_size / W images per step), DDP averages the processes' gradients (a mean over the global batch, since
every process's batch has the same size), and a DistributedSampler deals every epoch's permutation out to the
processes, rank r taking positions r, r + W, r + 2W, ... so that step k's W local batches together are positions
k*B .. (k+1)*B of that permutation, a global batch of B images as one process would take it. The permutation
itself comes from seed + epoch (DistributedSampler's rule) rather than from the single-process generator, and each
process draws its own eps, so the numbers equal a single process's within noise, not bit for bit.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as torch_dist
from torch.utils.data import DistributedSampler


@dataclass(frozen=True)
class World:
    rank: int  # this process, 0 .. size - 1; rank 0 alone prints and writes the checkpoint
    local_rank: int  # this process on its machine (its GPU index under CUDA)
    size: int  # processes in all (nodes x processes per node)
    nnodes: int  # machines taking part

    @staticmethod
    def from_env(env=os.environ) -> World | None:
        """The world torchrun describes in the environment, or None for a single process."""
        size = int(env.get("WORLD_SIZE", "1"))
        if size <= 1:
            return None
        return World(rank=int(env["RANK"]), local_rank=int(env.get("LOCAL_RANK", "0")), size=size,
                     nnodes=int(env.get("GROUP_WORLD_SIZE", "1")))

    def device(self, device: torch.device) -> torch.device:
        """The device this process trains on: its own GPU under CUDA, else `device`."""
        return torch.device("cuda", self.local_rank) if device.type == "cuda" else device

    def backend(self, device: torch.device) -> str:
        return "nccl" if device.type == "cuda" else "gloo"

    def start(self, device: torch.device) -> None:
        """Join the process group (torchrun's env:// rendezvous)."""
        if device.type == "cuda":
            torch.cuda.set_device(device)
        torch_dist.init_process_group(self.backend(device))

    def stop(self) -> None:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()

    def local_batch(self, batch_size: int) -> int:
        """Images per process per step for a global batch of `batch_size` (ValueError unless W divides it)."""
        if batch_size % self.size:
            raise ValueError(f"--batch-size {batch_size} is the global batch: it must be divisible by the "
                             f"{self.size} processes (e.g. {batch_size - batch_size % self.size or self.size})")
        return batch_size // self.size

    def epoch_order(self, n: int, seed: int, epoch: int) -> torch.Tensor:
        """This process's share of epoch `epoch`'s permutation of n indices (DistributedSampler, shuffled with
        seed + epoch; when W does not divide n it repeats a few indices so that every process gets as many)."""
        sampler = DistributedSampler(range(n), num_replicas=self.size, rank=self.rank, shuffle=True, seed=seed)
        sampler.set_epoch(epoch)
        return torch.tensor(list(sampler), dtype=torch.long)

    def sum(self, values: dict[str, float]) -> dict[str, float]:
        """Each key summed over all processes (float64)."""
        keys = sorted(values)
        t = torch.tensor([values[k] for k in keys], dtype=torch.float64)
        if torch_dist.get_backend() == "nccl":
            t = t.to(torch.device("cuda", self.local_rank))
        torch_dist.all_reduce(t)
        return dict(zip(keys, t.cpu().tolist()))

    def describe(self, device: torch.device) -> dict:
        """What a checkpoint's manifest records about the run."""
        return {"world_size": self.size, "nnodes": self.nnodes, "backend": self.backend(device)}


def launch_command(argv: list[str], module: str = "vae.train") -> str:
    """The command that started this run: torchrun's own command line (read from the parent process, which torchrun
    is), else one rebuilt from the environment that gives the same world."""
    try:
        parent = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().split(b"\0")
        words = [w.decode() for w in parent if w]
    except OSError:
        words = []
    for i, word in enumerate(words):
        name = Path(word).name
        if name == "torchrun":
            return shlex.join(["torchrun", *words[i + 1:]])
        if name == "torch.distributed.run" and i > 0 and words[i - 1] == "-m":
            return shlex.join(["python", "-m", "torch.distributed.run", *words[i + 1:]])
    env = os.environ
    nnodes, per_node = env.get("GROUP_WORLD_SIZE", "1"), env.get("LOCAL_WORLD_SIZE", env.get("WORLD_SIZE", "1"))
    head = ["torchrun", "--nnodes", nnodes, "--nproc-per-node", per_node]
    if nnodes == "1":
        head = ["torchrun", "--standalone", "--nproc-per-node", per_node]
    return shlex.join([*head, "-m", module, *argv])


def place(world: World | None, device: torch.device, batch_size: int) -> torch.device:
    """The device this process computes on: `device` itself in a single process; under torchrun this rank's device
    (its own GPU, or the CPU), after checking that the global batch `batch_size` splits evenly over the processes
    (ValueError otherwise)."""
    if world is None:
        return device
    world.local_batch(batch_size)
    return world.device(device)
