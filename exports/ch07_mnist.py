"""One MNIST training run of "Neural networks from scratch", page 7b, repeated with the project's code.

Run from the repository root (or with it on PYTHONPATH):  python ch07_mnist.py
Needs torch and the repo's core/, labs/ and datasets/ packages; datasets.mnist_files finds MNIST in $MNIST_DIR,
data/mnist/ (full MNIST: `python -m datasets.mnist_files download` fetches it) or the test split committed in
datasets/mnist/. With full MNIST it trains on the 60,000 training images; with only the 10,000-image test split,
on its first 8,000 (the last 2,000 held out). Prints the page's table, one row per epoch, and saves the weights
beside this script as a state_dict for nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10)).
The page fills in SETTINGS with its values when you download this script.
"""
from pathlib import Path

import torch

from datasets import mnist_files
from labs import ch07_mnist

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(hidden=128, optimizer="sgd", lr=0.1, batch_size=64, epochs=2, seed=0)
# --- end of settings ---


def main(settings=SETTINGS):
    s = settings
    X_train, y_train, X_test, y_test, source = mnist_files.mnist_train_test()
    print("data", source)
    run = ch07_mnist.train_with_history(X_train, y_train, X_test, y_test, hidden=int(s["hidden"]),
                                        optimizer=s["optimizer"], lr=float(s["lr"]), batch_size=int(s["batch_size"]),
                                        epochs=int(s["epochs"]), seed=int(s["seed"]))
    if run["diverged"]:
        print("Training stopped:", run["diverged"])
    for h in run["history"]:
        print(f"epoch {h['epoch']}  mean_batch_loss {round(h['mean_batch_loss'], 4)}  "
              f"train_loss {round(h['train_loss'], 4)}  train_accuracy {h['train_acc']:.2%}  "
              f"test_loss {round(h['test_loss'], 4)}  test_accuracy {h['test_acc']:.2%}")
    weights = Path(__file__).with_name("mnist_mlp_state_dict.pt")  # beside this script
    torch.save(ch07_mnist.params_to_state_dict(run["params"]), weights)
    print("weights saved to", weights)


if __name__ == "__main__":
    torch.set_num_threads(1)  # as the app does; the numbers then match the page exactly
    main()
