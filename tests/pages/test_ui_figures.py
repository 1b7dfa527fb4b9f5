"""ui's cheap figure builders draw exactly the figure the Plotly helper they replace would draw."""
import numpy as np
import plotly.express as px
import plotly.graph_objects as go
import pytest

import ui


@pytest.mark.parametrize("kwargs", [
    dict(aspect="auto", labels=dict(x="hidden unit (column)", y="input pixel (row)", color="weight"), title="W1"),
    dict(title="W1[:, 3] reshaped to 28 x 28"),
    dict(aspect="auto", labels=dict(x="hidden unit", y="digit", color="weight"), title="W2, drawn as [10, 128]"),
])
def test_imshow_is_px_imshow(kwargs):
    z = np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32)
    theirs = px.imshow(z, color_continuous_scale=ui.DIVERGING, zmin=-2.5, zmax=2.5, **kwargs).to_dict()
    fig = ui.imshow(z, colorscale=ui.DIVERGING, zmin=-2.5, zmax=2.5, **kwargs)
    assert type(fig) is dict   # plain dicts (ui.figspec): no go.Figure built on the server
    ours = go.Figure(fig).to_dict()
    np.testing.assert_array_equal(ours["data"][0].pop("z"), theirs["data"][0].pop("z"))
    assert ours == theirs


def test_imshow_hide_ticks_is_px_imshow_with_hidden_ticks():
    z = np.arange(6.0).reshape(2, 3)
    theirs = px.imshow(z, color_continuous_scale=ui.DIVERGING, zmin=-1, zmax=1, title="t")
    theirs.update_xaxes(showticklabels=False)
    theirs.update_yaxes(showticklabels=False)
    ours = ui.imshow(z, colorscale=ui.DIVERGING, zmin=-1, zmax=1, title="t", hide_ticks=True)
    assert type(ours) is dict
    assert go.Figure(ours).to_dict() == theirs.to_dict()


def _spec(fig):
    """The figure as the browser receives it, with keys sorted (the order they were set in does not matter)."""
    import json

    import plotly.utils
    return json.dumps(fig.to_dict(), cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True)


def _race_with_graph_objects(times, counts, controls):
    """Page 9's race as it was built before: go.Bar / go.Frame objects and update_layout. Its Play / Pause buttons
    and scrubber (`controls`: updatemenus and sliders) are the new figure's: those literal dicts moved unchanged;
    what is compared is how the bars, the frames and the layout around them are written."""
    import plotly.graph_objects as go

    def bars(k):
        return go.Bar(y=labels, x=[counts[lab][k] for lab in labels], orientation="h",
                      text=[f"{counts[lab][k]:,}" for lab in labels], textposition="outside",
                      marker_color=[ui.PALETTE[i % len(ui.PALETTE)] for i in range(len(labels))])
    labels = list(counts)
    top = max(c[-1] for c in counts.values()) * 1.15 + 1
    fig = go.Figure(data=[bars(0)], frames=[go.Frame(data=[bars(k)], name=str(k)) for k in range(len(times))])
    fig.update_layout(height=260 + 50 * len(labels), xaxis=dict(range=[0, top], title="samples trained"),
                      yaxis=dict(autorange="reversed", domain=[0.45, 1]), showlegend=False, **controls)
    return fig


def test_gpu_race_is_the_graph_objects_figure():
    import plotly.graph_objects as go

    from ui import ch09_figures
    times = [k * 0.25e-3 for k in range(42)]
    counts = {"CPU": [90 * k for k in range(42)], "GPU (model)": [900 * k for k in range(42)], "idle": [0] * 42}
    ours = ch09_figures.race_figure(times, counts)   # plain dicts (ui.figspec): go.Figure reads them as the browser
    controls = {key: ours["layout"][key] for key in ("updatemenus", "sliders")}
    assert len(controls["sliders"][0]["steps"]) == 42 and controls["sliders"][0]["steps"][41]["label"] == "10.2 ms"
    assert [step["args"][0] for step in controls["sliders"][0]["steps"]] == [[f["name"]] for f in ours["frames"]]
    assert [b["label"] for b in controls["updatemenus"][0]["buttons"]] == ["Play", "Pause"]
    assert _spec(go.Figure(ours)) == _spec(_race_with_graph_objects(times, counts, controls))
    assert len(ours["frames"]) == 42 and list(ours["frames"][41]["data"][0]["x"]) == [3690, 36900, 0]


