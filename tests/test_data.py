import gzip
import io
import pickle
import struct

import numpy as np
import pytest

from vae import data as data_mod
from vae.checkpoint import CHECKPOINT_DIR, available, read_manifest
from vae.data import DataError, convert_pickle, file_sha256, load_mnist, load_torchvision, write_npz

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.slow
def test_committed_mnist_has_official_shapes_dtypes_and_class_counts():
    mnist = load_mnist()
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_train.dtype == np.uint8
    assert mnist.x_test.shape == (10000, 28, 28) and mnist.x_test.dtype == np.uint8
    assert mnist.y_train.shape == (60000,) and mnist.y_train.dtype == np.uint8
    assert np.bincount(mnist.y_train, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist.y_test, minlength=10).tolist() == TEST_COUNTS
    assert mnist.x_train.max() == 255 and mnist.x_train.min() == 0
    # official order: the first training digit is a 5, the first test digit a 7
    assert mnist.y_train[:5].tolist() == [5, 0, 4, 1, 9] and mnist.y_test[:5].tolist() == [7, 2, 1, 0, 4]


def test_committed_data_sha256_is_what_every_checkpoint_was_trained_on():
    digest = file_sha256(data_mod.DEFAULT_PATH)
    names = available(CHECKPOINT_DIR)
    assert names, "checkpoints/ holds no checkpoint"
    for name in names:
        assert read_manifest(CHECKPOINT_DIR / name)["data"]["sha256"] == digest, name


def _classic_pickle(n_train=6, n_valid=2, n_test=3, seed=0) -> tuple[bytes, list]:
    rng = np.random.default_rng(seed)
    splits = []
    for n in (n_train, n_valid, n_test):
        k = rng.integers(0, 256, size=(n, 784))
        splits.append(((k / 256).astype(np.float32), rng.integers(0, 10, size=n).astype(np.int64)))
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as f:
        pickle.dump(tuple(splits), f, protocol=2)
    return buf.getvalue(), splits


TINY_SPECS = {"x_train": ((8, 28, 28), np.uint8), "y_train": ((8,), np.uint8),
              "x_test": ((3, 28, 28), np.uint8), "y_test": ((3,), np.uint8)}


def test_conversion_is_lossless_and_keeps_the_official_order():
    gz, splits = _classic_pickle()
    arrays = convert_pickle(gz, TINY_SPECS)
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = splits
    expected_train = np.rint(np.concatenate([x_tr, x_va]) * 256).astype(np.uint8).reshape(-1, 28, 28)
    assert np.array_equal(arrays["x_train"], expected_train)
    assert np.array_equal(arrays["y_train"], np.concatenate([y_tr, y_va]))
    assert np.array_equal(arrays["x_test"].astype(np.float32).reshape(3, 784) / 256, x_te)
    assert np.array_equal(arrays["y_test"], y_te)


def test_conversion_refuses_values_that_are_not_k_over_256():
    gz, _ = _classic_pickle()
    (x_tr, y_tr), va, te = pickle.loads(gzip.decompress(gz))
    x_tr = x_tr.copy()
    x_tr[0, 0] = 0.3  # not a multiple of 1/256
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as f:
        pickle.dump(((x_tr, y_tr), va, te), f, protocol=2)
    with pytest.raises(DataError, match="not exactly k/256"):
        convert_pickle(buf.getvalue(), TINY_SPECS)


def test_conversion_refuses_pickled_code():
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as f:
        pickle.dump(print, f)  # a callable: must not be resolved
    with pytest.raises(pickle.UnpicklingError, match="refusing to load builtins.print"):
        convert_pickle(buf.getvalue(), TINY_SPECS)


def test_npz_bytes_depend_only_on_the_arrays(tmp_path):
    arrays = convert_pickle(_classic_pickle()[0], TINY_SPECS)
    write_npz(arrays, tmp_path / "a.npz")
    write_npz(dict(reversed(list(arrays.items()))), tmp_path / "b.npz")
    assert file_sha256(tmp_path / "a.npz") == file_sha256(tmp_path / "b.npz")
    with np.load(tmp_path / "a.npz") as f:
        assert np.array_equal(f["x_train"], arrays["x_train"])


def test_missing_data_file_says_how_to_restore_it(tmp_path):
    with pytest.raises(DataError, match="not found; restore it with `git checkout data/mnist.npz`"):
        load_mnist(tmp_path / "mnist.npz")


def test_wrong_shapes_are_reported(tmp_path):
    np.savez(tmp_path / "bad.npz", x_train=np.zeros((10, 28, 28), np.uint8), y_train=np.zeros(10, np.uint8),
             x_test=np.zeros((10000, 28, 28), np.uint8), y_test=np.zeros(10000, np.uint8))
    expected = "x_train has shape \\(10, 28, 28\\) and dtype uint8, expected \\(60000, 28, 28\\)"
    with pytest.raises(DataError, match=expected):
        load_mnist(tmp_path / "bad.npz")


def test_unreadable_data_file(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="cannot be read"):
        load_mnist(tmp_path / "mnist.npz")


def _write_idx(path, array: np.ndarray) -> None:
    """IDX format (LeCun): magic (0, 0, type 0x08 = uint8, ndim), big-endian int32 sizes, then the bytes."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST"), ("kmnist", "KMNIST")])
def test_torchvision_datasets_load_offline_from_raw_files(tmp_path, name, folder):
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(1)
    x_train, y_train = rng.integers(0, 256, (7, 28, 28)), rng.integers(0, 10, 7)
    x_test, y_test = rng.integers(0, 256, (4, 28, 28)), rng.integers(0, 10, 4)
    _write_idx(raw / "train-images-idx3-ubyte", x_train)
    _write_idx(raw / "train-labels-idx1-ubyte", y_train)
    _write_idx(raw / "t10k-images-idx3-ubyte", x_test)
    _write_idx(raw / "t10k-labels-idx1-ubyte", y_test)
    ds = load_torchvision(name, tmp_path, download=False)
    assert np.array_equal(ds.x_train, x_train) and np.array_equal(ds.y_train, y_train)
    assert np.array_equal(ds.x_test, x_test) and np.array_equal(ds.y_test, y_test)
    assert ds.x_train.dtype == np.uint8


def test_torchvision_dataset_missing_without_download_says_so(tmp_path):
    with pytest.raises(DataError, match="FashionMNIST not found under .*--download"):
        load_torchvision("fashion-mnist", tmp_path, download=False)


def test_unknown_torchvision_dataset_lists_the_valid_ones(tmp_path):
    with pytest.raises(DataError, match="Unknown dataset 'cifar'. Possible values: mnist, fashion-mnist, kmnist"):
        load_torchvision("cifar", tmp_path)
