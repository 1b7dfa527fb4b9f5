"""Why a data loader shuffles: batches of a class-sorted dataset, their class mix, and what training sees.

Shuffling and slicing themselves are core.data.batch_indices (randperm, then cut into pieces of
batch_size). This module adds what the chapter-6 page measures about them:

  * sorted_labels:    a toy dataset stored sorted by class, like files saved folder by folder;
  * class_mix:        how many items of each class every batch holds, and the entropy of that mix;
  * sorted_blobs, train_ordering:  the same small network trained on the same class-sorted data,
                      same start, same steps; only the order in which the examples arrive differs.
"""
import math
import time

import torch

from core.data import batch_indices, make_2d
from core.metrics import evaluate
from core.network import init_mlp
from core.train import make_config, train_step

ORDERINGS = ("sorted (no shuffle)", "shuffled once", "reshuffled every epoch")


def sorted_labels(n_classes=6, per_class=10):
    """Labels [n_classes * per_class] stored class by class: 0,0,...,0,1,1,...: a dataset sorted on disk."""
    return torch.arange(n_classes).repeat_interleave(per_class)


def epoch_order(N, batch_size, shuffle, seed):
    """The batches of one epoch as lists of item indices (core.data.batch_indices with a seeded generator)."""
    g = torch.Generator().manual_seed(seed)
    return [b.tolist() for b in batch_indices(N, batch_size, shuffle=shuffle, generator=g)]


GRID_WIDTH = 12     # the stored (and the shuffled) items are drawn 12 to a row
STAGES = ("stored", "shuffled", "sliced")


