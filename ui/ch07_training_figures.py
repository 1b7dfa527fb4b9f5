"""Page 7's figures (live training): the decision-boundary picture, the loss / accuracy curves with the
previous run as a faint ghost, the hidden units, and the zoomable boundary with axes.

Presentation only, every function takes what it draws as arguments: the numbers come from
labs.ch07_training (grid_probs, hidden_unit_maps, the state's history). The picture and the curves are the
same whether the page is playing or paused: plain images (cheap to send ~14 times a second) and Vega-Lite
charts (they keep their place between frames; an Arrow table goes out as it is).
"""
import pyarrow as pa

import ui
from ui import figspec, pictures

TRAIN, TEST = ui.COLORS["forward"], ui.PALETTE[4]
GHOST = "previous run"


# The live pictures go out as JPEG data URIs (as st.image encodes an RGB array) inside the page's message: an image
# that st.image keeps in its media store is fetched by the browser afterwards, and at ~14 frames a second the next
# frame had already deleted it (the picture showed as a broken image while playing).
def boundary_image(probs, layer, class_rgb):
    """probs [n, n, C] (row = y) blended in the lightened class colours, the points layer laid over: a JPEG data URI
    of [S, S] pixels. Probabilities that are not numbers (a diverged network) are drawn as an even mix."""
    probs = probs.nan_to_num(nan=1.0 / probs.shape[-1])
    return pictures.jpeg_data_uri(pictures.boundary_frame(pictures.blend_class_colors(probs, class_rgb), layer))


def units_image(maps, cols=8):
    """Hidden-unit maps [U, n, n] as one sheet, each unit on its own blue-white-orange scale: a JPEG data URI."""
    return pictures.jpeg_data_uri(pictures.tile_pictures(pictures.unit_pictures(maps), cols=cols))


def curves_table(h, name, ghost=None):
    """Long table (step, value, line) of train_<name> and test_<name> from a history `h`; with `ghost` (the
    previous run's history) also its two lines, named 'previous run: train' / 'previous run: test'."""
    steps, values, lines = [], [], []
    for label, hist in (("", h), (f"{GHOST}: ", ghost)):
        if not hist:
            continue
        for part in ("train", "test"):
            ys = hist[f"{part}_{name}"]
            steps += hist["step"]
            values += ys
            lines += [label + part] * len(ys)
    return pa.table({"step": steps, "value": values, "line": lines})


def curve_spec(title, log, height=None, big=False, points=False, ghost=False, legend=False):
    """A Vega-Lite line chart of curves_table: train solid blue, test solid pink, the previous run (ghost=True)
    dashed and faint; the page says so in words (a legend squeezes the plot in a chart of fixed height).
    points=True marks each point (a curve of one point, at step 0, shows as a dot)."""
    domain = ["train", "test"] + ([f"{GHOST}: train", f"{GHOST}: test"] if ghost else [])
    y = {"field": "value", "type": "quantitative", "title": None}
    if log:
        y["scale"] = {"type": "log"}
        y["axis"] = {"tickCount": 4}
    else:
        y["scale"] = {"domain": [0, 1]}
        y["axis"] = {"format": ".0%", "tickCount": 3}
    size = 16 if big else 12
    height = height or (190 if big else 150)          # the whole chart: title, axes and plot
    key = {"legend": {"orient": "bottom", "columns": 2, "title": None}} if legend else {"legend": None}
    return {"height": height, "title": {"text": title, "fontSize": size, "anchor": "start"},
            "mark": {"type": "line", "strokeWidth": 3.5 if big else 2, "point": points},
            "config": {"axis": {"labelFontSize": size, "titleFontSize": size},
                       "legend": {"labelFontSize": size, "symbolStrokeWidth": 3}},
            "encoding": {"x": {"field": "step", "type": "quantitative", "title": None,
                               "axis": {"format": "d", "tickMinStep": 1, "tickCount": 4}},
                         "y": y,
                         "color": {"field": "line", "type": "nominal", **key,
                                   "scale": {"domain": domain, "range": [TRAIN, TEST, TRAIN, TEST][:len(domain)]}},
                         "strokeDash": {"field": "line", "type": "nominal", **key,
                                        "scale": {"domain": domain,
                                                  "range": [[1, 0], [1, 0], [5, 4], [5, 4]][:len(domain)]}},
                         "opacity": {"field": "line", "type": "nominal", **key,
                                     "scale": {"domain": domain, "range": [1, 1, 0.45, 0.45][:len(domain)]}}}}


def lr_table(h):
    """The learning rate along the run: Arrow table (step, lr)."""
    return pa.table({"step": h["step"], "lr": h["lr"]})


def lr_spec(height=90):
    """A small Vega-Lite chart of the learning rate (columns step, lr) along the run."""
    return {"height": height, "mark": {"type": "line", "color": ui.COLORS["neutral"]},
            "encoding": {"x": {"field": "step", "type": "quantitative"},
                         "y": {"field": "lr", "type": "quantitative", "title": "learning rate"}}}


def boundary_figure(probs, xs, ys, points, class_colors, class_rgb, class_names, axis_titles, same_units):
    """The decision boundary as a zoomable Plotly figure with axes.

    probs [n, n, C] from labs.ch07_training.grid_probs; xs, ys: its grid [n] in the data's units;
    points: {"train": (P [N, 2], y [N]), "test": (...)}; same_units: both axes in one unit (square cells).
    Plain dicts (ui.figspec): built with add_scatter and update_xaxes / update_yaxes it cost ~11 ms per draw, now
    ~0.7 ms, nearly all of it the PNG picture."""
    picture = pictures.png_data_uri(pictures.blend_class_colors(probs, class_rgb))
    dx, dy = (xs[1] - xs[0]).item(), (ys[1] - ys[0]).item()
    data = [dict(type="image", source=picture, x0=xs[0].item(), dx=dx, y0=ys[0].item(), dy=dy, hoverinfo="skip")]
    for k, name in enumerate(class_names):
        for part, symbol, show in (("train", "circle", True), ("test", "x", False)):
            P, y = points[part]
            pts = P[y == k]
            data.append(dict(type="scatter", x=pts[:, 0].tolist(), y=pts[:, 1].tolist(), mode="markers",
                             name=ui.plotly_plain(name), legendgroup=f"c{k}", showlegend=show,
                             marker=dict(color=class_colors[k], size=7 if part == "train" else 8, symbol=symbol,
                                         line=dict(color="black", width=0.6)),
                             hovertemplate=f"class {k} ({part})<extra></extra>"))
    xaxis = dict(range=[xs[0].item() - dx / 2, xs[-1].item() + dx / 2], showgrid=False,
                 title=dict(text=ui.plotly_plain(axis_titles[0])))   # names from a file: Plotly reads <a href> in them
    yaxis = dict(range=[ys[0].item() - dy / 2, ys[-1].item() + dy / 2], showgrid=False,
                 title=dict(text=ui.plotly_plain(axis_titles[1])), scaleanchor="x" if same_units else False,
                 autorange=False)
    return figspec.figure(data, xaxis=xaxis, yaxis=yaxis, legend=dict(orientation="h", y=-0.15), height=470)
