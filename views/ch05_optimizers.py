"""Chapter 5: optimizers by hand, racing across 2-D loss surfaces."""
import streamlit as st

import exports
import ui
from core import optim
from labs import ch05_optimizers as lab
from ui import ch05_figures, stage_player as player

L = ui.page("5 · Optimizer landscape",
            "Two numbers instead of 101,770 weights: watch each optimizer walk downhill on a map, step by step.",
            widths=(2.2, 1))

LRS = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0]


def _suggest():
    """When the surface changes, move the start point and learning rates to values that suit it."""
    spec = lab.SURFACES[st.session_state["opt_surf"]]
    st.session_state["opt_x0"], st.session_state["opt_y0"] = spec["start"]
    st.session_state["opt_lr"] = spec["lr_sgd"]
    st.session_state["opt_lra"] = spec["lr_adaptive"]


DEFAULT_ON = ("SGD", "Momentum", "Adam")   # three walks a class can follow; the others one toggle away
with L.controls:
    surface = ui.selectbox("Loss surface", list(lab.SURFACES), key="opt_surf", on_change=_suggest)
    st.caption(lab.SURFACE_NOTES[surface])
    lr = ui.select_slider("LR: SGD family", LRS, 0.05, key="opt_lr",
                          help="Learning rate of SGD, momentum and Nesterov: they move by lr x gradient.")
    lr_adaptive = ui.select_slider("LR: Adam / RMSprop", LRS, 0.3, key="opt_lra",
                                   help="Learning rate of Adam and RMSprop: they move by about lr per step, "
                                        "whatever the gradient's size.")
with L.more:
    chosen = []
    on = st.container(horizontal=True, gap="small")
    for name in lab.OPTIMIZERS:
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


@st.cache_data(max_entries=200, show_spinner="Walking downhill...")
def race(surface, start, steps, hyper):
    """Each optimizer's walk and how it ended; hyper = ((name, its own hyperparameters), ...), so a walk is walked
    again only when a setting it reads changes."""
    walks = lab.walks(surface, start, steps, {name: dict(hp) for name, hp in hyper})
    return {name: {"path": w["path"].numpy(), "loss": w["loss"].numpy(), "verdict": lab.classify(surface, w)}
            for name, w in walks.items()}


@st.cache_data(max_entries=1000, show_spinner="Replaying the walk with torch.optim...")
def torch_check(surface, start, name, hp, steps, _path):
    """Our walk `_path` (decided by the other arguments) replayed by torch.optim, our gradient against autograd."""
    return lab.check_against_torch(surface, name, start, steps, dict(hp), _path)


@st.cache_data(max_entries=100, show_spinner=False)
def contour_grid(surface, x_range, y_range, n=120):
    xs, ys, Z = lab.grid(surface, n, x_range, y_range)
    heights, title = lab.map_heights(surface, Z)
    return xs.numpy(), ys.numpy(), heights.numpy(), title


hyper = {name: lab.hyperparameters(name, lr, lr_adaptive, momentum, (beta1, beta2), alpha) for name in chosen}
spec, start = lab.SURFACES[surface], (x0, y0)
results = race(surface, start, steps, tuple((n, lab.own_hyperparameters(n, hp)) for n, hp in hyper.items()))
verdicts = {name: r["verdict"] for name, r in results.items()}

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


def _play(steps):
    if st.session_state.get("opt_t", steps) >= steps:   # Play at the end starts the race again
        st.session_state["opt_t"] = 0
    player.start("opt")


@st.fragment(run_every=PLAY_S if player.playing("opt") else None)
def race_view(surface, start, results, steps, x_range, y_range):
    """Play / Pause, the Step scrubber, the map with the balls and the loss curves: reruns on its own."""
    player.tick("opt", st.session_state.get("opt_t", steps), steps,   # a tick of Play: the balls move on
                lambda t: st.session_state.update(opt_t=t), stride=max(1, round(steps / FRAMES)))
    moving, spec = player.playing("opt"), lab.SURFACES[surface]
    row = st.container(horizontal=True, gap="small", vertical_alignment="bottom")
    if moving:
        row.button("Pause", key="opt_pause", icon=":material/pause:", on_click=player.stop, args=("opt",), shortcut="P",
                   help="Stop the balls here (key: P).")
    else:
        row.button("Play", key="opt_play", icon=":material/play_arrow:", on_click=_play, args=(steps,), shortcut="P",
                   type="primary", help="Race the optimizers from the start, step by step (key: P).")
    with row:
        t = ui.slider("Step", 0, steps, steps, key="opt_t", disabled=moving,
                      help="Drag to move every ball to this step of its walk.")
    xs, ys, heights, title = contour_grid(surface, x_range, y_range)
    ui.plot(ch05_figures.race_map(xs, ys, heights, title, spec["minima"], start, results, t, x_range, y_range),
            key="opt_map")
    st.caption(f"Step {t} of {steps}: where each ball is now")
    ui.stat_table(lab.positions(results, t), width="stretch")
    ui.plot(ch05_figures.loss_curves(results, t, steps, spec["f_min"]), key="opt_loss")
    st.caption("Loss after each step, on a log scale: a straight falling line means the distance to the "
               "bottom shrinks by the same factor every step." if spec["f_min"] is not None else
               "Loss after each step. The saddle has no lowest point, so the loss can fall for ever.")


