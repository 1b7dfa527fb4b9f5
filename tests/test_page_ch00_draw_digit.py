"""Page 0 · Draw a digit: the prediction it prints is the model's argmax; empty canvas -> a prompt."""
import torch

from core import data, digits
from tests.apptest_utils import assert_no_exception, metric, open_page, page_output
from tests.test_core_digits import MODEL

PAGE = "pages/ch00_draw_digit.py"


def held_out():
    X, y = data.load_mnist("test")
    return X[-data.HELD_OUT:], y[-data.HELD_OUT:]


def test_empty_canvas_prompts_and_predicts_nothing(mnist_dir):
    at = open_page(PAGE)
    assert_no_exception(at)
    assert any("Nothing drawn yet" in i.value for i in at.info)
    assert "Prediction" not in [m.label for m in at.metric]
    assert metric(at, "Parameters") == "101,770"


def test_prediction_for_chosen_test_digit_is_the_models_argmax(mnist_dir):
    params = digits.load_weights(MODEL)
    X, y = held_out()
    at = open_page(PAGE, query={"draw_src": "MNIST test digit"})
    assert_no_exception(at)
    for idx in (0, 17, 1999):          # slider min, a middle value, slider max
        at.slider(key="draw_idx").set_value(idx).run()
        assert_no_exception(at)
        logits = torch.relu(X[idx] @ params[0]["W"] + params[0]["b"]) @ params[1]["W"] + params[1]["b"]
        probs = torch.softmax(logits, 0)
        assert metric(at, "Prediction") == str(int(logits.argmax()))
        assert metric(at, "True label") == str(int(y[idx]))
        assert metric(at, "Confidence") == f"{probs.max().item():.1%}"
        assert f"held-out MNIST digit #{idx}" in page_output(at)


def test_a_wrong_digit_is_marked_wrong(mnist_dir):
    params = digits.load_weights(MODEL)
    X, y = held_out()
    pred = (torch.relu(X @ params[0]["W"] + params[0]["b"]) @ params[1]["W"]).argmax(1)
    wrong = int((pred != y).nonzero()[0])
    at = open_page(PAGE, query={"draw_src": "MNIST test digit", "draw_idx": str(wrong)})
    assert at.slider(key="draw_idx").value == wrong                 # the link restored the slider
    assert metric(at, "Prediction") != metric(at, "True label")


def test_measured_accuracy_matches_the_model(mnist_dir):
    params = digits.load_weights(MODEL)
    X, y = held_out()
    pred = (torch.relu(X @ params[0]["W"] + params[0]["b"]) @ params[1]["W"] + params[1]["b"]).argmax(1)
    at = open_page(PAGE)
    assert metric(at, "Held-out accuracy (measured now)") == f"{(pred == y).float().mean().item():.2%}"


def test_bad_link_values_fall_back_with_a_warning(mnist_dir):
    at = open_page(PAGE, query={"draw_src": "MNIST test digit", "draw_idx": "abc"})
    assert_no_exception(at)
    assert at.slider(key="draw_idx").value == 0
    assert at.warning
    at = open_page(PAGE, query={"draw_src": "nonsense"})
    assert_no_exception(at)
    assert at.warning and "Nothing drawn yet" in page_output(at)
