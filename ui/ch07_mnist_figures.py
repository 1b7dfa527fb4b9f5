"""Page 7b's figures (training on MNIST): the strip of sample digits, the accuracy curve that grows epoch by
epoch, the confusion matrix and the optimizer race.

Presentation only, every function takes what it draws as arguments: the numbers come from labs.ch07_mnist
(train_with_history's history, confusion, race, moving_average).
"""
import plotly.express as px
import plotly.graph_objects as go

import ui
from ui import pictures


def digit_strip(X, rows, cols=10, gap=4):
    """The images X[rows] (uint8 pixels [N, 784]) as dark ink on white, `cols` to a row: an RGB array."""
    ink = 255 - X[rows].reshape(-1, 28, 28, 1).expand(-1, 28, 28, 3)
    return pictures.tile_pictures(ink.contiguous(), cols=cols, gap=gap).numpy()


def accuracy_figure(hist, epochs):
    """Train and held-out accuracy after each epoch done, on an axis of all `epochs` (the curve grows along it)."""
    fig = go.Figure()
    ep = [h["epoch"] for h in hist]
    fig.add_trace(go.Scatter(x=ep, y=[h["train_acc"] for h in hist], mode="lines+markers",
                             name="train", line_color=ui.COLORS["forward"]))
    fig.add_trace(go.Scatter(x=ep, y=[h["test_acc"] for h in hist], mode="lines+markers",
                             name="held-out test", line_color=ui.COLORS["correct"]))
    fig.update_layout(title=f"Accuracy after each epoch: {len(hist)} of {epochs} done", xaxis_title="epoch",
                      yaxis_title="accuracy", yaxis_tickformat=".0%", xaxis_dtick=1,
                      xaxis_range=[0.5, epochs + 0.5], yaxis_range=[0, 1.02], legend=dict(orientation="h", y=-0.25))
    return fig


def confusion_figure(cm):
    """The [10, 10] confusion matrix (nested lists; row = true digit) with its counts, every digit labelled."""
    fig = px.imshow(cm, text_auto=True, color_continuous_scale="Blues",
                    labels=dict(x="predicted digit", y="true digit", color="images"),
                    x=list(range(10)), y=list(range(10)), title="Confusion matrix on the held-out images")
    return ui.digit_axis(ui.digit_axis(fig, "x"), "y")


def race_figure(curves, smoothed, names):
    """Training loss per step of each optimizer: `curves` {key: [loss]} thin and faint, `smoothed` {key: [loss]}
    thick; names[key] labels it, ui.COLORS[key] colours it."""
    fig = go.Figure()
    for name, losses in curves.items():
        steps = list(range(1, len(losses) + 1))
        fig.add_trace(go.Scatter(x=steps, y=losses, mode="lines", name=f"{names[name]} (each step)",
                                 line=dict(color=ui.COLORS[name], width=1), opacity=0.3, showlegend=False))
        fig.add_trace(go.Scatter(x=steps, y=smoothed[name], mode="lines",
                                 name=names[name], line=dict(color=ui.COLORS[name], width=3)))
    fig.update_layout(title="Training loss per step (thick: average of the last 20 steps)",
                      xaxis_title="step", yaxis_title="cross-entropy loss")
    return fig
