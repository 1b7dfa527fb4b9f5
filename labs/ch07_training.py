"""Live training, a few steps at a time, for the training-loop page.

Everything a browser page needs to train a small network frame by frame lives in one plain
dict `state` (weights, optimizer memory, step counter, where we are in the epoch, history):

    state = new_state([2, 16, 16, 3], seed=0, activation="relu")
    train_frame(state, X_train, y_train, X_test, y_test, config, n_steps=5)   # again and again

Each step is the loop of chapter 7: the scheduled lr (core.optim.scheduled_lr), the next mini-batch of a
shuffled epoch (next_batch), then core.train.train_step, the one step every training page runs:
forward pass, loss and dL/dlogits (core.losses.LOSSES), the chain rule of page 4 (core.backward.chain_rule),
the update (core.optim.OPTIMIZERS).

Three losses: cross-entropy, MSE between softmax probabilities and one-hot targets, and MSE
between the raw logits and one-hot targets. Training never raises on divergence: the step that
meets an inf / nan loss (or a loss BLOWUP times the first one) stops and writes the reason into
state["diverged"].
"""
import ast
import inspect
import io
import math
import sys
import textwrap
import tokenize

import torch

from core import data
from core import losses, metrics, optim, train
from core.losses import one_hot, softmax, softmax_mse_grad, softmax_mse_loss  # noqa: F401 (the page's names)
from core.network import forward, init_mlp
from core.optim import SCHEDULES, scheduled_lr  # noqa: F401 (moved to core.optim; the page's names)

# the page's loss names -> core.losses.LOSSES (targets: labels for cross-entropy, one-hot rows for the MSEs)
CORE_LOSS = {"cross_entropy": "cross_entropy", "mse_probs": "mse_probs", "mse_logits": "mse"}
LOSSES = tuple(CORE_LOSS)
OPTIMIZERS = ("sgd", "momentum", "adam")  # the page offers these rules of core.optim.OPTIMIZERS
CHOICES = {"optimizer": OPTIMIZERS, "loss": LOSSES, "schedule": SCHEDULES}  # the page's own sets of choices
MOMENTUM = optim.MOMENTUM  # the "momentum" optimizer is SGD with this momentum
BLOWUP = 100.0  # a batch loss above BLOWUP x the first step's loss counts as diverged


# ------------------------------------------------------------------------------ losses
def loss_and_logit_grad(logits, y, loss="cross_entropy"):
    """(loss as a 0-d tensor, dLoss/dlogits [B, C]) for labels y [B], from core.losses.LOSSES."""
    if loss not in CORE_LOSS:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    targets = losses.targets_for(CORE_LOSS[loss], y, logits)   # [B] labels, or one-hot rows [B, C]
    value, grad = losses.LOSSES[CORE_LOSS[loss]]
    return value(logits, targets), grad(logits, targets)


# ------------------------------------------------------------------------------- state
def new_state(sizes, seed=0, activation="relu"):
    """Fresh weights (He init for ReLU, Xavier for tanh / sigmoid) and an empty history."""
    init = "kaiming" if activation == "relu" else "xavier"
    return {"params": init_mlp(sizes, init=init, seed=seed), "opt_state": {}, "optimizer": None,
            "step": 0, "epoch": 0, "order": None, "cursor": 0, "seed": seed, "diverged": None,
            "first_loss": None,
            "history": {"step": [], "lr": [], "batch_loss": [], "train_loss": [], "test_loss": [],
                        "train_acc": [], "test_acc": []}}


