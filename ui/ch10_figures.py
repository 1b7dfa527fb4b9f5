"""Page 10's figures (what torch.nn adds): the max |from scratch - torch| of every component as bars (page 11's
equivalence table draws the same bars) and the histograms of the hooked layer outputs.

Presentation only, every function takes what it draws as arguments: the numbers come from labs.ch10_torch_nn
(check_component, hook_samples) and labs.ch11_mastery (equivalence_table).
"""
import math

import plotly.graph_objects as go

import ui

FLOOR = 1e-10   # the log axis starts here; an exact 0 is drawn as a diamond just right of it


def difference_bars(names, diffs, tol, tol_label, x_title, selected=None, title=None, xmax_floor=-3.0, pad=1.2):
    """One horizontal bar per row: max |from scratch - torch| (log axis, the tolerance `tol` as a dashed line
    labelled `tol_label`); exact zeros as diamonds at the left edge, green within `tol`, red above it.
    With `selected` (one of `names`) that row is in full colour and the others faded. The x axis ends at
    `pad` decades right of the largest bar (or of `tol`), at least at 10**xmax_floor."""
    colour = [ui.COLORS["correct"] if d <= tol else ui.COLORS["wrong"] for d in diffs]
    fade = [1.0 if selected is None or n == selected else 0.35 for n in names]
    fig = go.Figure()
    fig.add_bar(y=names, x=[d if d > 0 else None for d in diffs], orientation="h", name="max |difference|",
                marker=dict(color=colour, opacity=fade), text=[f"{d:.1e}" if d > 0 else "" for d in diffs],
                textposition="outside")
    zeros = [(n, f) for n, d, f in zip(names, diffs, fade) if d == 0]
    fig.add_scatter(y=[n for n, _ in zeros], x=[FLOOR * 1.6] * len(zeros), mode="markers+text", name="exactly 0",
                    text=["exactly 0"] * len(zeros), textposition="middle right",
                    marker=dict(symbol="diamond", size=12, color=ui.COLORS["correct"], opacity=[f for _, f in zeros]))
    fig.add_vline(x=tol, line_dash="dash", line_color="black", annotation_text=tol_label)
    ui.clean_log_axis(fig, axis="x")
    top = max([d for d in diffs if d > 0], default=tol)
    fig.update_xaxes(range=[math.log10(FLOOR), max(xmax_floor, math.log10(max(top, tol)) + pad)],
                     title_text=x_title)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=400, showlegend=False, margin=dict(l=10, r=10, t=30, b=10),
                      **({"title": title} if title else {}))
    return fig


def activation_histograms(values):
    """Overlaid histograms of hooked layer outputs [(name, numbers)], counts on a log axis."""
    fig = go.Figure()
    for (name, v), colour in zip(values, ui.PALETTE):
        fig.add_histogram(x=v, name=name, opacity=0.6, marker_color=colour, nbinsx=80)
    fig.update_layout(barmode="overlay", height=320, xaxis_title="activation value", yaxis_title="count")
    return ui.clean_log_axis(fig, axis="y")
