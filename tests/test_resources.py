"""ui/resources.py: checkpoint stamps looked at once a second, values kept per model version."""

import os
import shutil
import time

import numpy as np
import pytest

from ui import resources
from vae.checkpoint import CHECKPOINT_DIR, CHECKPOINT_DIR_ENV, MANIFEST_FILE


@pytest.fixture
def copied(tmp_path, monkeypatch):
    shutil.copytree(CHECKPOINT_DIR / "ae-z2", tmp_path / "ae-z2")
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    return tmp_path / "ae-z2"


def test_a_changed_checkpoint_gets_a_new_stamp_within_a_second(copied, monkeypatch):
    first = resources.stamp("ae-z2")
    assert first > 0
    manifest = copied / MANIFEST_FILE
    later = first + 100
    os.utime(manifest, (later, later))
    assert resources.stamp("ae-z2") == first, "looked at once a second at most"
    now = time.monotonic()
    monkeypatch.setattr(resources.time, "monotonic", lambda: now + resources.STAMP_TTL_S + 0.01)
    assert resources.stamp("ae-z2") >= later


def test_a_missing_file_is_looked_for_again_at_once(copied):
    weights = copied / "model.pt"
    kept = weights.read_bytes()
    weights.unlink()
    assert resources.stamp("ae-z2") == -1.0
    weights.write_bytes(kept)
    assert resources.stamp("ae-z2") > 0


def test_stamps_of_the_same_name_in_two_folders_are_kept_apart(copied, tmp_path, monkeypatch):
    in_copy = resources.stamp("ae-z2")
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path / "elsewhere"))
    assert resources.stamp("ae-z2") == -1.0, "no such checkpoint there"
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    assert resources.stamp("ae-z2") == in_copy


def test_kept_makes_a_value_once_per_model_version(monkeypatch):
    stamps = {"m": 1.0}
    monkeypatch.setattr(resources, "stamp", lambda name: stamps[name])
    made = []

    def make(stamp):
        made.append(stamp)
        return resources.read_only(np.arange(3.0) * stamp)

    a = resources.kept("test-thing", "m", make)
    assert resources.kept("test-thing", "m", make) is a and made == [1.0]
    with pytest.raises(ValueError):
        a[0] = 5.0  # shared by every session: read-only
    stamps["m"] = 2.0  # retrained
    assert resources.kept("test-thing", "m", make).tolist() == [0.0, 2.0, 4.0] and made == [1.0, 2.0]
