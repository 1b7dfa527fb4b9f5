"""Tutorials 001 + 003's figures (binary classifier & your own activation): the classifier's P(class 1) over the
plane with the training points and its loss, and the activation you typed with its two derivatives.

Presentation only, every function takes what it draws as arguments; the numbers come from
labs.t3_binary_activation (the trained run's probability grid and history, the formula's derivative check).
Plain dicts (ui.figspec), not make_subplots and add_*/update_*.
"""
import ui
from ui import figspec


def classifier_figure(axis, grid, X, y, loss):
    """Left: P(class 1) on the grid `axis` x `axis` (grid [n, n], 0 blue .. 1 orange) with the points X [N, 2]
    coloured by their class y [N]; right: the BCE of each epoch (`loss`) on a log axis with ticks at 0.1, 1, 10
    only. Built with make_subplots and add_*/update_* it cost 14 ms per rerun, as dicts 0.016 ms."""
    layout = figspec.grid(1, 2, subplot_titles=("P(class 1) over the plane", "Loss per epoch"))
    data = [dict(type="heatmap", x=axis, y=axis, z=grid, zmin=0, zmax=1, colorscale=ui.DIVERGING, showscale=False,
                 xaxis="x", yaxis="y")]
    for label, colour in ((0, ui.COLORS["forward"]), (1, ui.COLORS["backward"])):
        pts = X[y == label]
        data.append(dict(type="scatter", x=pts[:, 0], y=pts[:, 1], mode="markers", name=f"class {label}",
                         marker=dict(color=colour, size=6, line=dict(color="black", width=0.5)),
                         xaxis="x", yaxis="y"))
    data.append(dict(type="scatter", y=loss, name="BCE", line=dict(color=ui.COLORS["wrong"]), xaxis="x2", yaxis="y2"))
    layout["xaxis"]["range"] = [-2, 2]
    layout["yaxis"]["range"] = [-2, 2]
    layout["yaxis2"].update(type="log", dtick=1, minor=dict(showgrid=False, ticks=""))   # 0.1, 1, 10 only
    layout.update(height=400, legend=dict(orientation="h", y=-0.12))
    return figspec.figure(data, **layout)


def activation_figure(x, f, symbolic, autograd):
    """f(x) and its derivative twice over x: sympy's (solid) and autograd's (black dots on top), y cut to [-3, 3]
    (go.Figure and add_scatter: 2 ms, dicts: 0.001 ms)."""
    return figspec.figure(
        [dict(type="scatter", x=x, y=f, name="f(x)", line=dict(color=ui.COLORS["forward"])),
         dict(type="scatter", x=x, y=symbolic, name="f'(x), sympy", line=dict(color=ui.COLORS["backward"])),
         dict(type="scatter", x=x, y=autograd, name="f'(x), autograd", line=dict(color="black", dash="dot"))],
        height=320, xaxis=dict(title=dict(text="x")), yaxis=dict(range=[-3, 3]))
