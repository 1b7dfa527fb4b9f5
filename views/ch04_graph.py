"""Chapter 4: the computation graph autograd records, and the backward pass walked one node at a time."""
import streamlit as st

import exports
import ui
from core import backward, network
from labs import ch04_graph as lab
from ui import ch04_figures, graphviz, stage_player as player

L = ui.page("4 · Computation graph & gradient flow",
            "Autograd records every operation of the forward pass; walk that record backward, one gradient at a time.",
            controls="top")

TINY, MNIST = "Tiny (every value)", "784-128-10 summary"
with L.controls:
    mode = ui.segmented("Size", [TINY, MNIST], TINY, key="g_mode", format_func=lambda v: v.split(" ")[0],
                        help="Tiny: a small network whose every number is printed. 784-128-10: the digit network, "
                             "on real MNIST test digits, with summaries instead of every number.")
    tiny = mode == TINY
    n_hid = ui.slider("Hidden units", 1, 16, 4, key="g_hid", disabled=not tiny, width=220)
    batch = ui.slider("Batch size B", 1, 64, 2, key="g_batch", width=220)
with L.more:
    n_in = ui.slider("Inputs", 1, 16, 3, key="g_in", disabled=not tiny)
    n_cls = ui.slider("Classes", 2, 10, 3, key="g_cls", disabled=not tiny)
    seed = ui.seed("g_seed")
    loss_impl = ui.radio("Loss written with", ["core", "torch"], 0, key="g_loss",
                         format_func=lambda v: {"core": "core.losses.cross_entropy (every op)",
                                                "torch": "F.cross_entropy (fused)"}[v],
                         help="Same number, different graph: autograd records whatever code ran.")
    all_ops = ui.toggle("Every op of the loss", False, key="g_ops",
                        help="Draw each autograd node of the loss on its own instead of one box.")
sizes = (n_in, n_hid, n_cls) if tiny else (784, 128, 10)


@st.cache_data(max_entries=64, show_spinner=False)
def run_demo(sizes, batch, seed, use_mnist, loss_impl):
    X, Y = ui.mnist_split("test") if use_mnist else (None, None)   # uint8 pixels; the tiny network: random numbers
    return lab.graph_demo(list(sizes), batch, seed, X, Y, loss_impl)


@st.cache_data(max_entries=64, show_spinner=False)
def run_check(sizes, batch, seed, use_mnist, loss_impl, max_entries):
    demo = run_demo(sizes, batch, seed, use_mnist, loss_impl)
    return lab.gradient_check(demo, max_entries=max_entries, seed=seed)


use_mnist = not tiny
if use_mnist:
    ui.require_mnist_test()   # the committed test split; a plain-words error and a stop if it cannot be read
demo = run_demo(sizes, batch, seed, use_mnist, loss_impl)
steps, values = demo["steps"], demo["values"]
shown, boxes = lab.shown_graph(demo, all_ops)

# ---------------------------------------------------------------- backward stepping state
# g_done: how many backward steps are done; g_playing: Play is animating the walk. Step, Back, Reset and Run all
# rerun only the fragment below; Play and Pause rerun the page once, to switch the fragment's timer on or off.
PLAY_S = 0.8   # seconds per backward step while playing: 7 steps in about 6 s
config = (sizes, batch, seed, loss_impl)
if st.session_state.get("g_cfg") != config:  # new network or data: start the walk again
    st.session_state["g_cfg"] = config
    st.session_state["g_done"] = 0
    st.session_state["g_playing"] = False


def _done(n_steps):
    return max(0, min(int(st.session_state.get("g_done", 0)), n_steps))


def _set_done(n, n_steps):
    st.session_state["g_done"] = max(0, min(n, n_steps))


