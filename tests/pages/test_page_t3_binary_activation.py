"""Binary classifier & custom activation page, and labs.t3_binary_activation."""
import base64
import io
import json

import numpy as np
import pytest
import streamlit as st
import torch
from torch import nn

from core import data
from labs import t3_binary_activation as lab
import exports
from tests.apptest_utils import assert_no_exception, metric, open_page, press_if_shown
from tests.export_utils import run_download

PAGE = "views/t3_binary_activation.py"


def _trained(at):
    return press_if_shown(at, "ca_train_now")


def test_custom_linear_is_nn_linear():
    diffs = lab.compare_custom_linear(in_dim=7, out_dim=3, batch=11, seed=3)
    assert diffs["parameters found"] == 2
    assert diffs["output"] < 1e-6 and diffs["weight grad"] < 1e-5 and diffs["bias grad"] < 1e-5


def test_training_with_smoothstep_learns_moons():
    X, y = data.make_2d("moons", n=300, noise=0.15, seed=0)
    act = lab.activation_from_formula(lab.SMOOTHSTEP)
    history = lab.train_binary(lab.binary_classifier(16, act["f"], seed=0), X, y, lr=0.05, epochs=300)
    assert history["diverged"] is None
    assert history["accuracy"][-1] > 0.95 and history["loss"][-1] < history["loss"][0] / 5


def test_linear_activation_cannot_bend_the_boundary():
    X, y = data.make_2d("circles", n=300, noise=0.05, seed=0)
    act = lab.activation_from_formula("x")
    history = lab.train_binary(lab.binary_classifier(16, act["f"], seed=0), X, y, lr=0.05, epochs=200)
    assert history["accuracy"][-1] < 0.75


def test_page_defaults_show_derivative_check_and_training():
    at = open_page(PAGE)
    assert_no_exception(at)
    assert float(metric(at, "max |sympy f' - autograd f'| on [-2, 2]")) < 1e-9
    assert float(metric(at, "Training accuracy").rstrip("%")) > 95
    assert float(metric(at, "|our BCE - F.binary_cross_entropy|")) < 1e-5


@pytest.mark.parametrize("text", ["__import__('os').system('id')", "x.__class__", "x**99999", "y+1", "ｘ"])
def test_page_refuses_hostile_formula_with_a_message(text):
    at = open_page(PAGE)
    at.text_input(key="ca_f").set_value(text).run()
    assert_no_exception(at)
    assert at.error and "not accepted" in at.error[0].value


def test_preset_button_and_link():
    at = open_page(PAGE)
    at.button(key="ca_preset_ReLU").click().run()
    assert at.text_input(key="ca_f").value == "relu(x)"
    at = open_page(PAGE, query={"ca_f": "tanh(x)", "ca_hidden": "4"})
    assert at.text_input(key="ca_f").value == "tanh(x)" and at.slider(key="ca_hidden").value == 4
    at = open_page(PAGE, query={"ca_hidden": "5000"})
    assert at.slider(key="ca_hidden").value == 16 and at.warning


def test_extremes_do_not_break_the_page():
    at = open_page(PAGE)
    _trained(at.select_slider(key="ca_lr").set_value(10.0).run())
    _trained(at.slider(key="ca_hidden").set_value(1).run())
    _trained(at.slider(key="ca_epochs").set_value(10).run())
    assert_no_exception(at)
    _trained(at.text_input(key="ca_f").set_value("exp(exp(exp(x)))").run())
    assert_no_exception(at)


def heatmap(at):
    """The P(class 1) grid the page drew (the first heatmap of its plotly charts), as a numpy array."""
    for chart in at.get("plotly_chart"):
        for trace in json.loads(chart.proto.spec)["data"]:
            if trace["type"] == "heatmap":
                z = trace["z"]
                if isinstance(z, dict):  # plotly's typed-array encoding
                    shape = [int(n) for n in str(z["shape"]).split(",")]
                    return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)
                return np.array(z, dtype=float)
    raise KeyError("no heatmap on the page")


