"""Page: chapter 10, what torch.nn adds."""
import torch

import exports
from labs import ch10_torch_nn as lab
from datasets import mnist_files
from tests.apptest_utils import assert_no_exception, metric, open_page

PAGE = "views/ch10_torch_nn.py"
DIFF = "max |scratch - {}|"


def _mnist_batch(B, seed):
    X, y = mnist_files.load_mnist("test")
    return lab.pick_batch(X, y, B, seed)


def test_default_linear_matches_and_uses_mnist(mnist_dir):
    at = open_page(PAGE)
    assert_no_exception(at)
    assert metric(at, "Batch") == "64 MNIST digits"
    x, y = _mnist_batch(64, 0)
    expected = lab.check_linear(x, y, 0)["max_abs_diff"]
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
    model = lab._setup(x, 0)[1]
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


def _script_lines(settings, tmp_path, *args):
    """exports/ch10_torch_nn.py filled with these settings, run in-process; its stdout lines."""
    from tests.export_utils import run_export
    if args:
        from tests.export_utils import run_download
        return run_download(exports.fill("ch10_torch_nn", settings), tmp_path, "ch10_torch_nn.py", args).splitlines()
    return run_export("ch10_torch_nn", settings, tmp_path).splitlines()


def _hook_lines(table):
    """The hook table as the script prints it."""
    lines = []
    for i, row in table.iterrows():
        lines += [f"hook[{i}].layer {row['layer']}", f"hook[{i}].output_shape {row['output shape']}",
                  f"hook[{i}].mean {row['mean']:.4g}", f"hook[{i}].std {row['std']:.4g}",
                  f"hook[{i}].fraction_zero {row['fraction zero']:.4g}",
                  f"hook[{i}].max_abs_hook_minus_our_cache {row['max |hook - our cache|']:.4g}"]
    return lines


def test_exported_script_reproduces_the_page(tmp_path, mnist_dir, downloads):
    at = open_page(PAGE)
    assert list(lab.TORCH_NN_CHECKS) == at.selectbox(key="tn_part").options
    at.selectbox(key="tn_part").set_value("optim.SGD").run()
    at.select_slider(key="tn_batch").set_value(32).run()
    at.number_input(key="tn_seed").set_value(2).run()
    at.select_slider(key="tn_sgd_lr").set_value(0.5).run()
    at.select_slider(key="tn_sgd_mom").set_value(0.5).run()
    at.slider(key="tn_steps").set_value(6).run()
    assert_no_exception(at)
    settings = dict(part="optim.SGD", component={"lr": 0.5, "momentum": 0.5, "steps": 6}, batch_size=32, seed=2)
    assert downloads["tn_download"] == exports.fill("ch10_torch_nn", settings)
    out = _script_lines(settings, tmp_path)
    printed = dict(line.split(" ", 1) for line in out)
    assert printed["batch"] == metric(at, "Batch") == "32 MNIST digits"
    assert printed["max_abs_diff"] == metric(at, DIFF.format("optim.SGD"))
    assert printed["equal_within_1e-5"] == metric(at, "Equal within 1e-5")
    assert printed["float64_diff"] == metric(at, "The same race in float64: max difference")
    assert printed["steps"] == "6" and any("after 6 steps" in m.value for m in at.markdown)
    hooks = _hook_lines(at.dataframe[0].value)
    assert [line for line in out if line.startswith("hook[")] == hooks

    # the components whose extras the page writes out in words
    at.selectbox(key="tn_part").set_value("nn.Dropout").run()
    at.slider(key="tn_p").set_value(0.3).run()
    printed = dict(line.split(" ", 1) for line in _script_lines(
        dict(part="nn.Dropout", component={"p": 0.3}, batch_size=32, seed=2), tmp_path))
    assert printed["max_abs_diff"] == metric(at, DIFF.format("nn.Dropout"))
    text = "".join(m.value for m in at.markdown)
    assert (f"Same mask: **{printed['same_mask']}**" in text
            and f"fraction kept: **{printed['kept_fraction']}**" in text
            and f"the output equals the input: **{printed['eval_is_identity']}**" in text)
    at.selectbox(key="tn_part").set_value("state_dict save / load").run()
    printed = dict(line.split(" ", 1) for line in _script_lines(
        dict(part="state_dict save / load", batch_size=32, seed=2), tmp_path))
    assert printed["max_abs_diff"] == metric(at, DIFF.format("state_dict save / load"))
    text = "".join(m.value for m in at.markdown)
    assert f"Saved {printed['bytes']} bytes" in text
    assert f"missing keys: {printed['missing']}, unexpected keys: {printed['unexpected']}." in text

    # --all: one line per component, each with its default settings, all within the tolerance
    lines = _script_lines(dict(part="nn.Linear", batch_size=32, seed=2), tmp_path, "--all")
    table = {line[:26].strip(): line[26:].split() for line in lines[1:] if not line.startswith("hook[")}
    assert list(table) == list(lab.TORCH_NN_CHECKS)
    assert all(status == "equal" for _, status in table.values())
    at.selectbox(key="tn_part").set_value("nn.Linear").run()
    assert table["nn.Linear"][0] == metric(at, DIFF.format("nn.Linear"))
    assert [line for line in lines if line.startswith("hook[")] == hooks


def test_custom_class_and_sequential_checked_against_raw_tensors(mnist_dir):
    from labs import ch10_torch_nn
    at = open_page(PAGE, query={"tn_batch": "8"})
    assert_no_exception(at)
    x, y = _mnist_batch(8, 0)
    expected = ch10_torch_nn.check_class_and_sequential(x, y, 0)
    for who, key in (("class Net", "net"), ("nn.Sequential", "seq")):
        for what, part in (("logits", "logits"), ("gradient", "grad")):
            shown = metric(at, f"{who}: max |{what} difference|")
            assert shown == f"{expected[f'{key}_{part}_diff']:.1e}" and float(shown) < 1e-5
    code = [c.value for c in at.code]
    assert any(c.startswith("class Net(nn.Module):") and "def __init__" in c and "def forward" in c for c in code)


def test_predictions_quote_the_measured_differences(mnist_dir):
    """Issue 9: predict, then try. The answer and the why come from this page's own measurements."""
    at = open_page(PAGE)
    seq = float(metric(at, "nn.Sequential: max |logits difference|"))
    radio = at.radio(key="predict_ch10_sequential_logits")
    assert radio.value is None
    radio.set_value(radio.options[0]).run()
    assert_no_exception(at)
    shown = " ".join(e.value for e in at.success) + " ".join(e.value for e in at.error)
    assert f"max |logits difference| = {seq:.1e}" in shown
    assert ("Your prediction was right" in shown) == (seq == 0)
    radio = at.radio(key="predict_ch10_adam_hot")
    radio.set_value(radio.options[0]).run()
    shown = " ".join(e.value for e in at.success) + " ".join(e.value for e in at.error)
    at.selectbox(key="tn_part").set_value("optim.Adam").run()
    at.select_slider(key="tn_adam_lr").set_value(0.1).run()
    at.slider(key="tn_steps").set_value(20).run()
    hot = metric(at, DIFF.format("optim.Adam"))
    assert f"differ by {hot} in float32" in shown
    assert f"by {metric(at, 'The same race in float64: max difference')} when both run in float64" in shown
    assert ("Your prediction was right" in shown) == (float(hot) <= 1e-5)
