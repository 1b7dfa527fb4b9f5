"""Chapter 2: follow a real MNIST batch through the forward pass and watch every shape."""
import streamlit as st
import torch

import exports
import ui
from core import data, losses, network
from labs import ch02_shapes as lab
from ui import ch02_figures as figures

L = ui.page("2 · Shape propagation",
            "A batch of real digits goes through a fresh 784-H-10 network one operation at a time: watch "
            "every shape.", widths=(2.6, 1))

with L.controls:
    B = ui.slider("Batch size B (images)", 1, 512, 64, key="shape_b")
    H = ui.slider("Hidden width H", 1, 512, 128, key="shape_h")
with L.more:
    seed = ui.seed("shape_seed")


ui.require_mnist_test()   # the committed test split; a plain-words error and a stop if it cannot be read


def get_batch(B, seed):
    """B images of the MNIST test split, drawn by seed: x [B, 784], y [B]."""
    X, y = ui.mnist_split("test")                  # uint8 pixels, shared
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(X), generator=g)[:B]  # which test images form this batch
    return data.to_float(X[idx]), y[idx]           # those B images as float32 in [0, 1]


@st.cache_data(max_entries=200, show_spinner=False)
def run_trace(B, H, seed):
    """Trace the forward pass for these settings; keep only what the page prints (no tensors)."""
    x, y = get_batch(B, seed)
    params = network.init_mlp([784, H, 10], seed=seed)
    steps = lab.trace_forward(params, x)
    by_name = {s["name"]: s["value"] for s in steps}
    logits_net, _ = network.forward(params, x)  # the same numbers through core.network's loop
    rows = [{"step": s["name"], "code": s["code"], "shape": str(list(s["shape"])),
             "numbers": s["value"].numel(), "bytes owned": lab.owned_bytes(s["value"]),
             "multiply-adds": s["madds"], "note": s["note"]} for s in steps]
    first = {name: by_name[name][0, :6].tolist() for name in ("z1", "h", "logits", "probs")}
    return {
        "rows": rows,
        "blocks": [(s["name"], s["shape"]) for s in steps],
        "first": first,
        "image": x[0].reshape(28, 28).numpy(),
        "label": int(y[0]),
        "pred": int(by_name["logits"][0].argmax()),
        "labels": y[:8].tolist(),
        "preds": by_name["logits"][:8].argmax(dim=1).tolist(),
        "madds": lab.total_madds(steps),
        "relu_zeros": float((by_name["h"] == 0).float().mean()),
        "row_sums": float(by_name["probs"].sum(dim=1).sub(1).abs().max()),
        "vs_network": float((by_name["logits"] - logits_net).abs().max()),
        "loss": float(losses.cross_entropy(by_name["logits"], y)),
    }


res = run_trace(B, H, seed)
source = f"{B} real MNIST test images (drawn with seed {seed})"

with L.controls:
    st.metric("Output shape", f"[{B}, 10]")
    st.metric("Multiply-adds (both matmuls)", f"{res['madds']:,}")
    st.metric("Hidden values zeroed by ReLU", f"{res['relu_zeros']:.1%}")
    st.metric("max |trace - core.network.forward|", f"{res['vs_network']:.1e}",
              help="The step-by-step trace against core.network's forward pass.")

# ---------------------------------------------------------------- the tensors as boxes
with L.picture:
    ui.plot(figures.tensor_blocks(res["blocks"], big=ui.presenter()), key="shape_blocks")
    st.caption(f"Blue: data, grey: weights, dotted orange: a bias broadcast to every row. Input: {source}. "
               f"Weights: Kaiming-initialised, untrained (seed {seed}).")

st.subheader("The same tensors as numbers")
ui.stat_table(res["rows"], width="stretch", height=36 * (len(res["rows"]) + 1) + 3)


def shape(trace, name):
    return list(dict(trace["blocks"])[name])


p1, p2 = st.columns(2)
with p1:
    small, big = run_trace(64, 128, seed), run_trace(128, 128, seed)
    ui.predict("ch2_batch", "Double the batch size B from 64 to 128 (H = 128). What is W1's shape then?",
               ["[1568, 128]: it doubles too", "[784, 128]: unchanged", "[784, 256]"],
               [[1568, 128], [784, 128], [784, 256]].index(shape(big, "W1")),
               why=f"Traced just now: W1 is {shape(small, 'W1')} at B = 64 and {shape(big, 'W1')} at B = 128, "
                   f"while x went from {shape(small, 'x')} to {shape(big, 'x')} and probs from "
                   f"{shape(small, 'probs')} to {shape(big, 'probs')}. Weights never depend on the batch.")
