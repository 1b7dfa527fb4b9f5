"""labs.ch05_optimizers: hand-written gradients vs autograd, our optimizers vs torch.optim, walk verdicts."""
import math

import pytest
import torch

from labs import ch05_optimizers as lab

HP = {"SGD": dict(lr=0.01), "Momentum": dict(lr=0.01, momentum=0.9), "Nesterov": dict(lr=0.01, momentum=0.9),
      "Adam": dict(lr=0.1, betas=(0.9, 0.999)), "RMSprop": dict(lr=0.05, alpha=0.99)}


@pytest.mark.parametrize("surface", list(lab.SURFACES))
def test_hand_gradient_equals_autograd(surface):
    g = torch.Generator().manual_seed(0)
    x_lo, x_hi, y_lo, y_hi = lab.SURFACES[surface]["view"]
    pts = torch.rand(50, 2, generator=g, dtype=lab.DTYPE)
    pts = pts * torch.tensor([x_hi - x_lo, y_hi - y_lo], dtype=lab.DTYPE) + torch.tensor([x_lo, y_lo], dtype=lab.DTYPE)
    for p in pts:
        q = p.clone().requires_grad_(True)
        lab.SURFACES[surface]["f"](q).backward()
        hand = lab.SURFACES[surface]["grad"](p)
        assert torch.allclose(hand, q.grad, rtol=1e-12, atol=1e-10), (surface, p, hand, q.grad)
    assert lab.autograd_gap(surface, pts) < 1e-9  # the batched version used by the page agrees


@pytest.mark.parametrize("surface", list(lab.SURFACES))
def test_listed_minima_are_flat_and_lowest(surface):
    spec = lab.SURFACES[surface]
    for m in spec["minima"]:
        p = lab.point(*m)
        assert float(spec["f"](p)) == pytest.approx(spec["f_min"], abs=1e-8)
        assert float(spec["grad"](p).norm()) < 1e-4


@pytest.mark.parametrize("surface", ["Ravine", "Rosenbrock", "Himmelblau", "Rastrigin", "Saddle"])
@pytest.mark.parametrize("opt", lab.OPTIMIZERS)
def test_our_optimizers_trace_torch_optim_paths(surface, opt):
    steep = surface in ("Rosenbrock", "Rastrigin") and opt in ("SGD", "Momentum", "Nesterov")
    hp = dict(HP[opt], lr=HP[opt]["lr"] / 10) if steep else HP[opt]
    start = lab.SURFACES[surface]["start"]
    walk = lab.trajectory(surface, opt, start, 120, hp)
    theirs = lab.torch_trajectory(surface, opt, start, 120, hp)
    assert walk["path"].shape == theirs.shape
    assert lab.max_path_difference(walk["path"], theirs) < 1e-6


def test_torch_optim_with_autograd_gives_the_same_path():
    """Independent of our gradient: torch.optim + loss.backward() on the Rosenbrock surface."""
    start, hp = (-1.5, 2.5), dict(lr=0.05, betas=(0.9, 0.999))
    p = lab.point(*start).requires_grad_(True)
    opt = torch.optim.Adam([p], lr=hp["lr"], betas=hp["betas"])
    ref = [p.detach().clone()]
    for _ in range(100):
        opt.zero_grad()
        lab.rosenbrock(p).backward()
        opt.step()
        ref.append(p.detach().clone())
    ours = lab.trajectory("Rosenbrock", "Adam", start, 100, hp)["path"]
    assert float((ours - torch.stack(ref)).abs().max()) < 1e-6


def test_lr_10_on_the_ravine_diverges_and_is_cut():
    for opt in ("SGD", "Momentum", "Nesterov"):
        walk = lab.trajectory("Ravine", opt, (-4.5, 2.0), 200, dict(lr=10.0, momentum=0.9))
        verdict = lab.classify("Ravine", walk)
        assert verdict["status"] == "diverged" and walk["diverged_at"] is not None
        assert len(walk["path"]) < 10
        assert torch.isfinite(walk["path"]).all() and float(walk["path"].norm(dim=1).max()) <= lab.RADIUS
    # the torch comparison sees the same cut
    r = lab.race("Ravine", ["SGD"], (-4.5, 2.0), 200, {"SGD": dict(lr=10.0)})
    assert r["SGD"]["torch_diff"] == 0.0


def test_verdicts():
    conv = lab.classify("Ravine", lab.trajectory("Ravine", "Adam", (-4.5, 2.0), 300, HP["Adam"]))
    assert conv["status"] == "converged"
    stall = lab.classify("Rosenbrock", lab.trajectory("Rosenbrock", "SGD", (-1.5, 2.5), 20, dict(lr=1e-4)))
    assert stall["status"] == "stalled"
    local = lab.classify("Rastrigin", lab.trajectory("Rastrigin", "SGD", (3.3, -2.2), 300, dict(lr=0.001)))
    assert local["status"] == "local minimum" and local["final_loss"] > 1
    sad = lab.classify("Saddle", lab.trajectory("Saddle", "SGD", (1.5, 0.0), 300, dict(lr=0.05)))
    assert sad["status"] == "saddle point"  # started exactly on the ridge, y = 0: it never leaves
    away = lab.classify("Saddle", lab.trajectory("Saddle", "Adam", (1.5, 0.01), 100, HP["Adam"]))
    assert away["status"] == "rolling away" and away["final_loss"] < 0


