"""Chapter 8: the hand-written training loop and torch.nn, trained side by side."""
import math

import streamlit as st

import exports
import ui
from core import data, network, train
from labs import ch08_scratch_vs_nn as lab
from datasets import mnist_files
from ui import ch08_figures

LEAD = ("The reveal: one network trained twice from the same weights on the same batches, by our raw-tensor "
        "code and by torch.nn. Same numbers?")
L = ui.page("8 · Scratch vs torch.nn", LEAD)

LR_OPTIONS = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.02, 0.05, 0.1, 0.3, 1.0, 3.0, 10.0]
# Each optimizer's own usual learning rate (torch.optim.Adam's default is 1e-3; plain SGD on this network
# trains well at 0.1): picking an optimizer sets it, so the two runs agree for Adam as well as for SGD.
DEFAULT_LR = {"SGD": 0.1, "Adam": 0.001}
DATASETS = ["MNIST"] + data.DATASETS_2D
EPS = lab.EPS  # float32's rounding step for numbers near 1: 2^-23 = 1.19e-7
LIVE_SECONDS = 0.08   # a change retrains at once when the estimate is below this (widget changes stay <= 150 ms)
OPEN_SECONDS = 2.0    # opening the page or a link trains up to this without asking


def use_optimizers_default_lr():
    """on_change of the optimizer: its own default learning rate (a link naming sv_lr still wins on opening)."""
    st.session_state["sv_lr"] = DEFAULT_LR.get(st.session_state.get("sv_opt") or "SGD", 0.1)


opening = "sv_steps" not in st.session_state  # the page's first run in this visit (its widgets are not made yet)
with L.controls:
    dataset = ui.selectbox("Data", DATASETS, key="sv_data",
                           help="MNIST: images of the 10,000-image test split. The others: 2-D toy data.")
    opt_label = ui.segmented("Optimizer", ["SGD", "Adam"], "SGD", key="sv_opt", on_change=use_optimizers_default_lr,
                             help="Picking an optimizer sets its own default learning rate: "
                                  + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ".")
    lr = ui.select_slider("Learning rate", LR_OPTIONS, DEFAULT_LR[opt_label], key="sv_lr")
    st.caption(f"{opt_label}'s default learning rate is {DEFAULT_LR[opt_label]:g}"
               + ("" if lr == DEFAULT_LR[opt_label] else f"; this run uses {lr:g}") + ".")
    steps = ui.slider("Training steps", 10, 500, 100, step=10, key="sv_steps")
with L.more:
    batch_size = ui.slider("Batch size", 8, 256, 64, step=8, key="sv_batch")
    hidden = ui.slider("Hidden units", 8, 256, 128, step=8, key="sv_hidden")
    n_train = ui.slider("Training examples", 500, 8000, 2000, step=500, key="sv_n",
                        help="MNIST: the first N images; 2-D data: N points (a quarter more are held out).")
    seed = ui.seed("sv_seed")
optimizer = opt_label.lower()


class NotTrained(Exception):
    """No finished run for these settings in the cache yet (a look-up never trains)."""


@st.cache_data(max_entries=32, show_spinner=False)
def finished_run(settings, _result=None):
    """The finished comparison for `settings` (a tuple of every control's value), shared by all sessions.

    Store: pass _result, the run trained for exactly these settings (training is deterministic, so the value is
    a pure function of `settings`). Look up: leave it out; a miss raises NotTrained, and nothing is cached."""
    if _result is None:
        raise NotTrained
    return _result


def train_both(settings, bar):
    """Train both networks for `settings` with a progress bar, store the plain numbers and return them."""
    dataset, optimizer, lr, steps, batch_size, hidden, n_train, seed = settings
    # MNIST: the shared uint8 test split; only the rows used become float32
    mnist = ui.mnist_split("test") if dataset == "MNIST" else None
    X, y, X_test, y_test, source = lab.split(dataset, n_train, seed, mnist)
    result = lab.run_comparison(X, y, X_test, y_test, optimizer=optimizer, lr=lr, steps=steps, batch_size=batch_size,
                                hidden=hidden, seed=seed,
                                progress=lambda f: bar.progress(f, text=f"Training both networks: {f:.0%}"))
    return finished_run(settings, _result=dict(result, source=source))


def wait_or_train(settings, sizes, estimate, ask):
    """The finished run for `settings`, trained here with a progress bar; None while it waits for the Train button
    (`ask`: the estimate is over this rerun's budget) or when MNIST cannot be read (said on the page)."""
    slot, steps = st.empty(), settings[3]
    try:
        if ask:
            with slot.container():
                st.info(f"These settings train two {' -> '.join(map(str, sizes))} networks for {steps} steps "
                        f"each: about {estimate:.1f} s of computing, so they wait for the button.",
                        icon=":material/timer:")
                if not st.button("Train both networks", type="primary", icon=":material/play_arrow:", key="sv_train"):
                    return None
        r = train_both(settings, slot.progress(0.0, text="Training both networks ..."))
        slot.empty()
        return r
    except mnist_files.MnistError as err:
        slot.empty()
        ui.mnist_unreadable(err)
        st.info("Meanwhile, pick one of the 2-D datasets under **Data**: the comparison works the same way.",
                icon=":material/info:")
        return None


