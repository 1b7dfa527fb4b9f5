"""Page 7's parts around the live picture: the learner's own CSV (upload, refusal, fallback), the shared frame
lock and points layer, the live view's curves, numbers and unit caption (from arguments), and the measured MNIST
run behind a button. Widgets and messages only; the numbers come from datasets.points_csv, labs.ch07_training and
labs.ch07_mnist.
"""
import hashlib
import math
import threading

import streamlit as st

import ui
from core import data, optim
from datasets import mnist_files, points_csv
from labs import ch07_mnist, ch07_training
from ui import pictures, ch07_training_figures


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


def code_text(text):
    """A file name, column name or label from the visitor's file, shown as code: one line (a blank line would
    end the code span), no backtick (it would close it), at most 40 characters."""
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in str(text)).split())
    return "`" + line.replace("`", "'")[:40] + "`"


def upload_panel(choice, fallback):
    """The uploader, the example file, the format and what was understood of the file (or why it was refused).
    Returns the parsed file this run trains on (kept per session in st.session_state["tr_csv_data"]) or None."""
    upload = st.file_uploader("Your points (CSV)", type=["csv"], key="tr_csv", max_upload_size=2,
                              on_change=_forget_upload,
                              help=f"At most {points_csv.CSV_MAX_ROWS:,} points and "
                                   f"{points_csv.CSV_MAX_BYTES / 1e6:g} MB. A file stays in this browser "
                                   "session only and cannot travel in a link.")
    st.download_button("Example: a 3-arm spiral", example_csv(), file_name="spiral_example.csv", mime="text/csv",
                       on_click="ignore", icon=":material/download:", key="tr_csv_example",
                       help="300 points in 3 classes, in the format below.")
    with st.popover("File format", icon=":material/description:"):
        st.markdown(
            "A text file, one point per row under a header row, e.g.\n\n"
            "```\nx,y,label\n0.52,-1.30,cat\n1.75,0.08,dog\n```\n"
            f"{points_csv.CSV_RULE} {points_csv.CSV_MIN_POINTS} to {points_csv.CSV_MAX_ROWS:,} points, 2 to "
            f"{points_csv.CSV_MAX_CLASSES} classes, at least {points_csv.CSV_MIN_PER_CLASS} points per class.")
    if upload is not None:
        parsed, problem = read_upload(upload.getvalue())
        if problem:
            st.session_state.pop("tr_csv_data", None)
            st.error(f"**{code_text(upload.name)} cannot be used.** {problem}", icon=":material/error:")
        else:
            st.session_state["tr_csv_data"] = dict(parsed, name=upload.name)
    uploaded = st.session_state.get("tr_csv_data")
    if uploaded is None:
        st.info(f"**No usable file yet, so the page trains on the {fallback} dataset meanwhile.** Upload a "
                "CSV above, or download the example and upload that. (A shared link can choose "
                f"'{choice}' but cannot carry the file itself.)", icon=":material/upload_file:")
        return None
    cols = uploaded["columns"]
    counts = uploaded["y"].bincount(minlength=len(uploaded["classes"])).tolist()
    classes = ", ".join(f"{code_text(name)} -> {k} ({n})"
                        for k, (name, n) in enumerate(zip(uploaded["classes"], counts)))
    st.success(f"**{code_text(uploaded['name'])}: {len(uploaded['y'])} points, {len(counts)} classes.** "
               f"Coordinates from columns {code_text(cols['x1'])} and {code_text(cols['x2'])}, labels from "
               f"{code_text(cols['label'])}"
               + (f" (ignored: {', '.join(map(code_text, cols['ignored']))})" if cols["ignored"] else "")
               + f". Class -> number (points): {classes}.", icon=":material/check_circle:")
    st.caption("The network trains on standardised coordinates, (value - mean) / std with the mean and "
               "std of the training points, so that the learning rates suit any units. The "
               "plots show your own numbers."
               + (" Using the file uploaded earlier in this session; upload another to replace it."
                  if upload is None else ""))
    return uploaded


# ------------------------------------------------------------------ shared by every playing session
@st.cache_resource
def frame_lock():
    """One lock per server: the frames of all playing students train one at a time. Each step is some 50
    small torch calls, each of which lets go of the GIL and takes it back; 30 sessions doing that at
    once spend more time handing the GIL around than training."""
    return threading.Lock()


@st.cache_resource(max_entries=16, show_spinner=False)
def points_layer(data_key, class_rgb, size, _d):
    """The live picture's training and test points, drawn once per dataset and split (read-only)."""
    return pictures.points_layer(_d["xs"], _d["ys"], _d["P_train"], _d["y_train"], _d["P_test"], _d["y_test"],
                                 list(class_rgb), size=size)