def make_live_config(optimizer="adam", lr=0.01, loss="cross_entropy", batch_size=32,
                     activation="relu", schedule="constant", total_steps=1000, step_size=200, gamma=0.5):
    """Check the settings once: the page's own choices (CHOICES), then core.train.make_config's checks, then what
    only live training needs (lr > 0, the batch and the schedule). Returns the settings as a dict for live_step
    (its keys are this function's arguments: make_live_config(**config) gives config back)."""
    for name, value in (("optimizer", optimizer), ("loss", loss), ("schedule", schedule)):
        train.check_choice(name, value, CHOICES[name])
    train.make_config(optimizer, lr, activation=activation, loss=CORE_LOSS[loss])  # activation, lr a number, ...
    if lr == 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if int(batch_size) < 1 or int(total_steps) < 1 or int(step_size) < 1:
        raise ValueError("batch_size, total_steps and step_size must be at least 1")
    if not 0 < gamma <= 1:  # the step schedule's factor: the scheduled lr stays within [0, lr]
        raise ValueError(f"gamma must be a number above 0, at most 1, got {gamma!r}")
    return {"optimizer": optimizer, "lr": float(lr), "loss": loss, "batch_size": int(batch_size),
            "activation": activation, "schedule": schedule, "total_steps": int(total_steps),
            "step_size": int(step_size), "gamma": float(gamma)}


def next_batch(state, N, batch_size):
    """Row indices of the next mini-batch; a new shuffled epoch starts when the last one is used up.

    The shuffle of epoch e is drawn from seed * 100003 + e, so a run is repeatable.
    """
    if state["order"] is None or state["cursor"] >= N:
        g = torch.Generator().manual_seed(state["seed"] * 100_003 + state["epoch"])
        state["order"] = torch.randperm(N, generator=g)          # [N]
        state["cursor"] = 0
        state["epoch"] += 1
    idx = state["order"][state["cursor"]:state["cursor"] + batch_size]   # [B] (last one may be shorter)
    state["cursor"] += batch_size
    return idx


def live_step(state, X, y, config):
    """One training step on the next batch of (X [N, in], y [N]); changes state in place.

    The step itself is core.train.train_step, at this step's scheduled lr. Returns {"loss", "lr", "diverged"};
    the loss is measured before the update.
    """
    if config["optimizer"] != state["optimizer"]:      # switching optimizer: start its memory afresh
        state["opt_state"], state["optimizer"] = {}, config["optimizer"]
    lr = scheduled_lr(config["lr"], state["step"], config["schedule"], config["total_steps"],
                      config["step_size"], config["gamma"])
    idx = next_batch(state, X.shape[0], config["batch_size"])
    first = state["first_loss"]
    step_config = train.make_config(config["optimizer"], lr, activation=config["activation"],
                                    loss=CORE_LOSS[config["loss"]])
    out = train.train_step(state["params"], state["opt_state"], X[idx], y[idx], step_config,   # [B, in], [B]
                           max_loss=math.inf if first is None else BLOWUP * max(first, 1e-3))
    if first is None:
        state["first_loss"] = out["loss"]
    if out["diverged"]:
        return _diverge(state, out["loss"], lr)
    state["step"] += 1
    if not train.all_finite(t for layer in state["params"] for t in layer.values()):
        return _diverge(state, float("inf"), lr)
    return {"loss": out["loss"], "lr": lr, "diverged": False}


def _diverge(state, loss, lr):
    if math.isnan(loss):
        what = "the loss became nan (not a number)"
    elif math.isinf(loss):
        what = "the loss (or a weight) became inf"
    else:
        what = (f"the loss reached {loss:.4g}, more than {BLOWUP:g} times its first value "
                f"{state['first_loss']:.4g}")
    state["diverged"] = f"At step {state['step'] + 1} {what}, with learning rate {lr:g}."
    return {"loss": loss, "lr": lr, "diverged": True}


def evaluate_live(params, X, y, activation="relu", loss="cross_entropy"):
    """Mean loss (the training loss chosen) and accuracy on the whole of (X, y)."""
    return metrics.evaluate(params, X, y, activation, lambda logits, y: loss_and_logit_grad(logits, y, loss)[0])


def train_frame(state, X_train, y_train, X_test, y_test, config, n_steps=5, max_points=2000):
    """Run up to n_steps steps (fewer if training diverges), then measure and log one history point.

    n_steps=0 only logs the current point (the starting loss before any training).
    """
    if state["diverged"]:
        return state
    lr = scheduled_lr(config["lr"], state["step"], config["schedule"], config["total_steps"],
                      config["step_size"], config["gamma"])
    batch_loss = float("nan")
    for _ in range(n_steps):
        last = live_step(state, X_train, y_train, config)
        if last["diverged"]:
            return state
        lr, batch_loss = last["lr"], last["loss"]
    record(state, X_train, y_train, X_test, y_test, config, lr, batch_loss, max_points)
    return state


