"""Optimizers on 2-D loss surfaces: where does each one roll, and does it arrive?

A surface is a loss f(p) of a point p = [x, y] (a tensor of 2 numbers) together with its
gradient grad(p) = [df/dx, df/dy], written out by hand (the tests check it against autograd).
An optimizer from core.optim walks downhill from a starting point; `walks` records every point
each optimizer visits (all of them side by side) and then `classify` says how a walk ended:

    converged       reached the lowest value of the surface
    local minimum   came to rest in a valley that is not the lowest one
    saddle point    came to rest where the surface curves up one way and down the other
    diverged        a number became inf/nan or the point flew more than RADIUS away
    rolling away    still heading downhill on a surface that has no lowest point (the saddle)
    stalled         used up all its steps without getting anywhere it could stop

`torch_replay` replays a walk with torch.optim, fed the same gradients, so the page can show that our
hand-written optimizers trace the very same path (`torch_trajectory` lets torch.optim walk on its
own, for the tests), and `autograd_gap` checks our hand-written gradients against autograd at every
point of the path.

Everything runs in float64: on 2 numbers it costs nothing and keeps rounding out of the picture.
"""
import math

import torch

from core import optim

DTYPE = torch.float64
RADIUS = 1e4          # a point farther than this from the origin has flown off: diverged
GRAD_TOL = 1e-3       # |gradient| below this counts as "at rest"
LOSS_TOL = 1e-3       # f - f_min below this counts as "at the lowest value"


# --------------------------------------------------------------- the surfaces
RAVINE_CURVATURE = (1.0, 25.0)  # second derivative of the ravine along x and across (y)


def ravine(p):
    """A long narrow valley: f = 0.5 * (x^2 + 25 y^2). Curvature 1 along x, 25 along y."""
    x, y = p[0], p[1]
    return 0.5 * (x ** 2 + 25 * y ** 2)


def ravine_grad(p):
    x, y = p[0], p[1]
    return torch.stack([x, 25 * y])  # [df/dx, df/dy]


def rosenbrock(p):
    """Rosenbrock's banana: f = (1 - x)^2 + 100 (y - x^2)^2, lowest value 0 at (1, 1)."""
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def rosenbrock_grad(p):
    x, y = p[0], p[1]
    dx = -2 * (1 - x) - 400 * x * (y - x ** 2)  # chain rule through (y - x^2)
    dy = 200 * (y - x ** 2)
    return torch.stack([dx, dy])


def saddle(p):
    """A saddle: f = x^2 - y^2. Flat at (0, 0), uphill along x, downhill along y, no lowest point."""
    x, y = p[0], p[1]
    return x ** 2 - y ** 2


def saddle_grad(p):
    x, y = p[0], p[1]
    return torch.stack([2 * x, -2 * y])


