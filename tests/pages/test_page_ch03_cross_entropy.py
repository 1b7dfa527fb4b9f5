"""Chapter 3 page (cross-entropy explorer) and labs.ch03_cross_entropy."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labs import ch03_cross_entropy as lab
from tests.apptest_utils import assert_no_exception, metric, open_page

PAGE = "views/ch03_cross_entropy.py"


def test_mse_on_softmax_gradient_matches_autograd():
    z = torch.randn(5, 7, generator=torch.Generator().manual_seed(0)) * 3
    y = torch.tensor([0, 3, 6, 2, 2])
    loss, grad = lab.mse_on_softmax(z, y)
    z_ = z.clone().requires_grad_(True)
    ref = F.mse_loss(torch.softmax(z_, dim=1), F.one_hot(y, 7).float())
    ref.backward()
    torch.testing.assert_close(loss, ref.detach())
    torch.testing.assert_close(grad, z_.grad)


def test_explore_matches_torch_and_shows_naive_overflow():
    z = [2.0, 1.0, 0.1, -1.0]
    r = lab.explore(z, 2, 1.0)
    t = torch.tensor([z])
    assert math.isclose(r["loss"], F.cross_entropy(t, torch.tensor([2])).item(), rel_tol=1e-6)
    torch.testing.assert_close(torch.tensor(r["probs"]), torch.softmax(t, 1)[0])
    t.requires_grad_(True)
    F.cross_entropy(t, torch.tensor([2])).backward()
    torch.testing.assert_close(torch.tensor(r["grad"]), t.grad[0])
    big = lab.explore(z, 0, 1000.0)
    assert math.isinf(big["exp_naive"][0]) and math.isnan(big["naive_probs"][0])
    assert all(math.isfinite(p) for p in big["probs"]) and big["loss_diff"] == 0.0


def test_sweep_ce_gradient_stays_strong_when_mse_vanishes():
    s = lab.sweep_correct([2.0, 1.0, 0.1, -1.0], 0, [-15.0, 0.0, 15.0])
    assert s["ce_grad"][0] < -0.99  # confidently wrong: full push
    assert abs(s["mse_grad"][0]) < 1e-5  # MSE barely moves
    assert s["ce_loss"][0] > 15 and s["mse_loss"][0] < 0.5


def test_page_default_equals_torch():
    at = open_page(PAGE)
    assert_no_exception(at)
    z = torch.tensor([[2.0, 1.0, 0.1, -1.0]])
    ref = F.cross_entropy(z, torch.tensor([0])).item()
    assert metric(at, "Cross-entropy loss") == f"{ref:.4f}"
    assert float(metric(at, "|ours - F.cross_entropy|")) < 1e-6
    assert metric(at, "p(correct class)") == f"{torch.softmax(z, 1)[0, 0].item():.4f}"
    assert at.success  # naive softmax still fine at scale 1


def test_logit_slider_and_correct_class_change_the_loss():
    at = open_page(PAGE)
    at.slider(key="ce_z0").set_value(-10.0).run()
    at.selectbox(key="ce_y").set_value(0).run()
    z = torch.tensor([[-10.0, 1.0, 0.1, -1.0]])
    assert metric(at, "Cross-entropy loss") == f"{F.cross_entropy(z, torch.tensor([0])).item():.4f}"
    at.selectbox(key="ce_y").set_value(1).run()
    assert metric(at, "Cross-entropy loss") == f"{F.cross_entropy(z, torch.tensor([1])).item():.4f}"


def test_scale_1000_breaks_naive_softmax_only():
    at = open_page(PAGE)
    at.select_slider(key="ce_scale").set_value(1000.0).run()
    assert_no_exception(at)
    assert at.error and "naive softmax broke" in at.error[0].value
    table = at.dataframe[0].value
    assert "inf" in list(table["exp(z) (naive)"]) and "nan" in list(table["naive softmax"])
    assert "nan" not in list(table["stable softmax"])
    z = torch.tensor([[2000.0, 1000.0, 100.0, -1000.0]])
    assert metric(at, "Cross-entropy loss") == f"{F.cross_entropy(z, torch.tensor([0])).item():.4f}"
    assert float(metric(at, "|ours - F.cross_entropy|")) == 0.0


def test_class_count_extremes_and_missing_class():
    at = open_page(PAGE)
    at.slider(key="ce_n").set_value(10).run()
    at.selectbox(key="ce_y").set_value(9).run()
    assert_no_exception(at)
    assert len(at.dataframe[0].value) == 10
    at.slider(key="ce_n").set_value(2).run()
    assert_no_exception(at)
    assert any("does not exist" in w.value for w in at.warning)
    z = torch.tensor([[2.0, 1.0]])
    assert metric(at, "Cross-entropy loss") == f"{F.cross_entropy(z, torch.tensor([0])).item():.4f}"


def test_link_restores_and_bad_link_warns():
    at = open_page(PAGE, query={"ce_scale": "100.0", "ce_z1": "5"})
    assert at.select_slider(key="ce_scale").value == 100.0 and at.slider(key="ce_z1").value == 5.0
    at = open_page(PAGE, query={"ce_scale": "abc"})
    assert at.select_slider(key="ce_scale").value == 1.0 and at.warning


def test_exported_script_reproduces_the_page(downloads, tmp_path):
    import exports
    from tests.export_utils import run_export

    at = open_page(PAGE)
    at.slider(key="ce_z2").set_value(6.5).run()
    at.select_slider(key="ce_scale").set_value(20.0).run()
    z = [2.0, 1.0, 6.5, -1.0]
    settings = dict(logits=z, target=0, scale=20.0)
    assert downloads["ce_download"] == exports.fill("ch03_cross_entropy", settings)
    out = run_export("ch03_cross_entropy", settings, tmp_path)
    printed = dict(line.split(" ", 1) for line in out.splitlines())
    assert printed["cross_entropy_loss"] == metric(at, "Cross-entropy loss")
    assert printed["p_correct"] == metric(at, "p(correct class)")
    assert printed["mse_loss"] == metric(at, "MSE loss")
    assert printed["abs_diff_vs_F.cross_entropy"] == metric(at, "|ours - F.cross_entropy|")
    assert printed["naive_softmax_finite"] == "False"  # 6.5 * 20 = 130 > 88.7


def test_naive_softmax_report_tells_overflow_from_underflow():
    over = lab.naive_softmax_report([2000.0, 1000.0, 100.0, -1000.0])
    assert over["status"] == "overflow" and over["n_inf"] == 3 and math.isinf(over["exp_sum"])
    under = lab.naive_softmax_report([-200.0, -400.0, -300.0, -500.0])
    assert under["status"] == "underflow" and under["n_zero"] == 4 and under["exp_sum"] == 0.0
    assert under["max_z"] < lab.FLOAT32_EXP_FLOOR
    # every exp fits (exp(88) = 1.65e38) but three of them overflow the sum: naive gives 0, not nan
    total = lab.naive_softmax_report([88.0, 88.0, 88.0, 10.0])
    assert total["status"] == "sum_overflow" and total["n_inf"] == 0 and total["max_diff"] > 0.3
    # logits near -100: exp is subnormal, the naive softmax returns numbers that are visibly wrong
    assert lab.naive_softmax_report([-100.0, -101.0, -102.0])["status"] == "inaccurate"
    assert lab.naive_softmax_report([2.0, 1.0, 0.1, -1.0])["status"] == "ok"


def test_all_negative_logits_at_scale_200_say_underflow_not_overflow():
    """z = -200 ... -500: every exp is 0 and 0 / 0 = nan; no z is above 88.72, so no 'overflow' on screen."""
    at = open_page(PAGE)
    for i, v in enumerate([-1.0, -2.0, -1.5, -2.5]):
        at.slider(key=f"ce_z{i}").set_value(v).run()
    at.select_slider(key="ce_scale").set_value(200.0).run()
    assert_no_exception(at)
    assert len(at.error) == 1
    text = at.error[0].value
    assert "underflow" in text and "0 / 0 = nan" in text and "z = -200.0" in text
    assert "overflow" not in text.replace("overflows", "").replace("**underflow**", "")
    assert "inf / inf" not in text
    table = at.dataframe[0].value
    assert set(table["exp(z) (naive)"]) == {"0"} and set(table["naive softmax"]) == {"nan"}


def test_sum_overflow_is_not_reported_as_working():
    """Three logits of 88: each exp fits in float32, their sum does not; naive gives 0 everywhere."""
    at = open_page(PAGE)
    for i, v in enumerate([8.8, 8.8, 8.8, 1.0]):
        at.slider(key=f"ce_z{i}").set_value(v).run()
    at.select_slider(key="ce_scale").set_value(10.0).run()
    assert_no_exception(at)
    assert not at.success
    assert at.error and "without a single inf" in at.error[0].value


def test_exp_thresholds_are_where_float32_exp_changes():
    """The page's numbers for 'exp overflows' and 'exp rounds to 0' are where torch.exp in float32 does so."""
    above = torch.tensor([lab.FLOAT32_EXP_LIMIT - 0.01, lab.FLOAT32_EXP_LIMIT + 0.01])
    assert torch.isfinite(torch.exp(above[0])) and torch.isinf(torch.exp(above[1]))
    below = torch.tensor([lab.FLOAT32_EXP_ZERO + 0.001, lab.FLOAT32_EXP_ZERO - 0.001])
    assert torch.exp(below[0]) > 0 and torch.exp(below[1]) == 0
    # between the two floors exp is the smallest subnormal, not 0: "below -103.28 it is 0" would be false
    assert torch.exp(torch.tensor(-103.5)).item() == torch.finfo(torch.float32).smallest_normal * 2.0 ** -23


