"""Scratch vs torch.nn (chapter 8): the same training step written by hand and with torch.nn, weight by weight.

Run from the repository root (or with it on PYTHONPATH):  python ch08_scratch_vs_nn.py
Needs torch and the repo's core/ and datasets/ packages (MNIST: the committed test split).
The page fills in SETTINGS with its values when you download this script.
"""
from core import data, metrics, network
from labs import ch08_scratch_vs_nn
from datasets import mnist_files

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(dataset="spiral", optimizer="sgd", lr=0.1, steps=100, batch_size=64, hidden=32, n_train=1000,
                seed=0, held_out=2000)
# --- end of settings ---


def load(s):
    """(X_train, y_train, X_test, y_test) as on the page."""
    n_train, seed, dataset = int(s["n_train"]), int(s["seed"]), s["dataset"]
    if dataset == "MNIST":
        held_out = int(s["held_out"])
        X, y = mnist_files.load_mnist("test")  # the 10,000-image test split
        n = min(n_train, len(X) - held_out)
        return X[:n], y[:n], X[-held_out:], y[-held_out:]
    X, y = data.make_2d(dataset, n=n_train + n_train // 4, noise=0.1, seed=seed,
                        n_classes=data.DEFAULT_CLASSES_2D[dataset])
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_fraction=0.2, seed=seed)
    return X_train, y_train, X_test, y_test


def main(settings=SETTINGS):
    s = settings
    X_train, y_train, X_test, y_test = load(s)
    params = network.init_mlp([X_train.shape[1], int(s["hidden"]), int(y_train.max()) + 1], seed=int(s["seed"]))
    rows = list(ch08_scratch_vs_nn.compare_scratch_vs_torch(params, X_train, y_train, optimizer=s["optimizer"],
                                                            lr=s["lr"], batch_size=int(s["batch_size"]),
                                                            steps=int(s["steps"]), seed=int(s["seed"])))
    last = rows[-1]
    pred_scratch = metrics.predictions(last["params"], X_test)
    pred_torch = metrics.predictions(last["model"], X_test)
    print(f"max |W_scratch - W_nn.T|, last step: {last['max_abs_diff']:.1e}")
    print(f"max |W_scratch - W_nn.T|, any step: {max(r['max_abs_diff'] for r in rows):.1e}")
    print(f"Held-out accuracy, scratch: {metrics.accuracy(pred_scratch, y_test):.2%}")
    print(f"Held-out accuracy, torch.nn: {metrics.accuracy(pred_torch, y_test):.2%}")
    print(f"Identical predictions: {(pred_scratch == pred_torch).float().mean().item():.2%}")


if __name__ == "__main__":
    main()
