"""Peak memory of one upload decode (`vae.preprocess.load_upload`) for the largest image the Draw page accepts.

For each accepted format (vae.preprocess.UPLOAD_FORMATS) in the pixel modes that cost most per pixel (RGBA,
32-bit float and CMYK TIFF in one strip, 16-bit grey, a rotated photo, a JPEG too narrow to decode at reduced scale), an image of `--pixels` pixels (default: the accepted maximum,
MAX_UPLOAD_PIXELS) is written to a temporary file, with a black stroke on white paper so that it has ink. Each is
then decoded in a fresh Python process, which reports:

- rss: the process's peak resident memory (VmHWM in /proc/self/status; getrusage's ru_maxrss would carry the
  parent's peak across fork and exec) minus its resident memory just before the call, with the file's bytes read. This covers Pillow's C buffers, which tracemalloc does not see. It is an upper
  bound on what the decode adds: the peak before the call (the imports) can only make it larger;
- traced: tracemalloc's peak during the call (Python objects and numpy arrays only).

Target: every rss figure under 100 MB (exit status 1 otherwise). A file over the 10 MB upload limit is listed as
refused. Usage: python -m benchmarks.upload_memory [--pixels N]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from vae.preprocess import MAX_UPLOAD_BYTES, MAX_UPLOAD_PIXELS

TARGET_MB = 100.0
CHILD = r"""
import json, sys, tracemalloc
from PIL import Image
from vae.preprocess import DrawingError, load_upload

def status(key):  # kB -> bytes; VmHWM is this process's peak resident memory (reset by exec, unlike ru_maxrss)
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

Image.init()
data = open(sys.argv[1], "rb").read()
rss0, high0 = status("VmRSS"), status("VmHWM")
tracemalloc.start()
try:
    shape, error = list(load_upload(data).shape), None
except DrawingError as e:
    shape, error = None, str(e)
traced = tracemalloc.get_traced_memory()[1]
print(json.dumps({"rss": max(status("VmHWM") - rss0, 0), "high_before": high0 - rss0, "traced": traced,
                  "shape": shape, "error": error}))
"""


def _page(width: int, height: int) -> np.ndarray:
    """White paper (255) with one thick black stroke (0), (height, width) uint8."""
    page = np.full((height, width), 255, np.uint8)
    page[height // 4: 3 * height // 4, width // 2 - width // 40: width // 2 + width // 40] = 0
    return page


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees (a phone held upright)
    return exif.tobytes()


def cases(pixels: int) -> dict[str, bytes]:
    """name -> file bytes of an image with at most `pixels` pixels (as close to it as a near-square allows)."""
    height = math.isqrt(pixels)
    width = pixels // height
    gray = _page(width, height)
    out: dict[str, bytes] = {}

    def save(name: str, image: Image.Image, fmt: str, **kwargs) -> None:
        buf = io.BytesIO()
        image.save(buf, fmt, **kwargs)
        out[name] = buf.getvalue()

    L = Image.fromarray(gray)
    save("PNG RGBA", Image.merge("RGBA", (L, L, L, Image.new("L", L.size, 255))), "PNG")
    save("PNG RGB, EXIF rotated", Image.merge("RGB", (L, L, L)), "PNG", exif=_exif_rotated())
    save("PNG grey 16-bit", Image.fromarray(gray.astype(np.uint16) * 257), "PNG")
    save("PNG palette", L.convert("P"), "PNG")
    one_strip = dict(compression="tiff_deflate", strip_size=2**62)
    save("TIFF RGBA, one strip", Image.merge("RGBA", (L, L, L, Image.new("L", L.size, 255))), "TIFF", **one_strip)
    save("TIFF float32, one strip", Image.fromarray(gray.astype(np.float32)), "TIFF", **one_strip)
    save("TIFF CMYK, one strip", Image.merge("RGB", (L, L, L)).convert("CMYK"), "TIFF", **one_strip)
    save("WebP RGBA lossless", Image.merge("RGBA", (L, L, L, Image.new("L", L.size, 255))), "WEBP", lossless=True)
    save("GIF", L.convert("P"), "GIF")
    save("JPEG CMYK", Image.merge("RGB", (L, L, L)).convert("CMYK"), "JPEG", quality=90)
    save("JPEG RGB progressive, EXIF rotated", Image.merge("RGB", (L, L, L)), "JPEG", quality=90, progressive=True,
         exif=_exif_rotated())
    wide_h = math.isqrt(pixels // 8)  # 8:1, so that no side shrinks to WORK_SIDE: decoded at full scale
    wide = Image.fromarray(_page(pixels // wide_h, wide_h))
    save("JPEG CMYK 8:1, full scale", Image.merge("RGB", (wide, wide, wide)).convert("CMYK"), "JPEG", quality=90)
    return out


def measure(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)
    if done.returncode:
        raise RuntimeError(f"the decode raised: {done.stderr.strip().splitlines()[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixels", type=int, default=MAX_UPLOAD_PIXELS,
                        help=f"pixels of each test image (default: the accepted maximum, {MAX_UPLOAD_PIXELS:,})")
    args = parser.parse_args(argv)
    worst, failed = 0.0, False
    print(f"one decode of a {args.pixels / 1e6:.2f}-megapixel image (limit {MAX_UPLOAD_PIXELS / 1e6:.2f} MP, "
          f"{MAX_UPLOAD_BYTES / 2**20:.0f} MB); target: peak rss < {TARGET_MB:.0f} MB")
    print(f"{'case':38s} {'file MB':>8s} {'rss MB':>8s} {'traced MB':>10s}  result")
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in cases(args.pixels).items():
            size = len(data) / 2**20
            if len(data) > MAX_UPLOAD_BYTES:
                print(f"{name:38s} {size:8.2f} {'':>8s} {'':>10s}  refused: over the byte limit")
                continue
            path = Path(tmp) / "upload"
            path.write_bytes(data)
            got = measure(path)
            rss, traced = got["rss"] / 2**20, got["traced"] / 2**20
            worst = max(worst, rss)
            result = "decoded to ink " + "x".join(map(str, got["shape"])) if got["shape"] else got["error"]
            print(f"{name:38s} {size:8.2f} {rss:8.1f} {traced:10.1f}  {result}")
            failed |= rss >= TARGET_MB
    print(f"largest peak: {worst:.1f} MB -> {'FAIL' if failed else 'PASS'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
