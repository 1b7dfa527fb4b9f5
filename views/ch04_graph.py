"""Chapter 4: the computation graph autograd records, and the backward pass walked one node at a time."""
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import ui
from core import backward, network
from labs import ch04_graph as graph
from ui import graphviz

ui.header(
    "4 · Computation graph & gradient flow",
    "While the forward pass runs, PyTorch quietly writes down every operation it performs. The picture "
    "below is that record, read straight out of `loss.grad_fn`: the weights at the top, the loss at "
    "the bottom. Press **Step backward** to walk it from the bottom up, one gradient at a time, "
    "exactly as our hand-written backward pass computes them, and check each one against autograd.",
)

TINY, MNIST = "Tiny (every value)", "784-128-10 summary"
with st.sidebar:
    st.subheader("Network")
    mode = ui.segmented("Size", [TINY, MNIST], TINY, key="g_mode")
    tiny = mode == TINY
    n_in = ui.slider("Inputs", 1, 16, 3, key="g_in", disabled=not tiny)
    n_hid = ui.slider("Hidden units", 1, 16, 4, key="g_hid", disabled=not tiny)
    n_cls = ui.slider("Classes", 2, 10, 3, key="g_cls", disabled=not tiny)
    batch = ui.slider("Batch size B", 1, 64, 2, key="g_batch")
    seed = ui.seed("g_seed")
    with ui.more_controls():
        loss_impl = ui.radio("Loss written with", ["core", "torch"], 0, key="g_loss",
                             format_func=lambda v: {"core": "core.losses.cross_entropy (every op)",
                                                    "torch": "F.cross_entropy (fused)"}[v],
                             help="Same number, different graph: autograd records whatever code ran.")
        all_ops = ui.toggle("Show every op of the loss", False, key="g_ops",
                            help="Draw each autograd node of the loss on its own instead of one box.")
sizes = (n_in, n_hid, n_cls) if tiny else (784, 128, 10)


@st.cache_data(max_entries=64, show_spinner=False)
def run_demo(sizes, batch, seed, use_mnist, loss_impl):
    X, Y = ui.mnist_float("test") if use_mnist else (None, None)   # the tiny network: random numbers
    return graph.graph_demo(list(sizes), batch, seed, X, Y, loss_impl)


@st.cache_data(max_entries=64, show_spinner=False)
def run_check(sizes, batch, seed, use_mnist, loss_impl, max_entries):
    demo = run_demo(sizes, batch, seed, use_mnist, loss_impl)
    return graph.gradient_check(demo, max_entries=max_entries, seed=seed)


use_mnist = not tiny
if use_mnist:
    ui.require_mnist_test()   # the committed test split; a plain-words error and a stop if it cannot be read
demo = run_demo(sizes, batch, seed, use_mnist, loss_impl)
steps, values = demo["steps"], demo["values"]

# ---------------------------------------------------------------- backward stepping state
config = (sizes, batch, seed, loss_impl)
if st.session_state.get("g_cfg") != config:  # new network or data: start the walk again
    st.session_state["g_cfg"] = config
    st.session_state["g_done"] = 0
done = min(st.session_state.get("g_done", 0), len(steps))


def _set_done(n):
    st.session_state["g_done"] = max(0, min(n, len(steps)))


b1, b2, b3, m1, m2 = st.columns([1.2, 1, 1, 1.2, 1.2])
b1.button("Step backward", key="g_step_btn", icon=":material/skip_previous:", on_click=_set_done,
          args=(done + 1,), disabled=done >= len(steps), width="stretch")
b2.button("Run all", key="g_all_btn", icon=":material/fast_rewind:", on_click=_set_done,
          args=(len(steps),), width="stretch")
b3.button("Reset", key="g_reset_btn", icon=":material/restart_alt:", on_click=_set_done, args=(0,),
          width="stretch")
m1.metric("Backward steps done", f"{done} / {len(steps)}")
m2.metric("Loss", f"{demo['loss']:.6f}")

lit = steps[done - 1]["nodes"] if done else set()
grads = {s["target"]: s["value"] for s in steps[:done]}
if all_ops:
    shown, boxes = demo["graph"], {"cross-entropy loss": demo["loss_nodes"]}