def _digits_with_make_subplots(images, guesses, labels, title):
    """Tutorial 001's digit strip as it was built before: make_subplots, add_heatmap, update_*."""
    from plotly.subplots import make_subplots
    n = len(images)
    fig = make_subplots(rows=2, cols=(n + 1) // 2, horizontal_spacing=0.01, vertical_spacing=0.12,
                        subplot_titles=[f"guess {g}" for g in guesses])
    for i, img in enumerate(images):
        fig.add_heatmap(z=img, colorscale="Greys", showscale=False, row=i // ((n + 1) // 2) + 1,
                        col=i % ((n + 1) // 2) + 1)
    for ann, g, t in zip(fig.layout.annotations, guesses, labels):
        ann.font = dict(color=ui.COLORS["correct"] if g == t else ui.COLORS["wrong"], size=14)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    fig.update_layout(height=330, title=title, margin=dict(l=10, r=10, t=70, b=10))
    return fig


@pytest.mark.parametrize("n", [16, 5])
def test_digit_strip_is_the_make_subplots_figure(n):
    from ui import t1_figures
    rng = np.random.default_rng(n)
    images = [rng.integers(0, 256, (28, 28)) for _ in range(n)]
    guesses, labels = list(rng.integers(0, 10, n)), list(rng.integers(0, 10, n))
    guesses[0] = labels[0]                                   # one right (green), the others mostly wrong (red)
    import json

    import plotly.utils

    from ui import figspec
    ours = t1_figures.digits_strip(images, guesses, labels, "Before training")
    sent = json.dumps(figspec.typed_arrays(ours), cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True)   # as ui.plot
    assert sent == _spec(_digits_with_make_subplots(images, guesses, labels, "Before training"))   # unvalidated
    again = t1_figures.digits_strip(images[::-1], guesses[::-1], labels[::-1], "again")   # the cached grid is intact
    assert again["layout"]["annotations"][0]["text"] == f"guess {guesses[-1]}"
    assert again["layout"]["title"]["text"] == "again"


def _styled_with_graph_objects(fig, big, height):
    """ui.plot's styling as it was done before: update_layout and for_each_trace on the go.Figure itself."""
    fig.update_layout(colorway=ui.PALETTE, font=dict(size=20 if big else 14),
                      margin=dict(l=10, r=10, t=50 if fig.layout.title.text else 20, b=10),
                      **({"height": height} if height else {}))
    if big:
        fig.for_each_trace(lambda t: t.update(line_width=4 if t.line.width is None else t.line.width * 1.6),
                           selector=dict(type="scatter"))
    return fig


def _figures():
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    two = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    two.add_scatter(x=[0, 1, 2], y=[2.3, 1.1, 0.4], name="train", line=dict(width=2.5, dash="dot"), row=1, col=1)
    two.add_scatter(x=[0, 1, 2], y=[0.1, 0.5, 0.9], mode="markers", row=1, col=2)
    two.add_bar(x=["a", "b"], y=[1, 2], row=1, col=2)
    two.update_layout(font=dict(family="monospace", color="#333"), margin=dict(pad=4, t=99), title="Two panels")
    plain = go.Figure(go.Heatmap(z=[[1, 2], [3, 4]]))
    return [two, plain, go.Figure(ui.imshow(np.eye(3), colorscale=ui.DIVERGING, zmin=-1, zmax=1, title="I"))]


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("height", [None, 420])
def test_plot_styles_the_spec_exactly_as_update_layout_did(big, height):
    for before, after in zip(_figures(), _figures()):
        spec = before.to_dict()
        ours = ui.styled_spec(spec, big, height)
        assert spec == after.to_dict(), "the figure handed in is left as it was"
        assert ui.PlainFigure(ours).to_dict() is ours
        assert _spec(ui.PlainFigure(ours)) == _spec(_styled_with_graph_objects(after, big, height))


def test_plot_validates_dict_figures_in_the_tests():
    from ui import figspec
    assert figspec.VALIDATE, "tests/conftest.py turns the check on"
    with pytest.raises(ValueError, match="bogus"):
        ui.plot(figspec.figure([dict(type="scatter", y=[1, 2], bogus=1)]))


def test_figspec_helpers_write_what_graph_objects_write():
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from ui import figspec
    theirs = make_subplots(rows=2, cols=2, subplot_titles=("a", "b", "c", "d"))
    theirs.add_scatter(y=[1, 2], name="s", row=2, col=1)
    theirs.add_hline(y=0.5, line_dash="dot", line_color="#777", annotation_text="half", row=2, col=1)
    theirs.add_vline(x=1, line_width=3, annotation_text="one", row=2, col=1)
    theirs.update_layout(height=300)
    x, y = figspec.axes(2, 1, cols=2)
    layout = figspec.grid(2, 2, subplot_titles=("a", "b", "c", "d"))
    lines = [figspec.hline(0.5, x, y, "half", color="#777", dash="dot"), figspec.vline(1, x, y, "one", width=3)]
    layout.update(shapes=[s for s, _ in lines], annotations=layout["annotations"] + [a for _, a in lines], height=300)
    ours = figspec.figure([dict(type="scatter", y=[1, 2], name="s", xaxis=x, yaxis=y)], **layout)
    assert (x, y) == ("x3", "y3") and figspec.axis(layout, "y3") is layout["yaxis3"]
    assert _spec(ui.PlainFigure(ours)) == _spec(theirs)
    assert go.Figure(ours).to_dict() == theirs.to_dict()
    again = figspec.grid(2, 2, subplot_titles=("a", "b", "c", "d"))
    assert again["xaxis"] is not layout["xaxis"], "every call gets its own copy of the cached grid"


def test_dict_figures_send_numpy_arrays_as_to_dict_does():
    import plotly.graph_objects as go

    from ui import figspec
    z = np.arange(12, dtype=np.float32).reshape(3, 4)
    spec = figspec.figure([dict(type="heatmap", z=z, x=[1, 2, 3, 4]),
                           dict(type="bar", y=[1, 2, 3], marker=dict(color=np.arange(3)))],
                          xaxis=dict(range=[0.0, 5.0], tickvals=np.array([0.5, 1.5])))
    sent = figspec.typed_arrays(spec)
    assert sent == go.Figure(spec).to_dict(), "base64 typed arrays where to_dict() writes them, lists stay lists"
    assert sent["data"][0]["z"]["dtype"] == "f4" and sent["data"][0]["x"] == [1, 2, 3, 4]
    assert spec["data"][0]["z"] is z, "the figure handed in is left as it was"


@pytest.mark.parametrize("name", ["Greys", "gray_r", "Viridis", "Blues"])
def test_colorscale_is_what_graph_objects_writes_for_the_name(name):
    import plotly.graph_objects as go

    from ui import figspec
    theirs = go.Figure(go.Heatmap(z=[[0, 1]], colorscale=name)).to_dict()["data"][0]["colorscale"]
    ours = figspec.colorscale(name)
    assert ours == [list(stop) for stop in theirs] and all(isinstance(stop[1], str) for stop in ours)
    assert figspec.colorscale(name) is not ours, "a fresh list each call: a caller may change its copy"
