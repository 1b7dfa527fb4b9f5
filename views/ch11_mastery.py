"""Chapter 11: mastery. The whole equivalence table checked live, and dropout built by hand."""
import streamlit as st
import torch

import exports
import ui
from core import dropout
from labs import ch10_torch_nn
from labs import ch11_mastery as lab
from ui import ch10_figures, ch11_figures as figs

L = ui.page("11 · Mastery & dropout",
            "Every hand-made piece next to its torch counterpart, measured now; then dropout, built by you.")


ui.require_mnist_test()   # the committed test split; a plain-words error and a stop if it cannot be read


def batch(batch_size, seed):
    """(x [B, 784], y [B]): a seeded batch of MNIST test digits."""
    return ui.mnist_test_batch(batch_size, seed, ch10_torch_nn.pick_batch)


with L.controls:
    B = ui.select_slider("Batch size", [1, 2, 8, 32, 64, 128, 256], 64, key="ms_batch",
                         help="MNIST test digits both sides of every row run on")
    tol_exp = ui.select_slider("Tolerance", [-9, -8, -7, -6, -5, -4, -3], -5, key="ms_tol",
                               format_func=lambda e: f"1e{e}",
                               help="a row is 'equal' when its max |difference| is at most this")
with L.more:
    seed = ui.seed("ms_seed")
tol = 10.0 ** tol_exp


@st.cache_data(max_entries=100, show_spinner="Running both sides of every row...")
def table(B, seed):
    x, y = batch(B, seed)
    return lab.equivalence_table(x, y, seed, tol=float("inf"))


rows = table(B, seed)
n_equal = sum(r["max abs diff"] <= tol for r in rows)
with L.picture:
    ui.plot(ch10_figures.difference_bars([r["torch.nn"] for r in rows], [r["max abs diff"] for r in rows], tol,
                                 f"tolerance {tol:.0e}", "max |from scratch - torch|", xmax_floor=-2.5, pad=1.0),
            key="ms_table_fig")
with L.controls:
    st.metric("Rows equal within tolerance", f"{n_equal} / {len(rows)}",
              help="rows with max |difference| <= the tolerance")
    st.metric("Largest difference", f"{max(r['max abs diff'] for r in rows):.1e}")
    st.metric("Tolerance", f"1e{tol_exp}")
below = L.below.container()
below.subheader("1 · The equivalence table, measured")
lines = ["| from scratch | torch equivalent | max abs diff | within 1e%d? |" % tol_exp, "|---|---|---|---|"]
for r in rows:
    mark = ":material/check: equal" if r["max abs diff"] <= tol else ":material/close: differs"
    lines.append(f"| `{r['from scratch']}` | `{r['torch.nn']}` | {r['max abs diff']:.1e} | {mark} |")
below.markdown("\n".join(lines))
device = ("a GPU (cuda)" if torch.cuda.is_available()
          else "the CPU only: this machine has no GPU, so `.to(device)` is a no-op here")
below.caption(f"Batch of {B} MNIST test digits, a 784-128-10 network from "
              f"seed {seed}. SGD uses lr 0.1 and momentum 0.9, Adam lr 0.001, three steps each. The device row ran on "
              f"{device}.")
exact = [f"`{r['torch.nn']}`" for r in rows if r["max abs diff"] == 0]  # bit-for-bit equal rows
rounding = [r["max abs diff"] for r in rows if r["max abs diff"] != 0]
if not rounding:
    measured = "Here every row is exactly 0."
else:
    measured = (f"Here {len(exact)} of the {len(rows)} rows are exactly 0"
                + (f" ({', '.join(exact)})" if exact else "")
                + f"; the other {len(rounding)} differ by {min(rounding):.1e} to {max(rounding):.1e}, float32 "
                "rounding: a float32 number carries about 7 significant digits, and adding the same numbers in a "
                "different order (a matrix multiply split into different blocks, for example) changes the last "
                f"one. Tighten the tolerance below {min(rounding):.1e} and those {len(rounding)} rows turn into "
                "crosses while the exact ones stay: the methods are the same, only the rounding differs.")
