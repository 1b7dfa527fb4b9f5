"""Chapter 7: the full training loop, live on a 2-D dataset (built in, or the learner's own CSV)."""
import math
import re

import streamlit as st

import exports
import ui
from core import backward, data, losses, network, optim, train
from labs import ch07_mnist
from labs import ch07_training as lab
from ui import pictures, ch07_training_figures as figs, training_page as tp

L = ui.page("7 · Live training", "The whole loop, batch after batch: press Play and watch a small network carve "
            "up the plane.", widths=(2.5, 1))

LR_OPTIONS = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
# what the control shows (and the link holds) -> the name labs.ch07_training uses
OPTIMIZERS = {"SGD": "sgd", "Momentum": "momentum", "Adam": "adam"}
LOSSES = {"cross-entropy": "cross_entropy", "MSE on probabilities": "mse_probs", "MSE on logits": "mse_logits"}
GRID = 60      # decision-boundary picture: GRID x GRID points
THUMB = 32     # hidden-unit thumbnails: THUMB x THUMB points
MAX_UNITS = 16
PICTURE = 440  # the boundary picture's pixels (shown >= 360 px wide)
FRAME_S = 0.07  # while playing, a frame at most every 70 ms (~14 a second); a busy server skips the ticks it misses
CSV_CHOICE = "your CSV"      # the dataset entry that trains on an uploaded file
FALLBACK = data.DATASETS_2D[0]   # what trains while no usable file is uploaded
CLASS_COLORS = ui.PALETTE + ["#882255", "#999933"]   # 10 colours: an uploaded file may have up to 10 classes

# ------------------------------------------------------------------ controls: the main ones beside the picture
buttons = L.controls.container(horizontal=True, gap="small")     # Play / Step / Reset, once the state is known
with L.controls:
    lr = ui.select_slider("Learning rate", LR_OPTIONS, 0.03, key="tr_lr")
    dataset = ui.selectbox("Dataset", data.DATASETS_2D + [CSV_CHOICE], key="tr_data",
                           help=f"'{CSV_CHOICE}': upload a file of your own labelled 2-D points.")
    uploaded = tp.upload_panel(CSV_CHOICE, FALLBACK) if dataset == CSV_CHOICE else None
using_csv = uploaded is not None
builtin = FALLBACK if dataset == CSV_CHOICE else dataset    # the built-in dataset when no file is in use

with L.more:
    optimizer = OPTIMIZERS[ui.segmented("Optimizer", list(OPTIMIZERS), "Adam", key="tr_opt",
                                        help=f"Momentum = SGD with momentum {lab.MOMENTUM}.")]
    loss_name = LOSSES[ui.selectbox("Loss", list(LOSSES), key="tr_loss",
                                    help="MSE compares with one-hot targets: either the softmax "
                                         "probabilities or the raw logits.")]
    classes_wanted = ui.slider("Classes", 2, 6, 3, key="tr_classes", disabled=using_csv)
    noise = ui.slider("Noise", 0.0, 0.5, 0.1, step=0.01, key="tr_noise", disabled=using_csv)
    n_points = ui.slider("Points", 50, 1000, 300, step=10, key="tr_n", disabled=using_csv)
    if using_csv:
        st.caption("Classes, noise and points come from your file: these three do not apply.")
    test_fraction = ui.slider("Held-out test share", 0.1, 0.5, 0.2, step=0.05, key="tr_test")
    depth = ui.slider("Hidden layers", 1, 3, 2, key="tr_depth")
    width = ui.slider("Units per hidden layer", 2, 64, 16, key="tr_width")
    activation = ui.segmented("Activation", ["relu", "tanh", "sigmoid"], "relu", key="tr_act")
    batch_wanted = ui.slider("Batch size", 1, 512, 32, key="tr_batch")
    steps_per_frame = ui.slider("Steps per frame", 1, 50, 5, key="tr_spf",
                                help="Training steps between two redraws (also what Step does).")
    schedule = ui.selectbox("Learning-rate schedule", list(lab.SCHEDULES), key="tr_sched",
                            help="step: halve the rate every T/4 steps; cosine: glide to 0 over T steps.")
    horizon = ui.slider("Schedule length T (steps)", 50, 5000, 1000, step=50, key="tr_T")
    seed = ui.seed("tr_seed")
    show_units = ui.toggle("Show the first hidden layer's units", True, key="tr_units")

if using_csv:
    n_classes = len(uploaded["classes"])
    class_names = [f"{name[:20]} (class {k})" for k, name in enumerate(uploaded["classes"])]
    axis_titles = (uploaded["columns"]["x1"][:30], uploaded["columns"]["x2"][:30])
else:
    lo, hi = data.CLASSES_2D[builtin]
    n_classes = min(max(classes_wanted, lo), hi)
    class_names = [f"class {k}" for k in range(n_classes)]
    axis_titles = ("x1", "x2")
    if n_classes != classes_wanted:
        L.controls.caption(f"The {builtin} dataset always has {n_classes} classes; the Classes slider applies to "
                           "spiral and blobs.")


