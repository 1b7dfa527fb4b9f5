"""Page 1's figures (raw tensors): the weight matrices as heatmaps, one hidden unit's weights as a 28 x 28 picture,
the bias b1, and the spread of the activations layer by layer for each initialisation.

Presentation only, every function takes what it draws as arguments: the numbers come from core.network (the four
tensors) and labs.ch01_raw_tensors (compare_inits). Each figure is written as plain dicts (ui.figspec, ui.imshow)
and sent as it is: go.Figure, add_hline and update_layout cost ~4 ms of server time per chart on every rerun.
"""
import ui
from ui import figspec


def weights_figure(w1, bound):
    """W1 [784, 128] as a heatmap, one column per hidden unit, on the diverging scale -bound..bound."""
    return ui.imshow(w1, colorscale=ui.DIVERGING, zmin=-bound, zmax=bound, aspect="auto",
                     labels=dict(x="hidden unit (column)", y="input pixel (row)", color="weight"),
                     title="W1 [784, 128]: one column per unit")


def unit_figure(picture, bound, unit):
    """Column `unit` of W1 reshaped to the 28 x 28 picture [28, 28] it weighs, on the scale -bound..bound."""
    return ui.imshow(picture, colorscale=ui.DIVERGING, zmin=-bound, zmax=bound,
                     title=f"W1[:, {unit}] as 28 x 28", hide_ticks=True)


def w2_figure(w2_t, bound):
    """W2 drawn as [10, 128] (one row per digit, every digit labelled) on the scale -bound..bound."""
    fig = ui.imshow(w2_t, colorscale=ui.DIVERGING, zmin=-bound, zmax=bound, aspect="auto",
                    labels=dict(x="hidden unit", y="digit", color="weight"), title="W2, drawn as [10, 128]")
    fig["layout"]["yaxis"].update(figspec.digit_axis())
    return fig


def bias_figure(b1, color):
    """The bias b1 [128] as bars, one per hidden unit."""
    return figspec.figure([dict(type="bar", y=b1, marker=dict(color=color))], title=dict(text="b1 [128]"),
                          xaxis=dict(title=dict(text="hidden unit")))


def spread_figure(runs, names, labels, colors):
    """The spread (std) of relu(h @ W) after each layer, one line per initialisation of `names` (runs[name]: rows
    of layer, std, finite; a layer past float32 is a gap), on a log axis ticked at powers of ten, with the
    input's spread 1 dotted."""
    data = [dict(type="scatter", x=[r["layer"] for r in runs[name]],
                 y=[r["std"] if r["finite"] else None for r in runs[name]], mode="lines+markers", name=labels[name],
                 line=dict(color=colors[name])) for name in names]
    line, label = figspec.hline(1.0, annotation_text="input spread 1", dash="dot", color=ui.COLORS["neutral"])
    return figspec.figure(data, shapes=[line], annotations=[label],
                          title=dict(text="Spread of the activations, layer by layer (log scale)"),
                          xaxis=dict(title=dict(text="layer")),
                          yaxis=figspec.log_axis(title=dict(text="std of relu(h @ W)")))
