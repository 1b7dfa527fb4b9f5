"""Reading a hand-drawn digit with the 784-128-10 network.

Three jobs:
  1. preprocess   - turn a drawing (any size, RGBA or grey) into the 784 numbers an MNIST
                    digit is made of: ink cropped, shrunk into a 20x20 box, centred by its
                    centre of mass in a 28x28 field, values in [0, 1].
  2. read_digit   - run the network on it: logits, probabilities, hidden activations.
  3. saliency     - which pixels would raise the winning score: d logit_k / d x, by hand.
Plus saving / loading the trained weights (a dict of W1, b1, W2, b2 tensors), the same weights as an
nn.Sequential state_dict, and a standalone script that repeats the page's reading of an MNIST test digit.
"""
import base64
import binascii
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.losses import softmax
from core.network import forward, relu_grad

SIDE = 28          # MNIST images are 28 x 28 pixels
BOX = 20           # ... and the digit itself fits in a 20 x 20 box inside them
INK_THRESHOLD = 0.1  # a pixel darker than this (on a 0..1 scale) is not ink


# ----------------------------------------------------------------- 1. preprocessing
def ink_image(image):
    """Any drawing -> one grey image [H, W] float in [0, 1], where 1 is full ink.

    image: [H, W] grey, [H, W, 3] RGB or [H, W, 4] RGBA (numpy array or tensor, 0..255 or 0..1).
    Ink is bright on a dark background (white stroke on black, like MNIST). For RGBA the
    brightness is weighted by the alpha channel, so a transparent background counts as no ink.
    """
    img = torch.as_tensor(image).float()
    if img.ndim == 3:
        rgb = img[..., :3].mean(dim=-1)                          # [H, W, 3] -> [H, W]
        if img.shape[-1] == 4:
            alpha = img[..., 3] / (255.0 if img[..., 3].max() > 1 else 1.0)
            rgb = rgb * alpha                                    # see-through pixels hold no ink
        img = rgb
    if img.ndim != 2:
        raise ValueError(f"expected an image [H, W], [H, W, 3] or [H, W, 4], got shape {tuple(img.shape)}")
    if img.numel() and img.max() > 1:
        img = img / 255.0                                        # 0..255 -> 0..1
    return img.clamp(0, 1)


def ink_box(img, threshold=INK_THRESHOLD):
    """(top, bottom, left, right) of the smallest box holding all ink, or None for an empty image."""
    rows = (img > threshold).any(dim=1).nonzero()                # rows that contain ink
    cols = (img > threshold).any(dim=0).nonzero()
    if len(rows) == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def centre_of_mass(img):
    """(row, column) of the ink's centre of mass: the ink-weighted mean pixel position."""
    h, w = img.shape
    total = img.sum()
    r = (img.sum(dim=1) * torch.arange(h, dtype=img.dtype)).sum() / total   # [H] . [H]
    c = (img.sum(dim=0) * torch.arange(w, dtype=img.dtype)).sum() / total   # [W] . [W]
    return float(r), float(c)


def preprocess(image, threshold=INK_THRESHOLD):
    """A drawing -> x [784] float32 in [0, 1], made the way MNIST digits were made; None if blank.

    1. crop to the ink's bounding box
    2. scale it (keeping its aspect ratio) so its longer side is 20 pixels
    3. paste it in a 28 x 28 field so that its centre of mass sits in the middle
    """
    img = ink_image(image)                                       # [H, W] in [0, 1]
    box = ink_box(img, threshold)
    if box is None:
        return None                                              # nothing drawn
    top, bottom, left, right = box
    crop = img[top:bottom, left:right]                           # [h, w]
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    small = F.interpolate(crop[None, None], size=(new_h, new_w), mode="bilinear",
                          antialias=True, align_corners=False)[0, 0]       # [new_h, new_w]
    small = (small / small.max()).clamp(0, 1)                    # the strongest stroke is full ink
    r, c = centre_of_mass(small)                                 # inside the small patch
    centre = SIDE / 2                                            # 14.0: where MNIST digits have theirs
    row0 = min(max(round(centre - r), 0), SIDE - new_h)          # keep the patch inside the field
    col0 = min(max(round(centre - c), 0), SIDE - new_w)
    out = torch.zeros(SIDE, SIDE)
    out[row0:row0 + new_h, col0:col0 + new_w] = small            # paste: [28, 28]
    return out.reshape(SIDE * SIDE)                              # [784]


def pen_in_box(pen, longer_side):
    """How wide a pen stroke ends up, in MNIST pixels, on a drawing whose longer side is `longer_side` canvas
    pixels: preprocess shrinks that side to BOX pixels, and the stroke with it."""
    return pen * BOX / longer_side


