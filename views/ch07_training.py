"""Chapter 7: the full training loop, live on a 2-D dataset (built in, or the learner's own CSV)."""
import hashlib
import math
import re
import threading

import plotly.graph_objects as go
import pyarrow as pa
import streamlit as st
import torch

import ui
from core import data, network, optim, train
from labs import ch07_training as live
from ui import pictures
from labs import ch07_mnist as mnist_runs
from datasets import mnist_files
from datasets import points_csv

ui.header(
    "7 · Live training",
    "Everything from the first six chapters, joined into one loop: take a shuffled mini-batch, run it "
    "forward, measure the loss, push the gradient backward by hand, nudge every weight. Press **Play** and "
    "watch a small network carve up the plane; the coloured background is what it currently believes.",
)

LR_OPTIONS = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
# what the control shows (and the link holds) -> the name labs.ch07_training uses
OPTIMIZERS = {"SGD": "sgd", "Momentum": "momentum", "Adam": "adam"}
LOSSES = {"cross-entropy": "cross_entropy", "MSE on probabilities": "mse_probs", "MSE on logits": "mse_logits"}
GRID = 60      # decision-boundary picture: GRID x GRID points
THUMB = 32     # hidden-unit thumbnails: THUMB x THUMB points
MAX_UNITS = 16
FRAME_S = 0.07  # while playing, a frame at most every 70 ms (~14 a second); a busy server skips the ticks it misses
CSV_CHOICE = "your CSV"      # the dataset entry that trains on an uploaded file
FALLBACK = data.DATASETS_2D[0]   # what trains while no usable file is uploaded
CLASS_COLORS = ui.PALETTE + ["#882255", "#999933"]   # 10 colours: an uploaded file may have up to 10 classes

# ------------------------------------------------------------------ controls
c = st.columns([1.1, 1.6, 2.0, 1.5])
with c[0]:
    dataset = ui.selectbox("Dataset", data.DATASETS_2D + [CSV_CHOICE], key="tr_data",
                           help=f"'{CSV_CHOICE}': upload a file of your own labelled 2-D points.")
with c[1]:
    optimizer = OPTIMIZERS[ui.segmented("Optimizer", list(OPTIMIZERS), "Adam", key="tr_opt",
                                        help=f"Momentum = SGD with momentum {live.MOMENTUM}.")]
with c[2]:
    lr = ui.select_slider("Learning rate", LR_OPTIONS, 0.03, key="tr_lr")
with c[3]:
    loss_name = LOSSES[ui.selectbox("Loss", list(LOSSES), key="tr_loss",
                                    help="MSE compares with one-hot targets: either the softmax "
                                         "probabilities or the raw logits.")]


# ------------------------------------------------------------------ your own data (CSV upload)
@st.cache_data(max_entries=16, show_spinner=False)
def read_upload(raw):
    """(parsed file, None) or (None, the reason it was refused): a pure function of the bytes."""
    try:
        X, y, classes, columns = points_csv.parse_points_csv(raw)
    except ValueError as e:
        return None, str(e)
    return dict(X=X, y=y, classes=classes, columns=columns, digest=hashlib.sha256(raw).hexdigest()[:16]), None


@st.cache_data(show_spinner=False)
def example_csv():
    X, y = data.make_2d("spiral", n=300, noise=0.1, seed=0, n_classes=3)
    return points_csv.points_csv(X, y, ["A", "B", "C"])


def _forget_upload():
    """The learner removed (or replaced) the file: drop this session's copy of the old one."""
    if st.session_state.get("tr_csv") is None:
        st.session_state.pop("tr_csv_data", None)


def _code(text):
    """A file name, column name or label from the visitor's file, shown as code: one line (a blank line would
    end the code span), no backtick (it would close it), at most 40 characters."""
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in str(text)).split())
    return "`" + line.replace("`", "'")[:40] + "`"