def _step_panel(demo, done):
    """The gradient the latest step computed, by hand and by autograd, and every gradient so far."""
    if done == 0:
        st.info("Nothing computed yet. Press **Step** (or **Play**): the first gradient is the one at the loss "
                "end, dL/dlogits.", icon=":material/touch_app:")
        return
    step = demo["steps"][done - 1]
    now, so_far = st.columns([1, 1.2], gap="medium")
    with now:
        st.markdown(f"Shape `{list(step['shape'])}`. Graph nodes reached in this step: "
                    f"{lab.nodes_reached(demo['graph'], step)}.")
        if step["value"].numel() <= 64:
            st.markdown("**By hand** (`core.backward.backward_steps`)")
            st.dataframe(ch04_figures.tensor_table(step["value"]), key="g_hand_df")
            st.markdown("**Autograd** (`.grad` after `loss.backward()`)")
            st.dataframe(ch04_figures.tensor_table(step["autograd"]), key="g_auto_df")
        else:
            st.markdown("Too many numbers to print; summaries of the hand-derived and the autograd gradient:")
            ui.stat_table(lab.stats_rows(step["value"], step["autograd"]))
        st.metric(f"max |hand - autograd| for {step['name']}", f"{step['max_abs_diff']:.2e}")
    with so_far:
        st.markdown("**Gradients computed so far**")
        ui.stat_table(lab.gradient_rows(demo["steps"], done),
                      column_config={"max |hand - autograd|": st.column_config.NumberColumn(format="%.2e"),
                                     "norm": st.column_config.NumberColumn(format="%.4f")})


def _play(n_steps):
    if _done(n_steps) >= n_steps:   # Play at the end starts the walk again
        _set_done(0, n_steps)
    player.start("g")


@st.fragment(run_every=PLAY_S if player.playing("g") else None)
def backward_walk(demo, shown, boxes):
    """Buttons, the graph `shown` (with its dashed `boxes`) with the current step highlighted, and that step's
    gradient: reruns on its own."""
    steps, n = demo["steps"], len(demo["steps"])
    done = player.tick("g", _done(n), n, lambda d: _set_done(d, n))   # a tick of Play: one more backward step
    moving = player.playing("g")
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    row.button("Back", key="g_back_btn", icon=":material/undo:", on_click=_set_done, args=(done - 1, n),
               disabled=moving or done == 0, shortcut="Left", help="Undo the latest backward step (key: left arrow).")
    row.button("Step", key="g_step_btn", icon=":material/skip_previous:", on_click=_set_done, args=(done + 1, n),
               disabled=moving or done >= n, type="primary", shortcut="Right",
               help="Compute the next gradient, one node further from the loss (key: right arrow).")
    if moving:
        row.button("Pause", key="g_pause_btn", icon=":material/pause:", on_click=player.stop, args=("g",), shortcut="P",
                   help="Stop here (key: P).")
    else:
        row.button("Play", key="g_play_btn", icon=":material/play_arrow:", on_click=_play, args=(n,), shortcut="P",
                   help=f"Animate the whole backward pass, one step every {PLAY_S:g} s (key: P).")
    row.button("Reset", key="g_reset_btn", icon=":material/restart_alt:", on_click=_set_done, args=(0, n),
               disabled=moving)
    row.button("Run all", key="g_all_btn", icon=":material/fast_rewind:", on_click=_set_done, args=(n, n),
               disabled=moving)
    done = _done(n)
    lit, current, grads = lab.walk_state(steps, done)
    dot = graphviz.to_dot(shown, demo["values"], lit, grads, clusters=boxes, rankdir="LR", current=current,
                          compact=True, forward_color=ui.COLORS["forward"], backward_color=ui.COLORS["backward"])
    st.graphviz_chart(dot, width="stretch")
    title, m1, m2 = st.columns([3, 1.3, 1.8], vertical_alignment="center")
    title.subheader(lab.step_title(steps, done))
    m1.metric("Backward steps done", f"{done} / {n}")
    m2.metric("Loss", f"{demo['loss']:.6f}")
    st.caption(f"Left to right: the forward pass (blue) from the data and weights to the loss. Orange: the nodes "
               f"the backward pass has reached, right to left, with the norm of their gradient; the strongest "
               f"orange is the latest step. Dashed arrows: data that needs no gradient (x, y). "
               f"{len(demo['graph']['nodes'])} nodes, {len(demo['graph']['edges'])} edges, read from "
               f"`loss.grad_fn.next_functions`.")
    _step_panel(demo, done)
    return dot


