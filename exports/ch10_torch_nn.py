"""Chapter 10 (what torch.nn adds), recomputed with the code of "Neural networks from scratch".

Run from the repository root (or with it on PYTHONPATH):
    python ch10_torch_nn.py          the component's check with the settings chosen on the page
    python ch10_torch_nn.py --all    every component once, each with its default settings
Needs torch and the repo's core/, labs/ and datasets/ packages, nothing else. It reads the MNIST test split the way
the app does ($MNIST_DIR, data/mnist, then the split committed in datasets/mnist), picks the same batch_size images
with the seed, runs our raw-tensor code and the torch.nn piece on them from the same weights, and prints the largest
difference between the two, rounded like the page. Lines are "name value".
The page fills in SETTINGS with its values when you download this script.
"""
import sys

import torch

from datasets import mnist_files
from labs import ch10_torch_nn

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(
    part="nn.Linear",  # a key of labs.ch10_torch_nn.TORCH_NN_CHECKS
    component={},  # the component's controls on the page, e.g. {"lr": 0.1, "momentum": 0.9, "steps": 3}
    batch_size=64,
    seed=0,
)
# --- end of settings ---

# How the page writes each extra number the checks return (the rest: yes/no, whole numbers, lists)
FORMATS = {"kept_fraction": ".3f", "fraction_zero": ".1%", "ours": ".7f", "torch": ".7f", "bytes": ",",
           "numbers": ","}


def shown(key, value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in FORMATS:
        return format(value, FORMATS[key])
    if isinstance(value, (list, tuple)):
        return str(list(value)[:16]) if len(value) else "none"  # the page shows at most 16 entries
    return str(value)


def main(settings=SETTINGS, every_part=None):
    part, component, seed = settings["part"], dict(settings["component"]), int(settings["seed"])
    if part not in ch10_torch_nn.TORCH_NN_CHECKS:
        raise SystemExit(f"unknown component {part!r}; choose from {list(ch10_torch_nn.TORCH_NN_CHECKS)}")
    every_part = "--all" in sys.argv if every_part is None else every_part
    X, y = mnist_files.load_mnist("test")
    x, labels = ch10_torch_nn.pick_batch(X, y, int(settings["batch_size"]), seed=seed)  # [B, 784], [B]
    print("batch", int(settings["batch_size"]), "MNIST digits")

    if every_part:
        # component, largest |ours - torch.nn|, and whether that is within the tolerance
        for name, check in ch10_torch_nn.TORCH_NN_CHECKS.items():
            diff = check(x, labels, seed)["max_abs_diff"]
            print(f"{name:26s} {diff:.1e} {'equal' if diff <= ch10_torch_nn.TOLERANCE else 'differs'}")
    else:
        check = ch10_torch_nn.TORCH_NN_CHECKS[part]
        result = check(x, labels, seed, **component)
        diff = result.pop("max_abs_diff")
        print(f"max_abs_diff {diff:.1e}")  # largest |scratch - torch.nn| over every number compared
        print("equal_within_1e-5", "yes" if diff <= ch10_torch_nn.TOLERANCE else "no")
        if part in ("optim.SGD", "optim.Adam"):
            # the same race in float64: if the float32 gap is rounding, it all but vanishes here
            print(f"float64_diff {check(x, labels, seed, dtype=torch.float64, **component)['max_abs_diff']:.1e}")
        for key, value in result.items():
            print(key, shown(key, value))

    # Forward hooks on nn.Sequential(Linear, ReLU, Linear): statistics of each layer's output
    for i, row in enumerate(ch10_torch_nn.activation_stats(x, seed=seed)):
        print(f"hook[{i}].layer {row['layer']}")
        print(f"hook[{i}].output_shape {row['output shape']}")
        print(f"hook[{i}].mean {row['mean']:.4g}")
        print(f"hook[{i}].std {row['std']:.4g}")
        print(f"hook[{i}].fraction_zero {row['fraction zero']:.4g}")
        print(f"hook[{i}].max_abs_hook_minus_our_cache {row['max |hook - our cache|']:.4g}")


if __name__ == "__main__":
    torch.set_num_threads(1)  # like the app: the rounding of a matmul can depend on the thread count
    main()