ui.explain(
    "A difference of exactly 0 means bit-for-bit the same numbers. " + measured + "\n\n"
    "Two rows need a remark. `nn.Linear` draws its starting weights uniformly in +-1/sqrt(fan_in) and "
    "stores them as `[out, in]`; drawn the same way from the same seed, our `[in, out]` tensor holds "
    "exactly the transposed numbers. `DataLoader` first takes one number from its generator (a seed for "
    "worker processes) and then calls `randperm`; do the same and the batches come out in the same order.",
    title="Reading the differences",
)
ui.show_source(lab.equivalence_table, ch10_torch_nn.check_weights, ch10_torch_nn.check_dataloader)

n_strict = sum(r["max abs diff"] <= 1e-9 for r in rows)
strict_answer = 0 if n_strict == len(rows) else (2 if n_strict == 0 else 1)
ui.predict("ch11_tolerance", "Tighten the tolerance to 1e-9. How many of the rows stay equal?",
           [f"All {len(rows)}", "Some stay, some turn into crosses", "None"], answer=strict_answer,
           why=(f"At batch {B}, seed {seed}: {n_strict} of the {len(rows)} rows are within 1e-9, "
                f"{len(exact)} of them exactly 0"
                + (f"; the other {len(rounding)} differ by {min(rounding):.1e} to {max(rounding):.1e}, float32 rounding"
                   if rounding else "") + ". Move the Tolerance slider to see it."))

# ---------------------------------------------------------------- dropout
st.subheader("2 · Design challenge: dropout from scratch")
st.markdown(
    "While training, dropout zeroes each hidden activation with probability **p**; at test time it does "
    "nothing, so the next layer then sees all of h. Here it acts on the hidden layer "
    "`h = relu(x @ W1 + b1)` of the batch above (first 16 images, all 128 units). **Your design:** the "
    "activations that survive are multiplied by a factor, so that on average the next layer sees the same "
    "values while training as at test time. Which factor? Answer below; the page then measures it."
)
SCALE_OPTIONS = ["Nothing: leave them as they are", "(1 - p)", "1 / (1 - p)", "1 / p"]


def scale_why(p, n_samples, mean_h, scaled, unscaled):
    """The challenge's explanation, from the means this page just measured."""
    text = (f"Averaged over {n_samples} random masks at p = {p:.2f}: multiplying the survivors by 1 / (1 - p) = "
            f"{1 / (1 - p):.3f} gives a mean of {scaled:.4f}, and h itself (what the next layer sees at test time) "
            f"has mean {mean_h:.4f}; leaving them as they are gives {unscaled:.4f}")
    if mean_h > 0:
        text += f", {unscaled / mean_h:.2f} of it: a unit survives only a fraction 1 - p = {1 - p:.2f} of the time"
    if p == 0:
        text += ". At p = 0 nothing is dropped and the factor is 1, so 'leave them' coincides with 1 / (1 - p) here"
    return text + "."


d1, d2, d3 = st.columns(3)
with d1:
    p = ui.slider("Drop probability p", 0.0, 0.95, 0.5, step=0.05, key="ms_p")
with d2:
    mode = ui.segmented("Mode", ["train", "eval"], "train", key="ms_mode")
with d3:
    n_samples = ui.select_slider("Masks averaged", [10, 50, 100, 500, 1000, 2000], 500, key="ms_samples")


@st.cache_data(max_entries=200, show_spinner=False)
def dropout_demo(B, seed, p, n_samples):
    return lab.dropout_demo(batch(B, seed)[0], seed, p, n_samples)


dd = dropout_demo(B, seed, p, n_samples)
out = dd["out"] if mode == "train" else dd["h"]
zmax = float(max(dd["h"].max(), out.max(), 1e-6))
mask = dd["mask"] if mode == "train" else dd["mask"] * 0 + 1
m = st.columns(3)
m[0].metric("Fraction kept in this mask", f"{dd['kept']:.3f}" if mode == "train" else "1.000",
            help=f"expected {1 - p:.2f} in train mode")
m[1].metric("max |ours - nn.Dropout|", f"{dd['train_diff'] if mode == 'train' else dd['eval_diff']:.1e}")
m[2].metric("Same mask as nn.Dropout" if mode == "train" else "eval output == input",
            "yes" if (dd["same_mask"] if mode == "train" else dd["eval_identity"]) else "no")