# ----------------------------------------------------------------- 2. reading it
def read_digit(params, x):
    """Run one image x [784] through the network.

    Returns {"logits": [10], "probs": [10], "hidden": [128] (after ReLU), "prediction": int}.
    """
    with torch.no_grad():
        logits, cache = forward(params, x[None])                 # [1, 784] -> [1, 10]
        probs = softmax(logits)[0]                               # [10], sums to 1
    return {"logits": logits[0], "probs": probs, "hidden": cache["layers"][0]["a"][0],
            "prediction": int(probs.argmax())}


def score_rows(reading):
    """read_digit's reading as table rows: digit, logit (3 decimals), probability (4 decimals)."""
    return [{"digit": d, "logit": round(float(reading["logits"][d]), 3), "probability": round(p, 4)}
            for d, p in enumerate(reading["probs"].tolist())]


def n_parameters(params):
    """How many numbers the network holds: every weight and bias of every layer."""
    return sum(t.numel() for layer in params for t in layer.values())


# ----------------------------------------------------------------- 3. saliency
def saliency(params, x, k=None):
    """d logit_k / d x for a 784-H-10 ReLU network, by the chain rule: [784].

        z = x @ W1 + b1          [784] @ [784, H] -> [H]
        h = relu(z)              [H]
        logit_k = h @ W2[:, k] + b2[k]
    so  d logit_k / d h = W2[:, k]                               [H]
        d logit_k / d z = W2[:, k] * relu'(z)                    [H]   (0 for silent units)
        d logit_k / d x = (W2[:, k] * relu'(z)) @ W1.T           [H] @ [H, 784] -> [784]
    k defaults to the predicted class. Positive: more ink there would raise logit k.
    """
    W1, b1 = params[0]["W"], params[0]["b"]
    W2, b2 = params[1]["W"], params[1]["b"]
    with torch.no_grad():
        z = x @ W1 + b1                                          # [H]
        if k is None:
            k = int((torch.clamp(z, min=0) @ W2 + b2).argmax())  # the winning class
        dz = W2[:, k] * relu_grad(z)                             # [H]
        return dz @ W1.T                                         # [784]


# ----------------------------------------------------------------- saving / loading
def save_weights(params, path):
    """Write a 2-layer network as a dict {W1, b1, W2, b2} of float32 tensors (torch.save)."""
    tensors = {f"{key}{i + 1}": layer[key].detach().float().contiguous()
               for i, layer in enumerate(params) for key in ("W", "b")}
    torch.save(tensors, path)


def load_weights(path):
    """Read weights written by save_weights back into our list of {"W", "b"} layers."""
    tensors = torch.load(path, map_location="cpu", weights_only=True)
    n_layers = len(tensors) // 2
    return [{"W": tensors[f"W{i}"], "b": tensors[f"b{i}"]} for i in range(1, n_layers + 1)]


def unseen_digits(X, y, n_test, held_out):
    """The images of MNIST's test split (X [N, 784], y [N]) a model never trained on: the last n_test of them when
    it trained on the first N - held_out (n_test == held_out), all of them when it trained on MNIST's training split."""
    if n_test == held_out:
        return X[-n_test:], y[-n_test:]
    return X, y


def load_model_info(path):
    """The JSON note next to a weights file (what it was trained on, accuracy, seed, ...), or {}."""
    path = Path(path).with_suffix(".json")
    return json.loads(path.read_text()) if path.exists() else {}


# ---------------------------------------------------------------------------
# drawing (was labs/ch00_draw_digit.py)
# A drawing as it arrives from the browser: a PNG data URL, checked before anything decodes it.
# ---------------------------------------------------------------------------

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
    from PIL import (  # Pillow comes with streamlit; only this function needs it
        Image,
        UnidentifiedImageError,
    )
    try:
        with Image.open(io.BytesIO(PNG_SIGNATURE + kept), formats=["PNG"]) as img:
            if img.size != (width, height):
                raise DrawingError(f"The drawing is {img.size[0]} x {img.size[1]} pixels, not {width} x {height}.")
            pixels = np.array(img.convert("RGBA"))             # a writable copy (torch reads it)
    except DrawingError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, zlib.error,
            Image.DecompressionBombError) as err:
        raise DrawingError(f"The PNG image could not be decoded ({type(err).__name__}).") from None
    return pixels


def read_canvas(params, data_url, width, height):
    """What page 0 does with every message the canvas sends (after each stroke): check it, shape it, read it.

    data_url: the canvas's `data:image/png;base64,...` (the browser's: canvas_pixels checks it before decoding).
    Returns (x [784] or None for a blank canvas, read_digit's reading or None). Raises DrawingError when the
    message is refused. One 784-128-10 forward pass: microseconds; the PNG decode and preprocessing: ~ms.
    """
    image = canvas_pixels(data_url, width, height)               # [H, W, 4] uint8
    x = preprocess(image)                                        # [784] or None
    return x, (read_digit(params, x) if x is not None else None)
