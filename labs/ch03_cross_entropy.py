"""Cross-entropy for one example, taken apart: softmax, the loss, its gradient, and MSE for comparison.

Everything works on a single row of C logits (C classes) and one correct class y, in float32 like a
network's output. The building blocks come from core.losses; this module only adds

  * softmax_vjp / mse_on_softmax:  mean squared error between softmax(z) and one_hot(y), with its gradient
    pushed back through the softmax by hand (checked against autograd in the tests);
  * explore:       every number the cross-entropy page shows, for logits times a scale factor;
  * sweep_correct: loss and gradient as the correct class's logit slides from very wrong to very right.
"""
import math

import torch
import torch.nn.functional as F

from core.losses import (
    cross_entropy,
    cross_entropy_grad,
    cross_entropy_per_example,
    mse_grad,
    mse_loss,
    naive_softmax,
    one_hot,
    softmax,
)

# exp(x) overflows float32 once x > log(largest float32) = 88.72...
FLOAT32_EXP_LIMIT = math.log(torch.finfo(torch.float32).max)
# exp(x) is below the smallest normal float32 (2^-126) once x < -87.34...: fewer significant bits down there
FLOAT32_EXP_NORMAL_FLOOR = math.log(torch.finfo(torch.float32).smallest_normal)
# exp(x) is below the smallest positive float32 (2^-149, a subnormal) once x < log(2^-149) = -103.28...
FLOAT32_EXP_FLOOR = math.log(torch.finfo(torch.float32).smallest_normal * torch.finfo(torch.float32).eps)
# ... and rounds to exactly 0 once it is below half of that, x < log(2^-150) = -103.97...
FLOAT32_EXP_ZERO = FLOAT32_EXP_FLOOR - math.log(2)
NAIVE_TOLERANCE = 1e-6  # naive and stable softmax closer than this count as the same


def naive_softmax_report(z):
    """What happened inside the naive softmax exp(z) / sum(exp(z)) of one row z [C] (float32), from its numbers.

    Returns {"status", "n_inf", "n_zero", "n_classes", "exp_sum", "max_z", "min_z", "max_diff"}:
      n_inf / n_zero   how many exp(z) overflowed to inf / underflowed to exactly 0
      exp_sum          the naive denominator sum(exp(z)) (inf or 0 when it broke)
      max_diff         largest |naive - stable| over the finite entries (nan if none)
      status           "overflow":     some exp(z) is inf, so the sum is inf and inf / inf = nan
                       "sum_overflow": every exp(z) fits but the sum is inf, so every entry is x / inf = 0
                       "underflow":    every exp(z) is 0, so the sum is 0 and 0 / 0 = nan
                       "inaccurate":   finite, but further than NAIVE_TOLERANCE from the stable softmax
                       "ok":           the same as the stable softmax
    """
    z = torch.as_tensor(z, dtype=torch.float32).reshape(1, -1)  # [1, C]
    e = torch.exp(z)  # [1, C]
    exp_sum = e.sum().item()
    naive, stable = naive_softmax(z), softmax(z)  # [1, C] each
    finite = torch.isfinite(naive)
    max_diff = (naive - stable).abs()[finite].max().item() if finite.any() else math.nan
    n_inf, n_zero = int(torch.isinf(e).sum()), int((e == 0).sum())
    if n_inf:
        status = "overflow"
    elif math.isinf(exp_sum):
        status = "sum_overflow"
    elif exp_sum == 0:
        status = "underflow"
    elif not finite.all() or max_diff > NAIVE_TOLERANCE:
        status = "inaccurate"
    else:
        status = "ok"
    return {"status": status, "n_inf": n_inf, "n_zero": n_zero, "n_classes": z.shape[1], "exp_sum": exp_sum,
            "max_z": z.max().item(), "min_z": z.min().item(), "max_diff": max_diff}


