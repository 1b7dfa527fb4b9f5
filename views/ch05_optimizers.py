"""Chapter 5: optimizers by hand, racing across 2-D loss surfaces."""
import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st

import exports
import ui
from core import optim
from labs import ch05_optimizers as landscape

ui.header(
    "5 · Optimizer landscape",
    "An optimizer only ever sees the slope under its feet. Here the network's 101,770 weights are "
    "replaced by just two numbers, `p = [x, y]`, so you can watch the walk on a map. Every step is taken "
    "by the same `core.optim` functions that train the digit network: SGD, SGD with momentum, Nesterov, "
    "Adam and RMSprop.",
)

LRS = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0]
SGD_FAMILY = ("SGD", "Momentum", "Nesterov")
SURFACE_NOTES = {
    "Ravine": f"A narrow valley whose walls curve {landscape.RAVINE_CURVATURE[1] / landscape.RAVINE_CURVATURE[0]:g} "
              "times more sharply across than its floor along: plain SGD zig-zags across it.",
    "Rosenbrock": "A curved banana-shaped valley whose floor is almost flat: easy to find, slow to follow.",
    "Saddle": "Flat in the middle, uphill along x, downhill along y, and no lowest point at all.",
    "Himmelblau": "Four valleys of equal depth: where you start decides where you end up.",
    "Rastrigin": "An egg box: dozens of local minima around the one lowest point at (0, 0).",
}


def _suggest():
    """When the surface changes, move the start point and learning rates to values that suit it."""
    spec = landscape.SURFACES[st.session_state["opt_surf"]]
    st.session_state["opt_x0"], st.session_state["opt_y0"] = spec["start"]
    st.session_state["opt_lr"] = spec["lr_sgd"]
    st.session_state["opt_lra"] = spec["lr_adaptive"]


c1, c2, c3, c4 = st.columns([1.2, 1, 1, 1])
with c1:
    surface = ui.selectbox("Loss surface", list(landscape.SURFACES), key="opt_surf", on_change=_suggest)
    st.caption(SURFACE_NOTES[surface])
with c2:
    x0 = ui.slider("Start x0", -5.0, 5.0, -4.5, step=0.05, key="opt_x0")
    y0 = ui.slider("Start y0", -5.0, 5.0, 2.0, step=0.05, key="opt_y0")
with c3:
    lr = ui.select_slider("Learning rate: SGD family", LRS, 0.05, key="opt_lr",
                          help="SGD, momentum and Nesterov move by lr x gradient.")
    lr_adaptive = ui.select_slider("Learning rate: Adam / RMSprop", LRS, 0.3, key="opt_lra",
                                   help="Adam and RMSprop move by about lr per step, whatever the gradient's size.")
with c4:
    momentum = ui.slider("Momentum mu", 0.0, 0.99, 0.9, step=0.01, key="opt_mom")
    steps = ui.slider("Steps", 10, 500, 150, step=10, key="opt_steps")

with ui.more_controls("Optimizers and their settings"):
    chosen = []
    for col, name in zip(st.columns(len(landscape.OPTIMIZERS)), landscape.OPTIMIZERS):
        with col:
            if ui.toggle(name, True, key=f"opt_on_{name.lower()}"):
                chosen.append(name)
    b1, b2, b3 = st.columns(3)
    with b1:
        beta1 = ui.slider("Adam beta1 (momentum of the mean)", 0.0, 0.99, 0.9, step=0.01, key="opt_b1")
    with b2:
        beta2 = ui.select_slider("Adam beta2 (memory of squared gradients)", [0.9, 0.99, 0.999, 0.9999], 0.999,
                                 key="opt_b2")
    with b3:
        alpha = ui.select_slider("RMSprop alpha", [0.9, 0.99, 0.999], 0.99, key="opt_alpha")
    check = ui.toggle("Check every path against torch.optim", True, key="opt_check")

if not chosen:
    st.info("Switch on at least one optimizer above to see it walk.", icon=":material/info:")
    st.stop()


@st.cache_data(max_entries=1000, show_spinner="Walking downhill...")
def walk(surface, start, name, hp_items, steps):
    """One optimizer's walk of `steps` steps, cached per the settings it depends on (its own hyperparameters
    only: moving Adam's beta1 walks Adam again, not the other four)."""
    return landscape.trajectory(surface, name, start, steps, dict(hp_items))


