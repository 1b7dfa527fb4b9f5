"""Page 3's figures (cross-entropy explorer): the softmax probabilities beside the gradients, the -log(p) curve
with this example on it, and cross-entropy against MSE as the correct logit slides.

Presentation only, every function takes what it draws as arguments; the numbers come from
labs.ch03_cross_entropy (explore's probabilities and gradients, sweep_correct's sweep).
Plain dicts (ui.figspec), not go.Figure and add_*/update_*.
"""
import ui
from ui import figspec


def _two_panels(left_title, right_title, height):
    """The layout of two side-by-side plots with a title above each (as the page wrote it by hand: make_subplots
    is slow)."""
    return dict(
        height=height, xaxis=dict(domain=[0, 0.45]), xaxis2=dict(domain=[0.55, 1], anchor="y2"),
        yaxis2=dict(anchor="x2"),
        annotations=[dict(text=t, x=x, y=1.0, xref="paper", yref="paper", showarrow=False, yanchor="bottom",
                          xanchor="center", font=dict(size=15))
                     for t, x in ((left_title, 0.225), (right_title, 0.775))])


def probabilities_figure(classes, probs, grad, mse_grad, y, p_correct):
    """Left: the softmax probability of each class (labels `classes`), the correct class y in teal, outlined and
    marked "correct" above its bar (at p_correct); right: the gradient on each logit, cross-entropy's and MSE's
    side by side. go.Figure and add_bar/update_layout: 11 ms per rerun, dicts: 0.009 ms."""
    n = len(classes)
    colours = [ui.COLORS["correct"] if i == y else ui.COLORS["neutral"] for i in range(n)]
    layout = _two_panels("softmax probabilities", "gradient dLoss/dz", 360)
    data = [dict(type="bar", x=classes, y=probs, text=[f"{p:.3f}" for p in probs], textposition="outside",
                 showlegend=False,
                 marker=dict(color=colours, line=dict(color=ui.COLORS["correct"],
                                                      width=[3 if i == y else 0 for i in range(n)]))),
            dict(type="bar", x=classes, y=grad, name="cross-entropy: softmax - one_hot",
                 marker=dict(color=ui.COLORS["backward"]), xaxis="x2", yaxis="y2"),
            dict(type="bar", x=classes, y=mse_grad, name="MSE on the probabilities",
                 marker=dict(color=ui.COLORS["wrong"]), xaxis="x2", yaxis="y2")]
    layout["annotations"].append(dict(x=str(y), y=p_correct + 0.22, text="correct", showarrow=False,
                                      font=dict(color=ui.COLORS["correct"])))
    layout["xaxis"].update(title=dict(text="class"), type="category")
    layout["xaxis2"].update(title=dict(text="class"), type="category")
    layout.update(barmode="group", legend=dict(orientation="h", y=-0.3, yanchor="top"), yaxis=dict(range=[0, 1.3]))
    return figspec.figure(data, **layout)


def loss_curve_figure(p, loss, p_shown, loss_shown):
    """The curve loss = -log(p) over p (log axis, ticks at powers of ten only) and this example on it as a teal
    dot at (p_shown, loss_shown). go.Figure and add_scatter/update_*: 4.7 ms, dicts: 0.001 ms."""
    data = [dict(type="scatter", x=p, y=loss, name="-log(p)", line=dict(color=ui.COLORS["forward"])),
            dict(type="scatter", x=[p_shown], y=[loss_shown], mode="markers", name="this example",
                 marker=dict(color=ui.COLORS["correct"], size=14, line=dict(color="black", width=1)))]
    return figspec.figure(data, height=340, title=dict(text="Loss = -log(p of the correct class)"),
                          xaxis=figspec.log_axis(title=dict(text="p(correct)")),
                          yaxis=dict(title=dict(text="loss")), showlegend=False)


def sweep_figure(sweep):
    """Cross-entropy (orange) and MSE (red) as the correct logit slides over sweep["value"]: their losses on the
    left, their gradients on the correct logit on the right. go.Figure and add_scatter: 5.5 ms, dicts: 0.003 ms."""
    layout = _two_panels("loss", "gradient on the correct logit", 360)
    data = []
    for name, colour in (("ce", ui.COLORS["backward"]), ("mse", ui.COLORS["wrong"])):
        label = "cross-entropy" if name == "ce" else "MSE"
        data += [dict(type="scatter", x=sweep["value"], y=sweep[f"{name}_loss"], name=label, line=dict(color=colour)),
                 dict(type="scatter", x=sweep["value"], y=sweep[f"{name}_grad"], name=label,
                      line=dict(color=colour), showlegend=False, xaxis="x2", yaxis="y2")]
    for name in ("xaxis", "xaxis2"):
        layout[name]["title"] = dict(text="logit of the correct class")
    return figspec.figure(data, **layout)