if using_csv:
    d = tp.dataset_split(CSV_CHOICE, 0, 0.0, seed, n_classes, test_fraction, GRID, THUMB, uploaded["digest"],
                         (uploaded["X"], uploaded["y"]))
    missing = [f"{ui.plain(uploaded['classes'][k][:20])} (class {k})"     # labels from the file: plain text
               for k in range(n_classes) if not bool((d["y_train"] == k).any())]
    if missing:
        L.controls.warning(f"No training point belongs to {', '.join(missing)} in this split, so the network "
                           "cannot learn it. Change the seed or lower the held-out test share.",
                           icon=":material/warning:")
else:
    d = tp.dataset_split(builtin, n_points, noise, seed, n_classes, test_fraction, GRID, THUMB)
n_train = d["X_train"].shape[0]
batch_size = min(batch_wanted, n_train)
if batch_wanted > n_train:
    L.controls.info(f"Batch size {batch_wanted} is larger than the {n_train} training points: each step uses the "
                    f"whole training set (batch size {batch_size}, plain full-batch gradient descent).",
                    icon=":material/info:")

config = lab.make_live_config(optimizer, lr, loss_name, batch_size, activation, schedule,
                               total_steps=horizon, step_size=max(horizon // 4, 1), gamma=0.5)
sizes = [2] + [width] * depth + [n_classes]
run_label = f"{next(k for k, v in OPTIMIZERS.items() if v == optimizer)}, lr {lr:g}, {' -> '.join(map(str, sizes))}"

# ------------------------------------------------------------------ per-session training state
data_id = ("csv", uploaded["digest"]) if using_csv else (builtin, noise, n_points)
structure = (data_id, n_classes, test_fraction, depth, width, activation, seed)


state = tp.session_run(structure, lambda: lab.train_frame(lab.new_state(sizes, seed=seed, activation=activation),
                                                             d["X_train"], d["y_train"], d["X_test"], d["y_test"],
                                                             config, n_steps=0))
playing = bool(st.session_state.get("tr_playing")) and not state["diverged"]
with buttons:
    if playing:
        st.button("Pause", key="tr_pause", icon=":material/pause:", on_click=tp.pause, shortcut="P",
                  help="Stop after this frame (key P).")
    else:
        st.button("Play", key="tr_play", icon=":material/play_arrow:", on_click=tp.play, type="primary",
                  disabled=bool(state["diverged"]), shortcut="P",
                  help=f"Train {steps_per_frame} steps per frame, about {1 / FRAME_S:.0f} frames a second (key P).")
    step_clicked = st.button("Step", key="tr_step", icon=":material/skip_next:", shortcut="S",
                             disabled=playing or bool(state["diverged"]),
                             help=f"Run {steps_per_frame} training step(s) and stop (key S).")
    st.button("Reset", key="tr_reset", icon=":material/restart_alt:", on_click=tp.reset,
              help="Fresh weights, step 0. This run's curves stay on the charts, dashed, to compare with.")
L.controls.caption(f"Network {' -> '.join(map(str, sizes))} ({network.count_params(state['params']):,} weights), "
                   f"{n_train} training points, {d['X_test'].shape[0]} held out, batch {batch_size}: "
                   f"{math.ceil(n_train / batch_size)} steps per epoch.")

if step_clicked and not state["diverged"]:
    state["label"] = run_label          # the settings it last trained with: the ghost's name after Reset
    lab.train_frame(state, d["X_train"], d["y_train"], d["X_test"], d["y_test"], config, steps_per_frame)

class_rgb = tuple(pictures.hex_to_rgb(CLASS_COLORS[k], lighten=0.55) for k in range(n_classes))
layer = tp.points_layer((data_id, n_classes, test_fraction, seed), tuple(pictures.hex_to_rgb(CLASS_COLORS[k])
                                                                        for k in range(n_classes)), PICTURE, d)


# ------------------------------------------------------------------ the live view: the same playing or paused
@st.fragment(run_every=FRAME_S if playing else None)
def live_view(d, config, layer, class_rgb, run_label, steps_per_frame, show_units, n_classes, width, activation,
              schedule, loss_name):
    """One frame: steps_per_frame training steps while playing, then the picture, curves, numbers and units; all it
    draws comes in as arguments (a timer tick reruns it with those of the page's last full run)."""
    state = st.session_state["tr_state"]
    moving = bool(st.session_state.get("tr_playing")) and not state["diverged"]
    with tp.frame_lock():
        if moving:
            state["label"] = run_label
            lab.train_frame(state, d["X_train"], d["y_train"], d["X_test"], d["y_test"], config, steps_per_frame)
        if state["diverged"] and moving:
            st.session_state["tr_playing"] = False
            st.rerun()          # redraw the whole page, now with the timer switched off
        picture = figs.boundary_image(lab.grid_probs(state["params"], d["points"], GRID, activation), layer,
                                      class_rgb)
        units = figs.units_image(lab.hidden_unit_maps(state["params"], d["thumb_points"], THUMB, activation,
                                                      MAX_UNITS)) if show_units else None
    h, ghost = state["history"], st.session_state.get("tr_ghost")
    left, right = st.columns([1.45, 1], gap="small")     # the boundary >= 360 px wide at 1400x900 and 1280x720
    left.image(picture, width="stretch")
    with right:
        tp.live_curves(h, ghost, show_lr=schedule != "constant")
    tp.curves_caption(h, ghost, n_classes, loss_name == "cross_entropy")
    tp.live_metrics(state, config)
    if state["diverged"]:
        tp.diverged_message(state["diverged"], lambda: tp.reset_lower_lr(LR_OPTIONS, 0.03))
    if units is not None:
        st.image(units, width="stretch")


with L.picture:
    live_view(d, config, layer, class_rgb, run_label, steps_per_frame, show_units, n_classes, width, activation,
              schedule, loss_name)
    if show_units:   # under the unit sheet; it does not change from frame to frame, so it is not sent with them
        tp.units_caption(width, activation, MAX_UNITS)

with L.below:
    tp.predict_lr10(structure, config, sizes, d)

    ui.classmode.challenge_block(
        dict(optimizer=optimizer, lr=lr, loss=loss_name, activation=activation, schedule=schedule,
             batch_size=batch_wanted, depth=depth, width=width, total_steps=horizon, seed=seed,
             steps=st.session_state["tr_state"]["step"]),
        dict(dataset=dataset, n_classes=n_classes, noise=noise, n_points=n_points, test_fraction=test_fraction,
             seed=seed))

    # ---------------------------------------------------------- exports, once something was trained
    if not playing and state["step"] > 0 and not state["diverged"]:
        d1, d2 = st.columns(2)
        with d1:
            csv_file = re.sub(r"[^\w.-]", "_", uploaded["name"])[:60] if using_csv else None   # a plain file name
            script = exports.fill("ch07_training", dict(
                dataset=builtin, csv_file=csv_file, n_classes=n_classes, noise=noise, n_points=n_points,
                test_fraction=test_fraction, sizes=sizes, activation=activation, seed=seed, config=config,
                steps=state["step"]))
            ui.download_script(script, "ch07_training.py", key="tr_dl_script")
            if using_csv:
                st.caption(f"Run it from the repository root as `python ch07_training.py {csv_file}` "
                           "(the path of your CSV).")
        with d2:
            scaling = (" It takes standardised inputs: (x - mean) / std with mean ({:.6g}, {:.6g}) and std "
                       "({:.6g}, {:.6g}), those of the training points.".format(*d["mean"].tolist(), *d["std"].tolist())
                       if using_csv else "")
            st.download_button("Download the weights (nn.Sequential state_dict)",
                               network.weights_file(state["params"], activation), file_name="live_training_weights.pt",
                               icon=":material/download:", key="tr_dl_weights",
                               help=f"torch.load it into nn.Sequential(Linear, {activation}, ..., Linear) of sizes "
                                    f"{sizes}.{scaling}")

    with st.expander("The same picture with axes and zoom", icon=":material/zoom_in:", expanded=not playing):
        if playing:
            st.caption("Pause to draw it.")
        else:
            ui.plot(figs.boundary_figure(lab.grid_probs(state["params"], d["points"], GRID, activation),
                                         d["xs"], d["ys"], {"train": (d["P_train"], d["y_train"]),
                                                            "test": (d["P_test"], d["y_test"])},
                                         CLASS_COLORS, class_rgb, class_names, axis_titles, not using_csv),
                    key="tr_boundary")

    # ---------------------------------------------------------- explanation, code, quiz
    tp.explain_loop(width)
    tp.step_lines_section(config, sizes, f"{optimizer}, {loss_name}, {activation}")
    tp.mnist_section()
    ui.show_source(lab.live_step, lab.next_batch, train.train_step, network.forward, losses.loss_and_grad,
                   losses.softmax_mse_grad, backward.chain_rule, optim.scheduled_lr, optim.sgd_step,
                   optim.adam_step_flat, lab.train_frame, lab.step_anatomy, lab.functions_called, lab.code_lines,
                   ch07_mnist.train_with_history)
    ui.quiz(
        "ch7",
        "Within a single training step, in which order does the loop do its work?",
        ["Backward pass, forward pass, loss, weight update",
         "Forward pass, weight update, loss, backward pass",
         "Forward pass, loss, backward pass, weight update (then the old gradients are discarded)",
         "Weight update, forward pass, backward pass, loss"],
        answer=2,
        why="The loss needs the forward pass's logits, the backward pass needs the loss (it starts from "
            "dLoss/dlogits), and the update needs the gradients. Gradients are then cleared (or, here, simply "
            "recomputed) so the next batch does not add onto them.",
    )
