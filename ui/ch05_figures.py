"""Page 5's figures (optimizer landscape): the map with each walk's path up to a step and its ball there, and the
loss curves grown to that step.

Presentation only, every function takes what it draws as arguments: the numbers come from labs.ch05_optimizers
(grid, map_heights, map_ranges, walks, classify). Each figure is written as plain dicts (ui.figspec) and sent as
it is: no go.Figure validates and copies it on every frame while the balls move.
"""

import numpy as np

import ui
from labs.ch05_optimizers import at_step
from ui import figspec


def race_map(xs, ys, heights, title, minima, start, walks, t, x_range, y_range):
    """The contour map heights [n, n] over (xs, ys) (colour bar `title`), the surface's lowest points `minima`,
    the start, and each walk of `walks` ({name: {"path" [k, 2], "verdict"}}) drawn up to step t with its ball
    there (a cross where a diverged walk stopped)."""
    greys = figspec.colorscale("Greys")   # the stops, not the name: plotly.js's own "Greys" runs the other way
    traces = [dict(type="contour", x=xs, y=ys, z=heights, colorscale=greys, reversescale=True, ncontours=30,
                   contours=dict(showlines=True), line=dict(width=0.5), opacity=0.75,
                   colorbar=dict(title=dict(text=title)), hoverinfo="skip", name="surface")]
    if minima:
        mx, my = zip(*minima)
        traces.append(dict(type="scatter", x=mx, y=my, mode="markers", name="lowest point",
                           marker=dict(symbol="star", size=16, color="white", line=dict(color="black", width=1))))
    traces.append(dict(type="scatter", x=[start[0]], y=[start[1]], mode="markers", name="start",
                       marker=dict(symbol="circle-open", size=16, color="black", line=dict(width=3))))
    for name, r in walks.items():
        color, k = ui.COLORS[name.lower()], at_step(r, t)
        path = r["path"][:k + 1]
        traces.append(dict(type="scatter", x=path[:, 0], y=path[:, 1], mode="lines+markers", name=name,
                           line=dict(color=color, width=2.5), marker=dict(size=4, color=color)))
        stopped = r["verdict"]["status"] == "diverged" and k == len(r["path"]) - 1
        traces.append(dict(type="scatter", x=path[-1:, 0], y=path[-1:, 1], mode="markers", showlegend=False,
                           name=f"{name} now", marker=dict(symbol="x" if stopped else "circle", size=16, color=color,
                                                           line=dict(color="black", width=1.5))))
    return figspec.figure(traces, height=460, xaxis=dict(range=x_range, title=dict(text="x")),
                          yaxis=dict(range=y_range, title=dict(text="y")),
                          legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))


def loss_curves(walks, t, steps, f_min):
    """Each walk's loss up to step t on a step axis 0..steps: f - f_min on a log axis when the surface has a
    lowest value f_min, else f on a linear axis."""
    log_y, curves = f_min is not None, []
    for name, r in walks.items():
        loss = r["loss"][:at_step(r, t) + 1]
        if log_y:
            loss = np.maximum(loss - f_min, 1e-16)  # a log axis cannot show exact zeros
        curves.append(dict(type="scatter", y=loss, mode="lines", name=name, showlegend=False,
                           line=dict(color=ui.COLORS[name.lower()], width=2.5)))
    yaxis = dict(title=dict(text="f - f_min" if log_y else "f"), type="log" if log_y else "linear")
    if log_y:
        yaxis = figspec.log_axis(**yaxis)
    return figspec.figure(curves, height=240, xaxis=dict(title=dict(text="step"), range=[0, steps]), yaxis=yaxis)
