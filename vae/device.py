"""Pick the torch device: CUDA, then Apple MPS, then CPU, unless the caller or the environment says otherwise; and
describe the platform a result was computed on (`platform_info`, recorded in every manifest)."""

from __future__ import annotations

import os
import platform
import re

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


# --- what a result's floating-point path depends on ----------------------------------------------------------------

# CPU features that change which kernels MKL, oneDNN and ATen run (and so the order of float operations)
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
              "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "avx_vnni", "neon", "asimd", "sve")
# environment variables that pick the maths library's code path
PATH_ENV = ("MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "ATEN_CPU_CAPABILITY", "DNNL_MAX_CPU_ISA", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "OPENBLAS_CORETYPE")


def _cpuinfo() -> tuple[str, list[str]]:
    """(CPU model name, its flags) from /proc/cpuinfo (Linux); ("", []) where there is none."""
    model, flags = "", []
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Model", "Hardware") and not model:
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = value.split()
                if model and flags:
                    break
    except OSError:
        pass
    return model, flags


def _maths_library(config: str) -> str:
    """The BLAS and the oneDNN build named in torch.__config__.show(), e.g. "MKL 2024.2 (build 20240605); oneDNN
    v3.13.3"."""
    parts = []
    mkl = re.search(r"Math Kernel Library Version ([\w.]+)(?:-Product Build (\d+))?", config)
    if mkl:
        parts.append(f"MKL {mkl.group(1)}" + (f" (build {mkl.group(2)})" if mkl.group(2) else ""))
    else:
        blas = re.search(r"BLAS_INFO=(\w+)", config)
        parts.append(f"BLAS {blas.group(1)}" if blas else "BLAS unknown")
    dnn = re.search(r"MKL-DNN (v[\w.]+)", config)
    if dnn:
        parts.append(f"oneDNN {dnn.group(1)}")
    return "; ".join(parts)


def platform_info() -> dict[str, str]:
    """The versions and the floating-point path a manifest records: library versions, the maths library (MKL or
    OpenBLAS, oneDNN), the CPU's model and SIMD flags, the kernels ATen picked for it, threads, and any environment
    variable that changes the path. The same code and seed give the same bits only where all of these match."""
    import numpy as np

    model, flags = _cpuinfo()
    capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", lambda: "unknown")()
    info = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "maths_library": _maths_library(torch.__config__.show()),
        "cpu": model or platform.processor() or platform.machine(),
        "cpu_flags": " ".join(f for f in SIMD_FLAGS if f in flags) or "unknown",
        "cpu_capability": str(capability),
        "threads": str(torch.get_num_threads()),
    }
    info.update({name.lower(): os.environ[name] for name in PATH_ENV if os.environ.get(name)})
    return info