# ------------------------------------------------------------------ the same loop on MNIST (measured, on request)
@st.cache_data(max_entries=4, show_spinner=False)
def mnist_reference(source, n_train, settings):
    """labs.ch07_mnist.train_with_history on the app's MNIST split, with a progress bar per epoch.

    Cached per server: the first visitor to press the button waits, everyone after gets the numbers.
    (The bar lives inside the cached function, so a cache hit replays it as already finished.)
    """
    X_train, y_train, X_test, y_test, _ = ui.mnist_train_test()
    bar = st.progress(0.0, text=f"Training 784-{settings['hidden']}-10 on {n_train:,} images...")

    def per_epoch(history):
        bar.progress(len(history) / settings["epochs"], text=f"Epoch {len(history)} of {settings['epochs']} done")

    run = ch07_mnist.train_with_history(X_train, y_train, X_test, y_test, on_epoch=per_epoch, **settings)
    bar.empty()
    return {"history": run["history"], "diverged": run["diverged"], "n_train": len(X_train),
            "n_test": len(X_test), "source": source}


def mnist_section():
    """Does the loop scale to digits? A button that trains page 7b's network for REFERENCE_RUN's epochs here."""
    ref = ch07_mnist.REFERENCE_RUN
    here = ("full MNIST (60,000 training images, 10,000 test images)." if mnist_files.mnist_available("train") else
            "the MNIST images this server has: the 10,000-image test split, first 8,000 to train on, last 2,000 "
            "held out." if mnist_files.mnist_available("test") else
            "MNIST, once this server has its files (it has none now: page 7b says how to get them).")
    st.subheader("The same loop on MNIST")
    st.markdown("Does this loop scale to real data? Page 7b trains on handwritten digits with "
                "`core.train.train_step`: the same forward pass, cross-entropy, hand-written backward pass and Adam "
                "update as the step above with its default settings, on 784-pixel rows. The button trains a "
                f"784-{ref['hidden']}-10 network with it for {ref['epochs']} epochs here and now ({ref['optimizer']}, "
                f"learning rate {ref['lr']:g}, batches of {ref['batch_size']}, seed {ref['seed']}: page 7b's "
                f"settings apart from the epochs) and reports the held-out accuracy it reaches on {here}")
    if st.button(f"Train {ref['epochs']} epochs on MNIST", key="tr_mnist", icon=":material/play_arrow:"):
        try:
            X_train, _, X_test, _, source = ui.mnist_train_test()
        except mnist_files.MnistError as err:
            st.session_state["tr_mnist_result"] = {"error": str(err)}
        else:
            st.session_state["tr_mnist_result"] = mnist_reference(source, len(X_train), dict(ref))
    result = st.session_state.get("tr_mnist_result")
    if result is not None and "error" in result:
        st.warning("No MNIST files were found on this machine, so nothing was measured. Page 7b says how to "
                   "get them.", icon=":material/folder_off:")
    elif result is not None and result["diverged"]:
        st.error(f"Training stopped: {result['diverged']}", icon=":material/error:")
    elif result is not None:
        last = result["history"][-1]
        st.success(f"**Measured: {ref['epochs']} epochs reach {last['test_acc']:.2%} accuracy on "
                   f"{result['n_test']:,} held-out MNIST images** ({last['train_acc']:.2%} on the "
                   f"{result['n_train']:,} training images). Data: {result['source']}.",
                   icon=":material/check_circle:")
        if result["n_train"] < 60_000:
            st.caption(f"This server has only MNIST's test split, so the network learned from "
                       f"{result['n_train']:,} images. Full MNIST has 60,000 training images, and more examples "
                       "give a higher held-out accuracy: download it on page 7b and press the button again to "
                       "measure it.")


# ------------------------------------------------------------------ the data, shared read-only
@st.cache_data(max_entries=64, show_spinner=False)
def dataset_split(dataset, n_points, noise, seed, n_classes, test_fraction, grid, thumb, digest=None, _points=None):
    """labs.ch07_training.split_and_grids of a built-in dataset, or of an uploaded file (_points = (X, y), known
    to the cache by its digest, standardised with its training points' mean and std)."""
    X, y = data.make_2d(dataset, n=n_points, noise=noise, seed=seed, n_classes=n_classes) \
        if _points is None else _points
    return ch07_training.split_and_grids(X, y, test_fraction, seed, standardise=_points is not None, grid=grid,
                                         thumb=thumb)


