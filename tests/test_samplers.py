"""Samplers and the per-sample k-NN ball test (vae/samplers.py), on synthetic features with known answers."""

import numpy as np
import pytest

from vae import samplers


def _real(n=200, seed=0):
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, 4)).astype(np.float32)
    probs = np.eye(10)[np.arange(n) % 10]
    return samplers.real_balls(f, probs)


def test_real_balls_radius_is_the_distance_to_the_kth_other_point():
    f = np.array([[0.0], [1.0], [3.0], [6.0], [10.0]], np.float32)
    balls = samplers.real_balls(f, np.eye(10)[[0, 1, 2, 3, 4]], k=2)
    np.testing.assert_allclose(balls.radii, [3, 2, 3, 4, 7])
    np.testing.assert_allclose(balls.label_hist[:5], 0.2)


def test_inside_balls_of_real_points_far_points_and_a_crowd():
    real = _real()
    reached = np.zeros(len(real.features), bool)
    assert samplers.inside_balls(real.features, real, reached=reached).all()  # each real point is in its own ball
    assert reached.all()
    assert not samplers.inside_balls(real.features[:50] + 100.0, real).any()  # far off: all in holes
    reached = np.zeros(len(real.features), bool)
    crowd = np.repeat(real.features[:1], 100, axis=0)  # every sample on one real point
    assert samplers.inside_balls(crowd, real, reached=reached).all()
    assert reached.mean() < 0.1, "precision without coverage: the crowd reaches few real balls"


def test_the_ball_boundary_is_strict_as_in_the_prdc_package():
    f = np.array([[0.0], [1.0], [3.0], [6.0], [10.0]], np.float32)
    balls = samplers.real_balls(f, np.eye(10)[[0, 1, 2, 3, 4]], k=2)  # radii 3, 2, 3, 4, 7
    assert samplers.inside_balls(np.array([[-2.99], [17.0], [16.99]], np.float32), balls).tolist() == [True, False,
                                                                                                      True]


@pytest.mark.parametrize("kind", list(samplers.SAMPLERS))
def test_draw_shapes_and_seeds(kind):
    codes = np.random.default_rng(0).normal(10, 3, (500, 3))
    a, b = samplers.draw(kind, codes, 64, seed=1), samplers.draw(kind, codes, 64, seed=1)
    assert a.shape == (64, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    if kind != "prior":  # fitted to the codes: centred near them, not at the origin
        assert abs(a.mean() - 10) < 1.5


def test_bad_sampler_and_too_few_codes():
    with pytest.raises(samplers.SamplerError, match="unknown sampler"):
        samplers.draw("uniform", np.zeros((10, 2)), 5, 0)
    with pytest.raises(samplers.SamplerError, match="more than 3 codes"):
        samplers.draw("gaussian", np.zeros((3, 3)), 5, 0)
