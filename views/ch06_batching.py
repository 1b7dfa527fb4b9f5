"""Chapter 6: what a data loader does (randperm + slice), and what skipping the shuffle costs."""
import streamlit as st

import exports
import ui
from core import data, network
from labs import ch06_batching as lab
from ui import ch06_figures as figures
from ui.stage_player import StagePlayer

L = ui.page("6 · Shuffling & batching",
            "A data loader does two things: it shuffles the order of the examples, then slices it into mini-batches.")

N_CLASSES, PER_CLASS = 6, 10
N = N_CLASSES * PER_CLASS
FRAMES = 10                               # animation frames per step (shuffle, slice)
FRAME_S = 0.08                            # seconds per frame: a step takes 0.8 s
player = StagePlayer("bat", FRAMES, len(lab.STAGES))   # bat_frame, bat_playing, bat_play, ...

with L.controls:
    shuffle = ui.toggle("Shuffle (randperm)", False, key="bat_shuffle",
                        help="On: step 1 draws a random order with torch.randperm. Off: the stored order is kept.")
    B = ui.slider("Batch size B", 1, N, 8, key="bat_b")
with L.more:
    seed = ui.seed("bat_seed")

labels = lab.sorted_labels(N_CLASSES, PER_CLASS)  # [60]: 0 x10, 1 x10, ...
batches = lab.epoch_order(N, B, shuffle, seed)
mix = lab.class_mix(labels, batches, N_CLASSES)
n_batches = data.num_batches(N, B)
stages = lab.loader_stages(batches)                # where each item sits: stored, shuffled, sliced
extent = lab.stage_extent(stages)


# ---------------------------------------------------------------- the loader, animated: shuffle, then slice
@st.fragment(run_every=FRAME_S if player.playing() else None)
def loader_animation():
    """Play / Step / Reset and the items moving; reruns on its own, one frame per tick while playing."""
    frame = player.advance()
    player.buttons(frame, play_help="Shuffle, then slice, one after the other (key: P).",
                   step_help="Only the next step (key: S).")
    t = frame / FRAMES
    ui.plot(figures.loader_figure(lab.stage_positions(stages, t), t, labels.tolist(), batches, extent), key="bat_items")
    st.markdown(figures.stage_text(frame / FRAMES, N, seed, shuffle, batches))


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

    pure = lab.single_class_batches(labels, B, seed, N_CLASSES)
    ui.predict("ch06_pure",
               f"No shuffle, batches of {B}: how many of the {n_batches} batches hold a single class?",
               ["None of them", "Some of them", "All of them"],
               answer=0 if pure["sorted"] == 0 else 2 if pure["sorted"] == n_batches else 1,
               why=f"Sorted: {pure['sorted']} of {n_batches} batches hold one class ({PER_CLASS} items per class, "
                   f"{B} per batch). Shuffled with seed {seed}: {pure['shuffled']}.")

    order = [i for b in batches for i in b]
    st.markdown("**Order of the items this epoch** (" + ("a random permutation drawn with seed "
                f"{seed}" if shuffle else "no shuffle: 0, 1, 2, ... as stored") + ")")
    st.code(" ".join(str(i) for i in order), language=None, wrap_lines=True)

    ui.stat_table(lab.mix_rows(mix, N_CLASSES), width="stretch")
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
    X, y = lab.sorted_blobs(N_CLASSES, 50, noise=0.3, seed=seed)
    return lab.train_ordering(ordering, X, y, batch_size=train_b, lr=lr, epochs=epochs, seed=seed)


progress = st.progress(0.0, text="Training three networks...")
curves = {}
for k, ordering in enumerate(lab.ORDERINGS):
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
lowest = lab.lowest_final_loss(curves)
ui.predict("ch06_order", f"Batches of {train_b}, lr {lr:g}, {epochs} epochs: which order of the examples ends with "
           "the lowest loss?", list(lab.ORDERINGS), answer=list(lab.ORDERINGS).index(lowest),
           why="Final loss on all 300 points: " + ", ".join(f"{o} {v:.3f}" for o, v in final.items()) + ".")

per_epoch = data.num_batches(300, train_b)
CURVE_COLOURS = dict(zip(lab.ORDERINGS, (ui.COLORS["wrong"], ui.COLORS["neutral"], ui.COLORS["correct"])))
ui.plot(figures.ordering_curves_figure(curves, CURVE_COLOURS, per_epoch, epochs), key="bat_curves")
ui.stat_table(lab.ordering_rows(curves, per_epoch), width="stretch")
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
            f"with plain SGD on {lab.SWEEP_POINTS:,} points of the same 6 blobs (reshuffled every epoch), "
            f"once for each batch size from {lab.SWEEP_BATCH_SIZES[0]} to {lab.SWEEP_BATCH_SIZES[-1]:,}. "
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
    X, y = lab.sweep_data(seed=seed)
    return lab.train_batch_size(X, y, batch_size, epochs=epochs, lr=lr, seed=seed)


sweep_settings = (sweep_lr, sweep_epochs, seed)
if measure:
    bar = st.progress(0.0, text="Training one network per batch size...")
    sweep = []
    for k, size in enumerate(lab.SWEEP_BATCH_SIZES):
        sweep.append(batch_size_run(size, *sweep_settings))
        bar.progress((k + 1) / len(lab.SWEEP_BATCH_SIZES), text=f"Batch size {size:,}: done")
    bar.empty()
    st.session_state["bat_sweep_result"] = {"settings": sweep_settings, "rows": sweep}
swept = st.session_state.get("bat_sweep_result")
if swept is None:
    st.caption(f"Press **Measure** to train {len(lab.SWEEP_BATCH_SIZES)} networks (a second or two).")
else:
    if swept["settings"] != sweep_settings:
        st.caption("Showing the last measurement (settings changed since; press **Measure** to run them).")
    rows = swept["rows"]
    for r in rows:
        if r["diverged"]:
            st.warning(f"Batch size {r['batch_size']:,}: {r['diverged']}.", icon=":material/warning:")
    f1, f2 = st.columns(2)
    with f1:
        ui.plot(figures.sweep_loss_figure(rows), key="bat_sweep_loss")
    with f2:
        ui.plot(figures.sweep_speed_figure(rows), key="bat_sweep_speed")
    ui.stat_table(lab.sweep_rows(rows), width="stretch")
    sm = lab.sweep_summary(rows)
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
ui.show_source(data.batch_indices, data.num_batches, lab.epoch_order, lab.class_mix,
               lab.entropy_bits, lab.sorted_blobs, lab.train_ordering,
               lab.train_batch_size, lab.updates_per_second, lab.sweep_summary)

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