uploaded = None     # the parsed file this run trains on, kept per session in st.session_state["tr_csv_data"]
if dataset == CSV_CHOICE:
    with st.container(border=True):
        u = st.columns([1, 1.3])
        with u[0]:
            upload = st.file_uploader("Your points (CSV)", type=["csv"], key="tr_csv", max_upload_size=2,
                                      on_change=_forget_upload,
                                      help=f"At most {points_csv.CSV_MAX_ROWS:,} points and "
                                           f"{points_csv.CSV_MAX_BYTES / 1e6:g} MB. A file stays in this browser "
                                           "session only and cannot travel in a link.")
            st.download_button("Example file: a 3-arm spiral, 300 points", example_csv(),
                               file_name="spiral_example.csv", mime="text/csv", on_click="ignore",
                               icon=":material/download:", key="tr_csv_example")
        with u[1]:
            st.markdown(
                "**Format:** a text file, one point per row under a header row, e.g.\n\n"
                "```\nx,y,label\n0.52,-1.30,cat\n1.75,0.08,dog\n```\n"
                f"{points_csv.CSV_RULE} {points_csv.CSV_MIN_POINTS} to {points_csv.CSV_MAX_ROWS:,} points, 2 to "
                f"{points_csv.CSV_MAX_CLASSES} classes, at least {points_csv.CSV_MIN_PER_CLASS} points per class.")
        if upload is not None:
            parsed, problem = read_upload(upload.getvalue())
            if problem:
                st.session_state.pop("tr_csv_data", None)
                st.error(f"**{_code(upload.name)} cannot be used.** {problem}", icon=":material/error:")
            else:
                st.session_state["tr_csv_data"] = dict(parsed, name=upload.name)
        uploaded = st.session_state.get("tr_csv_data")
        if uploaded is None:
            st.info(f"**No usable file yet, so the page trains on the {FALLBACK} dataset meanwhile.** Upload a "
                    "CSV above, or download the example and upload that. (A shared link can choose "
                    f"'{CSV_CHOICE}' but cannot carry the file itself.)", icon=":material/upload_file:")
        else:
            cols = uploaded["columns"]
            counts = uploaded["y"].bincount(minlength=len(uploaded["classes"])).tolist()
            classes = ", ".join(f"{_code(name)} -> {k} ({n})" for k, (name, n) in
                                enumerate(zip(uploaded["classes"], counts)))
            st.success(f"**{_code(uploaded['name'])}: {len(uploaded['y'])} points, {len(counts)} classes.** "
                       f"Coordinates from columns {_code(cols['x1'])} and {_code(cols['x2'])}, labels from "
                       f"{_code(cols['label'])}"
                       + (f" (ignored: {', '.join(map(_code, cols['ignored']))})" if cols["ignored"] else "")
                       + f". Class -> number (points): {classes}.", icon=":material/check_circle:")
            st.caption("The network trains on standardised coordinates, (value - mean) / std with the mean and "
                       "std of the training points, so that the learning rates above suit any units. The "
                       "plots show your own numbers."
                       + (" Using the file uploaded earlier in this session; upload another to replace it."
                          if upload is None else ""))
using_csv = uploaded is not None
builtin = FALLBACK if dataset == CSV_CHOICE else dataset    # the built-in dataset when no file is in use

