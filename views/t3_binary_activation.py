"""Tutorials 001 + 003: a binary classifier with a sigmoid output, a hand-made layer, and an activation you type."""
import math

import streamlit as st
import torch

import exports
import ui
from core import data, losses, network
from labs import t3_binary_activation as lab
from ui import t3_figures as figures

L = ui.page("Binary classifier & your own activation",
            "Type a formula in x: it becomes the hidden activation of a yes/no classifier, trained here on 2-D points.")

PRESETS = {
    "SmoothStep": lab.SMOOTHSTEP,
    "ReLU": "relu(x)",
    "tanh": "tanh(x)",
    "Swish": "x*sigmoid(x)",
    "Gaussian bump": "exp(-x**2)",
    "Linear (no activation)": "x",
}

CHUNK = 50            # epochs per cached piece of a run
LIVE_SECONDS = 0.08   # a change trains at once when the estimate is below this (widget changes stay <= 150 ms)
OPEN_SECONDS = 2.0    # opening the page or a link trains up to this without asking
opening = "ca_hidden" not in st.session_state  # the page's first run in this visit (its widgets are not made yet)
with L.controls:
    text = ui.text_input("f(x) =", lab.SMOOTHSTEP, key="ca_f",
                         help="Numbers, x, + - * / **, and exp log sqrt sin cos tanh abs sigmoid softplus relu.")


def _use_preset(expression):
    st.session_state["ca_f"] = expression


with L.controls:
    with st.container(horizontal=True, gap="small"):
        for name, expression in PRESETS.items():
            st.button("Linear" if name.startswith("Linear") else name.replace("Gaussian bump", "Bump"),
                      key=f"ca_preset_{name}", on_click=_use_preset, args=(expression,), width="content",
                      help=f"{name}: f(x) = {expression}")
    dataset = ui.selectbox("Dataset", ["moons", "circles", "xor"], key="ca_data")
    hidden = ui.slider("Hidden units", 1, 64, 16, key="ca_hidden")
with L.more:
    lr = ui.select_slider("Learning rate (Adam)", [0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.3, 1.0, 3.0, 10.0],
                          0.05, key="ca_lr")
    epochs = ui.slider("Epochs (full batch)", 10, 1000, 300, step=10, key="ca_epochs")
    noise = ui.slider("Noise", 0.0, 0.5, 0.15, key="ca_noise")
    seed = ui.seed("ca_seed")

@st.cache_data(max_entries=200, show_spinner=False)
def analyse(text):
    """Parse the formula and compare its sympy derivative with autograd (cached per formula)."""
    act = lab.activation_from_formula(text)
    check = lab.compare_derivative(act)
    return {"expr": str(act["expr"]), "derivative": str(act["derivative"]), "pieces": lab.formula_pieces(act["expr"]),
            "x": check["x"].numpy(), "f": check["f"].numpy(), "symbolic": check["symbolic"].numpy(),
            "autograd": check["autograd"].numpy(), "max_abs_diff": check["max_abs_diff"]}


try:
    result = analyse(text)
except lab.FormulaError as err:
    with L.picture:
        st.error(f"That formula was not accepted: {ui.plain(err)}.", icon=":material/block:")  # it may quote the text
    st.stop()

class NotTrained(Exception):
    """That piece of the run is not in the cache yet (a look-up never trains)."""


@st.cache_data(max_entries=400, show_spinner=False)
def piece(run, end, _train=True):
    """Epochs end - CHUNK + 1 .. end of the run `run` = (text, dataset, hidden, lr, noise, seed), shared by every
    session; it continues from the cached piece before it. _train=False only looks up: a miss raises NotTrained."""
    if not _train:
        raise NotTrained
    start = None if end == CHUNK else piece(run, end - CHUNK)
    return lab.continue_run(*run, CHUNK, start)


def ends(epochs):
    """The pieces that cover `epochs` epochs (the last one may run past them: the result is cut there)."""
    return list(range(CHUNK, math.ceil(epochs / CHUNK) * CHUNK + 1, CHUNK))


def missing(run, epochs):
    """The ends of the pieces of `run` up to `epochs` not yet cached (after the first miss, all are)."""
    for i, end in enumerate(ends(epochs)):
        try:
            if piece(run, end, _train=False)["diverged"]:
                return []            # the run stopped in this piece: nothing after it is needed
        except NotTrained:
            return ends(epochs)[i:]
    return []


