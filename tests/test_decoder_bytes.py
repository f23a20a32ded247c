"""vae.decoder_bytes: the LEX1 container and the decoder payload the browser runs (tiny random models)."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch
from helpers import tiny_config

from vae.decoder_bytes import (MAGIC, SMALL_LAYER, PayloadError, UnsupportedDecoder, decode_numpy, decoder_layers,
                        decoder_payload, pack, unpack)
from vae.models import ModelConfig, build_model


def tiny_model(kind: str = "vae", activation: str = "relu", seed: int = 0, hidden=None) -> torch.nn.Module:
    torch.manual_seed(seed)
    config = tiny_config(kind, "mlp")
    config.activation = activation
    if hidden is not None:
        config.hidden = tuple(hidden)
    model = build_model(ModelConfig.from_dict(config.to_dict())).eval()
    with torch.no_grad():  # larger weights than the default init: logits of several units, like a trained decoder
        for p in model.decoder.parameters():
            p.mul_(3.0)
    return model


def test_pack_unpack_round_trip_keeps_header_arrays_and_alignment():
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 2, 250], np.uint8),
              "c": np.linspace(-1, 1, 5).astype(np.float16), "d": np.array([[-7, 9]], np.int32)}
    buf = pack({"hello": "world", "n": 3}, arrays)
    assert buf[:4] == MAGIC
    (n,) = struct.unpack_from("<I", buf, 4)
    header = json.loads(buf[8:8 + n])
    assert header["hello"] == "world" and header["data_bytes"] > 0
    u = unpack(buf)
    assert u.end == len(buf)
    assert u.header["n"] == 3
    for entry in u.header["arrays"]:
        assert entry["offset"] % 8 == 0, "arrays start at multiples of 8 so the browser can view them directly"
    for name, arr in arrays.items():
        assert u.arrays[name].dtype == arr.dtype and u.arrays[name].shape == arr.shape
        np.testing.assert_array_equal(u.arrays[name], arr)


def test_containers_concatenate_and_unpack_from_an_offset():
    first = pack({"kind": "plane_options", "options": {"key": "k"}})
    second = pack({"kind": "other"}, {"x": np.ones(3, np.float32)})
    buf = first + second
    a = unpack(buf)
    assert a.header["kind"] == "plane_options" and a.arrays == {} and a.end == len(first)
    b = unpack(buf, a.end)
    assert b.header["kind"] == "other" and b.end == len(buf)
    np.testing.assert_array_equal(b.arrays["x"], np.ones(3))


@pytest.mark.parametrize("bad", [b"", b"NOPE" + b"\0" * 20, MAGIC + struct.pack("<I", 1000) + b"{}"])
def test_unpack_rejects_malformed_bytes(bad):
    with pytest.raises(PayloadError):
        unpack(bad)


def test_unpack_rejects_truncated_payload():
    buf = pack({"a": 1}, {"x": np.ones(100, np.float32)})
    with pytest.raises(PayloadError, match="truncated"):
        unpack(buf[:-8])


def test_pack_rejects_reserved_keys_and_unknown_dtypes():
    with pytest.raises(ValueError, match="written by pack"):
        pack({"arrays": []})
    with pytest.raises(ValueError, match="dtype"):
        pack({}, {"x": np.ones(2, np.float64)})


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_decoder_payload_header_describes_the_mlp(kind):
    model = tiny_model(kind)
    points = np.random.default_rng(0).standard_normal((50, 2)).astype(np.float32)
    labels = np.arange(50, dtype=np.uint8) % 10
    u = unpack(decoder_payload(model, extra={"points": points, "labels": labels}, meta={"checkpoint": "tiny"}))
    h = u.header
    assert h["kind"] == "mlp_decoder" and h["latent_dim"] == 2 and h["output_shape"] == [1, 28, 28]
    assert h["output"] == "bernoulli_logits" and h["weight_dtype"] == "float16" and h["meta"] == {"checkpoint": "tiny"}
    widths = [2, *reversed(model.config.hidden), 784]
    assert [(layer["in"], layer["out"]) for layer in h["layers"]] == list(zip(widths[:-1], widths[1:]))
    assert [layer["activation"] for layer in h["layers"]] == ["relu"] * (len(widths) - 2) + [None]
    for layer in h["layers"]:
        assert u.arrays[layer["weight"]].shape == (layer["in"], layer["out"])  # (in, out): contiguous inner loop
        assert u.arrays[layer["bias"]].dtype == np.float32
    np.testing.assert_array_equal(u.arrays["points"], points)
    np.testing.assert_array_equal(u.arrays["labels"], labels)
    assert len(h["payload_id"]) == 16


def test_payload_is_deterministic_and_its_id_tracks_the_weights():
    model = tiny_model()
    assert decoder_payload(model) == decoder_payload(model)
    other = tiny_model(seed=1)
    assert unpack(decoder_payload(model)).header["payload_id"] != unpack(decoder_payload(other)).header["payload_id"]


def test_float16_weights_are_within_1e_3_of_torch_and_small_layers_stay_float32():
    model = tiny_model(hidden=(64, 32))  # decoder 2 -> 32 -> 64 -> 784
    u = unpack(decoder_payload(model, "float16"))
    for (w, b, _, _), layer in zip(decoder_layers(model), u.header["layers"]):
        stored = u.arrays[layer["weight"]]
        assert stored.dtype == (np.float32 if w.numel() <= SMALL_LAYER else np.float16)
        np.testing.assert_allclose(stored.astype(np.float32), w.detach().numpy().T, atol=1e-3, rtol=0)
        np.testing.assert_array_equal(u.arrays[layer["bias"]], b.detach().numpy())
    assert any(u.arrays[layer["weight"]].dtype == np.float16 for layer in u.header["layers"])


@pytest.mark.parametrize("activation", ["relu", "elu", "tanh"])
@pytest.mark.parametrize("dtype, tol", [("float16", 2e-3), ("float32", 1e-5)])
def test_numpy_decode_from_the_payload_matches_torch(activation, dtype, tol):
    model = tiny_model("vae", activation, hidden=(64, 32))
    z = np.random.default_rng(1).uniform(-3, 3, (64, 2)).astype(np.float32)
    with torch.no_grad():
        expected = torch.sigmoid(model.decode(torch.from_numpy(z))).reshape(len(z), -1).numpy()
    got = decode_numpy(decoder_payload(model, dtype), z)
    assert got.shape == (64, 784)
    assert np.abs(got - expected).max() <= tol
    assert expected.std() > 0.05, "the test model should decode to varied pixels, not a flat 0.5"


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_conv_decoder_is_unsupported_with_a_clear_message(kind):
    model = build_model(tiny_config(kind, "conv"))
    with pytest.raises(UnsupportedDecoder, match="MLP.*server-side panels"):
        decoder_payload(model)
    assert issubclass(UnsupportedDecoder, ValueError)


def test_unknown_weight_dtype_is_rejected():
    with pytest.raises(ValueError, match="dtype"):
        decoder_payload(tiny_model(), "bfloat16")
