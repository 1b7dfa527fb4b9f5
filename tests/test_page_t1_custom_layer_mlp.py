"""Custom layer & deeper MLP page, and core.deeper_mlp."""
import torch

from core import data, deeper_mlp
from tests.apptest_utils import assert_no_exception, metric, open_page

PAGE = "pages/t1_custom_layer_mlp.py"


def test_custom_mlp_has_109386_parameters_and_equals_nn_linear():
    model = deeper_mlp.custom_mlp(seed=1)
    assert sum(p.numel() for p in model.parameters()) == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    x = torch.rand(32, 784)
    assert (model(x) - deeper_mlp.same_as_nn_linear(model)(x)).abs().max() < 1e-6


def test_evaluate_uses_eval_mode_and_no_graph():
    model = deeper_mlp.custom_mlp(dropout=0.5, seed=0)
    x, y = torch.rand(50, 784), torch.randint(0, 10, (50,))
    a1, _ = deeper_mlp.evaluate(model, x, y)
    a2, _ = deeper_mlp.evaluate(model, x, y)
    assert a1 == a2, "dropout must be off while evaluating"
    assert model.training, "evaluate restores training mode"


def test_small_training_set_overfits(mnist_dir):
    Xtr, ytr, Xte, yte, _ = data.mnist_train_test()
    rows = list(deeper_mlp.train_epochs(deeper_mlp.custom_mlp(seed=0), Xtr[:300], ytr[:300], Xte, yte,
                                        epochs=15, lr=0.003, optimizer="adam"))
    assert rows[-1]["train_acc"] > 0.98
    assert rows[-1]["gap"] > 0.08
    assert rows[-1]["test_acc"] > 0.6


def test_divergence_is_reported_not_raised(mnist_dir):
    Xtr, ytr, Xte, yte, _ = data.mnist_train_test()
    rows = list(deeper_mlp.train_epochs(deeper_mlp.custom_mlp(seed=0), Xtr[:300], ytr[:300], Xte, yte,
                                        epochs=3, lr=10.0, optimizer="sgd"))
    assert rows[-1]["diverged"]


def test_page_trains_on_button_and_prints_the_gap(mnist_dir):
    at = open_page(PAGE)
    assert_no_exception(at)
    assert metric(at, "Parameters found by model.parameters()") == "109,386"
    assert float(metric(at, "max |custom layers - nn.Linear| on 256 digits")) < 1e-5
    at.slider(key="dm_epochs").set_value(5).run()
    at.button(key="dm_train").click().run()
    assert_no_exception(at)
    train = float(metric(at, "Training accuracy").rstrip("%"))
    test = float(metric(at, "Held-out accuracy").rstrip("%"))
    gap = float(metric(at, "Gap (overfitting)").rstrip("%"))
    assert abs((train - test) - gap) < 0.11
    assert train > 80


def test_page_lr_10_says_why_it_stopped(mnist_dir):
    at = open_page(PAGE, query={"dm_lr": "10.0", "dm_opt": "sgd", "dm_epochs": "2"})
    at.button(key="dm_train").click().run()
    assert_no_exception(at)
    assert any("too large" in w.value for w in at.warning)
