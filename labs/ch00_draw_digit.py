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
import json
from pathlib import Path

import torch
import torch.nn.functional as F

from datasets.mnist_files import HELD_OUT
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


def load_model_info(path):
    """The JSON note next to a weights file (what it was trained on, accuracy, seed, ...), or {}."""
    path = Path(path).with_suffix(".json")
    return json.loads(path.read_text()) if path.exists() else {}


# ----------------------------------------------------------------- export
def script_digit(index=None, n_test=2000, model_file="mnist_784_128_10.pt"):
    """A standalone script that reads held-out MNIST test digit #index with the shipped model (prediction,
    confidence, the 10 scores) and re-measures its held-out accuracy, printing the page's numbers.
    index None: only the model's size and accuracy (a drawing cannot be replayed)."""
    if n_test == HELD_OUT:  # like the page: trained on the first 8,000 test images, the last 2,000 held out
        held = f"X_held, y_held = X[-{n_test}:], y[-{n_test}:]  # the images it never trained on"
    else:
        held = "X_held, y_held = X, y  # it trained on full MNIST's training set: the whole test split is unseen"
    if index is None:
        reading, what = "", "\nits size and held-out accuracy"
    else:
        what = f"\nhow it reads held-out MNIST test digit #{index}, and its held-out accuracy"
        reading = f'''
# One digit: 784 pixels -> 128 hidden units -> 10 scores -> softmax.
out = digits.read_digit(params, X_held[{index}])
probs = out["probs"].tolist()
print(f"Prediction: {{out['prediction']}}")
print(f"Confidence: {{probs[out['prediction']]:.1%}}")
print(f"True label: {{int(y_held[{index}])}}")
print("digit logit probability")
for d in range(10):
    print(d, round(float(out["logits"][d]), 3), round(probs[d], 4))
'''
    return f'''"""Draw a digit (chapter 0): the shipped 784-128-10 network ({model_file}),{what}.

Needs torch and this repository: its core/ package and models/{model_file}. core.data reads the
MNIST test split from $MNIST_DIR, data/mnist or the copy committed in datasets/mnist. Run it from the
repository root, or with the root on PYTHONPATH:
    python draw_digit.py
It prints the numbers the page showed.
"""
from pathlib import Path

from core import data, digits, metrics
from datasets import mnist_files

MODEL = Path(digits.__file__).resolve().parent.parent / "models" / {model_file!r}
params = digits.load_weights(MODEL)  # [{{"W": [784, 128], "b": [128]}}, {{"W": [128, 10], "b": [10]}}]
X, y = mnist_files.load_mnist("test")       # X [10000, 784] in [0, 1], y [10000]
{held}
{reading}
print(f"Parameters: {{sum(t.numel() for layer in params for t in layer.values()):,}}")
accuracy = metrics.accuracy(metrics.predictions(params, X_held), y_held)
print(f"Held-out accuracy (measured now): {{accuracy:.2%}}")
'''
