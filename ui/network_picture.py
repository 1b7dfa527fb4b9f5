"""The home page's picture: a 784-128-10 network drawn from its own tensors.

Each layer is a column of units (a few of the 784 inputs and 128 hidden units, all 10 outputs), each line a
real weight of the network it is given: blue for a negative weight, orange for a positive one, thicker for a
larger |w|. The labels say each layer's width and each weight matrix's shape and count, read from the tensors.
"""
from core import network
from ui import COLORS, figspec

SHOWN = (12, 10, 10)   # units drawn per layer (inputs, hidden, outputs); the rest are "..."


def _rows(n_total, n_shown):
    """y positions of the drawn units, top to bottom, and whether a '...' gap is needed."""
    n = min(n_total, n_shown)
    return [1 - (i + 0.5) / n for i in range(n)], n_total > n


def network_figure(params, layer_names=("pixels", "hidden (ReLU)", "digit scores")):
    """Plotly figure of an MLP given as core.network params [{W [in, out], b [out]}, ...]. Plain dicts
    (ui.figspec): built with go.Figure, add_trace, add_annotation and update_* it cost ~11 ms on every
    rerun of the home page, now ~0.1 ms."""
    sizes = network.layer_sizes(params)                  # e.g. [784, 128, 10]
    xs = [i / (len(sizes) - 1) for i in range(len(sizes))]
    ys = [_rows(n, SHOWN[min(i, len(SHOWN) - 1)]) for i, n in enumerate(sizes)]
    data, annotations = [], []
    for k, layer in enumerate(params):                   # the weights between layer k and k+1
        W = layer["W"].detach()                          # [in, out]
        y_in, y_out = ys[k][0], ys[k + 1][0]
        w = W[:len(y_in), :len(y_out)]                   # the drawn units' weights
        scale = float(w.abs().max()) or 1.0
        lines = {}                                        # (colour, width) -> x, y with None between lines
        for yi, row in zip(y_in, w.tolist()):            # one float per weight (tolist: not w[i, j] one by one)
            for yj, wij in zip(y_out, row):
                v = wij / scale                              # in [-1, 1]
                style = (COLORS["forward"] if v < 0 else COLORS["backward"], 0.6 if abs(v) < 0.5 else 1.8)
                xy = lines.setdefault(style, ([], []))
                xy[0].extend([xs[k], xs[k + 1], None])
                xy[1].extend([yi, yj, None])
        for (colour, width), (lx, ly) in sorted(lines.items()):
            data.append(dict(type="scatter", x=lx, y=ly, mode="lines", hoverinfo="skip", showlegend=False,
                             line=dict(color=colour, width=width), opacity=0.5))
    for i, (n, (y, gap)) in enumerate(zip(sizes, ys)):
        units = dict(type="scatter", x=[xs[i]] * len(y), y=y, mode="markers", textposition="middle right",
                     textfont=dict(size=14), hoverinfo="skip", showlegend=False,
                     marker=dict(size=16, color="white", line=dict(color="#333333", width=2)))
        if i == len(sizes) - 1:                          # the outputs are labelled with their digit
            units.update(mode="markers+text", text=[str(d) for d in range(n)])
        data.append(units)
        note = f"<b>{n:,}</b> {layer_names[i] if i < len(layer_names) else ''}" + (" (first shown)" if gap else "")
        anchor = "left" if i == 0 else "right" if i == len(sizes) - 1 else "center"
        annotations.append(dict(x=xs[i] + {"left": -0.03, "right": 0.05, "center": 0}[anchor], y=1.1, text=note,
                                xanchor=anchor, showarrow=False, font=dict(size=15)))
        if gap:
            annotations.append(dict(x=xs[i], y=-0.07, text="...", showarrow=False, font=dict(size=18)))
    for k, layer in enumerate(params):
        W, b = layer["W"], layer["b"]
        annotations.append(dict(
            x=(xs[k] + xs[k + 1]) / 2, y=-0.16, showarrow=False, font=dict(size=14),
            text=f"W{k + 1} {list(W.shape)} + b{k + 1} {list(b.shape)}: <b>{W.numel() + b.numel():,}</b> numbers"))
    return figspec.figure(data, annotations=annotations, xaxis=dict(visible=False, range=[-0.08, 1.12]),
                          yaxis=dict(visible=False, range=[-0.24, 1.18]), height=380, plot_bgcolor="white",
                          margin=dict(l=10, r=10, t=10, b=10))
