"""Page 11's figures (mastery & dropout): hidden activations and dropout masks as heatmaps, and the running means
of dropout(h) with and without 1/(1 - p). The equivalence table's bars are page 10's ui.ch10_figures.difference_bars.

Presentation only, every function takes what it draws as arguments: the numbers come from
labs.ch11_mastery.dropout_demo.
"""
import plotly.graph_objects as go
from plotly.subplots import make_subplots

import ui


def heatmaps(panels, height=330):
    """Side-by-side heatmaps [(title, z, zmax or None for the 0/1 mask)] of 16 images x 128 hidden units."""
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[t for t, _, _ in panels], horizontal_spacing=0.05)
    for i, (_, z, top) in enumerate(panels, start=1):
        if top is None:
            fig.add_heatmap(z=z, zmin=0, zmax=1, colorscale=[[0, "#222222"], [1, "#F0F0F0"]], showscale=False,
                            row=1, col=i)
        else:
            fig.add_heatmap(z=z, zmin=0, zmax=top, colorscale="Viridis", showscale=i == len(panels), row=1, col=i)
    fig.update_xaxes(title_text="hidden unit")
    fig.update_yaxes(autorange="reversed")
    fig.update_yaxes(title_text="image", row=1, col=1)
    fig.update_layout(height=height)
    return fig


def running_means(scaled, unscaled, mean_h):
    """Running means of dropout(h) over more and more masks, with and without 1/(1 - p), and h's mean as a line."""
    fig = go.Figure()
    xs = list(range(1, len(scaled) + 1))
    fig.add_scatter(x=xs, y=scaled, name="with / (1 - p)  (inverted dropout)", line_color=ui.COLORS["correct"])
    fig.add_scatter(x=xs, y=unscaled, name="without the rescaling", line_color=ui.COLORS["wrong"], line_dash="dash")
    fig.add_hline(y=mean_h, line_dash="dot", line_color="black", annotation_text="mean of h (eval mode)")
    ui.clean_log_axis(fig, axis="x")
    fig.update_layout(height=330, xaxis_title="number of random masks averaged",
                      yaxis_title="running mean of dropout(h)", legend=dict(orientation="h", y=-0.25))
    return fig
