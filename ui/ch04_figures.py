"""Page 4's figure and tables (computation graph): the ReLU mask and a small gradient printed as a table.

Presentation only, every function takes what it draws as arguments: the numbers come from labs.ch04_graph
(graph_demo's values and steps); ui/graphviz.py draws the graph itself.
"""
import pandas as pd
import plotly.graph_objects as go

import ui


def relu_mask(z1, mask):
    """Heatmap of the ReLU mask [B, hidden] (1 where z1 > 0, in the forward blue), each cell labelled with its
    z1 when there are at most 64 of them."""
    small = z1.numel() <= 64
    fig = go.Figure(go.Heatmap(
        z=mask.numpy(), zmin=0, zmax=1, showscale=False,
        colorscale=[[0, "#F7F7F7"], [1, ui.COLORS["forward"]]],
        text=[[f"{v:+.2f}" for v in row] for row in z1.tolist()] if small else None,
        texttemplate="%{text}" if small else None,
        hovertemplate="example %{y}, hidden unit %{x}<br>z1 > 0: %{z}<extra></extra>"))
    fig.update_layout(xaxis_title="hidden unit", yaxis_title="example in the batch",
                      yaxis_autorange="reversed", height=max(220, min(480, 60 + 40 * z1.shape[0])))
    return fig


def tensor_table(t):
    """A vector or matrix as a table with columns "0", "1", ... (a vector as one row)."""
    t = t.reshape(1, -1) if t.dim() == 1 else t
    return pd.DataFrame(t.numpy(), columns=[str(j) for j in range(t.shape[1])])