# ------------------------------------------------------------------ predict, then try
@st.cache_data(max_entries=32, show_spinner=False)
def _probe(structure, config, steps, _sizes, _d):
    """labs.ch07_training.short_run from fresh weights with this config (cached per data, network and config)."""
    return ch07_training.short_run(_sizes, _d["X_train"], _d["y_train"], _d["X_test"], _d["y_test"], config, steps,
                          seed=structure[-1])


def predict_lr10(structure, config, sizes, d, steps=50):
    """'Set the learning rate to 10': the answer and why, measured by training both rates from the same weights."""
    now = _probe(structure, config, steps, sizes, d)
    hot = _probe(structure, dict(config, lr=10.0), steps, sizes, d)
    if hot["diverged"] or hot["end"] >= hot["start"]:
        answer = 2
        what = (f"it diverged. {hot['diverged']}" if hot["diverged"] else
                f"the training loss went from {hot['start']:.4f} up to {hot['end']:.4f} in {hot['steps']} steps.")
    else:
        answer = 0 if now["end"] is None or hot["end"] < now["end"] else 1
        what = f"the training loss went from {hot['start']:.4f} to {hot['end']:.4f} in {hot['steps']} steps."
    base = (f"At lr {config['lr']:g} it went to {now['end']:.4f}." if now["end"] is not None else
            f"At lr {config['lr']:g} it diverged too.")
    ui.predict("ch7_lr10", f"Keep these settings but set the learning rate to 10. What will the loss do in the first "
               f"{steps} steps?",
               ["Fall faster than now", "Fall about as fast, or slower", "Jump up or blow up (diverge)"],
               answer, f"Measured from the same fresh weights: at lr 10 {what} {base} Try it: set the learning rate "
               "to 10 and press Play.")


# ------------------------------------------------------------------ messages and tables below the picture
def diverged_message(reason, on_reset_lower):
    st.error(f"**Training diverged and was halted.** {reason} A learning rate this large makes "
             "each step overshoot: the update jumps past the bottom of the loss valley onto the far wall, "
             "higher than where it started, so the next gradient is larger still and every step "
             "amplifies the last until the numbers overflow. To recover, press **Reset** and lower the "
             "learning rate (Adam and momentum usually want 0.001 to 0.03 here).", icon=":material/error:")
    st.button("Reset with a learning rate 10 times smaller", key="tr_reset_lower", icon=":material/south:",
              on_click=on_reset_lower)


@st.cache_data(max_entries=64, show_spinner=False)
def step_lines(config, sizes):
    """labs.ch07_training.lines_per_part of one real step with these settings, plus a total row."""
    parts = ch07_training.lines_per_part(ch07_training.step_anatomy(config, tuple(sizes)))
    total = {"part": "one whole step", "functions": f"{sum(len(p['functions']) for p in parts)} functions",
             "lines": sum(p["lines"] for p in parts)}
    return [dict(p, functions=", ".join(p["functions"])) for p in parts] + [total]


def step_lines_section(config, sizes, names):
    """How many lines each part of one step takes, counted in the source of the functions a real step called."""
    st.subheader("How many lines each part of the step takes")
    parts = step_lines(config, sizes)
    ui.stat_table(parts)
    st.caption(f"Counted in the `core` source of every function one step with these settings called "
               f"({names}), recorded while a real step ran: lines that are not "
               f"blank, not only a comment and not a docstring. `live_step` itself is {parts[0]['lines']} of "
               f"them; the rest is what it calls. Change the optimizer, loss or activation and the table follows.")


def explain_loop(width):
    ui.explain(
        f"""
**One step of the loop**, as the code below runs it (B = batch size, C = classes):

1. `next_batch`: the next B rows of a shuffled epoch, `xb [B, 2]`, `yb [B]`. When the epoch's
   permutation is used up, a new one is drawn: one epoch = every training point once.
2. `forward`: `xb @ W1 + b1 -> [B, {width}]`, the activation, ... , then `@ W_last + b_last -> logits [B, C]`.
3. `loss_and_grad`: the loss and its gradient with respect to the logits, `[B, C]` (`core.losses.LOSSES`).
4. `chain_rule`: from the logits down to every `W` and `b`, same shapes as the weights: page 4's backward pass.
5. the optimizer step moves every weight against its gradient, scaled by the learning rate of this step.

The curves are measured on the *whole* training and test sets after each frame, not on one batch. After
**Reset** the last run stays on the curves, dashed and faint, so that a changed setting can be compared.

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
{ch07_training.BLOWUP:g} times its first value. Try SGD with learning rate 10 and an MSE loss, or Adam at 10.
""")


# ------------------------------------------------------------------ the session's run, and the previous one
def keep_ghost():
    """The run about to be dropped becomes the faint 'previous run' on the curves (if it trained at all)."""
    old = st.session_state.get("tr_state")
    if old is not None and old["step"] > 0:
        st.session_state["tr_ghost"] = {"history": {k: list(v) for k, v in old["history"].items()},
                                        "label": old.get("label", "")}


