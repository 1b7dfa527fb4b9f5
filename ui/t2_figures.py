"""Tutorial 002's figure (linear regression by hand): the data with both fitted lines, both loops' MSE per step
and both paths of (w, b).

Presentation only, it draws what it is given (labs.t2_linear_regression.train_manual's histories). Built as plain
dicts (ui.figspec), not with make_subplots and add_scatter / update_*: 22-32 ms -> 0.1 ms per rerun.
"""
import math

import ui
from ui import figspec


def _finite(values, positive=False):
    """Values a chart can draw; None (a gap) for inf, nan, beyond 1e9, and for <= 0 on a log scale."""
    return [v if math.isfinite(v) and abs(v) < 1e9 and (v > 0 or not positive) else None for v in values]


def runs_figure(x, y, right, wrong, forget, true_w, true_b):
    """Three plots side by side for the data (x, y) and the two runs `right` (with zero_()) and `wrong` (without):
    the data and each run's final line w x + b over x in [-1, 1] (left out where w or b is not finite); each run's
    MSE per step on a log axis (powers of ten only); each run's path of (w, b) with the true (w, b) as a black
    cross, both axes from -3 to 3 times the largest of |true w|, |true b| and 1. The run shown (`forget` picks
    `wrong`) is drawn wide and solid, the other thin (its line dotted)."""
    layout = figspec.grid(1, 3, subplot_titles=("Data and fitted line", "MSE per step (log scale)",
                                                "Path of (w, b)"))
    data = [dict(type="scatter", x=x, y=y, mode="markers", name="data",
                 marker=dict(color=ui.COLORS["neutral"], size=5), xaxis="x", yaxis="y")]
    xs = [-1.0, 1.0]
    for h, name, colour in ((right, "with zero_()", ui.COLORS["correct"]),
                            (wrong, "without zero_()", ui.COLORS["wrong"])):
        shown = (h is wrong) == forget
        if math.isfinite(h["final_w"]) and math.isfinite(h["final_b"]):
            data.append(dict(type="scatter", x=xs, y=[h["final_w"] * v + h["final_b"] for v in xs], mode="lines",
                             name=name, line=dict(color=colour, width=4 if shown else 2,
                                                  dash="solid" if shown else "dot"), xaxis="x", yaxis="y"))
        data.append(dict(type="scatter", y=_finite(h["loss"], positive=True), mode="lines", name=name,
                         line=dict(color=colour, width=3 if shown else 1.5), showlegend=False,
                         xaxis="x2", yaxis="y2"))
        data.append(dict(type="scatter", x=_finite(h["w"]), y=_finite(h["b"]), mode="lines+markers", name=name,
                         marker=dict(size=4), line=dict(color=colour), showlegend=False, xaxis="x3", yaxis="y3"))
    data.append(dict(type="scatter", x=[true_w], y=[true_b], mode="markers", name="true (w, b)",
                     marker=dict(symbol="x", size=14, color="black"), xaxis="x3", yaxis="y3"))
    layout["yaxis2"].update(type="log", dtick=1, minor=dict(showgrid=False, ticks=""))   # 1, 10, 100 only
    for name, title in (("xaxis", "x"), ("xaxis2", "step"), ("xaxis3", "w"), ("yaxis3", "b")):
        layout[name]["title"] = dict(text=title)
    span = max(abs(true_w), abs(true_b), 1.0) * 3
    layout["xaxis3"]["range"] = [-span, span]
    layout["yaxis3"]["range"] = [-span, span]
    layout.update(height=420, legend=dict(orientation="h", y=-0.2))
    return figspec.figure(data, **layout)
