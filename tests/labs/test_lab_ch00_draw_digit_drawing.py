"""labs.ch00_draw_digit: the canvas's PNG data URL is checked (type, length, size in the header) before Pillow sees it.

Hostile payloads are what a visitor can put in the canvas's websocket message by hand; tests/test_hostile_server.py
sends the same ones to a running server.
"""
import base64
import io
import json
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from labs import ch00_draw_digit as lab

SIDE = 280


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header(width, height, bit_depth=8, colour=6):
    return lab.PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0))


def deflated_zeros(size):
    """zlib data of `size` zero bytes without compressing them all: after a full flush each megabyte of zeros
    deflates to the same bytes, so one is compressed and repeated (a 9000 x 9000 image, 324 MB: 1.3 s -> 0.01 s
    at every import of this file). The checksum of n zeros is Adler-32's (a, b) = (1, n mod 65521)."""
    full, tail = divmod(size, 1 << 20)
    packer, parts = zlib.compressobj(9), []
    if full:
        parts.append(packer.compress(bytes(1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH))
    if full > 1:
        parts += [packer.compress(bytes(1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)] * (full - 1)
    parts.append(packer.compress(bytes(tail)) + packer.flush())
    return b"".join(parts)[:-4] + struct.pack(">I", (size % 65521) << 16 | 1)


def blank_png(width, height, bit_depth=8, colour=6, channels=4):
    """A width x height PNG of zeros (a 9000 x 9000 one never exists uncompressed here): how a small message
    can claim a huge image."""
    row = 1 + (width * channels * bit_depth + 7) // 8
    idat = deflated_zeros(row * height)
    return png_header(width, height, bit_depth, colour) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [0, 1121, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 12345])
def test_deflated_zeros_is_valid_zlib_of_that_many_zeros(size):
    stream = zlib.decompressobj()
    data = stream.decompress(deflated_zeros(size)) + stream.flush()   # zlib checks the Adler-32 at the end
    assert stream.eof and not stream.unused_data and data == bytes(size)


def url(raw, prefix=lab.DATA_URL_PREFIX):
    return prefix + base64.b64encode(raw).decode()


def digit_png(**save):
    """What the canvas sends: a 280 x 280 RGBA PNG, white stroke on black."""
    img = Image.new("RGBA", (SIDE, SIDE), (0, 0, 0, 255))
    ImageDraw.Draw(img).line([(140, 50), (140, 230)], fill=(255, 255, 255, 255), width=18)
    buf = io.BytesIO()
    img.save(buf, format="PNG", **save)
    return buf.getvalue(), np.asarray(img)


def image_bytes(fmt, size=(SIDE, SIDE), mode="RGB"):
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, format=fmt)
    return buf.getvalue()


# ----------------------------------------------------------------- what the canvas really sends
def test_a_drawing_decodes_to_its_pixels():
    raw, pixels = digit_png()
    got = lab.canvas_pixels(url(raw), SIDE, SIDE)
    assert got.shape == (SIDE, SIDE, 4) and got.dtype == np.uint8
    assert np.array_equal(got, pixels)


def test_other_valid_280_pngs_decode_too():
    for mode in ("L", "P", "RGB", "I;16"):
        buf = io.BytesIO()
        Image.new(mode, (SIDE, SIDE)).save(buf, format="PNG")
        assert lab.canvas_pixels(url(buf.getvalue()), SIDE, SIDE).shape == (SIDE, SIDE, 4), mode
    # ancillary chunks (text, a colour profile) are dropped, not decoded
    raw, pixels = digit_png()
    bomb = chunk(b"zTXt", b"k\x00\x00" + zlib.compress(bytes(50_000_000), 9))      # 50 MB of text, 49 KB here
    with_text = raw[:33] + bomb + raw[33:]
    assert np.array_equal(lab.canvas_pixels(url(with_text), SIDE, SIDE), pixels)


def test_the_length_limit_fits_the_largest_280_png():
    noise = np.random.default_rng(0).integers(0, 256, (SIDE, SIDE, 4), dtype=np.uint8)   # incompressible
    buf = io.BytesIO()
    Image.fromarray(noise, "RGBA").save(buf, format="PNG", compress_level=0)
    assert np.array_equal(lab.canvas_pixels(url(buf.getvalue()), SIDE, SIDE), noise)


