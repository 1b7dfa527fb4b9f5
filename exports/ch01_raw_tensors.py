"""Chapter 1 (raw tensors), recomputed with the code of "Neural networks from scratch".

Run from the repository root (or with it on PYTHONPATH):  python ch01_raw_tensors.py
Needs torch and the repo's core/ and labs/ packages, nothing else. Prints the numbers the raw-tensors page showed:
the four tensors of the 784-128-10 network (fresh weights of the chosen init and seed, or the trained weights in
models/mnist_784_128_10.pt) and the spread of the activations through a deep stack, layer by layer, per init.
Every line is "name value". The page fills in SETTINGS with its values when you download this script.
"""
from pathlib import Path

import torch

import core
from core import network
from labs import ch00_draw_digit
from labs import ch01_raw_tensors

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(init="kaiming", seed=0, depth=20, width=128, unit=0, trained=False,
                inits=["kaiming", "xavier", "normal"], n_samples=128)
# --- end of settings ---

TRAINED = Path(core.__file__).resolve().parent.parent / "models" / "mnist_784_128_10.pt"


def main(settings=SETTINGS):
    s = settings
    seed, depth, width, unit = int(s["seed"]), int(s["depth"]), int(s["width"]), int(s["unit"])
    # 1. The four tensors of the 784-128-10 digit reader: W1 [784, 128], b1 [128], W2 [128, 10], b2 [10]
    if s["trained"]:
        params = ch00_draw_digit.load_weights(TRAINED)  # the trained weights the app ships with (Draw-a-digit page)
    else:
        params = network.init_mlp([784, 128, 10], init=s["init"], seed=seed)  # random, biases 0
    n_params = network.count_params(params)
    n_bytes = network.count_bytes(params)
    print(f"parameters {n_params:,}")
    print(f"bytes {n_bytes:,}")
    print(f"share_held_by_W1 {params[0]['W'].numel() / n_params:.1%}")
    for name, t in network.named_tensors(params):
        print(f"{name}.shape {list(t.shape)}")
        print(f"{name}.bytes {t.numel() * t.element_size():,}")
        print(f"{name}.mean {t.mean().item():.4f}")
        print(f"{name}.std {t.std().item():.4f}" if t.numel() > 1 else f"{name}.std -")
        print(f"{name}.min {t.min().item():.4f}")
        print(f"{name}.max {t.max().item():.4f}")
    column = params[0]["W"][:, unit]  # the 784 weights this hidden unit gives to the pixels
    print(f"unit_{unit}_weights_from {column.min().item():.3f} to {column.max().item():.3f}")

    # 2. n_samples random inputs through depth layers h = relu(h @ W), W [width, width], per initialisation
    for init in s["inits"]:
        rows = ch01_raw_tensors.activation_spread(init, depth=depth, width=width, n_samples=int(s["n_samples"]),
                                                  seed=seed)
        last = rows[-1]
        blow = ch01_raw_tensors.first_blowup(rows)
        # spread (std) after each layer, 1..depth; inf once the numbers overflowed float32
        print(f"spread[{init}]", " ".join(f"{r['std']:.3g}" for r in rows))
        print(f"std_after_last_layer[{init}]", f"{last['std']:.3g}" if last["finite"] else "overflow (inf)")
        print(f"zeros_in_last_layer[{init}]", f"{last['dead']:.0%}" if last["finite"] else "-")
        print(f"units_dead_for_every_input[{init}]", f"{last['dead_units']:.0%}" if last["finite"] else "-")
        print(f"spread_left_1/100..100_at[{init}]", "never" if blow is None else f"layer {blow[0]} ({blow[1]})")


if __name__ == "__main__":
    torch.set_num_threads(1)  # like the app: the rounding of a matmul can depend on the thread count
    main()