def record(state, X_train, y_train, X_test, y_test, config, lr, batch_loss, max_points=2000):
    """Append the current step, lr, batch loss and train / test loss and accuracy to state["history"]."""
    train = evaluate_live(state["params"], X_train, y_train, config["activation"], config["loss"])
    test = evaluate_live(state["params"], X_test, y_test, config["activation"], config["loss"])
    h = state["history"]
    for key, value in (("step", state["step"]), ("lr", lr), ("batch_loss", batch_loss),
                       ("train_loss", train["loss"]), ("test_loss", test["loss"]),
                       ("train_acc", train["acc"]), ("test_acc", test["acc"])):
        h[key].append(value)
    if len(h["step"]) > max_points:        # keep the curves light: drop every other old point
        for key in h:
            h[key] = h[key][:-1][::2] + h[key][-1:]


def short_run(sizes, X_train, y_train, X_test, y_test, config, steps=50, seed=0):
    """A fresh network (new_state) trained `steps` steps with `config`: what a "predict, then try" prompt reports.

    Returns {"start": training loss before the first step, "end": after the last step run (None if it
    diverged), "steps": steps run, "diverged": the reason or None}.
    """
    state = new_state(sizes, seed=seed, activation=config["activation"])
    train_frame(state, X_train, y_train, X_test, y_test, config, n_steps=0)
    start = state["history"]["train_loss"][0]
    train_frame(state, X_train, y_train, X_test, y_test, config, n_steps=steps)
    end = None if state["diverged"] else state["history"]["train_loss"][-1]
    return {"start": start, "end": end, "steps": state["step"], "diverged": state["diverged"]}


# ------------------------------------------------------------------------- pictures
def plane_grid(X, n=60, margin=0.25):
    """An n x n grid over the data's bounding box (plus a margin): xs [n], ys [n], points [n*n, 2]."""
    lo = X.min(dim=0).values - margin                            # [2]
    hi = X.max(dim=0).values + margin                            # [2]
    xs = torch.linspace(lo[0].item(), hi[0].item(), n)
    ys = torch.linspace(lo[1].item(), hi[1].item(), n)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")               # [n, n]: row = y, column = x
    return xs, ys, torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)


def split_and_grids(X, y, test_fraction, seed, standardise=False, grid=60, thumb=32):
    """The page's data: (X [N, 2], y [N]) split into train / test, and the two grids over the plane.

    X_* are what the network trains on, P_* the same points in the data's own units. standardise=True (a
    learner's file, in any units): the coordinates are standardised with the training points' mean and std,
    and the grids are laid out in those units (points, thumb_points) with their axes xs, ys mapped back.
    """
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_fraction, seed=seed)
    mean, std = data.fit_standardizer(X_train) if standardise else (torch.zeros(2), torch.ones(2))
    Z = data.standardize(X, mean, std)                                  # [N, 2] (= X unless standardise)
    xs, ys, points = plane_grid(Z, n=grid)
    _, _, thumb_points = plane_grid(Z, n=thumb)
    return dict(X_train=data.standardize(X_train, mean, std), X_test=data.standardize(X_test, mean, std),
                P_train=X_train, P_test=X_test, y_train=y_train, y_test=y_test, mean=mean, std=std,
                xs=xs * std[0] + mean[0], ys=ys * std[1] + mean[1], points=points, thumb_points=thumb_points)


def grid_probs(params, points, n, activation="relu"):
    """softmax of the network's outputs at every grid point: [n*n, 2] -> [n, n, C] (row = y)."""
    with torch.no_grad():
        logits, _ = forward(params, points, activation)          # [n*n, C]
        return softmax(logits).reshape(n, n, -1)


def hidden_unit_maps(params, points, n, activation="relu", max_units=16):
    """Output of the first hidden layer's units over the plane: [units, n, n] (at most max_units)."""
    with torch.no_grad():
        _, cache = forward(params, points, activation)
        h = cache["layers"][0]["a"][:, :max_units]               # [n*n, units]
        return h.T.reshape(-1, n, n)


