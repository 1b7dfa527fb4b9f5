"""labs.ch07_mnist on small synthetic data (fast): history, race in lock step, helpers."""
import torch

from core import network, train
from labs import ch07_mnist as lab


def toy(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    X = torch.rand(n, 784, generator=g) * 0.1
    for i in range(n):
        X[i, y[i] * 78:(y[i] + 1) * 78] = 1.0              # a bright stripe tells the class
    return X, y


def test_history_has_one_row_per_epoch_and_learns():
    X, y = toy()
    out = lab.train_with_history(X, y, X, y, hidden=16, lr=1e-2, batch_size=32, epochs=3)
    assert [h["epoch"] for h in out["history"]] == [1, 2, 3] and out["steps"] == 24
    assert out["history"][-1]["train_acc"] > 0.9
    assert out["diverged"] is None


def test_race_equals_separate_train_scratch_runs():
    X, y = toy()
    curves = lab.race(X, y, hidden=16, batch_size=32, steps=10, seed=1)
    assert len({c[0] for c in curves.values()}) == 1          # same weights, same first batch
    params = network.init_mlp([784, 16, 10], seed=1)
    ref = [m["loss"] for m in train.train_scratch(params, X, y, optimizer="sgd", lr=0.01, momentum=0.9,
                                                  batch_size=32, steps=10, seed=1)]
    assert curves["momentum"] == ref


def test_moving_average():
    assert lab.moving_average([1, 2, 3, 4], window=2) == [1, 1.5, 2.5, 3.5]


def test_state_dict_loads_into_sequential():
    params = network.init_mlp([784, 16, 10], seed=0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    model.load_state_dict(lab.params_to_state_dict(params))
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
    a = lab.train_with_history(P, y, Pt, yt, **kw)
    b = lab.train_with_history(to_float(P), y, to_float(Pt), yt, **kw)
    assert a["history"] == b["history"] and a["steps"] == b["steps"] == 20 and a["diverged"] is None
    assert same_params(a["params"], b["params"])
    assert lab.misclassified(a["params"], Pt, yt) == lab.misclassified(a["params"], to_float(Pt), yt)
    assert torch.equal(lab.confusion(a["params"], Pt, yt), lab.confusion(a["params"], to_float(Pt), yt))


def test_race_on_uint8_equals_float(mnist_dir):
    from core.data import to_float
    P, y, _, _ = mnist_slice()
    assert (lab.race(P, y, hidden=16, batch_size=32, steps=15, seed=1)
            == lab.race(to_float(P), y, hidden=16, batch_size=32, steps=15, seed=1))


def test_evaluation_chunks_cover_every_row_on_uint8():
    # more rows than one evaluation chunk (core.metrics.EVAL_CHUNK = 8192), so the chunks are stitched together
    from core import metrics
    from core.data import to_float
    g = torch.Generator().manual_seed(0)
    P = torch.randint(0, 256, (metrics.EVAL_CHUNK + 500, 784), generator=g).to(torch.uint8)
    y = torch.randint(0, 10, (len(P),), generator=g)
    params = network.init_mlp([784, 8, 10], seed=0)
    assert torch.equal(lab.confusion(params, P, y), lab.confusion(params, to_float(P), y))
    assert int(lab.confusion(params, P, y).sum()) == len(P)


# ---------------------------------------------------------------- what page 7b shows of a run
def test_page_tables_read_the_run():
    X, y = toy()
    out = lab.train_with_history(X, y, X, y, hidden=16, lr=1e-2, batch_size=32, epochs=2)
    rows = lab.history_rows(out["history"])
    last = out["history"][-1]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows[-1]["test accuracy"] == f"{last['test_acc']:.2%}" and rows[-1]["train loss"] == round(
        last["train_loss"], 4)
    cm = [[5, 0, 1], [7, 9, 0], [0, 2, 4]]
    assert lab.most_common_mistake(cm) == (7, 1, 0)   # a 1 read as a 0, 7 times (the diagonal is right)
    curves = {"sgd": [2.0, 1.0, 0.5], "adam": []}
    assert lab.race_rows(curves, {"sgd": "plain SGD", "adam": "Adam"}, tail=2) == [
        {"optimizer": "plain SGD", "lr": 0.1, "steps run": 3, "first loss": 2.0, "mean loss, last 2 steps": 0.75},
        {"optimizer": "Adam", "lr": 0.001, "steps run": 0, "first loss": None, "mean loss, last 2 steps": None}]


def test_chance_reason_names_the_cause_and_the_dead_units():
    d = dict(kind="barely_moved", start_loss=2.3026, end_loss=2.2999, peak_loss=2.31, peak_step=1, dead_units=0,
             hidden=16, steps=1)
    text = lab.chance_reason(d, 1e-4)
    assert "after 1 step at lr 0.0001" in text and "Raise the learning rate" in text and "None of the 16" in text
    text = lab.chance_reason(dict(d, kind="too_large", peak_loss=55.5, peak_step=1234, dead_units=14), 10.0)
    assert "to 55.5 at step 1,234" in text and "Lower the learning rate" in text and "14 of the 16 hidden" in text
    assert "All 16 hidden ReLUs" in lab.chance_reason(dict(d, kind="diverged", dead_units=16), 10.0)
    assert lab.chance_reason(dict(d, kind="fell", dead_units=None), 1e-3).endswith("train longer.")


def test_lr10_probe_runs_both_optimizers_one_epoch_on_the_first_n_images():
    X, y = toy()
    probe = lab.lr10_probe(X, y, X, y, hidden=16, seed=0, n=128)
    adam = lab.train_with_history(X[:128], y[:128], X, y, hidden=16, optimizer="adam", lr=1e-3,
                                         batch_size=64, epochs=1, seed=0)
    assert probe["adam"] == (adam["history"][-1]["test_acc"], None, 2)   # 128 images / 64 = 2 steps
    acc, diverged, steps = probe["sgd"]
    assert (acc is None) == (diverged is not None) and 1 <= steps <= 2