with ui.more_controls("Data, network and schedule"):
    m = st.columns(4)
    with m[0]:
        classes_wanted = ui.slider("Classes", 2, 6, 3, key="tr_classes", disabled=using_csv)
        noise = ui.slider("Noise", 0.0, 0.5, 0.1, step=0.01, key="tr_noise", disabled=using_csv)
        n_points = ui.slider("Points", 50, 1000, 300, step=10, key="tr_n", disabled=using_csv)
        if using_csv:
            st.caption("Classes, noise and points come from your file: these three do not apply.")
    with m[1]:
        test_fraction = ui.slider("Held-out test share", 0.1, 0.5, 0.2, step=0.05, key="tr_test")
        depth = ui.slider("Hidden layers", 1, 3, 2, key="tr_depth")
        width = ui.slider("Units per hidden layer", 2, 64, 16, key="tr_width")
    with m[2]:
        activation = ui.segmented("Activation", ["relu", "tanh", "sigmoid"], "relu", key="tr_act")
        batch_wanted = ui.slider("Batch size", 1, 512, 32, key="tr_batch")
        steps_per_frame = ui.slider("Steps per frame", 1, 50, 5, key="tr_spf",
                                    help="Training steps between two redraws (also what Step does).")
    with m[3]:
        schedule = ui.selectbox("Learning-rate schedule", list(live.SCHEDULES), key="tr_sched",
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
        st.caption(f"The {builtin} dataset always has {n_classes} classes; the Classes slider applies to "
                   "spiral and blobs.")


@st.cache_data(max_entries=64, show_spinner=False)
def dataset_split(dataset, n_points, noise, seed, n_classes, test_fraction, digest=None, _points=None):
    """Points, their train/test split and the two grids over the plane (pure, shared read-only).

    X_* are what the network trains on, P_* the same points as plotted, in the data's own units.
    An uploaded file arrives as _points = (X, y), known to the cache by its digest; its coordinates
    are standardised with the training points' mean and std, and the grid is laid out in those
    standardised units (points, thumb_points) with its axes xs, ys mapped back to the file's units.
    """
    X, y = data.make_2d(dataset, n=n_points, noise=noise, seed=seed, n_classes=n_classes) \
        if _points is None else _points
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_fraction, seed=seed)
    mean, std = data.fit_standardizer(X_train) if _points is not None else (torch.zeros(2), torch.ones(2))
    Z = data.standardize(X, mean, std)                                  # [N, 2] (= X for built-in data)
    xs, ys, points = live.plane_grid(Z, n=GRID)
    _, _, thumb_points = live.plane_grid(Z, n=THUMB)
    return dict(X_train=data.standardize(X_train, mean, std), X_test=data.standardize(X_test, mean, std),
                P_train=X_train, P_test=X_test, y_train=y_train, y_test=y_test, mean=mean, std=std,
                xs=xs * std[0] + mean[0], ys=ys * std[1] + mean[1], points=points, thumb_points=thumb_points)


if using_csv:
    d = dataset_split(CSV_CHOICE, 0, 0.0, seed, n_classes, test_fraction, uploaded["digest"],
                      (uploaded["X"], uploaded["y"]))
    missing = [f"{ui.plain(uploaded['classes'][k][:20])} (class {k})"     # labels from the file: plain text
               for k in range(n_classes) if not bool((d["y_train"] == k).any())]
    if missing:
        st.warning(f"No training point belongs to {', '.join(missing)} in this split, so the network cannot "
                   "learn it. Change the seed or lower the held-out test share.", icon=":material/warning:")
else:
    d = dataset_split(builtin, n_points, noise, seed, n_classes, test_fraction)
n_train = d["X_train"].shape[0]
batch_size = min(batch_wanted, n_train)
if batch_wanted > n_train:
    st.info(f"Batch size {batch_wanted} is larger than the {n_train} training points: each step uses the "
            f"whole training set (batch size {batch_size}, plain full-batch gradient descent).",
            icon=":material/info:")

