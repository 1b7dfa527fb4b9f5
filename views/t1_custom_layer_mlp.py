"""Tutorial 001: a linear layer from nn.Parameter, a 784-128-64-10 MLP, and the overfitting gap."""
import streamlit as st

import exports
import ui
from datasets import mnist_files
from labs import t1_custom_layer_mlp as lab
from labs import t3_binary_activation
from ui import t1_figures

L = ui.page("Custom layer & a deeper MLP",
            "A 784-128-64-10 network built from your own layers, trained on real digits: watch the overfitting gap.")

@st.cache_resource(show_spinner="Loading MNIST...")
def mnist():
    """(train pool, held-out set, description); read-only, shared by every session. X as uint8 pixels 0..255."""
    return ui.mnist_train_test()


try:
    X_pool, y_pool, X_test, y_test, source = mnist()
except mnist_files.MnistError as err:
    ui.mnist_unreadable(err)
    st.stop()

with L.controls:
    n_train = ui.select_slider("Training images", [100, 250, 500, 1000, 2000, 4000, len(X_pool)], 500,
                               key="dm_n", help="how many MNIST training images the network learns from")
    epochs = ui.slider("Epochs", 1, 40, 15, key="dm_epochs")
    dropout = ui.slider("Dropout p", 0.0, 0.8, 0.0, step=0.05, key="dm_dropout",
                        help="dropout probability on both hidden layers")
    train = st.button("Train", type="primary", icon=":material/play_arrow:", key="dm_train")
with L.more:
    optimizer = ui.segmented("Optimizer", ["sgd", "adam"], "adam", key="dm_opt")
    lr = ui.select_slider("Learning rate", [0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.3, 1.0, 3.0, 10.0], 0.003,
                          key="dm_lr")
    seed = ui.seed("dm_seed")

settings = dict(n_train=n_train, epochs=epochs, dropout=dropout, optimizer=optimizer, lr=lr, seed=seed)
if train:
    model = lab.custom_mlp(dropout=dropout, seed=seed)
    with L.picture:
        bar = st.progress(0.0, text="Training...")
    history = []
    for row in lab.train_epochs(model, X_pool[:n_train], y_pool[:n_train], X_test, y_test,
                                       epochs=epochs, lr=lr, optimizer=optimizer, seed=seed):
        history.append(row)
        bar.progress(row["epoch"] / epochs, text=f"Epoch {row['epoch']} of {epochs}")
    bar.empty()
    finished = bool(history) and not history[-1]["diverged"]
    st.session_state["dm_result"] = {"settings": settings, "history": history,
                                     "weights": lab.weights_file(model) if finished else None}


@st.cache_data(max_entries=20, show_spinner=False)
def untrained_guesses(seed, source, _X, _y):
    """The first 16 of the digits _X and what the untrained network (from `seed`) guesses for each, and its share
    right on all of them (`source`, the data's description, keys the cache with the seed)."""
    return lab.untrained_guesses(_X, _y, seed)


result = st.session_state.get("dm_result")
history = [h for h in result["history"] if not h["diverged"]] if result else []
if not history:
    images, guesses, labels, right = untrained_guesses(seed, source, X_test[:256], y_test[:256])
    with L.picture:
        ui.plot(t1_figures.digits_strip(images, guesses, labels,
                              f"Before training (seed {seed}): {right:.0%} of 256 held-out digits right"),
                key="dm_digits")
with L.below:
    if result is None:
        st.info("Press **Train** to train the network with these settings.", icon=":material/play_arrow:")
if result is not None:
    if result["settings"] != settings:
        st.caption("These results are for the settings of the last run; press Train to rerun.")
    failed = [h for h in result["history"] if h["diverged"]]
    if failed:
        st.warning(f"Training stopped: {failed[0]['diverged']}. The learning rate is too large: each step "
                   "overshoots and the weights blow up. Lower it and press Train again.", icon=":material/warning:")
    if history:
        last = history[-1]
        with L.controls:
            st.metric("Training accuracy", f"{last['train_acc']:.1%}")
            st.metric("Held-out accuracy", f"{last['test_acc']:.1%}")
            st.metric("Gap (overfitting)", f"{last['gap']:.1%}", help="training accuracy minus held-out accuracy")
        fig = t1_figures.accuracy_figure([h["epoch"] for h in history], [h["train_acc"] for h in history],
                                         [h["test_acc"] for h in history])
        with L.picture:
            ui.plot(fig, key="dm_curves")
        ui.stat_table([{k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items() if k != "diverged"}
                       for h in history])
    d1, d2 = st.columns(2)
    with d1:
        ui.download_script(exports.fill("t1_custom_layer_mlp", result["settings"]), "t1_custom_layer_mlp.py",
                           key="dm_dl_script")
    weights = result.get("weights")
    with d2:
        if weights is not None:
            st.download_button("Download the weights (nn.Sequential state_dict)", weights,
                               file_name="deeper_mlp_weights.pt", icon=":material/download:", key="dm_dl_weights")
    st.caption("The script reruns the layer check and this training run with the `core` package (run it from the "
               "repository root) and prints the numbers above."
               + (" The weights file is a state_dict for `nn.Sequential(nn.Linear(784, 128), nn.ReLU(), "
                  "nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))` (dropout holds no weights and is off when "
                  "evaluating): `model.load_state_dict(torch.load('deeper_mlp_weights.pt'))`."
                  if weights is not None else ""))
st.caption(f"{ui.mnist_data_sentence(len(X_pool), len(X_test))} Evaluation runs in `model.eval()` mode "
           "inside `torch.no_grad()`.")

st.subheader("The layer and the network")
model0 = lab.custom_mlp(seed=0)
rows = lab.parameter_table(model0)
c1, c2 = st.columns([3, 2])
with c1:
    ui.stat_table(rows)
with c2:
    st.metric("Parameters found by model.parameters()", f"{sum(r['numbers'] for r in rows):,}")
    diff = lab.nn_linear_difference(model0, X_test[:256])
    st.metric("max |custom layers - nn.Linear| on 256 digits", f"{diff:.1e}")

ui.explain(
    "**nn.Parameter** is a tensor with a flag that says *learn me*: assigning one as an attribute of an "
    "`nn.Module` registers it, so `model.parameters()` finds it and the optimizer updates it. That is all "
    "`nn.Linear` does too, which is why the two agree above to rounding error "
    "(the last digits differ only because torch adds the bias inside one fused multiply-add).\n\n"
    "**Overfitting.** With few training images the network can memorise them: training accuracy climbs "
    "towards 100% while accuracy on new images stalls; the gap between the curves is what it memorised "
    "rather than learned. More data narrows it; dropout (switched off by `model.eval()` when evaluating) "
    "is another remedy.\n\n"
    "**Evaluation.** `model.eval()` turns dropout off; `torch.no_grad()` skips building the graph, since no "
    "gradient is needed to measure accuracy."
)
ui.show_source(t3_binary_activation.CustomLinear, lab.custom_mlp, lab.SeededDropout, lab.train_epochs,
               lab.evaluate)
