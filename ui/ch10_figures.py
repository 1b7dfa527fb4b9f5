"""Page 10's figures (what torch.nn adds): the max |from scratch - torch| of every component as bars (page 11's
equivalence table draws the same bars) and the histograms of the hooked layer outputs.

Presentation only, every function takes what it draws as arguments: the numbers come from labs.ch10_torch_nn
(check_component, hook_samples) and labs.ch11_mastery (equivalence_table).
"""
import math

import ui
from ui import figspec

FLOOR = 1e-10   # the log axis starts here; an exact 0 is drawn as a diamond just right of it


def difference_bars(names, diffs, tol, tol_label, x_title, selected=None, title=None, xmax_floor=-3.0, pad=1.2):
    """One horizontal bar per row: max |from scratch - torch| (log axis, the tolerance `tol` as a dashed line
    labelled `tol_label`); exact zeros as diamonds at the left edge, green within `tol`, red above it.
    With `selected` (one of `names`) that row is in full colour and the others faded. The x axis ends at
    `pad` decades right of the largest bar (or of `tol`), at least at 10**xmax_floor.
    Plain dicts (ui.figspec): built with go.Figure, add_vline and update_* it cost ~8.5 ms per rerun."""
    colour = [ui.COLORS["correct"] if d <= tol else ui.COLORS["wrong"] for d in diffs]
    fade = [1.0 if selected is None or n == selected else 0.35 for n in names]
    zeros = [(n, f) for n, d, f in zip(names, diffs, fade) if d == 0]
    data = [dict(type="bar", y=list(names), x=[d if d > 0 else None for d in diffs], orientation="h",
                 name="max |difference|", marker=dict(color=colour, opacity=fade),
                 text=[f"{d:.1e}" if d > 0 else "" for d in diffs], textposition="outside"),
            dict(type="scatter", y=[n for n, _ in zeros], x=[FLOOR * 1.6] * len(zeros), mode="markers+text",
                 name="exactly 0", text=["exactly 0"] * len(zeros), textposition="middle right",
                 marker=dict(symbol="diamond", size=12, color=ui.COLORS["correct"], opacity=[f for _, f in zeros]))]
    shape, label = figspec.vline(tol, "x", "y", tol_label, color="black", dash="dash")
    top = max([d for d in diffs if d > 0], default=tol)
    layout = dict(shapes=[shape], annotations=[label], height=400, showlegend=False,
                  margin=dict(l=10, r=10, t=30, b=10),
                  xaxis=figspec.log_axis(range=[math.log10(FLOOR), max(xmax_floor, math.log10(max(top, tol)) + pad)],
                             title=dict(text=x_title)),
                  yaxis=dict(autorange="reversed"))
    if title:
        layout["title"] = dict(text=title)
    return figspec.figure(data, **layout)


def activation_histograms(values):
    """Overlaid histograms of hooked layer outputs [(name, numbers)], counts on a log axis.
    Plain dicts (ui.figspec): built with go.Figure and add_histogram it cost ~5.6 ms per rerun."""
    data = [dict(type="histogram", x=v, name=name, opacity=0.6, marker=dict(color=colour), nbinsx=80)
            for (name, v), colour in zip(values, ui.PALETTE)]
    return figspec.figure(data, barmode="overlay", height=320, xaxis=dict(title=dict(text="activation value")),
                          yaxis=figspec.log_axis(title=dict(text="count")))
