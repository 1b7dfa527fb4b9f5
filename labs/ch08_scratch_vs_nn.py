"""Chapter 8, scratch vs torch.nn.

compare_scratch_vs_torch runs core.train's scratch and torch.nn training in lock step and measures them weight
by weight; run_comparison keeps the plain numbers the page shows; estimated_seconds says beforehand how long a
run takes (the page trains live only when that is short); split and layer_sizes give the data and network both
runs train, gap_summary what the page says about the weight gap. The standalone script that reruns it with the
page's settings is exports/ch08_scratch_vs_nn.py.
"""
import torch

from core import data, metrics, network, train
from core.network import to_torch_sequential
from core.train import train_scratch, train_torch

MNIST_HELD_OUT = 2000  # the last 2,000 images of the test split are never trained on
EPS = torch.finfo(torch.float32).eps  # float32's rounding step for numbers near 1: 2^-23 = 1.19e-7

# CPU time of one lock-step step (scratch + torch.nn + the weight comparison, 1 thread), fitted to runs on the
# 2-core development machine (MNIST and 2-D data, 8 to 256 hidden units, batch 8 to 256): a fixed part for the
# ~100 small tensor operations, a part per multiply-add of the two networks' matrix products (forward, dL/dW and
# dL/dx: 3 x batch x sum(in x out) each), one per input number copied into the batches, one per weight updated
# and compared (Adam's update makes ~10 passes over the weights, SGD's one).
SECONDS_PER_STEP = 0.6e-3
SECONDS_PER_MADD = 2.5e-11
SECONDS_PER_INPUT = 4e-9
SECONDS_PER_WEIGHT = {"sgd": 1e-9, "adam": 6e-9}


def split(dataset, n_train, seed, mnist=None):
    """(X_train, y_train, X_held_out, y_held_out, a sentence on where they came from).

    dataset "MNIST": mnist = (X uint8 [N, 784], y [N]), the test split; the first n_train rows (at most all but the
    last MNIST_HELD_OUT) train, the last MNIST_HELD_OUT are held out, both as float32 [n, 784]. Any other name: a
    2-D dataset of n_train + n_train // 4 points (seeded), a fifth of them held out."""
    if dataset == "MNIST":
        X, y = mnist
        n = min(n_train, X.shape[0] - MNIST_HELD_OUT)
        return (data.to_float(X[:n]), y[:n], data.to_float(X[-MNIST_HELD_OUT:]), y[-MNIST_HELD_OUT:],
                f"MNIST: the first {n:,} test-split images to train on, the last {MNIST_HELD_OUT:,} held out")
    X, y = data.make_2d(dataset, n=n_train + n_train // 4, noise=0.1, seed=seed,
                        n_classes=data.DEFAULT_CLASSES_2D[dataset])
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_fraction=0.2, seed=seed)
    return X_train, y_train, X_test, y_test, f"{dataset}: {len(y_train):,} points to train on, {len(y_test):,} held out"


def layer_sizes(dataset, hidden):
    """[inputs, hidden, classes] of the network both runs train: 784-hidden-10 on MNIST, 2-hidden-C on 2-D data."""
    if dataset == "MNIST":
        return [784, hidden, 10]
    return [2, hidden, data.DEFAULT_CLASSES_2D[dataset]]


def gap_summary(max_abs_diff):
    """What the page says about the per-step weight gaps max |W_scratch - W_nn.T| (a list, one per step):
    {"last", "worst", "exact_steps": steps with a gap of exactly 0, "answer": 0 bit-for-bit identical at the end,
    1 within 1e-4, 2 more than 1e-4 apart (or not a finite number)}."""
    last = max_abs_diff[-1]
    return {"last": last, "worst": max(max_abs_diff), "exact_steps": sum(d == 0 for d in max_abs_diff),
            "answer": 0 if last == 0 else 1 if last <= 1e-4 else 2}


def weight_differences(params, model):
    """|W - weight.T| and |b - bias| for every layer of the scratch params and the torch model (a flat list)."""
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        return [diff for layer, lin in zip(params, linears, strict=True)
                for diff in ((layer["W"] - lin.weight.T).abs_(), (layer["b"] - lin.bias).abs_())]


def max_weight_difference(params, model):
    """Largest |W - weight.T| or |b - bias| over all layers."""
    return max(d.max().item() for d in weight_differences(params, model))


