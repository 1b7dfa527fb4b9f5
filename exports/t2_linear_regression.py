"""Linear regression y = w * x + b by hand, with autograd (tutorial 002).

Standalone: needs only torch. Run it anywhere:  python t2_linear_regression.py
The page fills in SETTINGS with its values when you download this script; every printed line is "name value".
"""
import math

import torch

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(true_w=1.5, true_b=0.5, noise=0.4, lr=0.3, steps=80, seed=7, zero_grad=True, n=100)
# --- end of settings ---

DIVERGED_LOSS = 1e12  # a loss this big (or inf / nan) means the learning rate was too large, as on the page


def main(settings=SETTINGS):
    n = int(settings["n"])
    g = torch.Generator().manual_seed(int(settings["seed"]))
    x = torch.rand(n, generator=g) * 2 - 1
    true_w, true_b, noise = (float(settings[k]) for k in ("true_w", "true_b", "noise"))
    y = true_w * x + true_b + noise * torch.randn(n, generator=g)

    w = torch.tensor(0.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    lr = float(settings["lr"])
    loss_value = float("nan")
    for step in range(int(settings["steps"])):
        loss = ((w * x + b - y) ** 2).mean()
        loss.backward()
        loss_value = loss.item()
        if not math.isfinite(loss_value) or loss_value > DIVERGED_LOSS:
            print("diverged at step", step)
            break
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        if settings["zero_grad"]:
            w.grad.zero_()
            b.grad.zero_()
        # without zero_grad the gradients are NOT zeroed: they keep adding up
    print("w", f"{w.item():.4f}")
    print("b", f"{b.item():.4f}")
    print("last_loss", f"{loss_value:.6g}")


if __name__ == "__main__":
    main()
