"""A drawing as it arrives from the browser: a PNG data URL, checked before anything decodes it.

Page 0's canvas sends `data:image/png;base64,...`, a 280 x 280 PNG. Everything in that message comes
from the visitor's browser, so it is untrusted: a 410 KB message can hold a 9000 x 9000 PNG that takes
324 MB once decoded. So, before a single pixel is decoded:
  1. the data URL must say `image/png` and be no longer than a 280 x 280 PNG can be,
  2. the base64 must be valid,
  3. the PNG header (the IHDR chunk: width and height, bytes 16-24) must say 280 x 280.
Only then does Pillow decode it, told to read PNG and nothing else, from a copy of the file that keeps
only the chunks that hold pixels (no compressed text or colour profiles to inflate).
"""
import base64
import binascii
import io
import struct
import zlib

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DATA_URL_PREFIX = "data:image/png;base64,"
PIXEL_CHUNKS = (b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND")   # all a decoder needs to draw the pixels


class DrawingError(ValueError):
    """The canvas sent something that is not a PNG drawing of the expected size (the message says what)."""


def max_png_bytes(width, height):
    """The largest a width x height PNG of 8-bit RGBA pixels can be: the raw rows (1 filter byte +
    4 bytes a pixel each) if zlib could not shrink them at all, plus room for chunk headers."""
    raw = height * (1 + 4 * width)
    return raw + raw // 100 + 4096


def max_data_url_chars(width, height):
    """... and as base64 text (4 characters for every 3 bytes) after the `data:image/png;base64,` prefix."""
    return 4 * -(-max_png_bytes(width, height) // 3)


def png_chunks(raw):
    """[(type, data)] of a PNG file's chunks, read from their length fields (no pixel is decoded)."""
    if not raw.startswith(PNG_SIGNATURE):
        raise DrawingError("The drawing is not a PNG image (its first bytes are not the PNG signature).")
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos < len(raw):
        if pos + 12 > len(raw):
            raise DrawingError("The PNG image is cut short (a chunk header is incomplete).")
        length, kind = struct.unpack(">I4s", raw[pos:pos + 8])
        body = raw[pos + 8:pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(raw):
            raise DrawingError("The PNG image is cut short (a chunk is longer than the file).")
        chunks.append((kind, body))
        pos += 12 + length
        if kind == b"IEND":
            break
    return chunks


def png_size(raw):
    """(width, height) from a PNG's IHDR chunk, which must come first (PNG spec, section 5.6)."""
    chunks = png_chunks(raw)
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        raise DrawingError("The PNG image has no valid header (IHDR chunk).")
    return struct.unpack(">II", chunks[0][1][:8])


def png_bytes(data_url, width, height):
    """The PNG file inside a `data:image/png;base64,...` URL, checked for type, length and base64."""
    if not isinstance(data_url, str):
        raise DrawingError(f"The drawing arrived as {type(data_url).__name__}, not as an image.")
    if not data_url[:len(DATA_URL_PREFIX)].lower() == DATA_URL_PREFIX:
        media = data_url[5:].split(";", 1)[0].split(",", 1)[0][:40] if data_url.startswith("data:") else ""
        raise DrawingError("The drawing must be a PNG image (a data:image/png;base64 URL)"
                           + (f", not {media or 'an empty type'}." if data_url.startswith("data:") else "."))
    chars, limit = len(data_url) - len(DATA_URL_PREFIX), max_data_url_chars(width, height)
    if chars > limit:   # measured before anything is copied or decoded
        raise DrawingError(f"The drawing is {chars:,} characters of base64, more than a {width} x {height} "
                           f"PNG can take ({limit:,}). It was not decoded.")
    try:
        return base64.b64decode(data_url[len(DATA_URL_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise DrawingError("The drawing's data is not valid base64.") from None


def canvas_pixels(data_url, width, height):
    """`data:image/png;base64,...` of a width x height PNG -> pixels [height, width, 4] uint8 (RGBA).

    Raises DrawingError, saying why, for anything else: another media type, too long, bad base64,
    not a PNG, another size (read from the header, before decoding), or a PNG that does not decode.
    """
    raw = png_bytes(data_url, width, height)
    size = png_size(raw)
    if size != (width, height):
        raise DrawingError(f"The drawing is {size[0]} x {size[1]} pixels; this canvas sends {width} x {height}. "
                           "It was not decoded.")
    kept = b"".join(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
                    for kind, body in png_chunks(raw) if kind in PIXEL_CHUNKS)
    from PIL import Image, UnidentifiedImageError  # Pillow comes with streamlit; only this function needs it
    try:
        with Image.open(io.BytesIO(PNG_SIGNATURE + kept), formats=["PNG"]) as img:
            if img.size != (width, height):
                raise DrawingError(f"The drawing is {img.size[0]} x {img.size[1]} pixels, not {width} x {height}.")
            pixels = np.asarray(img.convert("RGBA"))
    except DrawingError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, zlib.error,
            Image.DecompressionBombError) as err:
        raise DrawingError(f"The PNG image could not be decoded ({type(err).__name__}).") from None
    return pixels