def softmax_vjp(probs, grad_probs):
    """Push a gradient through softmax: dL/dz = p * (dL/dp - sum_j dL/dp_j * p_j).

    This is (Jacobian of softmax)^T @ dL/dp with Jacobian = diag(p) - p p^T, without building the [C, C] matrix.
    probs, grad_probs: [B, C] -> [B, C]
    """
    return probs * (grad_probs - (grad_probs * probs).sum(dim=-1, keepdim=True))


def mse_on_softmax(logits, targets):
    """MSE between softmax(logits) [B, C] and one_hot(targets) [B, C], and its gradient w.r.t. the logits.

    Returns (loss, dL/dlogits). The loss is averaged over all B*C entries, like F.mse_loss.
    """
    probs = softmax(logits)  # [B, C]
    target_rows = one_hot(targets, logits.shape[-1], dtype=logits.dtype)  # [B, C]
    loss = mse_loss(probs, target_rows)
    grad = softmax_vjp(probs, mse_grad(probs, target_rows))  # chain rule: dL/dp, then through softmax
    return loss, grad


def explore(logits, target, scale=1.0):
    """Every number of one example with logits z [C] (a list or tensor), correct class `target`, z scaled by `scale`.

    Returns plain Python numbers and lists:
      z                the scaled logits
      exp_naive        exp(z) as the naive softmax computes it (may hold inf)
      naive_probs      naive_softmax(z) (may hold nan)
      probs            softmax(z), the stable version
      loss             core.losses.cross_entropy,  torch_loss: F.cross_entropy,  loss_diff: |difference|
      grad             dLoss/dz = softmax(z) - one_hot(y)  (one example, so no division by the batch)
      mse_loss, mse_grad   the same for MSE on the probabilities
      p_correct        probability of the correct class
      naive            naive_softmax_report(z): whether, and how, the naive softmax broke
    """
    z = torch.as_tensor(logits, dtype=torch.float32).reshape(1, -1) * scale  # [1, C]
    y = torch.tensor([target])  # [1]
    loss = cross_entropy(z, y)
    torch_loss = F.cross_entropy(z, y)
    mse, mse_g = mse_on_softmax(z, y)
    probs = softmax(z)[0]
    return {
        "z": z[0].tolist(),
        "exp_naive": torch.exp(z)[0].tolist(),
        "naive_probs": naive_softmax(z)[0].tolist(),
        "probs": probs.tolist(),
        "p_correct": probs[target].item(),
        "loss": loss.item(),
        "torch_loss": torch_loss.item(),
        "loss_diff": (loss - torch_loss).abs().item(),
        "grad": cross_entropy_grad(z, y)[0].tolist(),  # divided by B = 1
        "mse_loss": mse.item(),
        "mse_grad": mse_g[0].tolist(),
        "naive": naive_softmax_report(z[0]),
    }


def sweep_correct(logits, target, values):
    """Slide the correct class's logit over `values` (others fixed); return curves for CE and MSE.

    Returns lists, one entry per value: p_correct, ce_loss, mse_loss, ce_grad and mse_grad
    (the gradient with respect to the correct logit itself). All values run as one batch [V, C].
    """
    values = torch.as_tensor(values, dtype=torch.float32)  # [V]
    z = torch.as_tensor(logits, dtype=torch.float32).repeat(len(values), 1)  # [V, C]
    z[:, target] = values
    y = torch.full((len(values),), target)  # [V]
    B = len(values)
    probs = softmax(z)
    ce_per_row = cross_entropy_per_example(z, y)  # [V]
    ce_g = cross_entropy_grad(z, y) * B  # undo the batch mean: one gradient per example
    _, mse_g = mse_on_softmax(z, y)
    mse_per_row = ((probs - one_hot(y, z.shape[1])) ** 2).mean(dim=1)  # [V]
    return {
        "value": values.tolist(),
        "p_correct": probs[:, target].tolist(),
        "ce_loss": ce_per_row.tolist(),
        "mse_loss": mse_per_row.tolist(),
        "ce_grad": ce_g[:, target].tolist(),
        "mse_grad": (mse_g * B)[:, target].tolist(),
    }
