"""Chapter 11: mastery. The whole equivalence table checked live, and dropout built by hand."""
import plotly.graph_objects as go
import streamlit as st
import torch
from plotly.subplots import make_subplots

import ui
from core import dropout
from labs import ch10_torch_nn as equivalence
from labs import ch11_mastery

ui.header(
    "11 · Mastery & dropout",
    "Every piece of the pipeline has now been written by hand. Below, each hand-made piece is run "
    "next to its `torch.nn` / `torch.optim` / `DataLoader` counterpart on the same MNIST batch and the "
    "same starting weights, and the largest difference is measured right now. Then one last piece, "
    "dropout, is built from scratch and compared with `nn.Dropout`.",
)


ui.require_mnist_test()   # the committed test split; a plain-words error and a stop if it cannot be read


def batch(batch_size, seed):
    """(x [B, 784], y [B]): a seeded batch of MNIST test digits."""
    return ui.mnist_test_batch(batch_size, seed, equivalence.pick_batch)


st.subheader("1 · The equivalence table, measured")
c1, c2, c3 = st.columns(3)
with c1:
    B = ui.select_slider("Batch size", [1, 2, 8, 32, 64, 128, 256], 64, key="ms_batch")
with c2:
    seed = ui.seed("ms_seed")
with c3:
    tol_exp = ui.select_slider("Tolerance", [-9, -8, -7, -6, -5, -4, -3], -5, key="ms_tol",
                               format_func=lambda e: f"1e{e}")
tol = 10.0 ** tol_exp


@st.cache_data(max_entries=100, show_spinner="Running both sides of every row...")
def table(B, seed):
    x, y = batch(B, seed)
    return ch11_mastery.equivalence_table(x, y, seed, tol=float("inf"))


rows = table(B, seed)
n_equal = sum(r["max abs diff"] <= tol for r in rows)
lines = ["| from scratch | torch equivalent | max abs diff | within 1e%d? |" % tol_exp, "|---|---|---|---|"]
for r in rows:
    mark = ":material/check: equal" if r["max abs diff"] <= tol else ":material/close: differs"
    lines.append(f"| `{r['from scratch']}` | `{r['torch.nn']}` | {r['max abs diff']:.1e} | {mark} |")
