"""Pick the torch device: CUDA, then Apple MPS, then CPU, unless the caller or the environment says otherwise."""

from __future__ import annotations

import os

import torch

DEVICE_ENV = "LATENT_EXPLORER_DEVICE"
VALID_DEVICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(preferred: str | None = None) -> torch.device:
    """Return the device to run on.

    `preferred` (or the LATENT_EXPLORER_DEVICE environment variable when it is None) is one of
    "auto", "cpu", "cuda", "cuda:N" or "mps". "auto" picks CUDA, then MPS, then CPU. Asking for a device that
    is not there raises ValueError with the devices that are.
    """
    choice = (preferred or os.environ.get(DEVICE_ENV) or "auto").strip().lower()
    base = choice.split(":", 1)[0]
    if base not in VALID_DEVICES:
        raise ValueError(f"Unknown device {choice!r}. Possible values: {', '.join(VALID_DEVICES)} (or cuda:N).")
    if base == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if base == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"Device {choice!r} was asked for but CUDA is not available here: use --device cpu or auto.")
    if base == "mps" and not _mps_available():
        raise ValueError(f"Device {choice!r} was asked for but Apple MPS is not available here: "
                         "use --device cpu or auto.")
    return torch.device(choice)
