"""Slices through a latent space (vae/slice.py): directions, projection, whitened distances, bad input."""

import numpy as np
import pytest

from vae import slice as sl


@pytest.mark.parametrize("d", [2, 3, 20])
def test_random_plane_directions_are_orthonormal(d):
    plane = sl.random_plane(d, seed=3)
    assert plane.z0.shape == plane.u.shape == plane.v.shape == (d,)
    np.testing.assert_allclose([plane.u @ plane.u, plane.v @ plane.v, plane.u @ plane.v], [1, 1, 0], atol=1e-12)
    assert plane.a_range == plane.b_range == (-2.0, 2.0)


def test_random_plane_differs_by_seed_and_repeats_by_seed():
    a, b, c = sl.random_plane(20, 0), sl.random_plane(20, 0), sl.random_plane(20, 1)
    np.testing.assert_array_equal(a.z0, b.z0)
    np.testing.assert_array_equal(a.u, b.u)
    assert not np.allclose(a.z0, c.z0) and not np.allclose(a.u, c.u)


def test_random_directions_are_not_biased_towards_an_axis():
    # Over many seeds the first direction's mean is near 0 in every coordinate (QR's sign convention fixed).
    us = np.array([sl.random_plane(5, s).u for s in range(2000)])
    assert np.abs(us.mean(0)).max() < 0.05


def test_points_and_project_are_inverse_on_the_plane():
    plane = sl.random_plane(20, seed=1)
    a, b = np.array([0.0, 1.0, -1.5, 0.3]), np.array([0.0, 0.5, 2.0, -0.7])
    z = plane.points(a, b)
    np.testing.assert_allclose(z[0], plane.z0)
    np.testing.assert_allclose(z[1], plane.z0 + plane.u + 0.5 * plane.v)
    np.testing.assert_allclose(plane.project(z), np.stack([a, b], 1), atol=1e-12)
    np.testing.assert_allclose(plane.off_plane(z), 0, atol=1e-9)


def test_project_drops_the_off_plane_part():
    plane = sl.random_plane(4, seed=2)
    normal = np.linalg.svd(np.stack([plane.u, plane.v]))[2][2]  # a unit vector orthogonal to u and v
    code = plane.points(0.7, -0.2)[0] + 3.0 * normal
    np.testing.assert_allclose(plane.project(code), [[0.7, -0.2]], atol=1e-12)
    np.testing.assert_allclose(plane.off_plane(code), [3.0], atol=1e-9)


def test_code_to_draw_plane_puts_the_code_at_0_and_the_draw_at_1():
    rng = np.random.default_rng(0)
    code, draw = rng.normal(5, 3, 20), rng.standard_normal(20)
    plane = sl.code_to_draw_plane(code, draw, seed=4)
    np.testing.assert_allclose(plane.project(np.stack([code, draw])), [[0, 0], [1, 0]], atol=1e-12)
    assert abs(plane.u @ plane.v) < 1e-9 * (plane.u @ plane.u)
    np.testing.assert_allclose(np.linalg.norm(plane.v), np.linalg.norm(plane.u))
    assert plane.a_range[0] < 0 < 1 < plane.a_range[1]


def test_three_point_plane_holds_all_three_in_a_square_view():
    rng = np.random.default_rng(1)
    p = rng.standard_normal((3, 20))
    plane = sl.three_point_plane(*p)
    ab = plane.project(p)
    np.testing.assert_allclose(ab[:2], [[0, 0], [1, 0]], atol=1e-12)
    np.testing.assert_allclose(plane.off_plane(p), 0, atol=1e-9)
    assert plane.a_range[0] < ab[:, 0].min() and ab[:, 0].max() < plane.a_range[1]
    assert plane.b_range[0] < ab[:, 1].min() and ab[:, 1].max() < plane.b_range[1]
    assert np.isclose(np.diff(plane.a_range), np.diff(plane.b_range))


def test_identical_codes_are_rejected_with_a_clear_message():
    code = np.ones(20)
    with pytest.raises(sl.SliceError, match="same point"):
        sl.code_to_draw_plane(code, code.copy(), seed=0)
    with pytest.raises(sl.SliceError, match="same point"):
        sl.three_point_plane(code, code, np.zeros(20))
    with pytest.raises(sl.SliceError, match="one line"):
        sl.three_point_plane(np.zeros(20), code, 2 * code)


@pytest.mark.parametrize("bad", [np.zeros((0, 20)), np.full((3, 20), np.nan), np.zeros((3, 4))])
def test_bad_codes_are_rejected(bad):
    plane = sl.random_plane(20, 0)
    with pytest.raises(sl.SliceError):
        plane.project(bad)


def test_a_plane_needs_two_dimensions():
    with pytest.raises(sl.SliceError, match="at least 2"):
        sl.random_plane(1, 0)


def test_whitened_distance_does_not_depend_on_the_scale_of_z():
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((500, 6)) @ rng.standard_normal((6, 6))
    queries = rng.standard_normal((50, 6)) * 2
    w = sl.Whitener.fit(codes)
    d = w.nearest_distance(queries, codes)
    for scale, shift in [(10.0, 0.0), (0.1, 5.0)]:  # rescaling and moving the codes and queries alike changes nothing
        w2 = sl.Whitener.fit(codes * scale + shift)
        np.testing.assert_allclose(w2.nearest_distance(queries * scale + shift, codes * scale + shift), d, rtol=1e-6)


def test_whitened_codes_have_unit_covariance_and_distances_match_brute_force():
    rng = np.random.default_rng(1)
    codes = rng.standard_normal((400, 3)) * [10.0, 1.0, 0.1] + [30.0, 0.0, -2.0]
    w = sl.Whitener.fit(codes)
    wc = w(codes)
    np.testing.assert_allclose(wc.mean(0), 0, atol=1e-9)
    np.testing.assert_allclose(np.cov(wc, rowvar=False), np.eye(3), atol=1e-6)
    q = codes[:5] + [20.0, 0.0, 0.0]  # 2 standard deviations along the first axis from their own code
    brute = np.sqrt(((w(q)[:, None, :] - wc[None, :, :]) ** 2).sum(2)).min(1)
    np.testing.assert_allclose(w.nearest_distance(q, codes), brute, rtol=1e-6)
    assert w.nearest_distance(codes[:5], codes).max() < 1e-6  # a code is 0 from itself
    assert 0 < w.typical_gap(codes) < 1.0


def test_whitener_needs_more_codes_than_dimensions():
    with pytest.raises(sl.SliceError, match="more codes"):
        sl.Whitener.fit(np.random.default_rng(0).standard_normal((5, 20)))


def test_norm_ratio():
    codes = np.random.default_rng(0).standard_normal((1000, 20)) * 3
    draws = np.random.default_rng(1).standard_normal((1000, 20))
    assert 0.3 < sl.norm_ratio(draws, codes) < 0.37