with L.picture:
    dot = backward_walk(demo, shown, boxes)

with L.below:
    # ---------------------------------------------------------------- predict, then try
    first, last = steps[0], steps[-1]
    p1, p2 = st.columns(2)
    with p1:
        ui.predict("ch4_first", "Which gradient is computed first?", lab.FIRST_OPTIONS, answer=lab.first_answer(steps),
                   why=f"Step 1 of this walk is {first['name']} = {first['formula']}, at the loss end; "
                       f"{last['name']} comes last (step {len(steps)}). Each step reuses the one before it, "
                       "so the walk has to start next to the loss. Press Step to see it.")
    with p2:
        n_off, n_z1, zero_there = lab.relu_cut(demo)   # entries of z1 <= 0, of z1, largest |dL/dz1| among them
        ui.predict("ch4_relu", "A hidden unit had z1 <= 0. What gradient does that z1 get?",
                   ["Exactly 0", "A small number", "The same as dL/dh1"], answer=0,
                   why=(f"In this batch {n_off} of {n_z1} entries of z1 are <= 0, and the largest |dL/dz1| "
                        f"among them is {zero_there:g}: ReLU's slope there is 0, so nothing flows back."
                        if n_off else f"In this batch no entry of z1 is <= 0 (all {n_z1} passed ReLU); "
                        "where one is, ReLU's slope is 0 and dL/dz1 is exactly 0. Try another seed."))

    # ---------------------------------------------------------------- ReLU mask and formulas
    left, right = st.columns([1, 1.4])
    with left:
        st.subheader("The ReLU mask")
        mask = network.relu_grad(values["z1"])  # [B, hidden]: 1 where z1 > 0
        ui.plot(ch04_figures.relu_mask(values["z1"], mask), key="g_mask")
        active = int(mask.sum().item())
        st.metric("Hidden units passing gradient", f"{active} / {mask.numel()}")
        st.caption("Blue cells had z1 > 0: ReLU let them through, and the gradient flows back through them "
                   "unchanged (slope 1). White cells were cut to 0 going forward and get no gradient going "
                   "backward (slope 0). This is the `(z1 > 0)` in the formula for dL/dz1.")
    with right:
        st.subheader("Every gradient, with its shape here")
        ui.stat_table(lab.formula_table(steps))
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
    ui.download_script(exports.fill("ch04_graph", dict(sizes=list(sizes), batch=batch, seed=seed, mnist=use_mnist,
                                                       loss_impl=loss_impl, max_entries=FD_ENTRIES)),
                       "ch04_graph.py", key="g_download")
    st.caption(f"In float64. Finite differences nudge a weight by +-1e-6 and re-run the forward pass ({entries_note}); "
               "they need no calculus at all, so agreeing with them is independent evidence that the formulas are "
               "right.")

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
two fused nodes instead of {sum(1 for n in demo['loss_nodes'])} small ones{
    ' (you are looking at the fused one now)' if loss_impl == 'torch' else ''}. The `AccumulateGrad` boxes
are where `.grad` is written for W1, b1, W2 and b2, the only tensors we asked gradients for.
""", title="The chain rule, step by step")

    with st.expander(":material/list: Nodes of the autograd graph", expanded=False):
        ui.stat_table(lab.node_rows(demo["graph"]))
        st.code(dot, language="dot")

    ui.show_source(lab.tracked_forward, lab.autograd_graph, lab.named_data_saved_by, backward.backward_steps,
                   backward.chain_rule, lab.graph_demo, lab.gradient_check)

    ui.quiz("ch4", "In the forward pass a hidden unit had z = 0.5, so ReLU passed it through as 0.5. "
            "Going backward, by what factor does ReLU multiply the gradient arriving at that unit?",
            ["0: ReLU always blocks the gradient", "0.5: the unit's own value", "1: it passes the gradient unchanged",
             "It depends on the learning rate"], answer=2,
            why="For positive inputs ReLU is the identity, y = z, whose slope is 1. Only units with z <= 0 have "
                "slope 0 and stop the gradient: that is the ReLU mask above.")
