"""Shuffling & batching, recomputed with the code of "Neural networks from scratch".

Run from the repository root (or with it on PYTHONPATH):  python ch06_batching.py
Needs torch and the repo's core/ and labs/ packages. Prints the numbers the batching page showed.
The page fills in SETTINGS with its values when you download this script.
"""
import torch

from core.data import num_batches
from labs.ch06_batching import ORDERINGS, class_mix, epoch_order, sorted_blobs, sorted_labels, train_ordering

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(B=16, shuffle=True, seed=0, train_b=20, lr=0.3, epochs=5,
                n_classes=6, per_class=10, train_per_class=50, noise=0.3)
# --- end of settings ---


def main(settings=SETTINGS):
    s = settings
    n_classes, B, seed = int(s["n_classes"]), int(s["B"]), int(s["seed"])
    # 1. n_classes * per_class items stored sorted by class, cut into batches of B
    labels = sorted_labels(n_classes, int(s["per_class"]))
    batches = epoch_order(len(labels), B, shuffle=bool(s["shuffle"]), seed=seed)
    mix = class_mix(labels, batches, n_classes)
    print("batches_per_epoch", num_batches(len(labels), B))
    print("last_batch_size", len(batches[-1]))
    print(f"mean_entropy_bits {sum(r['entropy'] for r in mix) / len(mix):.2f}")
    print("single_class_batches", sum(r["entropy"] == 0 for r in mix))

    # 2. the same network trained on class-sorted blobs, three orders of the examples
    X, y = sorted_blobs(n_classes, int(s["train_per_class"]), noise=float(s["noise"]), seed=seed)
    for ordering in ORDERINGS:
        curve = train_ordering(ordering, X, y, batch_size=int(s["train_b"]), lr=float(s["lr"]),
                               epochs=int(s["epochs"]), seed=seed)
        print(f"final_loss[{ordering}] {curve['loss'][-1]:.4f}  accuracy {curve['acc'][-1]:.1%}")


if __name__ == "__main__":
    torch.set_num_threads(1)  # tiny tensors: one thread is faster than two fighting over the cores
    main()
