"""Page 4's figure and tables (computation graph): the ReLU mask and a small gradient printed as a table.

Presentation only, every function takes what it draws as arguments: the numbers come from labs.ch04_graph
(graph_demo's values and steps); ui/graphviz.py draws the graph itself.
"""
import pandas as pd

import ui
from ui import figspec


def relu_mask(z1, mask):
    """Heatmap of the ReLU mask [B, hidden] (1 where z1 > 0, in the forward blue), each cell labelled with its
    z1 when there are at most 64 of them. Plain dicts (ui.figspec), not go.Heatmap and update_layout."""
    heatmap = dict(type="heatmap", z=mask.numpy(), zmin=0, zmax=1, showscale=False,
                   colorscale=[[0, "#F7F7F7"], [1, ui.COLORS["forward"]]],
                   hovertemplate="example %{y}, hidden unit %{x}<br>z1 > 0: %{z}<extra></extra>")
    if z1.numel() <= 64:   # small: every cell shows its z1
        heatmap.update(text=[[f"{v:+.2f}" for v in row] for row in z1.tolist()], texttemplate="%{text}")
    return figspec.figure([heatmap], xaxis=dict(title=dict(text="hidden unit")),
                          yaxis=dict(title=dict(text="example in the batch"), autorange="reversed"),
                          height=max(220, min(480, 60 + 40 * z1.shape[0])))


def tensor_table(t):
    """A vector or matrix as a table with columns "0", "1", ... (a vector as one row)."""
    t = t.reshape(1, -1) if t.dim() == 1 else t
    return pd.DataFrame(t.numpy(), columns=[str(j) for j in range(t.shape[1])])