config = live.make_live_config(optimizer, lr, loss_name, batch_size, activation, schedule,
                               total_steps=horizon, step_size=max(horizon // 4, 1), gamma=0.5)
sizes = [2] + [width] * depth + [n_classes]

# ------------------------------------------------------------------ per-session training state
data_id = ("csv", uploaded["digest"]) if using_csv else (builtin, noise, n_points)
structure = (data_id, n_classes, test_fraction, depth, width, activation, seed)


def fresh_state():
    state = live.new_state(sizes, seed=seed, activation=activation)
    live.train_frame(state, d["X_train"], d["y_train"], d["X_test"], d["y_test"], config, n_steps=0)
    return state


if st.session_state.get("tr_state") is None or st.session_state.get("tr_structure") != structure:
    if st.session_state.get("tr_structure") not in (None, structure):
        st.toast("The data or the network changed: training starts again from fresh weights.",
                 icon=":material/restart_alt:")
    st.session_state["tr_state"] = fresh_state()
    st.session_state["tr_structure"] = structure
state = st.session_state["tr_state"]


def _play():
    st.session_state["tr_playing"] = True


def _pause():
    st.session_state["tr_playing"] = False


def _reset():
    st.session_state["tr_state"] = None
    st.session_state["tr_playing"] = False


def _reset_lower_lr():
    _reset()
    current = st.session_state.get("tr_lr", 0.03)
    st.session_state["tr_lr"] = LR_OPTIONS[max(LR_OPTIONS.index(current) - 2, 0)] if current in LR_OPTIONS \
        else 0.03


playing = bool(st.session_state.get("tr_playing")) and not state["diverged"]
b = st.columns([1, 1, 1, 1, 4])
b[0].button("Play", key="tr_play", icon=":material/play_arrow:", on_click=_play, disabled=playing or bool(state["diverged"]),
            type="primary", width="stretch")
b[1].button("Pause", key="tr_pause", icon=":material/pause:", on_click=_pause, disabled=not playing,
            width="stretch")
step_clicked = b[2].button("Step", key="tr_step", icon=":material/skip_next:",
                           disabled=playing or bool(state["diverged"]),
                           width="stretch", help=f"Run {steps_per_frame} training step(s) and stop.")
b[3].button("Reset", key="tr_reset", icon=":material/restart_alt:", on_click=_reset, width="stretch")
b[4].caption(f"Network {' -> '.join(map(str, sizes))} ({network.count_params(state['params']):,} weights), "
             f"{n_train} training points, {d['X_test'].shape[0]} held out, batch {batch_size}: "
             f"{math.ceil(n_train / batch_size)} steps per epoch.")

if step_clicked and not state["diverged"]:
    live.train_frame(state, d["X_train"], d["y_train"], d["X_test"], d["y_test"], config, steps_per_frame)

class_rgb = [pictures.hex_to_rgb(CLASS_COLORS[k], lighten=0.55) for k in range(n_classes)]


# ------------------------------------------------------------------ pictures (redrawn every frame)
def boundary_figure(state):
    probs = live.grid_probs(state["params"], d["points"], GRID, activation)          # [60, 60, C]
    picture = pictures.png_data_uri(pictures.blend_class_colors(probs, class_rgb))
    xs, ys = d["xs"], d["ys"]
    dx, dy = (xs[1] - xs[0]).item(), (ys[1] - ys[0]).item()
    fig = go.Figure(go.Image(source=picture, x0=xs[0].item(), dx=dx, y0=ys[0].item(), dy=dy, hoverinfo="skip"))
    for k in range(n_classes):
        for part, symbol, show in (("train", "circle", True), ("test", "x", False)):
            pts = d[f"P_{part}"][d[f"y_{part}"] == k]
            fig.add_scatter(x=pts[:, 0].tolist(), y=pts[:, 1].tolist(), mode="markers",
                            name=ui.plotly_plain(class_names[k]), legendgroup=f"c{k}", showlegend=show,
                            marker=dict(color=CLASS_COLORS[k], size=7 if part == "train" else 8, symbol=symbol,
                                        line=dict(color="black", width=0.6)),
                            hovertemplate=f"class {k} ({part})<extra></extra>")
    fig.update_xaxes(range=[xs[0].item() - dx / 2, xs[-1].item() + dx / 2], showgrid=False,
                     title=ui.plotly_plain(axis_titles[0]))   # names from a file: Plotly reads <a href> in them
    fig.update_yaxes(range=[ys[0].item() - dy / 2, ys[-1].item() + dy / 2], showgrid=False,
                     title=ui.plotly_plain(axis_titles[1]),
                     scaleanchor=False if using_csv else "x", autorange=False)   # a file's columns: own units
    fig.update_layout(title="What the network predicts<br><sup>circles: training points, crosses: test points</sup>",
                      height=470, legend=dict(orientation="h", y=-0.15))
    return fig


def curves_figure(h):
    # three panels side by side, laid out by hand (cheaper per frame than make_subplots)
    fig = go.Figure()
    for part, colour in (("train", ui.COLORS["forward"]), ("test", ui.PALETTE[4])):
        fig.add_scatter(x=h["step"], y=h[f"{part}_loss"], name=f"{part} loss", line_color=colour)
        fig.add_scatter(x=h["step"], y=h[f"{part}_acc"], name=f"{part} accuracy", line=dict(color=colour, dash="dot"),
                        xaxis="x2", yaxis="y2")
    fig.add_scatter(x=h["step"], y=h["lr"], name="lr", line_color=ui.COLORS["neutral"], showlegend=False,
                    xaxis="x3", yaxis="y3")
    titles = [dict(text=t, x=x, xref="paper", y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                   xanchor="center")
              for t, x in (("Loss (log scale)", 0.18), ("Accuracy", 0.62), ("Learning rate", 0.94))]
    fig.update_layout(
        title="Measured on all training and test points after each frame", height=340,
        legend=dict(orientation="h", y=-0.3), annotations=titles,
        xaxis=dict(domain=[0, 0.36], title="step"), yaxis=dict(type="log"),
        xaxis2=dict(domain=[0.44, 0.8], anchor="y2", title="step"),
        yaxis2=dict(anchor="x2", range=[0, 1.02], tickformat=".0%"),
        xaxis3=dict(domain=[0.88, 1], anchor="y3", title="step"), yaxis3=dict(anchor="x3", rangemode="tozero"))
    return fig


def units_figure(state):
    maps = live.hidden_unit_maps(state["params"], d["thumb_points"], THUMB, activation, MAX_UNITS)  # [U, 32, 32]
    sheet = pictures.tile_pictures(pictures.unit_pictures(maps), cols=8)
    fig = go.Figure(go.Image(source=pictures.png_data_uri(sheet), hoverinfo="skip"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=90 * math.ceil(maps.shape[0] / 8) + 20, margin=dict(t=0, b=0))
    return fig


def live_curve_spec(title, log):
    """A small Vega-Lite line chart of the columns "train" and "test" against "step"."""
    y = {"field": "value", "type": "quantitative", "title": title}
    if log:
        y["scale"] = {"type": "log"}
    return {"height": 170, "transform": [{"fold": ["train", "test"], "as": ["set", "value"]}],
            "mark": {"type": "line"},
            "encoding": {"x": {"field": "step", "type": "quantitative"}, "y": y,
                         "color": {"field": "set", "type": "nominal", "title": None,
                                   "scale": {"domain": ["train", "test"],
                                             "range": [ui.COLORS["forward"], ui.PALETTE[4]]}}}}


@st.cache_resource(max_entries=16, show_spinner=False)
def points_layer(data_key, n_classes, _d):
    """The live picture's training and test points, drawn once per dataset and split (read-only)."""
    return pictures.points_layer(_d["xs"], _d["ys"], _d["P_train"], _d["y_train"], _d["P_test"], _d["y_test"],
                                 [pictures.hex_to_rgb(CLASS_COLORS[k]) for k in range(n_classes)])


@st.cache_resource
def frame_lock():
    """One lock per server: the frames of all playing students train one at a time. Each step is some 50
    small torch calls, each of which lets go of the GIL and takes it back; 30 sessions doing that at
    once spend more time handing the GIL around than training."""
    return threading.Lock()


def frame_pictures(state):
    """While playing: the boundary picture and the sheet of hidden units, as uint8 arrays for st.image."""
    probs = live.grid_probs(state["params"], d["points"], GRID, activation)          # [60, 60, C]
    layer = points_layer((data_id, n_classes, test_fraction, seed), n_classes, d)  # the points: drawn once
    picture = pictures.boundary_frame(pictures.blend_class_colors(probs, class_rgb), layer)
    units = None
    if show_units:
        maps = live.hidden_unit_maps(state["params"], d["thumb_points"], THUMB, activation, MAX_UNITS)
        units = pictures.tile_pictures(pictures.unit_pictures(maps), cols=8).numpy()
    return picture.numpy(), units


@st.fragment(run_every=FRAME_S if playing else None)
def live_view():
    state = st.session_state["tr_state"]
    pictures = None
    if st.session_state.get("tr_playing") and not state["diverged"]:
        with frame_lock():
            live.train_frame(state, d["X_train"], d["y_train"], d["X_test"], d["y_test"], config, steps_per_frame)
            if not state["diverged"]:
                pictures = frame_pictures(state)
        if state["diverged"]:
            st.session_state["tr_playing"] = False
            st.rerun()          # redraw the whole page, now with the timer switched off
    h = state["history"]
    k = st.columns(7)
    k[0].metric("Step", state["step"])
    k[1].metric("Epoch", state["epoch"])
    k[2].metric("Train loss", f"{h['train_loss'][-1]:.4f}")
    k[3].metric("Test loss", f"{h['test_loss'][-1]:.4f}")
    k[4].metric("Train accuracy", f"{h['train_acc'][-1]:.1%}")
    k[5].metric("Test accuracy", f"{h['test_acc'][-1]:.1%}")
    lr_now = live.scheduled_lr(config["lr"], state["step"], config["schedule"], config["total_steps"],
                               config["step_size"], config["gamma"])
    k[6].metric("Learning rate now", f"{lr_now:.3g}", help="The learning rate the next step will use.")
    if state["diverged"]:
        st.error(f"**Training diverged and was halted.** {state['diverged']} A learning rate this large makes "
                 "each step overshoot: the update jumps past the bottom of the loss valley onto the far wall, "
                 "higher than where it started, so the next gradient is larger still and every step "
                 "amplifies the last until the numbers overflow. To recover, press **Reset** and lower the "
                 "learning rate (Adam and momentum usually want 0.001 to 0.03 here).",
                 icon=":material/error:")
        st.button("Reset with a learning rate 10 times smaller", key="tr_reset_lower",
                  icon=":material/south:", on_click=_reset_lower_lr)
    # While playing, the pictures are sent as plain images: this Streamlit version rebuilds a Plotly chart
    # from scratch whenever its data change, which at ~14 frames/s leaves it blank. Paused: interactive Plotly.
    moving = bool(st.session_state.get("tr_playing")) and not state["diverged"]
    left, right = st.columns([1, 1.25])
    with left:
        if moving:
            st.image(pictures[0], width=440, caption="What the network predicts (dots: training points, "
                     "crosses: test points). Pause for axes and zoom.")
        else:
            ui.plot(boundary_figure(state), key="tr_boundary")
    with right:
        if moving:   # Vega-Lite charts keep their place between frames; an Arrow table goes out as it is
            for name, title, log in (("loss", "loss (log scale)", True), ("acc", "accuracy", False)):
                st.vega_lite_chart(pa.table({"step": h["step"], "train": h[f"train_{name}"],
                                             "test": h[f"test_{name}"]}),
                                   live_curve_spec(title, log), key=f"tr_live_{name}")
            st.caption(f"One point per frame ({steps_per_frame} steps). Pause for the interactive plot with the "
                       "learning rate.")
        else:
            ui.plot(curves_figure(h), key="tr_curves")
        gap = h["train_acc"][-1] - h["test_acc"][-1]
        st.caption(f"Last point: step {h['step'][-1]}, train/test accuracy gap {gap:+.1%}. "
                   "The test points never take part in a step: they show how well the rule generalises.")
    if not moving and state["step"] > 0 and not state["diverged"]:
        d1, d2 = st.columns(2)
        with d1:
            if using_csv:
                file_name = re.sub(r"[^\w.-]", "_", uploaded["name"])[:60]    # safe to write into a script
                ui.download_script(live.script_training(file_name, n_classes, 0.0, 0, test_fraction, sizes,
                                                        activation, seed, config, state["step"],
                                                        csv_file=file_name),
                                   "live_training.py", key="tr_dl_script")
                st.caption(f"Run it from the repository root as `python live_training.py {file_name}` "
                           "(the path of your CSV).")
            else:
                ui.download_script(live.script_training(builtin, n_classes, noise, n_points, test_fraction, sizes,
                                                        activation, seed, config, state["step"]),
                                   "live_training.py", key="tr_dl_script")
        with d2:
            scaling = (" It takes standardised inputs: (x - mean) / std with mean ({:.6g}, {:.6g}) and std "
                       "({:.6g}, {:.6g}), those of the training points.".format(*d["mean"].tolist(), *d["std"].tolist())
                       if using_csv else "")
            st.download_button("Download the weights (nn.Sequential state_dict)",
                               network.weights_file(state["params"], activation), file_name="live_training_weights.pt",
                               icon=":material/download:", key="tr_dl_weights",
                               help=f"torch.load it into nn.Sequential(Linear, {activation}, ..., Linear) of sizes "
                                    f"{sizes}.{scaling}")
    if show_units:
        if moving:
            st.image(pictures[1], width=760)
        else:
            ui.plot(units_figure(state), key="tr_units_fig")
        st.caption(f"Units 1 to {min(width, MAX_UNITS)} of hidden layer 1 (left to right, then the next row), each "
                   "over the same plane as the picture above (orange: "
                   "positive, blue: negative, white: zero, each on its own scale). Each unit computes "
                   f"{activation}(w1 x1 + w2 x2 + b), so its edge is always a straight line; the layers after "
                   "it combine these lines into the curved boundary. An all-white ReLU unit is dead.")


live_view()

# ------------------------------------------------------------------ class challenge (shown only to a tab in a class)
ui.classmode.challenge_block(
    dict(optimizer=optimizer, lr=lr, loss=loss_name, activation=activation, schedule=schedule,
         batch_size=batch_wanted, depth=depth, width=width, total_steps=horizon, seed=seed,
         steps=st.session_state["tr_state"]["step"]),
    dict(dataset=dataset, n_classes=n_classes, noise=noise, n_points=n_points, test_fraction=test_fraction,
         seed=seed))

# ------------------------------------------------------------------ explanation, code, quiz
ui.explain(
    f"""
**One step of the loop**, as the code below runs it (B = batch size, C = classes):

1. `next_batch`: the next B rows of a shuffled epoch, `xb [B, 2]`, `yb [B]`. When the epoch's
   permutation is used up, a new one is drawn: one epoch = every training point once.
2. `forward`: `xb @ W1 + b1 -> [B, {width}]`, the activation, ... , then `@ W_last + b_last -> logits [B, C]`.
3. `loss_and_logit_grad`: the loss and its gradient with respect to the logits, `[B, C]`.
4. `backward_from_logit_grad`: the chain rule from the logits down to every `W` and `b`, same shapes as the weights.
5. the optimizer step moves every weight against its gradient, scaled by the learning rate of this step.

The curves are measured on the *whole* training and test sets after each frame, not on one batch.

**Learning-rate schedules** start big (fast progress) and end small (settle into the valley):
*step* halves the rate every T/4 steps, *cosine* glides from the chosen rate to 0 along half a cosine over T steps.

**Three losses.** Cross-entropy's gradient is `softmax - one_hot`: large when the network is confidently
wrong. MSE on softmax probabilities has to pass its gradient through softmax, which multiplies it by
roughly `p (1 - p)`; a confidently wrong network gets almost no push, so it learns slowly or gets stuck.
MSE on raw logits treats class scores as numbers to regress to 0 and 1, and with a large learning rate
it overshoots fastest.

**Divergence.** If a step is too long it lands higher up the opposite wall of the valley, where the slope is
steeper, so the next step is longer still. The loss then grows geometrically until it overflows to `inf`
and turns into `nan`. The page stops as soon as the loss is not a finite number or has grown to
{live.BLOWUP:g} times its first value. Try SGD with learning rate 10 and an MSE loss, or Adam at 10.
""")

# ------------------------------------------------------------------ how long is one step? (counted, not guessed)
st.subheader("How many lines each part of the step takes")


@st.cache_data(max_entries=64, show_spinner=False)
def step_lines(config, sizes):
    """labs.ch07_training.lines_per_part of one real step with these settings, plus a total row."""
    parts = live.lines_per_part(live.step_anatomy(config, tuple(sizes)))
    total = {"part": "one whole step", "functions": f"{sum(len(p['functions']) for p in parts)} functions",
             "lines": sum(p["lines"] for p in parts)}
    return [dict(p, functions=", ".join(p["functions"])) for p in parts] + [total]


parts = step_lines(config, sizes)
ui.stat_table(parts)
st.caption(f"Counted in the `core` source of every function one step with these settings called "
           f"({optimizer}, {loss_name}, {activation}), recorded while a real step ran: lines that are not "
           f"blank, not only a comment and not a docstring. `live_step` itself is {parts[0]['lines']} of "
           f"them; the rest is what it calls. Change the optimizer, loss or activation and the table follows.")

# ------------------------------------------------------------------ the same loop on MNIST (measured, on request)
st.subheader("The same loop on MNIST")
REF = mnist_runs.REFERENCE_RUN
MNIST_HERE = ("full MNIST (60,000 training images, 10,000 test images)." if mnist_files.mnist_available("train") else
              "the MNIST images this server has: the 10,000-image test split, first 8,000 to train on, last 2,000 "
              "held out." if mnist_files.mnist_available("test") else
              "MNIST, once this server has its files (it has none now: page 7b says how to get them).")


@st.cache_data(max_entries=4, show_spinner=False)
def mnist_reference(source, n_train, settings):
    """labs.ch07_mnist.train_with_history on the app's MNIST split, with a progress bar per epoch.

    Cached per server: the first visitor to press the button waits, everyone after gets the numbers.
    (The bar lives inside the cached function, so a cache hit replays it as already finished.)
    """
    X_train, y_train, X_test, y_test, _ = ui.mnist_train_test()
    bar = st.progress(0.0, text=f"Training 784-{settings['hidden']}-10 on {n_train:,} images...")
    done = [0]

    def per_epoch(fraction, _text):
        epoch = int(fraction * settings["epochs"] + 1e-9)
        if epoch > done[0]:
            done[0] = epoch
            bar.progress(fraction, text=f"Epoch {epoch} of {settings['epochs']} done")

    run = mnist_runs.train_with_history(X_train, y_train, X_test, y_test, progress=per_epoch, **settings)
    bar.empty()
    return {"history": run["history"], "diverged": run["diverged"], "n_train": len(X_train),
            "n_test": len(X_test), "source": source}


st.markdown(f"Does this loop scale to real data? Page 7b trains on handwritten digits with "
            "`core.train.train_step`: the same forward pass, cross-entropy, hand-written backward pass and Adam "
            "update as the step above with its default settings, on 784-pixel rows. The button trains a "
            f"784-{REF['hidden']}-10 network with it for {REF['epochs']} epochs here and now ({REF['optimizer']}, "
            f"learning rate {REF['lr']:g}, batches of {REF['batch_size']}, seed {REF['seed']}: page 7b's settings "
            f"apart from the epochs) and reports the held-out accuracy it reaches on {MNIST_HERE}")
if st.button(f"Train {REF['epochs']} epochs on MNIST", key="tr_mnist", icon=":material/play_arrow:"):
    try:
        X_train, _, X_test, _, source = ui.mnist_train_test()
    except mnist_files.MnistError as err:
        st.session_state["tr_mnist_result"] = {"error": str(err)}
    else:
        st.session_state["tr_mnist_result"] = mnist_reference(source, len(X_train), dict(REF))
result = st.session_state.get("tr_mnist_result")
if result is not None and "error" in result:
    st.warning("No MNIST files were found on this machine, so nothing was measured. Page 7b says how to "
               "get them.", icon=":material/folder_off:")
elif result is not None and result["diverged"]:
    st.error(f"Training stopped: {result['diverged']}", icon=":material/error:")
elif result is not None:
    last = result["history"][-1]
    full = result["n_train"] >= 60_000
    st.success(f"**Measured: {REF['epochs']} epochs reach {last['test_acc']:.2%} accuracy on "
               f"{result['n_test']:,} held-out MNIST images** ({last['train_acc']:.2%} on the "
               f"{result['n_train']:,} training images). Data: {result['source']}.",
               icon=":material/check_circle:")
    if not full:
        st.caption(f"This server has only MNIST's test split, so the network learned from "
                   f"{result['n_train']:,} images. Full MNIST has 60,000 training images, and more examples "
                   "give a higher held-out accuracy: download it on page 7b and press the button again to "
                   "measure it.")
ui.show_source(live.live_step, live.next_batch, live.loss_and_logit_grad, live.softmax_mse_grad,
               live.backward_from_logit_grad, live.scheduled_lr, network.forward, optim.sgd_step,
               optim.adam_step, live.train_frame, live.step_anatomy, live.functions_called, live.code_lines,
               mnist_runs.train_with_history, train.train_step)
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
