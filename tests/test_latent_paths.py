import numpy as np
import pytest

from vae.latent import (PixelIndex, covariance_ellipse, fit_gaussian, grid_codes, interpolate, nearest,
                        posterior_samples, sample_codes, step_changes)


def test_linear_grid_is_row_major_from_top_left():
    g = grid_codes(3, extent=2.0, spacing="linear")
    assert g.shape == (9, 2)
    assert np.allclose(g[0], [-2, 2]) and np.allclose(g[2], [2, 2]) and np.allclose(g[-1], [2, -2])
    assert np.allclose(g[4], [0, 0])


def test_gaussian_grid_puts_equal_prior_mass_in_each_column():
    from statistics import NormalDist
    g = grid_codes(5, extent=2.0, spacing="gaussian")
    xs = g[:5, 0]
    probs = [NormalDist().cdf(x) for x in xs]
    assert np.allclose(np.diff(probs), np.diff(probs)[0], atol=1e-6)
    assert xs[-1] == pytest.approx(2.0, abs=1e-5)
    assert np.diff(xs)[1] < np.diff(xs)[0], "cells are denser near the centre"


@pytest.mark.parametrize("kwargs,message", [(dict(n=1), "between 2 and 30"), (dict(n=31), "between 2 and 30"),
                                            (dict(n=5, extent=float("nan")), "positive number"),
                                            (dict(n=5, spacing="log"), "Unknown grid spacing")])
def test_grid_bounds(kwargs, message):
    with pytest.raises(ValueError, match=message):
        grid_codes(**kwargs)


def test_interpolation_ends_and_slerp_norm():
    z0, z1 = np.array([2.0, 0.0]), np.array([0.0, 2.0])
    lin = interpolate(z0, z1, 5)
    sph = interpolate(z0, z1, 5, "spherical")
    assert np.allclose(lin[0], z0) and np.allclose(lin[-1], z1) and np.allclose(sph[-1], z1)
    assert np.allclose(np.linalg.norm(sph, axis=1), 2.0, atol=1e-5), "slerp keeps the norm between equal-norm ends"
    assert np.linalg.norm(lin[2]) < 1.5, "a straight line cuts through the middle"
    with pytest.raises(ValueError, match="between 2 and 64"):
        interpolate(z0, z1, 65)
    with pytest.raises(ValueError, match="Unknown path"):
        interpolate(z0, z1, 5, "cubic")


def test_step_changes_spike_at_a_jump():
    imgs = np.zeros((5, 28, 28))
    imgs[3:] = 1.0
    ch = step_changes(imgs)
    assert ch.shape == (4,) and ch.argmax() == 2 and ch[2] == pytest.approx(1.0) and ch[0] == 0


def test_fitted_gaussian_sampling_reproduces_its_moments():
    rng = np.random.default_rng(0)
    codes = rng.multivariate_normal([3.0, -1.0], [[4.0, 1.5], [1.5, 2.0]], size=20000)
    g = fit_gaussian(codes)
    s = np.concatenate([sample_codes(400, 2, seed=i, gaussian=g) for i in range(25)])
    assert np.allclose(s.mean(0), [3, -1], atol=0.1)
    assert np.allclose(np.cov(s, rowvar=False), [[4, 1.5], [1.5, 2]], atol=0.2)
    assert np.array_equal(sample_codes(10, 2, seed=5), sample_codes(10, 2, seed=5))
    with pytest.raises(ValueError, match="between 1 and 400"):
        sample_codes(0, 2, seed=1)


def test_covariance_ellipse_has_mahalanobis_radius():
    mean, cov = np.array([1.0, 2.0]), np.array([[2.0, 0.5], [0.5, 1.0]])
    x, y = covariance_ellipse(mean, cov, 2.0)
    d = np.stack([x, y], 1) - mean
    maha = np.sqrt(np.einsum("ij,jk,ik->i", d, np.linalg.inv(cov), d))
    assert np.allclose(maha, 2.0)


def test_posterior_samples_follow_mu_and_sigma():
    s = posterior_samples(np.array([1.0, -2.0]), np.log(np.array([0.25, 4.0])), 20000, seed=0)
    assert np.allclose(s.mean(0), [1, -2], atol=0.05) and np.allclose(s.std(0), [0.5, 2.0], atol=0.05)


def test_nearest_codes_and_pixels():
    codes = np.array([[0, 0], [1, 0], [5, 5], [0.2, 0.1]], np.float32)
    assert nearest(codes, np.array([0.1, 0.0]), k=3).tolist() == [0, 3, 1]
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)
    index = PixelIndex(imgs)
    idx, dist = index.query(imgs[17] / 255.0, k=2)
    assert idx[0] == 17 and dist[0] == pytest.approx(0, abs=1e-3) and dist[1] > 0.2


def test_traverse_sets_one_dimension_per_row():
    from vae.latent import traverse
    center = np.array([0.5, -1.0, 2.0])
    codes = traverse(center, [2, 0], np.array([-1.0, 0.0, 1.0]))
    assert codes.shape == (6, 3)
    assert np.allclose(codes[:3, 2], [-1, 0, 1]) and np.allclose(codes[:3, :2], [0.5, -1.0])
    assert np.allclose(codes[3:, 0], [-1, 0, 1]) and np.allclose(codes[3:, 1:], [-1.0, 2.0])
    with pytest.raises(ValueError, match="dimensions must lie in 0..2"):
        traverse(center, [3], np.array([0.0]))
    with pytest.raises(ValueError, match="within"):
        traverse(center, [0], np.array([np.nan]))


@pytest.mark.slow
def test_pixel_index_finds_the_exact_nearest_training_image():
    from vae.data import load_mnist
    mnist = load_mnist()
    index = PixelIndex(mnist.x_train)
    x = mnist.x_train.reshape(60000, -1).astype(np.float32) / 255
    rng = np.random.default_rng(0)
    queries = np.concatenate([mnist.x_test[:20] / 255.0, rng.random((5, 28, 28)) * 0.3])
    for q in queries:
        brute = int(np.argmin(((x - q.reshape(-1)) ** 2).sum(1)))
        got, dist = index.query(q, k=1)
        assert got[0] == brute
        assert dist[0] == pytest.approx(np.sqrt(((x[brute] - q.reshape(-1)) ** 2).mean()), abs=1e-5)
