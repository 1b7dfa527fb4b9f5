"""Chapter 7b: the from-scratch training loop on real MNIST digits."""
import logging

import streamlit as st

import exports
import ui
from core import data, network, train
from datasets import mnist_files
from labs import ch07_mnist as lab
from ui import ch07_mnist_figures

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


# ------------------------------------------------------------------ the picture: sample digits, then the growing curve
with L.picture:
    strip_idx = lab.samples_per_digit(y_train, per_digit=2)                     # 20 rows of X_train
    st.image(ch07_mnist_figures.digit_strip(X_train, strip_idx), width="stretch")
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
            ui.plot(ch07_mnist_figures.accuracy_figure(history, epochs), key=f"mnist_progress_{len(history)}",
                    height=320)
            st.caption(f"Epoch {len(history)} of {epochs} done: held-out accuracy {history[-1]['test_acc']:.2%}.")

    result = lab.train_with_history(X_train, y_train, X_test, y_test, on_epoch=show_epoch,
                                           progress=lambda f, msg: bar.progress(f, text=msg), **settings)
    bar_slot.empty()
    params = result["params"]
    st.session_state["mnist_result"] = {
        # loads into nn.Sequential(Linear, ReLU, Linear)
        "weights": network.state_dict_bytes(lab.params_to_state_dict(params)),
        "settings": settings,
        "history": result["history"],
        "diverged": result["diverged"],
        "diagnosis": lab.diagnose(result),
        "confusion": lab.confusion(params, X_test, y_test).tolist(),
        "wrong": lab.misclassified(params, X_test, y_test, limit=24),
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
            ui.plot(ch07_mnist_figures.accuracy_figure(hist, s["epochs"]), key="mnist_curve", height=320)
            last = hist[-1]
            c1, c2, c3 = st.columns(3)
            c1.metric("Test accuracy", f"{last['test_acc']:.2%}")
            c2.metric("Train accuracy", f"{last['train_acc']:.2%}")
            c3.metric("Test loss", f"{last['test_loss']:.4f}")
    with L.below:
        if hist:
            last = hist[-1]
            if last["test_acc"] < 0.2 and run.get("diagnosis"):
                reason = lab.chance_reason(run["diagnosis"], s["lr"])  # from what the run measured
                st.warning(f"Test accuracy {last['test_acc']:.2%} is near chance (10% for 10 digits): the network "
                           f"has not learned to read digits. {reason}", icon=":material/trending_down:")
            ui.stat_table(lab.history_rows(hist))
            left, right = st.columns(2)
            with left:
                cm = run["confusion"]
                ui.plot(ch07_mnist_figures.confusion_figure(cm), key="mnist_confusion", height=460)
                count, t, p = lab.most_common_mistake(cm)
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
def lr10_probe(n_train, hidden, seed):
    """labs.ch07_mnist.lr10_probe on this server's split (n_train images: the cache knows which split)."""
    return lab.lr10_probe(X_train, y_train, X_test, y_test, hidden=hidden, seed=seed)


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
            + ", ".join(f"{OPTIMIZERS[k]} {v:g}" for k, v in lab.RACE_LR.items()) + ".")
race_steps = ui.select_slider("Steps", [50, 100, 250, 500, 1000], 250, key="mnist_race_steps")
if st.button("Race", key="mnist_race", icon=":material/sprint:"):
    bar = st.progress(0.0, text="Racing...")
    curves = lab.race(X_train, y_train, hidden=hidden, batch_size=min(batch_size, len(X_train)),
                             steps=race_steps, seed=seed, progress=lambda f, msg: bar.progress(f, text=msg))
    bar.empty()
    st.session_state["mnist_race_result"] = {"curves": curves, "steps": race_steps, "batch_size": batch_size,
                                             "seed": seed, "hidden": hidden}
race = st.session_state.get("mnist_race_result")
if race is None:
    st.caption("Press **Race** to train all three side by side.")
else:
    smoothed = {name: lab.moving_average(losses, 20) for name, losses in race["curves"].items()}
    ui.plot(ch07_mnist_figures.race_figure(race["curves"], smoothed, OPTIMIZERS), key="mnist_race_plot", height=380)
    ui.stat_table(lab.race_rows(race["curves"], OPTIMIZERS))
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
ui.show_source(train.train_step, lab.train_with_history, lab.race)