with L.picture:
    race_view(surface, start, results, steps, *lab.map_ranges(surface, start))

with L.below:
    # ------------------------------------------------------------ predict, then try
    usual = lab.SURFACES["Ravine"]["start"]
    probe = race("Ravine", usual, 150, (("Momentum", (("lr", 0.2), ("momentum", momentum))),))["Momentum"]
    verdict = probe["verdict"]
    ui.predict("ch5_lr02", f"Ravine, momentum {momentum:g}, learning rate 0.2: what will happen?", lab.LR02_FATES,
               answer=lab.lr02_fate(probe, verdict),
               why=f"Walked just now: momentum at lr 0.2 ended {verdict['status']} after {verdict['steps']} steps "
                   f"({verdict['reason']}). Across the ravine it is stable only for lr < 2 (1 + mu) / "
                   f"{lab.RAVINE_CURVATURE[1]:g} = "
                   f"{lab.stable_lr_limits(lab.RAVINE_CURVATURE[1], momentum)['Momentum']:.3g}.")

    # ------------------------------------------------------------ how each ended
    st.subheader("How each walk ended")
    ui.stat_table(lab.verdict_rows(verdicts), width="stretch")
    diverged = [name for name, v in verdicts.items() if v["status"] == "diverged"]
    if diverged:
        st.warning(f"**{', '.join(diverged)} diverged**: each step overshot so far that the next slope was even "
                   "steeper, and the numbers grew until they left the map. The path is cut at the last good point. "
                   "Try a smaller learning rate.", icon=":material/warning:")
    best = lab.lowest(verdicts)
    st.metric("Lowest final loss", f"{verdicts[best]['final_loss']:.4g}", help=f"reached by {best}")

    # ------------------------------------------------------- same path as torch.optim?
    st.subheader("Same path as torch.optim?")
    if check:
        checks = {name: torch_check(surface, start, name, lab.own_hyperparameters(name, hyper[name]), steps,
                                    r["path"]) for name, r in results.items()}
        ui.stat_table(lab.torch_rows(checks), width="stretch")
        worst = max(c["torch_diff"] for c in checks.values())
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

    script = exports.fill("ch05_optimizers", dict(surface=surface, start=start, steps=steps, hyper=hyper,
                                                  check_torch=check))
    ui.download_script(script, "ch05_optimizers.py", key="opt_download")
    st.caption("The script reruns every optimizer switched on above with the `core` package (run it from the "
               "repository root) and prints, per optimizer, the status, steps taken, final loss, |gradient| and end "
               "point of the table, the lowest final loss and, when the check is on, the two torch.optim / autograd "
               "differences, rounded as on the page.")

    # ------------------------------------------------------- the ravine in numbers, for the explanation below
    h_along, h_across = lab.RAVINE_CURVATURE
    limits = lab.stable_lr_limits(h_across, momentum)  # largest lr that converges across the ravine
    on_ravine = surface == "Ravine"
    slopes = lab.slope_sentence("here, at the start" if on_ravine else "at the ravine's usual start",
                                start if on_ravine else usual)
    if on_ravine and {"Momentum", "Nesterov"} <= set(results):
        swings = [lab.settle_sentence(n, results[n], verdicts[n]) for n in ("Momentum", "Nesterov")]
        nesterov_run = f"In this run (lr {lr:g}, mu = {momentum:g}): {swings[0]}; {swings[1]}."
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
  {lab.momentum_gain(momentum):.3g} times faster for mu = {momentum:g}.
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
- A walk **diverges** when a number becomes inf or NaN or the point leaves a radius of {lab.RADIUS:g};
  it is **stalled** when it used all its steps still on a slope (|gradient| > {lab.GRAD_TOL:g}).
""")
    ui.show_source(spec["f"], spec["grad"], lab.walks, lab.optimizer_step, optim.sgd_update, optim.adam_update,
                   optim.rmsprop_update, lab.classify, *([lab.torch_replay] if check else []))

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