@st.cache_data(max_entries=1000, show_spinner="Replaying the walk with torch.optim...")
def torch_walk(surface, start, name, hp_items, steps):
    """The same walk replayed by torch.optim (cached like `walk`)."""
    return landscape.torch_trajectory(surface, name, start, steps, dict(hp_items))


def walks_for(surface, start, steps, chosen):
    """{name: {"path", "loss", "verdict", "hp"}} for the walks of `steps` steps."""
    out = {}
    for name in chosen:
        w = walk(surface, start, name, _own_hp(name), steps)
        out[name] = {"path": w["path"].numpy(), "loss": w["loss"].numpy(),
                     "verdict": landscape.classify(surface, w), "hp": dict(_hp(name))}
    return out


@st.cache_data(max_entries=100, show_spinner=False)
def contour_grid(surface, x_range, y_range, n=120):
    xs, ys, Z = landscape.grid(surface, n, x_range, y_range)
    return xs.numpy(), ys.numpy(), Z.numpy()


def _hp(name):
    if name in SGD_FAMILY:
        return (("lr", lr), ("momentum", momentum))
    return (("lr", lr_adaptive), ("betas", (beta1, beta2)), ("alpha", alpha))


def _own_hp(name):
    """The hyperparameters `name` reads (the cache key of its walk)."""
    hp = dict(_hp(name))
    own = {"SGD": ("lr",), "Momentum": ("lr", "momentum"), "Nesterov": ("lr", "momentum"),
           "Adam": ("lr", "betas"), "RMSprop": ("lr", "alpha")}[name]
    return tuple((k, hp[k]) for k in own)


spec = landscape.SURFACES[surface]
results = walks_for(surface, (x0, y0), steps, tuple(chosen))

# ------------------------------------------------------------------ the map
x_lo, x_hi, y_lo, y_hi = spec["view"]
pad_x, pad_y = 0.05 * (x_hi - x_lo), 0.05 * (y_hi - y_lo)
x_range = (min(x_lo, x0 - pad_x), max(x_hi, x0 + pad_x))
y_range = (min(y_lo, y0 - pad_y), max(y_hi, y0 + pad_y))
xs, ys, Z = contour_grid(surface, x_range, y_range)
if spec["log_contours"]:
    Zshow, ztitle = np.log10(Z - spec["f_min"] + 1e-3), "log10(f - f_min)"
else:
    Zshow, ztitle = Z, "f"

left, right = st.columns([3, 2])
with left:
    # one constructor of plain dicts: a figure built trace by trace and then updated costs 3-5x more server time
    traces = [dict(type="contour", x=xs, y=ys, z=Zshow, colorscale="Greys", reversescale=True, ncontours=30,
                   contours=dict(showlines=True), line=dict(width=0.5), opacity=0.75,
                   colorbar=dict(title=dict(text=ztitle)), hoverinfo="skip", name="surface")]
    if spec["minima"]:
        mx, my = zip(*spec["minima"])
        traces.append(dict(type="scatter", x=mx, y=my, mode="markers", name="lowest point",
                           marker=dict(symbol="star", size=16, color="white", line=dict(color="black", width=1))))
    traces.append(dict(type="scatter", x=[x0], y=[y0], mode="markers", name="start",
                       marker=dict(symbol="circle-open", size=16, color="black", line=dict(width=3))))
    for name, r in results.items():
        color = ui.COLORS[name.lower()]
        path = r["path"]
        traces.append(dict(type="scatter", x=path[:, 0], y=path[:, 1], mode="lines+markers", name=name,
                           line=dict(color=color, width=2.5), marker=dict(size=4, color=color)))
        end_symbol = "x" if r["verdict"]["status"] == "diverged" else "diamond"
        traces.append(dict(type="scatter", x=path[-1:, 0], y=path[-1:, 1], mode="markers", showlegend=False,
                           marker=dict(symbol=end_symbol, size=13, color=color,
                                       line=dict(color="black", width=1))))
    fig = go.Figure(dict(data=traces, layout=dict(
        height=520, xaxis=dict(range=x_range, title=dict(text="x")), yaxis=dict(range=y_range, title=dict(text="y")),
        legend=dict(orientation="h", y=-0.15))))
    ui.plot(fig, key="opt_map")