# A change retrains at once when the estimate says it takes under LIVE_SECONDS; opening the page (or a link)
# trains up to OPEN_SECONDS. Anything longer waits for the Train button and shows a progress bar (no progress
# bar inside a cached function: Streamlit would replay its calls on a cache hit, against a bar that is gone).
# While it waits, the run's numbers, figures and prediction wait too; the explanation, code and quiz do not.
settings = (dataset, optimizer, lr, steps, batch_size, hidden, n_train, seed)
sizes = lab.layer_sizes(dataset, hidden)
estimate = lab.estimated_seconds(sizes, batch_size, steps, optimizer)
try:
    r = finished_run(settings)
except NotTrained:
    with L.picture:
        r = wait_or_train(settings, sizes, estimate, estimate > (OPEN_SECONDS if opening else LIVE_SECONDS))
gap = lab.gap_summary(r["max_abs_diff"]) if r is not None else None
final_diff = gap["last"] if r is not None else None

with L.picture:
    if r is not None:
        ui.plot(ch08_figures.agreement_figure(r["step"], r["loss_scratch"], r["loss_torch"], r["max_abs_diff"], EPS),
                key="sv_curves")
        k = st.columns(3)
        k[0].metric("max |W_scratch - W_nn.T|, last step", f"{final_diff:.1e}",
                    help="Largest gap between any weight or bias of the two networks (nn.Linear stores W transposed).")
        k[1].metric("max |W_scratch - W_nn.T|, any step", f"{gap['worst']:.1e}")
        loss_gap = abs(r["loss_scratch"][-1] - r["loss_torch"][-1])
        k[2].metric("Last-step loss difference", f"{loss_gap:.1e}" if math.isfinite(loss_gap) else "n/a")
        k = st.columns(3)
        k[0].metric("Held-out accuracy, scratch", f"{r['acc_scratch']:.2%}" if "same" in r else "n/a")
        k[1].metric("Held-out accuracy, torch.nn", f"{r['acc_torch']:.2%}" if "same" in r else "n/a")
        k[2].metric("Identical predictions", f"{r['same']:.2%}" if "same" in r else "n/a",
                    help=f"{r.get('n_same', 0):,} of {r['n_test']:,} held-out examples get the same predicted class.")
    if r is not None and final_diff > 1e-3 and not r["diverged"]:
        st.warning(f"The weights drifted apart by {final_diff:.1e}. Both runs do the same arithmetic, but not always "
                   "in the same order (a matrix product can add its terms in a different order), so they differ in the "
                   f"last bit ({EPS:.1e} for numbers near 1). With a learning rate this large training is chaotic: "
                   "each step multiplies those tiny differences until they become visible. Try a smaller learning "
                   "rate and compare.", icon=":material/warning:")
    elif r is not None and final_diff > 1e-5 and not r["diverged"]:
        st.info(f"The weights differ by {final_diff:.1e}, more than float32's rounding step ({EPS:.1e} for numbers "
                "near 1). Every step feeds on the weights left by the previous one, so last-bit differences "
                "compound, faster with a larger learning rate and with Adam, whose division by the root of the "
                "squared gradients enlarges differences in tiny gradients. A sudden jump in a single step (see the "
                "right plot) happens when a hidden unit's input lands within rounding distance of 0 for one example: "
                "one version lets that gradient through ReLU, the other blocks it. The computation is still the same"
                + (f": {r['n_same']:,} of {r['n_test']:,} held-out predictions agree." if "same" in r else "."),
                icon=":material/info:")

