"""Training the 784-H-10 digit reader on MNIST, with the numbers a training page wants to show.

    train_with_history  one run (core.train.train_scratch), accuracy on train and test after every epoch
    race                SGD, momentum and Adam (core.optim.OPTIMIZERS) side by side on exactly the same mini-batches
    misclassified       the held-out digits the network gets wrong

X may be float32 in [0, 1] or the uint8 pixels of datasets.mnist_files.load_mnist_pixels (a quarter of the memory):
uint8 rows are turned into float32 one mini-batch (or evaluation chunk) at a time, with the same numbers.
"""
import math

import torch

from core import data, metrics, network, train

# the usual learning rate of each, used by the race so that each runs at a sensible speed
RACE_LR = {"sgd": 0.1, "momentum": 0.01, "adam": 0.001}
# the run page 7 measures to show the live loop scales to digits: page 7b's defaults, for 10 epochs
REFERENCE_RUN = {"hidden": 128, "optimizer": "adam", "lr": 1e-3, "batch_size": 64, "epochs": 10, "seed": 0}


def train_with_history(X, y, X_test, y_test, hidden=128, optimizer="adam", lr=1e-3, batch_size=64,
                       epochs=2, seed=0, progress=None, on_epoch=None):
    """Train a fresh 784-hidden-10 network (Kaiming init, `seed`) from scratch; record every epoch.

    Returns {"params", "history": [{"epoch", "train_loss", "train_acc", "test_loss", "test_acc"}],
             "diverged": reason or None, "steps", "start_loss": loss on the training set before the first step,
             "peak_loss" / "peak_step": the largest batch loss and its step, "dead_units": hidden units that
             output 0 for every training image after training (None if the weights are not finite), "hidden"}.
    progress(fraction, text) is called after every step when given, on_epoch(history) after every epoch (with
    the history so far: a page grows its curve as the epochs finish).
    """
    params = network.init_mlp([X.shape[1], hidden, 10], init="kaiming", seed=seed)
    start_loss = metrics.evaluate_loss(params, X, y)
    total = epochs * math.ceil(X.shape[0] / batch_size)
    history, losses, reason, step = [], [], None, 0
    peak_loss, peak_step = -math.inf, 0
    for m in train.train_scratch(params, X, y, optimizer=optimizer, lr=lr,
                                 batch_size=batch_size, epochs=epochs, seed=seed,
                                 X_test=X_test, y_test=y_test):
        step = m["step"]
        if m["diverged"]:
            reason = m["reason"]
            break
        losses.append(m["loss"])
        if m["loss"] > peak_loss:
            peak_loss, peak_step = m["loss"], step
        if "test_acc" in m:                                    # end of an epoch
            on_train = metrics.evaluate(params, X, y)          # the whole training set, after the epoch
            history.append({"epoch": m["epoch"], "train_loss": on_train["loss"], "train_acc": on_train["acc"],
                            "test_loss": m["test_loss"], "test_acc": m["test_acc"],
                            "mean_batch_loss": sum(losses) / len(losses)})
            losses = []
            if on_epoch is not None:
                on_epoch(history)
        if progress is not None:
            progress(step / total, f"epoch {m['epoch']}/{epochs}, step {step}/{total}, loss {m['loss']:.3f}")
    finite = train.all_finite(t for layer in params for t in layer.values())
    return {"params": params, "history": history, "diverged": reason, "steps": step, "start_loss": start_loss,
            "peak_loss": peak_loss, "peak_step": peak_step, "hidden": hidden,
            "dead_units": dead_relu_units(params, X) if finite else None}


def dead_relu_units(params, X, chunk=metrics.EVAL_CHUNK):
    """How many first-layer ReLU units output 0 for every row of X [N, 784] (a dead unit passes no gradient).

    Counted in chunks of rows; uint8 pixels are made float32 one chunk at a time.
    """
    W, b = params[0]["W"], params[0]["b"]                     # [784, H], [H]
    alive = torch.zeros(W.shape[1], dtype=torch.bool)          # [H]
    with torch.no_grad():
        for start in range(0, X.shape[0], chunk):
            z = data.as_float(X[start:start + chunk]) @ W + b  # [<=chunk, H], the ReLU's input
            alive |= (z > 0).any(dim=0)
    return int((~alive).sum())


