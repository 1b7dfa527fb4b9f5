"""Custom layer & a deeper MLP: a 784-128-64-10 network of hand-made nn.Parameter layers, trained on the first
n_train MNIST training images (tutorial 001).

Needs torch and this repository's core/, labs/ and datasets/ packages (labs.t1_custom_layer_mlp builds and trains
the network, datasets.mnist_files reads MNIST from $MNIST_DIR or data/mnist). Run it from the repository root, or
with the root on PYTHONPATH:
    python t1_custom_layer_mlp.py
It prints what the page showed: the layer check, one row per epoch, and the final accuracies.
The page fills in SETTINGS with its values when you download this script.
"""
import torch

from datasets import mnist_files
from labs import t1_custom_layer_mlp

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(n_train=2000, epochs=15, dropout=0.0, optimizer="adam", lr=0.003, seed=0)
# --- end of settings ---


def main(settings=SETTINGS):
    s = settings
    n_train, seed = int(s["n_train"]), int(s["seed"])
    X_pool, y_pool, X_test, y_test, source = mnist_files.mnist_train_test()
    print(f"Data: {source}")

    # 1. The hand-made layer: model.parameters() finds every nn.Parameter, and it computes what nn.Linear does.
    model0 = t1_custom_layer_mlp.custom_mlp(seed=0)
    with torch.no_grad():
        x = X_test[:256]
        diff = (model0(x) - t1_custom_layer_mlp.same_as_nn_linear(model0)(x)).abs().max().item()
    print(f"Parameters found by model.parameters(): {sum(p.numel() for p in model0.parameters()):,}")
    print(f"max |custom layers - nn.Linear| on 256 digits: {diff:.1e}")

    # 2. Train, and measure both accuracies after every epoch (in eval mode, without a graph).
    model = t1_custom_layer_mlp.custom_mlp(dropout=s["dropout"], seed=seed)
    history = []
    print("epoch", *t1_custom_layer_mlp.EPOCH_COLUMNS)
    for row in t1_custom_layer_mlp.train_epochs(model, X_pool[:n_train], y_pool[:n_train], X_test, y_test,
                                                epochs=int(s["epochs"]), lr=s["lr"], optimizer=s["optimizer"],
                                                seed=seed):
        if row["diverged"]:
            print(f"Training stopped: {row['diverged']}")
            break
        history.append(row)
        print(row["epoch"], *(round(row[k], 4) for k in t1_custom_layer_mlp.EPOCH_COLUMNS))

    if history:
        last = history[-1]
        print(f"Training accuracy: {last['train_acc']:.1%}")
        print(f"Held-out accuracy: {last['test_acc']:.1%}")
        print(f"Gap (overfitting): {last['gap']:.1%}")


if __name__ == "__main__":
    # The app computes on one thread. With the same thread count the sums are added in the same order,
    # so the accuracies come out the same to the last digit.
    torch.set_num_threads(1)
    main()