ui.plot(figs.heatmaps([("h: hidden activations [16, 128]", dd["h"], zmax),
                       ("mask (1 = kept)" if mode == "train" else "eval: nothing dropped", mask, None)]),
        key="ms_heat")


def reveal(dd, out, zmax, p, mode, n_samples):
    """The measured answer, drawn only once the learner has committed to a factor."""
    st.metric("Scale for survivors 1/(1-p)", f"{1 / (1 - p):.3f}")
    ui.plot(figs.heatmaps([("h", dd["h"], zmax), (f"dropout(h), {mode} mode", out, zmax)], height=300),
            key="ms_heat_out")
    ui.plot(figs.running_means(dd["scaled"], dd["unscaled"], dd["mean_h"]), key="ms_mean")
    c = st.columns(3)
    c[0].metric("Mean of h (no dropout)", f"{dd['mean_h']:.4f}")
    c[1].metric(f"Mean over {n_samples} masks, with 1/(1-p)", f"{dd['scaled'][-1]:.4f}")
    c[2].metric(f"Mean over {n_samples} masks, without", f"{dd['unscaled'][-1]:.4f}")
    ui.explain(
        "Take one unit with value h. In training it becomes h / (1 - p) with probability 1 - p and 0 with "
        "probability p, so on average it is (1 - p) * h / (1 - p) = h: exactly what the next layer sees at test "
        "time, when nothing is dropped. Without the division the next layer would see only (1 - p) * h on "
        "average while training and then suddenly the full h at test time: its weights would have been tuned "
        "to inputs that were too small. The green curve settles on the dotted line, the red one on "
        "(1 - p) times it.\n\n"
        "The mask is drawn with `bernoulli_(1 - p)`, the same call `nn.Dropout` makes, so from the same seed "
        "(ours from `torch.Generator().manual_seed(seed)`, `nn.Dropout` after `torch.manual_seed(seed)`: the same "
        "random stream) the two masks are identical. The lesson's `torch.rand_like(x) > p` draws from the "
        "same distribution but reads the random stream differently, so it gives another, equally valid mask. "
        "In eval mode (`model.eval()`) both simply return their input.",
        title="Why divide by 1 - p",
    )
    ui.show_source(dropout.dropout_mask, dropout.dropout, dropout.running_means)


ui.predict("ch11_dropout_scale", "Multiply the surviving activations by:", SCALE_OPTIONS, answer=2,
           why=scale_why(p, n_samples, dd["mean_h"], float(dd["scaled"][-1]), float(dd["unscaled"][-1])),
           try_it=lambda: reveal(dd, out, zmax, p, mode, n_samples))
ui.download_script(exports.fill("ch11_mastery", dict(batch_size=B, seed=seed, p=p, tol=tol)), "ch11_mastery.py",
                   key="ms_dl")

st.subheader("What you now understand")
st.markdown(
    "- A network **is** its weight tensors: for 784-128-10, four of them, 101,770 numbers.\n"
    "- The forward pass is a matrix multiply plus an activation per layer; the loss is softmax plus "
    "negative log-likelihood.\n"
    "- The backward pass is the chain rule, layer by layer; autograd automates exactly that.\n"
    "- An optimizer subtracts a scaled gradient (SGD) or a rescaled running average of it (Adam).\n"
    "- A DataLoader shuffles indices and slices them; a GPU runs the same arithmetic on other hardware.\n"
    "- `torch.nn` organises all this (parameter tracking, containers, saving, hooks) without adding new maths.\n\n"
    "Not covered here, and the natural next steps: convolutions (shared weights over image patches), "
    "attention (transformers), batch normalisation, residual connections, mixed precision and training "
    "on several GPUs."
)

ui.quiz("ch11", "In inverted dropout the surviving activations are rescaled during training. Why?",
        ["To make the network train faster by enlarging the gradients",
         "So the expected value of each activation during training equals its value at test time, "
         "when nothing is dropped",
         "To keep the fraction of dropped units exactly p in every batch",
         "Because nn.Dropout needs it to be able to switch to eval mode"],
        answer=1,
        why="A unit survives with probability 1 - p, so x * mask / (1 - p) has mean x. At test time dropout is "
            "off and the next layer sees x itself, the same scale it saw on average in training.")
