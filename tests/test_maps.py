"""Pure parts of the explorer's maps and notes (ui/maps.py): highest-density depth, the path notes."""

import numpy as np

from ui import maps


def test_hdr_depth_is_one_at_the_core_and_zero_outside_the_codes():
    rng = np.random.default_rng(0)
    cloud = rng.standard_normal((3000, 2))
    grid = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [8.0, 8.0]])
    depth = maps._hdr_depth(cloud, grid)
    assert depth[0] > 0.95 and depth[-1] == 0.0
    assert depth[0] > depth[1] > depth[2] > depth[3]
    # For a standard normal, the density contour through radius r encloses 1 - exp(-r^2 / 2) of the mass, so the share
    # of codes in less dense places is exp(-r^2 / 2): 0.61 at r = 1, 0.14 at r = 2 (kernel smoothing widens it a bit).
    assert abs(depth[1] - np.exp(-0.5)) < 0.08 and abs(depth[2] - np.exp(-2)) < 0.06


def test_runs_and_crossing_note():
    assert maps._runs(np.array([0, 0, 6, 6, 2, 1, 1])) == [0, 6, 2, 1]
    assert maps.crossing_note({"AE (ae-z2)": 0, "VAE (vae-z2)": 0}) is None
    note = maps.crossing_note({"AE (ae-z2)": 1, "VAE (vae-z2)": 4})
    assert "AE (ae-z2): 1 other digit," in note and "VAE (vae-z2): 4 other digits" in note
    assert note.startswith("**Why does a straight path pass through other digits?**")


def test_every_map_has_an_explanation_and_the_share_links_know_it():
    from ui import share

    assert tuple(maps.MAPS) == share.MAP_KINDS
    assert set(maps.CAPTIONS) == set(maps.MAPS) - {"none"}


def _synthetic_model(monkeypatch, name: str, n: int = 3000, scale: float = 3.0, seed: int = 0):
    """Codes for a made-up checkpoint `name` (no files): what resources.encoded would return, a fixed stamp."""
    from ui import resources

    rng = np.random.default_rng(seed)
    mu = (rng.standard_normal((n, 2)) * [scale, scale / 3]).astype(np.float32)
    real_encoded, real_stamp = resources.encoded, resources.stamp
    monkeypatch.setattr(resources, "encoded", lambda m: (mu, None) if m == name else real_encoded(m))
    monkeypatch.setattr(resources, "stamp", lambda m: 1.0 if m == name else real_stamp(m))
    return mu


def test_nearest_codes_agree_with_a_pass_over_every_code(monkeypatch):
    from vae import latent

    mu = _synthetic_model(monkeypatch, "synthetic-nearest")
    rng = np.random.default_rng(1)
    for z in rng.standard_normal((200, 2)) * 4:
        assert maps.nearest_codes("synthetic-nearest", z, k=5).tolist() == \
            latent.nearest(mu, np.asarray(z, np.float32), k=5).tolist()
    assert maps.nearest_codes("synthetic-nearest", mu[17], k=1).tolist() == [17]


def test_code_distance_is_the_whitened_distance_to_the_nearest_code(monkeypatch):
    _synthetic_model(monkeypatch, "synthetic-distance", scale=12.0)
    s, cloud = maps.spread("synthetic-distance"), maps.cloud("synthetic-distance")
    assert not cloud.flags.writeable, "one array shared by every session"
    rng = np.random.default_rng(2)
    for z in rng.standard_normal((200, 2)) * 20:
        want = float(s.whitener.nearest_distance(np.asarray([z]), cloud)[0])
        assert abs(maps.code_distance("synthetic-distance", z) - want) < 1e-6 * max(1.0, want)
    assert maps.code_distance("synthetic-distance", cloud[5]) < 1e-9
