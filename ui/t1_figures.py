"""Tutorial 001's figure (custom layer & a deeper MLP): the strip of held-out digits with the untrained network's
guesses. Presentation only: it draws what it is given (labs.t1_custom_layer_mlp.untrained_guesses)."""
import functools
import json

import plotly.graph_objects as go
from plotly.subplots import make_subplots

import ui


@functools.lru_cache(maxsize=8)
def _grid_layout(n):
    """make_subplots' own axes and title positions for n digits in 2 rows, as JSON (computed once per n; each
    caller decodes its own copy, so nobody changes the cached one)."""
    grid = make_subplots(rows=2, cols=(n + 1) // 2, horizontal_spacing=0.01, vertical_spacing=0.12,
                         subplot_titles=[" "] * n)
    return json.dumps(grid.to_dict()["layout"])


def digits_strip(images, guesses, labels, title):
    """A strip of digits (2 rows), each titled with the network's guess (green right, red wrong).

    The grid's geometry comes from make_subplots once; the figure itself is one constructor of dicts (building it
    with make_subplots, add_heatmap and update_* cost ~60 ms of server time on every rerun of the page)."""
    layout = json.loads(_grid_layout(len(images)))
    for ann, g, t in zip(layout["annotations"], guesses, labels):
        ann.update(text=f"guess {g}", font=dict(color=ui.COLORS["correct"] if g == t else ui.COLORS["wrong"], size=14))
    for name, axis in layout.items():
        if name.startswith("xaxis"):
            axis["visible"] = False
        elif name.startswith("yaxis"):
            axis.update(visible=False, autorange="reversed", scaleanchor="x")
    layout.update(height=330, title=dict(text=title), margin=dict(l=10, r=10, t=70, b=10))
    data = [dict(type="heatmap", z=img, colorscale="Greys", showscale=False,
                 xaxis=f"x{i + 1 if i else ''}", yaxis=f"y{i + 1 if i else ''}") for i, img in enumerate(images)]
    return go.Figure(dict(data=data, layout=layout))
