"""Chapter 6: what a data loader does (randperm + slice), and what skipping the shuffle costs."""
import plotly.graph_objects as go
import streamlit as st

import exports
import ui
from core import data, network
from labs import ch06_batching as shuffling

L = ui.page("6 · Shuffling & batching",
            "A data loader does two things: it shuffles the order of the examples, then slices it into mini-batches.")

N_CLASSES, PER_CLASS = 6, 10
N = N_CLASSES * PER_CLASS
FRAMES = 10                               # animation frames per step (shuffle, slice)
FRAME_S = 0.08                            # seconds per frame: a step takes 0.8 s
LAST = FRAMES * (len(shuffling.STAGES) - 1)

with L.controls:
    shuffle = ui.toggle("Shuffle (randperm)", False, key="bat_shuffle",
                        help="On: step 1 draws a random order with torch.randperm. Off: the stored order is kept.")
    B = ui.slider("Batch size B", 1, N, 8, key="bat_b")
with L.more:
    seed = ui.seed("bat_seed")

labels = shuffling.sorted_labels(N_CLASSES, PER_CLASS)  # [60]: 0 x10, 1 x10, ...
batches = shuffling.epoch_order(N, B, shuffle, seed)
mix = shuffling.class_mix(labels, batches, N_CLASSES)
n_batches = data.num_batches(N, B)
stages = shuffling.loader_stages(batches)                # where each item sits: stored, shuffled, sliced


# ---------------------------------------------------------------- the loader, animated: shuffle, then slice
def _frame():
    return int(st.session_state.get("bat_frame", 0))


def _animate_to(stage):
    st.session_state["bat_target"] = stage * FRAMES
    st.session_state["bat_playing"] = True
    st.session_state["bat_timer_changed"] = True


def _play():
    if _frame() >= LAST:   # Play at the end starts again from the stored order
        st.session_state["bat_frame"] = 0
    _animate_to(len(shuffling.STAGES) - 1)


