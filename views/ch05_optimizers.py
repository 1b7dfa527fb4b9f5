"""Chapter 5: optimizers by hand, racing across 2-D loss surfaces."""
import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st

import exports
import ui
from core import optim
from labs import ch05_optimizers as landscape

L = ui.page("5 · Optimizer landscape",
            "Two numbers instead of 101,770 weights: watch each optimizer walk downhill on a map, step by step.",
            widths=(2.2, 1))

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


DEFAULT_ON = ("SGD", "Momentum", "Adam")   # three walks a class can follow; the others one toggle away
with L.controls:
    surface = ui.selectbox("Loss surface", list(landscape.SURFACES), key="opt_surf", on_change=_suggest)
    st.caption(SURFACE_NOTES[surface])
    lr = ui.select_slider("LR: SGD family", LRS, 0.05, key="opt_lr",
                          help="Learning rate of SGD, momentum and Nesterov: they move by lr x gradient.")
    lr_adaptive = ui.select_slider("LR: Adam / RMSprop", LRS, 0.3, key="opt_lra",
                                   help="Learning rate of Adam and RMSprop: they move by about lr per step, "
                                        "whatever the gradient's size.")
with L.more:
    chosen = []
    on = st.container(horizontal=True, gap="small")
    for name in landscape.OPTIMIZERS:
        with on:
            if ui.toggle(name, name in DEFAULT_ON, key=f"opt_on_{name.lower()}"):
                chosen.append(name)
    momentum = ui.slider("Momentum mu", 0.0, 0.99, 0.9, step=0.01, key="opt_mom")
    steps = ui.slider("Steps", 10, 500, 150, step=10, key="opt_steps")
    x0 = ui.slider("Start x0", -5.0, 5.0, -4.5, step=0.05, key="opt_x0")
    y0 = ui.slider("Start y0", -5.0, 5.0, 2.0, step=0.05, key="opt_y0")
    beta1 = ui.slider("Adam beta1", 0.0, 0.99, 0.9, step=0.01, key="opt_b1", help="Momentum of Adam's running mean.")
    beta2 = ui.select_slider("Adam beta2", [0.9, 0.99, 0.999, 0.9999], 0.999, key="opt_b2",
                             help="Memory of Adam's running average of squared gradients.")
    alpha = ui.select_slider("RMSprop alpha", [0.9, 0.99, 0.999], 0.99, key="opt_alpha")
    check = ui.toggle("Check against torch.optim", True, key="opt_check",
                      help="Replay every path with torch.optim and compare, step for step.")

if not chosen:
    L.picture.info("Switch on at least one optimizer under **More controls** to see it walk.",
                   icon=":material/info:")
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

# ---------------------------------------------------------------- the race, animated
# opt_t: the step the map shows (the "Step" scrubber; a link restores it like any control); opt_playing: Play is
# moving it. Scrubbing and playing only slice the cached walks above.
PLAY_S = 0.12      # seconds per frame while playing
FRAMES = 60        # Play crosses the whole race in about this many frames (PLAY_S * FRAMES ~ 7 s)
if st.session_state.get("opt_t_cfg") not in (None, (surface, x0, y0, steps)):   # a new race: show it whole, paused
    st.session_state["opt_t"], st.session_state["opt_playing"] = steps, False
st.session_state["opt_t_cfg"] = (surface, x0, y0, steps)
if "opt_t" in st.session_state and not 0 <= st.session_state["opt_t"] <= steps:
    st.session_state["opt_t"] = steps


def _play():
    if st.session_state.get("opt_t", steps) >= steps:   # Play at the end starts the race again
        st.session_state["opt_t"] = 0
    st.session_state["opt_playing"] = True
    st.session_state["opt_timer_changed"] = True


def _pause():
    st.session_state["opt_playing"] = False
    st.session_state["opt_timer_changed"] = True


def _at(r, t):
    """Index of step t in a walk (a walk that diverged stops early: its ball stays at its last good point)."""
    return min(t, len(r["path"]) - 1)


log_y = spec["f_min"] is not None


