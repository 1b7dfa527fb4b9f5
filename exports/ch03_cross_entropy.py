"""Cross-entropy of one example, recomputed with the code of "Neural networks from scratch".

Run from the repository root (or with it on PYTHONPATH):  python ch03_cross_entropy.py
Needs torch and the repo's core/ and labs/ packages. Prints the numbers the cross-entropy page showed.
The page fills in SETTINGS with its values when you download this script.
"""
import math

import torch
import torch.nn.functional as F

from core.losses import cross_entropy, naive_softmax, softmax
from labs.ch03_cross_entropy import mse_on_softmax

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(logits=[2.0, 1.0, 0.1, -1.0], target=0, scale=1.0)
# --- end of settings ---


def main(settings=SETTINGS):
    logits = torch.tensor([[float(v) for v in settings["logits"]]]) * float(settings["scale"])  # [1, C]
    target = torch.tensor([int(settings["target"])])  # the correct class

    probs = softmax(logits)  # stable: subtract the max, then exp
    loss = cross_entropy(logits, target)
    reference = F.cross_entropy(logits, target)
    mse, _ = mse_on_softmax(logits, target)
    naive = naive_softmax(logits)  # may hold inf / nan for large logits

    print(f"cross_entropy_loss {loss.item():.4f}")
    print(f"p_correct {probs[0, target[0]].item():.4f}")
    print(f"abs_diff_vs_F.cross_entropy {(loss - reference).abs().item():.1e}")
    print(f"mse_loss {mse.item():.4f}")
    print("naive_softmax_finite", all(math.isfinite(v) for v in naive[0].tolist()))
    print("stable_softmax", [round(p, 4) for p in probs[0].tolist()])


if __name__ == "__main__":
    main()