def session_run(structure, new_state):
    """This session's training state: kept while the data and the network stay the same (`structure`), else
    new_state() (the old run kept as the ghost)."""
    if st.session_state.get("tr_state") is None or st.session_state.get("tr_structure") != structure:
        if st.session_state.get("tr_structure") not in (None, structure):
            keep_ghost()
            st.toast("The data or the network changed: training starts again from fresh weights.",
                     icon=":material/restart_alt:")
        st.session_state["tr_state"], st.session_state["tr_structure"] = new_state(), structure
    return st.session_state["tr_state"]


def play():
    st.session_state["tr_playing"] = True


def pause():
    st.session_state["tr_playing"] = False


def reset():
    keep_ghost()
    st.session_state["tr_state"] = None
    st.session_state["tr_playing"] = False


def reset_lower_lr(options, default):
    """Reset, and move the learning-rate control two options down (10x smaller on the page's 1-3 scale)."""
    reset()
    current = st.session_state.get("tr_lr", default)
    st.session_state["tr_lr"] = options[max(options.index(current) - 2, 0)] if current in options else default


def curves_caption(h, ghost, n_classes, cross_entropy):
    """What the picture and the curves show; at step 0, the untrained network's starting loss."""
    if h["step"][-1] == 0:
        chance = (f" (a network that guesses evenly scores ln {n_classes} = {math.log(n_classes):.4f})"
                  if cross_entropy else "")
        st.caption(f"**Step 0: the untrained network.** Its random weights already split the plane (the coloured "
                   f"background); its loss on the training points is {h['train_loss'][0]:.4f}{chance}. Press "
                   "**Play** or **Step**." + (f" Dashed and faint on the curves: the previous run ({ghost['label']})."
                                         if ghost else ""))
    else:
        gap = h["train_acc"][-1] - h["test_acc"][-1]
        st.caption(f"Background: what the network predicts; dots: training points, crosses: test points (they "
                   f"never take part in a step). Curves: blue on the training points, pink on the test points, "
                   f"after each frame; train/test accuracy gap {gap:+.1%}."
                   + (f" Dashed and faint: the previous run ({ghost['label']})." if ghost else ""))


# ------------------------------------------------------------------ the live view's curves, numbers and units
def live_curves(h, ghost, show_lr):
    """Loss and accuracy by step (the previous run's history `ghost` dashed and faint), and with show_lr the
    learning rate by step: Vega-Lite charts that keep their place between frames."""
    big = ui.presenter()
    for name, title, log in (("loss", "loss (log scale) by step", True), ("acc", "accuracy by step", False)):
        st.vega_lite_chart(ch07_training_figures.curves_table(h, name, ghost and ghost["history"]),
                           ch07_training_figures.curve_spec(title, log, big=big, points=len(h["step"]) < 2,
                                                       ghost=bool(ghost)),
                           key=f"tr_live_{name}")
    if show_lr:
        st.vega_lite_chart(ch07_training_figures.lr_table(h), ch07_training_figures.lr_spec(), key="tr_live_lr")


def live_metrics(state, config):
    """Step, epoch, the last measured losses and accuracies, and the learning rate the next step will use."""
    h = state["history"]
    lr_now = optim.scheduled_lr(config["lr"], state["step"], config["schedule"], config["total_steps"],
                                config["step_size"], config["gamma"])
    row = st.container(horizontal=True, gap="small")   # one block that wraps, not 2 rows of 4 columns (8 blocks)
    for label, value in (("Step", state["step"]), ("Epoch", state["epoch"]),
                         ("Train loss", f"{h['train_loss'][-1]:.4f}"), ("Test loss", f"{h['test_loss'][-1]:.4f}"),
                         ("Train accuracy", f"{h['train_acc'][-1]:.1%}"),
                         ("Test accuracy", f"{h['test_acc'][-1]:.1%}")):
        row.metric(label, value)
    row.metric("Learning rate now", f"{lr_now:.3g}", help="The learning rate the next step will use.")


def units_caption(width, activation, max_units):
    """What the sheet of hidden-unit maps shows."""
    st.caption(f"Units 1 to {min(width, max_units)} of hidden layer 1 (left to right, then the next row), each "
               "over the same plane as the picture above (orange: positive, blue: negative, white: zero, each "
               f"on its own scale). Each unit computes {activation}(w1 x1 + w2 x2 + b), so its edge is always a "
               "straight line; the layers after it combine these lines into the curved boundary. An all-white "
               "ReLU unit is dead.")
