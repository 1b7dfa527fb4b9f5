"""Page: your first neural network (tutorial 000)."""
import exports
from tests.apptest_utils import assert_no_exception, metric, open_page
from tests.export_utils import printed_pairs, run_export

PAGE = "views/t0_first_network.py"


def test_defaults_reproduce_the_tutorial():
    at = open_page(PAGE)
    assert_no_exception(at)
    assert metric(at, "Stopped at epoch") == "34"
    assert metric(at, "Final bias") == "-16.0019"
    assert metric(at, "Output at dose 0.5") == "1.0100"
    assert metric(at, "Output at dose 0.0") == "0.0000"
    assert at.success and "34" in at.success[0].value
    assert len(at.dataframe) == 2


def test_weight_slider_changes_curve_and_training():
    at = open_page(PAGE)
    at.slider(key="fn_w11").set_value(3.0).run()
    assert_no_exception(at)
    # 0.5 * 12.6 * 3.0 - 16 = 2.9 at dose 0.5
    assert metric(at, "Output at dose 0.5") == "2.9000"
    assert metric(at, "Final bias") != "-16.0019"


def test_large_lr_reports_dead_relu_and_extremes_do_not_break():
    at = open_page(PAGE)
    at.select_slider(key="fn_lr").set_value(2.0).run()
    assert_no_exception(at)
    assert at.warning and "stuck" in at.warning[0].value
    assert metric(at, "Stopped at epoch") == "did not stop"
    for key, value in [("fn_w00", -20.0), ("fn_w01", 50.0), ("fn_final_bias", 50.0), ("fn_start", 30.0),
                       ("fn_epochs", 10)]:
        at.slider(key=key).set_value(value).run()
        assert_no_exception(at)
    at.select_slider(key="fn_lr").set_value(0.001).run()
    assert_no_exception(at)


def test_link_restores_values_and_bad_link_warns():
    at = open_page(PAGE, query={"fn_w01": "-30", "fn_lr": "0.05"})
    assert at.slider(key="fn_w01").value == -30.0 and at.select_slider(key="fn_lr").value == 0.05
    at = open_page(PAGE, query={"fn_w01": "abc"})
    assert at.slider(key="fn_w01").value == -40.8 and at.warning


def _printout_caption(at):
    return next(c.value for c in at.caption if "tutorial's printout" in c.value)


def test_printout_sentence_is_derived_from_the_computed_run(monkeypatch):
    import streamlit as st

    from labs import t0_first_network as lab
    at = open_page(PAGE)
    assert_no_exception(at)
    assert ("training stopped after 34 steps with the final bias at -16.0019: the same as the tutorial's printout"
            in _printout_caption(at))
    real = lab.train_final_bias

    def shifted(*args, **kwargs):  # a run that ends elsewhere: the sentence must follow the numbers
        history = real(*args, **kwargs)
        return {**history, "final_bias": history["final_bias"] + 1.0}

    monkeypatch.setattr(lab, "train_final_bias", shifted)
    st.cache_data.clear()
    try:
        at = open_page(PAGE)
        assert_no_exception(at)
        caption = _printout_caption(at)
        assert "final bias at -15.0019" in caption and "differs from the tutorial's printout" in caption
        assert "-16.0019" not in caption.split(":")[0]
    finally:
        st.cache_data.clear()  # no shifted result may outlive this test


def test_nn_module_version_with_frozen_weights_matches_the_loop():
    at = open_page(PAGE)
    assert_no_exception(at)
    assert metric(at, "nn.Module: stopped at epoch") == "34" == metric(at, "Stopped at epoch")
    assert metric(at, "nn.Module: final bias") == metric(at, "Final bias") == "-16.0019"
    assert metric(at, "Parameters the optimizer trains") == "final_bias"
    assert metric(at, "max |bias (loop) - bias (nn.Module)|") == "0.0e+00"
    code = "\n".join(c.value for c in at.code)
    assert "class DoseNet(torch.nn.Module)" in code and "requires_grad=trainable" in code
    assert "if p.requires_grad" in code and ".detach()" in code
    at.select_slider(key="fn_lr").set_value(0.3).run()
    assert_no_exception(at)
    assert metric(at, "nn.Module: stopped at epoch") == metric(at, "Stopped at epoch")
    assert metric(at, "max |bias (loop) - bias (nn.Module)|") == "0.0e+00"


def test_downloaded_script_prints_the_pages_numbers(downloads, tmp_path):
    at = open_page(PAGE)
    at.slider(key="fn_w11").set_value(3.0).run()
    at.select_slider(key="fn_lr").set_value(0.05).run()
    assert_no_exception(at)
    script = downloads["fn_dl"]
    assert "w11': 3.0" in script and "'lr': 0.05" in script
    settings = exports.defaults("t0_first_network") | {"params": {**exports.defaults("t0_first_network")["params"],
                                                                  "w11": 3.0}, "lr": 0.05}
    assert script == exports.fill("t0_first_network", settings)
    printed = printed_pairs(run_export("t0_first_network", settings, tmp_path))
    assert printed["final_bias"] == metric(at, "Final bias")
    stopped = metric(at, "Stopped at epoch")
    assert printed["stop_epoch"] == (stopped if stopped != "did not stop" else "None")
