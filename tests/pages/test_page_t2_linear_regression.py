"""Page: linear regression by hand (tutorial 002)."""
import torch

from labs import t2_linear_regression as lab
from tests.apptest_utils import assert_no_exception, metric, open_page

PAGE = "views/t2_linear_regression.py"


def test_defaults_fit_the_line_and_table_agrees():
    at = open_page(PAGE)
    assert_no_exception(at)
    x, y = lab.make_data(2.0, -1.0, 0.3, seed=0)
    h = lab.train_manual(x, y, 0.1, 100)
    assert metric(at, "Learned w") == f"{h['final_w']:.4f}"
    assert metric(at, "Learned b") == f"{h['final_b']:.4f}"
    assert at.success
    assert float(metric(at, "Largest difference in the table")) < 1e-6
    table = next(m.value for m in at.markdown if m.value.startswith("| manual step"))
    assert table.count(":material/check: equal") == 6 and "differs" not in table


def test_forgetting_zero_grad_changes_the_result_and_warns():
    at = open_page(PAGE)
    before = metric(at, "Last MSE")
    at.toggle(key="lr_forget").set_value(True).run()
    assert_no_exception(at)
    assert metric(at, "Last MSE") != before and float(metric(at, "Last MSE")) > float(before)
    assert at.warning or at.error


def test_large_lr_diverges_with_message_and_extremes():
    at = open_page(PAGE)
    at.select_slider(key="lr_lr").set_value(2.0).run()
    assert_no_exception(at)
    assert at.error and "Diverged" in at.error[0].value
    at.select_slider(key="lr_lr").set_value(1.0).run()
    assert at.warning and "flipping sign" in at.warning[0].value
    for key, value in [("lr_steps", 1), ("lr_steps", 500), ("lr_noise", 3.0), ("lr_w", -5.0), ("lr_b", 5.0),
                       ("lr_noise", 0.0)]:
        at.slider(key=key).set_value(value).run()
        assert_no_exception(at)
    at.number_input(key="lr_seed").set_value(99_999).run()
    assert_no_exception(at)


def test_link_restores_and_bad_link_warns():
    at = open_page(PAGE, query={"lr_w": "-3", "lr_steps": "40"})
    assert at.slider(key="lr_w").value == -3.0 and at.slider(key="lr_steps").value == 40
    at = open_page(PAGE, query={"lr_steps": "abc"})
    assert at.slider(key="lr_steps").value == 100 and at.warning


def test_speed_limit_is_this_datas_not_a_round_number():
    """x is a random sample, so mean(x) != 0 mixes w and b: the stable limit is 2 / the Hessian's largest
    eigenvalue (0.9992 for the default data), and at lr = 1 the bias does not 'bounce between two values
    forever': each swing is a little bigger than the last."""
    x, y = lab.make_data()
    c = lab.curvature(x)
    H = torch.autograd.functional.hessian(lambda p: lab.mse(p[0] * x.double() + p[1], y.double()),
                                          torch.zeros(2, dtype=torch.float64))
    assert abs(c["lr_limit"] - 2 / torch.linalg.eigvalsh(H)[-1].item()) < 1e-9
    assert 0.99 < c["lr_limit"] < 1.0
    swings = lab.train_manual(x, y, 1.0, 100)["b_grad"]
    assert abs(swings[-1]) > abs(swings[-3]) > abs(swings[-5])  # growing, not a fixed two-value bounce
    assert lab.verdict(lab.train_manual(x, y, 0.99 * c["lr_limit"], 3000)) == "ok"
    at = open_page(PAGE)
    at.select_slider(key="lr_lr").set_value(1.0).run()
    assert_no_exception(at)
    text = " ".join(" ".join(m.value for m in at.markdown).split())
    assert "forever" not in text and "lr = 1 exactly" not in " ".join(w.value for w in at.warning)
    assert f"2 * mean(x^2) = {c['along_w']:.3f} along w" in text
    assert f"lr < {c['lr_limit']:.4f} here" in text
    assert any(f"stable only for lr < {c['lr_limit']:.4f}" in w.value for w in at.warning)


def test_downloaded_script_prints_the_pages_numbers(downloads, tmp_path):
    import exports
    from tests.export_utils import printed_pairs, run_export
    at = open_page(PAGE)
    at.toggle(key="lr_forget").set_value(True).run()
    assert_no_exception(at)
    script = downloads["lr_dl"]
    assert "'zero_grad': False" in script
    settings = exports.defaults("t2_linear_regression") | dict(true_w=2.0, true_b=-1.0, noise=0.3, lr=0.1, steps=100,
                                                                 seed=0, zero_grad=False)
    assert script == exports.fill("t2_linear_regression", settings)
    printed = printed_pairs(run_export("t2_linear_regression", settings, tmp_path))
    assert printed["w"] == metric(at, "Learned w") and printed["b"] == metric(at, "Learned b")


def test_learning_rate_prediction_quotes_the_run_at_1_5():
    at = open_page(PAGE)
    radio = at.radio(key="predict_t2_lr_1_5")
    radio.set_value(radio.options[0]).run()
    assert_no_exception(at)
    shown = " ".join(e.value for e in at.success) + " ".join(e.value for e in at.error)
    at.select_slider(key="lr_lr").set_value(1.5).run()
    assert f"to {metric(at, 'Last MSE')} in {metric(at, 'Steps run')} steps" in shown


def test_figure_leaves_gaps_for_values_it_cannot_draw_and_is_valid_plotly():
    """ui.t2_figures draws nan, inf, |v| >= 1e9 (and an MSE <= 0 on the log axis) as gaps, leaves out a final line
    that is not finite, and its plain dicts are a figure Plotly accepts."""
    import math

    import plotly.graph_objects as go

    from ui import t2_figures
    right = {"loss": [4.0, 0.0, math.inf], "w": [0.0, math.nan, 1e9], "b": [0.0, 0.5, -math.inf],
             "final_w": math.nan, "final_b": 0.5}
    wrong = {"loss": [4.0, 2.0, 1.0], "w": [0.0, 1.0, 2.0], "b": [0.0, -1.0, -2.0], "final_w": 2.0, "final_b": -1.0}
    fig = t2_figures.runs_figure([0.5], [1.0], right, wrong, True, 2.0, -1.0)
    go.Figure(fig)   # raises on a property Plotly does not know
    lines = [t for t in fig["data"] if t.get("yaxis") == "y" and t["mode"] == "lines"]
    assert [t["name"] for t in lines] == ["without zero_()"] and lines[0]["y"] == [-3.0, 1.0]
    assert lines[0]["line"] == dict(color=lines[0]["line"]["color"], width=4, dash="solid")   # the run shown
    mse = [t for t in fig["data"] if t.get("yaxis") == "y2"]
    assert mse[0]["y"] == [4.0, None, None] and mse[1]["y"] == [4.0, 2.0, 1.0]
    paths = [t for t in fig["data"] if t.get("yaxis") == "y3"]
    assert paths[0]["x"] == [0.0, None, None] and paths[0]["y"] == [0.0, 0.5, None]
    assert paths[-1]["x"] == [2.0] and paths[-1]["y"] == [-1.0]   # the true (w, b)
    layout = fig["layout"]
    assert layout["yaxis2"]["type"] == "log" and layout["xaxis3"]["range"] == [-6.0, 6.0] == layout["yaxis3"]["range"]
    assert [a["text"] for a in layout["annotations"]] == ["Data and fitted line", "MSE per step (log scale)",
                                                          "Path of (w, b)"]