def test_exported_script_and_weights_reproduce_the_page(downloads, tmp_path):
    settings = {"ca_f": "x*sigmoid(x)", "ca_data": "circles", "ca_hidden": "8", "ca_lr": "0.03",
                "ca_epochs": "200", "ca_noise": "0.1", "ca_seed": "3"}
    at = open_page(PAGE, query=settings)
    assert_no_exception(at)
    script = downloads["ca_dl_script"]
    assert script == exports.fill("t3_binary_activation", dict(formula="x*sigmoid(x)", dataset="circles", hidden=8,
                                                               lr=0.03, epochs=200, noise=0.1, seed=3))
    out = run_download(script, tmp_path, "t3_binary_activation.py")
    printed = dict(line.split(": ", 1) for line in out.splitlines())
    for label in ("max |sympy f' - autograd f'| on [-2, 2]", "Final training loss (BCE)", "Training accuracy",
                  "Epochs run", "|our BCE - F.binary_cross_entropy|"):
        assert printed[label] == metric(at, label), label
    assert printed["Epochs run"] == "200"
    markdown = " ".join(m.value for m in at.markdown)
    assert f"**f(x)** = `{printed['f(x)']}`" in markdown
    derivative = printed["f'(x) (sympy)"]
    assert f"**f'(x)** (sympy) = `{derivative}`" in markdown
    captions = " ".join(c.value for c in at.caption)
    assert f"this classifier has {printed['Numbers to learn']} numbers to learn" in captions
    table = next(df.value for df in at.dataframe if "compared with nn.Linear" in df.value.columns)
    for name, value in zip(table["compared with nn.Linear"], table["max abs difference"]):
        assert float(printed[f"CustomLinear vs nn.Linear, {name}"]) == value

    # the caption names the lab's functions as the downloaded script imports the lab (by its module name)
    assert "from labs import t3_binary_activation\n" in script
    assert "t3_binary_activation.activation_from_formula(text)" in script
    for name in ("t3_binary_activation.Activation(f)", "f = t3_binary_activation.activation_from_formula(text)['f']"):
        assert name in captions, name

    # the weights load into nn.Sequential(Linear, the typed activation, Linear) and draw the page's picture
    act = lab.activation_from_formula("x*sigmoid(x)")
    model = nn.Sequential(nn.Linear(2, 8), lab.Activation(act["f"]), nn.Linear(8, 1))
    model.load_state_dict(torch.load(io.BytesIO(downloads["ca_dl_weights"])))
    _, grid = lab.probability_grid(model)
    assert np.allclose(grid.numpy(), heatmap(at), atol=1e-5)


def test_blown_up_training_offers_the_script_but_no_weights(downloads, tmp_path):
    at = open_page(PAGE, query={"ca_f": "exp(exp(exp(x)))", "ca_lr": "10.0", "ca_epochs": "10"})
    assert_no_exception(at)
    assert any("Training stopped" in w.value for w in at.warning)
    assert "ca_dl_weights" not in downloads
    printed = dict(line.split(": ", 1)
                   for line in run_download(downloads["ca_dl_script"], tmp_path, "t3.py").splitlines())
    assert printed["Training stopped"] in at.warning[0].value
    for label in ("Final training loss (BCE)", "Training accuracy", "Epochs run", "|our BCE - F.binary_cross_entropy|"):
        assert printed[label] == metric(at, label), label


def test_autograd_is_described_as_exact_not_numerical():
    """Autograd is algorithmic differentiation (page 4 contrasts it with finite differences): the page must not
    call it numerical; the gap it measures against sympy is float64 rounding, far below a finite difference's."""
    at = open_page(PAGE)
    assert_no_exception(at)
    text = " ".join(" ".join(m.value for m in at.markdown).split())
    assert "numerically" not in text
    assert "applies the chain rule to each one" in text and "not a finite-difference estimate" in text
    gap = float(metric(at, "max |sympy f' - autograd f'| on [-2, 2]"))
    x = torch.linspace(-2, 2, 401, dtype=torch.float64)
    f = lambda t: t ** 3 * (6 * t ** 2 - 15 * t + 10)  # noqa: E731  SmoothStep
    central = ((f(x + 1e-6) - f(x - 1e-6)) / 2e-6 - 30 * x ** 2 * (x - 1) ** 2).abs().max().item()
    assert gap < central / 100  # autograd is far closer to the exact derivative than a central difference


def test_linear_activation_prediction_quotes_the_run_on_circles():
    at = open_page(PAGE)
    radio = at.radio(key="predict_t3_linear_circles")
    radio.set_value(radio.options[1]).run()
    assert_no_exception(at)
    shown = " ".join(e.value for e in at.success) + " ".join(e.value for e in at.error)
    at.button(key="ca_preset_Linear (no activation)").click().run()
    at.selectbox(key="ca_data").set_value("circles").run()
    acc = metric(at, "Training accuracy")
    assert f"{acc} training accuracy" in shown
    assert ("Your prediction was right" in shown) == (float(acc.rstrip("%")) < 90)


def test_a_long_change_waits_for_train_and_then_shows_what_a_link_shows():
    """Issue 12: every change used to train 300 epochs twice in the rerun (0.2-1.2 s). Training estimated over the
    live budget now waits for Train (the formula's derivative check stays live); pressed, the page shows what a
    link to the same settings shows."""
    at = open_page(PAGE)
    at.slider(key="ca_hidden").set_value(8).run()
    assert_no_exception(at)
    assert "wait for the button" in at.info[0].value and "about" in at.info[0].value
    labels = [m.label for m in at.metric]
    assert "Training accuracy" not in labels and "max |sympy f' - autograd f'| on [-2, 2]" in labels
    # what the layer section says about this classifier follows the slider before training, too
    assert any("this classifier has 33 numbers to learn" in c.value for c in at.caption)
    at.button(key="ca_train_now").click().run()
    assert_no_exception(at)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Epochs run"] == "300" and not any(b.key == "ca_train_now" for b in at.button)
    st.cache_data.clear()
    assert {m.label: m.value for m in open_page(PAGE, query={"ca_hidden": "8"}).metric} == shown


