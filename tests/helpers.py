"""Tiny configs shared by the unit tests."""

from __future__ import annotations

from vae.models import ModelConfig

TINY = {
    ("ae", "mlp"): dict(hidden=(16, 8)),
    ("vae", "mlp"): dict(hidden=(16, 8)),
    ("ae", "conv"): dict(channels=(4, 8), conv_hidden=16),
    ("vae", "conv"): dict(channels=(4, 8), conv_hidden=16),
}
KINDS_ARCHS = sorted(TINY)


def tiny_config(kind: str = "vae", arch: str = "mlp", latent_dim: int = 2) -> ModelConfig:
    return ModelConfig(kind=kind, arch=arch, latent_dim=latent_dim, **TINY[(kind, arch)])


# One tiny "model" entry per registered model family (vae.registry.FAMILIES): tests/test_registry.py fails when a
# family is registered without one here.
TINY_FAMILIES = {
    "ae": tiny_config("ae").to_dict(),
    "vae": tiny_config("vae").to_dict(),
    "judge": {"kind": "judge", "channels": [2, 4], "features": 8, "dropout": 0.0},
    "gaussian": {"kind": "gaussian", "dim": 6, "jitter": 1e-6},
}
