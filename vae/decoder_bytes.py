"""A model's MLP decoder as a small binary payload that a browser can parse and run (the live latent plane).

Container format ("LEX1"), everything little-endian:

    offset 0   4 bytes   magic b"LEX1"
    offset 4   uint32    n, the length of the JSON header
    offset 8   n bytes   UTF-8 JSON header (an object)
               0-7 zero bytes, up to the next multiple of 8
    data       the raw arrays, each starting at a multiple of 8 from the start of the container

The header holds the caller's fields plus two written here: "arrays", a list of {"name", "dtype", "shape",
"offset", "nbytes"} (offset from the start of the container), and "data_bytes", the size of the data section, so a
reader knows where the container ends (containers can be concatenated). Dtypes are numpy names: float16, float32,
uint8, int32, uint16.

`decoder_payload` writes an MLP decoder z -> h_1 -> ... -> logits (784) as one weight array per layer, shape
(in, out) row-major, i.e. torch's nn.Linear weight transposed: row i holds everything input unit i sends on, so the
browser computes y = b + sum_i x_i * W[i, :] with a contiguous inner loop over the outputs and skips the rows of
inputs that ReLU set to zero. Then one bias per layer (float32) and the activation after each layer. Extra
arrays (the latent plane's points: float32 (n, 2) codes, uint8 labels, float32 (n, 2) logvar) ride along.
This module is pure numpy/torch and never imports streamlit.
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

MAGIC = b"LEX1"
FORMAT_VERSION = 1
ALIGN = 8
DTYPES = ("float16", "float32", "uint8", "uint16", "int32")  # what the JavaScript reader understands
WEIGHT_DTYPES = ("float16", "float32")
# Layers with at most this many weights stay float32 whatever the dtype asked for. They cost almost nothing (the first
# layer 2 -> 256 is 512 numbers) but matter most: the first layer's rounding error is amplified by every layer after
# it (measured on vae-z2, float16 everywhere: max pixel error 2.7e-3; first layer float32: 1.5e-3 over z in [-5, 5]^2).
SMALL_LAYER = 4096
# nn activation class -> the name the JS decoder knows. ELU's alpha is written per layer.
ACTIVATION_NAMES: dict[type[nn.Module], str] = {nn.ReLU: "relu", nn.ELU: "elu", nn.Tanh: "tanh"}
RESERVED_KEYS = ("arrays", "data_bytes")


class PayloadError(ValueError):
    """Bytes that are not a well-formed LEX1 container."""


class UnsupportedDecoder(ValueError):
    """The decoder has layers the browser decoder cannot run (it runs fully connected decoders only)."""


class Unpacked(NamedTuple):
    header: dict  # the JSON header, including "arrays" and "data_bytes"
    arrays: dict[str, np.ndarray]  # read-only views into the buffer
    end: int  # offset just past this container (where a following container would start)


def _pad(n: int) -> int:
    return -n % ALIGN


def pack(header: dict, arrays: dict[str, np.ndarray] | None = None) -> bytes:
    """One LEX1 container: `header` (JSON-able dict, without the reserved keys "arrays"/"data_bytes") + `arrays`.

    Arrays are written C-contiguous and little-endian in the order given; their dtype must be one of DTYPES.
    """
    clash = [k for k in RESERVED_KEYS if k in header]
    if clash:
        raise ValueError(f"header keys {clash} are written by pack(); leave them out")
    arrays = arrays or {}
    entries, blobs, offset_in_data = [], [], 0
    for name, arr in arrays.items():
        arr = np.asarray(arr)
        if arr.dtype.name not in DTYPES:
            raise ValueError(f"array {name!r} has dtype {arr.dtype.name}; supported: {', '.join(DTYPES)}")
        blob = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()
        entries.append({"name": name, "dtype": arr.dtype.name, "shape": list(arr.shape), "offset": offset_in_data,
                        "nbytes": len(blob)})
        blobs.append(blob + b"\0" * _pad(len(blob)))
        offset_in_data += len(blob) + _pad(len(blob))
    # The header's length decides where the data starts, and the offsets are written into the header: iterate until
    # the padded header length stops changing (it grows by at most a few digits, so two rounds suffice).
    start = 0
    for _ in range(4):
        full = {**header, "arrays": [{**e, "offset": e["offset"] + start} for e in entries],
                "data_bytes": offset_in_data}
        text = json.dumps(full, separators=(",", ":"), sort_keys=True).encode("utf-8")
        new_start = 8 + len(text) + _pad(8 + len(text))
        if new_start == start or not entries:  # without arrays no offset depends on the header's length
            break
        start = new_start
    else:  # pragma: no cover - offsets only ever add digits, so this converges
        raise RuntimeError("LEX1 header length did not converge")
    return b"".join([MAGIC, struct.pack("<I", len(text)), text, b"\0" * _pad(8 + len(text)), *blobs])


def unpack(buf: bytes | bytearray | memoryview, offset: int = 0) -> Unpacked:
    """Parse the LEX1 container that starts at `offset` of `buf`; raise PayloadError if it is malformed."""
    mv = memoryview(buf).cast("B")
    if len(mv) - offset < 8 or bytes(mv[offset:offset + 4]) != MAGIC:
        raise PayloadError("not a latent-plane payload (magic bytes LEX1 missing)")
    (n,) = struct.unpack_from("<I", mv, offset + 4)
    if offset + 8 + n > len(mv):
        raise PayloadError(f"header of {n} bytes runs past the end of the {len(mv)}-byte buffer (truncated?)")
    try:
        header = json.loads(bytes(mv[offset + 8:offset + 8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PayloadError(f"header is not valid JSON ({e})") from None
    if not isinstance(header, dict) or "arrays" not in header or "data_bytes" not in header:
        raise PayloadError("header lacks 'arrays' or 'data_bytes'")
    start = 8 + n + _pad(8 + n)
    end = offset + start + int(header["data_bytes"])
    if end > len(mv):
        raise PayloadError(f"data section ends at byte {end}, past the end of the {len(mv)}-byte buffer (truncated?)")
    arrays = {}
    for e in header["arrays"]:
        if e["dtype"] not in DTYPES:
            raise PayloadError(f"array {e['name']!r} has unknown dtype {e['dtype']!r}")
        dtype = np.dtype(e["dtype"]).newbyteorder("<")
        count = int(np.prod(e["shape"], dtype=np.int64))
        lo = offset + int(e["offset"])
        if count * dtype.itemsize != e["nbytes"] or lo + e["nbytes"] > end:
            raise PayloadError(f"array {e['name']!r}: shape, size and offset disagree")
        arrays[e["name"]] = np.frombuffer(mv, dtype=dtype, count=count, offset=lo).reshape(e["shape"])
    return Unpacked(header, arrays, end)


def _flat_layers(decoder: nn.Module) -> list[nn.Module]:
    """The leaf modules of nested nn.Sequential containers, in order."""
    if isinstance(decoder, nn.Sequential):
        return [leaf for child in decoder for leaf in _flat_layers(child)]
    return [decoder]


def decoder_layers(model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor, str | None, dict]]:
    """The decoder as [(weight (out, in), bias (out,), activation name or None, activation params)].

    Raises UnsupportedDecoder for anything but Linear layers, ReLU/ELU/Tanh and a final Unflatten/Flatten/Identity.
    """
    decoder = getattr(model, "decoder", model)
    layers: list[list] = []
    for m in _flat_layers(decoder):
        if isinstance(m, nn.Linear):
            if m.bias is None:
                bias = torch.zeros(m.out_features)
            else:
                bias = m.bias
            layers.append([m.weight, bias, None, {}])
        elif type(m) in ACTIVATION_NAMES:
            if not layers or layers[-1][2] is not None:
                raise UnsupportedDecoder("the browser decoder needs an activation to follow a Linear layer")
            layers[-1][2] = ACTIVATION_NAMES[type(m)]
            if isinstance(m, nn.ELU):
                layers[-1][3] = {"alpha": float(m.alpha)}
        elif isinstance(m, (nn.Unflatten, nn.Flatten, nn.Identity)):
            continue  # reshapes only: the browser works on the flat 784 vector
        else:
            raise UnsupportedDecoder(
                f"the live latent plane runs fully connected (MLP) decoders in the browser; this decoder has a "
                f"{type(m).__name__} layer. Use the server-side panels for this model.")
    if not layers:
        raise UnsupportedDecoder("the decoder has no Linear layers; the live latent plane supports MLP decoders")
    for (w0, _, _, _), (w1, _, _, _) in zip(layers[:-1], layers[1:]):
        if w0.shape[0] != w1.shape[1]:
            raise UnsupportedDecoder(f"layer widths do not chain ({tuple(w0.shape)} then {tuple(w1.shape)})")
    return [(w, b, act, params) for w, b, act, params in layers]


def decoder_payload(model: nn.Module, dtype: str = "float16", extra: dict[str, np.ndarray] | None = None,
                    meta: dict | None = None) -> bytes:
    """The decoder of `model` (AE or VAE with an MLP decoder) as a LEX1 container the browser can run.

    Weights are stored in `dtype` ("float16": half the bytes; decoded pixels within about 1e-3 of torch where the
    data lives, the error growing with |z| far outside it; "float32": exact) except layers of at most SMALL_LAYER
    weights, which stay float32; biases are float32. `extra` arrays ride along (e.g. "points" (n, 2) float32, "labels"
    (n,) uint8, "logvar" (n, 2) float32) and `meta` adds JSON fields to the header. The header's "payload_id" is a
    sha256 of the content, so a reader can tell whether a payload changed without comparing the bytes.
    Header fields: kind "mlp_decoder", version, latent_dim, output_shape [1, 28, 28], output "bernoulli_logits",
    weight_dtype, layers [{weight, bias, in, out, activation, activation_params}], payload_id, meta.
    """
    if dtype not in WEIGHT_DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(WEIGHT_DTYPES)}, got {dtype!r}")
    layers = decoder_layers(model)
    latent_dim = int(layers[0][0].shape[1])
    config = getattr(model, "config", None)
    if config is not None and config.latent_dim != latent_dim:
        raise UnsupportedDecoder(f"first decoder layer takes {latent_dim} inputs, config says {config.latent_dim}")
    arrays: dict[str, np.ndarray] = {}
    spec = []
    for i, (w, b, act, params) in enumerate(layers):
        layer_dtype = "float32" if w.numel() <= SMALL_LAYER else dtype
        arrays[f"W{i}"] = np.ascontiguousarray(w.detach().float().cpu().numpy().T.astype(layer_dtype))  # (in, out)
        arrays[f"b{i}"] = b.detach().float().cpu().numpy().astype(np.float32)
        spec.append({"weight": f"W{i}", "bias": f"b{i}", "in": int(w.shape[1]), "out": int(w.shape[0]),
                     "activation": act, "activation_params": params})
    for name, arr in (extra or {}).items():
        if name in arrays:
            raise ValueError(f"extra array name {name!r} clashes with a decoder array")
        arrays[name] = np.asarray(arr)
    header = {"kind": "mlp_decoder", "version": FORMAT_VERSION, "latent_dim": latent_dim,
              "output_shape": [1, 28, 28], "output": "bernoulli_logits", "weight_dtype": dtype, "layers": spec,
              "meta": meta or {}}
    digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    for name, arr in arrays.items():
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arr).tobytes())
    header["payload_id"] = digest.hexdigest()[:16]
    return pack(header, arrays)


def decode_numpy(payload: bytes | Unpacked, z: np.ndarray) -> np.ndarray:
    """Reference decoder run from the payload alone: z (n, latent_dim) -> sigmoid(logits) (n, 784), float32.

    The same arithmetic as the JavaScript (weights widened to float32, float32 accumulation), used by the tests.
    """
    u = payload if isinstance(payload, Unpacked) else unpack(payload)
    h = np.asarray(z, np.float32).reshape(-1, u.header["latent_dim"])
    for layer in u.header["layers"]:
        w = u.arrays[layer["weight"]].astype(np.float32)
        h = h @ w + u.arrays[layer["bias"]]  # w is (in, out)
        act = layer["activation"]
        if act == "relu":
            h = np.maximum(h, 0)
        elif act == "tanh":
            h = np.tanh(h)
        elif act == "elu":
            alpha = np.float32(layer["activation_params"].get("alpha", 1.0))
            h = np.where(h > 0, h, alpha * np.expm1(np.minimum(h, 0)))
        elif act is not None:
            raise PayloadError(f"unknown activation {act!r}")
    with np.errstate(over="ignore"):  # exp(-h) = inf for very negative logits gives the right answer, 0
        return (1.0 / (1.0 + np.exp(-h))).astype(np.float32)


__all__ = ["pack", "unpack", "Unpacked", "decoder_payload", "decoder_layers", "decode_numpy", "PayloadError",
           "UnsupportedDecoder", "MAGIC"]
