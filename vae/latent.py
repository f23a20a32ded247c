"""Moving between images and the latent space: encode a dataset, decode codes, prior circles."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .data import to_float


class EncodedSet(NamedTuple):
    mu: np.ndarray  # (n, latent_dim) float32 posterior means (the AE's codes)
    logvar: np.ndarray | None  # (n, latent_dim) float32, None for the AE


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def encode_images(model: torch.nn.Module, images: np.ndarray, batch_size: int = 2000) -> EncodedSet:
    """uint8 images (n, 28, 28) -> posterior means and log-variances, in eval mode (deterministic)."""
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"Expected images of shape (n, 28, 28), got {images.shape}.")
    device = _device_of(model)
    mus, logvars = [], []
    for start in range(0, len(images), batch_size):
        x = torch.from_numpy(to_float(images[start:start + batch_size])).unsqueeze(1).to(device)
        mu, logvar = model.encode(x)
        mus.append(mu.float().cpu().numpy())
        if logvar is not None:
            logvars.append(logvar.float().cpu().numpy())
    return EncodedSet(np.concatenate(mus), np.concatenate(logvars) if logvars else None)


def check_z(z: np.ndarray, latent_dim: int, limit: float = 1e3) -> np.ndarray:
    """Return z as a float32 (n, latent_dim) array, or raise ValueError for a wrong shape, NaN, inf or |z| > limit."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim == 1:
        z = z[None, :]
    if z.ndim != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"z must have {latent_dim} coordinates, got shape {z.shape}.")
    if not np.isfinite(z).all():
        raise ValueError("z holds NaN or infinite values; enter finite numbers.")
    if np.abs(z).max(initial=0.0) > limit:
        raise ValueError(f"z is out of range: every coordinate must lie within +-{limit:g}.")
    return z.astype(np.float32)


@torch.inference_mode()
def decode(model: torch.nn.Module, z: np.ndarray) -> np.ndarray:
    """z (n, latent_dim) -> pixel means sigmoid(logits), float32 (n, 28, 28) in [0, 1]."""
    z = check_z(z, model.config.latent_dim)
    logits = model.decode(torch.from_numpy(z).to(_device_of(model)))
    return torch.sigmoid(logits).squeeze(1).float().cpu().numpy()


class OneZDecoder:
    """decode() for a web server's single z: an MLP decoder's layers as plain CPU tensors, run without nn.Module
    dispatch (measured, with the CPU caches cold as on a busy server: 0.5 ms a z against 0.8 ms through the
    module). Same pixels as decode() to float32 rounding; a decoder that is not an MLP falls back to decode().

        fast = OneZDecoder(model)
        image = fast(np.array([0.5, -1.2]))  # (28, 28) in [0, 1]
    """

    _ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh}

    def __init__(self, model: torch.nn.Module):
        from .decoder_bytes import UnsupportedDecoder, decoder_layers

        self.model, self.latent_dim = model, model.config.latent_dim
        try:
            layers = decoder_layers(model)
        except UnsupportedDecoder:
            self.layers = None
            return
        self.layers = []
        for w, b, act, params in layers:
            fn = self._ACTIVATIONS.get(act) if act != "elu" else (
                lambda h, a=params.get("alpha", 1.0): torch.nn.functional.elu(h, alpha=a))
            if act is not None and fn is None:  # an activation decoder_layers knows and this class does not
                self.layers = None
                return
            self.layers.append((w.detach().float().cpu().t().contiguous(), b.detach().float().cpu().clone(), fn))

    def __call__(self, z) -> np.ndarray:
        z = check_z(np.asarray(z, np.float64).reshape(1, -1), self.latent_dim)
        if self.layers is None:
            return decode(self.model, z)[0]
        with torch.inference_mode():
            h = torch.from_numpy(z.astype(np.float32))
            for w, b, fn in self.layers:
                h = torch.addmm(b, h, w)
                if fn is not None:
                    h = fn(h)
            return torch.sigmoid(h).reshape(28, 28).numpy()