with p2:
    narrow, wide = run_trace(64, 128, seed), run_trace(64, 256, seed)
    ratio = wide["madds"] / narrow["madds"]
    factors = [1, 2, 4]
    ui.predict("ch2_width", "Widen the hidden layer from H = 128 to H = 256 (B = 64). The multiply-adds of "
               "the two matmuls...", ["stay the same", "double", "quadruple"],
               min(range(3), key=lambda k: abs(factors[k] - ratio)),
               why=f"Counted just now: {narrow['madds']:,} at H = 128 and {wide['madds']:,} at H = 256, "
                   f"x{ratio:.2f}. Both matmuls grow with H once: B*784*H + B*H*10.")

c1, c2 = st.columns([1, 2])
with c1:
    ui.plot(figures.image_figure(res["image"]), key="shape_img")
    st.caption(f"True digit: {res['label']}. Untrained network's guess: {res['pred']}.")
with c2:
    st.markdown("**Image 0, first six of each row: ReLU at work**")
    ui.stat_table([{"tensor": name, **{f"[0, {k}]": round(v, 4) for k, v in enumerate(vals)}}
                   for name, vals in res["first"].items()], width="stretch")
    st.caption("Compare `z1` with `h`: every negative entry of z1 became exactly 0 in h; the positive ones "
               f"passed through untouched. The probabilities of each row sum to 1 (largest error "
               f"{res['row_sums']:.1e}).")
    st.caption(f"Labels of images 0-7: {res['labels']}; guesses: {res['preds']}. Cross-entropy of this "
               f"untrained network on the batch: {res['loss']:.3f} (about log 10 = 2.303 when it guesses "
               "evenly).")

# ---------------------------------------------------------------- break it
st.subheader(":material/build: Break it")
case = ui.selectbox("Feed a wrong shape", list(lab.BREAKS), key="shape_break")
x_small, _ = get_batch(B, seed)
broke = lab.break_forward(network.init_mlp([784, H, 10], seed=seed), x_small, case)
st.code(broke["code"], language="python")
if broke["error"]:
    st.error("torch refused it with a RuntimeError:", icon=":material/error:")
    st.code(broke["error"], language="text")
else:
    st.success(f"This ran without an error and produced a tensor of shape {list(broke['shape'])}.",
               icon=":material/warning:")
st.markdown(f"**Why:** {broke['why']}")

ui.download_script(exports.fill("ch02_shapes", dict(batch_size=B, hidden=H, seed=seed, case=case)), "ch02_shapes.py",
                   key="shape_download")
st.caption("The script draws the same batch, reruns this forward pass and the broken line above with the `core` "
           "package (run it from the repository root) and prints every tensor's shape, numbers, bytes and "
           "multiply-adds, the metrics at the top, the first six values of image 0 and the loss, rounded as here.")

ui.explain(
    f"**Read a matmul from its shapes.** `[B, 784] @ [784, H]` is legal because the two inner numbers "
    f"agree; the result keeps the outer ones, `[B, H]`. Each of the `B*H` outputs is a sum of 784 products, "
    f"so this one line costs `B*784*H` = {B * 784 * H:,} multiply-adds; the second layer costs "
    f"`B*H*10` = {B * H * 10:,}.\n\n"
    "**Broadcasting.** `b1` has H numbers but `x @ W1` has B rows. torch lines the shapes up from the right, "
    "sees that `[H]` is missing the batch axis, and reuses the same H biases for every row. No copy is made: "
    "the broadcast view owns only `H*4` bytes (see the table).\n\n"
    "**The batch axis is just along for the ride.** Nothing in the network depends on B: the weights are "
    "the same size for one image or 512. That is why training code can pick any batch size.\n\n"
    f"**ReLU** changes values, never shapes: in this batch {res['relu_zeros']:.1%} of the hidden values of the "
    "freshly initialised network were 0 or below and became 0, the rest passed through."
)
ui.show_source(lab.trace_forward, network.init_mlp, network.relu, losses.softmax, network.forward,
               lab.break_forward)

ui.quiz(
    "ch2",
    "A batch x of shape [32, 784] is multiplied by W1 of shape [784, 128]. What is the shape of x @ W1?",
    ["[784, 128]", "[32, 128]", "[32, 784]", "[128, 32]"],
    answer=1,
    why="The inner sizes (784 and 784) must agree and disappear; the outer ones remain: 32 images, "
        "128 hidden values each.",
)