def test_fewer_epochs_cut_the_cached_run_with_the_numbers_of_a_shorter_run():
    """The run is cached in pieces of 50 epochs: 120 epochs is cut from the 300 the page opened with, at once,
    and shows what train_binary for exactly 120 epochs gives."""
    at = open_page(PAGE)
    at.slider(key="ca_epochs").set_value(120).run()
    assert_no_exception(at)
    assert not any(b.key == "ca_train_now" for b in at.button)
    X, y = data.make_2d("moons", n=300, noise=0.15, seed=0)
    act = lab.activation_from_formula(lab.SMOOTHSTEP)
    history = lab.train_binary(lab.binary_classifier(16, act["f"], seed=0), X, y, lr=0.05, epochs=120)
    assert metric(at, "Epochs run") == "120"
    assert metric(at, "Final training loss (BCE)") == f"{history['loss'][-1]:.4f}"
    assert metric(at, "Training accuracy") == f"{history['accuracy'][-1]:.1%}"


def _figures_with_graph_objects(axis, grid, X, y, loss, curves):
    """The page's two figures as it built them before (issue 12): make_subplots, go.Figure and add_*/update_*."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    import ui
    fig = make_subplots(rows=1, cols=2, subplot_titles=("P(class 1) over the plane", "Loss per epoch"))
    fig.add_heatmap(x=axis, y=axis, z=grid, zmin=0, zmax=1, colorscale=ui.DIVERGING, showscale=False, row=1, col=1)
    for label, colour in ((0, ui.COLORS["forward"]), (1, ui.COLORS["backward"])):
        pts = X[y == label]
        fig.add_scatter(x=pts[:, 0], y=pts[:, 1], mode="markers", name=f"class {label}",
                        marker=dict(color=colour, size=6, line=dict(color="black", width=0.5)), row=1, col=1)
    fig.add_scatter(y=loss, name="BCE", line_color=ui.COLORS["wrong"], row=1, col=2)
    fig.update_xaxes(range=[-2, 2], row=1, col=1)
    fig.update_yaxes(range=[-2, 2], row=1, col=1)
    fig.update_yaxes(type="log", dtick=1, minor=dict(showgrid=False, ticks=""), row=1, col=2)
    fig.update_layout(height=400, legend=dict(orientation="h", y=-0.12))
    act = go.Figure()
    act.add_scatter(x=curves["x"], y=curves["f"], name="f(x)", line_color=ui.COLORS["forward"])
    act.add_scatter(x=curves["x"], y=curves["symbolic"], name="f'(x), sympy", line_color=ui.COLORS["backward"])
    act.add_scatter(x=curves["x"], y=curves["autograd"], name="f'(x), autograd", line=dict(color="black", dash="dot"))
    act.update_layout(height=320, xaxis_title="x", yaxis_range=[-3, 3])
    return fig, act


@pytest.mark.parametrize("loss", [[0.7, 0.3, 0.05], [], [0.7, float("inf"), float("nan")]])
def test_figures_are_the_graph_objects_figures(loss):
    """Issue 12: the figures are plain dicts (ui.figspec), and draw exactly what make_subplots and go.Figure drew,
    for an untrained classifier and a loss history that is long, empty or blown up."""
    import plotly.graph_objects as go
    import plotly.utils

    from ui import t3_figures

    def spec(fig):
        return json.dumps(fig.to_dict(), cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True)
    act = lab.activation_from_formula("exp(exp(exp(x)))")
    curves = {k: v.numpy() for k, v in lab.compare_derivative(act).items() if k in ("x", "f", "symbolic", "autograd")}
    axis, grid = lab.probability_grid(lab.binary_classifier(8, act["f"], seed=1))
    X, y = data.make_2d("circles", n=300, noise=0.15, seed=1)
    axis, grid, X, y = axis.numpy(), grid.numpy(), X.numpy(), y.numpy()
    ours = (t3_figures.classifier_figure(axis, grid, X, y, loss),
            t3_figures.activation_figure(curves["x"], curves["f"], curves["symbolic"], curves["autograd"]))
    assert all(type(fig) is dict for fig in ours)
    theirs = _figures_with_graph_objects(axis, grid, X, y, loss, curves)
    assert [spec(go.Figure(fig)) for fig in ours] == [spec(fig) for fig in theirs]