with L.below:
    if r is not None:
        gap_options = ["Bit-for-bit identical (exactly 0)", "Within 1e-4: last-bit rounding only",
                       "More than 1e-4 apart"]
        ui.predict(f"ch08_gap_{optimizer}",
                   f"This run: {opt_label}, lr {lr:g}, {steps} steps. "
                   "How far apart are the two networks' weights at the end?", gap_options, answer=gap["answer"],
                   why=f"Measured after the last step: {final_diff:.1e} (at most {gap['worst']:.1e} at any "
                       f"step); float32's rounding step near 1 is {EPS:.1e}.")
        st.caption(f"{r['source']}. Network {' -> '.join(map(str, r['sizes']))}, {opt_label} with "
                   f"lr {lr:g}, batch {batch_size}, seed {seed}; both start from the same weights and see the same "
                   "batches.")
        if r["diverged"]:
            st.error(f"Training stopped after {r['step'][-1]} steps: {r['reason']} Both versions blew up at the same "
                     "step, as they should: they are the same computation.", icon=":material/error:")
        exact = gap["exact_steps"]
        identical = (f"After {exact} of {len(r['step'])} steps the two sets of weights were bit-for-bit identical "
                     "(a difference of exactly 0 cannot be drawn on a log scale)." if exact else
                     "From the first step on, the two sets of weights differ in their last bits, never by more than "
                     "the right-hand plot shows.")
        st.caption(f"{identical} The orange and teal loss curves lie on top of each other; the teal one is dashed so "
                   "you can see both.")

    d1, d2 = st.columns(2)
    with d1:
        script = exports.fill("ch08_scratch_vs_nn", dict(dataset=dataset, optimizer=optimizer, lr=lr, steps=steps,
                                                         batch_size=batch_size, hidden=hidden, n_train=n_train,
                                                         seed=seed, held_out=lab.MNIST_HELD_OUT))
        ui.download_script(script, "ch08_scratch_vs_nn.py", key="sv_dl_script")
    if r is not None and "weights" in r:
        with d2:
            st.download_button("Download the scratch weights (nn.Sequential state_dict)", r["weights"],
                               file_name="scratch_weights.pt", icon=":material/download:", key="sv_dl_weights",
                               help="Our W1, b1, W2, b2, saved as a state_dict: torch.load it into "
                                    f"nn.Sequential(nn.Linear({r['sizes'][0]}, {r['sizes'][1]}), nn.ReLU(), "
                                    f"nn.Linear({r['sizes'][1]}, {r['sizes'][2]})).")

    st.subheader("The two code paths that just ran" if r is not None else "The two code paths that will run")
    left, right = st.columns(2)
    with left:
        st.markdown("**From scratch**: forward, hand-written backward, hand-written optimizer")
        ui.show_source(train.train_step, title="core.train.train_step", expanded=True)
    with right:
        st.markdown("**torch.nn**: `nn.Sequential`, `F.cross_entropy`, autograd, `torch.optim`")
        ui.show_source(train.torch_train_step, network.to_torch_sequential, title="core.train.torch_train_step",
                       expanded=True)

if r is None:
    this_run = "This run's measured gap appears here once both networks have trained."
else:
    this_run = (f"In this run\n({opt_label}, lr {lr:g}, {r['step'][-1]} steps) the weights differed by at most "
                f"{gap['worst']:.1e}, and by\n{final_diff:.1e} after the last step. " + (
                    f"The two networks predict the same class for {r['n_same']:,} of the {r['n_test']:,} held-out "
                    "examples." if "same" in r else
                    "The weights are no longer finite numbers, so there are no predictions to compare."))
ui.explain(
    f"""
**Why they agree.** `nn.Linear(in, out)` holds a weight of shape `[out, in]` and a bias `[out]`, and computes
`x @ weight.T + bias`: our `x @ W + b` with `W = weight.T`, so the torch model is built by copying our `W1 [in, hidden]`
transposed into its first layer. `nn.ReLU` is `clamp(min=0)`. `F.cross_entropy` is the same stable log-softmax
and negative log-likelihood we wrote. `loss.backward()` applies the same chain rule we wrote out by hand, and
`optimizer.step()` performs the same SGD or Adam update. Both loops draw their batches from one seeded generator.

**Why not exactly zero.** Floating-point addition is not associative: `(a + b) + c` can differ from `a + (b + c)`
in the last bit. Autograd and our code compute `dL/dW = x.T @ dL/dz` with kernels that may sum in a different order,
so after a step the weights can differ by about one rounding step of float32 ({EPS:.1e} for numbers near 1). Every
step starts from the weights the previous one left, so these differences can grow: faster with a larger learning
rate, more steps, and with Adam, which divides each step by the square root of the gradient's running square, so
that where a gradient is almost zero its last-bit differences become a visible part of the step. {this_run}

**So what does torch.nn add?** No new mathematics. It keeps track of every parameter for you
(`model.parameters()`), saves and loads them in one call (`state_dict`), and lets you stack layers without naming
every tensor. That is organisation, not computation.
""")
ui.quiz(
    "ch8",
    "Our raw-tensor network and its torch.nn twin end with the same weights. What, then, does torch.nn contribute?",
    ["A more exact gradient than the hand-derived formulas",
     "Bookkeeping: it finds the parameters, saves and loads them, and stacks layers; the arithmetic is unchanged",
     "A cleverer update rule that reaches a lower loss",
     "Hidden extra layers that make training more stable"],
    answer=1,
    why="Both runs perform the same matrix products, the same softmax and log, the same chain rule and the same "
        "update; torch.nn only organises the tensors (parameters(), state_dict, composable modules).",
)
