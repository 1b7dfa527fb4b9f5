"""Page 7b's figures (training on MNIST): the strip of sample digits, the accuracy curve that grows epoch by
epoch, the confusion matrix and the optimizer race.

Presentation only, every function takes what it draws as arguments: the numbers come from labs.ch07_mnist
(train_with_history's history, confusion, race, moving_average).
"""
import numpy as np

import ui
from ui import figspec, pictures


def digit_strip(X, rows, cols=10, gap=4):
    """The images X[rows] (uint8 pixels [N, 784]) as dark ink on white, `cols` to a row: an RGB array."""
    ink = 255 - X[rows].reshape(-1, 28, 28, 1).expand(-1, 28, 28, 3)
    return pictures.tile_pictures(ink.contiguous(), cols=cols, gap=gap).numpy()


def accuracy_figure(hist, epochs):
    """Train and held-out accuracy after each epoch done, on an axis of all `epochs` (the curve grows along it).
    Plain dicts (ui.figspec): built with go.Figure, add_trace and update_layout it cost ~4 ms per epoch drawn."""
    ep = [h["epoch"] for h in hist]
    data = [dict(type="scatter", x=ep, y=[h["train_acc"] for h in hist], mode="lines+markers", name="train",
                 line=dict(color=ui.COLORS["forward"])),
            dict(type="scatter", x=ep, y=[h["test_acc"] for h in hist], mode="lines+markers", name="held-out test",
                 line=dict(color=ui.COLORS["correct"]))]
    return figspec.figure(data, title=dict(text=f"Accuracy after each epoch: {len(hist)} of {epochs} done"),
                          xaxis=dict(title=dict(text="epoch"), dtick=1, range=[0.5, epochs + 0.5]),
                          yaxis=dict(title=dict(text="accuracy"), tickformat=".0%", range=[0, 1.02]),
                          legend=dict(orientation="h", y=-0.25))


def confusion_figure(cm):
    """The [10, 10] confusion matrix (nested lists; row = true digit) with its counts, every digit labelled.
    Plain dicts (ui.figspec), the figure px.imshow(cm, text_auto=True, color_continuous_scale="Blues", ...) and
    ui.digit_axis drew: that cost ~15 ms per rerun (every digit labelled: figspec.digit_axis)."""
    digits = list(range(10))
    heatmap = dict(type="heatmap", z=np.asarray(cm), x=digits, y=digits, coloraxis="coloraxis", name="0",
                   texttemplate="%{z}", xaxis="x", yaxis="y",
                   hovertemplate="predicted digit: %{x}<br>true digit: %{y}<br>images: %{z}<extra></extra>")
    return figspec.figure(
        [heatmap], title=dict(text="Confusion matrix on the held-out images"),
        xaxis=figspec.digit_axis(anchor="y", domain=[0.0, 1.0], scaleanchor="y", constrain="domain",
                                 title=dict(text="predicted digit")),
        yaxis=figspec.digit_axis(anchor="x", domain=[0.0, 1.0], autorange="reversed", constrain="domain",
                                 title=dict(text="true digit")),
        coloraxis=dict(colorbar=dict(title=dict(text="images")), colorscale=figspec.colorscale("Blues"),
                       autocolorscale=False))


def race_figure(curves, smoothed, names):
    """Training loss per step of each optimizer: `curves` {key: [loss]} thin and faint, `smoothed` {key: [loss]}
    thick; names[key] labels it, ui.COLORS[key] colours it. Plain dicts (ui.figspec): built with go.Figure,
    add_trace and update_layout it cost ~5 ms per rerun."""
    data = []
    for name, losses in curves.items():
        steps = list(range(1, len(losses) + 1))
        data += [dict(type="scatter", x=steps, y=list(losses), mode="lines", name=f"{names[name]} (each step)",
                      line=dict(color=ui.COLORS[name], width=1), opacity=0.3, showlegend=False),
                 dict(type="scatter", x=steps, y=list(smoothed[name]), mode="lines", name=names[name],
                      line=dict(color=ui.COLORS[name], width=3))]
    return figspec.figure(data, title=dict(text="Training loss per step (thick: average of the last 20 steps)"),
                          xaxis=dict(title=dict(text="step")), yaxis=dict(title=dict(text="cross-entropy loss")))