def _figures_with_graph_objects(res, sweep, y, classes, p_axis):
    """The page's three figures as it built them before (issue 12): go.Figure and add_*/update_*."""
    import plotly.graph_objects as go

    import ui

    def two_panels(left_title, right_title, height):
        return go.Figure(layout=dict(
            height=height, xaxis=dict(domain=[0, 0.45]), xaxis2=dict(domain=[0.55, 1], anchor="y2"),
            yaxis2=dict(anchor="x2"),
            annotations=[dict(text=t, x=x, y=1.0, xref="paper", yref="paper", showarrow=False, yanchor="bottom",
                              xanchor="center", font=dict(size=15))
                         for t, x in ((left_title, 0.225), (right_title, 0.775))]))
    n = len(classes)
    colours = [ui.COLORS["correct"] if i == y else ui.COLORS["neutral"] for i in range(n)]
    fig = two_panels("softmax probabilities", "gradient dLoss/dz", 360)
    fig.add_bar(x=classes, y=res["probs"], marker_color=colours, text=[f"{p:.3f}" for p in res["probs"]],
                textposition="outside", showlegend=False,
                marker_line=dict(color=ui.COLORS["correct"], width=[3 if i == y else 0 for i in range(n)]))
    fig.add_annotation(x=str(y), y=res["p_correct"] + 0.22, text="correct", showarrow=False,
                       font=dict(color=ui.COLORS["correct"]))
    fig.add_bar(x=classes, y=res["grad"], name="cross-entropy: softmax - one_hot",
                marker_color=ui.COLORS["backward"], xaxis="x2", yaxis="y2")
    fig.add_bar(x=classes, y=res["mse_grad"], name="MSE on the probabilities",
                marker_color=ui.COLORS["wrong"], xaxis="x2", yaxis="y2")
    fig.update_layout(barmode="group", legend=dict(orientation="h", y=-0.3, yanchor="top"),
                      yaxis=dict(range=[0, 1.3]),
                      xaxis=dict(title="class", type="category"), xaxis2=dict(title="class", type="category"))
    curve = go.Figure()
    curve.add_scatter(x=p_axis, y=-np.log(p_axis), name="-log(p)", line_color=ui.COLORS["forward"])
    curve.add_scatter(x=[max(res["p_correct"], 1e-4)], y=[res["loss"]], mode="markers", name="this example",
                      marker=dict(color=ui.COLORS["correct"], size=14, line=dict(color="black", width=1)))
    curve.update_layout(height=340, title="Loss = -log(p of the correct class)", xaxis_title="p(correct)",
                        yaxis_title="loss", showlegend=False)
    curve.update_xaxes(type="log", dtick=1, minor=dict(showgrid=False, ticks=""))
    fig2 = two_panels("loss", "gradient on the correct logit", 360)
    for name, colour in (("ce", ui.COLORS["backward"]), ("mse", ui.COLORS["wrong"])):
        label = "cross-entropy" if name == "ce" else "MSE"
        fig2.add_scatter(x=sweep["value"], y=sweep[f"{name}_loss"], name=label, line_color=colour)
        fig2.add_scatter(x=sweep["value"], y=sweep[f"{name}_grad"], name=label, line_color=colour,
                         showlegend=False, xaxis="x2", yaxis="y2")
    fig2.update_xaxes(title_text="logit of the correct class")
    return fig, curve, fig2


