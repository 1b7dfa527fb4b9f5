"""Why the scale of the starting weights matters: push random data through a deep ReLU stack.

Every layer computes h = relu(h @ W + b) with W [width, width] drawn as randn * std, where the
std comes from core.network.INIT_STD:
    normal   std = 1                      -> the spread grows by about sqrt(width / 2) per layer
    kaiming  std = sqrt(2 / fan_in)       -> the spread stays about the same (made for ReLU)
    xavier   std = sqrt(2 / (in + out))   -> the spread halves in variance each layer (made for tanh)
"""
import math

import torch

from core.network import INIT_STD, relu


def activation_spread(init="kaiming", depth=10, width=128, n_samples=256, seed=0, dtype=torch.float32):
    """Send n_samples random inputs [n, width] through `depth` ReLU layers; measure every layer.

    Returns one dict per layer (1..depth):
        layer, std (spread of the outputs), mean_abs, dead (fraction of outputs that are exactly 0),
        dead_units (fraction of units that are 0 for every sample), finite (False once inf/nan appear).
    Numbers are computed in `dtype` (float32 like training), so overflow shows up as it would there.
    """
    if depth < 1 or width < 1 or n_samples < 2:
        raise ValueError("need depth >= 1, width >= 1 and at least 2 samples")
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(n_samples, width, generator=gen).to(dtype)          # [n, width], std 1
    std = INIT_STD[init](width, width)
    rows = []
    for layer in range(1, depth + 1):
        W = (torch.randn(width, width, generator=gen) * std).to(dtype)  # [width, width]
        with torch.no_grad():
            h = relu(h @ W)                                             # [n, width] @ [width, width]; bias 0
        finite = bool(torch.isfinite(h).all())
        rows.append({
            "layer": layer,
            "std": h.std().item() if finite else math.inf,
            "mean_abs": h.abs().mean().item() if finite else math.inf,
            "dead": (h == 0).float().mean().item(),
            "dead_units": (h == 0).all(dim=0).float().mean().item(),
            "finite": finite,
        })
    return rows


def compare_inits(inits=("normal", "kaiming", "xavier"), **kwargs):
    """activation_spread for several initialisations with the same seed: {init: rows}."""
    return {name: activation_spread(name, **kwargs) for name in inits}


def first_blowup(rows, factor=100.0):
    """(layer, "exploded" / "vanished") at the first layer whose spread is `factor` times larger /
    smaller than the input's (std 1), or None when every layer stays within that range."""
    for row in rows:
        if not row["finite"] or row["std"] > factor:
            return row["layer"], "exploded"
        if row["std"] < 1 / factor:
            return row["layer"], "vanished"
    return None


def script_init_stats(init="kaiming", seed=0, depth=20, width=128, unit=0, trained=False,
                      inits=("kaiming", "xavier", "normal"), n_samples=128):
    """A standalone Python script (needs torch and this repo's `core` on the path) that rebuilds the
    raw-tensors page for these settings and prints its numbers: the four tensors of the 784-128-10
    network (count, bytes, statistics) and the spread of the activations, layer by layer, per init."""
    if trained:
        imports = "from pathlib import Path\n\nimport torch\n\nimport core\nfrom core import network\nfrom labs import ch00_draw_digit as digits\nfrom labs import ch01_raw_tensors as init_stats"
        make_params = ('# the trained weights the app ships with (what the Draw-a-digit page uses)\n'
                       'params = digits.load_weights(Path(core.__file__).resolve().parent.parent / "models" / '
                       '"mnist_784_128_10.pt")')
        origin = "the trained weights from models/mnist_784_128_10.pt"
    else:
        imports = "import torch\n\nfrom core import network\nfrom labs import ch01_raw_tensors as init_stats"
        make_params = f'params = network.init_mlp([784, 128, 10], init={init!r}, seed={int(seed)})  # random, biases 0'
        origin = f"fresh {init} weights, seed {int(seed)}"
    return f'''"""Chapter 1 (raw tensors), recomputed with the `core` package of "Neural networks from scratch".

Run from the repository root (or with it on PYTHONPATH):  python raw_tensors.py
Needs torch and the repo's core/ package, nothing else. Prints the numbers the raw-tensors page showed
for {origin}, and for a stack {int(depth)} layers deep and {int(width)} units wide (seed {int(seed)}).
Every line is "name value".
"""
{imports}

torch.set_num_threads(1)  # like the app: the rounding of a matmul can depend on the thread count

# 1. The four tensors of the 784-128-10 digit reader: W1 [784, 128], b1 [128], W2 [128, 10], b2 [10]
{make_params}
n_params = network.count_params(params)
n_bytes = network.count_bytes(params)
print(f"parameters {{n_params:,}}")
print(f"bytes {{n_bytes:,}}")
print(f"share_held_by_W1 {{params[0]['W'].numel() / n_params:.1%}}")
for name, t in network.named_tensors(params):
    print(f"{{name}}.shape {{list(t.shape)}}")
    print(f"{{name}}.bytes {{t.numel() * t.element_size():,}}")
    print(f"{{name}}.mean {{t.mean().item():.4f}}")
    print(f"{{name}}.std {{t.std().item():.4f}}" if t.numel() > 1 else f"{{name}}.std -")
    print(f"{{name}}.min {{t.min().item():.4f}}")
    print(f"{{name}}.max {{t.max().item():.4f}}")
column = params[0]["W"][:, {int(unit)}]  # the 784 weights hidden unit {int(unit)} gives to the pixels
print(f"unit_{int(unit)}_weights_from {{column.min().item():.3f}} to {{column.max().item():.3f}}")

# 2. {n_samples} random inputs through {int(depth)} layers h = relu(h @ W), W [{int(width)}, {int(width)}], per initialisation
for init in {tuple(inits)!r}:
    rows = init_stats.activation_spread(init, depth={int(depth)}, width={int(width)},
                                        n_samples={int(n_samples)}, seed={int(seed)})
    last = rows[-1]
    blow = init_stats.first_blowup(rows)
    # spread (std) after each layer, 1..{int(depth)}; inf once the numbers overflowed float32
    print(f"spread[{{init}}]", " ".join(f"{{r['std']:.3g}}" for r in rows))
    print(f"std_after_last_layer[{{init}}]", f"{{last['std']:.3g}}" if last["finite"] else "overflow (inf)")
    print(f"zeros_in_last_layer[{{init}}]", f"{{last['dead']:.0%}}" if last["finite"] else "-")
    print(f"units_dead_for_every_input[{{init}}]", f"{{last['dead_units']:.0%}}" if last["finite"] else "-")
    print(f"spread_left_1/100..100_at[{{init}}]", "never" if blow is None else f"layer {{blow[0]}} ({{blow[1]}})")
'''
