"""Page 2's figures (shape propagation): every tensor of the forward pass as a box of its shape, and image 0 of
the batch.

Presentation only, every function takes what it draws as arguments; the shapes come from labs.ch02_shapes
(trace_forward's steps, block_size's log2 sides). Plain dicts (ui.figspec), not go.Figure and update_*.
"""

import ui
from labs import ch02_shapes as lab
from ui import figspec


def tensor_blocks(blocks, big=False):
    """The forward pass as two rows of boxes, x @ W1 + b1 = z1 -> relu -> h and h @ W2 + b2 = logits -> softmax
    -> probs: each tensor of `blocks` ((name, [rows, cols]) pairs, as the page traced them) a box with sides on a
    log2 scale (lab.block_size), its name above and its shape below, the operators between; data blue, weights
    grey, a broadcast bias dotted orange. big: presenter mode's larger text. With go.Figure: 4.0 ms, as dicts:
    0.04 ms (the boxes' places included)."""
    kinds = {"W1": "weight", "W2": "weight", "b1 broadcast": "bias", "b2 broadcast": "bias"}
    rows = [["x", "W1", "x @ W1", "b1 broadcast", "z1", "h"],
            ["h", "W2", "h @ W2", "b2 broadcast", "logits", "probs"]]
    ops = {"W1": "@", "x @ W1": "=", "b1 broadcast": "+", "z1": "=", "h": "relu",
           "W2": "@", "h @ W2": "=", "b2 broadcast": "+", "logits": "=", "probs": "softmax"}
    shape_of = dict(blocks)
    fill = {"weight": ui.COLORS["neutral"], "bias": ui.COLORS["backward"], "data": ui.COLORS["forward"]}
    min_gap = 4.0     # between two boxes; an operator written as a word (relu, softmax) gets room for its letters
    rects, tx, ty, texts = [], [], [], []
    for r, names in enumerate(rows):
        top = -r * 17.0
        left = 0.0
        for j, name in enumerate(names):
            n_rows, n_cols = shape_of[name]
            w, h = lab.block_size(n_cols), lab.block_size(n_rows)
            kind = kinds.get(name, "data")
            if j > 0:
                gap = max(min_gap, 1.8 * len(ops.get(name, "")) + 1.0)
                left += gap
                if ops.get(name):
                    tx.append(left - gap / 2)
                    ty.append(top - 3)
                    texts.append(ops[name])
            rects.append(dict(type="rect", x0=left, x1=left + w, y0=top - h, y1=top, fillcolor=fill[kind],
                              opacity=0.35 if kind == "bias" else 0.6,
                              line=dict(color=fill[kind], width=2, dash="dot" if kind == "bias" else "solid")))
            tx += [left + w / 2, left + w / 2]
            ty += [top + 1.0, top - h - 1.0]
            texts += [f"<b>{name.replace(' broadcast', '')}</b>", f"[{n_rows}, {n_cols}]"]
            left += w
    words = dict(type="scatter", x=tx, y=ty, text=texts, mode="text", hoverinfo="skip",
                 textfont=dict(size=16 if big else 13))
    return figspec.figure([words], shapes=rects, height=480, showlegend=False,
                          title=dict(text="Every tensor of the forward pass (sides on a log2 scale)"),
                          xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x", scaleratio=1))


def image_figure(image):
    """One 28 x 28 image (0 white .. 1 black, row 0 at the top, square pixels, no axes).
    go.Figure and update_*: 5.2 ms, dicts: 0.001 ms."""
    heatmap = dict(type="heatmap", z=image, colorscale=figspec.colorscale("gray_r"),
                   showscale=False)
    return figspec.figure([heatmap], height=260, title=dict(text="Image 0 of the batch: row 0 of x"),
                          xaxis=dict(visible=False), yaxis=dict(autorange="reversed", visible=False, scaleanchor="x"))
