"""The forward pass of a 784-H-10 network traced one operation at a time, with the shape of every tensor.

core.network.forward runs the same maths in a loop; here each intermediate result is kept, so a page can
draw it, print its shape, count its bytes and the multiply-adds that produced it:

    x            [B, 784]                      a batch of flattened 28x28 images
    x @ W1       [B, 784] @ [784, H] -> [B, H]  B*784*H multiply-adds
    b1 broadcast [H] -> [B, H]                  a view with stride 0: no copy, no arithmetic
    z1 = x@W1+b1 [B, H]
    h = relu(z1) [B, H]                         negatives become 0, shape unchanged
    h @ W2       [B, H] @ [H, 10] -> [B, 10]    B*H*10 multiply-adds
    b2 broadcast [10] -> [B, 10]
    logits       [B, 10]
    probs        [B, 10]                        softmax: each row sums to 1

`break_forward` feeds a wrongly shaped tensor into the same lines and returns torch's own error message.
"""
import math
import re

import torch

from core.losses import softmax
from core.network import relu


def _step(name, code, value, madds=0, note=""):
    """One intermediate of the trace: its name, the code that made it, the tensor and what it cost."""
    return {"name": name, "code": code, "value": value, "shape": tuple(value.shape),
            "bytes": value.numel() * value.element_size(), "madds": madds, "note": note}


def trace_forward(params, x):
    """Run x [B, 784] through a two-layer network [{"W", "b"}, {"W", "b"}] keeping every intermediate.

    Returns a list of steps (dicts with name, code, value, shape, bytes, madds, note) in the order
    they are computed. The last step's value equals core.network.forward(params, x)'s softmax.
    "bytes" counts the numbers a tensor holds times 4 (float32); a broadcast view is listed with
    the memory it really owns (the [H] vector), which the note explains.
    """
    W1, b1 = params[0]["W"], params[0]["b"]  # [784, H], [H]
    W2, b2 = params[1]["W"], params[1]["b"]  # [H, 10], [10]
    B, n_in = x.shape
    H, C = W1.shape[1], W2.shape[1]
    xw1 = x @ W1  # [B, 784] @ [784, H] -> [B, H]
    b1_wide = b1.expand(B, H)  # [H] -> [B, H], every row the same H numbers (stride 0)
    z1 = xw1 + b1  # [B, H] + [H] -> [B, H]: torch broadcasts b1 to every row
    h = relu(z1)  # [B, H], negatives -> 0
    hw2 = h @ W2  # [B, H] @ [H, 10] -> [B, 10]
    b2_wide = b2.expand(B, C)  # [10] -> [B, 10]
    logits = hw2 + b2  # [B, 10]
    probs = softmax(logits)  # [B, 10], rows sum to 1
    return [
        _step("x", "x", x, note=f"{B} images, each 28x28 = {n_in} pixels in one row"),
        _step("W1", "W1", W1, note=f"{n_in * H:,} weights: column j holds hidden unit j's view of the pixels"),
        _step("x @ W1", "x @ W1", xw1, madds=B * n_in * H,
              note=f"[{B}, {n_in}] @ [{n_in}, {H}]: the inner sizes {n_in} and {n_in} must match"),
        _step("b1 broadcast", "b1.expand(B, H)", b1_wide,
              note=f"b1 is [{H}]; torch repeats it down {B} rows without copying (stride 0)"),
        _step("z1", "x @ W1 + b1", z1, note="pre-activation, same shape as x @ W1"),
        _step("h", "relu(z1)", h, note="ReLU keeps the shape and zeroes the negatives"),
        _step("W2", "W2", W2, note=f"{H * C:,} weights"),
        _step("h @ W2", "h @ W2", hw2, madds=B * H * C, note=f"[{B}, {H}] @ [{H}, {C}]"),
        _step("b2 broadcast", "b2.expand(B, 10)", b2_wide, note=f"b2 is [{C}], repeated down {B} rows"),
        _step("logits", "h @ W2 + b2", logits, note="one raw score per digit"),
        _step("probs", "softmax(logits)", probs, note="each row sums to 1"),
    ]


