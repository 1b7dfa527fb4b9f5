"""Chapter 8, scratch vs torch.nn: the page's downloadable script.

The comparison itself is core.train.compare_scratch_vs_torch (the same training step from scratch and with
torch.nn, weight by weight); this module writes the standalone script that reruns it with the page's settings.
"""


def script_scratch_vs_nn(dataset, optimizer, lr, steps, batch_size, hidden, n_train, seed, held_out=2000):
    """A standalone script that reruns the scratch-vs-torch.nn page's comparison and prints its numbers."""
    if dataset == "MNIST":
        load = f'''X, y = mnist_files.load_mnist("test")                    # the 10,000-image test split
n = min({n_train}, len(X) - {held_out})
X_train, y_train, X_test, y_test = X[:n], y[:n], X[-{held_out}:], y[-{held_out}:]'''
    else:
        load = f'''X, y = data.make_2d({dataset!r}, n={n_train + n_train // 4}, noise=0.1, seed={seed},
                   n_classes=data.DEFAULT_CLASSES_2D[{dataset!r}])
X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_fraction=0.2, seed={seed})'''
    return f'''"""Scratch vs torch.nn (chapter 8): {optimizer} lr {lr:g}, {steps} steps, batch {batch_size}, seed {seed}.

Needs torch and the `core` package of this repository: run it from the repository root
(or with PYTHONPATH pointing there).
"""
from core import data, metrics, network, train
from datasets import mnist_files

{load}
params = network.init_mlp([X_train.shape[1], {hidden}, int(y_train.max()) + 1], seed={seed})
rows = list(train.compare_scratch_vs_torch(params, X_train, y_train, optimizer={optimizer!r}, lr={lr!r},
                                           batch_size={batch_size}, steps={steps}, seed={seed}))
last = rows[-1]
pred_scratch = metrics.predictions(last["params"], X_test)
pred_torch = metrics.predictions(last["model"], X_test)
print(f"max |W_scratch - W_nn.T|, last step: {{last['max_abs_diff']:.1e}}")
print(f"max |W_scratch - W_nn.T|, any step: {{max(r['max_abs_diff'] for r in rows):.1e}}")
print(f"Held-out accuracy, scratch: {{metrics.accuracy(pred_scratch, y_test):.2%}}")
print(f"Held-out accuracy, torch.nn: {{metrics.accuracy(pred_torch, y_test):.2%}}")
print(f"Identical predictions: {{(pred_scratch == pred_torch).float().mean().item():.2%}}")
'''