# ------------------------------------------------------------------------- export



# ------------------------------------------------------------- how long is the loop, really?
STEP_PARTS = {  # the functions one live_step runs -> the part of the loop each one is (the innermost one named)
    "live_step": "the step itself, joining the parts",
    "train_step": "the step itself, joining the parts",
    "make_config": "the step itself, joining the parts",
    "scheduled_lr": "learning rate for this step",
    "next_batch": "next mini-batch (shuffle, slice)",
    "forward": "forward pass",
    "targets_for": "loss and dLoss/dlogits",
    "one_hot": "loss and dLoss/dlogits",
    "loss_and_grad": "loss and dLoss/dlogits",
    "chain_rule": "backward pass (chain rule)",
    "flat_buffers": "the step itself, joining the parts",
    "update": "optimizer step",
    "all_finite": "divergence check",
}


def code_lines(func):
    """Lines of func's source that are code: not blank, not only a comment, not the docstring."""
    source = textwrap.dedent(inspect.getsource(func))
    body = ast.parse(source).body[0].body
    docstring = set()
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        docstring = set(range(body[0].lineno, body[0].end_lineno + 1))
    skip = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in skip:
            lines.update(range(tok.start[0], tok.end[0] + 1))   # a string over 3 lines is 3 lines of code
    return len(lines - docstring)


def functions_called(run, package=("core.", "labs.")):
    """Call run() and list the functions of `package` (a module-name prefix, or a tuple of them: by default
    the textbook and the labs) it called, each once, in the order first called.

    Returns [(function, callers)]: callers is the chain of `package` functions that were running when
    it was first called, outermost first (empty for the ones run() called itself). Python's profiler
    hook (sys.setprofile) sees every call; it is this thread's only, and is put back as it was afterwards.
    """
    found, stack = {}, []         # stack: the functions of `package` running right now, outermost first

    def hook(frame, event, arg):
        if event not in ("call", "return"):
            return
        code = frame.f_code
        func = frame.f_globals.get(code.co_name)
        if getattr(func, "__code__", None) is not code or \
                not frame.f_globals.get("__name__", "").startswith(package):
            return
        if event == "call":
            found.setdefault(func, tuple(stack))
            stack.append(func)
        elif stack and stack[-1] is func:
            stack.pop()

    before = sys.getprofile()
    sys.setprofile(hook)
    try:
        run()
    finally:
        sys.setprofile(before)
    return list(found.items())


def step_anatomy(config, sizes=(2, 16, 16, 3), seed=0):
    """The `core` and `labs` functions one live_step runs with this config, and the lines of code each takes.

    Runs one real step (fresh weights, a random batch from its own generator) and records every
    `core` or `labs` function it calls. Returns [{"part", "function", "lines"}], one row per function, grouped
    by part (STEP_PARTS, after the innermost named function it runs in), each group in the order called.
    """
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(4 * config["batch_size"], sizes[0], generator=g)        # [N, in]
    y = torch.randint(0, sizes[-1], (X.shape[0],), generator=g)             # [N]
    state = new_state(list(sizes), seed=seed, activation=config["activation"])
    called = functions_called(lambda: live_step(state, X, y, config))       # [(live_step, ()), ...]
    parts = [next((STEP_PARTS[g.__name__] for g in (f, *reversed(callers)) if g.__name__ in STEP_PARTS),
                  f.__name__) for f, callers in called]
    order = list(dict.fromkeys(parts))                                       # parts in the order first reached
    rows = [{"part": part, "function": f, "lines": code_lines(f)} for part, (f, _) in zip(parts, called)]
    return sorted(rows, key=lambda row: order.index(row["part"]))           # stable: calls in order within a part


def lines_per_part(anatomy):
    """step_anatomy's rows summed per part: [{"part", "functions": [names], "lines"}], in step order."""
    parts = {}
    for row in anatomy:
        part = parts.setdefault(row["part"], {"part": row["part"], "functions": [], "lines": 0})
        part["functions"].append(row["function"].__name__)
        part["lines"] += row["lines"]
    return list(parts.values())
