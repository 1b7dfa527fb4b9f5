"""Optimizers by hand: SGD (with momentum / Nesterov), Adam and RMSprop.

Each optimizer is a per-tensor rule (sgd_update, adam_update, rmsprop_update) plus a *_step function that
applies it to every weight, in place. What must be remembered between steps (velocities, moments, the step
count) lives in a plain dict `state` the caller keeps, one per optimizer, starting as {}. params and grads may be
our list of {"W", "b"} layers, a list of tensors, a dict name -> tensor or a single tensor (the same structure).
The arithmetic follows torch.optim's order of operations (m.lerp_ for Adam's mean, ...), so in float32 our
weights match torch.optim.SGD / Adam / RMSprop bit for bit. adam_step_flat runs adam_update once on weights
kept in one flat buffer (flat_buffers), with the same numbers as adam_step tensor by tensor.
OPTIMIZERS is the one registry every page uses: each name with our step and the torch.optim class it matches
(update, torch_optimizer); scheduled_lr gives the learning rate.
"""
import math

import torch


def tensor_pairs(params, grads):
    """Walk params and grads side by side and list the (weight, gradient) tensor pairs."""
    if isinstance(params, torch.Tensor):
        return [(params, grads)]
    if isinstance(params, dict):
        return [pair for key in params for pair in tensor_pairs(params[key], grads[key])]
    return [pair for p, g in zip(params, grads, strict=True) for pair in tensor_pairs(p, g)]