def _step():
    _animate_to(min(_frame() // FRAMES + 1, len(shuffling.STAGES) - 1))


def _reset():
    st.session_state.update(bat_frame=0, bat_target=0)
    if st.session_state.get("bat_playing"):
        st.session_state.update(bat_playing=False, bat_timer_changed=True)


def loader_figure(t):
    """The 60 items (squares coloured by class, labelled by index) at animation time t (0 stored, 1 shuffled,
    2 sliced into batches)."""
    x, y = shuffling.stage_positions(stages, t)
    max_x = max(max(s[0]) for s in stages)
    max_y = max(max(s[1]) for s in stages)
    height = 420
    size = max(6.0, min(34.0, 0.72 * (height - 70) / (max_y + 1), 0.72 * 620 / (max_x + 3)))
    fig = go.Figure()
    fig.add_scatter(x=x, y=y, mode="markers+text" if size >= 16 else "markers",
                    text=[str(i) for i in range(N)], textfont=dict(color="white", size=max(9, int(size * 0.42))),
                    marker=dict(symbol="square", size=size, color=[ui.PALETTE[int(c)] for c in labels]),
                    hovertext=[f"item {i}, class {int(c)}" for i, c in enumerate(labels)], hoverinfo="text",
                    showlegend=False)
    for c in range(N_CLASSES):   # the legend: one entry per class colour
        fig.add_scatter(x=[None], y=[None], mode="markers", name=f"class {c}",
                        marker=dict(symbol="square", size=12, color=ui.PALETTE[c]))
    if t > 1.5:   # the cut: each batch framed and named, fading in as the items arrive
        fade = min(1.0, (t - 1.5) * 2)
        fig.update_layout(
            shapes=[dict(type="rect", x0=-0.5, x1=len(b) - 0.5, y0=k - 0.5, y1=k + 0.5, opacity=fade,
                         line=dict(color="#333333", width=1.5)) for k, b in enumerate(batches)],
            annotations=[dict(x=-0.6, y=k, text=f"batch {k}", showarrow=False, xanchor="right", opacity=fade)
                         for k in range(len(batches))] if n_batches <= 20 else [])
    fig.update_xaxes(range=[-2.6, max_x + 0.6], visible=False, fixedrange=True)
    fig.update_yaxes(range=[max_y + 0.6, -0.6], visible=False, fixedrange=True)
    fig.update_layout(height=height, legend=dict(orientation="h", y=0, yanchor="top"), hovermode="closest")
    return fig


def stage_text(frame):
    if frame == 0:
        return (f"**Stored:** the {N} items as they lie on disk, sorted by class. Press **Play**: a loader first "
                "shuffles, then slices.")
    if frame <= FRAMES:
        return (f"**Step 1 of 2 · Shuffle:** `torch.randperm({N})` with seed {seed} gives every item a new place."
                if shuffle else "**Step 1 of 2 · Shuffle is off:** every item keeps its stored place.")
    return (f"**Step 2 of 2 · Slice:** places 0 to {B - 1} become batch 0, the next {B} batch 1, and so on: "
            f"{n_batches} batches, the last one {len(batches[-1])} items.")


playing = bool(st.session_state.get("bat_playing"))


@st.fragment(run_every=FRAME_S if playing else None)
def loader_animation():
    """Play / Step / Reset and the items moving; reruns on its own, one frame per tick while playing."""
    if st.session_state.pop("bat_timer_changed", False):
        st.rerun()   # Play, Step or Reset: rerun the page once, to start or stop this fragment's timer
    frame = _frame()
    if st.session_state.get("bat_playing"):
        target = int(st.session_state.get("bat_target", frame))
        if frame < target:
            frame += 1
            st.session_state["bat_frame"] = frame
        if frame >= target:   # arrived: stop the timer (a full rerun draws the fragment without it)
            st.session_state["bat_playing"] = False
            st.rerun()
    moving = bool(st.session_state.get("bat_playing"))
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    row.button("Play", key="bat_play", icon=":material/play_arrow:", on_click=_play, disabled=moving,
               type="primary", shortcut="P", help="Shuffle, then slice, one after the other (key: P).")
    row.button("Step", key="bat_step", icon=":material/skip_next:", on_click=_step,
               disabled=moving or frame >= LAST, shortcut="S", help="Only the next step (key: S).")
    row.button("Reset", key="bat_reset", icon=":material/restart_alt:", on_click=_reset, disabled=frame == 0)
    ui.plot(loader_figure(frame / FRAMES), key="bat_items")
    st.markdown(stage_text(frame))


with L.picture:
    loader_animation()

with L.below:
    m = st.columns(4)
    m[0].metric("Batches per epoch", n_batches)
    m[1].metric("Size of the last batch", len(batches[-1]))
    m[2].metric("Mean class entropy per batch (bits)", f"{sum(r['entropy'] for r in mix) / len(mix):.2f}",
                help="0 bits: every item of a batch has the same class; log2(6) = 2.585 bits: all 6 equally.")
    m[3].metric("Batches holding a single class", sum(r["entropy"] == 0 for r in mix))
    st.caption(f"(N + B - 1) // B = ({N} + {B} - 1) // {B} = {n_batches} batches; the last one holds "
               f"{N} - {B} x {n_batches - 1} = {len(batches[-1])} items.")

    sorted_mix = shuffling.class_mix(labels, shuffling.epoch_order(N, B, False, seed), N_CLASSES)
    shuffled_mix = shuffling.class_mix(labels, shuffling.epoch_order(N, B, True, seed), N_CLASSES)
    pure_sorted = sum(r["entropy"] == 0 for r in sorted_mix)
    pure_shuffled = sum(r["entropy"] == 0 for r in shuffled_mix)
    ui.predict("ch06_pure",
               f"No shuffle, batches of {B}: how many of the {n_batches} batches hold a single class?",
               ["None of them", "Some of them", "All of them"],
               answer=0 if pure_sorted == 0 else 2 if pure_sorted == n_batches else 1,
               why=f"Sorted: {pure_sorted} of {n_batches} batches hold one class ({PER_CLASS} items per class, "
                   f"{B} per batch). Shuffled with seed {seed}: {pure_shuffled}.")

    order = [i for b in batches for i in b]
    st.markdown("**Order of the items this epoch** (" + ("a random permutation drawn with seed "
                f"{seed}" if shuffle else "no shuffle: 0, 1, 2, ... as stored") + ")")
    st.code(" ".join(str(i) for i in order), language=None, wrap_lines=True)

    ui.stat_table([{"batch": r["batch"], "size": r["size"],
                    **{f"class {c}": r["counts"][c] for c in range(N_CLASSES)},
                    "entropy (bits)": round(r["entropy"], 3)} for r in mix], width="stretch")
    st.caption("Entropy measures how mixed a batch is: 0 bits when every item has the same class, "
               "log2(6) = 2.585 bits when all 6 classes appear equally often.")

# ---------------------------------------------------------------- the consequence
st.subheader("The consequence: train on sorted vs shuffled data")
st.markdown("The same network (2 inputs, 16 hidden units, 6 outputs), the same starting weights, the same "
            "plain-SGD learning rate and the same number of steps, on 300 points in 6 clusters stored "
            "sorted by class. Only the order in which the points arrive differs.")
t1, t2, t3 = st.columns(3)
with t1:
    train_b = ui.slider("Batch size for training", 10, 300, 20, key="bat_tb")
with t2:
    lr = ui.select_slider("Learning rate (SGD)", [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0], 0.3, key="bat_lr")
with t3:
    epochs = ui.slider("Epochs", 1, 10, 5, key="bat_epochs")


@st.cache_data(max_entries=300, show_spinner=False)
def run(ordering, train_b, lr, epochs, seed):
    """One training run for these settings (pure: same arguments, same curve)."""
    X, y = shuffling.sorted_blobs(N_CLASSES, 50, noise=0.3, seed=seed)
    return shuffling.train_ordering(ordering, X, y, batch_size=train_b, lr=lr, epochs=epochs, seed=seed)


progress = st.progress(0.0, text="Training three networks...")
curves = {}
for k, ordering in enumerate(shuffling.ORDERINGS):
    curves[ordering] = run(ordering, train_b, lr, epochs, seed)
    progress.progress((k + 1) / 3, text=f"Trained: {ordering}")
progress.empty()

for ordering, curve in curves.items():
    if curve["diverged"]:
        st.warning(f"{ordering}: training blew up, {curve['diverged']}.", icon=":material/warning:")
    elif curve["loss"][-1] > curve["loss"][0]:
        st.warning(f"{ordering}: the loss ended higher than it started ({curve['loss'][0]:.3f} -> "
                   f"{curve['loss'][-1]:.3f}); the learning rate {lr:g} is too large for this network.",
                   icon=":material/warning:")

final = {o: c["loss"][-1] for o, c in curves.items()}
lowest = min(final, key=lambda o: final[o] if final[o] == final[o] else float("inf"))   # NaN (blown up) last
ui.predict("ch06_order", f"Batches of {train_b}, lr {lr:g}, {epochs} epochs: which order of the examples ends with "
           "the lowest loss?", list(shuffling.ORDERINGS), answer=list(shuffling.ORDERINGS).index(lowest),
           why="Final loss on all 300 points: " + ", ".join(f"{o} {v:.3f}" for o, v in final.items()) + ".")

per_epoch = data.num_batches(300, train_b)
CURVE_COLOURS = dict(zip(shuffling.ORDERINGS, (ui.COLORS["wrong"], ui.COLORS["neutral"], ui.COLORS["correct"])))
fig = go.Figure()
for ordering, curve in curves.items():
    fig.add_scatter(y=curve["loss"], name=ordering, mode="lines", line_color=CURVE_COLOURS[ordering],
                    line_dash="dash" if ordering == "shuffled once" else "solid")
fig.update_layout(height=400, xaxis_title=f"step ({per_epoch} steps per epoch)",
                  yaxis_title="loss on all 300 training points", legend=dict(orientation="h", y=-0.2),
                  shapes=[dict(type="line", x0=e * per_epoch, x1=e * per_epoch, y0=0, y1=1, yref="paper",
                               line=dict(color="#bbbbbb", dash="dot", width=1)) for e in range(1, epochs)])
ui.plot(fig, key="bat_curves")


def last_epoch(values):
    return values[-per_epoch:] if len(values) > per_epoch else values


ui.stat_table([{"order of examples": o, "steps": len(c["loss"]) - 1, "final loss": round(c["loss"][-1], 4),
                "final accuracy": f"{c['acc'][-1]:.1%}",
                "worst loss during the last epoch": round(max(last_epoch(c["loss"])), 4)}
               for o, c in curves.items()], width="stretch")
st.caption("Dotted lines mark epoch boundaries. Without shuffling, each stretch of steps sees a single class, "
           "so every update drags the network towards predicting that class and the loss on the whole set "
           "swings up and down within each epoch.")

d1, d2 = st.columns(2)
with d1:
    script = exports.fill("ch06_batching", dict(B=B, shuffle=shuffle, seed=seed, train_b=train_b, lr=lr, epochs=epochs))
    ui.download_script(script, "ch06_batching.py", key="bat_download")
with d2:
    best = curves["reshuffled every epoch"]
    st.download_button("Download the reshuffled network's weights", network.weights_file(best["params"]),
                       file_name="batching_reshuffled.pt", mime="application/octet-stream",
                       icon=":material/download:", key="bat_weights")
st.caption("The script rebuilds the batches and the three training runs above with the `core` package (run it "
           "from the repository root). The weights file is a state_dict for "
           "`nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 6))`: load it with "
           "`model.load_state_dict(torch.load(path))`.")

# ---------------------------------------------------------------- the batch-size trade-off, measured
st.subheader("Batch size: many noisy steps or a few smooth ones")
st.markdown(f"The same network (2 inputs, 16 hidden units, 6 outputs) trained from the same starting weights "
            f"with plain SGD on {shuffling.SWEEP_POINTS:,} points of the same 6 blobs (reshuffled every epoch), "
            f"once for each batch size from {shuffling.SWEEP_BATCH_SIZES[0]} to {shuffling.SWEEP_BATCH_SIZES[-1]:,}. "
            "Every run sees the same number of examples (the same epochs), so a bigger batch makes fewer updates.")
s1, s2, s3 = st.columns(3, vertical_alignment="bottom")
with s1:
    sweep_lr = ui.select_slider("Learning rate (SGD), every batch size", [0.03, 0.1, 0.3, 1.0, 3.0], 0.3,
                                key="bat_sw_lr")
with s2:
    sweep_epochs = ui.slider("Epochs, every batch size", 1, 5, 2, key="bat_sw_epochs")
with s3:
    measure = st.button("Measure every batch size", key="bat_sweep", icon=":material/speed:", type="primary")


@st.cache_data(max_entries=400, show_spinner=False)
def batch_size_run(batch_size, lr, epochs, seed):
    """One run of the sweep (cached per server: its wall-clock numbers are those of the first run)."""
    X, y = shuffling.sweep_data(seed=seed)
    return shuffling.train_batch_size(X, y, batch_size, epochs=epochs, lr=lr, seed=seed)


sweep_settings = (sweep_lr, sweep_epochs, seed)
if measure:
    bar = st.progress(0.0, text="Training one network per batch size...")
    sweep = []
    for k, size in enumerate(shuffling.SWEEP_BATCH_SIZES):
        sweep.append(batch_size_run(size, *sweep_settings))
        bar.progress((k + 1) / len(shuffling.SWEEP_BATCH_SIZES), text=f"Batch size {size:,}: done")
    bar.empty()
    st.session_state["bat_sweep_result"] = {"settings": sweep_settings, "rows": sweep}
swept = st.session_state.get("bat_sweep_result")
if swept is None:
    st.caption(f"Press **Measure** to train {len(shuffling.SWEEP_BATCH_SIZES)} networks (a second or two).")
else:
    if swept["settings"] != sweep_settings:
        st.caption("Showing the last measurement (settings changed since; press **Measure** to run them).")
    rows = swept["rows"]
    for r in rows:
        if r["diverged"]:
            st.warning(f"Batch size {r['batch_size']:,}: {r['diverged']}.", icon=":material/warning:")
    sizes_x = [r["batch_size"] for r in rows]
    ticks = dict(type="log", tickvals=sizes_x, ticktext=[f"{b:,}" for b in sizes_x], title="batch size")
    f1, f2 = st.columns(2)
    with f1:
        fig = go.Figure()
        fig.add_scatter(x=sizes_x, y=[r["final_loss"] for r in rows], mode="lines+markers",
                        name="final loss (all points)", line_color=ui.COLORS["forward"])
        fig.add_scatter(x=sizes_x, y=[r["loss_spread"] for r in rows], mode="lines+markers",
                        name="batch-to-batch spread of the loss", line=dict(color=ui.COLORS["backward"], dash="dot"))
        fig.update_layout(title="Loss after the same number of epochs", height=380, xaxis=ticks,
                          yaxis_title="cross-entropy", legend=dict(orientation="h", y=-0.3))
        ui.plot(fig, key="bat_sweep_loss")
    with f2:
        fig = go.Figure()
        fig.add_scatter(x=sizes_x, y=[r["steps_per_s"] for r in rows], mode="lines+markers",
                        name="updates per second", line_color=ui.COLORS["neutral"])
        fig.update_layout(title="Updates per second, measured on this server", height=380, xaxis=ticks,
                          yaxis=dict(title="updates per second", rangemode="tozero"))
        ui.plot(fig, key="bat_sweep_speed")
    ui.stat_table([{"batch size": r["batch_size"], "updates": r["updates"], "final loss": round(r["final_loss"], 4),
                    "final accuracy": f"{r['final_acc']:.1%}", "loss spread": round(r["loss_spread"], 4),
                    "updates per second": round(r["steps_per_s"]), "examples per second": round(r["examples_per_s"]),
                    "training seconds": round(r["seconds"], 3)} for r in rows], width="stretch")
    sm = shuffling.sweep_summary(rows)
    best, small, large = sm["best"], sm["smallest"], sm["largest"]
    st.caption(
        f"Lowest final loss: batch {best['batch_size']:,} ({best['final_loss']:.3f} after {best['updates']:,} "
        f"updates). Batch {small['batch_size']:,} made {small['updates']:,} updates, each from a noisy view "
        f"(its batch losses stray {small['loss_spread']:.3f} from batch to batch), and ended at "
        f"{small['final_loss']:.3f}; batch {large['batch_size']:,} sees a "
        + ("steadier" if large["loss_spread"] < small["loss_spread"] else "no steadier")
        + f" view (spread {large['loss_spread']:.4f}) but made only {large['updates']:,} updates and ended at "
        f"{large['final_loss']:.3f}. Updates per second: {small['steps_per_s']:,.0f} at batch "
        f"{small['batch_size']:,}, {large['steps_per_s']:,.0f} at batch {large['batch_size']:,}; examples per "
        f"second: {small['examples_per_s']:,.0f} and {large['examples_per_s']:,.0f}. Speeds are wall-clock, "
        "measured live on this shared server: the fastest of three windows of at least 20 ms of steps at each "
        "batch size (the first measurement for these settings is kept for everyone), so they vary from run to "
        "run; the losses do not.")

ui.explain(
    "**A data loader is randperm + slice.** `torch.randperm(N)` lists 0..N-1 in a random order; slicing "
    "it into pieces of B gives the index lists of the batches, and `X[idx]` gathers those rows: shapes "
    "`[B, features]` and `[B]`. There are (N + B - 1) // B batches; only the last one can be smaller.\n\n"
    "**Why shuffle.** A mini-batch gradient is supposed to be a cheap estimate of the gradient over the "
    "whole dataset. That works only if the batch looks like the dataset. A batch holding a single class "
    "estimates the gradient of a different problem (\"everything is class 3\"), so consecutive steps pull in "
    "different directions and undo each other.\n\n"
    "**Why again each epoch.** With a fixed order the network meets the same batches in the same sequence "
    "every epoch, so the same quirks of that order repeat and add up. A fresh permutation makes each "
    "epoch's sequence of gradient estimates independent of the last one. (On this small problem the "
    "difference between 'shuffled once' and 'reshuffled' is small; the difference to 'sorted' is not.)\n\n"
    "**What the real DataLoader adds:** worker processes that prepare the next batch in parallel, pinned "
    "memory for faster copies to a GPU, and collation of samples into tensors. The order logic is the same: "
    "its RandomSampler calls `torch.randperm`. The same seed alone does not give the same order, though: "
    "each epoch a DataLoader first takes one int64 from its generator (a seed for the workers) and, after "
    "the permutation it uses, one more permutation it never uses. `batch_indices(..., like_dataloader=True)` "
    "takes both too and then matches the DataLoader batch for batch (pages 10 and 11 check it live)."
)
ui.show_source(data.batch_indices, data.num_batches, shuffling.epoch_order, shuffling.class_mix,
               shuffling.entropy_bits, shuffling.sorted_blobs, shuffling.train_ordering,
               shuffling.train_batch_size, shuffling.updates_per_second, shuffling.sweep_summary)

ui.quiz(
    "ch6",
    "A training loop draws a new random permutation of the data at the start of every epoch. What does that buy?",
    ["It makes each epoch faster to compute",
     "Every batch stays a fair sample of the data, and the network never sees the same batches in the same "
     "sequence twice, so order effects do not repeat epoch after epoch",
     "It guarantees that every batch contains exactly one example of each class",
     "It is needed so that the last batch has the same size as the others"],
    answer=1,
    why="Shuffling costs time, it does not save it; it does not balance the classes exactly; and the last batch "
        "is short either way. Its job is to keep batches representative and the sequence of updates fresh.",
)
