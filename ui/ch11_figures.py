"""Page 11's figures (mastery & dropout): hidden activations and dropout masks as heatmaps, and the running means
of dropout(h) with and without 1/(1 - p). The equivalence table's bars are page 10's ui.ch10_figures.difference_bars.

Presentation only, every function takes what it draws as arguments: the numbers come from
labs.ch11_mastery.dropout_demo.
"""
import ui
from ui import figspec


def heatmaps(panels, height=330):
    """Side-by-side heatmaps [(title, z, zmax or None for the 0/1 mask)] of 16 images x 128 hidden units.
    Plain dicts (ui.figspec): built with make_subplots and add_heatmap it cost ~8 ms per rerun."""
    layout = figspec.grid(1, len(panels), subplot_titles=[t for t, _, _ in panels], horizontal_spacing=0.05)
    data = []
    for i, (_, z, top) in enumerate(panels, start=1):
        x, y = figspec.axes(1, i, len(panels))
        if top is None:
            data.append(dict(type="heatmap", z=z, zmin=0, zmax=1, colorscale=[[0, "#222222"], [1, "#F0F0F0"]],
                             showscale=False, xaxis=x, yaxis=y))
        else:
            data.append(dict(type="heatmap", z=z, zmin=0, zmax=top, colorscale=figspec.colorscale("Viridis"),
                             showscale=i == len(panels), xaxis=x, yaxis=y))
        figspec.axis(layout, x)["title"] = dict(text="hidden unit")
        figspec.axis(layout, y)["autorange"] = "reversed"
    layout["yaxis"]["title"] = dict(text="image")
    layout["height"] = height
    return figspec.figure(data, **layout)


def running_means(scaled, unscaled, mean_h):
    """Running means of dropout(h) over more and more masks, with and without 1/(1 - p), and h's mean as a line.
    Plain dicts (ui.figspec): built with go.Figure, add_hline and update_layout it cost ~7 ms per rerun."""
    xs = list(range(1, len(scaled) + 1))
    data = [dict(type="scatter", x=xs, y=scaled, name="with / (1 - p)  (inverted dropout)",
                 line=dict(color=ui.COLORS["correct"])),
            dict(type="scatter", x=xs, y=unscaled, name="without the rescaling",
                 line=dict(color=ui.COLORS["wrong"], dash="dash"))]
    shape, label = figspec.hline(mean_h, "x", "y", "mean of h (eval mode)", color="black", dash="dot")
    return figspec.figure(
        data, shapes=[shape], annotations=[label], height=330, legend=dict(orientation="h", y=-0.25),
        xaxis=figspec.log_axis(title=dict(text="number of random masks averaged")),
        yaxis=dict(title=dict(text="running mean of dropout(h)")))
