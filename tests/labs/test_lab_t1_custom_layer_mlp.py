"""labs.t1_custom_layer_mlp: its evaluate and optimizer are core's (one evaluate, one optimizer registry)."""
import torch
import torch.nn.functional as F

from core import metrics, train
from labs import t1_custom_layer_mlp as lab


def _data(n=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_evaluate_is_core_metrics_evaluate_with_dropout_off(monkeypatch):
    model = lab.custom_mlp((784, 16, 8, 10), dropout=0.5, seed=0)
    X, y = _data()
    calls = []
    real = metrics.evaluate
    monkeypatch.setattr(metrics, "evaluate", lambda *a, **k: calls.append(k) or real(*a, **k))
    acc, loss = lab.evaluate(model, X, y)
    assert len(calls) == 1 and model.training               # dropout back on afterwards
    model.eval()
    with torch.no_grad():
        logits = model(X)
    assert loss == F.cross_entropy(logits, y).item()
    assert acc == (logits.argmax(1) == y).float().mean().item()


def test_train_epochs_takes_its_optimizer_from_core_train(monkeypatch):
    made = []
    real = train.make_torch_optimizer
    monkeypatch.setattr(train, "make_torch_optimizer", lambda m, c: made.append(c["optimizer"]) or real(m, c))
    X, y = _data()
    model = lab.custom_mlp((784, 16, 8, 10), seed=0)
    rows = list(lab.train_epochs(model, X, y, X, y, epochs=1, lr=0.01, optimizer="adam"))
    assert made == ["adam"] and rows[-1]["diverged"] is None


def test_untrained_guesses_are_the_fresh_networks_argmax_on_uint8_digits():
    g = torch.Generator().manual_seed(1)
    X = torch.randint(0, 256, (40, 784), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 10, (40,), generator=g)
    images, guesses, labels, right = lab.untrained_guesses(X, y, seed=3, n=16)
    with torch.no_grad():
        expected = lab.custom_mlp(seed=3)(X.float() / 255).argmax(dim=1)
    assert images.shape == (16, 28, 28) and images.max() <= 1.0 and labels == y[:16].tolist()
    assert guesses == expected[:16].tolist() and right == (expected == y).float().mean().item()


def test_parameter_table_and_nn_linear_difference():
    model = lab.custom_mlp(seed=0)
    rows = lab.parameter_table(model)
    assert sum(r["numbers"] for r in rows) == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    assert all(r["is nn.Parameter"] for r in rows) and rows[0]["shape"] == "[128, 784]"
    X, _ = _data()
    assert 0 <= lab.nn_linear_difference(model, X) < 1e-5
