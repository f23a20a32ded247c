"""Manifests record what a result's floating-point path depends on: library versions, the maths library, the CPU and
its SIMD flags, the kernels ATen picked, threads, and the environment variables that change the path."""

from __future__ import annotations

import numpy as np
import torch

from vae import device
from vae.device import _maths_library, platform_info

MKL_CONFIG = """PyTorch built with:
  - Intel(R) oneAPI Math Kernel Library Version 2024.2-Product Build 20240605 for Intel(R) 64 architecture
  - Intel(R) MKL-DNN v3.13.3 (Git Hash b38f97eb6f2173513112f15a0481750b8a66e901)
  - Build settings: BLAS_INFO=mkl, BUILD_TYPE=Release, LAPACK_INFO=mkl"""
OPENBLAS_CONFIG = """PyTorch built with:
  - Build settings: BLAS_INFO=open, BUILD_TYPE=Release, LAPACK_INFO=open"""


def test_the_maths_library_is_read_from_torchs_build_configuration():
    assert _maths_library(MKL_CONFIG) == "MKL 2024.2 (build 20240605); oneDNN v3.13.3"
    assert _maths_library(OPENBLAS_CONFIG) == "BLAS open"
    assert _maths_library("") == "BLAS unknown"


def test_platform_info_holds_versions_cpu_and_path(monkeypatch):
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    info = platform_info()
    assert info["torch"] == torch.__version__ and info["numpy"] == np.__version__
    assert info["maths_library"] == _maths_library(torch.__config__.show())
    assert info["threads"] == str(torch.get_num_threads())
    assert info["mkl_cbwr"] == "COMPATIBLE" and "aten_cpu_capability" not in info
    assert info["cpu"] and info["cpu_capability"]
    assert all(isinstance(v, str) and "\n" not in v for v in info.values()), "plain one-line strings (the report)"


def test_cpu_flags_come_from_cpuinfo_in_a_fixed_order(monkeypatch):
    monkeypatch.setattr(device, "_cpuinfo", lambda: ("Example CPU 9000", ["fpu", "amx_tile", "avx2", "avx512f"]))
    info = platform_info()
    assert info["cpu"] == "Example CPU 9000" and info["cpu_flags"] == "avx2 avx512f amx_tile"


def test_the_training_manifest_records_it():
    from helpers import tiny_config
    from vae.train import TrainConfig, training_manifest
    history = [{"epoch": 1, "test_recon": 1.0, "test_kl": 0.5, "test_loss": 1.5, "test_neg_elbo": 1.5}]
    m = training_manifest(tiny_config("vae"), TrainConfig(epochs=1), history, 1.0, __file__, 10, "cpu", "x")
    assert m["versions"] == platform_info()


def test_the_retraining_benchmark_reruns_the_manifests_command_elsewhere(tmp_path):
    import sys

    from benchmarks.retrain_tolerance import retrain_argv
    manifest = {"command": "python -m vae.train --model ae --latent-dim 2 --seed 0 --threads 2 --out checkpoints/ae-z2"}
    argv = retrain_argv(manifest, tmp_path / "x", threads=1)
    assert argv == [sys.executable, "-m", "vae.train", "--model", "ae", "--latent-dim", "2", "--seed", "0",
                    "--threads", "1", "--out", str(tmp_path / "x")]
    assert "checkpoints/ae-z2" not in argv, "never over the shipped folder"
    assert retrain_argv(manifest, tmp_path / "x", None)[-4:-2] == ["--threads", "2"]