st.markdown("\n".join(lines))
m = st.columns(3)
m[0].metric("Rows equal within tolerance", f"{n_equal} / {len(rows)}")
m[1].metric("Largest difference", f"{max(r['max abs diff'] for r in rows):.1e}")
m[2].metric("Tolerance", f"1e{tol_exp}")
device = "a GPU (cuda)" if torch.cuda.is_available() else "the CPU only: this machine has no GPU, so `.to(device)` is a no-op here"
st.caption(f"Batch of {B} MNIST test digits, a 784-128-10 network from "
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
ui.show_source(ch11_mastery.equivalence_table, equivalence.check_weights, equivalence.check_dataloader)

# ---------------------------------------------------------------- dropout
st.subheader("2 · Design challenge: dropout from scratch")
st.markdown(
    "While training, dropout zeroes each hidden activation with probability **p** and multiplies the ones "
    "that survive by **1 / (1 - p)**. At test time it does nothing. Here it acts on the hidden layer "
    "`h = relu(x @ W1 + b1)` of the batch above (first 16 images, all 128 units)."
)
d1, d2, d3 = st.columns(3)
with d1:
    p = ui.slider("Drop probability p", 0.0, 0.95, 0.5, step=0.05, key="ms_p")
with d2:
    mode = ui.segmented("Mode", ["train", "eval"], "train", key="ms_mode")
with d3:
    n_samples = ui.select_slider("Masks averaged", [10, 50, 100, 500, 1000, 2000], 500, key="ms_samples")


@st.cache_data(max_entries=200, show_spinner=False)
def dropout_demo(B, seed, p, n_samples):
    x, _ = batch(B, seed)
    h = ch11_mastery.hidden_activations(x[:16], seed)  # [16, 128]
    cmp = dropout.compare_with_nn_dropout(h, p, seed)
    scaled, unscaled = dropout.running_means(h, p, n_samples, seed=seed)  # the same masks, with and without 1/(1-p)
    return {"h": h.numpy(), "out": cmp["ours"].numpy(), "mask": cmp["mask"].numpy(), "train_diff": cmp["train_max_diff"],
            "same_mask": cmp["same_mask"], "eval_diff": cmp["eval_max_diff"],
            "eval_identity": cmp["eval_is_identity"], "kept": cmp["kept_fraction"],
            "mean_h": h.mean().item(),
            "scaled": scaled.numpy(), "unscaled": unscaled.numpy()}


dd = dropout_demo(B, seed, p, n_samples)
out = dd["out"] if mode == "train" else dd["h"]
m = st.columns(4)
m[0].metric("Scale for survivors 1/(1-p)", f"{1 / (1 - p):.3f}")
m[1].metric("Fraction kept in this mask", f"{dd['kept']:.3f}" if mode == "train" else "1.000",
            help=f"expected {1 - p:.2f} in train mode")
m[2].metric("max |ours - nn.Dropout|", f"{dd['train_diff'] if mode == 'train' else dd['eval_diff']:.1e}")
m[3].metric("Same mask as nn.Dropout" if mode == "train" else "eval output == input",
            "yes" if (dd["same_mask"] if mode == "train" else dd["eval_identity"]) else "no")

mask = dd["mask"] if mode == "train" else dd["mask"] * 0 + 1
fig = make_subplots(rows=1, cols=3, subplot_titles=("h: hidden activations [16, 128]",
                                                    "mask (1 = kept)" if mode == "train" else "eval: nothing dropped",
                                                    f"dropout(h), {mode} mode"), horizontal_spacing=0.04)
zmax = float(max(dd["h"].max(), out.max(), 1e-6))
fig.add_heatmap(z=dd["h"], zmin=0, zmax=zmax, colorscale="Viridis", showscale=False, row=1, col=1)
fig.add_heatmap(z=mask, zmin=0, zmax=1, colorscale=[[0, "#222222"], [1, "#F0F0F0"]], showscale=False,
                row=1, col=2)
fig.add_heatmap(z=out, zmin=0, zmax=zmax, colorscale="Viridis", row=1, col=3)
fig.update_xaxes(title_text="hidden unit")
fig.update_yaxes(autorange="reversed")
fig.update_yaxes(title_text="image", row=1, col=1)
fig.update_layout(height=330)
ui.plot(fig, key="ms_heat")

fig = go.Figure()
xs = list(range(1, n_samples + 1))
fig.add_scatter(x=xs, y=dd["scaled"], name="with / (1 - p)  (inverted dropout)", line_color=ui.COLORS["correct"])
fig.add_scatter(x=xs, y=dd["unscaled"], name="without the rescaling", line_color=ui.COLORS["wrong"])
fig.add_hline(y=dd["mean_h"], line_dash="dot", line_color="black", annotation_text="mean of h (eval mode)")
fig.update_layout(height=330, xaxis_type="log", xaxis_title="number of random masks averaged",
                  yaxis_title="running mean of dropout(h)")
ui.plot(fig, key="ms_mean")
m = st.columns(3)
m[0].metric("Mean of h (no dropout)", f"{dd['mean_h']:.4f}")
m[1].metric(f"Mean over {n_samples} masks, with 1/(1-p)", f"{dd['scaled'][-1]:.4f}")
m[2].metric(f"Mean over {n_samples} masks, without", f"{dd['unscaled'][-1]:.4f}")

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
ui.download_script(ch11_mastery.script_mastery(B, seed, p, tol), "mastery_checks.py", key="ms_dl")

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

ui.quiz("ch11", "In inverted dropout, why are the surviving activations divided by (1 - p) during training?",
        ["To make the network train faster by enlarging the gradients",
         "So the expected value of each activation during training equals its value at test time, "
         "when nothing is dropped",
         "To keep the fraction of dropped units exactly p in every batch",
         "Because nn.Dropout needs it to be able to switch to eval mode"],
        answer=1,
        why="A unit survives with probability 1 - p, so x * mask / (1 - p) has mean x. At test time dropout is "
            "off and the next layer sees x itself, the same scale it saw on average in training.")
