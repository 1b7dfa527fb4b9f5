"""Custom layer & deeper MLP page, and labs.t1_custom_layer_mlp."""
import io

import torch
from torch import nn

import exports
from core import data
from labs import t1_custom_layer_mlp as lab
from datasets import mnist_files
from tests.apptest_utils import assert_no_exception, metric, open_page
from tests.export_utils import run_download

PAGE = "views/t1_custom_layer_mlp.py"


def test_custom_mlp_has_109386_parameters_and_equals_nn_linear():
    model = lab.custom_mlp(seed=1)
    assert sum(p.numel() for p in model.parameters()) == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    x = torch.rand(32, 784)
    assert (model(x) - lab.same_as_nn_linear(model)(x)).abs().max() < 1e-6


def test_evaluate_uses_eval_mode_and_no_graph():
    model = lab.custom_mlp(dropout=0.5, seed=0)
    x, y = torch.rand(50, 784), torch.randint(0, 10, (50,))
    a1, _ = lab.evaluate(model, x, y)
    a2, _ = lab.evaluate(model, x, y)
    assert a1 == a2, "dropout must be off while evaluating"
    assert model.training, "evaluate restores training mode"


def test_small_training_set_overfits(mnist_dir):
    Xtr, ytr, Xte, yte, _ = mnist_files.mnist_train_test()
    rows = list(lab.train_epochs(lab.custom_mlp(seed=0), Xtr[:300], ytr[:300], Xte, yte,
                                        epochs=15, lr=0.003, optimizer="adam"))
    assert rows[-1]["train_acc"] > 0.98
    assert rows[-1]["gap"] > 0.08
    assert rows[-1]["test_acc"] > 0.6


