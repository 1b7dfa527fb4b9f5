"""Three independent ways to get the same gradients, and a table that compares them.

1. by hand:        core.backward.backward (the chain rule, written out)
2. autograd:       torch records our forward pass and differentiates it
3. finite diff:    nudge one weight by +eps and -eps and watch the loss change (float64)
"""
import torch

from core.backward import backward
from core.losses import LOSSES
from core.network import forward, named_tensors


def _copy(params, dtype=None, requires_grad=False):
    """Fresh copies of every weight tensor (optionally converted to another dtype)."""
    return [{key: t.detach().to(dtype=dtype).contiguous().clone().requires_grad_(requires_grad)
             for key, t in layer.items()} for layer in params]


def loss_value(params, x, targets, activation="relu", loss="cross_entropy"):
    """Forward pass followed by the loss: one number."""
    logits, _ = forward(params, x, activation)
    loss_fn, _ = LOSSES[loss]
    return loss_fn(logits, targets)


def hand_grads(params, x, targets, activation="relu", loss="cross_entropy"):
    """Gradients from our own backward pass."""
    _, cache = forward(params, x, activation)
    return backward(params, cache, targets, loss)


def autograd_grads(params, x, targets, activation="relu", loss="cross_entropy"):
    """Gradients from torch.autograd, run through our own forward pass and loss."""
    leaves = _copy(params, requires_grad=True)
    loss_value(leaves, x, targets, activation, loss).backward()
    return [{key: t.grad for key, t in layer.items()} for layer in leaves]


def _pick_entries(numel, max_entries, generator):
    """All entry positions, or a random sample of max_entries of them."""
    if max_entries is None or numel <= max_entries:
        return torch.arange(numel)
    return torch.randperm(numel, generator=generator)[:max_entries]


def central_difference(f, t, entries, eps):
    """Slope of f() along each chosen entry of t: (f(t + eps) - f(t - eps)) / (2 eps).

    t is changed in place and put back afterwards. Entries not chosen stay NaN.
    """
    grad = torch.full_like(t, float("nan"))
    flat, grad_flat = t.view(-1), grad.view(-1)
    for i in entries.tolist():
        old = flat[i].item()
        flat[i] = old + eps
        up = f().item()
        flat[i] = old - eps
        down = f().item()
        flat[i] = old
        grad_flat[i] = (up - down) / (2 * eps)
    return grad


def numerical_grads(params, x, targets, activation="relu", eps=1e-6, max_entries=None, seed=0,
                    loss="cross_entropy"):
    """Finite-difference gradients in float64, shaped like params.

    Each entry costs two forward passes, so for big tensors set max_entries: only that many
    entries per tensor (chosen at random with `seed`) are measured; the others are NaN.
    Near a ReLU kink (a pre-activation within eps of 0) the estimate can be off: that is a
    limit of finite differences, not a bug in the other two methods.
    """
    p64 = _copy(params, dtype=torch.float64)
    x64 = x.to(torch.float64)
    t64 = targets.to(torch.float64) if targets.is_floating_point() else targets  # labels stay whole numbers
    generator = torch.Generator().manual_seed(seed)
    def f():
        return loss_value(p64, x64, t64, activation, loss)
    return [{key: central_difference(f, t, _pick_entries(t.numel(), max_entries, generator), eps)
             for key, t in layer.items()} for layer in p64]


def compare(name, mine, reference, vs, rtol=1e-5, atol=1e-8):
    """One row of the comparison table (the `cmp` check from Karpathy's backprop exercise).

    exact: every number identical; allclose: equal within rtol/atol; max_abs_diff: worst gap.
    NaN entries of `reference` (finite-diff entries not measured) are skipped.
    """
    row = {"tensor": name, "vs": vs, "shape_ok": tuple(mine.shape) == tuple(reference.shape)}
    if not row["shape_ok"]:
        return {**row, "exact": False, "allclose": False, "max_abs_diff": float("inf"), "entries_checked": 0}
    measured = ~torch.isnan(reference)
    a = mine.detach().to(torch.float64)[measured]
    b = reference.detach().to(torch.float64)[measured]
    row["exact"] = bool(torch.equal(a, b))
    row["allclose"] = bool(torch.allclose(a, b, rtol=rtol, atol=atol))
    row["max_abs_diff"] = (a - b).abs().max().item() if a.numel() else 0.0
    row["entries_checked"] = int(measured.sum())
    return row


def compare_grads(params, x, targets, activation="relu", loss="cross_entropy", hand=None,
                  dtype=torch.float64, eps=1e-6, max_entries=50, seed=0):
    """Compare hand-derived gradients with autograd and with finite differences, tensor by tensor.

    Hand and autograd gradients are computed in `dtype`; finite differences always in float64.
    Pass `hand` to check gradients of your own (e.g. a deliberately broken one).
    Returns rows {"tensor", "vs", "shape_ok", "exact", "allclose", "max_abs_diff", "entries_checked"}.
    """
    params = _copy(params, dtype=dtype)
    x = x.to(dtype)
    if hand is None:
        hand = hand_grads(params, x, targets, activation, loss)
    auto = autograd_grads(params, x, targets, activation, loss)
    numeric = numerical_grads(params, x, targets, activation, eps, max_entries, seed, loss)
    rows = []
    for (name, h), (_, a), (_, n) in zip(named_tensors(hand), named_tensors(auto), named_tensors(numeric)):
        rows.append(compare(name, h, a, "autograd"))
        rows.append(compare(name, h, n, "finite diff", rtol=1e-4, atol=1e-7))
    return rows
