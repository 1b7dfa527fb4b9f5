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

