"""ui's cheap figure builders draw exactly the figure the Plotly helper they replace would draw."""
import numpy as np
import plotly.express as px
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
    ours = ui.imshow(z, colorscale=ui.DIVERGING, zmin=-2.5, zmax=2.5, **kwargs).to_dict()
    np.testing.assert_array_equal(ours["data"][0].pop("z"), theirs["data"][0].pop("z"))
    assert ours == theirs


def test_imshow_hide_ticks_is_px_imshow_with_hidden_ticks():
    z = np.arange(6.0).reshape(2, 3)
    theirs = px.imshow(z, color_continuous_scale=ui.DIVERGING, zmin=-1, zmax=1, title="t")
    theirs.update_xaxes(showticklabels=False)
    theirs.update_yaxes(showticklabels=False)
    ours = ui.imshow(z, colorscale=ui.DIVERGING, zmin=-1, zmax=1, title="t", hide_ticks=True)
    assert ours.to_dict() == theirs.to_dict()


def _spec(fig):
    """The figure as the browser receives it, with keys sorted (the order they were set in does not matter)."""
    import json

    import plotly.utils
    return json.dumps(fig.to_dict(), cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True)


def _race_with_graph_objects(times, counts):
    """Page 9's race as it was built before: go.Bar / go.Frame objects and update_layout."""
    import plotly.graph_objects as go

    def bars(k):
        return go.Bar(y=labels, x=[counts[lab][k] for lab in labels], orientation="h",
                      text=[f"{counts[lab][k]:,}" for lab in labels], textposition="outside",
                      marker_color=[ui.PALETTE[i % len(ui.PALETTE)] for i in range(len(labels))])
    labels = list(counts)
    top = max(c[-1] for c in counts.values()) * 1.15 + 1
    fig = go.Figure(data=[bars(0)], frames=[go.Frame(data=[bars(k)], name=str(k)) for k in range(len(times))])
    fig.update_layout(
        height=260 + 50 * len(labels), xaxis=dict(range=[0, top], title="samples trained"),
        yaxis=dict(autorange="reversed", domain=[0.45, 1]), showlegend=False,
        updatemenus=[dict(type="buttons", direction="left", x=0, y=0.22, xanchor="left", yanchor="top", buttons=[
            dict(label="Play", method="animate", args=[None, dict(frame=dict(duration=100, redraw=True),
                                                                  fromcurrent=True, transition=dict(duration=0))]),
            dict(label="Pause", method="animate", args=[[None], dict(mode="immediate", frame=dict(duration=0))])])],
        sliders=[dict(active=0, x=0.18, len=0.82, y=0.3, yanchor="top", currentvalue=dict(prefix="elapsed: "),
                      steps=[dict(label=f"{t * 1e3:.1f} ms", method="animate",
                                  args=[[str(k)], dict(mode="immediate", frame=dict(duration=0, redraw=True))])
                             for k, t in enumerate(times)])])
    return fig


def test_gpu_race_is_the_graph_objects_figure():
    from ui import ch09_figures
    times = [k * 0.25e-3 for k in range(42)]
    counts = {"CPU": [90 * k for k in range(42)], "GPU (model)": [900 * k for k in range(42)], "idle": [0] * 42}
    ours = ch09_figures.race_figure(times, counts)
    assert _spec(ours) == _spec(_race_with_graph_objects(times, counts))
    assert len(ours.frames) == 42 and list(ours.frames[41].data[0].x) == [3690, 36900, 0]


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
    ours = t1_figures.digits_strip(images, guesses, labels, "Before training")
    assert _spec(ours) == _spec(_digits_with_make_subplots(images, guesses, labels, "Before training"))
    again = t1_figures.digits_strip(images[::-1], guesses[::-1], labels[::-1], "again")   # the cached grid is intact
    assert again.layout.annotations[0].text == f"guess {guesses[-1]}" and again.layout.title.text == "again"