def race_figures(t):
    """The map with each path up to step t and its ball there, and the loss curves up to step t."""
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
    curves = []
    for name, r in results.items():
        color, k = ui.COLORS[name.lower()], _at(r, t)
        path = r["path"][:k + 1]
        traces.append(dict(type="scatter", x=path[:, 0], y=path[:, 1], mode="lines+markers", name=name,
                           line=dict(color=color, width=2.5), marker=dict(size=4, color=color)))
        stopped = r["verdict"]["status"] == "diverged" and k == len(r["path"]) - 1
        traces.append(dict(type="scatter", x=path[-1:, 0], y=path[-1:, 1], mode="markers", showlegend=False,
                           name=f"{name} now", marker=dict(symbol="x" if stopped else "circle", size=16, color=color,
                                                           line=dict(color="black", width=1.5))))
        loss = r["loss"][:k + 1] - spec["f_min"] if log_y else r["loss"][:k + 1]
        if log_y:
            loss = np.maximum(loss, 1e-16)  # a log axis cannot show exact zeros
        curves.append(dict(type="scatter", y=loss, mode="lines", name=name, showlegend=False,
                           line=dict(color=color, width=2.5)))
    race = go.Figure(dict(data=traces, layout=dict(
        height=460, xaxis=dict(range=x_range, title=dict(text="x")), yaxis=dict(range=y_range, title=dict(text="y")),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))))
    loss_fig = go.Figure(dict(data=curves, layout=dict(
        height=240, xaxis=dict(title=dict(text="step"), range=[0, steps]),
        yaxis=dict(title=dict(text="f - f_min" if log_y else "f"), type="log" if log_y else "linear"))))
    if log_y:
        ui.clean_log_axis(loss_fig, axis="y")
    return race, loss_fig


playing = bool(st.session_state.get("opt_playing"))


@st.fragment(run_every=PLAY_S if playing else None)
def race_view():
    """Play / Pause, the Step scrubber, the map with the balls and the loss curves: reruns on its own."""
    if st.session_state.pop("opt_timer_changed", False):
        st.rerun()   # Play or Pause: rerun the page once, to start or stop this fragment's timer
    if st.session_state.get("opt_playing"):   # a tick of Play: the balls move on
        st.session_state["opt_t"] = min(steps, st.session_state["opt_t"] + max(1, round(steps / FRAMES)))
        if st.session_state["opt_t"] >= steps:   # the end: stop the timer (a full rerun draws it without)
            st.session_state["opt_playing"] = False
            st.rerun()
    moving = bool(st.session_state.get("opt_playing"))
    row = st.container(horizontal=True, gap="small", vertical_alignment="bottom")
    if moving:
        row.button("Pause", key="opt_pause", icon=":material/pause:", on_click=_pause, shortcut="P",
                   help="Stop the balls here (key: P).")
    else:
        row.button("Play", key="opt_play", icon=":material/play_arrow:", on_click=_play, shortcut="P",
                   type="primary", help="Race the optimizers from the start, step by step (key: P).")
    with row:
        t = ui.slider("Step", 0, steps, steps, key="opt_t", disabled=moving,
                      help="Drag to move every ball to this step of its walk.")
    race, loss_fig = race_figures(t)
    ui.plot(race, key="opt_map")
    rows = []
    for name, r in results.items():
        k = _at(r, t)
        rows.append({"optimizer": name, "step": k, "x": f"{r['path'][k, 0]:.4f}", "y": f"{r['path'][k, 1]:.4f}",
                     "loss": f"{r['loss'][k]:.4g}"})
    st.caption(f"Step {t} of {steps}: where each ball is now")
    ui.stat_table(rows, width="stretch")
    ui.plot(loss_fig, key="opt_loss")
    st.caption("Loss after each step, on a log scale: a straight falling line means the distance to the "
               "bottom shrinks by the same factor every step." if log_y else
               "Loss after each step. The saddle has no lowest point, so the loss can fall for ever.")


with L.picture:
    race_view()

with L.below:
    # ------------------------------------------------------------ predict, then try
    usual_start = landscape.SURFACES["Ravine"]["start"]
    probe = walk("Ravine", usual_start, "Momentum", (("lr", 0.2), ("momentum", momentum)), 150)
    verdict = landscape.classify("Ravine", probe)
    fates = ["It reaches the floor faster than at lr 0.05", "It zig-zags, then settles", "It blows up (diverges)"]
    fate = 2 if verdict["status"] == "diverged" else 1 if landscape.settle_step(probe["path"].numpy()) else 0
    ui.predict("ch5_lr02", f"Ravine, momentum {momentum:g}, learning rate 0.2: what will happen?", fates,
               answer=fate,
               why=f"Walked just now: momentum at lr 0.2 ended {verdict['status']} after {verdict['steps']} steps "
                   f"({verdict['reason']}). Across the ravine it is stable only for lr < 2 (1 + mu) / "
                   f"{landscape.RAVINE_CURVATURE[1]:g} = "
                   f"{landscape.stable_lr_limits(landscape.RAVINE_CURVATURE[1], momentum)['Momentum']:.3g}.")

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
                                             [{"SGD": "SGD", "Momentum": "SGD(momentum)",
                                               "Nesterov": "SGD(nesterov=True)",
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
        st.caption("Switched off under *More controls*.")

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