def compare_scratch_vs_torch(params, X, y, **kwargs):
    """Run train_scratch and train_torch in lock step from the same weights and batches.

    params is not changed: scratch trains a copy. Takes the keyword arguments of
    train_scratch (without opt_state / X_test). Yields per step
        {"step", "epoch", "loss_scratch", "loss_torch", "max_abs_diff", "diverged",
         "params": scratch weights, "model": the torch model}
    where max_abs_diff = max over layers of |W_scratch - W_nn.T| (biases included) and
    mean_abs_diff is the same difference averaged over all weights and biases.

    Expect float32 rounding: the two compute the same formulas in a different order (x @ W
    vs x @ weight.T, softmax - one_hot vs autograd's log_softmax backward), so gradients differ
    by ~1e-8. With SGD the weights stay ~1e-7 apart; now and then a rounding difference lands
    on a ReLU's kink (z within ~1e-7 of 0) and one step differs by ~1e-4. Adam turns the tiny
    gradients of almost-never-lit MNIST pixels into full-size steps, so there the gap grows
    to ~1e-5 after a few hundred steps. In float64 the two agree to ~1e-12.
    """
    scratch_params = [{k: t.clone() for k, t in layer.items()} for layer in params]
    model = to_torch_sequential(params, kwargs.get("activation", "relu"))
    ours = train_scratch(scratch_params, X, y, **kwargs)
    theirs = train_torch(params, X, y, model=model, **kwargs)
    for a, b in zip(ours, theirs):
        diverged = a["diverged"] or b["diverged"]
        diffs = weight_differences(scratch_params, model)
        largest, total = torch.stack([torch.stack([d.max(), d.sum()]) for d in diffs]).unbind(1)  # [layers] each
        row = {"step": a["step"], "epoch": a["epoch"], "loss_scratch": a["loss"], "loss_torch": b["loss"],
               "max_abs_diff": largest.max().item(),
               "mean_abs_diff": total.double().sum().item() / sum(d.numel() for d in diffs),
               "diverged": diverged, "params": scratch_params, "model": model}
        if diverged:
            row["reason"] = a.get("reason") or b.get("reason")
        yield row
        if diverged:
            return


def estimated_seconds(sizes, batch_size, steps, optimizer="sgd"):
    """About how long run_comparison takes for layer sizes `sizes` (CPU seconds, 1 thread; the model above)."""
    weights = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))          # one network's weights and biases
    madds = 2 * 3 * batch_size * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))  # both networks, per step
    per_step = (SECONDS_PER_STEP + madds * SECONDS_PER_MADD + 2 * batch_size * sizes[0] * SECONDS_PER_INPUT
                + 2 * weights * SECONDS_PER_WEIGHT[optimizer])
    return steps * per_step


def run_comparison(X, y, X_test, y_test, *, hidden, seed, progress=None, **kwargs):
    """Train scratch and torch.nn in lock step from init_mlp([in, hidden, classes], seed); keep plain numbers.

    kwargs: optimizer, lr, batch_size, steps (as train_scratch). progress(fraction) is called as steps finish.
    Returns {"sizes", "n_test", "step", "loss_scratch", "loss_torch", "max_abs_diff" (lists, one per step),
    "diverged", "reason"} and, while the weights are finite, "acc_scratch", "acc_torch", "same" (fraction of
    held-out rows with the same predicted class), "n_same" and "weights" (the scratch weights as a state_dict file).
    """
    sizes = [X.shape[1], hidden, int(y.max()) + 1]
    params = network.init_mlp(sizes, seed=seed)
    rows = []
    every = max(1, kwargs["steps"] // 20)
    for row in compare_scratch_vs_torch(params, X, y, seed=seed, **kwargs):
        rows.append(row)
        if progress is not None and row["step"] % every == 0:
            progress(row["step"] / kwargs["steps"])
    last = rows[-1]
    result = {"sizes": sizes, "n_test": len(y_test),
              "step": [r["step"] for r in rows], "loss_scratch": [r["loss_scratch"] for r in rows],
              "loss_torch": [r["loss_torch"] for r in rows], "max_abs_diff": [r["max_abs_diff"] for r in rows],
              "diverged": last["diverged"], "reason": last.get("reason")}
    weights_ok = train.all_finite(t for layer in last["params"] for t in layer.values())
    if weights_ok and train.all_finite(last["model"].parameters()):
        pred_scratch = metrics.predictions(last["params"], X_test)
        pred_torch = metrics.predictions(last["model"], X_test)
        result.update(acc_scratch=metrics.accuracy(pred_scratch, y_test),
                      acc_torch=metrics.accuracy(pred_torch, y_test),
                      same=(pred_scratch == pred_torch).float().mean().item(),
                      n_same=int((pred_scratch == pred_torch).sum()))
        result["weights"] = network.weights_file(last["params"])
    return result
