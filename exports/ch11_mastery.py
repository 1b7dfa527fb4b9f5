"""Chapter 11 checks: every raw-tensor piece vs torch.nn, and dropout vs nn.Dropout.

Run from the repository root (or with it on PYTHONPATH):  python ch11_mastery.py
It imports the project's core/, labs/ and datasets/ packages and reads the MNIST test split the way the app does
($MNIST_DIR, data/mnist, then the split committed in datasets/mnist).
The page fills in SETTINGS with its values when you download this script.
"""
import torch

from core import dropout
from datasets import mnist_files
from labs import ch10_torch_nn, ch11_mastery

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(batch_size=64, seed=0, p=0.5, tol=1e-5)
# --- end of settings ---


def main(settings=SETTINGS):
    seed, p = int(settings["seed"]), float(settings["p"])
    X, y = mnist_files.load_mnist("test")
    x, labels = ch10_torch_nn.pick_batch(X, y, int(settings["batch_size"]), seed=seed)

    rows = ch11_mastery.equivalence_table(x, labels, seed=seed, tol=float(settings["tol"]))
    for row in rows:
        print(f"{row['from scratch']:40s} {row['torch.nn']:45s} {row['max abs diff']:.1e} "
              f"{'equal' if row['equal'] else 'differs'}")
    print("rows_equal", sum(r["equal"] for r in rows), "/", len(rows))
    print("largest_difference", f"{max(r['max abs diff'] for r in rows):.1e}")

    h = ch11_mastery.hidden_activations(x[:16], seed=seed)  # [16, 128]
    check = dropout.compare_with_nn_dropout(h, p, seed=seed)
    print("dropout_scale", f"{1 / (1 - p):.3f}")
    print("dropout_kept_fraction", f"{check['kept_fraction']:.3f}")
    print("dropout_max_diff_vs_nn", f"{check['train_max_diff']:.1e}")
    print("dropout_same_mask", "yes" if check["same_mask"] else "no")
    print("dropout_eval_is_identity", "yes" if check["eval_is_identity"] else "no")


if __name__ == "__main__":
    torch.set_num_threads(1)  # the app computes on one thread; the rounding of a matmul can depend on it
    main()
