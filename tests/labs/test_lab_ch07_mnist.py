"""labs.ch07_mnist on small synthetic data (fast): history, race in lock step, helpers."""
import torch

from core import network, train
from labs import ch07_mnist as mnist_runs


def toy(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    X = torch.rand(n, 784, generator=g) * 0.1
    for i in range(n):
        X[i, y[i] * 78:(y[i] + 1) * 78] = 1.0              # a bright stripe tells the class
    return X, y


def test_history_has_one_row_per_epoch_and_learns():
    X, y = toy()
    out = mnist_runs.train_with_history(X, y, X, y, hidden=16, lr=1e-2, batch_size=32, epochs=3)
    assert [h["epoch"] for h in out["history"]] == [1, 2, 3] and out["steps"] == 24
    assert out["history"][-1]["train_acc"] > 0.9
    assert out["diverged"] is None


def test_race_equals_separate_train_scratch_runs():
    X, y = toy()
    curves = mnist_runs.race(X, y, hidden=16, batch_size=32, steps=10, seed=1)
    assert len({c[0] for c in curves.values()}) == 1          # same weights, same first batch
    params = network.init_mlp([784, 16, 10], seed=1)
    ref = [m["loss"] for m in train.train_scratch(params, X, y, optimizer="sgd", lr=0.01, momentum=0.9,
                                                  batch_size=32, steps=10, seed=1)]
    assert curves["momentum"] == ref


def test_moving_average():
    assert mnist_runs.moving_average([1, 2, 3, 4], window=2) == [1, 1.5, 2.5, 3.5]


def test_state_dict_loads_into_sequential():
    params = network.init_mlp([784, 16, 10], seed=0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    model.load_state_dict(mnist_runs.params_to_state_dict(params))
    x = torch.rand(3, 784)
    torch.testing.assert_close(model(x), network.forward(params, x)[0])


# ---------------------------------------------------------------- uint8 pixels give the float numbers
# The app keeps MNIST as uint8 (a quarter of the memory) and converts each mini-batch: same numbers, bit for bit.

def mnist_slice(n_train=600, n_test=300):
    from datasets import mnist_files
    P, y = mnist_files.load_mnist_pixels("test")
    return P[:n_train], y[:n_train], P[-n_test:], y[-n_test:]


def same_params(a, b):
    return all(torch.equal(la[k], lb[k]) for la, lb in zip(a, b, strict=True) for k in la)


def test_train_with_history_on_uint8_equals_float(mnist_dir):
    from core.data import to_float
    P, y, Pt, yt = mnist_slice()
    kw = dict(hidden=16, optimizer="adam", lr=3e-3, batch_size=64, epochs=2, seed=2)
    a = mnist_runs.train_with_history(P, y, Pt, yt, **kw)
    b = mnist_runs.train_with_history(to_float(P), y, to_float(Pt), yt, **kw)
    assert a["history"] == b["history"] and a["steps"] == b["steps"] == 20 and a["diverged"] is None
    assert same_params(a["params"], b["params"])
    assert mnist_runs.misclassified(a["params"], Pt, yt) == mnist_runs.misclassified(a["params"], to_float(Pt), yt)
    assert torch.equal(mnist_runs.confusion(a["params"], Pt, yt), mnist_runs.confusion(a["params"], to_float(Pt), yt))


def test_race_on_uint8_equals_float(mnist_dir):
    from core.data import to_float
    P, y, _, _ = mnist_slice()
    assert (mnist_runs.race(P, y, hidden=16, batch_size=32, steps=15, seed=1)
            == mnist_runs.race(to_float(P), y, hidden=16, batch_size=32, steps=15, seed=1))


def test_evaluation_chunks_cover_every_row_on_uint8():
    # more rows than one evaluation chunk (core.metrics.EVAL_CHUNK = 8192), so the chunks are stitched together
    from core import metrics
    from core.data import to_float
    g = torch.Generator().manual_seed(0)
    P = torch.randint(0, 256, (metrics.EVAL_CHUNK + 500, 784), generator=g).to(torch.uint8)
    y = torch.randint(0, 10, (len(P),), generator=g)
    params = network.init_mlp([784, 8, 10], seed=0)
    assert torch.equal(mnist_runs.confusion(params, P, y), mnist_runs.confusion(params, to_float(P), y))
    assert int(mnist_runs.confusion(params, P, y).sum()) == len(P)
