"""Two-dimensional slices through a latent space of any size, and distances in units of a model's own code spread.

A slice is the plane z = z0 + a u + b v (a, b real) through a d-dimensional latent space, with u and v orthogonal
and of equal length, so the plane keeps its shape on screen (circles stay round). Where a model's codes sit relative
to a slice is read in *whitened* units: z -> W (z - m), with m the codes' mean and W the inverse of the Cholesky
factor of their covariance, so that the codes have mean 0 and covariance I. A distance of 1 then means "one standard
deviation of this model's codes", whatever scale the model chose: an AE's codes may spread over tens of units and a
VAE's over a few, and a raw distance would compare those scales instead of the models.

    plane = random_plane(20, seed=0)          # through a prior draw, two random orthonormal directions
    z = plane.points(a, b)                    # (n, 20) codes on the plane
    ab = plane.project(codes)                 # (n, 2) where codes fall on it (the foot of the perpendicular)
    w = Whitener.fit(codes)
    w.nearest_distance(z, codes)              # (n,) distance to the nearest code, in code standard deviations
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

PRIOR_EXTENT = 2.0  # the prior-draw plane spans a, b in +-2 (unit directions): where N(0, I) puts its mass
SAME_POINT_TOL = 1e-6  # two points closer than this (relative to their size) do not span a direction
MAX_QUERY = 20_000  # points per nearest-code query (memory: query x codes floats at a time, chunked)


class SliceError(ValueError):
    """A slice cannot be built from the given points (identical points, wrong shapes, no codes)."""


class Plane(NamedTuple):
    """z = z0 + a u + b v, u and v orthogonal with |u| = |v| > 0. Shapes (d,)."""

    z0: np.ndarray
    u: np.ndarray
    v: np.ndarray
    a_range: tuple[float, float]  # the part of the plane to show
    b_range: tuple[float, float]

    @property
    def latent_dim(self) -> int:
        return int(self.z0.shape[0])

    def points(self, a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
        """Codes at plane coordinates (a, b): broadcast to (n,) each -> (n, d) float64."""
        a, b = np.broadcast_arrays(np.atleast_1d(np.asarray(a, np.float64)), np.atleast_1d(np.asarray(b, np.float64)))
        return self.z0[None, :] + a.ravel()[:, None] * self.u[None, :] + b.ravel()[:, None] * self.v[None, :]

    def project(self, codes: np.ndarray) -> np.ndarray:
        """Plane coordinates (a, b) of the orthogonal projection of codes (n, d) onto the plane: (n, 2)."""
        c = _codes(codes, self.latent_dim) - self.z0[None, :]
        return np.stack([c @ self.u / (self.u @ self.u), c @ self.v / (self.v @ self.v)], 1)

    def off_plane(self, codes: np.ndarray) -> np.ndarray:
        """Euclidean distance of each code (n, d) from the plane (raw z units): (n,)."""
        c = _codes(codes, self.latent_dim)
        return np.linalg.norm(c - self.points(*self.project(c).T), axis=1)

    def grid(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """An n x n grid over the shown ranges, top row = highest b: (a (n*n,), b (n*n,), z (n*n, d))."""
        if n < 2:
            raise SliceError(f"a grid needs at least 2 points a side, got {n}")
        aa, bb = np.meshgrid(np.linspace(*self.a_range, n), np.linspace(self.b_range[1], self.b_range[0], n))
        return aa.ravel(), bb.ravel(), self.points(aa.ravel(), bb.ravel())


def _codes(codes: np.ndarray, latent_dim: int | None = None) -> np.ndarray:
    c = np.asarray(codes, np.float64)
    if c.ndim == 1:
        c = c[None, :]
    if c.ndim != 2 or c.shape[0] == 0 or (latent_dim is not None and c.shape[1] != latent_dim):
        want = f"(n, {latent_dim})" if latent_dim is not None else "(n, d)"
        raise SliceError(f"expected codes of shape {want} with n >= 1, got shape {c.shape}")
    if not np.isfinite(c).all():
        raise SliceError("codes hold NaN or infinite values")
    return c


def orthonormal_pair(latent_dim: int, rng: np.random.Generator, against: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Two random orthonormal directions in R^d (uniform on the Stiefel manifold: QR of a Gaussian matrix with the
    signs fixed, Mezzadri 2007); with `against` (d,), the first is `against` normalised and only the second random."""
    if latent_dim < 2:
        raise SliceError(f"a plane needs a latent space of at least 2 dimensions, got {latent_dim}")
    g = rng.standard_normal((latent_dim, 2))
    if against is not None:
        g[:, 0] = against
    q, r = np.linalg.qr(g)
    q = q * np.sign(np.diag(r))[None, :]  # QR's sign convention would bias the directions otherwise
    return q[:, 0], q[:, 1]


