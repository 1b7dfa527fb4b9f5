"""Tutorial 001's figures (custom layer & a deeper MLP): the strip of held-out digits with the untrained network's
guesses, and the training and held-out accuracy per epoch. Presentation only: they draw what they are given
(labs.t1_custom_layer_mlp.untrained_guesses, train_epochs' rows), as plain dicts (ui.figspec)."""

import ui
from ui import figspec


def digits_strip(images, guesses, labels, title):
    """A strip of digits (2 rows), each titled with the network's guess (green right, red wrong).

    The grid's geometry comes from make_subplots once (ui.figspec.grid); the figure itself is plain dicts (building
    it with make_subplots, add_heatmap and update_* cost ~60 ms of server time on every rerun of the page, a
    go.Figure of the same dicts 8-23 ms, the dicts alone 0.05 ms)."""
    n = len(images)
    layout = figspec.grid(2, (n + 1) // 2, horizontal_spacing=0.01, vertical_spacing=0.12, subplot_titles=[" "] * n)
    for ann, g, t in zip(layout["annotations"], guesses, labels):
        ann.update(text=f"guess {g}", font=dict(color=ui.COLORS["correct"] if g == t else ui.COLORS["wrong"], size=14))
    for name, axis in layout.items():
        if name.startswith("xaxis"):
            axis["visible"] = False
        elif name.startswith("yaxis"):
            axis.update(visible=False, autorange="reversed", scaleanchor="x")
    layout.update(height=330, title=dict(text=title), margin=dict(l=10, r=10, t=70, b=10))
    greys = figspec.colorscale("Greys")   # one fresh copy per figure, shared by its digits
    data = [dict(type="heatmap", z=img, colorscale=greys, showscale=False,
                 xaxis=f"x{i + 1 if i else ''}", yaxis=f"y{i + 1 if i else ''}") for i, img in enumerate(images)]
    return figspec.figure(data, **layout)


def accuracy_figure(epochs, train_acc, test_acc):
    """Training and held-out accuracy per epoch, the band between them (the overfitting gap) shaded.
    Plain dicts: 2.3 ms -> 0.002 ms per build (go.Figure, add_scatter and update_layout in the page before)."""
    data = [dict(type="scatter", x=epochs, y=train_acc, name="training images", line=dict(color=ui.COLORS["forward"])),
            dict(type="scatter", x=epochs, y=test_acc, name="held-out images", line=dict(color=ui.COLORS["backward"]),
                 fill="tonexty", fillcolor="rgba(213,94,0,0.12)")]
    return figspec.figure(data, xaxis=dict(title=dict(text="epoch")),
                          yaxis=dict(title=dict(text="accuracy"), tickformat=".0%"), height=380,
                          title=dict(text="The shaded band is the overfitting gap"),
                          legend=dict(orientation="h", y=-0.2))