else:
    shown, boxes = graph.collapse(demo["graph"], demo["loss_nodes"], "cross_entropy(logits, y)", "loss_ops"), None
dot = graphviz.to_dot(shown, values, lit, grads, clusters=boxes, max_numel=16,
                   forward_color=ui.COLORS["forward"], backward_color=ui.COLORS["backward"])
graph_col, step_col = st.columns([1, 1])
with graph_col:
    st.graphviz_chart(dot, width="stretch")
    st.caption(f"Blue: forward values. Orange: nodes the backward pass has reached, with their gradient. "
               f"Dashed arrows: data that needs no gradient (x, y). {len(demo['graph']['nodes'])} nodes, "
               f"{len(demo['graph']['edges'])} edges, read from `loss.grad_fn.next_functions`.")

# ---------------------------------------------------------------- the gradient just computed
with step_col:
    if done == 0:
        st.info("Nothing computed yet. Press **Step backward**: the first gradient is the one at the loss end, "
                "dL/dlogits.", icon=":material/touch_app:")
    else:
        step = steps[done - 1]
        walked = ", ".join(f"{demo['graph']['nodes'][n]['op']}" + (f" ({demo['graph']['nodes'][n]['name']})"
                                                                     if demo['graph']['nodes'][n]['name'] else "")
                           for n in sorted(step["new_nodes"], key=graph.node_order))
        st.subheader(f"Step {done}: {step['name']} = {step['formula']}")
        st.markdown(f"Shape `{list(step['shape'])}`. Graph nodes reached in this step: {walked}.")
        if step["value"].numel() <= 64:
            def table(t):
                t = t.reshape(1, -1) if t.dim() == 1 else t
                return pd.DataFrame(t.numpy(), columns=[str(j) for j in range(t.shape[1])])
            st.markdown("**By hand** (`core.backward.backward_steps`)")
            st.dataframe(table(step["value"]), key="g_hand_df")
            st.markdown("**Autograd** (`.grad` after `loss.backward()`)")
            st.dataframe(table(step["autograd"]), key="g_auto_df")
        else:
            st.markdown("Too many numbers to print; summaries of the hand-derived and the autograd gradient:")
            hand_stats, auto_stats = graph.stats(step["value"]), graph.stats(step["autograd"])
            ui.stat_table([{"": k, "by hand": str(v), "autograd": str(auto_stats[k])} for k, v in hand_stats.items()])
        st.metric(f"max |hand - autograd| for {step['name']}", f"{step['max_abs_diff']:.2e}")

        st.markdown("**Gradients computed so far**")
        ui.stat_table([{"step": i + 1, "gradient": s["name"], "formula": s["formula"], "shape": str(list(s["shape"])),
                        "norm": s["value"].norm().item(), "max |hand - autograd|": s["max_abs_diff"]}
                       for i, s in enumerate(steps[:done])],
                      column_config={"max |hand - autograd|": st.column_config.NumberColumn(format="%.2e"),
                                     "norm": st.column_config.NumberColumn(format="%.4f")})

# ---------------------------------------------------------------- ReLU mask and formulas
left, right = st.columns([1, 1.4])
with left:
    st.subheader("The ReLU mask")
    z1 = values["z1"]
    mask = network.relu_grad(z1)  # [B, hidden]: 1 where z1 > 0
    fig = go.Figure(go.Heatmap(
        z=mask.numpy(), zmin=0, zmax=1, showscale=False,
        colorscale=[[0, "#F7F7F7"], [1, ui.COLORS["forward"]]],
        text=[[f"{v:+.2f}" for v in row] for row in z1.tolist()] if z1.numel() <= 64 else None,
        texttemplate="%{text}" if z1.numel() <= 64 else None,
        hovertemplate="example %{y}, hidden unit %{x}<br>z1 > 0: %{z}<extra></extra>"))
    fig.update_layout(xaxis_title="hidden unit", yaxis_title="example in the batch",
                      yaxis_autorange="reversed", height=max(220, min(480, 60 + 40 * z1.shape[0])))
    ui.plot(fig, key="g_mask")
    active = int(mask.sum().item())
    st.metric("Hidden units passing gradient", f"{active} / {mask.numel()}")
    st.caption("Blue cells had z1 > 0: ReLU let them through, and the gradient flows back through them "
               "unchanged (slope 1). White cells were cut to 0 going forward and get no gradient going "
               "backward (slope 0). This is the `(z1 > 0)` in the formula for dL/dz1.")
