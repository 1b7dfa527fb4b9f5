"""Figures written as Plotly's plain dicts, {"data": [trace, ...], "layout": {...}}, instead of built with
plotly.graph_objects.

A go.Figure validates and copies on every change: make_subplots alone costs ~5 ms of server time, each
add_scatter, add_hline or update_layout 0.3-1 ms, and a class pays that on every rerun of every student.
The same figure as dicts costs microseconds, and ui.plot sends it as it is (ui.PlainFigure). The price is
that nothing checks the dicts: a misspelt property would be dropped silently by the browser. So the tests
switch the check back on ($VALIDATE_FIGURES=1, set by tests/conftest.py for AppTest and the servers it starts:
ui.plot then builds a go.Figure from every dict figure a page draws, which raises on anything Plotly does not
know).

The helpers give what graph_objects would have written, so a figure reads the same either way:
    figure(data, **layout)        a figure with the app's Plotly template (what go.Figure adds by itself)
    grid(rows, cols, **kwargs)    make_subplots' layout: each plot's axes and the subplot titles
    axes(row, col, cols)          the axis names of one plot of a grid: ("x", "y"), ("x2", "y2"), ...
    hline(y, xaxis, yaxis, ...)   add_hline's line (and its annotation) across one plot; vline the same upright
    log_axis(**axis)              a log axis ticked at powers of ten only; digit_axis: ticks 0, 1, ..., 9
    colorscale(name)              a named Plotly colour scale as the stops go.Figure writes (never send the name)
"""
import functools
import json
import os

VALIDATE = os.environ.get("VALIDATE_FIGURES") == "1"  # the tests' switch: ui.plot validates every dict figure


@functools.lru_cache(maxsize=1)
def template():
    """The Plotly template go.Figure writes into every figure's layout (Streamlit's, which its chart theme
    recolours in the browser). One shared dict: read, never changed."""
    import plotly.graph_objects as go
    return go.Figure().to_dict()["layout"].get("template")


def figure(data, **layout):
    """A figure of these traces (dicts with "type") and this layout, as go.Figure(data, layout).to_dict()
    would write it."""
    shared = template()
    return {"data": list(data), "layout": {**({"template": shared} if shared is not None else {}), **layout}}


@functools.lru_cache(maxsize=32)
def _grid_json(key):
    from plotly.subplots import make_subplots
    rows, cols, kwargs = json.loads(key)
    layout = make_subplots(rows=rows, cols=cols, **kwargs).to_dict()["layout"]
    layout.pop("template", None)
    return json.dumps(layout)


def grid(rows, cols, **kwargs):
    """make_subplots(rows, cols, **kwargs)'s layout as fresh dicts (computed once per arguments, then copied):
    the axes of every plot ("xaxis", "xaxis2", ... with their domains and anchors) and, with subplot_titles,
    one annotation per title. The template is added by figure()."""
    return json.loads(_grid_json(json.dumps([rows, cols, kwargs], sort_keys=True)))


def axes(row, col, cols):
    """The axis names of the plot at (row, col), counted from 1, in a grid `cols` wide: ("x", "y") for the
    first, then ("x2", "y2"), ... row by row, as make_subplots numbers them (and traces refer to them)."""
    n = (row - 1) * cols + col
    suffix = "" if n == 1 else str(n)
    return "x" + suffix, "y" + suffix


def axis(layout, name):
    """layout's axis called `name` ("x", "y2", ...) as its layout key says it ("xaxis", "yaxis2"), made if missing."""
    return layout.setdefault(name[0] + "axis" + name[1:], {})


@functools.lru_cache(maxsize=16)
def _colorscale_json(name):
    from _plotly_utils.basevalidators import ColorscaleValidator
    return json.dumps([list(stop) for stop in ColorscaleValidator("colorscale", "heatmap").validate_coerce(name)])


def colorscale(name):
    """Plotly's colour scale `name` ("Greys", "Viridis", "gray_r", ...) as the [position, colour] stops go.Figure
    writes for it (the same validator, computed once per name; a fresh list each call). Send these, never the
    name: plotly.js has scales of its own under some of the same names ("Greys" runs black to white there, white
    to black in Plotly's Python), so the name alone would draw other colours."""
    return json.loads(_colorscale_json(name))


def log_axis(**axis):
    """An axis dict: log scale with ticks at powers of ten only (1, 10, 100, not '2 5 2 5' between them)."""
    return {"type": "log", "dtick": 1, "minor": {"showgrid": False, "ticks": ""}, **axis}


def digit_axis(**axis):
    """An axis dict for the ten digit classes: every tick 0, 1, ..., 9 labelled."""
    return {"tickmode": "linear", "tick0": 0, "dtick": 1, **axis}


def hline(y, xaxis="x", yaxis="y", annotation_text=None, **line):
    """What fig.add_hline(y, line_dash=..., line_color=..., annotation_text=...) adds to one plot: a shape (a line
    across the plot's whole width) and, with annotation_text, its label at the top right. Returns
    (shape, annotation or None); line: dash, color, width."""
    shape = {"type": "line", "x0": 0, "x1": 1, "xref": f"{xaxis} domain", "y0": y, "y1": y, "yref": yaxis}
    if line:
        shape["line"] = line
    label = None
    if annotation_text is not None:
        label = {"showarrow": False, "text": annotation_text, "x": 1, "xanchor": "right", "xref": f"{xaxis} domain",
                 "y": y, "yanchor": "bottom", "yref": yaxis}
    return shape, label


def vline(x, xaxis="x", yaxis="y", annotation_text=None, **line):
    """What fig.add_vline(x, ...) adds to one plot: a line across the plot's whole height (and its label at the
    top right, with annotation_text). Returns (shape, annotation or None), as hline."""
    shape = {"type": "line", "x0": x, "x1": x, "xref": xaxis, "y0": 0, "y1": 1, "yref": f"{yaxis} domain"}
    if line:
        shape["line"] = line
    label = None
    if annotation_text is not None:
        label = {"showarrow": False, "text": annotation_text, "x": x, "xanchor": "left", "xref": xaxis,
                 "y": 1, "yanchor": "top", "yref": f"{yaxis} domain"}
    return shape, label


_NOT_ARRAYS = {"geojson", "layer", "layers", "range"}  # keys whose arrays Plotly sends as they are


def typed_arrays(spec):
    """The figure with each numpy array (or tensor) in it written as Plotly's typed array (base64 of the raw
    numbers, about a third of their JSON), as go.Figure.to_dict() writes them. The dicts on the way are copied,
    `spec` is left as it was; lists of numbers are not walked (only lists of dicts: traces, shapes, ...)."""
    from _plotly_utils.utils import is_homogeneous_array, to_typed_array_spec
    if isinstance(spec, dict):
        return {key: value if key in _NOT_ARRAYS else typed_arrays(value) for key, value in spec.items()}
    if isinstance(spec, list) and spec and isinstance(spec[0], dict):
        return [typed_arrays(item) for item in spec]
    if not isinstance(spec, (list, tuple, str, int, float)) and spec is not None and is_homogeneous_array(spec):
        return to_typed_array_spec(spec)
    return spec