def random_plane(latent_dim: int, seed: int, extent: float = PRIOR_EXTENT) -> Plane:
    """The prior-draw plane: z0 ~ N(0, I) and two random orthonormal directions, shown over a, b in +-extent.

    It sits where the prior puts its mass (|z0| is about sqrt(d)), which is where a generative model must decode
    digits; a VAE is trained for that, a plain AE is not."""
    rng = np.random.default_rng(seed)
    z0 = rng.standard_normal(latent_dim)
    u, v = orthonormal_pair(latent_dim, rng)
    return Plane(z0, u, v, (-extent, extent), (-extent, extent))


def _direction(p0: np.ndarray, p1: np.ndarray, what: str) -> np.ndarray:
    d = p1 - p0
    if np.linalg.norm(d) <= SAME_POINT_TOL * max(1.0, np.linalg.norm(p0), np.linalg.norm(p1)):
        raise SliceError(f"{what} are the same point: they span no direction; pick two different ones")
    return d


def code_to_draw_plane(code: np.ndarray, draw: np.ndarray, seed: int, margin: float = 0.25) -> Plane:
    """The plane from a code towards a prior draw: z0 = code, u = draw - code (a = 0 at the code, a = 1 at the draw)
    and v a random direction orthogonal to u with |v| = |u|; shown over a in [-margin, 1 + margin] and b in
    +-(0.5 + margin). Plane coordinates are fractions of the way, so two models' planes line up even though their
    codes sit at different scales."""
    p0, p1 = _codes(code)[0], _codes(draw)[0]
    if p0.shape != p1.shape:
        raise SliceError(f"the code and the draw have different sizes ({p0.size} and {p1.size})")
    u = _direction(p0, p1, "the code and the prior draw")
    _, v = orthonormal_pair(p0.size, np.random.default_rng(seed), against=u)
    half = 0.5 + margin
    return Plane(p0, u, v * np.linalg.norm(u), (-margin, 1 + margin), (-half, half))


def three_point_plane(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, margin: float = 0.35) -> Plane:
    """The plane through three codes: z0 = p0, u = p1 - p0 (p1 at a = 1), v along the part of p2 - p0 orthogonal to
    u, |v| = |u|. Shown over a box holding all three with `margin` (a fraction of |u|) around them."""
    p0, p1, p2 = (_codes(p)[0] for p in (p0, p1, p2))
    u = _direction(p0, p1, "the first two points")
    w = _direction(p0, p2, "the first and the third point")
    w = w - (w @ u) / (u @ u) * u
    if np.linalg.norm(w) <= SAME_POINT_TOL * np.linalg.norm(u):
        raise SliceError("the three points lie on one line: they span no plane; pick a point off that line")
    v = w / np.linalg.norm(w) * np.linalg.norm(u)
    b2 = (p2 - p0) @ v / (v @ v)
    a2 = (p2 - p0) @ u / (u @ u)
    a_lo, a_hi = min(0.0, a2) - margin, max(1.0, a2) + margin
    b_lo, b_hi = min(0.0, b2) - margin, max(0.0, b2) + margin
    half = max(a_hi - a_lo, b_hi - b_lo) / 2  # a square view: the plane keeps its shape on screen
    ca, cb = (a_lo + a_hi) / 2, (b_lo + b_hi) / 2
    return Plane(p0, u, v, (ca - half, ca + half), (cb - half, cb + half))