with right:
    st.subheader("Every gradient, with its shape here")
    ui.stat_table(graph.formula_table(steps))
    st.caption(f"B = {batch}, sizes {list(sizes)}. z2 is the logits: the last layer has no activation. "
               "Each weight's gradient has the weight's own shape, which is how you can check a formula "
               "before trusting it.")

# ---------------------------------------------------------------- three-way check
st.subheader("Three ways to the same gradients")
FD_ENTRIES = None if tiny else 20  # each finite-difference entry costs two forward passes
check = run_check(sizes, batch, seed, use_mnist, loss_impl, FD_ENTRIES)
ui.stat_table(check, column_config={c: st.column_config.NumberColumn(format="%.2e")
                                    for c in ("max |diff| vs autograd", "max |diff| vs finite diff")})
entries_note = "every entry" if FD_ENTRIES is None else f"{FD_ENTRIES} random entries per tensor"
ui.download_script(graph.script_graph(sizes, batch, seed, mnist=use_mnist, loss_impl=loss_impl,
                                      max_entries=FD_ENTRIES), "ch04_graph.py", key="g_download")
st.caption(f"In float64. Finite differences nudge a weight by +-1e-6 and re-run the forward pass ({entries_note}); "
           "they need no calculus at all, so agreeing with them is independent evidence that the formulas are right.")

ui.explain(f"""
**The chain rule, as bookkeeping.** The loss depends on the logits, the logits depend on W2 and h1, h1
depends on z1, and z1 depends on W1. To know how the loss reacts to a nudge of W1, multiply how each
link in that chain reacts to the one before it. Backpropagation does this multiplication from the
loss end, so each intermediate result (dL/dlogits, dL/dh1, dL/dz1) is computed once and reused by
everything further left.

**Why start at the logits.** Softmax followed by cross-entropy has an unusually tidy derivative: the
predicted probabilities minus the one-hot answer, divided by B because the loss is a batch mean. The
correct class gets pushed up, the others down, in proportion to how confident the network was.

**A matrix product sends the gradient two ways.** For z = h @ W, the weight's gradient is the input
turned on its side times the incoming error (`h.T @ dz`, shape [in, B] @ [B, out] = [in, out]), and the
input's gradient is the error sent back through the weights (`dz @ W.T`, shape [B, out] @ [out, in]).
A bias is added to every row of the batch, so its gradient is the error summed over the batch.

**The graph is real.** Every box above comes from `loss.grad_fn` and its `next_functions`. Switch
*Loss written with* under *More controls*: the same loss written with `F.cross_entropy` is recorded as
two fused nodes instead of {sum(1 for n in demo['loss_nodes'])} small ones{' (you are looking at the fused one now)' if loss_impl == 'torch' else ''}. The `AccumulateGrad` boxes
are where `.grad` is written for W1, b1, W2 and b2, the only tensors we asked gradients for.
""", title="The chain rule, step by step")

with st.expander(":material/list: Nodes of the autograd graph", expanded=False):
    ui.stat_table([{"id": n["id"], "op": n["op"], "name": n["name"] or "", "kind": n["kind"],
                    "shape": str(list(n["shape"]))} for n in demo["graph"]["nodes"].values()])
    st.code(dot, language="dot")

ui.show_source(graph.tracked_forward, graph.autograd_graph, backward.backward_steps, backward.chain_rule,
               graph.graph_demo, graph.gradient_check)

ui.quiz("ch4", "In the forward pass a hidden unit had z = 0.5, so ReLU passed it through as 0.5. "
        "Going backward, by what factor does ReLU multiply the gradient arriving at that unit?",
        ["0: ReLU always blocks the gradient", "0.5: the unit's own value", "1: it passes the gradient unchanged",
         "It depends on the learning rate"], answer=2,
        why="For positive inputs ReLU is the identity, y = z, whose slope is 1. Only units with z <= 0 have "
            "slope 0 and stop the gradient: that is the ReLU mask above.")