# ------------------------------------------------------------------------ SGD
def sgd_update(p, g, velocity, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    """Move one weight tensor p against its gradient g; return the new velocity (None without momentum)."""
    if weight_decay != 0:
        g = g.add(p, alpha=weight_decay)  # g + wd * p  (L2 penalty on the weights)
    if momentum != 0:
        if velocity is None:
            velocity = g.clone()  # first step: v = g
        else:
            velocity.mul_(momentum).add_(g)  # v = mu * v + g
        g = g.add(velocity, alpha=momentum) if nesterov else velocity  # Nesterov looks ahead: g + mu * v
    p.add_(g, alpha=-lr)  # p = p - lr * g
    return velocity


def sgd_step(params, grads, state, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    """One SGD step on every weight, like torch.optim.SGD(..., dampening=0).step()."""
    pairs = tensor_pairs(params, grads)
    velocities = state.setdefault("velocity", [None] * len(pairs))
    with torch.no_grad():
        for i, (p, g) in enumerate(pairs):
            velocities[i] = sgd_update(p, g, velocities[i], lr, momentum, nesterov, weight_decay)
    state["step"] = state.get("step", 0) + 1
    return params


# ----------------------------------------------------------------------- Adam
def adam_update(p, g, m, v, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, denom=None):
    """Adam on one tensor: m and v are running averages of g and g*g (updated in place); step counts from 1.

    denom: optional scratch tensor shaped like p that receives sqrt(v_hat) + eps (else a new one is made).
    """
    beta1, beta2 = betas
    if weight_decay != 0:
        g = g.add(p, alpha=weight_decay)  # g + wd * p
    m.lerp_(g, 1 - beta1)  # m = beta1 * m + (1 - beta1) * g
    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)  # v = beta2 * v + (1 - beta2) * g^2
    bias1 = 1 - beta1 ** step  # both averages start at 0, so early on they are too small:
    bias2 = 1 - beta2 ** step  # m_hat = m / bias1 and v_hat = v / bias2 undo that
    denom = torch.sqrt(v, out=denom).div_(bias2 ** 0.5).add_(eps)  # sqrt(v_hat) + eps, divided and added in place
    p.addcdiv_(m, denom, value=-lr / bias1)  # p = p - lr * m_hat / (sqrt(v_hat) + eps)


def adam_step(params, grads, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """One Adam step on every weight, like torch.optim.Adam(...).step(). When the step keeps the weights in one
    buffer (flat_buffers; grads are its "grad_layers"), that is one update of the whole buffer (adam_step_flat)."""
    if "flat" in state and grads is state["flat"]["grad_layers"]:
        return adam_step_flat(state["flat"], state, lr, betas, eps, weight_decay)
    pairs = tensor_pairs(params, grads)
    if "m" not in state:
        state["m"] = [torch.zeros_like(p) for p, _ in pairs]
        state["v"] = [torch.zeros_like(p) for p, _ in pairs]
        state["step"] = 0
    state["step"] += 1
    with torch.no_grad():
        for (p, g), m, v in zip(pairs, state["m"], state["v"]):
            adam_update(p, g, m, v, state["step"], lr, betas, eps, weight_decay)
    return params


# ------------------------------------------------- every weight in one buffer
# Adam treats every number on its own, so its rule can run once on one long tensor that holds all the weights
# back to back instead of once per tensor: 7 operations on 101,770 numbers instead of 7 per tensor.
# The per-layer tensors stay: each becomes a view of its slice of the buffer (same shape, same object).


def views_of(flat, like):
    """Cut a flat tensor into views shaped like the tensors in `like`, back to back (no copying)."""
    views, start = [], 0
    for t in like:
        views.append(flat[start:start + t.numel()].view(t.shape))
        start += t.numel()
    return views


def into_one_buffer(tensors):
    """Copy the tensors back to back into one flat tensor [total]; each tensor then becomes a view of its slice.

    Tensor.set_ re-points the tensor object itself at the buffer, so whoever holds params[0]["W"] keeps the
    same tensor, with its shape and values, and sees every change made through the buffer (and vice versa).
    """
    flat = torch.cat([t.detach().reshape(-1) for t in tensors])  # [total]
    for t, view in zip(tensors, views_of(flat, tensors)):
        t.set_(view)
    return flat


def flat_buffers(params, state):
    """The weights and their gradients as one flat tensor each, kept in state["flat"] (made on the first call).

    Returns {"weights": [total], "grads": [total], "grad_layers": [{"W", "b"}, ...] views of "grads" shaped
    like params, ...}. The params' tensors become views of "weights" (into_one_buffer); if they are no longer
    the tensors the buffer was made for (new params, same state), the buffers are made again.
    """
    tensors = [t for layer in params for t in (layer["W"], layer["b"])]
    flat = state.get("flat")
    if flat is not None and flat["addresses"] == [t.data_ptr() for t in tensors]:
        return flat
    with torch.no_grad():
        weights = into_one_buffer(tensors)
    grads = torch.zeros_like(weights)
    grad_tensors = views_of(grads, tensors)
    flat = {"weights": weights, "grads": grads,
            "grad_layers": [{"W": grad_tensors[2 * i], "b": grad_tensors[2 * i + 1]} for i in range(len(params))],
            "addresses": [t.data_ptr() for t in tensors]}
    state["flat"] = flat
    state.pop("flat_adam", None)  # Adam's flat moments belong to the old buffers
    return flat


def adam_step_flat(flat, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """adam_step for weights kept in one buffer (flat_buffers): adam_update once on the whole buffer.

    Same arithmetic per number as adam_step, so the same weights. The moments state["m"], state["v"] stay
    per-tensor lists (views of two flat buffers), so adam_step can carry on from the same state.
    """
    weights = flat["weights"]
    moments = state.get("flat_adam")
    if moments is None:
        if "m" in state:  # moments made by adam_step (or for other buffers): copy them into flat buffers
            m, v = into_one_buffer(state["m"]), into_one_buffer(state["v"])
        else:  # first step: both moments start at 0
            m, v = torch.zeros_like(weights), torch.zeros_like(weights)
            like = [g for layer in flat["grad_layers"] for g in layer.values()]
            state["m"], state["v"], state["step"] = views_of(m, like), views_of(v, like), 0
        denom = torch.empty_like(weights)  # reused every step for sqrt(v_hat) + eps
        moments = state["flat_adam"] = {"m": m, "v": v, "denom": denom}
    state["step"] += 1  # (no torch.no_grad needed: the flat buffers never require grad)
    adam_update(weights, flat["grads"], moments["m"], moments["v"], state["step"], lr, betas, eps, weight_decay,
                denom=moments["denom"])


# -------------------------------------------------------------------- RMSprop
def rmsprop_update(p, g, square_avg, velocity, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0,
                   weight_decay=0.0):
    """RMSprop on one tensor: divide g by the root of a running average of g*g (buffers updated in place)."""
    if weight_decay != 0:
        g = g.add(p, alpha=weight_decay)  # g + wd * p
    square_avg.mul_(alpha).addcmul_(g, g, value=1 - alpha)  # s = alpha * s + (1 - alpha) * g^2
    denom = square_avg.sqrt().add_(eps)  # sqrt(s) + eps
    if momentum > 0:
        velocity.mul_(momentum).addcdiv_(g, denom)  # v = mu * v + g / denom
        p.add_(velocity, alpha=-lr)  # p = p - lr * v
    else:
        p.addcdiv_(g, denom, value=-lr)  # p = p - lr * g / denom


def rmsprop_step(params, grads, state, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
    """One RMSprop step on every weight, like torch.optim.RMSprop(...).step() (centered=False)."""
    pairs = tensor_pairs(params, grads)
    if "square_avg" not in state:
        state["square_avg"] = [torch.zeros_like(p) for p, _ in pairs]
        state["velocity"] = [torch.zeros_like(p) for p, _ in pairs]
        state["step"] = 0
    state["step"] += 1
    with torch.no_grad():
        for (p, g), s, v in zip(pairs, state["square_avg"], state["velocity"]):
            rmsprop_update(p, g, s, v, lr, alpha, eps, momentum, weight_decay)
    return params


# ------------------------------------------------------------ one registry
# name -> (our step, the torch.optim class it matches, the hyperparameters it reads besides lr with their defaults,
# named as torch.optim names them). update runs ours and torch_optimizer builds torch's, from the same hp dict.
MOMENTUM = 0.9
OPTIMIZERS = {
    "sgd": (sgd_step, torch.optim.SGD, {"weight_decay": 0.0}),
    "momentum": (sgd_step, torch.optim.SGD, {"momentum": MOMENTUM, "weight_decay": 0.0}),
    "nesterov": (sgd_step, torch.optim.SGD, {"momentum": MOMENTUM, "nesterov": True, "weight_decay": 0.0}),
    "adam": (adam_step, torch.optim.Adam, {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}),
    "rmsprop": (rmsprop_step, torch.optim.RMSprop, {"alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0}),
}


def hyperparameters(name, hp):
    """lr and each hyperparameter optimizer `name` reads, from hp (else its default): the keyword arguments of
    both its step and its torch.optim class. Nesterov with momentum 0 is plain SGD (torch.optim refuses the flag)."""
    _, _, defaults = OPTIMIZERS[name]
    kw = {"lr": hp["lr"], **{key: hp.get(key, value) for key, value in defaults.items()}}
    if kw.get("nesterov") and kw["momentum"] == 0:
        kw["nesterov"] = False
    return kw


def update(name, params, grads, state, hp):
    """One step of optimizer `name` on every weight, in place; state is its memory between steps ({} at first)."""
    step, _, _ = OPTIMIZERS[name]
    step(params, grads, state, **hyperparameters(name, hp))


def torch_optimizer(name, parameters, hp):
    """torch.optim's version of optimizer `name` over `parameters`, with the same hyperparameters."""
    _, torch_class, _ = OPTIMIZERS[name]
    return torch_class(parameters, **hyperparameters(name, hp))


SCHEDULES = ("constant", "step", "cosine")


def scheduled_lr(base_lr, step, schedule="constant", total_steps=1000, step_size=200, gamma=0.5, min_lr=0.0):
    """The learning rate for update number `step` (0 for the first update).

    constant: base_lr;  step: base_lr * gamma ** (step // step_size) (StepLR);  cosine (CosineAnnealingLR):
    min_lr + (base_lr - min_lr) * (1 + cos(pi * min(step, total_steps) / total_steps)) / 2
    """
    if schedule == "constant":
        return base_lr
    if schedule == "step":
        return base_lr * gamma ** (step // step_size)
    if schedule == "cosine":
        t = min(step, total_steps)
        return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * t / total_steps)) / 2
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
