"""ui/downloads.py and the download buttons: file names, PNG and GIF bytes (sizes, frames, timing), and AppTests that
every picture on the explorer and the disentanglement page has a download whose bytes are a real PNG or GIF."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from helpers import open_explorer_tab
from ui import downloads as D
from ui import images as E
from ui import state as S
from vae.checkpoint import CHECKPOINT_DIR, available

EXPLORER = str(CHECKPOINT_DIR.parent / "pages" / "explorer.py")
DIS_PAGE = str(CHECKPOINT_DIR.parent / "pages" / "disentanglement.py")
PNG_MAGIC, GIF_MAGIC = b"\x89PNG\r\n\x1a\n", b"GIF89a"


def digits(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 28, 28)).astype(np.float32)


# --- names and sizes ----------------------------------------------------------------------------------------------

def test_file_names_are_safe_and_readable():
    assert D.file_name("vae-z2", "decoded", "z1", 0.5, "z2", -1.2, ext="png") == "vae-z2_decoded_z1_0.5_z2_-1.2.png"
    assert D.file_name("ae-z2", "grid", "15x15", "extent", 2.0, "gaussian", ext="png") == \
        "ae-z2_grid_15x15_extent_2_gaussian.png"
    assert D.file_name("../../etc/passwd", "a b,c", ext="gif") == "etc-passwd_a-b-c.gif"
    assert D.file_name("\u03b2 = 4", "", None, ext="png") == "4.png"
    assert D.file_name("<script>", ext="png") == "script.png"
    assert D.number(-0.00001) == "0" and D.number(2.5) == "2.5" and D.number(-1.23456) == "-1.2346"


@pytest.mark.parametrize("width,factor", [(28, 12), (28 * 15, 4), (28 * 30, 2), (5000, 1), (0, 12)])
def test_slide_factor_brings_the_long_side_near_1680_pixels(width, factor):
    assert D.slide_factor(width) == factor


def test_png_of_a_digit_is_an_upscaled_grayscale_image():
    image = digits(1)[0]
    im = Image.open(io.BytesIO(E.png(image, 10)))
    assert im.format == "PNG" and im.mode == "L" and im.size == (280, 280)
    expected = np.kron((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8), np.ones((10, 10)))
    assert np.abs(np.asarray(im).astype(int) - expected).max() <= 1, "nearest neighbour: no blur"


@pytest.mark.parametrize("shape", [(1, 1), (28, 28), (3, 200), (150, 7)])
@pytest.mark.parametrize("level", [0, 1, 9])
def test_the_direct_png_writer_gives_the_same_pixels_as_pil(shape, level):
    pixels = np.random.default_rng(sum(shape) + level).integers(0, 256, size=shape, dtype=np.uint8)
    pixels[0, 0] = 255  # a constant image would hide a mix-up of rows and columns less than this one
    data = E.gray_png(pixels, level)
    im = Image.open(io.BytesIO(data))
    im.load()  # checks every chunk's CRC and the zlib stream
    assert im.format == "PNG" and im.mode == "L" and im.size == shape[::-1]
    assert np.array_equal(np.asarray(im), pixels)


@pytest.mark.parametrize("bad", [np.zeros((0, 5), np.uint8), np.zeros((4, 4, 3), np.uint8), np.zeros(9, np.uint8)])
def test_the_direct_png_writer_refuses_what_is_not_a_grayscale_picture(bad):
    with pytest.raises(ValueError, match="non-empty 2-D"):
        E.gray_png(bad)


def test_labelled_row_puts_each_digit_under_its_label():
    images = digits(3)
    row = E.labelled_row(images, ["input", "ae-z2", "vae-z2"], factor=4, gap=10, title="test digit #7")
    assert row.mode == "L" and row.width == 3 * 112 + 2 * 10
    arr = np.asarray(row)
    top = row.height - 112
    for i, image in enumerate(images):
        got = arr[top:, i * 122:i * 122 + 112]
        expected = np.kron((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8), np.ones((4, 4)))
        assert np.abs(got.astype(int) - expected).max() <= 1
    assert (arr[:top] < 128).any(), "labels and title are drawn in dark ink above the digits"
    with pytest.raises(ValueError, match="one label per image"):
        E.labelled_row(images, ["a", "b"])


def test_a_long_model_name_gets_smaller_type_not_a_wider_picture():
    short = E.labelled_row(digits(2), ["a", "b"], factor=3, gap=16)
    long = E.labelled_row(np.zeros((2, 28, 28)), ["session-vae-20260101-123456-abcdef", ""], factor=3, gap=16)
    assert long.width == short.width
    ink = np.nonzero((np.asarray(long)[:long.height - 84] < 128).any(0))[0]
    assert ink.max() < 84 + 16, "the first label stays over its own digit and gap"


# --- GIFs -----------------------------------------------------------------------------------------------------------

def _frames(gif: bytes) -> tuple[Image.Image, list[np.ndarray], list[int]]:
    im = Image.open(io.BytesIO(gif))
    frames, durations = [], []
    for k in range(im.n_frames):
        im.seek(k)
        frames.append(np.asarray(im.convert("L")))
        durations.append(im.info["duration"])
    return im, frames, durations


def test_gif_goes_there_and_back_holds_its_ends_and_loops():
    n, factor = 6, 4
    images = digits(n)
    gif = E.gif_bytes(images, factor=factor, frame_ms=90, hold_ms=500)
    assert gif[:6] == GIF_MAGIC
    im, frames, durations = _frames(gif)
    assert im.n_frames == 2 * n - 2 and im.size == (112, 112) and im.info.get("loop") == 0
    assert E.bounce_order(n) == [0, 1, 2, 3, 4, 5, 4, 3, 2, 1]
    for frame, idx in zip(frames, E.bounce_order(n)):
        expected = np.kron((np.clip(images[idx], 0, 1) * 255 + 0.5).astype(np.uint8), np.ones((factor, factor)))
        assert np.abs(frame.astype(int) - expected).max() <= 1
    assert durations == [500, 90, 90, 90, 90, 500, 90, 90, 90, 90]


def test_gif_without_bounce_plays_once_through():
    _, frames, durations = _frames(E.gif_bytes(digits(4), factor=2, frame_ms=50, bounce=False, hold_ms=None))
    assert len(frames) == 4 and durations == [50] * 4
    with pytest.raises(ValueError, match="at least one frame"):
        E.gif_bytes([])
    with pytest.raises(ValueError, match="same size"):
        E.gif_bytes([np.zeros((28, 28)), np.zeros((14, 14))])


def test_interpolation_frames_show_every_model_at_the_same_step_with_a_moving_marker():
    k, factor = 5, 3
    ae, vae = digits(k, 1), digits(k, 2)
    frames = E.interpolation_frames([ae, vae], ["ae-z2", "vae-z2"], factor=factor, gap=12, title="#3 -> #2")
    assert len(frames) == k and len({f.size for f in frames}) == 1
    side = 28 * factor
    bars = []
    for step, frame in enumerate(frames):
        arr = np.asarray(frame)
        bar_top = arr.shape[0] - (max(12, 2 * factor) + 6)
        digits_top = bar_top - side
        for i, seq in enumerate((ae, vae)):
            got = arr[digits_top:bar_top, i * (side + 12):i * (side + 12) + side]
            expected = np.kron((np.clip(seq[step], 0, 1) * 255 + 0.5).astype(np.uint8), np.ones((factor, factor)))
            assert np.abs(got.astype(int) - expected).max() <= 1
        bars.append(int(np.argmin(arr[bar_top:].min(0))))  # the marker: the darkest column of the bar
    assert bars == sorted(bars) and bars[0] < bars[-1], "the marker moves from left to right"
    with pytest.raises(ValueError, match="same number of steps"):
        E.interpolation_frames([digits(3), digits(4)], ["a", "b"])
    gif = E.gif_bytes(frames, frame_ms=100)
    im, _, _ = _frames(gif)
    assert im.n_frames == 2 * k - 2, "no two consecutive frames are merged"


# --- AppTest: every picture has its download ---------------------------------------------------------------------

@pytest.fixture
def captured(monkeypatch):
    """The files download buttons register in a run: {file name: (mime type, bytes)}; deferred ones made now."""
    files: dict[str, tuple[str, object]] = {}
    add, add_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def spy_add(self, data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if is_for_static_download:
            files[file_name] = (mimetype, data)
        return add(self, data, mimetype, coordinates, file_name=file_name,
                   is_for_static_download=is_for_static_download)

    def spy_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        files[file_name] = (mimetype, data_callable)
        return add_deferred(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add", spy_add)
    monkeypatch.setattr(MediaFileManager, "add_deferred", spy_deferred)
    return files


def _bytes(entry) -> tuple[str, bytes]:
    mime, data = entry
    return mime, (data() if callable(data) else data)


@pytest.mark.slow
def test_every_explorer_picture_downloads_as_png_and_the_path_as_gif(captured):
    app = AppTest.from_file(EXPLORER, default_timeout=180)
    app.query_params.update({"z": "0.5,-1.2", "digit": "7", "eps": "2", "grid": "10,2,linear", "a": "3", "b": "2",
                             "steps": "6", "m": "12", "seed": "4"})
    app.run()
    assert not app.exception
    buttons = [b for b in app.get("download_button") if (b.key or "").startswith("export_")]
    for tab in ("interpolation", "samples"):  # only the open tab's panel runs
        open_explorer_tab(app, tab)
        assert not app.exception
        buttons += [b for b in app.get("download_button") if (b.key or "").startswith("export_")
                    and b.key not in {c.key for c in buttons}]
    assert all(b.proto.ignore_rerun for b in buttons), "a download does not rerun the page"
    assert all(b.proto.deferred_file_id for b in buttons), "bytes are made on click, not on every run"
    expected = {
        "ae-z2_decoded_z1_0.5_z2_-1.2.png": (280, 280), "vae-z2_decoded_z1_0.5_z2_-1.2.png": (280, 280),
        "digit-7_reconstructions_ae-z2_vae-z2.png": None, "vae-z2_digit-7_posterior-draws_seed-2.png": None,
        "ae-z2_grid_10x10_extent_2_linear.png": (1680, 1680), "vae-z2_grid_10x10_extent_2_linear.png": (1680, 1680),
        "ae-z2_grid-own-codes_10x10_extent_2_linear.png": (1680, 1680),
        "ae-z2_interpolation_3-to-2_6-steps_linear.png": None, "vae-z2_interpolation_3-to-2_6-steps_linear.png": None,
        "ae-z2_prior-samples_M-12_seed-4.png": None, "vae-z2_prior-samples_M-12_seed-4.png": None,
        "ae-z2_fitted-gaussian-samples_M-12_seed-4.png": None,
        "interpolation_3-to-2_6-steps_linear_ae-z2_vs_vae-z2.gif": None,
    }
    assert set(expected) <= set(captured), sorted(set(expected) - set(captured))
    assert len(buttons) >= len(expected)
    for name, (mime, data) in captured.items():  # every download on the page, the ones named above and any other
        data = data() if callable(data) else data
        assert data[:8] == PNG_MAGIC if mime == "image/png" else data[:6] == GIF_MAGIC, name
    for name, size in expected.items():
        mime, data = _bytes(captured[name])
        im = Image.open(io.BytesIO(data))
        if name.endswith(".gif"):
            assert mime == "image/gif" and data[:6] == GIF_MAGIC
            assert im.n_frames == 2 * 6 - 2 and im.info.get("loop") == 0
            assert im.width == 2 * 224 + 24, "both models side by side, 224 px each"
        else:
            assert mime == "image/png" and data[:8] == PNG_MAGIC and im.mode == "L"
        if size:
            assert im.size == size, name
    strip = Image.open(io.BytesIO(_bytes(captured["vae-z2_interpolation_3-to-2_6-steps_linear.png"])[1]))
    assert strip.height == 28 * D.slide_factor(6 * 29 - 1), "the film strip at slide size"


@pytest.mark.slow
def test_the_disentanglement_page_downloads_its_traversals_and_the_beta_comparison(captured):
    family = [n for n in ("vae-z10-beta1", "vae-z10-beta4", "vae-z10-beta8") if n in available()]
    if len(family) < 2:
        pytest.skip("needs the shipped beta family")
    app = AppTest.from_file(DIS_PAGE, default_timeout=300).run()
    assert not app.exception
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels.count("Download PNG") == len(family), "one per compared model"
    assert {"Download this sweep as GIF", "Download this row as PNG", "Download the grid as PNG",
            "Download the comparison as one PNG"} <= set(labels)
    assert all(b.proto.ignore_rerun for b in app.get("download_button"))
    model, dim = app.session_state[S.DIS_MODEL], app.session_state[S.DIS_DIM]
    names = {
        f"{model}_z{dim}_traversal_digit-0.gif": "image/gif",
        f"{model}_z{dim}_traversal-row_digit-0_11-cols.png": "image/png",
        "beta-comparison_" + "_".join(family) + "_digit-0_5-rows.png": "image/png",
        **{f"{n}_top-dims-traversal_digit-0_5-rows.png": "image/png" for n in family},
    }
    assert set(names) <= set(captured), sorted(set(captured))
    for name, mime in names.items():
        got_mime, data = _bytes(captured[name])
        assert got_mime == mime and data[:6] == (GIF_MAGIC if mime == "image/gif" else PNG_MAGIC[:6])
    grid = [n for n in captured if n.startswith(f"{model}_traversal-grid_digit-0_11-cols_")]
    assert len(grid) == 1 and _bytes(captured[grid[0]])[1][:8] == PNG_MAGIC
    combined = Image.open(io.BytesIO(_bytes(captured[next(n for n in names if n.startswith("beta-"))])[1]))
    singles = [Image.open(io.BytesIO(_bytes(captured[f"{n}_top-dims-traversal_digit-0_5-rows.png"])[1]))
               for n in family]
    assert combined.width == sum(s.width for s in singles) + 32 * (len(singles) - 1), "side by side"
    assert combined.height > max(s.height for s in singles), "each under its beta"