# a run "blew up" when some batch loss rose above this multiple of the starting loss, and "barely moved"
# when its final training loss is still above this fraction of the starting loss
JUMP_FACTOR = 2.0
BARELY_MOVED = 0.9


def diagnose(run):
    """Why a run ended where it did, from what it measured: one of
    "diverged" (a loss became inf or nan), "too_large" (a batch loss jumped above JUMP_FACTOR x the starting loss),
    "barely_moved" (the final training loss is above BARELY_MOVED x the starting loss) or "fell" (it went down).
    Returns {"kind", "start_loss", "end_loss", "peak_loss", "peak_step", "dead_units", "hidden", "steps"}.
    """
    end = run["history"][-1]["train_loss"] if run["history"] else math.nan
    if run["diverged"]:
        kind = "diverged"
    elif run["peak_loss"] > JUMP_FACTOR * run["start_loss"]:
        kind = "too_large"
    elif end > BARELY_MOVED * run["start_loss"]:
        kind = "barely_moved"
    else:
        kind = "fell"
    return {"kind": kind, "start_loss": run["start_loss"], "end_loss": end, "peak_loss": run["peak_loss"],
            "peak_step": run["peak_step"], "dead_units": run["dead_units"], "hidden": run["hidden"],
            "steps": run["steps"]}


def race(X, y, optimizers=("sgd", "momentum", "adam"), hidden=128, batch_size=64, steps=300, seed=0,
         lrs=None, progress=None):
    """Train one network per optimizer from the same starting weights on the same batches, in lock step.

    The same seed gives every run the same initial weights and the same shuffled batches, so the only
    difference is the update rule. Returns {name: [loss at step 1, 2, ...]} (a list stops early if
    that run diverged).
    """
    lrs = dict(RACE_LR, **(lrs or {}))
    runs = {}
    for name in optimizers:
        params = network.init_mlp([X.shape[1], hidden, 10], init="kaiming", seed=seed)
        runs[name] = train.train_scratch(params, X, y, optimizer=name, lr=lrs[name],
                                         batch_size=batch_size, steps=steps, seed=seed)
    curves = {name: [] for name in optimizers}
    live = dict(runs)
    for step in range(1, steps + 1):
        for name in list(live):
            m = next(live[name], None)
            if m is None or m["diverged"]:
                del live[name]
                continue
            curves[name].append(m["loss"])
        if progress is not None:
            progress(step / steps, f"step {step}/{steps}")
        if not live:
            break
    return curves


