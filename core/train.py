"""The training step and loop, twice: once from raw tensors, once the usual torch.nn way.

From scratch (train_step, the one step every training page runs; train_scratch, the loop):
    logits, cache = forward(params, xb)                  core.network
    loss, d_logits = loss_and_grad(loss, logits, yb)     core.losses.LOSSES (one softmax for cross-entropy)
    chain_rule(params, cache, d_logits, grads)           core.backward  (chain rule by hand)
    update(optimizer, params, grads, state, config)      core.optim     (weights change in place)
Weights, gradients and Adam's moments sit in one flat buffer each (core.optim.flat_buffers; params are views).

torch.nn (torch_train_step / train_torch):
    loss = F.cross_entropy(model(xb), yb)
    optimizer.zero_grad(); loss.backward(); optimizer.step()

Both run the one `loop` (same seed, same shuffled batches; from the same weights they stay ~1e-6 apart). It
never raises on divergence: when the loss turns inf or nan it yields a last dict with "diverged": True and a "reason".
"""

import math

import torch
import torch.nn.functional as F

from core.backward import chain_rule
from core.data import batches, num_batches
from core.losses import LOSSES, loss_and_grad, targets_for
from core.metrics import accuracy, evaluate
from core.network import ACTIVATIONS, forward, to_torch_sequential
from core.optim import OPTIMIZERS, flat_buffers, torch_optimizer, update

MAX_SETTING = 1e30  # largest lr / weight_decay accepted