def test_nan_start_never_raises():
    walk = lab.trajectory("Rosenbrock", "SGD", (math.inf, 0.0), 10, dict(lr=0.1))
    assert walk["diverged_at"] == 0 and len(walk["path"]) == 0
    assert lab.classify("Rosenbrock", walk)["status"] == "diverged"


def test_grid_shape_and_values():
    xs, ys, Z = lab.grid("Himmelblau", 30)
    assert Z.shape == (30, 30)
    assert float(Z[5, 7]) == pytest.approx(float(lab.himmelblau(lab.point(xs[7], ys[5]))))


@pytest.mark.parametrize("surface", ["Ravine", "Rosenbrock", "Rastrigin"])
@pytest.mark.parametrize("steps", [0, 1, 37, 200])
def test_first_steps_of_a_long_walk_is_the_short_walk(surface, steps):
    hp = {"lr": 0.3, "momentum": 0.9, "betas": (0.9, 0.999), "alpha": 0.99}
    for name in lab.OPTIMIZERS:
        long_walk = lab.trajectory(surface, name, (-4.5, 2.0), 300, hp)
        short = lab.trajectory(surface, name, (-4.5, 2.0), steps, hp)
        cut = lab.first_steps(long_walk, steps)
        assert cut["diverged_at"] == short["diverged_at"]
        for k in ("path", "loss", "grad_norm"):
            assert torch.equal(cut[k], short[k]), (name, k)
        assert lab.classify(surface, cut) == lab.classify(surface, short)
        theirs = lab.torch_trajectory(surface, name, (-4.5, 2.0), 300, hp)
        assert lab.check_against_torch(surface, name, (-4.5, 2.0), steps, hp, short["path"], theirs=theirs) == \
            lab.check_against_torch(surface, name, (-4.5, 2.0), steps, hp, short["path"])


@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("name", ["SGD", "Momentum", "Nesterov"])
def test_stable_lr_limits_are_where_walks_on_the_ravine_start_to_diverge(name, mu):
    """stable_lr_limits is what the page quotes: a walk just below the limit converges, just above it diverges,
    for our optimizers and for torch.optim."""
    limit = lab.stable_lr_limits(lab.RAVINE_CURVATURE[1], mu)[name]
    for lr, expected in ((0.97 * limit, "converged"), (1.03 * limit, "diverged")):
        hp = {"lr": lr, "momentum": mu}
        walk = lab.trajectory("Ravine", name, (-4.5, 2.0), 500, hp)
        assert lab.classify("Ravine", walk)["status"] == expected, (name, mu, lr)
        theirs = lab.torch_trajectory("Ravine", name, (-4.5, 2.0), 500, hp)
        assert lab.max_path_difference(walk["path"], theirs) < 1e-9


def test_nesterov_does_not_always_overshoot_less():
    """lr 0.1, mu 0.9: Nesterov diverges at step 8 while momentum settles (the page used to say it overshoots less);
    at lr 0.05 Nesterov settles first."""
    walks = {n: lab.trajectory("Ravine", n, (-4.5, 2.0), 150, {"lr": 0.1, "momentum": 0.9})
             for n in ("Momentum", "Nesterov")}
    assert walks["Nesterov"]["diverged_at"] == 8 and lab.classify("Ravine", walks["Momentum"])["status"] == "converged"
    assert lab.settle_step(walks["Momentum"]["path"]) == 110
    slow = {n: lab.settle_step(lab.trajectory("Ravine", n, (-4.5, 2.0), 150, {"lr": 0.05, "momentum": 0.9})["path"])
            for n in ("Momentum", "Nesterov")}
    assert slow["Nesterov"] < slow["Momentum"]


def test_slope_ratio_depends_on_the_point_curvature_ratio_does_not():
    assert math.isclose(lab.slope_ratio("Ravine", (-4.5, 2.0)), 25 * 2.0 / 4.5)
    assert math.isclose(lab.slope_ratio("Ravine", (-4.5, 0.5)), 25 * 0.5 / 4.5)
    assert lab.slope_ratio("Ravine", (0.0, 1.0)) == math.inf
    eig = lab.curvature_signs("Ravine", lab.point(-4.5, 2.0))
    assert torch.allclose(eig, torch.tensor(lab.RAVINE_CURVATURE, dtype=lab.DTYPE))