def sigma_circle(radius: float, n: int = 121) -> tuple[np.ndarray, np.ndarray]:
    """Points of the circle |z| = radius: the N(0, I) prior's radius-sigma contour in 2-D.

    In 2-D, |z|^2 is chi-square with 2 degrees of freedom, so the circle of radius r holds 1 - exp(-r^2 / 2) of the
    prior's mass: 39.3% (1 sigma), 86.5% (2), 98.9% (3).
    """
    t = np.linspace(0.0, 2.0 * np.pi, n)
    return radius * np.cos(t), radius * np.sin(t)


def prior_mass_within(radius: float) -> float:
    """Share of the 2-D standard normal inside |z| <= radius."""
    return float(1.0 - np.exp(-radius ** 2 / 2.0))


# --- paths, grids and samples through the latent space ------------------------------------------------------------

GRID_SPACINGS = ("linear", "gaussian")
PATH_KINDS = ("linear", "spherical")
MAX_GRID = 30
MAX_STEPS = 64
MAX_SAMPLES = 400


def grid_codes(n: int, extent: float = 3.0, spacing: str = "gaussian", center: tuple[float, float] = (0.0, 0.0),
               scale: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """An n x n grid of 2-D codes, row-major from the top-left (high z2) to the bottom-right, shape (n * n, 2).

    "linear": evenly spaced over center +- extent * scale. "gaussian": through the inverse normal CDF of evenly
    spaced probabilities, as in Kingma and Welling (2014, fig. 4): each cell holds equal prior mass, so the grid is
    denser near the centre. `extent` is then the number of standard deviations reached by the outermost row.
    """
    if not 2 <= n <= MAX_GRID:
        raise ValueError(f"grid size must be between 2 and {MAX_GRID}, got {n}.")
    if not (np.isfinite(extent) and extent > 0):
        raise ValueError(f"grid extent must be a positive number, got {extent}.")
    if spacing not in GRID_SPACINGS:
        raise ValueError(f"Unknown grid spacing {spacing!r}. Possible values: {', '.join(GRID_SPACINGS)}.")
    if spacing == "linear":
        t = np.linspace(-extent, extent, n)
    else:
        from statistics import NormalDist
        p_max = NormalDist().cdf(extent)
        t = np.array([NormalDist().inv_cdf(p) for p in np.linspace(1 - p_max, p_max, n)])
    xs = center[0] + scale[0] * t
    ys = center[1] + scale[1] * t[::-1]  # top row is the largest z2, as on a plot
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


class Path(NamedTuple):
    codes: np.ndarray  # (steps, latent_dim) float32, z0 first and z1 last
    method: str  # which path was taken: one of PATH_METHODS


# How `interpolate_path` went from z0 to z1. The spherical path falls back when the great circle is not defined.
PATH_METHODS = {
    "linear": "a straight line",
    "spherical": "the great circle from one end's direction to the other's",
    "spherical-chosen": "the two ends point in opposite directions, so no great circle joins them uniquely: the path "
                        "turns through a chosen perpendicular direction",
    "linear-parallel": "the two ends point the same way, so the spherical path is a straight line",
    "linear-zero": "one end is at the origin, which has no direction, so the path is a straight line",
}
ANTIPARALLEL_RAD = 1e-3  # ends within this angle of opposite (cosine below -0.9999995) take a chosen perpendicular
PARALLEL_RAD = 1e-6  # ends within this angle of each other go straight


def _perpendicular(u: np.ndarray) -> np.ndarray:
    """A unit vector orthogonal to the unit vector u: the coordinate axis least aligned with u, minus its part along
    u (Gram-Schmidt). The same u always gives the same vector, so a path is reproducible."""
    axis = np.zeros_like(u)
    axis[np.argmin(np.abs(u))] = 1.0
    p = axis - (axis @ u) * u
    return p / np.linalg.norm(p)


def interpolate_path(z0: np.ndarray, z1: np.ndarray, steps: int, kind: str = "linear") -> Path:
    """`steps` codes from z0 to z1 inclusive, and the method used (a key of PATH_METHODS).

    "linear": (1 - t) z0 + t z1. "spherical": slerp (Shoemake 1985; White 2016 for latent spaces) of the direction,
    with the norm going linearly from |z0| to |z1|, so the path keeps the norm of Gaussian codes typical instead of
    cutting through the low-norm middle, and never leaves the larger end's norm. The direction is written as
    cos(t omega) u0 + sin(t omega) p, with p the unit part of u1 orthogonal to u0 (Shoemake's form divides by
    sin(omega), which is ~0 for nearly opposite ends). When u1 is within ANTIPARALLEL_RAD of -u0, p is ill-defined
    (any perpendicular joins them), so a fixed perpendicular is chosen; parallel or zero ends go straight.
    """
    z0, z1 = np.asarray(z0, np.float64).ravel(), np.asarray(z1, np.float64).ravel()
    if z0.shape != z1.shape:
        raise ValueError(f"both ends need the same dimension, got {z0.shape} and {z1.shape}.")
    if not 2 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be between 2 and {MAX_STEPS}, got {steps}.")
    if kind not in PATH_KINDS:
        raise ValueError(f"Unknown path {kind!r}. Possible values: {', '.join(PATH_KINDS)}.")
    if not (np.isfinite(z0).all() and np.isfinite(z1).all()):
        raise ValueError("both ends must be finite codes.")
    t = np.linspace(0.0, 1.0, steps)[:, None]

    def straight(method: str) -> Path:
        return Path(((1 - t) * z0 + t * z1).astype(np.float32), method)

    if kind == "linear":
        return straight("linear")
    n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
    if n0 < 1e-12 or n1 < 1e-12:
        return straight("linear-zero")
    u0, u1 = z0 / n0, z1 / n1
    omega = float(np.arctan2(np.linalg.norm(u1 - (u0 @ u1) * u0), u0 @ u1))  # accurate near 0 and pi, unlike arccos
    if omega < PARALLEL_RAD:
        return straight("linear-parallel")
    if np.pi - omega < ANTIPARALLEL_RAD:
        p, method = _perpendicular(u0), "spherical-chosen"
    else:
        r = u1 - (u0 @ u1) * u0
        p, method = r / np.linalg.norm(r), "spherical"
    direction = np.cos(t * omega) * u0 + np.sin(t * omega) * p
    codes = ((1 - t) * n0 + t * n1) * direction
    codes[0], codes[-1] = z0, z1  # exact ends (the chosen perpendicular reaches -u0, which is within 1e-3 rad of u1)
    return Path(codes.astype(np.float32), method)


def interpolate(z0: np.ndarray, z1: np.ndarray, steps: int, kind: str = "linear") -> np.ndarray:
    """The codes of `interpolate_path`, shape (steps, latent_dim)."""
    return interpolate_path(z0, z1, steps, kind).codes


def step_changes(images: np.ndarray) -> np.ndarray:
    """Pixel change between consecutive images: root-mean-square difference, shape (len(images) - 1,).

    A smooth morph has small, even steps; a jump across a hole in the latent space shows as a spike.
    """
    flat = images.reshape(len(images), -1).astype(np.float64)
    return np.sqrt(np.mean(np.diff(flat, axis=0) ** 2, axis=1))


class Gaussian(NamedTuple):
    mean: np.ndarray  # (d,)
    cov: np.ndarray  # (d, d)


def fit_gaussian(codes: np.ndarray) -> Gaussian:
    """Maximum-likelihood Gaussian of a set of codes (n, d): the fair prior for sampling a plain AE."""
    codes = np.asarray(codes, np.float64)
    return Gaussian(codes.mean(0), np.cov(codes, rowvar=False).reshape(codes.shape[1], codes.shape[1]))


def sample_codes(n: int, latent_dim: int, seed: int, gaussian: Gaussian | None = None,
                 limit: int = MAX_SAMPLES) -> np.ndarray:
    """n codes from N(0, I), or from `gaussian` when given (z = mean + L eps, L the Cholesky factor of cov).

    `limit` bounds n (the pages show at most MAX_SAMPLES; evaluation draws more)."""
    if not 1 <= n <= limit:
        raise ValueError(f"number of samples must be between 1 and {limit}, got {n}.")
    eps = np.random.default_rng(seed).standard_normal((n, latent_dim))
    if gaussian is None:
        return eps.astype(np.float32)
    chol = np.linalg.cholesky(gaussian.cov + 1e-9 * np.eye(latent_dim))
    return (gaussian.mean + eps @ chol.T).astype(np.float32)


def covariance_ellipse(mean: np.ndarray, cov: np.ndarray, n_sigma: float,
                       n: int = 121) -> tuple[np.ndarray, np.ndarray]:
    """Points of the n_sigma contour of a 2-D Gaussian (Mahalanobis distance n_sigma)."""
    vals, vecs = np.linalg.eigh(np.asarray(cov, np.float64))
    t = np.linspace(0, 2 * np.pi, n)
    circle = np.stack([np.cos(t), np.sin(t)])
    pts = vecs @ (np.sqrt(np.maximum(vals, 0))[:, None] * circle) * n_sigma
    return mean[0] + pts[0], mean[1] + pts[1]


def posterior_samples(mu: np.ndarray, logvar: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n draws z = mu + sigma * eps from q(z|x) = N(mu, diag(exp(logvar))) (the reparametrization trick)."""
    eps = np.random.default_rng(seed).standard_normal((n, len(mu)))
    return (mu + np.exp(0.5 * logvar) * eps).astype(np.float32)


def nearest(codes: np.ndarray, z: np.ndarray, k: int = 5) -> np.ndarray:
    """Indices of the k codes (n, d) nearest to z (d,) in Euclidean distance, nearest first."""
    d2 = ((codes - np.asarray(z, codes.dtype)[None, :]) ** 2).sum(1)
    k = min(k, len(codes))
    idx = np.argpartition(d2, k - 1)[:k]
    return idx[np.argsort(d2[idx])]


class PixelIndex:
    """Nearest neighbours in pixel space (a memorisation check: is a decoded digit a copy of a training image?).

    Exact Euclidean search, made fast for a web server. With P the projection on the top `components` principal
    directions of the images and R = I - P the rest, |x - q|^2 = |P(x - q)|^2 + |R(x - q)|^2, and
    |R(x - q)| >= | |Rx| - |Rq| | (the triangle inequality), so |P(x - q)|^2 + (|Rx| - |Rq|)^2 is a lower bound of
    the squared distance: it costs `components` multiplications per image instead of 784 (|Rx| is kept for each
    image). The images with the smallest bounds are the candidates; their exact distances are computed, and the
    answer is final once the k-th exact distance is no larger than the smallest bound left out. That settles most
    queries with the first `candidates` images.

    A query unlike every training image (a decoder far outside its codes draws a blob) leaves thousands of images
    whose bound is below its k-th distance so far. Only those go on, to a second bound of the same form over the next
    `refine` principal directions (P2, with R2 the rest): |P(x - q)|^2 + |P2(x - q)|^2 + (|R2 x| - |R2 q|)^2, which
    reads `refine` numbers per image rather than 784. Candidates by that bound are then checked exactly, their number
    growing fourfold until the same stopping rule holds (at worst all survivors). Without it, such a query read up
    to 16,384 whole images and took 10 to 80 ms instead of 2 to 5.
    The arithmetic runs in torch, on the caller's torch threads: numpy's BLAS starts threads of its own, which made
    one query 10 times slower on a busy two-core web server.
    """

    # float32 rounding of a bound or a distance (squared pixel distances of about 10 to 100) stays far below this
    SLACK = 1e-3

    def __init__(self, images_uint8: np.ndarray, components: int = 48, candidates: int = 64, refine: int = 0):
        x = to_float(images_uint8).reshape(len(images_uint8), -1)
        mean = x.mean(0)
        centred = x - mean
        vals, vecs = np.linalg.eigh(centred.T @ centred)  # principal directions of the images
        order = np.argsort(vals)[::-1]
        refine = max(0, min(int(refine), x.shape[1] - components))
        basis = vecs[:, order[:components]].astype(np.float32)
        self.x = torch.from_numpy(x)  # (n, 784)
        self.sq_norms = self.x.pow(2).sum(1)
        self.mean = torch.from_numpy(mean)
        self.basis = torch.from_numpy(np.ascontiguousarray(basis))  # (784, components), orthonormal columns
        proj = centred @ basis
        self.proj = torch.from_numpy(proj)  # (n, components)
        self.proj_sq = self.proj.pow(2).sum(1)
        # |R(x_i - mean)| = sqrt(|x_i - mean|^2 - |P(x_i - mean)|^2), the difference taken in float64 (it cancels)
        chunks = np.array_split(np.arange(len(x)), max(1, len(x) // 8192))  # a few thousand images at a time
        sq = np.concatenate([(centred[c].astype(np.float64) ** 2).sum(1) for c in chunks])
        sq_proj = (proj.astype(np.float64) ** 2).sum(1)
        self.residual = torch.from_numpy(np.sqrt(np.clip(sq - sq_proj, 0.0, None)).astype(np.float32))  # (n,)
        self.refine = refine
        if refine:
            basis2 = np.ascontiguousarray(vecs[:, order[components:components + refine]].astype(np.float32))
            proj2 = centred @ basis2
            self.basis2 = torch.from_numpy(basis2)  # (784, refine): the next principal directions
            self.proj2 = torch.from_numpy(proj2)  # (n, refine)
            rest = sq - sq_proj - (proj2.astype(np.float64) ** 2).sum(1)
            self.residual2 = torch.from_numpy(np.sqrt(np.clip(rest, 0.0, None)).astype(np.float32))  # |R2(x_i - mean)|
        self.candidates = candidates

    def query(self, image: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """(indices, RMS pixel distances) of the k nearest images to `image` (28, 28) in [0, 1], nearest first."""
        return self.query_many([image], k)[0]

    def query_many(self, images, k: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
        """query() for several images at once, e.g. one z decoded by two models: the bounds of all of them come from
        one pass over the projections (the pass that dominates a query, reading about 8 MB), then each image is
        searched on its own. Same answers as query() one by one."""
        if len(images) == 0:
            return []
        queries = torch.from_numpy(np.array([np.asarray(im, np.float32).reshape(-1) for im in images], np.float32))
        n = len(self.x)
        k = min(k, n)
        projected, rq = self._projected_many(queries)
        bounds = projected + (self.residual - rq[:, None]).pow(2)
        out = []
        for j, q in enumerate(queries):
            q_sq = q.dot(q)
            m = min(n, max(self.candidates, k))
            cand, order, best, done = self._grow(bounds[j], None, q, q_sq, k, m, stop_at=None if self.refine else n)
            if not done:  # the first candidates did not settle it: the survivors go through the second bound
                survivors = torch.nonzero(bounds[j] < float(best[-1]) + self.SLACK).flatten()
                if len(survivors) < k:  # rounding: keep the candidates already checked among them
                    survivors = torch.unique(torch.cat([survivors, cand]))
                cand, order, best, _ = self._grow(self._refined(projected[j], survivors, q), survivors, q, q_sq, k,
                                                  min(len(survivors), max(self.candidates, k)), stop_at=None)
            out.append((cand[order].numpy(), torch.sqrt(best / q.numel()).numpy()))
        return out

    def _grow(self, bound: torch.Tensor, ids: torch.Tensor | None, q: torch.Tensor, q_sq: torch.Tensor, k: int,
              m: int, stop_at: int | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, bool]:
        """Exact distances to the m images with the smallest `bound` (`ids` maps its positions to images; None: all),
        m growing fourfold until the k-th distance is at most the smallest bound left out, or the first round only
        when `stop_at` is None and refinement follows (done False). (candidates, their order, k best d^2, done)."""
        total = len(bound)
        while True:
            if m >= total:
                pos, left_out = torch.arange(total), float("inf")
            else:
                smallest, pos = torch.topk(bound, m + 1, largest=False)
                pos, left_out = pos[:m], float(smallest[m])
            cand = pos if ids is None else ids[pos]
            d2 = (self.sq_norms[cand] - 2.0 * (self.x[cand] @ q) + q_sq).clamp_min(0.0)
            best, order = torch.topk(d2, min(k, len(cand)), largest=False)
            if float(best[-1]) <= left_out - self.SLACK or m >= total:
                return cand, order, best, True
            if ids is None and stop_at is None:
                return cand, order, best, False
            m *= 4

    def _projected_many(self, queries: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(|P(x_i - q)|^2 for every image (m, n), |R q| (m,)) for queries (m, 784) float32."""
        qc = queries - self.mean
        qp = qc @ self.basis  # (m, components)
        qc64, qp64 = qc.double(), qp.double()
        rq = torch.sqrt(((qc64 * qc64).sum(1) - (qp64 * qp64).sum(1)).clamp_min(0.0)).float()  # (m,)
        projected = torch.addmm(self.proj_sq, qp, self.proj.t(), alpha=-2.0) + (qp * qp).sum(1, keepdim=True)
        return projected, rq

    def _refined(self, projected: torch.Tensor, ids: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        """The second bound |P(x - q)|^2 + |P2(x - q)|^2 + (|R2 x| - |R2 q|)^2 of the images `ids` for query q."""
        qc = q - self.mean
        qp, qp2 = qc @ self.basis, qc @ self.basis2
        rest = (qc.double().dot(qc.double()) - qp.double().dot(qp.double()) - qp2.double().dot(qp2.double()))
        rq2 = torch.sqrt(rest.clamp_min(0.0)).float()
        diff = self.proj2[ids] - qp2
        return projected[ids] + (diff * diff).sum(1) + (self.residual2[ids] - rq2).pow(2)

    def lower_bounds(self, q: torch.Tensor) -> torch.Tensor:
        """|P(x_i - q)|^2 + (|R x_i| - |R q|)^2 <= |x_i - q|^2 for every image: q (784,) float32 -> (n,)."""
        return self.lower_bounds_many(q.reshape(1, -1))[0]

    def lower_bounds_many(self, queries: torch.Tensor) -> torch.Tensor:
        """lower_bounds() of several queries (m, 784) float32 -> (m, n), in one pass over the projections."""
        projected, rq = self._projected_many(queries)
        return projected + (self.residual - rq[:, None]).pow(2)

    def refined_bounds(self, q: torch.Tensor) -> torch.Tensor:
        """The second bound (module docstring) of every image for q (784,) float32 -> (n,); needs refine > 0."""
        if not self.refine:
            raise ValueError("this index was built without refine directions")
        projected, _ = self._projected_many(q.reshape(1, -1))
        return self._refined(projected[0], torch.arange(len(self.x)), q)


TRAVERSE_LIMIT = 6.0


def traverse(center: np.ndarray, dims: list[int] | np.ndarray, values: np.ndarray) -> np.ndarray:
    """Codes for a latent traversal: for each dimension in `dims` (one row each), `center` with that coordinate set
    to each of `values` (one column each). Returns (len(dims) * len(values), latent_dim), row-major.

    Decoding them gives the traversal grid of beta-VAE papers (Higgins et al. 2017, fig. 7): a disentangled
    dimension changes one factor of the digit along its row.
    """
    center = np.asarray(center, np.float32).ravel()
    values = np.asarray(values, np.float32).ravel()
    dims = [int(d) for d in dims]
    if not dims or min(dims) < 0 or max(dims) >= len(center):
        raise ValueError(f"dimensions must lie in 0..{len(center) - 1}, got {dims}.")
    if not np.isfinite(values).all() or np.abs(values).max(initial=0) > TRAVERSE_LIMIT:
        raise ValueError(f"traversal values must be finite and within +-{TRAVERSE_LIMIT:g}.")
    codes = np.repeat(center[None, :], len(dims) * len(values), axis=0)
    for r, d in enumerate(dims):
        codes[r * len(values):(r + 1) * len(values), d] = values
    return codes
