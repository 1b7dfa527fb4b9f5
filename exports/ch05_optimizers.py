"""Chapter 5 (optimizer landscape), recomputed with the code of "Neural networks from scratch".

Run from the repository root (or with it on PYTHONPATH):  python ch05_optimizers.py
Needs torch and the repo's core/ and labs/ packages, nothing else. Each optimizer in SETTINGS["hyper"] walks the
surface from the start for the given steps with the hand-written optimizers of core.optim, in float64, and the
script prints how each walk ended, like the page's table. Every line is "name value".
The page fills in SETTINGS with its values when you download this script.
"""
import math

import torch

from labs import ch05_optimizers

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(
    surface="Ravine",
    start=(-4.5, 2.0),  # (x0, y0)
    steps=150,
    hyper={  # optimizer -> its settings on the page (lr, momentum / Adam betas / RMSprop alpha)
        "SGD": {"lr": 0.05, "momentum": 0.9},
        "Adam": {"lr": 0.3, "betas": (0.9, 0.999), "alpha": 0.99},
    },
    check_torch=True,
)
# --- end of settings ---


def main(settings=SETTINGS):
    surface, steps, hyper = settings["surface"], int(settings["steps"]), settings["hyper"]
    start = tuple(float(v) for v in settings["start"])
    results = ch05_optimizers.race(surface, list(hyper), start, steps, hyper, check_torch=False)
    for name, r in results.items():
        v = r["verdict"]  # converged / local minimum / saddle point / diverged / rolling away / stalled
        print(f"{name}.status {v['status']}")
        print(f"{name}.steps_taken {v['steps']}")
        print(f"{name}.final_loss {v['final_loss']:.4g}")
        print(f"{name}.grad_norm {v['grad_norm']:.3g}")
        print(f"{name}.end_point ({v['end'][0]:.3f}, {v['end'][1]:.3f})")
        print(f"{name}.why {v['reason']}")
        if settings["check_torch"]:
            # the same walk with torch.optim (fed the same gradient), and our gradient against autograd's
            gaps = ch05_optimizers.check_against_torch(surface, name, start, steps, hyper[name], r["walk"]["path"])
            print(f"{name}.max_abs_path_minus_torch_optim {gaps['torch_diff']:.2e}")
            print(f"{name}.max_abs_hand_gradient_minus_autograd {gaps['grad_gap']:.2e}")

    # the lowest final loss among the walks that did not blow up
    best = min(results, key=lambda n: results[n]["verdict"]["final_loss"]
               if results[n]["verdict"]["status"] != "diverged" else math.inf)
    print(f"lowest_final_loss {results[best]['verdict']['final_loss']:.4g}")
    print("lowest_final_loss_by", best)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