def _walk_step_by_step(surface, name, start, steps, hp):
    """The plain loop the page used to run: one point at a time, the loss and the blow-up check every step."""
    f, grad = lab.SURFACES[surface]["f"], lab.SURFACES[surface]["grad"]
    p, state, path, losses, norms = lab.point(*start), {}, [], [], []
    for step in range(steps + 1):
        loss = float(f(p))
        if not (math.isfinite(loss) and math.hypot(*p.tolist()) <= lab.RADIUS):
            return path, losses, norms, step
        g = grad(p)
        path.append(p.tolist())
        losses.append(loss)
        norms.append(math.hypot(*g.tolist()))
        if step < steps:
            lab.optimizer_step(name, p, g, state, hp)
    return path, losses, norms, None


@pytest.mark.parametrize("surface", list(lab.SURFACES))
@pytest.mark.parametrize("lrs", [(None, None), (10.0, 10.0)], ids=["suggested", "lr10"])
def test_walks_side_by_side_are_the_step_by_step_walks_bit_for_bit(surface, lrs):
    """All five walks share one gradient call per step and get their losses afterwards: the numbers are exactly
    those of walking each one alone, point by point (including where and when a walk blows up)."""
    spec = lab.SURFACES[surface]
    hyper = {n: lab.hyperparameters(n, lrs[0] or spec["lr_sgd"], lrs[1] or spec["lr_adaptive"], 0.9, (0.9, 0.999),
                                  0.99) for n in lab.OPTIMIZERS}
    together = lab.walks(surface, spec["start"], 200, hyper)
    for name in lab.OPTIMIZERS:
        path, losses, norms, diverged_at = _walk_step_by_step(surface, name, spec["start"], 200, hyper[name])
        w = together[name]
        assert w["path"].tolist() == path and w["loss"].tolist() == losses and w["grad_norm"].tolist() == norms
        assert w["diverged_at"] == diverged_at, name
        assert torch.equal(w["grad"], spec["grad"](w["path"].T).T)
    if lrs[0] == 10.0 and surface == "Ravine":
        assert all(together[n]["diverged_at"] for n in ("SGD", "Momentum", "Nesterov"))


def test_torch_replay_follows_our_path_and_would_show_a_different_rule():
    hp = {"lr": 0.3, "betas": (0.9, 0.999), "alpha": 0.99}
    walk = lab.trajectory("Himmelblau", "Adam", (-0.5, -0.5), 300, hp)
    assert torch.equal(lab.torch_replay("Adam", (-0.5, -0.5), hp, walk["grad"]), walk["path"])
    assert lab.max_path_difference(lab.torch_replay("RMSprop", (-0.5, -0.5), hp, walk["grad"]), walk["path"]) > 0.1
    assert lab.torch_replay("SGD", (0.0, 0.0), hp, torch.empty(0, 2, dtype=lab.DTYPE)).shape == (0, 2)


def test_page_tables_and_words():
    hp = lab.hyperparameters("Adam", 0.05, 0.3, 0.9, (0.9, 0.99), 0.9)
    assert hp == {"lr": 0.3, "betas": (0.9, 0.99), "alpha": 0.9}
    assert lab.own_hyperparameters("Adam", hp) == (("lr", 0.3), ("betas", (0.9, 0.99)))
    assert lab.own_hyperparameters("SGD", lab.hyperparameters("SGD", 0.05, 0.3, 0.9, None, None)) == (("lr", 0.05),)
    assert lab.map_ranges("Ravine", (-4.5, 2.0)) == ((-5.0, 5.0), (-2.5, 2.5))
    assert lab.map_ranges("Ravine", (5.0, -5.0)) == ((-5.0, 5.5), (-5.25, 2.5))   # widened to show the start
    walks = lab.walks("Ravine", (-4.5, 2.0), 150, {"SGD": {"lr": 10.0}, "Adam": {"lr": 0.3}})
    verdicts = {n: lab.classify("Ravine", w) for n, w in walks.items()}
    rows = {r["optimizer"]: r for r in lab.positions(walks, 100)}
    assert rows["SGD"]["step"] == len(walks["SGD"]["path"]) - 1 < 10 and rows["Adam"]["step"] == 100
    assert rows["Adam"]["x"] == f"{float(walks['Adam']['path'][100, 0]):.4f}"
    assert lab.lowest(verdicts) == "Adam"
    assert [r["status"] for r in lab.verdict_rows(verdicts)] == ["diverged", "converged"]
    assert walks["SGD"]["diverged_at"] == 2   # |1 - 10 * 25| = 249 times farther each step: 2 -> 498 -> 124,002
    assert lab.settle_sentence("SGD", walks["SGD"], verdicts["SGD"]) == "SGD diverged (blew up at step 2)"
    assert lab.slope_sentence("here", (0.0, 1.0)) == "here (0, 1) the slope along is 0"
    assert lab.lr02_fate(walks["SGD"], verdicts["SGD"]) == 2 and lab.lr02_fate(walks["Adam"], verdicts["Adam"]) == 1