def himmelblau(p):
    """Himmelblau: f = (x^2 + y - 11)^2 + (x + y^2 - 7)^2, four valleys, all with f = 0."""
    x, y = p[0], p[1]
    return (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2


def himmelblau_grad(p):
    x, y = p[0], p[1]
    a = x ** 2 + y - 11
    b = x + y ** 2 - 7
    return torch.stack([4 * x * a + 2 * b, 2 * a + 4 * y * b])


def rastrigin(p):
    """Rastrigin: f = 20 + sum over x, y of (t^2 - 10 cos(2 pi t)). An egg box of local minima, lowest 0 at (0, 0)."""
    x, y = p[0], p[1]
    return 20 + x ** 2 - 10 * torch.cos(2 * math.pi * x) + y ** 2 - 10 * torch.cos(2 * math.pi * y)


def rastrigin_grad(p):
    x, y = p[0], p[1]
    return torch.stack([2 * x + 20 * math.pi * torch.sin(2 * math.pi * x),
                        2 * y + 20 * math.pi * torch.sin(2 * math.pi * y)])


# name -> the surface, its gradient, where to look, and sensible starting settings
SURFACES = {
    "Ravine": dict(f=ravine, grad=ravine_grad, f_min=0.0, minima=[(0.0, 0.0)],
                   view=(-5.0, 5.0, -2.5, 2.5), start=(-4.5, 2.0), lr_sgd=0.05, lr_adaptive=0.3,
                   log_contours=True),
    "Rosenbrock": dict(f=rosenbrock, grad=rosenbrock_grad, f_min=0.0, minima=[(1.0, 1.0)],
                       view=(-2.0, 2.0, -1.0, 3.0), start=(-1.5, 2.5), lr_sgd=0.001, lr_adaptive=0.1,
                       log_contours=True),
    "Saddle": dict(f=saddle, grad=saddle_grad, f_min=None, minima=[],
                   view=(-2.0, 2.0, -2.0, 2.0), start=(1.8, 0.01), lr_sgd=0.01, lr_adaptive=0.01,
                   log_contours=False),
    "Himmelblau": dict(f=himmelblau, grad=himmelblau_grad, f_min=0.0,
                       minima=[(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186),
                               (3.584428, -1.848126)],
                       view=(-5.0, 5.0, -5.0, 5.0), start=(-0.5, -0.5), lr_sgd=0.01, lr_adaptive=0.3,
                       log_contours=True),
    "Rastrigin": dict(f=rastrigin, grad=rastrigin_grad, f_min=0.0, minima=[(0.0, 0.0)],
                      view=(-5.12, 5.12, -5.12, 5.12), start=(3.3, -2.2), lr_sgd=0.001, lr_adaptive=0.3,
                      log_contours=False),
}

# the names shown on the page, one per rule of core.optim.OPTIMIZERS ("SGD" -> "sgd", ...)
OPTIMIZERS = tuple({"sgd": "SGD", "rmsprop": "RMSprop"}.get(name, name.capitalize()) for name in optim.OPTIMIZERS)


def point(x, y):
    """A point on the map as a float64 tensor [2]."""
    return torch.tensor([float(x), float(y)], dtype=DTYPE)


def grid(name, n=120, x_range=None, y_range=None):
    """The surface sampled on an n x n grid: (xs [n], ys [n], Z [n, n] with Z[i, j] = f(xs[j], ys[i])).

    The ranges default to the surface's view.
    """
    x_lo, x_hi, y_lo, y_hi = SURFACES[name]["view"]
    x_lo, x_hi = x_range or (x_lo, x_hi)
    y_lo, y_hi = y_range or (y_lo, y_hi)
    xs = torch.linspace(x_lo, x_hi, n, dtype=DTYPE)
    ys = torch.linspace(y_lo, y_hi, n, dtype=DTYPE)
    Y, X = torch.meshgrid(ys, xs, indexing="ij")  # [n, n] each, rows follow y
    Z = SURFACES[name]["f"](torch.stack([X, Y]))  # the formulas broadcast over the grid
    return xs, ys, Z


# --------------------------------------------------------- walking downhill
def optimizer_step(name, p, g, state, hp):
    """One update of the point p (in place) by the optimizer `name` ("SGD", ..., see OPTIMIZERS), using
    core.optim's registry; hp holds the hyperparameters."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose from {OPTIMIZERS}")
    optim.update(name.lower(), p, g, state, hp)


def flew_off(x, y, loss):
    """True when the walk has blown up at the point (x, y): inf/nan anywhere, or farther than RADIUS."""
    return not (math.isfinite(loss) and math.hypot(x, y) <= RADIUS)  # hypot is inf/nan if x or y is


def walks(surface, start, steps, hyper):
    """Walk `steps` steps from `start` with each optimizer of `hyper` ({name: hp}) and the hand-written gradient.

    Returns {name: {"path": [k, 2] points visited (start first), "loss": [k] f at each point, "grad": [k, 2]
    the gradient there, "grad_norm": [k] its length, "diverged_at": step index where it blew up or None}}.
    On divergence a walk stops and the bad point is left out, so k <= steps + 1.

    The walks go side by side: column i of P [2, n] is walk i's point. The surface's formulas work element by
    element, so grad(P) [2, n] is every walk's gradient in one call, and each optimizer updates its own column
    in place. The losses, the gradients' lengths and the blow-up check come after the loop, for every point at once.
    """
    f, grad, names = SURFACES[surface]["f"], SURFACES[surface]["grad"], list(hyper)
    P = point(*start)[:, None].repeat(1, len(names))  # [2, n]
    columns = [P[:, i] for i in range(len(names))]  # [2] each, views: updating one moves that column of P
    states = [{} for _ in names]
    points, grads = [P.clone()], []
    for step in range(steps):
        G = grad(P)  # [2, n]
        grads.append(G)
        for name, p, g, state in zip(names, columns, G.T, states):
            optimizer_step(name, p, g, state, hyper[name])
        points.append(P.clone())
        if step % 64 == 63 and not torch.isfinite(P).all(dim=0).any():  # every walk has blown up: stop early
            break
    grads.append(grad(P))
    points, grads = torch.stack(points), torch.stack(grads)  # [k, 2, n] each
    losses = f(points.transpose(0, 1))  # [k, n]
    return {name: _cut_where_it_flew_off(points[:, :, i], losses[:, i], grads[:, :, i])
            for i, name in enumerate(names)}


def _cut_where_it_flew_off(path, loss, grad):
    """One walk of `walks` (path [k, 2], loss [k], grad [k, 2]) up to its first point that flew off."""
    rows = zip(path.tolist(), loss.tolist())
    bad = next((k for k, ((x, y), f) in enumerate(rows) if flew_off(x, y, f)), None)
    k = len(path) if bad is None else bad
    return {"path": path[:k].contiguous(), "loss": loss[:k].contiguous(), "grad": grad[:k].contiguous(),
            "grad_norm": torch.tensor([math.hypot(gx, gy) for gx, gy in grad[:k].tolist()], dtype=DTYPE),
            "diverged_at": bad}


def trajectory(surface, optimizer, start, steps, hp):
    """One optimizer's walk (see `walks`): {"path", "loss", "grad", "grad_norm", "diverged_at"}."""
    return walks(surface, start, steps, {optimizer: hp})[optimizer]


def first_steps(walk, steps):
    """The same walk stopped after `steps` steps.

    A walk is deterministic, so a shorter walk is exactly the start of a longer one: cut the path, its
    losses and gradient norms after `steps` steps (a walk that blew up earlier stays as it is).
    """
    if walk["diverged_at"] is not None and walk["diverged_at"] <= steps:
        return walk
    k = steps + 1  # the start plus one point per step
    return {"path": walk["path"][:k], "loss": walk["loss"][:k], "grad": walk["grad"][:k],
            "grad_norm": walk["grad_norm"][:k], "diverged_at": None}


def make_torch_optimizer(optimizer, p, hp):
    """The torch.optim optimizer that matches our optimizer `optimizer` (same hyperparameters), from the entry of
    core.optim's registry that also names our step."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose from {OPTIMIZERS}")
    return optim.torch_optimizer(optimizer.lower(), [p], hp)


def torch_trajectory(surface, optimizer, start, steps, hp):
    """The same walk with torch.optim doing the steps (fed the same hand-written gradient).

    Returns the points visited, [steps + 1, 2] (fewer if it blows up, exactly like `trajectory`).
    Feeding the same gradient isolates the optimizer: any difference would be ours.
    (`autograd_gap` checks the gradient itself.)
    """
    f, grad = SURFACES[surface]["f"], SURFACES[surface]["grad"]
    p = point(*start).requires_grad_(True)
    opt = make_torch_optimizer(optimizer, p, hp)
    path = []
    for step in range(steps + 1):
        with torch.no_grad():
            if flew_off(*p.tolist(), float(f(p))):
                break
            path.append(p.tolist())
            p.grad = grad(p)  # [2], what loss.backward() would have stored in p.grad
        if step < steps:
            opt.step()
    return torch.tensor(path, dtype=DTYPE).reshape(-1, 2)


def torch_replay(optimizer, start, hp, grads):
    """torch.optim's walk from `start` when fed our walk's gradients grads [k, 2], one per step: [k, 2] points.

    p.grad gets the hand-written gradient at our walk's point of that step, so each step tests the optimizer
    alone; any difference from our path would be ours (`torch_trajectory` instead lets torch.optim walk on its
    own). A walk that blew up gave its gradients up to its last good point: the replay stops there too.
    """
    p = point(*start).requires_grad_(True)
    opt = make_torch_optimizer(optimizer, p, hp)
    path = [p.detach().clone()] if len(grads) else []
    for g in grads[:-1]:
        p.grad = g  # [2], what loss.backward() would have stored in p.grad
        opt.step()
        path.append(p.detach().clone())
    return torch.stack(path) if path else torch.empty(0, 2, dtype=DTYPE)


def autograd_gradients(surface, points):
    """Autograd's gradient of f at many points at once: points [k, 2] -> [k, 2].

    The surface formulas work element by element, so f of all k points is one call, and the
    gradient of their sum with respect to each point is that point's own gradient.
    """
    P = points.detach().clone().requires_grad_(True)  # [k, 2]
    SURFACES[surface]["f"](P.T).sum().backward()  # f(P.T): [k]
    return P.grad


def autograd_gap(surface, points):
    """Largest |hand-written gradient - autograd gradient| over the points [k, 2] of a path."""
    if len(points) == 0:
        return 0.0
    hand = SURFACES[surface]["grad"](points.T).T  # [2, k] -> [k, 2]
    return float((hand - autograd_gradients(surface, points)).abs().max())


def max_path_difference(ours, theirs):
    """Largest |ours - theirs| over the points both walks visited (inf if one stopped earlier)."""
    if len(ours) != len(theirs):
        return math.inf
    return float((ours - theirs).abs().max()) if len(ours) else 0.0


# ------------------------------------------------- what theory says about the ravine
def slope_ratio(surface, p):
    """|df/dy| / |df/dx| at the point p = (x, y): how many times steeper the surface is along y than along x there.

    On the ravine the curvature ratio is fixed (25), but the slope ratio 25 |y| / |x| depends on the point
    (inf where x = 0, 0 where y = 0).
    """
    gx, gy = (abs(v) for v in SURFACES[surface]["grad"](point(*p)).tolist())
    if gx == 0:
        return math.inf if gy > 0 else math.nan
    return gy / gx


def stable_lr_limits(curvature, momentum):
    """Largest learning rates that still converge on a bowl f = 0.5 h t^2 of curvature h = `curvature`.

    Each update is linear in t, so a walk converges exactly when every root of its recurrence is inside the
    unit circle. That gives (mu = momentum):
      SGD        t' = (1 - lr h) t                                   : lr < 2 / h
      Momentum   v' = mu v + h t, t' = t - lr v'                      : lr < 2 (1 + mu) / h
      Nesterov   v' = mu v + h t, t' = t - lr (h t + mu v')           : lr < 2 (1 + mu) / ((1 + 2 mu) h)
    Nesterov's look-ahead adds mu * lr * (gradient) on top of momentum's step, so it overshoots less at small
    steps but turns unstable at a smaller learning rate: 1 + 2 mu times smaller (2.8 for mu = 0.9).
    """
    mu = momentum
    return {"SGD": 2 / curvature, "Momentum": 2 * (1 + mu) / curvature,
            "Nesterov": 2 * (1 + mu) / ((1 + 2 * mu) * curvature)}


def momentum_gain(momentum):
    """How much momentum speeds up a steady slope: the velocity of v = mu v + g tends to g / (1 - mu)."""
    return 1 / (1 - momentum)


SETTLE_TOL = 0.01  # a walk has "settled" across the ravine once |y| stays below this


def settle_step(path, tol=SETTLE_TOL):
    """The step from which a path [k, 2] stays within `tol` of the ravine's floor y = 0 (its swings across have
    died down); None if its last point is still farther away."""
    far = (torch.as_tensor(path, dtype=DTYPE)[:, 1].abs() >= tol).nonzero()  # [m, 1] steps still off the floor
    if len(far) == 0:
        return 0
    last = int(far[-1])
    return None if last == len(path) - 1 else last + 1


# ---------------------------------------------------------- how did it end?
def curvature_signs(surface, p):
    """Eigenvalues of the Hessian (matrix of second derivatives) at p, by autograd: all > 0 means a valley floor."""
    f = SURFACES[surface]["f"]
    H = torch.autograd.functional.hessian(f, p.detach().clone())  # [2, 2]
    return torch.linalg.eigvalsh(H)  # [2], ascending


def nearest_minimum(surface, p):
    """(distance, (x, y)) of the closest listed lowest point, or (inf, None) when the surface has none."""
    best = (math.inf, None)
    for m in SURFACES[surface]["minima"]:
        d = float((p - point(*m)).norm())
        best = min(best, (d, m), key=lambda t: t[0])
    return best


def classify(surface, walk):
    """Say how a walk ended: {"status", "reason", "steps", "final_loss", "grad_norm", "end"}."""
    path, losses, gnorms = walk["path"], walk["loss"], walk["grad_norm"]
    if len(path) == 0:
        return {"steps": 0, "final_loss": math.nan, "grad_norm": math.nan, "end": (math.nan, math.nan),
                "status": "diverged", "reason": "the starting point itself is inf, nan or off the map"}
    end = path[-1]
    out = {"steps": len(path) - 1, "final_loss": float(losses[-1]), "grad_norm": float(gnorms[-1]),
           "end": (float(end[0]), float(end[1]))}
    if walk["diverged_at"] is not None:
        out.update(status="diverged",
                   reason=f"blew up at step {walk['diverged_at']}: the next point was inf/nan or more than "
                          f"{RADIUS:g} away; the path is cut there")
        return out
    f_min = SURFACES[surface]["f_min"]
    at_rest = out["grad_norm"] < GRAD_TOL
    at_bottom = f_min is not None and out["final_loss"] - f_min < LOSS_TOL
    if at_bottom:
        dist, m = nearest_minimum(surface, end)
        where = f" near ({m[0]:.3g}, {m[1]:.3g})" if dist < 0.1 else ""
        out.update(status="converged", reason=f"reached the lowest value f = {f_min:g}{where}")
    elif at_rest:
        eig = curvature_signs(surface, end)
        if float(eig[0]) < 0 < float(eig[1]):
            out.update(status="saddle point",
                       reason="the gradient is ~0 but the surface still falls away in one direction")
        else:
            out.update(status="local minimum",
                       reason=f"stuck in a valley with f = {out['final_loss']:.3g}, not the lowest one")
    elif f_min is None:
        out.update(status="rolling away",
                   reason=f"still heading downhill (f = {out['final_loss']:.3g}): this surface has no lowest point")
    else:
        out.update(status="stalled",
                   reason=f"ran out of steps with |gradient| = {out['grad_norm']:.3g} still above {GRAD_TOL:g}")
    return out


def check_against_torch(surface, optimizer, start, steps, hp, path, theirs=None):
    """Compare our walk `path` [k, 2] with torch.optim's and our gradients with autograd's along it.

    `theirs` may be a longer torch.optim walk from the same start (its first `steps` steps are used);
    without it torch.optim replays our walk now, fed our gradient at each of its points (`torch_replay`).
    Returns {"torch_diff": max |our path - torch.optim path|, "grad_gap": max |hand gradient - autograd|}.
    """
    path = torch.as_tensor(path, dtype=DTYPE)
    if theirs is None:
        theirs = torch_replay(optimizer, start, hp, SURFACES[surface]["grad"](path.T).T)  # grads [k, 2]
    theirs = torch.as_tensor(theirs, dtype=DTYPE)[:steps + 1]  # like first_steps: a prefix of the longer walk
    return {"torch_diff": max_path_difference(path, theirs), "grad_gap": autograd_gap(surface, path)}


def race(surface, optimizers, start, steps, hyper, check_torch=True):
    """Run every optimizer in `optimizers` from `start`; hyper[name] holds each one's hyperparameters.

    Returns {name: {"walk": trajectory(...), "verdict": classify(...),
                    "torch_diff": max |our path - torch.optim's path|,
                    "grad_gap": max |hand gradient - autograd| along our path}} (None, None without check_torch).
    """
    results = {}
    for name, walk in walks(surface, start, steps, {name: hyper[name] for name in optimizers}).items():
        entry = {"walk": walk, "verdict": classify(surface, walk), "torch_diff": None, "grad_gap": None}
        if check_torch:
            entry.update(check_against_torch(surface, name, start, steps, hyper[name], walk["path"]))
        results[name] = entry
    return results


# ------------------------------------------------------- what the page shows, in tables and words
SGD_FAMILY = ("SGD", "Momentum", "Nesterov")  # one learning rate and momentum; Adam and RMSprop have their own lr
OWN_HP = {"SGD": ("lr",), "Momentum": ("lr", "momentum"), "Nesterov": ("lr", "momentum"),
          "Adam": ("lr", "betas"), "RMSprop": ("lr", "alpha")}  # what each rule reads: its walk depends on these
TORCH_CLASS = {"SGD": "SGD", "Momentum": "SGD(momentum)", "Nesterov": "SGD(nesterov=True)", "Adam": "Adam",
               "RMSprop": "RMSprop"}
SURFACE_NOTES = {
    "Ravine": f"A narrow valley whose walls curve {RAVINE_CURVATURE[1] / RAVINE_CURVATURE[0]:g} "
              "times more sharply across than its floor along: plain SGD zig-zags across it.",
    "Rosenbrock": "A curved banana-shaped valley whose floor is almost flat: easy to find, slow to follow.",
    "Saddle": "Flat in the middle, uphill along x, downhill along y, and no lowest point at all.",
    "Himmelblau": "Four valleys of equal depth: where you start decides where you end up.",
    "Rastrigin": "An egg box: dozens of local minima around the one lowest point at (0, 0).",
}


def hyperparameters(name, lr, lr_adaptive, momentum, betas, alpha):
    """The settings the page gives optimizer `name`: the SGD family gets lr and momentum, Adam and RMSprop their
    own learning rate, Adam's betas and RMSprop's alpha."""
    if name in SGD_FAMILY:
        return {"lr": lr, "momentum": momentum}
    return {"lr": lr_adaptive, "betas": betas, "alpha": alpha}


def own_hyperparameters(name, hp):
    """((key, value), ...) of the settings in hp that optimizer `name` reads (a walk's cache key)."""
    return tuple((k, hp[k]) for k in OWN_HP[name])


def map_ranges(surface, start, pad=0.05):
    """(x_range, y_range) of the map: the surface's view, widened to show the start with a margin of `pad`."""
    x_lo, x_hi, y_lo, y_hi = SURFACES[surface]["view"]
    pad_x, pad_y = pad * (x_hi - x_lo), pad * (y_hi - y_lo)
    x0, y0 = start
    return (min(x_lo, x0 - pad_x), max(x_hi, x0 + pad_x)), (min(y_lo, y0 - pad_y), max(y_hi, y0 + pad_y))


def map_heights(surface, Z):
    """What the map's contours show for the grid Z, and its title: log10(f - f_min + 0.001) on surfaces whose
    values span many decades (spec "log_contours"), else f itself."""
    spec = SURFACES[surface]
    if spec["log_contours"]:
        return torch.log10(Z - spec["f_min"] + 1e-3), "log10(f - f_min)"
    return Z, "f"


def at_step(walk, t):
    """Index of step t in a walk (a walk that diverged stops early: its ball stays at its last good point)."""
    return min(t, len(walk["path"]) - 1)


def positions(results, t):
    """One row per walk: where its ball is at step t (x, y, loss), rounded as the page shows it."""
    rows = []
    for name, r in results.items():
        k = at_step(r, t)
        rows.append({"optimizer": name, "step": k, "x": f"{r['path'][k, 0]:.4f}", "y": f"{r['path'][k, 1]:.4f}",
                     "loss": f"{r['loss'][k]:.4g}"})
    return rows


def verdict_rows(verdicts):
    """One row per walk of {name: classify(...)}: how it ended, rounded as the page shows it."""
    return [{"optimizer": name, "status": v["status"], "steps taken": v["steps"],
             "final loss": f"{v['final_loss']:.4g}", "|gradient|": f"{v['grad_norm']:.3g}",
             "end point": f"({v['end'][0]:.3f}, {v['end'][1]:.3f})", "why": v["reason"]}
            for name, v in verdicts.items()]


def lowest(verdicts):
    """The optimizer with the lowest final loss among the walks that did not blow up."""
    return min(verdicts, key=lambda n: verdicts[n]["final_loss"] if verdicts[n]["status"] != "diverged" else math.inf)


def torch_rows(checks):
    """One row per walk of {name: check_against_torch(...)}, rounded as the page shows it."""
    return [{"optimizer": name, "torch.optim class": TORCH_CLASS[name],
             "max |our path - torch.optim path|": f"{c['torch_diff']:.2e}",
             "max |hand gradient - autograd|": f"{c['grad_gap']:.2e}"} for name, c in checks.items()]


def slope_sentence(where, start):
    """The ravine's slope ratio at `start`, in words (the page's explanation): it depends on the point."""
    ratio = slope_ratio("Ravine", start)
    at = f"{where} ({start[0]:g}, {start[1]:g})"
    if math.isinf(ratio):
        return f"{at} the slope along is 0"
    if math.isnan(ratio):
        return f"{at} both slopes are 0"
    return f"{at} the slope across is {ratio:.3g} times the slope along"


def settle_sentence(name, walk, verdict):
    """How a walk on the ravine ended across the valley, in words."""
    if verdict["status"] == "diverged":
        return f"{name} diverged ({verdict['reason'].split(':')[0]})"
    k = settle_step(walk["path"])
    if k is None:
        return f"{name} was still more than {SETTLE_TOL:g} off the floor after {len(walk['path']) - 1} steps"
    return f"{name} stayed within {SETTLE_TOL:g} of the floor from step {k} on"


LR02_FATES = ["It reaches the floor faster than at lr 0.05", "It zig-zags, then settles", "It blows up (diverges)"]


def lr02_fate(walk, verdict):
    """Which of LR02_FATES a walk had: diverged, settled on the ravine's floor after swinging, or neither."""
    return 2 if verdict["status"] == "diverged" else 1 if settle_step(walk["path"]) else 0
