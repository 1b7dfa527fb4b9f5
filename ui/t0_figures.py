"""Tutorial 000's figures (your first neural network): the network built up branch by branch, the bias learning,
the residuals and the nn.Module version next to the loop.

Presentation only, every function takes what it draws as arguments; the numbers come from labs.t0_first_network
(`curve` is its dose_curve: doses and every intermediate value over them). Every figure is built as
plain dicts (ui.figspec), not with plotly.graph_objects: microseconds instead of milliseconds per rerun.
"""
import math

import ui
from ui import figspec


def _training_points(doses, effects):
    """The three training points as black diamonds."""
    return dict(type="scatter", x=list(doses), y=list(effects), mode="markers", name="training points",
                marker=dict(color="black", size=12, symbol="diamond"))


def build_figure(curve, params, k, doses, effects):
    """The first k of the four build steps over the doses: top branch, bottom branch, their sum, the output
    (earlier steps dotted once a later one is shown), with the training points.
    Plain dicts (ui.figspec): 2.7 ms -> 0.004 ms per build (go.Figure and add_scatter before)."""
    p, c = params, curve
    data = [dict(type="scatter", x=c["dose"], y=c["top_scaled"],
                 name=f"top: relu(dose*{p['w00']:g} + {p['b00']:g}) * {p['w01']:g}",
                 line=dict(color=ui.PALETTE[0], dash="dot" if k > 1 else "solid"))]
    if k >= 2:
        data.append(dict(type="scatter", x=c["dose"], y=c["bottom_scaled"], name=f"bottom: relu(dose*{p['w10']:g} + "
                         f"{p['b10']:g}) * {p['w11']:g}",
                         line=dict(color=ui.PALETTE[1], dash="dot" if k > 2 else "solid")))
    if k >= 3:
        data.append(dict(type="scatter", x=c["dose"], y=c["top_scaled"] + c["bottom_scaled"], name="top + bottom",
                         line=dict(color=ui.PALETTE[4], dash="dot" if k > 3 else "solid")))
    if k >= 4:
        data.append(dict(type="scatter", x=c["dose"], y=c["output"],
                         name=f"relu(top + bottom + {p['final_bias']:g}) = output",
                         line=dict(color=ui.COLORS["correct"], width=4)))
    data.append(_training_points(doses, effects))
    return figspec.figure(data, height=430, xaxis=dict(title=dict(text="dose")),
                          yaxis=dict(title=dict(text="value")), legend=dict(orientation="h", y=-0.2))


def training_figure(hist, target_bias):
    """The bias at the start of each epoch (the tutorial's value `target_bias` dotted) and each epoch's total
    squared error on a log axis (the 0.0001 stopping line dotted); values that are not finite are left out.
    Plain dicts (ui.figspec): built with make_subplots and add_hline it cost ~8 ms per rerun."""
    layout = figspec.grid(1, 2, subplot_titles=("Bias at the start of each epoch",
                                                "Total squared error per epoch (log scale)"))
    losses = [v if math.isfinite(v) and v > 0 else None for v in hist["loss"]]
    data = [dict(type="scatter", y=list(hist["bias"]), mode="lines+markers", name="final bias",
                 line=dict(color=ui.COLORS["forward"]), xaxis="x", yaxis="y"),
            dict(type="scatter", y=losses, mode="lines+markers", name="total squared error",
                 line=dict(color=ui.COLORS["wrong"]), xaxis="x2", yaxis="y2")]
    lines = [figspec.hline(target_bias, "x", "y", f"tutorial's {target_bias:g}", color=ui.COLORS["neutral"],
                           dash="dot"),
             figspec.hline(1e-4, "x2", "y2", "stop below 0.0001", color=ui.COLORS["neutral"], dash="dot")]
    layout["shapes"] = [shape for shape, _ in lines]
    layout["annotations"] += [label for _, label in lines]
    layout["yaxis2"].update(figspec.log_axis())
    for name in ("xaxis", "xaxis2"):
        layout[name]["title"] = dict(text="epoch")
    layout.update(height=360, showlegend=False)
    return figspec.figure(data, **layout)


def residuals_figure(curve, doses, effects, residuals):
    """The trained network over the doses, each training point's residual (target - prediction) as a red bar.
    Plain dicts (ui.figspec): 2.0 ms -> 0.002 ms per build."""
    data = [dict(type="scatter", x=curve["dose"], y=curve["output"], name="trained network",
                 line=dict(color=ui.COLORS["correct"]))]
    data += [dict(type="scatter", x=[d, d], y=[t, t - r], mode="lines", line=dict(color=ui.COLORS["wrong"], width=3),
                  showlegend=False) for d, t, r in zip(doses, effects, residuals)]
    data.append(_training_points(doses, effects))
    return figspec.figure(data, height=320, xaxis=dict(title=dict(text="dose")),
                          yaxis=dict(title=dict(text="effectiveness")))


def module_figure(curve, module_curve, doses, effects):
    """The hand-written loop's trained network (wide) under the nn.Module's (dashed) over the same doses.
    Plain dicts (ui.figspec): 2.3 ms -> 0.002 ms per build."""
    data = [dict(type="scatter", x=curve["dose"], y=curve["output"], name="hand-written loop's network",
                 line=dict(color=ui.COLORS["correct"], width=6)),
            dict(type="scatter", x=curve["dose"], y=module_curve, name="DoseNet after training: model(doses).detach()",
                 line=dict(color=ui.COLORS["forward"], dash="dash", width=3)),
            _training_points(doses, effects)]
    return figspec.figure(data, height=320, xaxis=dict(title=dict(text="dose")),
                          yaxis=dict(title=dict(text="effectiveness")), legend=dict(orientation="h", y=-0.25))
