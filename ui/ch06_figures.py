"""Page 6's figures and their words (shuffling & batching): the loader's items moving from their stored places
through the shuffle into mini-batches, the loss curves of the three orders of examples, and the batch-size sweep.

Presentation only, every function takes what it draws as arguments: the numbers come from labs.ch06_batching
(loader_stages, stage_positions, train_ordering, train_batch_size). Each figure is written as plain dicts
(ui.figspec) and sent as it is: no go.Figure validates and copies it on every frame of the animation.
"""
import ui
from ui import figspec

ITEMS_HEIGHT = 420   # pixels: the loader's picture


def loader_figure(xy, t, labels, batches, extent, height=ITEMS_HEIGHT):
    """The items (squares coloured by class, labelled by index) at xy = (x [N], y [N]), their places at animation
    time t (labs.ch06_batching.stage_positions: 0 stored, 1 shuffled, 2 sliced into `batches`); extent = the
    largest (x, y) of any stage, so the picture keeps its scale while the items move. The batch frames and
    names fade in over the last half step."""
    (x, y), (max_x, max_y), n = xy, extent, len(labels)
    size = max(6.0, min(34.0, 0.72 * (height - 70) / (max_y + 1), 0.72 * 620 / (max_x + 3)))
    items = dict(type="scatter", x=x, y=y, mode="markers+text" if size >= 16 else "markers",
                 text=[str(i) for i in range(n)], textfont=dict(color="white", size=max(9, int(size * 0.42))),
                 marker=dict(symbol="square", size=size, color=[ui.PALETTE[int(c)] for c in labels]),
                 hovertext=[f"item {i}, class {int(c)}" for i, c in enumerate(labels)], hoverinfo="text",
                 showlegend=False)
    legend = [dict(type="scatter", x=[None], y=[None], mode="markers", name=f"class {c}",   # one entry per colour
                   marker=dict(symbol="square", size=12, color=ui.PALETTE[c])) for c in sorted(set(map(int, labels)))]
    layout = dict(height=height, legend=dict(orientation="h", y=0, yanchor="top"), hovermode="closest",
                  xaxis=dict(range=[-2.6, max_x + 0.6], visible=False, fixedrange=True),
                  yaxis=dict(range=[max_y + 0.6, -0.6], visible=False, fixedrange=True))
    if t > 1.5:   # the cut: each batch framed and named, fading in as the items arrive
        fade = min(1.0, (t - 1.5) * 2)
        layout["shapes"] = [dict(type="rect", x0=-0.5, x1=len(b) - 0.5, y0=k - 0.5, y1=k + 0.5, opacity=fade,
                                 line=dict(color="#333333", width=1.5)) for k, b in enumerate(batches)]
        if len(batches) <= 20:   # names only where they fit
            layout["annotations"] = [dict(x=-0.6, y=k, text=f"batch {k}", showarrow=False, xanchor="right",
                                          opacity=fade) for k in range(len(batches))]
    return figspec.figure([items, *legend], **layout)


def stage_text(t, n, seed, shuffle, batches):
    """What the loader is doing at animation time t (0 stored, up to 1 shuffling, above 1 slicing), in words."""
    if t == 0:
        return (f"**Stored:** the {n} items as they lie on disk, sorted by class. Press **Play**: a loader first "
                "shuffles, then slices.")
    if t <= 1:
        return (f"**Step 1 of 2 · Shuffle:** `torch.randperm({n})` with seed {seed} gives every item a new place."
                if shuffle else "**Step 1 of 2 · Shuffle is off:** every item keeps its stored place.")
    return (f"**Step 2 of 2 · Slice:** places 0 to {len(batches[0]) - 1} become batch 0, the next {len(batches[0])} "
            f"batch 1, and so on: {len(batches)} batches, the last one {len(batches[-1])} items.")


def ordering_curves_figure(curves, colours, per_epoch, epochs):
    """The loss on the whole training set after every step, one line per order of examples ({name: curve} from
    labs.ch06_batching.train_ordering; "shuffled once" dashed), dotted lines at the epoch boundaries."""
    data = [dict(type="scatter", y=curve["loss"], name=ordering, mode="lines",
                 line=dict(color=colours[ordering], dash="dash" if ordering == "shuffled once" else "solid"))
            for ordering, curve in curves.items()]
    bounds = [dict(type="line", x0=e * per_epoch, x1=e * per_epoch, y0=0, y1=1, yref="paper",
                   line=dict(color="#bbbbbb", dash="dot", width=1)) for e in range(1, epochs)]
    layout = dict(height=400, xaxis=dict(title=dict(text=f"step ({per_epoch} steps per epoch)")),
                  yaxis=dict(title=dict(text="loss on all 300 training points")), legend=dict(orientation="h", y=-0.2))
    if bounds:   # one epoch: no boundary (go.Figure left an empty list out too)
        layout["shapes"] = bounds
    return figspec.figure(data, **layout)


def _sweep_axis(sizes):
    """A log axis ticked at the batch sizes themselves."""
    return dict(type="log", tickvals=sizes, ticktext=[f"{b:,}" for b in sizes], title=dict(text="batch size"))


def sweep_loss_figure(rows):
    """Final loss and the batch-to-batch spread of the loss against batch size (rows of train_batch_size)."""
    sizes = [r["batch_size"] for r in rows]
    data = [dict(type="scatter", x=sizes, y=[r["final_loss"] for r in rows], mode="lines+markers",
                 name="final loss (all points)", line=dict(color=ui.COLORS["forward"])),
            dict(type="scatter", x=sizes, y=[r["loss_spread"] for r in rows], mode="lines+markers",
                 name="batch-to-batch spread of the loss", line=dict(color=ui.COLORS["backward"], dash="dot"))]
    return figspec.figure(data, title=dict(text="Loss after the same number of epochs"), height=380,
                          xaxis=_sweep_axis(sizes), yaxis=dict(title=dict(text="cross-entropy")),
                          legend=dict(orientation="h", y=-0.3))


def sweep_speed_figure(rows):
    """Updates per second, measured, against batch size (rows of train_batch_size)."""
    sizes = [r["batch_size"] for r in rows]
    data = [dict(type="scatter", x=sizes, y=[r["steps_per_s"] for r in rows], mode="lines+markers",
                 name="updates per second", line=dict(color=ui.COLORS["neutral"]))]
    return figspec.figure(data, title=dict(text="Updates per second, measured on this server"), height=380,
                          xaxis=_sweep_axis(sizes),
                          yaxis=dict(title=dict(text="updates per second"), rangemode="tozero"))
