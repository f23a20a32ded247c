"""PixelIndex is exact however few candidates or principal directions it starts from (projected distances are lower
bounds, and the candidate set grows until no image left out can be closer)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae.latent import PixelIndex


@pytest.mark.parametrize("components, candidates, refine", [(2, 1, 0), (8, 4, 0), (48, 64, 0), (2, 1, 6), (4, 2, 40)])
def test_pixel_index_equals_brute_force(components, candidates, refine):
    rng = np.random.default_rng(components)
    # clusters of near-copies: many images look alike in a few principal directions, so the first candidates by
    # projected distance are often not the nearest
    centres = rng.integers(0, 256, (20, 28, 28))
    imgs = np.clip(centres[rng.integers(0, 20, 600)] + rng.normal(0, 40, (600, 28, 28)), 0, 255).astype(np.uint8)
    index = PixelIndex(imgs, components=components, candidates=candidates, refine=refine)
    x = imgs.reshape(len(imgs), -1).astype(np.float64) / 255
    for q in rng.random((25, 28, 28)) * 0.5 + x[rng.integers(0, 600, 25)].reshape(25, 28, 28) * 0.5:
        d2 = ((x - q.reshape(-1)) ** 2).sum(1)
        want = np.argsort(d2)[:3]
        got, dist = index.query(q, k=3)
        assert got.tolist() == want.tolist()
        assert dist == pytest.approx(np.sqrt(d2[want] / 784), abs=1e-4)


def test_pixel_index_k_larger_than_the_candidates_and_the_set():
    imgs = np.random.default_rng(1).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    index = PixelIndex(imgs, components=3, candidates=2)
    got, dist = index.query(imgs[2] / 255.0, k=10)
    assert got[0] == 2 and dist[0] == pytest.approx(0, abs=1e-3) and sorted(got.tolist()) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("components", [2, 8, 48])
def test_the_bounds_are_below_every_exact_distance_and_the_residual_term_tightens_them(components):
    """|P(x - q)|^2 + (|Rx| - |Rq|)^2 <= |x - q|^2 for every image, and never below the projection alone."""
    rng = np.random.default_rng(components)
    centres = rng.integers(0, 256, (20, 28, 28))
    imgs = np.clip(centres[rng.integers(0, 20, 800)] + rng.normal(0, 40, (800, 28, 28)), 0, 255).astype(np.uint8)
    index = PixelIndex(imgs, components=components)
    x = imgs.reshape(len(imgs), -1).astype(np.float64) / 255
    tighter = 0
    for q in rng.random((20, 784)) * 0.5 + x[rng.integers(0, 800, 20)] * 0.5:
        exact = ((x - q) ** 2).sum(1)
        qt = torch.from_numpy(q.astype(np.float32))
        bound = index.lower_bounds(qt).double().numpy()
        qp = ((qt - index.mean) @ index.basis)
        projected = (torch.addmv(index.proj_sq, index.proj, qp, alpha=-2.0) + qp.dot(qp)).double().numpy()
        assert (bound <= exact + PixelIndex.SLACK / 10).all(), float((bound - exact).max())
        assert (bound >= projected - 1e-4).all()
        # how many images the bound cannot rule out against the true nearest: fewer with the residual term
        nearest = exact.min()
        tighter += int((projected < nearest).sum()) - int((bound < nearest).sum())
    if components < 48:  # with 48 directions these 20 clusters leave no image in doubt either way
        assert tighter > 0


def test_query_many_gives_each_image_the_answer_of_its_own_query():
    """Several images (one z decoded by two models) searched together: the same neighbours and distances as one by
    one, and as brute force, including an image whose first candidates do not suffice."""
    rng = np.random.default_rng(7)
    centres = rng.integers(0, 256, (20, 28, 28))
    imgs = np.clip(centres[rng.integers(0, 20, 600)] + rng.normal(0, 40, (600, 28, 28)), 0, 255).astype(np.uint8)
    index = PixelIndex(imgs, components=4, candidates=2)  # few candidates: the search must widen for some images
    x = imgs.reshape(len(imgs), -1).astype(np.float64) / 255
    queries = list(rng.random((6, 28, 28)) * 0.5 + x[rng.integers(0, 600, 6)].reshape(6, 28, 28) * 0.5)
    together = index.query_many(queries, k=2)
    assert len(together) == len(queries)
    for q, (got, dist) in zip(queries, together):
        alone_idx, alone_dist = index.query(q, k=2)
        want = np.argsort(((x - q.reshape(-1)) ** 2).sum(1))[:2]
        assert got.tolist() == alone_idx.tolist() == want.tolist()
        assert dist == pytest.approx(alone_dist, abs=1e-6)
    bounds = index.lower_bounds_many(torch.from_numpy(np.array(queries, np.float32).reshape(6, -1)))
    assert tuple(bounds.shape) == (6, len(imgs))
    assert index.query_many([], k=1) == []


_YY, _XX = np.mgrid[0:28, 0:28]


def _dots(rng, n: int) -> np.ndarray:
    """Training images with few degrees of freedom, as digits have: two small bright dots each (uint8)."""
    out = np.zeros((n, 28, 28))
    for i in range(n):
        for cy, cx, r in zip(rng.uniform(6, 22, 2), rng.uniform(6, 22, 2), rng.uniform(1.5, 3.5, 2)):
            out[i] += np.exp(-((_YY - cy) ** 2 + (_XX - cx) ** 2) / (2 * r * r))
    return (np.clip(out, 0, 1) * 255).astype(np.uint8)


def _blobs(rng, n: int) -> list[np.ndarray]:
    """Queries unlike every training image: one wide blob each, as a decoder draws far outside its codes."""
    return [np.exp(-((_YY - cy) ** 2 + (_XX - cx) ** 2) / (2 * r * r))
            for cy, cx, r in zip(rng.uniform(10, 18, n), rng.uniform(10, 18, n), rng.uniform(6, 9, n))]


def test_the_second_bound_is_a_lower_bound_and_tighter_for_queries_unlike_every_image():
    rng = np.random.default_rng(3)
    imgs = _dots(rng, 1500)
    index = PixelIndex(imgs, components=4, refine=24)
    x = imgs.reshape(len(imgs), -1).astype(np.float64) / 255
    first_left = second_left = 0
    for q in _blobs(rng, 12):
        exact = ((x - q.reshape(-1)) ** 2).sum(1)
        qt = torch.from_numpy(q.reshape(-1).astype(np.float32))
        first, second = index.lower_bounds(qt).double().numpy(), index.refined_bounds(qt).double().numpy()
        assert (second <= exact + PixelIndex.SLACK / 10).all(), float((second - exact).max())
        nearest = exact.min()  # images that each bound cannot rule out against the true nearest
        first_left += int((first < nearest).sum())
        second_left += int((second < nearest).sum())
    assert first_left > 1000 and second_left < first_left / 20, (first_left, second_left)
    with pytest.raises(ValueError, match="refine"):
        PixelIndex(imgs[:50], components=4).refined_bounds(qt)


@pytest.mark.parametrize("refine", [0, 24])
def test_queries_unlike_every_image_get_the_exact_neighbours(refine):
    """Blobs leave many images in doubt after the first candidates: with or without the second bound, the answer is
    brute force's, for one query and for several together."""
    rng = np.random.default_rng(4)
    imgs = _dots(rng, 1500)
    index = PixelIndex(imgs, components=4, candidates=8, refine=refine)
    x = imgs.reshape(len(imgs), -1).astype(np.float64) / 255
    queries = _blobs(rng, 10) + [x[7].reshape(28, 28)]  # and one training image itself
    refined = []
    if refine:  # count the queries that went on to the second bound
        first = index._refined
        index._refined = lambda *a: refined.append(len(a[1])) or first(*a)
    together = index.query_many(queries, k=3)
    assert len(refined) >= (5 if refine else 0), refined
    for q, (got, dist) in zip(queries, together):
        d2 = ((x - q.reshape(-1)) ** 2).sum(1)
        want = np.argsort(d2, kind="stable")[:3]
        assert got.tolist() == want.tolist() == index.query(q, k=3)[0].tolist()
        assert dist == pytest.approx(np.sqrt(d2[want] / 784), abs=1e-4)
