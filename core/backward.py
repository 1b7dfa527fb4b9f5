"""The backward pass written by hand: the chain rule applied layer by layer, no autograd.

Naming (layers counted from 1, L layers in all):
    h0 = x                        the input batch        [B, in]
    z_n = h_(n-1) @ W_n + b_n     pre-activation         [B, width_n]
    h_n = f(z_n)                  hidden activation      (hidden layers only)
    z_L = logits                  the last layer has no activation
Going backwards, each layer turns dL/dz_n into dL/dW_n, dL/db_n and dL/dh_(n-1);
the activation's slope then turns dL/dh_(n-1) into dL/dz_(n-1).

chain_rule is the one backward pass: from dL/dlogits (any loss) into tensors shaped like params, what a
training step needs every step. backward starts it from a loss; backward_steps runs it and lists every
node with its formula, for display.
"""
import torch

from core.losses import LOSSES
from core.network import ACTIVATIONS

# How the first gradient (the loss with respect to the logits) is written, per loss.
LOSS_GRAD_FORMULA = {
    "cross_entropy": "(softmax(logits) - one_hot(y)) / B",
    "mse": "2 * (logits - y) / N",
    "mse_probs": "p * (g - sum(g * p)), p = softmax(logits), g = 2 * (p - y) / N",
    "bce_with_logits": "(sigmoid(logits) - y) / N",
}

# How the activation's slope is written; {z} is replaced by the pre-activation's name.
SLOPE_FORMULA = {
    "relu": "({z} > 0)",
    "sigmoid": "sigmoid({z}) * (1 - sigmoid({z}))",
    "tanh": "(1 - tanh({z})^2)",
    "leaky_relu": "(1 where {z} > 0 else 0.01)",
}


def _step(name, value, formula, layer, kind):
    """One node of the backward pass, as shown on screen."""
    return {"name": name, "value": value, "formula": formula, "shape": tuple(value.shape),
            "layer": layer, "kind": kind}


def backward_steps(params, cache, targets, loss="cross_entropy"):
    """Every gradient of the backward pass, in the order chain_rule computes it, each with its formula (for display).

    Returns a list of dicts {"name", "value", "formula", "shape", "layer", "kind"}:
    dL/dlogits, dL/dW_L, dL/db_L, dL/dh_(L-1), dL/dz_(L-1), dL/dW_(L-1), ... down to dL/dW1, dL/db1.
    "layer" is the 0-based index into params; "kind" is "z", "W", "b" or "h".
    """
    _, loss_grad = LOSSES[loss]
    inner = {}  # layer -> (dL/dh, dL/dz), kept by chain_rule on the way down
    with torch.no_grad():
        d_logits = loss_grad(cache["layers"][-1]["z"], targets)  # [B, C]
        grads = chain_rule(params, cache, d_logits, inner=inner)
    slope = SLOPE_FORMULA[cache["activation"]]
    steps = [_step("dL/dlogits", d_logits, LOSS_GRAD_FORMULA[loss], len(params) - 1, "z")]
    for i in reversed(range(len(params))):
        n = i + 1  # layer number as written in formulas
        h_in = "x" if n == 1 else f"h{n - 1}"
        steps += [_step(f"dL/dW{n}", grads[i]["W"], f"{h_in}.T @ dL/dz{n}", i, "W"),
                  _step(f"dL/db{n}", grads[i]["b"], f"sum of dL/dz{n} over the batch", i, "b")]
        if i > 0:
            d_h, d_z = inner[i - 1]
            slope_text = slope.format(z=f"z{n - 1}")
            steps += [_step(f"dL/dh{n - 1}", d_h, f"dL/dz{n} @ W{n}.T", i - 1, "h"),
                      _step(f"dL/dz{n - 1}", d_z, f"dL/dh{n - 1} * {slope_text}", i - 1, "z")]
    return steps


def times_slope_(d_h, z, activation):
    """dL/dz = dL/dh * f'(z), written over d_h (a fresh tensor nobody else holds). [B, width]"""
    if activation == "relu":  # f'(z) is 1 where z > 0, else 0: zero those entries instead of multiplying by 0/1
        return d_h.masked_fill_(z <= 0, 0)
    _, slope = ACTIVATIONS[activation]
    return d_h.mul_(slope(z))


def chain_rule(params, cache, d_logits, grads=None, inner=None):
    """From dL/dlogits (of any loss) down to dL/dW1, dL/db1, written into `grads`: the one backward pass.

    grads: tensors shaped like params, [{"W": [in, out], "b": [out]}, ...], overwritten (out=): a training
    step keeps one set and refills it every step instead of making new ones (None: new ones). Returns grads.
    inner: a dict that receives {layer: (dL/dh, dL/dz)} of every hidden layer (backward_steps shows them).
    """
    if grads is None:
        grads = [{k: torch.empty_like(layer[k], memory_format=torch.contiguous_format) for k in ("W", "b")}
                 for layer in params]
    layers = cache["layers"]
    d_z = d_logits  # [B, C]
    for i in reversed(range(len(params))):
        torch.mm(layers[i]["x"].T, d_z, out=grads[i]["W"])  # dL/dW_n = h_(n-1).T @ dL/dz_n  [in, B] @ [B, out]
        torch.sum(d_z, dim=0, out=grads[i]["b"])  # dL/db_n = dL/dz_n summed over the batch  [B, out] -> [out]
        if i == 0:
            break
        d_h = d_z @ params[i]["W"].T  # dL/dh_(n-1) = dL/dz_n @ W_n.T  [B, out] @ [out, in] -> [B, in]
        slope_into = d_h if inner is None else d_h.clone()  # the slope is written over it; a copy if d_h is kept
        d_z = times_slope_(slope_into, layers[i - 1]["z"], cache["activation"])  # dL/dz_(n-1)  [B, in]
        if inner is not None:
            inner[i - 1] = (d_h, d_z)
    return grads


def backward(params, cache, targets, loss="cross_entropy"):
    """Gradients of the mean loss for every weight, shaped like params: [{"W": dL/dW, "b": dL/db}, ...].

    `cache` comes from core.network.forward; `targets` are labels [B] for cross-entropy
    (or target values shaped like the logits for "mse" and "bce_with_logits").
    The same numbers as the "W" and "b" steps of backward_steps.
    """
    _, loss_grad = LOSSES[loss]
    with torch.no_grad():  # hand-written: even if params or the cache require grad, record nothing
        d_logits = loss_grad(cache["layers"][-1]["z"], targets)  # [B, C]
        return chain_rule(params, cache, d_logits)
