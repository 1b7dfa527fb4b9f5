"""Chapter 7b: the from-scratch training loop on real MNIST digits."""
import logging

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

import exports
import ui
from core import data, network, train
from labs import ch07_mnist as mnist_runs
from datasets import mnist_files
from ui import pictures

L = ui.page("7b · Training on MNIST", "The same loop on real handwritten digits: press Train and watch accuracy "
            "climb epoch by epoch.")


@st.cache_resource(show_spinner="Reading the MNIST files...")
def load_data():
    """(X_train, y_train, X_test, y_test, description); shared by every session, never modified. Raises
    mnist_files.MnistError (never cached) only on a damaged install: the test split is committed in datasets/mnist.

    X_train and X_test are uint8 pixels (a quarter of float32's memory); labs.ch07_mnist converts them as it goes.
    """
    return ui.mnist_train_test()


try:
    X_train, y_train, X_test, y_test, source = load_data()
except mnist_files.MnistError as err:
    ui.mnist_unreadable(err)
    st.stop()
L.below.info(ui.mnist_data_sentence(len(X_train), len(X_test)), icon=":material/dataset:")
if len(X_train) + len(X_test) <= 10_000:
    with L.below.expander(":material/download: Full MNIST (optional)", expanded=False):
        st.caption("Full MNIST adds 60,000 training images (a download of about 10 MB, if this server has "
                   "internet). A hosted server forgets it when it restarts; the 10,000 digits the app comes "
                   "with are always here.")
        if st.button("Download full MNIST", key="mnist_download", icon=":material/download:"):
            bar = st.progress(0.0, text="Downloading full MNIST...")
            try:
                mnist_files.download_mnist(
                    progress=lambda f, msg: bar.progress(f, text=f"Downloading full MNIST: {f:.0%}"))
            except mnist_files.MnistError as err:
                logging.getLogger(__name__).warning("MNIST download failed: %s", err)
                bar.empty()
                st.error("Full MNIST could not be downloaded now, so this page keeps training on the 10,000 "
                         "digits the app comes with. " + ("The disk of this server is full."
                                                          if isinstance(err, mnist_files.MnistDiskFullError) else
                                                          "This server may have no internet, or the download "
                                                          "was too slow."), icon=":material/cloud_off:")
            else:
                load_data.clear()
                ui.mnist_split.clear()
                ui.mnist_float.clear()
                st.rerun()

# ------------------------------------------------------------------ settings: beside the picture
OPTIMIZERS = {"adam": "Adam", "momentum": "SGD + momentum 0.9", "sgd": "plain SGD"}
with L.controls:
    train_clicked = st.button("Train", key="mnist_train", type="primary", icon=":material/play_arrow:", shortcut="T",
                              help="Train a fresh network with these settings (key T).")
    epochs = ui.slider("Epochs", 1, 10, 2, key="mnist_epochs", help="Full passes over the training images.")
    optimizer = ui.selectbox("Optimizer", list(OPTIMIZERS), 0, key="mnist_opt", format_func=OPTIMIZERS.get)
    lr = ui.select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0], 1e-3,
                          key="mnist_lr", help="Adam likes about 0.001, plain SGD about 0.1.")
with L.more:
    batch_size = ui.select_slider("Batch size", [1, 8, 16, 32, 64, 128, 256, 512, 1024, 8000], 64, key="mnist_bs")
    hidden = ui.select_slider("Hidden units", [8, 16, 32, 64, 128, 256], 128, key="mnist_hidden")
    seed = ui.seed("mnist_seed")

