"""Chapter 2: follow a real MNIST batch through the forward pass and watch every shape."""
import plotly.graph_objects as go
import streamlit as st
import torch

import ui
from core import losses, network
from labs import ch02_shapes as shapes

ui.header(
    "2 · Shape propagation",
    "The forward pass is two matrix multiplications, two bias additions, one ReLU and a softmax. "
    "Below, a batch of real handwritten digits goes through a freshly initialised 784-H-10 network one "
    "operation at a time. Every box is a tensor drawn to (log) scale: change the batch size and only "
    "the first axis moves; change the hidden width and only the middle of the network moves.",
)

c1, c2 = st.columns(2)
with c1:
    B = ui.slider("Batch size B (images)", 1, 512, 64, key="shape_b")
with c2:
    H = ui.slider("Hidden width H", 1, 512, 128, key="shape_h")
with ui.more_controls():
    seed = ui.seed("shape_seed")


ui.require_mnist_test()   # the committed test split; a plain-words error and a stop if it cannot be read


def get_batch(B, seed):
    """B images of the MNIST test split, drawn by seed: x [B, 784], y [B]."""
    X, y = ui.mnist_float("test")
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(X), generator=g)[:B]  # which test images form this batch
    return X[idx], y[idx]


@st.cache_data(max_entries=200, show_spinner=False)
def run_trace(B, H, seed):
    """Trace the forward pass for these settings; keep only what the page prints (no tensors)."""
    x, y = get_batch(B, seed)
    params = network.init_mlp([784, H, 10], seed=seed)
    steps = shapes.trace_forward(params, x)
    by_name = {s["name"]: s["value"] for s in steps}
    logits_net, _ = network.forward(params, x)  # the same numbers through core.network's loop
    rows = [{"step": s["name"], "code": s["code"], "shape": str(list(s["shape"])),
             "numbers": s["value"].numel(), "bytes owned": shapes.owned_bytes(s["value"]),
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
        "madds": shapes.total_madds(steps),
        "relu_zeros": float((by_name["h"] == 0).float().mean()),
        "row_sums": float(by_name["probs"].sum(dim=1).sub(1).abs().max()),
        "vs_network": float((by_name["logits"] - logits_net).abs().max()),
        "loss": float(losses.cross_entropy(by_name["logits"], y)),
    }


res = run_trace(B, H, seed)
source = f"{B} real MNIST test images (drawn with seed {seed})"
st.caption(f"Input: {source}. Weights: Kaiming-initialised, untrained (seed {seed}).")

m = st.columns(4)
m[0].metric("Output shape", f"[{B}, 10]")
m[1].metric("Multiply-adds (both matmuls)", f"{res['madds']:,}")
m[2].metric("Hidden values zeroed by ReLU", f"{res['relu_zeros']:.1%}")
m[3].metric("max |trace - core.network.forward|", f"{res['vs_network']:.1e}")

# ---------------------------------------------------------------- the tensors as boxes
KIND = {"W1": "weight", "W2": "weight", "b1 broadcast": "bias", "b2 broadcast": "bias"}
ROWS = [["x", "W1", "x @ W1", "b1 broadcast", "z1", "h"],
        ["h", "W2", "h @ W2", "b2 broadcast", "logits", "probs"]]
OPS = {"W1": "@", "x @ W1": "=", "b1 broadcast": "+", "z1": "=", "h": "relu",
       "W2": "@", "h @ W2": "=", "b2 broadcast": "+", "logits": "=", "probs": "softmax"}
shape_of = dict(res["blocks"])
FILL = {"weight": ui.COLORS["neutral"], "bias": ui.COLORS["backward"], "data": ui.COLORS["forward"]}
GAP = 4.0
rects, tx, ty, texts = [], [], [], []  # built as plain lists: one figure call instead of dozens
for r, names in enumerate(ROWS):
    top = -r * 17.0
    left = 0.0
    for j, name in enumerate(names):
        n_rows, n_cols = shape_of[name]
        w, h = shapes.block_size(n_cols), shapes.block_size(n_rows)
        kind = KIND.get(name, "data")
        rects.append(dict(type="rect", x0=left, x1=left + w, y0=top - h, y1=top, fillcolor=FILL[kind],
                          opacity=0.35 if kind == "bias" else 0.6,
                          line=dict(color=FILL[kind], width=2, dash="dot" if kind == "bias" else "solid")))
        tx += [left + w / 2, left + w / 2]
        ty += [top + 1.0, top - h - 1.0]
        texts += [f"<b>{name}</b>", f"[{n_rows}, {n_cols}]"]
        if j > 0 and OPS.get(name):
            tx.append(left - GAP / 2)
            ty.append(top - 3)
            texts.append(OPS[name])
        left += w + GAP
fig = go.Figure(go.Scatter(x=tx, y=ty, text=texts, mode="text", hoverinfo="skip"),
                layout=dict(shapes=rects, height=520, showlegend=False,
                            title="Every tensor of the forward pass, sides on a log2 scale "
                                  "(blue: data, grey: weights, dotted orange: a bias broadcast to every row)",
                            xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x", scaleratio=1)))
ui.plot(fig, key="shape_blocks")

st.subheader("The same tensors as numbers")
ui.stat_table(res["rows"], width="stretch", height=36 * (len(res["rows"]) + 1) + 3)

c1, c2 = st.columns([1, 2])
with c1:
    img = go.Figure(go.Heatmap(z=res["image"], colorscale="gray_r", showscale=False))
    img.update_yaxes(autorange="reversed", visible=False, scaleanchor="x")
    img.update_xaxes(visible=False)
    img.update_layout(height=260, title="Image 0 of the batch: row 0 of x")
    ui.plot(img, key="shape_img")
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
case = ui.selectbox("Feed a wrong shape", list(shapes.BREAKS), key="shape_break")
x_small, _ = get_batch(B, seed)
broke = shapes.break_forward(network.init_mlp([784, H, 10], seed=seed), x_small, case)
st.code(broke["code"], language="python")
if broke["error"]:
    st.error("torch refused it with a RuntimeError:", icon=":material/error:")
    st.code(broke["error"], language="text")
else:
    st.success(f"This ran without an error and produced a tensor of shape {list(broke['shape'])}.",
               icon=":material/warning:")
st.markdown(f"**Why:** {broke['why']}")

ui.download_script(shapes.script_shapes(B, H, seed, case), "shapes.py", key="shape_download")
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
ui.show_source(shapes.trace_forward, network.init_mlp, network.relu, losses.softmax, network.forward,
               shapes.break_forward)

ui.quiz(
    "ch2",
    "A batch x of shape [32, 784] is multiplied by W1 of shape [784, 128]. What is the shape of x @ W1?",
    ["[784, 128]", "[32, 128]", "[32, 784]", "[128, 32]"],
    answer=1,
    why="The inner sizes (784 and 784) must agree and disappear; the outer ones remain: 32 images, "
        "128 hidden values each.",
)
