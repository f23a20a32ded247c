"""Every picture the app renders from decoded digits, in one place and without Streamlit: crisp PNGs
(nearest-neighbour upscaling, no blur), grids and film strips, labelled rows, looping GIFs for downloads, and the
Disentanglement page's traversal grids, sweep GIFs and side-by-side comparisons.
The download buttons that hand these bytes to a browser live in ui.downloads."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Pixel intensities in [0, 1] -> uint8, clipping anything outside."""
    return (np.clip(np.asarray(images, np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def tile(images: np.ndarray, cols: int, pad: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """(n, h, w) images in [0, 1] -> one (rows * (h + pad) - pad, cols * (w + pad) - pad) mosaic, row-major."""
    images = np.asarray(images, np.float32)
    n, h, w = images.shape
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), pad_value, np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = img
    return out


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling by an integer factor: each pixel becomes a factor x factor block."""
    image = np.asarray(image)
    if image.ndim == 2:  # np.repeat: 5 times faster than the Kronecker product, same pixels
        return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)
    return np.kron(image, np.ones((factor, factor), dtype=image.dtype))


def png_bytes(image: np.ndarray, factor: int = 1, invert: bool = False, compress_level: int = 6) -> bytes:
    """A grayscale image in [0, 1] as PNG bytes, upscaled by `factor`; `invert` gives dark ink on white paper.
    compress_level: zlib's 0-9; 1 encodes an upscaled digit 2.4 times faster for 4% more bytes."""
    img = 1.0 - np.asarray(image, np.float32) if invert else image
    return gray_png(to_uint8(upscale(img, factor)), compress_level)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(tag)))


def gray_png(pixels: np.ndarray, compress_level: int = 6) -> bytes:
    """An (h, w) uint8 array as an 8-bit grayscale PNG: one IDAT chunk, no row filter. Written directly with zlib:
    PIL's encoder spends most of a small picture's time in Python around the compression (a decoded digit under
    each plane on every click: 0.08 against 0.13 ms at 140 x 140), and the bytes decode to the same pixels."""
    pixels = np.ascontiguousarray(pixels, np.uint8)
    if pixels.ndim != 2 or 0 in pixels.shape:
        raise ValueError(f"a grayscale PNG needs a non-empty 2-D array, got shape {pixels.shape}")
    h, w = pixels.shape
    rows = np.zeros((h, w + 1), np.uint8)  # each row starts with its filter type, 0 (none)
    rows[:, 1:] = pixels
    return (_PNG_SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), compress_level)) + _chunk(b"IEND", b""))


def png_data_uri(image: np.ndarray, factor: int = 1, invert: bool = False) -> str:
    """png_bytes as a data: URI, for st.image: the picture rides in the page's message instead of being stored in
    Streamlit's media manager and fetched by a second request (worth it for a digit's 1-2 KB)."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image, factor, invert, 1)).decode("ascii")


def png(image: np.ndarray, factor: int = 1) -> bytes:
    """A grayscale image in [0, 1] as PNG bytes, upscaled by `factor`, at zlib's default level (downloads)."""
    return png_bytes(image, factor)


def image_png(image: Image.Image) -> bytes:
    """A PIL image (a labelled row, a side-by-side comparison) as PNG bytes."""
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


# --- pictures with words, frames and GIFs ------------------------------------------------------------------------------------------

def _font(size: int):
    return ImageFont.load_default(size=size)


