"""ui.ch01_figures (page 1): plain dicts that draw exactly what the page drew with graph_objects before."""
import json

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
import plotly.utils

import ui
from labs import ch01_raw_tensors as lab
from ui import ch01_figures

INITS = ["kaiming", "xavier", "normal"]
LABELS = {name: f"{name} label" for name in INITS}
COLORS = {"kaiming": ui.COLORS["correct"], "xavier": ui.COLORS["forward"], "normal": ui.COLORS["wrong"]}


def _sent(fig):
    """The figure as the browser receives it (a dict as ui.plot sends it), keys sorted."""
    from ui import figspec
    spec = fig.to_dict() if isinstance(fig, go.Figure) else figspec.typed_arrays(fig)
    return json.dumps(spec, cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True)


def test_spread_figure_is_the_graph_objects_figure_with_gaps_at_overflow():
    runs = lab.compare_inits(INITS, depth=50, width=512, n_samples=128, seed=0)   # plain randn overflows: gaps
    theirs = go.Figure()
    for name in INITS:
        theirs.add_trace(go.Scatter(x=[r["layer"] for r in runs[name]],
                                    y=[r["std"] if r["finite"] else None for r in runs[name]],
                                    mode="lines+markers", name=LABELS[name], line=dict(color=COLORS[name])))
    theirs.add_hline(y=1.0, line_dash="dot", line_color=ui.COLORS["neutral"], annotation_text="input spread 1")
    theirs.update_layout(title="Spread of the activations, layer by layer (log scale)", xaxis_title="layer",
                         yaxis_title="std of relu(h @ W)")
    theirs.update_yaxes(type="log", dtick=1, minor=dict(showgrid=False, ticks=""))
    ours = ch01_figures.spread_figure(runs, INITS, LABELS, COLORS)
    assert type(ours) is dict
    assert _sent(ours) == _sent(theirs)
    assert None in ours["data"][2]["y"], "the plain-randn curve stops where float32 overflowed"


def test_w2_and_bias_figures_are_the_graph_objects_figures():
    w2_t = np.random.default_rng(1).standard_normal((10, 128)).astype(np.float32)
    theirs = px.imshow(w2_t, color_continuous_scale=ui.DIVERGING, zmin=-3, zmax=3, aspect="auto",
                       labels=dict(x="hidden unit", y="digit", color="weight"), title="W2, drawn as [10, 128]")
    theirs.update_yaxes(tickmode="linear", tick0=0, dtick=1)
    ours = go.Figure(ch01_figures.w2_figure(w2_t, 3)).to_dict()
    np.testing.assert_array_equal(ours["data"][0].pop("z"), theirs.to_dict()["data"][0]["z"])
    expected = theirs.to_dict()
    expected["data"][0].pop("z")
    assert ours == expected
    b1 = np.linspace(-1, 1, 128, dtype=np.float32)
    bars = go.Figure(go.Bar(y=b1, marker_color="#123456"))
    bars.update_layout(title="b1 [128]", xaxis_title="hidden unit")
    assert _sent(ch01_figures.bias_figure(b1, "#123456")) == _sent(bars)
