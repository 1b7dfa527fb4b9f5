"""Chapter 8, scratch vs torch.nn.

compare_scratch_vs_torch runs core.train's scratch and torch.nn training in lock step and measures them weight
by weight; the standalone script that reruns it with the page's settings is exports/ch08_scratch_vs_nn.py.
"""
import torch

from core.network import to_torch_sequential
from core.train import train_scratch, train_torch


def weight_differences(params, model):
    """|W - weight.T| and |b - bias| for every layer of the scratch params and the torch model (a flat list)."""
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        return [diff for layer, lin in zip(params, linears, strict=True)
                for diff in ((layer["W"] - lin.weight.T).abs(), (layer["b"] - lin.bias).abs())]


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
        row = {"step": a["step"], "epoch": a["epoch"], "loss_scratch": a["loss"], "loss_torch": b["loss"],
               "max_abs_diff": max(d.max().item() for d in diffs),
               "mean_abs_diff": sum(d.sum().item() for d in diffs) / sum(d.numel() for d in diffs),
               "diverged": diverged, "params": scratch_params, "model": model}
        if diverged:
            row["reason"] = a.get("reason") or b.get("reason")
        yield row
        if diverged:
            return