# ----------------------------------------------------------------- hostile payloads: each refused, with a reason
HOSTILE = {
    "9000x9000 PNG": url(blank_png(9000, 9000)),
    "16000x16000 1-bit PNG": url(blank_png(16000, 16000, bit_depth=1, colour=0, channels=1)),
    "281x280 PNG": url(blank_png(281, 280)),
    "280x1 PNG": url(blank_png(280, 1)),
    "0x0 PNG header": url(png_header(0, 0) + chunk(b"IEND", b"")),
    "PNG header only": url(png_header(SIDE, SIDE)),
    "truncated PNG": url(digit_png()[0][:200]),
    "corrupt IDAT": url(png_header(SIDE, SIDE) + chunk(b"IDAT", b"\x78\x9c garbage") + chunk(b"IEND", b"")),
    "chunk longer than the file": url(png_header(SIDE, SIDE) + struct.pack(">I4s", 0xFFFFFFFF, b"IDAT")),
    "IHDR not first": url(lab.PNG_SIGNATURE + chunk(b"IDAT", b"") + chunk(b"IEND", b"")),
    "JPEG data URL": url(image_bytes("JPEG"), "data:image/jpeg;base64,"),
    "GIF data URL": url(image_bytes("GIF", mode="P"), "data:image/gif;base64,"),
    "BMP inside a png URL": url(image_bytes("BMP")),
    "JPEG inside a png URL": url(image_bytes("JPEG")),
    "PostScript (Ghostscript) URL": url(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 9000 9000\nshowpage\n",
                                        "data:application/postscript;base64,"),
    "EPS inside a png URL": url(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 9000 9000\nshowpage\n"),
    "SVG URL": "data:image/svg+xml;base64," + base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'/>").decode(),
    "plain text URL": "data:text/plain,hello",
    "png URL without base64": "data:image/png,\x89PNG",
    "http URL": "https://evil.example/x.png",
    "empty string": "",
    "empty png URL": lab.DATA_URL_PREFIX,
    "garbage base64": lab.DATA_URL_PREFIX + "!!!not base64@@@",
    "base64 with bad padding": lab.DATA_URL_PREFIX + "iVBORw0KGgo=A",
    "10 MB of base64": lab.DATA_URL_PREFIX + "A" * 10_000_000,
    "a number": 12345,
    "a dict": {"data": "x"},
    "a list": [1, 2, 3],
    "bytes": b"data:image/png;base64,AAAA",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_payloads_are_refused_with_a_reason_and_never_reach_pillow_unchecked(name, monkeypatch):
    payload = HOSTILE[name]
    opened = []
    real_open = Image.open

    def spy(fp, mode="r", formats=None):
        opened.append(formats)
        return real_open(fp, mode, formats)
    monkeypatch.setattr(Image, "open", spy)
    with pytest.raises(lab.DrawingError) as err:
        lab.canvas_pixels(payload, SIDE, SIDE)
    assert str(err.value)
    assert all(f == ["PNG"] for f in opened), "Pillow may only be asked to read PNG"
    if name[0].isdigit() and "PNG" in name:
        assert not opened, "an image of the wrong size must be refused from its header, before decoding"
        assert "It was not decoded" in str(err.value)


def test_the_message_says_the_size_it_found():
    with pytest.raises(lab.DrawingError, match="9000 x 9000 pixels; this canvas sends 280 x 280"):
        lab.canvas_pixels(HOSTILE["9000x9000 PNG"], SIDE, SIDE)
    with pytest.raises(lab.DrawingError, match="must be a PNG image .* not image/jpeg"):
        lab.canvas_pixels(HOSTILE["JPEG data URL"], SIDE, SIDE)


MEMORY_PROBE = """
import base64, json, sys, psutil
from labs import ch00_draw_digit as lab
payloads = json.load(sys.stdin)
proc = psutil.Process()
lab.canvas_pixels(payloads["ok"], 280, 280)            # warm up: imports, Pillow's PNG plugin
before = proc.memory_info().rss
peak = before
for name, payload in payloads["hostile"].items():
    try:
        lab.canvas_pixels(payload, 280, 280)
        print("ACCEPTED", name)
    except lab.DrawingError:
        pass
    peak = max(peak, proc.memory_info().rss)
print(json.dumps({"before": before, "peak": peak}))
"""


def test_a_9000_pixel_png_costs_no_memory():
    """The attack that took a server from 471 MB to 2,939 MB: measured in a fresh process, RSS before and
    after refusing it (and the other large ones) must not grow by more than 20 MB."""
    payloads = {"ok": url(digit_png()[0]),
                "hostile": {k: HOSTILE[k] for k in ("9000x9000 PNG", "16000x16000 1-bit PNG", "10 MB of base64")}}
    out = subprocess.run([sys.executable, "-c", MEMORY_PROBE], input=json.dumps(payloads), capture_output=True,
                         text=True, timeout=120, cwd=str(__import__("pathlib").Path(__file__).parents[2]))
    assert out.returncode == 0, out.stderr
    assert "ACCEPTED" not in out.stdout
    rss = json.loads(out.stdout.strip().splitlines()[-1])
    grew = (rss["peak"] - rss["before"]) / 2**20
    print(f"RSS before {rss['before'] / 2**20:.0f} MB, peak {rss['peak'] / 2**20:.0f} MB (+{grew:.1f} MB)")
    assert grew < 20, f"refusing the payloads grew memory by {grew:.0f} MB"