def make_config(optimizer="adam", lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0,
                betas=(0.9, 0.999), eps=1e-8, activation="relu", loss="cross_entropy"):
    """Check the hyperparameters once and collect them in a dict used by both training loops.

    optimizer: a name of core.optim.OPTIMIZERS; "sgd" with momentum > 0 becomes "momentum" (or "nesterov").
    """
    for name, value, allowed in (("optimizer", optimizer, OPTIMIZERS), ("loss", loss, LOSSES),
                                 ("activation", activation, ACTIVATIONS)):
        check_choice(name, value, allowed)
    for name, value in [("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay), ("eps", eps)]:
        # the upper bound keeps every setting representable in float32 (torch refuses 1e39)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= MAX_SETTING):
            raise ValueError(f"{name} must be a number from 0 to {MAX_SETTING:g}, got {value!r}")
    if momentum >= 1:
        raise ValueError(f"momentum must be below 1, got {momentum}")
    if nesterov and (optimizer != "sgd" or momentum == 0):
        raise ValueError("nesterov needs optimizer='sgd' and momentum > 0")
    if not all(0 <= b < 1 for b in betas):
        raise ValueError(f"Adam betas must lie in [0, 1), got {betas!r}")
    if optimizer == "sgd" and momentum > 0:  # torch.optim.SGD's spelling of the momentum rules
        optimizer = "nesterov" if nesterov else "momentum"
    _, _, rule = OPTIMIZERS[optimizer]  # the rule's own settings, where it has them: momentum 0.9, the Nesterov flag
    momentum = momentum or rule.get("momentum", 0.0)
    return {"optimizer": optimizer, "loss": loss, "lr": float(lr), "momentum": float(momentum),
            "nesterov": rule.get("nesterov", False), "weight_decay": float(weight_decay),
            "betas": tuple(betas), "eps": float(eps), "activation": activation}


def check_choice(name, value, allowed):
    """Refuse a setting that is not one of `allowed` (a registry, or a page's own tuple), naming the choices."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")


def _diverged(loss_value, step, config):
    if math.isfinite(loss_value):
        what = "weights became inf or nan"
    else:
        what = "loss became " + ("nan (not a number)" if math.isnan(loss_value) else "inf")
    return {"diverged": True, "reason": f"{what} at step {step}: training blew up. "
                                        f"Lower the learning rate (now {config['lr']:g}) and train again."}


def all_finite(tensors):
    """True when no weight is inf or nan."""
    with torch.no_grad():
        return all(bool(torch.isfinite(t).all()) for t in tensors)


# --------------------------------------------------------------------------- scratch
def train_step(params, opt_state, xb, yb, config, max_loss=math.inf):
    """One step from scratch: forward, loss and dL/dlogits, chain rule, update. params and opt_state change in place.

    xb [B, in], yb labels [B] (one-hot rows [B, C] for the MSE losses are made here); config from make_config.
    Returns {"loss", "batch_acc", "diverged"}, the loss measured before the update; a loss that is not finite (or
    above max_loss) leaves the weights untouched. opt_state keeps the flat buffers too (core.optim.flat_buffers).
    """
    with torch.no_grad():  # nothing here needs autograd: the gradients are written by hand
        flat = flat_buffers(params, opt_state)  # weights and gradients, one buffer each (made on the first step)
        logits, cache = forward(params, xb, config["activation"])  # [B, C]
        targets = targets_for(config["loss"], yb, logits)  # labels [B], or one-hot rows [B, C] for the MSEs
        loss, d_logits = loss_and_grad(config["loss"], logits, targets)  # [], [B, C]
        loss = loss.item()
        batch_acc = accuracy(logits, yb)  # core.metrics, as every evaluation
        if not (math.isfinite(loss) and loss <= max_loss):
            return {"loss": loss, "batch_acc": batch_acc, "diverged": True}
        grads = chain_rule(params, cache, d_logits, flat["grad_layers"])  # like params: [{"W", "b"}, ...]
        update(config["optimizer"], params, grads, opt_state, config)  # Adam: one update on the flat buffer
    return {"loss": loss, "batch_acc": batch_acc, "diverged": False}


def _check_data(X, y, batch_size, epochs, steps):
    if X.shape[0] == 0 or X.shape[0] != y.shape[0]:
        raise ValueError(f"need as many labels as rows (and at least one): X has {X.shape[0]} rows, "
                         f"y has {y.shape[0]} labels")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
    if steps is None and (not isinstance(epochs, int) or epochs < 1):
        raise ValueError(f"epochs must be a whole number >= 1, got {epochs!r}")
    if steps is not None and (not isinstance(steps, int) or steps < 1):
        raise ValueError(f"steps must be a whole number >= 1, got {steps!r}")
    per_epoch = num_batches(X.shape[0], batch_size)
    total = steps if steps is not None else epochs * per_epoch
    return total, math.ceil(total / per_epoch)


def _check_dtype(X, params):
    W = params[0]["W"]
    pixels = X.dtype == torch.uint8 and W.dtype == torch.float32  # made float32 batch by batch (data.as_float)
    if (X.dtype != W.dtype and not pixels) or X.device != W.device:
        raise ValueError(f"X is {X.dtype} on {X.device} but the weights are {W.dtype} on {W.device}; "
                         f"convert one of them, e.g. X.to(dtype={W.dtype}, device='{W.device}')")


def _eval_due(step, epoch_done, total, eval_every):
    """Evaluate every eval_every steps; with eval_every=None, at the end of each epoch. Always at the end."""
    if step == total:
        return True
    return epoch_done if eval_every is None else (eval_every > 0 and step % eval_every == 0)


def train_scratch(params, X, y, *, optimizer="adam", lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0,
                  betas=(0.9, 0.999), eps=1e-8, batch_size=64, epochs=1, steps=None, seed=0, shuffle=True,
                  activation="relu", X_test=None, y_test=None, eval_every=None, opt_state=None):
    """Train params (changed in place) on X [N, in], y [N] with train_step; yield a metrics dict after every step.

    Runs `steps` steps if given, else `epochs` full passes. Each dict holds
        step (1, 2, ...), epoch (1, 2, ...), loss, batch_acc, batch_size, lr, diverged
    plus test_loss / test_acc when X_test is given and an evaluation is due (every
    eval_every steps, or at each epoch end when eval_every is None, and after the last step).
    opt_state: the optimizer's memory (momentum, Adam moments); pass your own dict to keep it.
    """
    config = make_config(optimizer, lr, momentum, nesterov, weight_decay, betas, eps, activation)
    _check_dtype(X, params)
    opt_state = {} if opt_state is None else opt_state
    yield from loop(lambda xb, yb: train_step(params, opt_state, xb, yb, config),
                    lambda: (t for layer in params for t in layer.values()), params, X, y, config,
                    batch_size, epochs, steps, seed, shuffle, X_test, y_test, eval_every)


def loop(step, weights, model, X, y, config, batch_size, epochs, steps, seed, shuffle, X_test, y_test,
         eval_every, extra=None):
    """The one training loop: step(xb, yb) on the shuffled mini-batches (core.data.batches, a torch.Generator
    seeded by `seed`), the weights checked at each epoch end, an evaluation of `model` when due."""
    total, n_epochs = _check_data(X, y, batch_size, epochs, steps)
    generator = torch.Generator().manual_seed(seed)        # decides the shuffling: same seed, same batches
    per_epoch, done = num_batches(X.shape[0], batch_size), 0
    for epoch in range(1, n_epochs + 1):
        for i, (xb, yb) in enumerate(batches(X, y, batch_size, shuffle, generator)):
            done += 1
            metrics = step(xb, yb)
            metrics.update(step=done, epoch=epoch, batch_size=len(yb), lr=config["lr"], **(extra or {}))
            if i == per_epoch - 1 or done == total:   # the loss catches blow-ups; check weights too
                metrics["diverged"] |= not all_finite(weights())
            if metrics["diverged"]:
                metrics.update(_diverged(metrics["loss"], done, config))
                yield metrics
                return
            if X_test is not None and _eval_due(done, i == per_epoch - 1, total, eval_every):
                result = evaluate(model, X_test, y_test, config["activation"])
                metrics.update(test_loss=result["loss"], test_acc=result["acc"])
            yield metrics
            if done == total:
                return


# --------------------------------------------------------------------------- torch.nn
def make_torch_optimizer(model, config):
    """torch.optim's SGD, Adam or RMSprop over the model's parameters (core.optim's registry), as config says."""
    return torch_optimizer(config["optimizer"], model.parameters(), config)


def torch_train_step(model, optimizer, xb, yb):
    """One step the torch.nn way; returns the same metrics as train_step."""
    logits = model(xb)                                      # [B, C], records the graph
    loss = F.cross_entropy(logits, yb)
    loss_value = loss.item()
    batch_acc = accuracy(logits, yb)
    if not math.isfinite(loss_value):
        return {"loss": loss_value, "batch_acc": batch_acc, "diverged": True}
    optimizer.zero_grad()                                   # .grad accumulates: clear it first
    loss.backward()                                         # autograd fills p.grad
    optimizer.step()
    return {"loss": loss_value, "batch_acc": batch_acc, "diverged": False}


def train_torch(params, X, y, *, optimizer="adam", lr=1e-3, momentum=0.0, nesterov=False,
                weight_decay=0.0, betas=(0.9, 0.999), eps=1e-8, batch_size=64, epochs=1,
                steps=None, seed=0, shuffle=True, activation="relu",
                X_test=None, y_test=None, eval_every=None, model=None, torch_optimizer=None):
    """The same experiment as train_scratch, with nn.Sequential, F.cross_entropy and torch.optim.

    The model is built from a copy of params (params are left untouched) unless you pass
    `model` (and optionally `torch_optimizer`) to continue training one. Yields the same
    metrics as train_scratch, plus "model": the nn.Sequential being trained.
    """
    config = make_config(optimizer, lr, momentum, nesterov, weight_decay, betas, eps, activation)
    if model is None:
        _check_dtype(X, params)
        model = to_torch_sequential(params, activation)
    torch_optimizer = make_torch_optimizer(model, config) if torch_optimizer is None else torch_optimizer
    yield from loop(lambda xb, yb: torch_train_step(model, torch_optimizer, xb, yb), model.parameters, model, X, y,
                    config, batch_size, epochs, steps, seed, shuffle, X_test, y_test, eval_every, {"model": model})
