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


def script_shapes(batch_size=64, hidden=128, seed=0, case=None):
    """A standalone Python script (needs torch and this repo's `core` on the path) that reruns the
    shape-propagation page's forward pass on the same MNIST batch for these settings and prints every
    tensor's shape, size and cost plus the values the page shows. `case`, a key of BREAKS, adds the
    "break it" line."""
    B, H, seed = int(batch_size), int(hidden), int(seed)
    broken = "" if case is None else f'''
# 3. "Break it": the same forward pass with one wrongly shaped tensor
broke = shapes.break_forward(params, x, {case!r})
print("break_code", broke["code"])
print("break_result", f"RuntimeError: {{broke['error']}}" if broke["error"] else f"shape {{list(broke['shape'])}}")
'''
    return f'''"""Chapter 2 (shape propagation), recomputed with the `core` package of "Neural networks from scratch".

Run from the repository root (or with it on PYTHONPATH):  python shapes.py
Needs torch and the repo's core/ package, nothing else. It reads the MNIST test split the way the app does
($MNIST_DIR, data/mnist, then the split committed in datasets/mnist), draws the same {B} images with seed {seed}, runs
them through a fresh Kaiming-initialised 784-{H}-10 network one operation at a time and prints the numbers
the page showed. Every line is "name value".
"""
import torch

from core import data, losses, network
from labs import ch02_shapes as shapes
from datasets import mnist_files

torch.set_num_threads(1)  # like the app: the rounding of a matmul can depend on the thread count

# 1. The batch: {B} test images picked by a generator seeded with {seed}
g = torch.Generator().manual_seed({seed})
X, y = mnist_files.load_mnist("test")  # [10000, 784] pixels in [0, 1], [10000] labels
idx = torch.randperm(len(X), generator=g)[:{B}]  # which test images form the batch
x, labels = X[idx], y[idx]  # [{B}, 784], [{B}]
print("input real MNIST test images")

# 2. The forward pass, one operation at a time, every intermediate kept
params = network.init_mlp([784, {H}, 10], seed={seed})  # W1 [784, {H}], b1 [{H}], W2 [{H}, 10], b2 [10]
steps = shapes.trace_forward(params, x)
value = {{s["name"]: s["value"] for s in steps}}
for s in steps:
    key = s["name"].replace(" @ ", "@").replace(" ", "_")  # "x @ W1" -> "x@W1", "b1 broadcast" -> "b1_broadcast"
    print(f"{{key}}.shape {{list(s['shape'])}}")
    print(f"{{key}}.numbers {{s['value'].numel()}}")
    print(f"{{key}}.bytes_owned {{shapes.owned_bytes(s['value'])}}")  # a broadcast view owns only its source
    print(f"{{key}}.multiply_adds {{s['madds']}}")

logits_net, _ = network.forward(params, x)  # the same maths through core.network's loop
print(f"output_shape {{list(value['logits'].shape)}}")
print(f"multiply_adds_total {{shapes.total_madds(steps):,}}")
print(f"hidden_values_zeroed_by_relu {{(value['h'] == 0).float().mean().item():.1%}}")
print(f"max_abs_trace_minus_network_forward {{(value['logits'] - logits_net).abs().max().item():.1e}}")
for name in ("z1", "h", "logits", "probs"):  # image 0, the first six entries of each row
    print(f"first_six[{{name}}]", [round(v, 4) for v in value[name][0, :6].tolist()])
print(f"largest_row_sum_error {{value['probs'].sum(dim=1).sub(1).abs().max().item():.1e}}")
print("true_digit_0", int(labels[0]))
print("guess_0", int(value["logits"][0].argmax()))
print("guesses_0_to_7", value["logits"][:8].argmax(dim=1).tolist())
if labels is not None:
    print("labels_0_to_7", labels[:8].tolist())
    print(f"cross_entropy {{losses.cross_entropy(value['logits'], labels).item():.3f}}")
{broken}'''