class Whitener(NamedTuple):
    """z -> W (z - mean) with W = L^-1, L L^T = cov of the codes: the codes in units of their own spread."""

    mean: np.ndarray  # (d,)
    matrix: np.ndarray  # (d, d), W

    @classmethod
    def fit(cls, codes: np.ndarray, jitter: float = 1e-9) -> "Whitener":
        c = _codes(codes)
        if len(c) <= c.shape[1]:
            raise SliceError(f"whitening needs more codes than dimensions, got {len(c)} codes in {c.shape[1]}-D")
        cov = np.cov(c, rowvar=False).reshape(c.shape[1], c.shape[1])
        # a relative jitter per dimension keeps a degenerate direction invertible without bending the others
        chol = np.linalg.cholesky(cov + np.diag(jitter * np.diag(cov) + 1e-12))
        return cls(c.mean(0), np.linalg.inv(chol))

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """Whitened codes (n, d) float64."""
        return (_codes(z, self.mean.size) - self.mean[None, :]) @ self.matrix.T

    def nearest_distance(self, z: np.ndarray, codes: np.ndarray, chunk: int = 2048) -> np.ndarray:
        """Distance from each z (n, d) to the nearest of `codes` (m, d), in whitened units: (n,)."""
        q = self(z)
        if len(q) > MAX_QUERY:
            raise SliceError(f"at most {MAX_QUERY} query points at a time, got {len(q)}")
        c = self(codes)
        c2 = (c ** 2).sum(1)
        out = np.empty(len(q))
        for i in range(0, len(q), chunk):
            qb = q[i:i + chunk]
            d2 = (qb ** 2).sum(1)[:, None] + c2[None, :] - 2 * qb @ c.T
            out[i:i + chunk] = np.sqrt(np.maximum(d2.min(1), 0))
        return out

    def typical_gap(self, codes: np.ndarray, n: int = 1000, seed: int = 0) -> float:
        """Median distance from a code to its nearest other code, whitened: the yardstick for "near the codes"."""
        c = _codes(codes)
        idx = np.random.default_rng(seed).choice(len(c), min(n, len(c)), replace=False)
        q, all_c = self(c[idx]), self(c)
        d2 = (q ** 2).sum(1)[:, None] + (all_c ** 2).sum(1)[None, :] - 2 * q @ all_c.T
        d2[np.arange(len(idx)), idx] = np.inf  # not itself
        return float(np.median(np.sqrt(np.maximum(d2.min(1), 0))))


def aggregate_posterior(mu: np.ndarray, logvar: np.ndarray, seed: int) -> np.ndarray:
    """One draw z = mu + sigma * eps from each q(z|x) (n, d): a sample of the VAE's aggregate posterior, the cloud a
    VAE's decoder was trained on (its posterior means alone collapse unused dimensions to about 0)."""
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    eps = np.random.default_rng(seed).standard_normal(mu.shape)
    return (mu + np.exp(0.5 * logvar) * eps).astype(np.float32)


def norm_ratio(z: np.ndarray, codes: np.ndarray) -> float:
    """Median |z| over median |code|: how far a sampler's draws sit from the origin next to the codes (about 0.3 for
    N(0, I) draws against a 20-D AE's codes, about 1 for a VAE's)."""
    return float(np.median(np.linalg.norm(_codes(z), axis=1)) / np.median(np.linalg.norm(_codes(codes), axis=1)))


__all__ = ["Plane", "SliceError", "Whitener", "random_plane", "code_to_draw_plane", "three_point_plane",
           "orthonormal_pair", "norm_ratio", "aggregate_posterior", "PRIOR_EXTENT"]