@st.cache_data(max_entries=100, show_spinner=False)
def train(run, epochs):
    """The classifier after `epochs` epochs of `run`, and what the page shows of it (from the cached pieces)."""
    text, dataset, hidden, lr, noise, seed = run
    pieces = []
    for end in ends(epochs):
        pieces.append(piece(run, end))
        if pieces[-1]["diverged"]:
            break
    history, model = lab.run_after(pieces, epochs, text, hidden, seed)
    X, y = data.make_2d(dataset, n=300, noise=noise, seed=seed)
    axis, grid = lab.probability_grid(model)
    with torch.no_grad():
        probs = network.sigmoid(model(X).squeeze(1))
        finite = bool(torch.isfinite(probs).all())
        ours = float(losses.binary_cross_entropy(probs, y.float())) if finite else float("nan")
        theirs = float(torch.nn.functional.binary_cross_entropy(probs, y.float())) if finite else float("nan")
    return {"X": X.numpy(), "y": y.numpy(), "history": history, "axis": axis.numpy(), "grid": grid.numpy(),
            "bce_ours": ours, "bce_torch": theirs,
            "weights": None if history["diverged"] else lab.weights_file(model)}


# The run for these settings and the linear one on circles (the prediction below) are trained in pieces of CHUNK
# epochs, cached for every session: fewer epochs cut a cached run, more continue it. What is missing is trained
# at once when the estimate is under LIVE_SECONDS (OPEN_SECONDS when the page opens or a link is followed), else
# after the Train button, with a progress bar (none inside a cached function: Streamlit would replay it).
runs = [(text, dataset, hidden, lr, noise, seed), ("x", "circles", hidden, lr, noise, seed)]
todo = [(run, end) for run in dict.fromkeys(runs) for end in missing(run, epochs)]
trained = True
if todo:
    pieces_of = {text: result["pieces"], "x": 1}
    estimate = sum(CHUNK * lab.estimated_seconds_per_epoch(pieces_of[run[0]], hidden) for run, _ in todo)
    with L.picture:
        slot = st.empty()
        with slot.container():
            if estimate > (OPEN_SECONDS if opening else LIVE_SECONDS):
                names = {runs[1]: "the linear one on circles, for the prediction", runs[0]: "this classifier"}
                who = " and ".join(dict.fromkeys(names[run] for run, _ in todo))
                st.info(f"These settings need {CHUNK * len(todo):,} more epochs of training ({who}): about "
                        f"{estimate:.1f} s of computing, so they wait for the button.", icon=":material/timer:")
                trained = st.button("Train", type="primary", icon=":material/play_arrow:", key="ca_train_now")
        if trained:
            slot.empty()
            bar = st.progress(0.0, text="Training...")
            for k, (run, end) in enumerate(todo):
                piece(run, end)
                bar.progress((k + 1) / len(todo), text=f"Training: {k + 1} of {len(todo)} pieces of {CHUNK} epochs")
            bar.empty()

run = train(runs[0], epochs) if trained else None

if run is not None:
    hist = run["history"]
    if hist["diverged"]:
        with L.picture:
            st.warning(f"Training stopped: {hist['diverged']}. The activation or the learning rate blew the numbers "
                       "up (try a smaller learning rate, or an activation that grows more slowly).",
                       icon=":material/warning:")
    m = st.columns(4)
    m[0].metric("Final training loss (BCE)", f"{hist['loss'][-1]:.4f}" if hist["loss"] else "n/a")
    m[1].metric("Training accuracy", f"{hist['accuracy'][-1]:.1%}" if hist["accuracy"] else "n/a")
    m[2].metric("Epochs run", len(hist["loss"]))
    m[3].metric("|our BCE - F.binary_cross_entropy|", f"{abs(run['bce_ours'] - run['bce_torch']):.1e}"
                if all(map(lambda v: v == v, (run["bce_ours"], run["bce_torch"]))) else "n/a")

    with L.picture:
        ui.plot(figures.classifier_figure(run["axis"], run["grid"], run["X"], run["y"], hist["loss"]),
                key="ca_train")

    linear = train(runs[1], epochs)["history"]
    lin_acc = linear["accuracy"][-1] if linear["accuracy"] else float("nan")
    ui.predict("t3_linear_circles", "With no activation (f(x) = x), can the network separate the circles?",
               ["Yes, nearly every point right", "No: it can only draw a straight boundary"],
               answer=0 if lin_acc >= 0.9 else 1,
               why=(f"Trained here on circles with f(x) = x, {hidden} hidden units, {len(linear['loss'])} epochs: "
                    f"{lin_acc:.1%} training accuracy. Without a non-linear activation the two layers collapse into "
                    "one linear map, so the boundary is a straight line. Press the Linear button and pick circles to "
                    "see it."))


