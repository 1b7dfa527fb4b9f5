"""Binary classifier & custom activation page, and core.binary."""
import pytest
import torch

from core import binary, data, formula
from tests.apptest_utils import assert_no_exception, metric, open_page

PAGE = "pages/t3_binary_activation.py"


def test_custom_linear_is_nn_linear():
    diffs = binary.compare_custom_linear(in_dim=7, out_dim=3, batch=11, seed=3)
    assert diffs["parameters found"] == 2
    assert diffs["output"] < 1e-6 and diffs["weight grad"] < 1e-5 and diffs["bias grad"] < 1e-5


def test_training_with_smoothstep_learns_moons():
    X, y = data.make_2d("moons", n=300, noise=0.15, seed=0)
    act = formula.activation_from_formula(formula.SMOOTHSTEP)
    history = binary.train_binary(binary.binary_classifier(16, act["f"], seed=0), X, y, lr=0.05, epochs=300)
    assert history["diverged"] is None
    assert history["accuracy"][-1] > 0.95 and history["loss"][-1] < history["loss"][0] / 5


def test_linear_activation_cannot_bend_the_boundary():
    X, y = data.make_2d("circles", n=300, noise=0.05, seed=0)
    act = formula.activation_from_formula("x")
    history = binary.train_binary(binary.binary_classifier(16, act["f"], seed=0), X, y, lr=0.05, epochs=200)
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
    at.select_slider(key="ca_lr").set_value(10.0).run()
    at.slider(key="ca_hidden").set_value(1).run()
    at.slider(key="ca_epochs").set_value(10).run()
    assert_no_exception(at)
    at.text_input(key="ca_f").set_value("exp(exp(exp(x)))").run()
    assert_no_exception(at)