with right:
    log_y = spec["f_min"] is not None
    traces = []
    for name, r in results.items():
        loss = r["loss"] - spec["f_min"] if log_y else r["loss"]
        if log_y:
            loss = np.maximum(loss, 1e-16)  # a log axis cannot show exact zeros
        traces.append(dict(type="scatter", y=loss, mode="lines", name=name,
                           line=dict(color=ui.COLORS[name.lower()], width=2.5)))
    fig = go.Figure(dict(data=traces, layout=dict(
        height=520, xaxis=dict(title=dict(text="step")), yaxis=dict(title=dict(text="f - f_min" if log_y else "f"),
                                                                      type="log" if log_y else "linear"),
        legend=dict(orientation="h", y=-0.15))))
    ui.plot(fig, key="opt_loss")
    st.caption("Loss after each step, on a log scale: a straight falling line means the distance to the "
               "bottom shrinks by the same factor every step." if log_y else
               "Loss after each step. The saddle has no lowest point, so the loss can fall for ever.")

# ------------------------------------------------------------ how each ended
st.subheader("How each walk ended")
rows = []
for name, r in results.items():
    v = r["verdict"]
    rows.append({"optimizer": name, "status": v["status"], "steps taken": v["steps"],
                 "final loss": f"{v['final_loss']:.4g}", "|gradient|": f"{v['grad_norm']:.3g}",
                 "end point": f"({v['end'][0]:.3f}, {v['end'][1]:.3f})", "why": v["reason"]})
ui.stat_table(rows, width="stretch")
diverged = [name for name, r in results.items() if r["verdict"]["status"] == "diverged"]
if diverged:
    st.warning(f"**{', '.join(diverged)} diverged**: each step overshot so far that the next slope was even "
               "steeper, and the numbers grew until they left the map. The path is cut at the last good point. "
               "Try a smaller learning rate.", icon=":material/warning:")
best = min(results, key=lambda n: results[n]["verdict"]["final_loss"]
           if results[n]["verdict"]["status"] != "diverged" else math.inf)
st.metric("Lowest final loss", f"{results[best]['verdict']['final_loss']:.4g}", help=f"reached by {best}")

# ------------------------------------------------------- same path as torch.optim?
st.subheader("Same path as torch.optim?")
if check:
    for name, r in results.items():
        r.update(landscape.check_against_torch(surface, name, (x0, y0), steps, dict(_hp(name)), r["path"],
                                               theirs=torch_walk(surface, (x0, y0), name, _own_hp(name), steps)))
    rows = [{"optimizer": name, "torch.optim class": _torch,
             "max |our path - torch.optim path|": f"{r['torch_diff']:.2e}",
             "max |hand gradient - autograd|": f"{r['grad_gap']:.2e}"}
            for (name, r), _torch in zip(results.items(),
                                         [{"SGD": "SGD", "Momentum": "SGD(momentum)", "Nesterov": "SGD(nesterov=True)",
                                           "Adam": "Adam", "RMSprop": "RMSprop"}[n] for n in results])]
    ui.stat_table(rows, width="stretch")
    worst = max(r["torch_diff"] for r in results.values())
    if worst < 1e-6:
        agree = "to the last bit" if worst == 0 else f"to within {worst:.1e}"
        st.success(f"Every path matches torch.optim {agree}: same numbers, step for step.",
                   icon=":material/check_circle:")
    else:
        st.error(f"A path differs from torch.optim by {worst:.2e}.", icon=":material/error:")
    st.caption("torch.optim is fed the same hand-written gradient, so the first column tests the optimizer "
               "alone; the second compares that gradient with autograd's at every point of our path.")
else:
    st.caption("Switched off under *Optimizers and their settings*.")

script = exports.fill("ch05_optimizers", dict(surface=surface, start=(x0, y0), steps=steps,
                                              hyper={n: dict(_hp(n)) for n in chosen}, check_torch=check))
ui.download_script(script, "ch05_optimizers.py", key="opt_download")
st.caption("The script reruns every optimizer switched on above with the `core` package (run it from the "
           "repository root) and prints, per optimizer, the status, steps taken, final loss, |gradient| and end "
           "point of the table, the lowest final loss and, when the check is on, the two torch.optim / autograd "
           "differences, rounded as on the page.")

# ------------------------------------------------------- the ravine in numbers, for the explanation below
h_along, h_across = landscape.RAVINE_CURVATURE
limits = landscape.stable_lr_limits(h_across, momentum)  # largest lr that converges across the ravine
ravine_start = (x0, y0) if surface == "Ravine" else landscape.SURFACES["Ravine"]["start"]
ratio = landscape.slope_ratio("Ravine", ravine_start)
where = "here, at the start" if surface == "Ravine" else "at the ravine's usual start"
if math.isinf(ratio):
    slopes = f"{where} ({ravine_start[0]:g}, {ravine_start[1]:g}) the slope along is 0"