st.subheader("Your activation and its derivative")
c1, c2 = st.columns([1, 2])
with c1:
    st.markdown(f"**f(x)** = `{result['expr']}`")
    st.markdown(f"**f'(x)** (sympy) = `{result['derivative']}`")
    st.metric("max |sympy f' - autograd f'| on [-2, 2]", f"{result['max_abs_diff']:.2e}")
with c2:
    ui.plot(figures.activation_figure(result["x"], result["f"], result["symbolic"], result["autograd"]),
            key="ca_fplot")

d1, d2 = st.columns(2)
with d1:
    script = exports.fill("t3_binary_activation", dict(formula=text, dataset=dataset, hidden=hidden, lr=lr,
                                                       epochs=epochs, noise=noise, seed=seed))
    ui.download_script(script, "t3_binary_activation.py", key="ca_dl_script")
with d2:
    if run is not None and run["weights"] is not None:
        st.download_button("Download the weights (nn.Sequential state_dict)", run["weights"],
                           file_name="binary_activation_weights.pt", icon=":material/download:", key="ca_dl_weights")
st.caption("The script parses the same formula with `labs.t3_binary_activation` (never `eval`), "
           "retrains this classifier with the "
           "`core` package (run it from the repository root) and prints the numbers above."
           + (f" The weights file is a state_dict for `nn.Sequential(nn.Linear(2, {hidden}), "
              f"t3_binary_activation.Activation(f), nn.Linear({hidden}, 1))`, with "
              "`f = t3_binary_activation.activation_from_formula(text)['f']`: load it with "
              "`model.load_state_dict(torch.load('binary_activation_weights.pt'))`."
              if run is not None and run["weights"] is not None else ""))

st.subheader("3 · A layer made of nn.Parameter is nn.Linear")
check = st.cache_data(show_spinner=False)(lab.compare_custom_linear)()   # the same numbers for everyone: once
ui.stat_table([{"compared with nn.Linear": k, "max abs difference": v} for k, v in check.items()
               if k != "parameters found"])
st.caption(f"`model.parameters()` finds {check['parameters found']} tensors in one CustomLinear "
           "(weight and bias) because they are wrapped in `nn.Parameter`"
           f"; this classifier has {lab.n_parameters(hidden):,} numbers to learn.")

ui.explain(
    "**Sigmoid + binary cross-entropy.** With two classes one output is enough: the sigmoid turns the "
    "logit z into p = 1 / (1 + e^-z), the probability of class 1, and the loss is "
    "-[t log p + (1 - t) log(1 - p)]. Its gradient with respect to z is simply p - t, the same shape of "
    "formula as softmax minus one-hot. Training uses the logit form of the same loss, which never takes "
    "log(0) even when p rounds to exactly 1.\n\n"
    "**Your activation.** The text is read as a syntax tree, checked against a short list of allowed "
    "pieces, built into a sympy expression, and evaluated with torch operations. sympy differentiates it "
    "symbolically; autograd records the torch operations as they run and applies the chain rule to each "
    "one: an exact derivative evaluated in floating point, not a finite-difference estimate. The metric above "
    "says how far apart the two are. An activation that is linear (try `x`) cannot bend the boundary: "
    "the network collapses into a "
    "single linear layer. SmoothStep is flat at 0 and 1 and grows like x^5 outside, so a large learning rate "
    "can make it blow up."
)
ui.show_source(lab.check_formula, lab.to_torch, lab.CustomLinear, lab.train_binary,
               losses.bce_with_logits, losses.binary_cross_entropy)