settings = dict(hidden=hidden, optimizer=optimizer, lr=lr, batch_size=batch_size, epochs=epochs, seed=seed)
steps_per_epoch = -(-len(X_train) // batch_size)
with L.controls:
    st.caption(f"784 -> {hidden} -> 10 network, {OPTIMIZERS[optimizer]} at lr {lr:g}, batches of {batch_size}: "
               f"{steps_per_epoch:,} steps per epoch, {epochs * steps_per_epoch:,} in all.")
    if batch_size > len(X_train):
        st.warning(f"A batch of {batch_size:,} is larger than the {len(X_train):,} training images: every "
                   "batch is simply the whole set.", icon=":material/warning:")
    if batch_size == 1 and epochs > 2:
        st.warning("Batch size 1 means one step per image: this run will take a while.", icon=":material/hourglass:")


def accuracy_figure(hist, epochs):
    """Train and held-out accuracy after each epoch done, on an axis of all `epochs` (the curve grows along it)."""
    fig = go.Figure()
    ep = [h["epoch"] for h in hist]
    fig.add_trace(go.Scatter(x=ep, y=[h["train_acc"] for h in hist], mode="lines+markers",
                             name="train", line_color=ui.COLORS["forward"]))
    fig.add_trace(go.Scatter(x=ep, y=[h["test_acc"] for h in hist], mode="lines+markers",
                             name="held-out test", line_color=ui.COLORS["correct"]))
    fig.update_layout(title=f"Accuracy after each epoch: {len(hist)} of {epochs} done", xaxis_title="epoch",
                      yaxis_title="accuracy", yaxis_tickformat=".0%", xaxis_dtick=1,
                      xaxis_range=[0.5, epochs + 0.5], yaxis_range=[0, 1.02], legend=dict(orientation="h", y=-0.25))
    return fig


# ------------------------------------------------------------------ the picture: sample digits, then the growing curve
with L.picture:
    strip_idx = mnist_runs.samples_per_digit(y_train, per_digit=2)                     # 20 rows of X_train
    ink = 255 - X_train[strip_idx].reshape(-1, 28, 28, 1).expand(-1, 28, 28, 3)        # dark ink on white
    st.image(pictures.tile_pictures(ink.contiguous(), cols=10, gap=4).numpy(), width="stretch")
    labels = [int(y_train[i]) for i in strip_idx]
    st.caption(f"{len(strip_idx)} of the training images with their labels, row by row: "
               + " / ".join(" ".join(map(str, labels[r:r + 10])) for r in range(0, len(labels), 10))
               + ". The network sees each as a row of 784 numbers.")
    progress_slot = st.empty()
    bar_slot = st.empty()

if train_clicked:
    bar = bar_slot.progress(0.0, text="Training...")

    def show_epoch(history):   # after every epoch: the curve grows by one point
        with progress_slot.container():
            ui.plot(accuracy_figure(history, epochs), key=f"mnist_progress_{len(history)}", height=320)
            st.caption(f"Epoch {len(history)} of {epochs} done: held-out accuracy {history[-1]['test_acc']:.2%}.")

    result = mnist_runs.train_with_history(X_train, y_train, X_test, y_test, on_epoch=show_epoch,
                                           progress=lambda f, msg: bar.progress(f, text=msg), **settings)
    bar_slot.empty()
    params = result["params"]
    st.session_state["mnist_result"] = {
        # loads into nn.Sequential(Linear, ReLU, Linear)
        "weights": network.state_dict_bytes(mnist_runs.params_to_state_dict(params)),
        "settings": settings,
        "history": result["history"],
        "diverged": result["diverged"],
        "diagnosis": mnist_runs.diagnose(result),
        "confusion": mnist_runs.confusion(params, X_test, y_test).tolist(),
        "wrong": mnist_runs.misclassified(params, X_test, y_test, limit=24),
    }

run = st.session_state.get("mnist_result")
if run is None:
    progress_slot.info("Press **Train** to train a fresh network with these settings (the default, 2 epochs, "
                       "takes a few seconds): the accuracy curve grows here as each epoch finishes.",
                       icon=":material/play_circle:")
else:
    s, hist = run["settings"], run["history"]
    with progress_slot.container():
        if run["settings"] != settings:
            st.caption("Showing the last run (settings changed since; press **Train** to run them).")
        if run["diverged"]:
            st.error(f"Training stopped: {run['diverged']}", icon=":material/error:")
        if hist:
            ui.plot(accuracy_figure(hist, s["epochs"]), key="mnist_curve", height=320)
            last = hist[-1]
            c1, c2, c3 = st.columns(3)
            c1.metric("Test accuracy", f"{last['test_acc']:.2%}")
            c2.metric("Train accuracy", f"{last['train_acc']:.2%}")
            c3.metric("Test loss", f"{last['test_loss']:.4f}")
    with L.below:
        if hist:
            last = hist[-1]
            if last["test_acc"] < 0.2 and run.get("diagnosis"):
                d = run["diagnosis"]  # measured during the run: loss before, largest batch loss, after; dead units
                why = {
                    "diverged": "The loss turned inf or nan (see above): the steps are far too large. Lower the "
                                "learning rate and train again.",
                    "too_large": f"The steps are too large: the batch loss jumped from {d['start_loss']:.4f} (before "
                                 f"training) to {d['peak_loss']:.4g} at step {d['peak_step']:,} and ended at "
                                 f"{d['end_loss']:.4f}. Lower the learning rate and train again.",
                    "barely_moved": f"The steps are too small or too few: after {d['steps']:,} step"
                                    f"{'' if d['steps'] == 1 else 's'} at lr {s['lr']:g} the training loss went from "
                                    f"{d['start_loss']:.4f} to only {d['end_loss']:.4f}. Raise the learning rate, use "
                                    "smaller batches (more steps per epoch) or train more epochs.",
                    "fell": f"The training loss did fall, from {d['start_loss']:.4f} to {d['end_loss']:.4f}, but not "
                            "yet far enough to tell digits apart: train longer.",
                }[d["kind"]]
                dead, h = d["dead_units"], d["hidden"]
                if dead is None:
                    dead_note = ""
                elif dead == h:
                    dead_note = (f" All {h} hidden ReLUs now output 0 for every training image (dead): no gradient "
                                 "reaches the weights before them, only the output bias can still change.")
                elif dead:
                    dead_note = (f" {dead} of the {h} hidden ReLUs now output 0 for every training image (dead): no "
                                 "gradient gets through them any more.")
                else:
                    dead_note = f" None of the {h} hidden ReLUs is dead: each one fires for some training image."
                st.warning(f"Test accuracy {last['test_acc']:.2%} is near chance (10% for 10 digits): the network "
                           f"has not learned to read digits. {why}{dead_note}", icon=":material/trending_down:")
            ui.stat_table([{"epoch": h["epoch"], "mean batch loss": round(h["mean_batch_loss"], 4),
                            "train loss": round(h["train_loss"], 4), "train accuracy": f"{h['train_acc']:.2%}",
                            "test loss": round(h["test_loss"], 4), "test accuracy": f"{h['test_acc']:.2%}"}
                           for h in hist])
            left, right = st.columns(2)
            with left:
                cm = run["confusion"]
                fig = px.imshow(cm, text_auto=True, color_continuous_scale="Blues",
                                labels=dict(x="predicted digit", y="true digit", color="images"),
                                x=list(range(10)), y=list(range(10)), title="Confusion matrix on the held-out images")
                ui.digit_axis(ui.digit_axis(fig, "x"), "y")
                ui.plot(fig, key="mnist_confusion", height=460)
                off = [(cm[t][p], t, p) for t in range(10) for p in range(10) if t != p]
                count, t, p = max(off)
                st.caption(f"Rows: the true digit; columns: what the network said. The diagonal is right. "
                           f"Most common mistake: a {t} read as a {p} ({count} times).")
            with right:
                idx, preds = run["wrong"]
                st.markdown(f"**Held-out digits it got wrong** (first {len(idx)})")
                if not idx:
                    st.success("No mistakes on the held-out images.", icon=":material/check_circle:")
                cols = st.columns(6)
                for j, (i, p) in enumerate(zip(idx, preds)):
                    with cols[j % 6]:
                        st.image(data.to_float(X_test[i]).reshape(28, 28).numpy(), clamp=True, width=56)
                        st.caption(f"true {int(y_test[i])}, said {p}")
        st.download_button("Download the trained weights (.pt)", run["weights"], file_name="mnist_mlp_state_dict.pt",
                           key="mnist_weights", icon=":material/download:",
                           help="A state_dict for nn.Sequential(nn.Linear(784, H), nn.ReLU(), nn.Linear(H, 10)): "
                                "load it with model.load_state_dict(torch.load(file)).")
        ui.download_script(exports.fill("ch07_mnist", s), "ch07_mnist.py", key="mnist_script")
        st.caption(f"Run settings: {OPTIMIZERS[s['optimizer']]}, lr {s['lr']:g}, batch {s['batch_size']}, "
                   f"{s['epochs']} epochs, {s['hidden']} hidden units, seed {s['seed']}.")


# ------------------------------------------------------------------ predict, then try
@st.cache_data(max_entries=4, show_spinner=False)
def lr10_probe(n_train, hidden, seed, n=2000):
    """One epoch on the first n training images: plain SGD at lr 10 against Adam at 0.001 (test accuracy)."""
    runs = {name: mnist_runs.train_with_history(X_train[:n], y_train[:n], X_test, y_test, hidden=hidden,
                                                optimizer=name, lr=rate, batch_size=64, epochs=1, seed=seed)
            for name, rate in (("sgd", 10.0), ("adam", 1e-3))}
    return {name: (r["history"][-1]["test_acc"] if r["history"] else None, r["diverged"], r["steps"])
            for name, r in runs.items()}


probe = lr10_probe(len(X_train), hidden, seed)
(sgd_acc, sgd_diverged, probe_steps), (adam_acc, _, _) = probe["sgd"], probe["adam"]
sgd_said = f"stopped: {sgd_diverged}" if sgd_acc is None else f"reached {sgd_acc:.2%} test accuracy"
ui.predict("ch7b_sgd10", "Plain SGD at learning rate 10, one epoch: how well will it read the held-out digits?",
           ["Better than Adam at 0.001", "Worse, but it still learns", "Near chance (about 10%)"],
           2 if sgd_acc is None or sgd_acc < 0.2 else 0 if sgd_acc >= adam_acc else 1,
           f"Measured here on the first {min(2000, len(X_train)):,} training images ({probe_steps} steps, {hidden} "
           f"hidden units, seed {seed}): SGD at lr 10 {sgd_said}; Adam at 0.001 reached {adam_acc:.2%}. Try it: "
           "set plain SGD and lr 10, then Train.")

# ------------------------------------------------------------------ optimizer race
st.header("Optimizer race")
st.markdown("Three copies of the same network, same starting weights, same mini-batches in the same order; "
            "only the update rule differs. Each runs at its usual learning rate: "
            + ", ".join(f"{OPTIMIZERS[k]} {v:g}" for k, v in mnist_runs.RACE_LR.items()) + ".")
race_steps = ui.select_slider("Steps", [50, 100, 250, 500, 1000], 250, key="mnist_race_steps")
if st.button("Race", key="mnist_race", icon=":material/sprint:"):
    bar = st.progress(0.0, text="Racing...")
    curves = mnist_runs.race(X_train, y_train, hidden=hidden, batch_size=min(batch_size, len(X_train)),
                             steps=race_steps, seed=seed, progress=lambda f, msg: bar.progress(f, text=msg))
    bar.empty()
    st.session_state["mnist_race_result"] = {"curves": curves, "steps": race_steps, "batch_size": batch_size,
                                             "seed": seed, "hidden": hidden}
race = st.session_state.get("mnist_race_result")
if race is None:
    st.caption("Press **Race** to train all three side by side.")
else:
    fig = go.Figure()
    rows = []
    for name, losses in race["curves"].items():
        steps = list(range(1, len(losses) + 1))
        fig.add_trace(go.Scatter(x=steps, y=losses, mode="lines", name=f"{OPTIMIZERS[name]} (each step)",
                                 line=dict(color=ui.COLORS[name], width=1), opacity=0.3, showlegend=False))
        fig.add_trace(go.Scatter(x=steps, y=mnist_runs.moving_average(losses, 20), mode="lines",
                                 name=OPTIMIZERS[name], line=dict(color=ui.COLORS[name], width=3)))
        tail = losses[-20:]
        rows.append({"optimizer": OPTIMIZERS[name], "lr": mnist_runs.RACE_LR[name], "steps run": len(losses),
                     "first loss": round(losses[0], 4) if losses else None,
                     "mean loss, last 20 steps": round(sum(tail) / len(tail), 4) if tail else None})
    fig.update_layout(title="Training loss per step (thick: average of the last 20 steps)",
                      xaxis_title="step", yaxis_title="cross-entropy loss")
    ui.plot(fig, key="mnist_race_plot", height=380)
    ui.stat_table(rows)
    st.caption(f"{race['steps']} steps, batches of {race['batch_size']}, {race['hidden']} hidden units, "
               f"seed {race['seed']}. All three start from the same loss because they start from the same weights.")

ui.explain(
    """
**One epoch** is one pass over all training images: `randperm` shuffles the row numbers, the loop cuts
them into batches `xb [B, 784]`, `yb [B]`, and for each batch runs forward (`[B, 784] -> [B, H] -> [B, 10]`),
the cross-entropy loss, the hand-written backward pass and one optimizer step.

**Train vs test accuracy.** Accuracy on the training images says how well the network fits what it saw;
accuracy on the held-out images says how well it reads digits it never saw. When the first keeps rising
and the second stalls, the network is starting to memorise rather than learn.

**Learning rate.** Too small and little happens in a few epochs. Too large and the first steps fling
the weights so far that the loss jumps up, hidden units die (ReLU outputs 0 for every image) and accuracy
falls to chance, or the numbers overflow to inf and the loop stops itself. Try plain SGD at 10.

**Confusion matrix.** Each row is a true digit, each column a prediction; off-diagonal cells are the
mistakes. 4/9, 3/5 and 7/2 are classic confusions: look at the gallery to see why.
""")
ui.show_source(train.train_step, mnist_runs.train_with_history, mnist_runs.race)