def owned_bytes(value):
    """Bytes of memory a tensor really owns: a broadcast (stride-0) view owns only its source's numbers."""
    return value.untyped_storage().nbytes()


def total_madds(steps):
    """Multiply-adds of the whole forward pass (the two matmuls; bias adds and ReLU are B*H-sized extras)."""
    return sum(s["madds"] for s in steps)


def block_size(dim):
    """Length on screen of a tensor side with `dim` entries: 1 + log2(dim), so 1 and 784 both fit."""
    return 1 + math.log2(max(dim, 1))


# --------------------------------------------------------------------- break it
# name -> (the wrong line of code, why it fails)
BREAKS = {
    "W1 transposed": (
        "x @ W1.T",
        "W1.T has shape [H, 784]. A matmul needs the columns of the left matrix to equal the rows of "
        "the right one: 784 columns meet H rows, so the pixel counts no longer line up.",
    ),
    "image not flattened": (
        "x.reshape(B, 28, 28) @ W1",
        "A [B, 28, 28] tensor times a matrix is treated as B*28 rows of 28 numbers. Each row now holds "
        "28 pixels, but W1 expects 784 pixels per row. Flatten first: x.reshape(B, 784).",
    ),
    "W2 made for another hidden size": (
        "relu(x @ W1 + b1) @ torch.zeros(H2, 10)",
        "The hidden layer produced H numbers per image, but this W2 has H2 rows. The output width of "
        "one layer must be the input width of the next.",
    ),
    "b1 of the wrong length": (
        "x @ W1 + torch.zeros(K)",
        "Broadcasting lines shapes up from the right: [B, H] + [K] compares H with K. They differ and "
        "neither is 1, so torch cannot stretch one to the other.",
    ),
    "one image without a batch axis": (
        "x[0] @ W1",
        "No error. A 1-D tensor [784] times [784, H] gives a 1-D [H]: torch quietly drops the batch axis. "
        "Code that later expects [B, H] (for example argmax(dim=1)) will break far from the cause.",
    ),
}


def break_forward(params, x, case):
    """Run the forward pass with one deliberately wrong shape (a key of BREAKS).

    Returns {"code", "why", "error": torch's message or None, "shape": result shape when it ran}.
    """
    code, why = BREAKS[case]
    W1, b1 = params[0]["W"], params[0]["b"]  # [784, H], [H]
    B, H = x.shape[0], W1.shape[1]
    H2 = H + 1 if H != 64 else 32  # a hidden size that differs from H
    K = 10 if H != 10 else 7  # a bias length that differs from H
    try:
        if case == "W1 transposed":
            out = x @ W1.T  # [B, 784] @ [H, 784]
        elif case == "image not flattened":
            out = x.reshape(B, 28, 28) @ W1  # [B, 28, 28] @ [784, H]
        elif case == "W2 made for another hidden size":
            out = relu(x @ W1 + b1) @ torch.zeros(H2, 10)  # [B, H] @ [H2, 10]
        elif case == "b1 of the wrong length":
            out = x @ W1 + torch.zeros(K)  # [B, H] + [K]
        else:
            out = x[0] @ W1  # [784] @ [784, H] -> [H]
    except RuntimeError as err:
        return {"code": _fill(code, H2=H2, K=K), "why": _fill(why, H2=H2, K=K), "error": str(err), "shape": None}
    if case != "one image without a batch axis":  # e.g. H = 1: [B, 1] + [10] stretches to [B, 10]
        why = (f"No error here: a side of length 1 is stretched to match, so the result is "
               f"{list(out.shape)} instead of failing. Broadcasting can hide a shape bug.")
    return {"code": _fill(code, H2=H2, K=K), "why": why, "error": None, "shape": tuple(out.shape)}


def _fill(text, **sizes):
    """Write the concrete sizes (H2, K) into a BREAKS line."""
    for name, value in sizes.items():
        text = re.sub(rf"\b{name}\b", str(value), text)
    return text

