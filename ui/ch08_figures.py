"""Page 8's figure (scratch vs torch.nn): both training-loss curves and the weight gap after each step.

Presentation only, it takes what it draws as arguments: the numbers come from labs.ch08_scratch_vs_nn
(run_comparison's per-step lists, EPS).
"""
import ui
from ui import figspec


def agreement_figure(step, loss_scratch, loss_torch, max_abs_diff, eps):
    """Left: the two loss curves per step (torch.nn dashed on top of scratch). Right: max |W_scratch - W_nn.T| per
    step on a log axis (a gap of exactly 0 cannot be drawn there, so those steps are left out) and a dotted line at
    float32's rounding step `eps`. Plain dicts (ui.figspec): built with make_subplots it cost ~11 ms per rerun."""
    layout = figspec.grid(1, 2, subplot_titles=("Training loss per step (batch)",
                                                "max |W_scratch - W_nn.T| after each step (log scale)"))
    positive = [(s, v) for s, v in zip(step, max_abs_diff) if v > 0]
    data = [dict(type="scatter", x=step, y=loss_scratch, name="from scratch",
                 line=dict(color=ui.COLORS["scratch"], width=5), xaxis="x", yaxis="y"),
            dict(type="scatter", x=step, y=loss_torch, name="torch.nn",
                 line=dict(color=ui.COLORS["torch"], width=2, dash="dash"), xaxis="x", yaxis="y"),
            dict(type="scatter", x=[s for s, _ in positive], y=[v for _, v in positive], name="weight difference",
                 mode="lines+markers", marker=dict(size=4), line=dict(color=ui.COLORS["neutral"]),
                 xaxis="x2", yaxis="y2"),
            dict(type="scatter", x=[step[0], step[-1]], y=[eps, eps], mode="lines",
                 name=f"float32 rounding step near 1 ({eps:.1e})", line=dict(color=ui.COLORS["wrong"], dash="dot"),
                 xaxis="x2", yaxis="y2")]
    layout["yaxis2"].update(figspec.log_axis(exponentformat="e"))
    for name in ("xaxis", "xaxis2"):
        layout[name]["title"] = dict(text="step")
    layout.update(height=400, legend=dict(orientation="h", y=-0.2))
    return figspec.figure(data, **layout)