elif math.isnan(ratio):
    slopes = f"{where} ({ravine_start[0]:g}, {ravine_start[1]:g}) both slopes are 0"
else:
    slopes = (f"{where} ({ravine_start[0]:g}, {ravine_start[1]:g}) the slope across is {ratio:.3g} times the "
              "slope along")


def _swings(name):
    """How this run's walk of `name` on the ravine ended across the valley, in words."""
    r = results[name]
    if r["verdict"]["status"] == "diverged":
        return f"{name} diverged ({r['verdict']['reason'].split(':')[0]})"
    k = landscape.settle_step(r["path"])
    if k is None:
        return f"{name} was still more than {landscape.SETTLE_TOL:g} off the floor after {len(r['path']) - 1} steps"
    return f"{name} stayed within {landscape.SETTLE_TOL:g} of the floor from step {k} on"


if surface == "Ravine" and {"Momentum", "Nesterov"} <= set(results):
    nesterov_run = f"In this run (lr {lr:g}, mu = {momentum:g}): {_swings('Momentum')}; {_swings('Nesterov')}."
else:
    nesterov_run = "Switch on Momentum and Nesterov on the ravine to see both in this run."

ui.explain(f"""
- **SGD** steps straight downhill: `p = p - lr * grad`. The ravine `f = 0.5 (x^2 + 25 y^2)` curves
  {h_across / h_along:g} times more sharply across (y) than along (x). The slopes themselves are 25 |y| across
  and |x| along, so their ratio depends on the point: {slopes}. A learning rate big enough to make progress
  along the floor makes it bounce from wall to wall; above lr = 2 / {h_across:g} = {limits["SGD"]:.3g} each
  bounce is bigger than the last and it diverges.
- **Momentum** keeps a velocity `v = mu * v + grad` and steps along `v`. The back-and-forth parts of the
  gradient cancel in `v`, the steady downhill part adds up: up to `1 / (1 - mu)` =
  {landscape.momentum_gain(momentum):.3g} times faster for mu = {momentum:g}.
  **Nesterov** uses the same velocity but corrects the step with the slope one step ahead. Whether that
  overshoots less depends on the step: with large steps the correction itself overshoots, and Nesterov diverges
  sooner:
  across the ravine momentum is stable for lr < 2 (1 + mu) / {h_across:g} = {limits["Momentum"]:.3g}, Nesterov
  only for lr < 2 (1 + mu) / ((1 + 2 mu) {h_across:g}) = {limits["Nesterov"]:.3g}. {nesterov_run}
- **Adam** divides each coordinate's step by the root of a running average of that coordinate's squared
  gradient, so every coordinate moves about `lr` per step whether its slope is tiny or huge. That is why
  it has its own learning-rate slider, and why it gets moving in the flat middle of the saddle, where SGD's
  step, lr times a tiny slope, is tiny too.
  **RMSprop** is the same division without Adam's running mean and bias correction.
- With two numbers instead of 101,770 the rules are exactly the ones that train the digit network:
  `p` here is a tensor of shape `[2]`, there it is `W1 [784, 128]`, `b1 [128]`, `W2 [128, 10]`, `b2 [10]`.
- A walk **diverges** when a number becomes inf or NaN or the point leaves a radius of {landscape.RADIUS:g};
  it is **stalled** when it used all its steps still on a slope (|gradient| > {landscape.GRAD_TOL:g}).
""")
ui.show_source(spec["f"], spec["grad"], landscape.optimizer_step, optim.sgd_update, optim.adam_update,
               optim.rmsprop_update, landscape.trajectory, landscape.classify)

ui.quiz(
    "ch5",
    "In a training loop you call `loss.backward()` every step but never reset `W.grad` to zero. What happens?",
    ["Nothing: backward() overwrites the old gradient each time",
     "Each step uses the sum of all gradients so far, so the steps grow and point in stale directions",
     "PyTorch raises an error on the second call to backward()",
     "The weights stop changing because the gradient is cleared automatically after step()"],
    answer=1,
    why="backward() adds into `.grad` instead of replacing it. Without `.grad.zero_()` (or "
        "`optimizer.zero_grad()`) step k moves the weights by the sum of k gradients: a few steps later the "
        "update is huge and mostly remembers old batches, so training goes astray or diverges.",
)