def moving_average(values, window=20):
    """Mean of the last `window` values at every position (shorter at the start): smooths a noisy curve."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def samples_per_digit(y, per_digit=2):
    """Row indices of the first `per_digit` images of each digit 0-9, ordered digit by digit in rounds:
    [first 0, first 1, ..., first 9, second 0, ...] (a strip of sample digits, one row per round)."""
    rounds = [[] for _ in range(per_digit)]
    for digit in range(10):
        rows = (y == digit).nonzero().flatten()[:per_digit].tolist()
        for r, i in enumerate(rows):
            rounds[r].append(i)
    return [i for r in rounds for i in r]


def misclassified(params, X, y, limit=24):
    """Indices of rows the network gets wrong (at most `limit`) and its predictions for them."""
    pred = metrics.predictions(params, X)                     # [N]; uint8 pixels converted chunk by chunk
    wrong = (pred != y).nonzero().flatten()[:limit]            # [<= limit]
    return wrong.tolist(), pred[wrong].tolist()


def confusion(params, X, y):
    """[10, 10] confusion matrix of the network on (X, y): row = true digit, column = predicted."""
    pred = metrics.predictions(params, X)                     # [N]; uint8 pixels converted chunk by chunk
    return metrics.confusion_matrix(y, pred, n_classes=10)


def params_to_state_dict(params):
    """Our weights as the state_dict of nn.Sequential(Linear, ReLU, Linear): keys 0.weight, 0.bias, 2.weight, 2.bias."""
    return {k: v.detach().clone() for k, v in network.to_torch_sequential(params).state_dict().items()}


# ------------------------------------------------------------------ what page 7b shows of a run
def lr10_probe(X, y, X_test, y_test, hidden=128, seed=0, n=2000):
    """One epoch on the first n training images: plain SGD at lr 10 against Adam at 0.001.

    Returns {"sgd" / "adam": (test accuracy or None if it stopped, the reason it stopped or None, steps)}."""
    runs = {name: train_with_history(X[:n], y[:n], X_test, y_test, hidden=hidden, optimizer=name, lr=rate,
                                     batch_size=64, epochs=1, seed=seed)
            for name, rate in (("sgd", 10.0), ("adam", 1e-3))}
    return {name: (r["history"][-1]["test_acc"] if r["history"] else None, r["diverged"], r["steps"])
            for name, r in runs.items()}


def history_rows(history):
    """The table of a run: one row per epoch, losses rounded to 4 places, accuracies as percentages."""
    return [{"epoch": h["epoch"], "mean batch loss": round(h["mean_batch_loss"], 4),
             "train loss": round(h["train_loss"], 4), "train accuracy": f"{h['train_acc']:.2%}",
             "test loss": round(h["test_loss"], 4), "test accuracy": f"{h['test_acc']:.2%}"} for h in history]


def most_common_mistake(cm):
    """(count, true digit, predicted digit) of the largest off-diagonal cell of a confusion matrix (nested lists)."""
    n = len(cm)
    return max((cm[t][p], t, p) for t in range(n) for p in range(n) if t != p)


def race_rows(curves, names, tail=20):
    """The race's table: per optimizer its name (names[key]), learning rate, steps run, first loss and the mean
    loss of the last `tail` steps."""
    rows = []
    for name, losses in curves.items():
        last = losses[-tail:]
        rows.append({"optimizer": names[name], "lr": RACE_LR[name], "steps run": len(losses),
                     "first loss": round(losses[0], 4) if losses else None,
                     f"mean loss, last {tail} steps": round(sum(last) / len(last), 4) if last else None})
    return rows


def chance_reason(d, lr):
    """Why a run is near chance, in words, from diagnose(run) `d` and its learning rate: the cause and what
    to change, then what became of the hidden ReLUs."""
    why = {
        "diverged": "The loss turned inf or nan (see above): the steps are far too large. Lower the "
                    "learning rate and train again.",
        "too_large": f"The steps are too large: the batch loss jumped from {d['start_loss']:.4f} (before "
                     f"training) to {d['peak_loss']:.4g} at step {d['peak_step']:,} and ended at "
                     f"{d['end_loss']:.4f}. Lower the learning rate and train again.",
        "barely_moved": f"The steps are too small or too few: after {d['steps']:,} step"
                        f"{'' if d['steps'] == 1 else 's'} at lr {lr:g} the training loss went from "
                        f"{d['start_loss']:.4f} to only {d['end_loss']:.4f}. Raise the learning rate, use "
                        "smaller batches (more steps per epoch) or train more epochs.",
        "fell": f"The training loss did fall, from {d['start_loss']:.4f} to {d['end_loss']:.4f}, but not "
                "yet far enough to tell digits apart: train longer.",
    }[d["kind"]]
    dead, h = d["dead_units"], d["hidden"]
    if dead is None:
        return why
    if dead == h:
        return why + (f" All {h} hidden ReLUs now output 0 for every training image (dead): no gradient "
                      "reaches the weights before them, only the output bias can still change.")
    if dead:
        return why + (f" {dead} of the {h} hidden ReLUs now output 0 for every training image (dead): no "
                      "gradient gets through them any more.")
    return why + f" None of the {h} hidden ReLUs is dead: each one fires for some training image."