def test_divergence_is_reported_not_raised(mnist_dir):
    Xtr, ytr, Xte, yte, _ = mnist_files.mnist_train_test()
    rows = list(lab.train_epochs(lab.custom_mlp(seed=0), Xtr[:300], ytr[:300], Xte, yte,
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


def test_dropout_masks_come_from_the_seed():
    x = torch.rand(64, 784)
    outs = []
    for _ in range(2):
        model = lab.custom_mlp(dropout=0.5, seed=3)
        model.train()
        outs.append(model(x))
    assert torch.equal(outs[0], outs[1]), "same seed, same dropout masks"
    model.eval()
    # eval mode: dropout is off, and the plain nn.Sequential copy computes the same (up to nn.Linear's fused add)
    assert torch.allclose(model(x), lab.plain_sequential(model)(x), atol=1e-6)


def test_exported_script_and_weights_reproduce_the_page(mnist_dir, downloads, tmp_path):
    at = open_page(PAGE, query={"dm_n": "100", "dm_epochs": "2", "dm_dropout": "0.2"})
    at.button(key="dm_train").click().run()
    assert_no_exception(at)
    script = downloads["dm_dl_script"]
    assert script == exports.fill("t1_custom_layer_mlp", dict(n_train=100, epochs=2, dropout=0.2, optimizer="adam",
                                                              lr=0.003, seed=0))
    lines = run_download(script, tmp_path, "t1_custom_layer_mlp.py").splitlines()
    printed = dict(line.split(": ", 1) for line in lines if ": " in line)
    for label in ("Parameters found by model.parameters()", "max |custom layers - nn.Linear| on 256 digits",
                  "Training accuracy", "Held-out accuracy", "Gap (overfitting)"):
        assert printed[label] == metric(at, label), label
    # one row per epoch, the same numbers as the page's table
    table = next(df.value for df in at.dataframe if "train_acc" in df.value.columns)
    columns = ["epoch", *lab.EPOCH_COLUMNS]
    start = lines.index(" ".join(columns)) + 1
    rows = [[float(v) for v in line.split()] for line in lines[start:start + len(table)]]
    assert rows == table[columns].astype(float).values.tolist()
    assert len(rows) == 2

    # the weights load into the plain nn.Sequential and give the page's held-out accuracy
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    model.load_state_dict(torch.load(io.BytesIO(downloads["dm_dl_weights"])))
    _, _, X_test, y_test, _ = mnist_files.mnist_train_test()
    accuracy, _ = lab.evaluate(model, X_test, y_test)
    assert f"{accuracy:.1%}" == metric(at, "Held-out accuracy")


def test_no_weights_offered_after_divergence(mnist_dir, downloads):
    at = open_page(PAGE, query={"dm_lr": "10.0", "dm_opt": "sgd", "dm_epochs": "2", "dm_n": "100"})
    at.button(key="dm_train").click().run()
    assert_no_exception(at)
    assert "dm_dl_script" in downloads and "dm_dl_weights" not in downloads


# ---------------------------------------------------------------- uint8 pixels give the float numbers
# The app keeps MNIST as uint8 (a quarter of the memory): evaluate and train_epochs convert rows as they go.

def test_evaluate_on_uint8_equals_float(mnist_dir, monkeypatch):
    P, y = mnist_files.load_mnist_pixels("test")
    X = data.to_float(P)
    model = lab.custom_mlp(dropout=0.3, seed=4)
    assert lab.evaluate(model, P, y) == lab.evaluate(model, X, y)
    with torch.no_grad():                            # one chunk holds the whole test split: exactly model(X)
        logits = model.eval()(X)
    assert lab.evaluate(model, P, y) == ((logits.argmax(1) == y).float().mean().item(),
                                                nn.functional.cross_entropy(logits, y).item())
    monkeypatch.setattr(lab, "EVAL_CHUNK", 3000)   # 4 chunks, the last one short
    assert lab.evaluate(model, P, y) == lab.evaluate(model, X, y)


def test_train_epochs_on_uint8_equals_float(mnist_dir):
    P, y = mnist_files.load_mnist_pixels("test")
    runs = []
    for to in (lambda t: t, data.to_float):
        model = lab.custom_mlp(dropout=0.2, seed=1)
        rows = list(lab.train_epochs(model, to(P[:300]), y[:300], to(P[-500:]), y[-500:],
                                            epochs=2, lr=0.003, optimizer="adam", seed=1))
        runs.append((rows, [p.detach().clone() for p in model.parameters()]))
    (rows_a, weights_a), (rows_b, weights_b) = runs
    assert rows_a == rows_b and len(rows_a) == 2
    assert all(torch.equal(a, b) for a, b in zip(weights_a, weights_b, strict=True))


def test_before_train_the_picture_shows_the_untrained_networks_guesses(mnist_dir):
    """Issue 9: the page showed no picture before Train. Now the first picture is a strip of held-out digits with
    the untrained network's guesses, and its title quotes the untrained accuracy it measured."""
    at = open_page(PAGE)
    assert_no_exception(at)
    charts = at.get("plotly_chart")
    assert charts, "no picture before Train"
    import json
    spec = json.loads(charts[0].proto.spec)
    assert "Before training" in spec["layout"]["title"]["text"]
    titles = [a["text"] for a in spec["layout"]["annotations"]]
    assert len(titles) == 16 and all(t.startswith("guess ") and t[6:].isdigit() for t in titles)
    at.slider(key="dm_epochs").set_value(1).run()
    at.button(key="dm_train").click().run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "overfitting gap" in spec["layout"]["title"]["text"]


def test_accuracy_figure_is_the_graph_objects_figure():
    """ui.t1_figures.accuracy_figure (plain dicts) sends exactly what the page's go.Figure + add_scatter +
    update_layout sent: both curves, the held-out one filled down to the training one, percent ticks, the title."""
    import json
    import math

    import plotly.graph_objects as go
    import plotly.utils

    import ui
    from ui import figspec, t1_figures

    def before(history):
        epochs_axis = [h["epoch"] for h in history]
        fig = go.Figure()
        fig.add_scatter(x=epochs_axis, y=[h["train_acc"] for h in history], name="training images",
                        line_color=ui.COLORS["forward"])
        fig.add_scatter(x=epochs_axis, y=[h["test_acc"] for h in history], name="held-out images",
                        line_color=ui.COLORS["backward"], fill="tonexty", fillcolor="rgba(213,94,0,0.12)")
        fig.update_layout(xaxis_title="epoch", yaxis_title="accuracy", yaxis_tickformat=".0%", height=380,
                          title="The shaded band is the overfitting gap", legend=dict(orientation="h", y=-0.2))
        return fig.to_dict()

    def sent(spec):
        return json.dumps(spec, cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True)

    rows = [dict(epoch=e, train_acc=min(1.0, 0.5 + e / 30), test_acc=0.5 + e / 60) for e in range(1, 41)]
    for history in (rows, rows[:1], [], [dict(epoch=1, train_acc=math.nan, test_acc=1.0)]):
        ours = t1_figures.accuracy_figure([h["epoch"] for h in history], [h["train_acc"] for h in history],
                                          [h["test_acc"] for h in history])
        assert sent(figspec.typed_arrays(ours)) == sent(before(history))
