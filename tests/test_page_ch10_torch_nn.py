"""Page: chapter 10, what torch.nn adds."""
import torch

from core import data, equivalence
from tests.apptest_utils import assert_no_exception, metric, open_page

PAGE = "pages/ch10_torch_nn.py"
DIFF = "max |scratch - {}|"


def _mnist_batch(B, seed):
    X, y = data.load_mnist("test")
    return equivalence.pick_batch(X, y, B, seed)


def test_default_linear_matches_and_uses_mnist(mnist_dir):
    at = open_page(PAGE)
    assert_no_exception(at)
    assert metric(at, "Batch") == "64 MNIST digits"
    x, y = _mnist_batch(64, 0)
    expected = equivalence.check_linear(x, y, 0)["max_abs_diff"]
    assert metric(at, DIFF.format("nn.Linear")) == f"{expected:.1e}"
    assert metric(at, "Equal within 1e-5") == "yes"


def test_every_component_is_equal(mnist_dir):
    at = open_page(PAGE)
    for part in at.selectbox(key="tn_part").options:
        at.selectbox(key="tn_part").set_value(part).run()
        assert_no_exception(at)
        assert float(metric(at, DIFF.format(part))) < 1e-5, part
        assert metric(at, "Equal within 1e-5") == "yes"


def test_component_widgets_and_float64_explanation():
    at = open_page(PAGE)
    at.selectbox(key="tn_part").set_value("optim.Adam").run()
    at.select_slider(key="tn_adam_lr").set_value(0.1).run()
    at.slider(key="tn_steps").set_value(20).run()
    assert_no_exception(at)
    assert float(metric(at, "The same race in float64: max difference")) < 1e-9
    if float(metric(at, DIFF.format("optim.Adam"))) > 1e-5:
        assert at.info and "rounding" in at.info[0].value
    at.selectbox(key="tn_part").set_value("DataLoader(shuffle=True)").run()
    at.slider(key="tn_mb").set_value(256).run()  # one mini-batch bigger than the batch
    assert_no_exception(at)
    assert metric(at, DIFF.format("DataLoader(shuffle=True)")) == "0.0e+00"
    at.selectbox(key="tn_part").set_value("nn.Dropout").run()
    at.slider(key="tn_p").set_value(0.95).run()
    assert_no_exception(at)
    assert "Same mask: **yes**" in "".join(m.value for m in at.markdown)


def test_hook_table_matches_torch_hooks(mnist_dir):
    at = open_page(PAGE, query={"tn_batch": "8"})
    table = at.dataframe[0].value
    assert list(table["layer"]) == ["0: Linear", "1: ReLU", "2: Linear"]
    assert list(table["output shape"]) == ["[8, 128]", "[8, 128]", "[8, 10]"]
    x, _ = _mnist_batch(8, 0)
    model = equivalence._setup(x, 0)[1]
    with torch.no_grad():
        relu_out = model[1](model[0](x))
    assert abs(table["fraction zero"][1] - (relu_out == 0).float().mean().item()) < 1e-6
    assert (table["max |hook - our cache|"] < 1e-5).all()


def test_extremes_and_links():
    at = open_page(PAGE, query={"tn_part": "nn.ReLU", "tn_batch": "1"})
    assert_no_exception(at)
    assert at.selectbox(key="tn_part").value == "nn.ReLU"
    at = open_page(PAGE, query={"tn_part": "nn.Magic"})
    assert at.selectbox(key="tn_part").value == "nn.Linear" and at.warning
    at.select_slider(key="tn_batch").set_value(256).run()
    assert_no_exception(at)