@pytest.mark.parametrize("z, y, scale", [([2.0, 1.0, 0.1, -1.0], 0, 1.0), ([-10.0, 10.0], 0, 5.0),
                                         ([10.0, -10.0, 10.0, -10.0, 10.0, 0.0, 1.0, 2.0, 3.0, -3.0], 9, 1000.0)])
def test_figures_are_the_graph_objects_figures(z, y, scale):
    """Issue 12: the figures are plain dicts (ui.figspec) and draw exactly what go.Figure drew, also where p(correct)
    is off the curve's left edge (1e-4) and where exp overflows at x1000."""
    import json

    import plotly.graph_objects as go
    import plotly.utils

    from ui import ch03_figures

    def spec(fig):
        return json.dumps(fig.to_dict(), cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True)
    res, sweep = lab.explore(z, y, scale), lab.sweep_correct(z, y, np.linspace(-15, 15, 121))
    classes, p_axis = [str(i) for i in range(len(z))], np.logspace(-4, 0, 200)
    ours = (ch03_figures.probabilities_figure(classes, res["probs"], res["grad"], res["mse_grad"], y,
                                              res["p_correct"]),
            ch03_figures.loss_curve_figure(p_axis, -np.log(p_axis), max(res["p_correct"], 1e-4), res["loss"]),
            ch03_figures.sweep_figure(sweep))
    assert all(type(fig) is dict for fig in ours)
    theirs = _figures_with_graph_objects(res, sweep, y, classes, p_axis)
    assert [spec(go.Figure(fig)) for fig in ours] == [spec(fig) for fig in theirs]
