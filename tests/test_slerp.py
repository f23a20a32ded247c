"""Spherical interpolation stays finite and says which path it took: opposite, parallel and zero ends, in random
codes and in the codes of every shipped model (the explorer's default ends, test digits #3 and #2, are the AE's
nearly opposite pair)."""

from __future__ import annotations

import numpy as np
import pytest

from vae.latent import ANTIPARALLEL_RAD, PATH_KINDS, PATH_METHODS, interpolate_path


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.arccos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1, 1)))


def _check_path(path, z0, z1, steps):
    codes = path.codes
    assert codes.shape == (steps, len(z0)) and codes.dtype == np.float32
    assert np.isfinite(codes).all()
    assert np.allclose(codes[0], z0, atol=1e-6) and np.allclose(codes[-1], z1, atol=1e-6)
    norms = np.linalg.norm(codes.astype(np.float64), axis=1)
    top = max(np.linalg.norm(z0), np.linalg.norm(z1))
    assert norms.max() <= top * (1 + 1e-5) + 1e-6, "the path never goes beyond the larger end's norm"
    assert path.method in PATH_METHODS


def _nearly_opposite(z: np.ndarray, scale: float, angle: float, rng: np.random.Generator) -> np.ndarray:
    """-scale * z turned by `angle` radians towards a random direction orthogonal to z."""
    u = z / np.linalg.norm(z)
    r = rng.standard_normal(len(z))
    r -= (r @ u) * u
    r /= np.linalg.norm(r)
    return scale * np.linalg.norm(z) * (-np.cos(angle) * u + np.sin(angle) * r)


@pytest.mark.parametrize("dim", [2, 10, 20])
@pytest.mark.parametrize("scale", [1.0, 0.3, 4.0])
def test_opposite_ends_turn_through_a_chosen_perpendicular(dim, scale):
    rng = np.random.default_rng(dim)
    z0 = rng.standard_normal(dim) * 5
    for z1 in (-scale * z0, _nearly_opposite(z0, scale, ANTIPARALLEL_RAD / 10, rng)):
        path = interpolate_path(z0, z1, 9, "spherical")
        _check_path(path, z0, z1, 9)
        assert path.method == "spherical-chosen"
        mid = path.codes[4].astype(np.float64)
        assert _angle(mid, z0) == pytest.approx(np.pi / 2, abs=1e-3), "half way round: at right angles to z0"
        assert np.linalg.norm(mid) == pytest.approx((1 + scale) / 2 * np.linalg.norm(z0), rel=1e-5)
    again = interpolate_path(z0, -scale * z0, 9, "spherical")
    assert np.array_equal(again.codes, interpolate_path(z0, -scale * z0, 9, "spherical").codes), "reproducible"


def test_the_issues_pair_cosine_minus_0_99992_with_unequal_norms_is_a_true_great_circle():
    """Shoemake's form gave (z0 + z1) / (2 cos(omega / 2)) half way: about 40 times the norm gap here."""
    rng = np.random.default_rng(0)
    z0 = np.array([30.0, -12.0])
    z1 = _nearly_opposite(z0, 0.6, np.arccos(0.99992), rng)
    assert z0 @ z1 / (np.linalg.norm(z0) * np.linalg.norm(z1)) == pytest.approx(-0.99992, abs=1e-7)
    path = interpolate_path(z0, z1, 64, "spherical")
    _check_path(path, z0, z1, 64)
    assert path.method == "spherical"
    angles = [_angle(path.codes[k], path.codes[k + 1]) for k in range(63)]
    assert np.allclose(angles, _angle(z0, z1) / 63, rtol=1e-3), "equal turns: the direction moves at constant speed"


@pytest.mark.parametrize("dim", [2, 10])
def test_parallel_and_zero_ends_go_straight_and_say_so(dim):
    rng = np.random.default_rng(1)
    z0 = rng.standard_normal(dim)
    for z1, method in ((3 * z0, "linear-parallel"), (z0.copy(), "linear-parallel"), (np.zeros(dim), "linear-zero")):
        path = interpolate_path(z0, z1, 5, "spherical")
        _check_path(path, z0, z1, 5)
        assert path.method == method
        assert np.allclose(path.codes, np.linspace(z0, z1, 5), atol=1e-6)
    assert interpolate_path(z0, -z0, 5, "linear").method == "linear", "a straight path is never a fallback"


def test_equal_norm_ends_keep_their_norm_and_non_finite_ends_are_refused():
    path = interpolate_path([2.0, 0.0], [0.0, 2.0], 5, "spherical")
    assert path.method == "spherical"
    assert np.allclose(np.linalg.norm(path.codes, axis=1), 2.0, atol=1e-5)
    with pytest.raises(ValueError, match="finite"):
        interpolate_path([np.nan, 0.0], [0.0, 2.0], 5, "spherical")


def test_every_method_has_a_note_and_the_kinds_are_methods():
    assert set(PATH_KINDS) <= set(PATH_METHODS)
    assert all(note and "\n" not in note for note in PATH_METHODS.values())


# --- the shipped models ----------------------------------------------------------------------------------------

def _shipped_models() -> list[str]:
    from vae.checkpoint import available, read_manifest
    names = []
    for name in available():
        try:
            if read_manifest(name)["model"].get("kind") in ("ae", "vae"):
                names.append(name)
        except Exception:  # noqa: BLE001 - a folder that is not a model (the judge, the Gaussian baseline)
            continue
    return names


@pytest.mark.slow
def test_every_shipped_model_decodes_opposite_parallel_and_default_paths():
    """The explorer pairs the AE with each VAE of its latent size; the disentanglement models get the same check."""
    from ui.state import DEFAULTS, INTERP_END, INTERP_START
    from vae.checkpoint import load_checkpoint
    from vae.data import load_mnist
    from vae.latent import decode, encode_images

    names = _shipped_models()
    assert "ae-z2" in names and "vae-z2" in names
    x_test = load_mnist().x_test
    a, b = DEFAULTS[INTERP_START], DEFAULTS[INTERP_END]
    methods = {}
    for name in names:
        model = load_checkpoint(name).model
        mu = encode_images(model, x_test[[a, b]]).mu.astype(np.float64)
        ends = {"default": (mu[0], mu[1]), "opposite": (mu[0], -mu[0]), "opposite-far": (mu[0], -3 * mu[1]),
                "parallel": (mu[0], 2 * mu[0]), "same": (mu[0], mu[0])}
        for case, (z0, z1) in ends.items():
            for kind in PATH_KINDS:
                path = interpolate_path(z0, z1, 64, kind)
                _check_path(path, z0, z1, 64)
                images = decode(model, path.codes)
                assert np.isfinite(images).all() and images.min() >= 0 and images.max() <= 1, (name, case, kind)
                methods[name, case, kind] = path.method
        assert methods[name, "opposite", "spherical"] == "spherical-chosen"
        assert methods[name, "parallel", "spherical"] == "linear-parallel"
    ae = encode_images(load_checkpoint("ae-z2").model, x_test[[a, b]]).mu.astype(np.float64)
    assert _angle(ae[0], ae[1]) > np.pi - 0.05, "the AE's default ends are nearly opposite (the issue's crash)"
