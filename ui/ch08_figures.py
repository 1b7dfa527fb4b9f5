"""Page 8's figure (scratch vs torch.nn): both training-loss curves and the weight gap after each step.

Presentation only, it takes what it draws as arguments: the numbers come from labs.ch08_scratch_vs_nn
(run_comparison's per-step lists, EPS).
"""
from plotly.subplots import make_subplots

import ui


def agreement_figure(step, loss_scratch, loss_torch, max_abs_diff, eps):
    """Left: the two loss curves per step (torch.nn dashed on top of scratch). Right: max |W_scratch - W_nn.T| per
    step on a log axis (a gap of exactly 0 cannot be drawn there, so those steps are left out) and a dotted line at
    float32's rounding step `eps`."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Training loss per step (batch)",
                                                         "max |W_scratch - W_nn.T| after each step (log scale)"))
    fig.add_scatter(x=step, y=loss_scratch, name="from scratch",
                    line=dict(color=ui.COLORS["scratch"], width=5), row=1, col=1)
    fig.add_scatter(x=step, y=loss_torch, name="torch.nn", line=dict(color=ui.COLORS["torch"], width=2,
                    dash="dash"), row=1, col=1)
    positive = [(s, v) for s, v in zip(step, max_abs_diff) if v > 0]
    fig.add_scatter(x=[s for s, _ in positive], y=[v for _, v in positive], name="weight difference",
                    mode="lines+markers", marker_size=4, line_color=ui.COLORS["neutral"], row=1, col=2)
    fig.add_scatter(x=[step[0], step[-1]], y=[eps, eps], mode="lines",
                    name=f"float32 rounding step near 1 ({eps:.1e})", line=dict(color=ui.COLORS["wrong"], dash="dot"),
                    row=1, col=2)
    fig.update_yaxes(type="log", dtick=1, minor=dict(showgrid=False, ticks=""), row=1, col=2,
                     exponentformat="e")   # ticks at powers of ten only (ui.clean_log_axis, for one subplot)
    fig.update_xaxes(title="step")
    fig.update_layout(height=400, legend=dict(orientation="h", y=-0.2))
    return fig
