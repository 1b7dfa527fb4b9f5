"""labs.t1_custom_layer_mlp: its evaluate and optimizer are core's (one evaluate, one optimizer registry)."""
import torch
import torch.nn.functional as F

from core import metrics, train
from labs import t1_custom_layer_mlp as deeper_mlp


def _data(n=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_evaluate_is_core_metrics_evaluate_with_dropout_off(monkeypatch):
    model = deeper_mlp.custom_mlp((784, 16, 8, 10), dropout=0.5, seed=0)
    X, y = _data()
    calls = []
    real = metrics.evaluate
    monkeypatch.setattr(metrics, "evaluate", lambda *a, **k: calls.append(k) or real(*a, **k))
    acc, loss = deeper_mlp.evaluate(model, X, y)
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
    model = deeper_mlp.custom_mlp((784, 16, 8, 10), seed=0)
    rows = list(deeper_mlp.train_epochs(model, X, y, X, y, epochs=1, lr=0.01, optimizer="adam"))
    assert made == ["adam"] and rows[-1]["diverged"] is None