def _fit(text: str, font, width: float, draw: ImageDraw.ImageDraw) -> str:
    """`text`, shortened in the middle with an ellipsis until it is at most `width` pixels wide."""
    if draw.textlength(text, font=font) <= width:
        return text
    head, tail = text[:len(text) // 2], text[len(text) // 2:]
    while head and tail and draw.textlength(f"{head}\u2026{tail}", font=font) > width:
        head, tail = head[:-1], tail[1:]
    return f"{head}\u2026{tail}"


def labelled_row(images: Sequence[np.ndarray], labels: Sequence[str], factor: int = 6, gap: int = 16,
                 title: str | None = None) -> Image.Image:
    """Digits (each (28, 28) in [0, 1]) side by side on white, each with its label above and an optional title on top:
    e.g. a test digit beside its reconstructions."""
    if len(images) != len(labels) or not len(images):
        raise ValueError(f"need one label per image, got {len(images)} images and {len(labels)} labels")
    side = 28 * factor
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    size = max(14, side // 9)
    room = side + gap - 4
    while size > 10 and max(probe.textlength(t, font=_font(size)) for t in labels) > room:
        size -= 1  # a long model name gets smaller type rather than running into its neighbour's
    font = _font(size)
    labels = [_fit(t, font, room, probe) for t in labels]
    line = font.size + 10
    top = (line if title else 0) + line
    width = len(images) * side + (len(images) - 1) * gap
    if title:
        width = max(width, int(probe.textlength(title, font=font)) + 8)
    canvas = Image.new("L", (width, top + side), 255)
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((width // 2, line // 2), title, fill=0, font=font, anchor="mm")
    for i, (image, text) in enumerate(zip(images, labels)):
        x = i * (side + gap)
        draw.text((x + side // 2, top - line // 2), text, fill=0, font=font, anchor="mm")
        canvas.paste(Image.fromarray(to_uint8(upscale(np.asarray(image, np.float32), factor)), mode="L"), (x, top))
    return canvas


def interpolation_frames(sequences: Sequence[np.ndarray], labels: Sequence[str], factor: int = 8, gap: int = 24,
                         title: str | None = None) -> list[Image.Image]:
    """One frame per step of an interpolation shown by several models at once: step k of every sequence side by side
    under its model's name, over a bar with a marker at t = k / (K - 1), so a viewer sees how far along the path the
    frame is (it also keeps consecutive frames different, which GIF encoders would otherwise merge).

    sequences: one (K, 28, 28) array in [0, 1] per model, the same K for all.
    """
    steps = {len(s) for s in sequences}
    if len(steps) != 1 or steps == {0}:
        raise ValueError(f"every model needs the same number of steps, got {sorted(steps)}")
    k_total = steps.pop()
    bar = max(12, 2 * factor)
    frames = []
    for k in range(k_total):
        row = labelled_row([s[k] for s in sequences], labels, factor, gap, title)
        frame = Image.new("L", (row.width, row.height + bar + 6), 255)
        frame.paste(row, (0, 0))
        draw = ImageDraw.Draw(frame)
        y = row.height + 3 + bar // 2
        draw.line([(4, y), (row.width - 5, y)], fill=150, width=2)
        t = k / (k_total - 1) if k_total > 1 else 0.0
        x = 4 + t * (row.width - 9)
        draw.rectangle([x - bar // 3, y - bar // 2, x + bar // 3, y + bar // 2], fill=0)
        frames.append(frame)
    return frames


def bounce_order(n: int) -> list[int]:
    """Frame order there and back: 0..n-1 then n-2..1 (no repeated ends), 2n - 2 frames for n >= 2."""
    return list(range(n)) + list(range(n - 2, 0, -1))


def gif_bytes(frames: Sequence[np.ndarray | Image.Image], factor: int = 1, frame_ms: int = 100, bounce: bool = True,
              hold_ms: int | None = 600) -> bytes:
    """An animated GIF that loops forever.

    frames: 2-D arrays in [0, 1] (upscaled by `factor`, nearest neighbour) or grayscale PIL images (used as they
    are), all the same size. With `bounce` the animation goes there and back (2n - 2 frames); `hold_ms` keeps the
    first and last frame on screen longer, so the two ends of a path can be read.
    """
    if not len(frames):
        raise ValueError("a GIF needs at least one frame")
    images = [f.convert("L") if isinstance(f, Image.Image)
              else Image.fromarray(to_uint8(upscale(np.asarray(f, np.float32), factor)), mode="L") for f in frames]
    if len({im.size for im in images}) != 1:
        raise ValueError("all frames must have the same size")
    order = bounce_order(len(images)) if bounce and len(images) > 1 else list(range(len(images)))
    ends = {0, len(images) - 1}
    durations = [hold_ms if hold_ms and i in ends else frame_ms for i in order]
    sequence = [images[i] for i in order]
    buf = io.BytesIO()
    sequence[0].save(buf, format="GIF", save_all=True, append_images=sequence[1:], duration=durations, loop=0,
                     optimize=False, disposal=1)
    return buf.getvalue()


# --- latent traversals (the Disentanglement page) ----------------------------------------------------------------

def traversal_png(images: np.ndarray, row_labels: Sequence[str], values: Sequence[float], factor: int = 3,
                  pad: int = 2) -> bytes:
    """A traversal grid (rows, cols, 28, 28) in [0, 1] as one PNG: digits upscaled nearest-neighbour (crisp), each
    row labelled on the left, each column headed by its value of z_j."""
    rows, cols = images.shape[:2]
    cell = 28 * factor
    font = _font(max(14, int(cell * 0.3)))
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    label_w = max([int(probe.textlength(t, font=font)) for t in row_labels] + [0]) + 16
    header_h = font.size + 12
    canvas = Image.new("L", (label_w + cols * (cell + pad) - pad, header_h + rows * (cell + pad) - pad), 255)
    draw = ImageDraw.Draw(canvas)
    for c, v in enumerate(values):
        x = label_w + c * (cell + pad) + cell // 2
        draw.text((x, header_h // 2), f"{v:+.1f}" if abs(v) > 1e-6 else "0", fill=0, font=font, anchor="mm")
    for r in range(rows):
        y = header_h + r * (cell + pad)
        draw.text((label_w - 10, y + cell // 2), row_labels[r], fill=0, font=font, anchor="rm")
        for c in range(cols):
            canvas.paste(Image.fromarray(to_uint8(upscale(images[r, c], factor)), mode="L"),
                         (label_w + c * (cell + pad), y))
    return image_png(canvas)


def traversal_gif(images: np.ndarray, values: Sequence[float], factor: int = 10, frame_ms: int = 80) -> bytes:
    """An animated GIF of one dimension swept from its first value to its last and back (bounce_order), looping
    forever.

    images: (n, 28, 28) in [0, 1] decoded at `values` (increasing, e.g. vae.traversal.sweep_values). Each frame is
    the digit upscaled by `factor` (nearest neighbour) over a strip with a marker at the current value, so the viewer
    sees where in the sweep it is (and consecutive frames always differ, which keeps GIF encoders from merging them).
    2n - 2 frames, 28 * factor wide, 28 * factor + strip tall.
    """
    side = 28 * factor
    strip = max(8, 2 * factor)
    lo, hi = float(values[0]), float(values[-1])
    span = (hi - lo) or 1.0
    frames = []
    for k in range(len(images)):
        frame = Image.new("L", (side, side + strip), 0)
        frame.paste(Image.fromarray(to_uint8(upscale(images[k], factor)), mode="L"), (0, 0))
        draw = ImageDraw.Draw(frame)
        y = side + strip // 2
        draw.line([(2, y), (side - 3, y)], fill=110, width=2)
        x = 2 + (float(values[k]) - lo) / span * (side - 5)
        draw.rectangle([x - strip // 3, side + 1, x + strip // 3, side + strip - 2], fill=255)
        frames.append(frame)
    return gif_bytes(frames, frame_ms=frame_ms, bounce=True, hold_ms=None)


def side_by_side_png(pngs: Mapping[str, bytes], gap: int = 32) -> bytes:
    """PNG images side by side on white, each under its title (e.g. traversals of several models under their beta,
    as one picture)."""
    images = [Image.open(io.BytesIO(b)).convert("L") for b in pngs.values()]
    font = _font(max(16, images[0].height // 12 if images else 16))
    head = font.size + 16
    canvas = Image.new("L", (sum(im.width for im in images) + gap * (len(images) - 1),
                             head + max(im.height for im in images)), 255)
    draw = ImageDraw.Draw(canvas)
    x = 0
    for title, im in zip(pngs, images):
        draw.text((x + im.width // 2, head // 2), title, fill=0, font=font, anchor="mm")
        canvas.paste(im, (x, head))
        x += im.width + gap
    return image_png(canvas)