def loader_stages(batches, width=GRID_WIDTH):
    """Where every item sits at a loader's three stages, as [(x [N], y [N]) for stored, shuffled, sliced].

    stored:   item i at place i of a grid `width` wide: (i % width, i // width)
    shuffled: item i at its place p in this epoch's order (randperm, or 0..N-1 without shuffle), same grid
    sliced:   item i at (its position j in its mini-batch, its batch number b): one row per batch
    """
    order = [i for b in batches for i in b]                     # the epoch's order, [N]
    N = len(order)
    place, slot, batch_of = [0] * N, [0] * N, [0] * N
    for p, i in enumerate(order):
        place[i] = p
    for b, idx in enumerate(batches):
        for j, i in enumerate(idx):
            slot[i], batch_of[i] = j, b
    stored = ([i % width for i in range(N)], [i // width for i in range(N)])
    shuffled = ([place[i] % width for i in range(N)], [place[i] // width for i in range(N)])
    return [stored, shuffled, (slot, batch_of)]


def stage_positions(stages, t):
    """Every item's (x, y) at animation time t in [0, len(stages) - 1]: t = 0 stored, 1 shuffled, 2 sliced,
    in between a smooth move (smoothstep easing) from stage floor(t) to the next."""
    t = min(max(float(t), 0.0), len(stages) - 1.0)
    k = min(int(t), len(stages) - 2)
    u = t - k
    ease = u * u * (3 - 2 * u)                                  # 0 -> 0, 1 -> 1, gentle at both ends
    (x0, y0), (x1, y1) = stages[k], stages[k + 1]
    return ([a + (b - a) * ease for a, b in zip(x0, x1)], [a + (b - a) * ease for a, b in zip(y0, y1)])


def stage_extent(stages):
    """The largest (x, y) any item takes at any stage: the picture's extent, the same in every frame."""
    return max(max(x) for x, _ in stages), max(max(y) for _, y in stages)


def entropy_bits(counts):
    """Shannon entropy of a class mix in bits: 0 when one class fills the batch, log2(k) for k equal classes."""
    total = sum(counts)
    return -sum(c / total * math.log2(c / total) for c in counts if c > 0) + 0.0  # + 0.0: no "-0.0"


def class_mix(labels, batches, n_classes):
    """For every batch: its size, the count of each class, and the entropy of that mix (bits)."""
    rows = []
    for i, idx in enumerate(batches):
        counts = torch.bincount(labels[idx], minlength=n_classes).tolist()  # [n_classes]
        rows.append({"batch": i, "size": len(idx), "counts": counts, "entropy": entropy_bits(counts)})
    return rows


def mix_rows(mix, n_classes):
    """class_mix as table rows: batch, size, one count per class, entropy in bits (3 decimals)."""
    return [{"batch": r["batch"], "size": r["size"], **{f"class {c}": r["counts"][c] for c in range(n_classes)},
             "entropy (bits)": round(r["entropy"], 3)} for r in mix]


def single_class_batches(labels, batch_size, seed, n_classes):
    """How many batches of one epoch hold a single class, without and with the shuffle: {"sorted", "shuffled"}."""
    return {name: sum(r["entropy"] == 0 for r in class_mix(labels, epoch_order(len(labels), batch_size, shuffle,
                                                                                seed), n_classes))
            for name, shuffle in (("sorted", False), ("shuffled", True))}


def sorted_blobs(n_classes=6, per_class=50, noise=0.3, seed=0):
    """2-D blobs (core.data.make_2d) stored sorted by class: X [N, 2], y [N] = 0,0,...,1,1,...."""
    X, y = make_2d("blobs", n=n_classes * per_class, noise=noise, seed=seed, n_classes=n_classes)
    by_class = torch.argsort(y, stable=True)  # a stable sort keeps each class's points in their order
    return X[by_class], y[by_class]


def train_ordering(ordering, X, y, batch_size=20, lr=0.3, epochs=5, hidden=16, seed=0):
    """Train a 2-hidden-C MLP with plain SGD on (X, y), feeding the examples in one of ORDERINGS.

    Every call with the same seed starts from the same weights and takes the same steps with the same
    learning rate; "shuffled once" and "reshuffled every epoch" share their first-epoch permutation,
    so the only difference between the three runs is the order of the examples.
    After every step the loss and accuracy are measured on the whole training set.
    Returns {"loss": [...], "acc": [...]} (entry 0 = before training), "diverged": a message or None,
    and "params": the trained weights ([{"W", "b"}, ...], see core.network).
    """
    if ordering not in ORDERINGS:
        raise ValueError(f"ordering must be one of {ORDERINGS}, got {ordering!r}")
    N, n_classes = len(y), int(y.max()) + 1
    params = init_mlp([X.shape[1], hidden, n_classes], seed=seed)  # identical start for every ordering
    state, config = {}, make_config("sgd", lr=lr)
    g = torch.Generator().manual_seed(seed + 1)
    first = torch.randperm(N, generator=g)  # the permutation both shuffled runs use in epoch 1
    start = evaluate(params, X, y)
    curve = {"loss": [start["loss"]], "acc": [start["acc"]], "diverged": None, "params": params}
    for epoch in range(epochs):
        if ordering == "sorted (no shuffle)":
            order = torch.arange(N).split(batch_size)  # class 0 first, then class 1, ...
        elif ordering == "shuffled once" or epoch == 0:
            order = first.split(batch_size)  # the same mixed order every epoch
        else:
            order = batch_indices(N, batch_size, shuffle=True, generator=g)  # a fresh permutation
        for idx in order:
            step = train_step(params, state, X[idx], y[idx], config)  # forward, backward, SGD update
            after = evaluate(params, X, y)  # the whole training set, after this step
            if step["diverged"] or not math.isfinite(after["loss"]):
                curve["diverged"] = (f"the loss became inf or nan at step {len(curve['loss'])}; "
                                     f"lower the learning rate (now {lr:g})")
                return curve
            curve["loss"].append(after["loss"])
            curve["acc"].append(after["acc"])
    return curve


def lowest_final_loss(curves):
    """The order of examples ({name: train_ordering's curve}) whose run ended with the lowest loss (NaN: last)."""
    final = {o: c["loss"][-1] for o, c in curves.items()}
    return min(final, key=lambda o: final[o] if math.isfinite(final[o]) else float("inf"))


def ordering_rows(curves, per_epoch):
    """One table row per order of examples: steps, final loss and accuracy, the worst loss of the last epoch."""
    return [{"order of examples": o, "steps": len(c["loss"]) - 1, "final loss": round(c["loss"][-1], 4),
             "final accuracy": f"{c['acc'][-1]:.1%}",
             "worst loss during the last epoch": round(max(c["loss"][-per_epoch:]), 4)} for o, c in curves.items()]


# ------------------------------------------------------------------ the batch-size trade-off, measured
SWEEP_BATCH_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
SWEEP_POINTS = 8192          # rows: even the largest batch is half an epoch, so every size takes 2+ steps


def sweep_data(n_classes=6, n=SWEEP_POINTS, noise=0.3, seed=0):
    """The page's 2-D blobs (core.data.make_2d), more of them: X [n, 2], y [n]."""
    return make_2d("blobs", n=n, noise=noise, seed=seed, n_classes=n_classes)


def train_batch_size(X, y, batch_size, epochs=2, lr=0.3, hidden=16, seed=0):
    """Train a fresh 2-hidden-C MLP with plain SGD for `epochs` reshuffled passes at this batch size.

    Every batch size gets the same starting weights, the same learning rate and the same data budget
    (epochs x N examples), so a larger batch means fewer updates. "seconds" is the wall-clock time of the
    training steps (batching, forward, backward, update); the speed is updates_per_second at this batch size.
    Returns {"batch_size", "updates", "final_loss", "final_acc" (whole training set, after training),
             "loss_spread": how far one batch's loss strays from the whole set's at the final weights (the std
                            of the loss over one pass of batches, no update in between: how noisy a step's view is),
             "seconds", "steps_per_s", "examples_per_s", "diverged": a message or None}.
    """
    N, n_classes = len(y), int(y.max()) + 1
    params = init_mlp([X.shape[1], hidden, n_classes], seed=seed)   # identical start for every batch size
    state, config = {}, make_config("sgd", lr=lr)
    g = torch.Generator().manual_seed(seed)
    losses, seconds, diverged = [], 0.0, None
    for _ in range(epochs):
        start = time.perf_counter()
        for idx in batch_indices(N, batch_size, shuffle=True, generator=g):
            step = train_step(params, state, X[idx], y[idx], config)     # xb [B, 2], yb [B]
            losses.append(step["loss"])
            if step["diverged"]:
                diverged = f"the loss became inf or nan at update {len(losses)}; lower the learning rate"
                break
        seconds += time.perf_counter() - start
        if diverged:
            break
    after = evaluate(params, X, y)
    views = torch.tensor([evaluate(params, X[idx], y[idx])["loss"]                # [batches per epoch]
                          for idx in batch_indices(N, batch_size, shuffle=True, generator=g)])
    speed = updates_per_second(params, X, y, batch_size, lr, seed)
    return {"batch_size": batch_size, "updates": len(losses), "final_loss": after["loss"], "final_acc": after["acc"],
            "loss_spread": views.std().item() if len(views) > 1 else 0.0, "seconds": seconds,
            "steps_per_s": speed, "examples_per_s": speed * batch_size, "diverged": diverged}


def updates_per_second(params, X, y, batch_size, lr, seed=0, windows=3, min_seconds=0.02):
    """Wall-clock speed of plain-SGD steps at this batch size (batching, forward, backward, update).

    Runs steps on a copy of params (the weights passed in stay as they are) in `windows` timed windows of at
    least min_seconds each and keeps the fastest: a few milliseconds of one run would mostly measure whatever
    else the machine was doing, the best of three longer windows measures the step.
    """
    copy = [{k: t.clone() for k, t in layer.items()} for layer in params]
    state, config = {}, make_config("sgd", lr=lr)
    g = torch.Generator().manual_seed(seed)
    best = 0.0
    for _ in range(windows):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < min_seconds:
            for idx in batch_indices(len(y), batch_size, shuffle=True, generator=g):
                train_step(copy, state, X[idx], y[idx], config)               # xb [B, 2], yb [B]
                n += 1
                if time.perf_counter() - start >= min_seconds:
                    break
        best = max(best, n / (time.perf_counter() - start))
    return best


def sweep_rows(rows):
    """train_batch_size's results as table rows (losses to 4 decimals, speeds rounded)."""
    return [{"batch size": r["batch_size"], "updates": r["updates"], "final loss": round(r["final_loss"], 4),
             "final accuracy": f"{r['final_acc']:.1%}", "loss spread": round(r["loss_spread"], 4),
             "updates per second": round(r["steps_per_s"]), "examples per second": round(r["examples_per_s"]),
             "training seconds": round(r["seconds"], 3)} for r in rows]


def sweep_summary(rows):
    """What the sweep's rows say: the batch size with the lowest final loss, and the two ends of the sweep."""
    ok = [r for r in rows if not r["diverged"]] or rows
    best = min(ok, key=lambda r: r["final_loss"])
    return {"best": best, "smallest": rows[0], "largest": rows[-1],
            "fastest_steps": max(rows, key=lambda r: r["steps_per_s"]),
            "fastest_examples": max(rows, key=lambda r: r["examples_per_s"])}
