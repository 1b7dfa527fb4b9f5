"""labs.ch07_training: schedules, losses and the hand backward pass checked against torch; the live loop."""
import math

import pytest
import torch
import torch.nn.functional as F

from core import data
from labs import ch07_training as lab
from ui import pictures
from core.backward import backward as core_backward, chain_rule
from core.network import forward, init_mlp, to_torch_sequential


# ------------------------------------------------------------------ schedules vs torch
def _torch_lrs(scheduler_factory, base_lr, n):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = scheduler_factory(opt)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_step_schedule_matches_steplr():
    theirs = _torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.3), 0.2, 40)
    ours = [lab.scheduled_lr(0.2, t, "step", step_size=7, gamma=0.3) for t in range(40)]
    assert ours == pytest.approx(theirs, rel=1e-12)


def test_cosine_schedule_matches_cosine_annealing_until_t_max():
    theirs = _torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=30, eta_min=0.001),
                        0.1, 31)
    ours = [lab.scheduled_lr(0.1, t, "cosine", total_steps=30, min_lr=0.001) for t in range(31)]
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)
    assert lab.scheduled_lr(0.1, 500, "cosine", total_steps=30, min_lr=0.001) == pytest.approx(0.001)


def test_constant_schedule_and_bad_name():
    assert lab.scheduled_lr(0.05, 12345) == 0.05
    with pytest.raises(ValueError):
        lab.scheduled_lr(0.05, 1, "warp")


# ------------------------------------------------------------------ losses and gradients
@pytest.mark.parametrize("loss", lab.LOSSES)
def test_loss_and_logit_grad_match_autograd(loss):
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(9, 4, generator=g, dtype=torch.float64) * 3
    y = torch.randint(0, 4, (9,), generator=g)
    value, grad = lab.loss_and_logit_grad(logits, y, loss)
    z = logits.clone().requires_grad_(True)
    t = F.one_hot(y, 4).to(z.dtype)
    ref = {"cross_entropy": lambda: F.cross_entropy(z, y),
           "mse_probs": lambda: F.mse_loss(F.softmax(z, dim=1), t),
           "mse_logits": lambda: F.mse_loss(z, t)}[loss]()
    ref.backward()
    assert value.item() == pytest.approx(ref.item(), rel=1e-12)
    assert torch.allclose(grad, z.grad, atol=1e-14, rtol=1e-10)


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError):
        lab.loss_and_logit_grad(torch.zeros(2, 2), torch.zeros(2, dtype=torch.long), "hinge")


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("loss", lab.LOSSES)
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_chain_rule_from_each_live_loss_matches_autograd(activation, loss, depth):
    """Page 7's losses start core.backward.chain_rule (page 4's backward pass) from their own dL/dlogits."""
    sizes = [2] + [7] * depth + [3]
    params = init_mlp(sizes, seed=3, dtype=torch.float64)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(11, 2, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (11,), generator=g)
    logits, cache = forward(params, x, activation)
    _, d_logits = lab.loss_and_logit_grad(logits, y, loss)
    ours = chain_rule(params, cache, d_logits)

    leaves = [{k: t.clone().requires_grad_(True) for k, t in layer.items()} for layer in params]
    out, _ = forward(leaves, x, activation)
    value, _ = lab.loss_and_logit_grad(out, y, loss)
    value.backward()
    for mine, leaf in zip(ours, leaves):
        for k in ("W", "b"):
            assert mine[k].shape == leaf[k].shape
            assert torch.allclose(mine[k], leaf[k].grad, atol=1e-12, rtol=1e-9), (k, loss, activation)


def test_chain_rule_from_the_live_cross_entropy_equals_core_backward():
    params = init_mlp([2, 5, 5, 3], seed=0)
    x = torch.randn(8, 2, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    logits, cache = forward(params, x)
    _, d_logits = lab.loss_and_logit_grad(logits, y)
    ours = chain_rule(params, cache, d_logits)
    theirs = core_backward(params, cache, y)
    for a, b in zip(ours, theirs):
        assert torch.equal(a["W"], b["W"]) and torch.equal(a["b"], b["b"])


# ------------------------------------------------------------------ the live loop vs torch.nn + torch.optim
@pytest.mark.parametrize("optimizer", lab.OPTIMIZERS)
@pytest.mark.parametrize("loss", lab.LOSSES)
def test_live_steps_match_torch_training(optimizer, loss):
    X, y = data.make_2d("spiral", n=120, noise=0.1, seed=2, n_classes=3)
    state = lab.new_state([2, 8, 8, 3], seed=4, activation="tanh")
    model = to_torch_sequential(state["params"], "tanh")
    config = lab.make_live_config(optimizer, 0.05, loss, batch_size=25, activation="tanh",
                                   schedule="step", step_size=4, gamma=0.5)
    opt = {"sgd": lambda p: torch.optim.SGD(p, lr=0.05),
           "momentum": lambda p: torch.optim.SGD(p, lr=0.05, momentum=lab.MOMENTUM),
           "adam": lambda p: torch.optim.Adam(p, lr=0.05)}[optimizer](model.parameters())
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
    shadow = lab.new_state([2, 8, 8, 3], seed=4, activation="tanh")   # replays the same batch order
    torch_losses = {"cross_entropy": lambda z, labels, t: F.cross_entropy(z, labels),
                    "mse_probs": lambda z, labels, t: F.mse_loss(F.softmax(z, dim=1), t),
                    "mse_logits": lambda z, labels, t: F.mse_loss(z, t)}
    for _ in range(12):                                  # crosses an epoch boundary (120 / 25 = 5 batches)
        idx = lab.next_batch(shadow, X.shape[0], 25)
        out = lab.live_step(state, X, y, config)
        logits = model(X[idx])
        t = F.one_hot(y[idx], 3).float()
        ref = torch_losses[loss](logits, y[idx], t)
        assert out["loss"] == pytest.approx(ref.item(), rel=1e-5)
        assert out["lr"] == pytest.approx(opt.param_groups[0]["lr"])
        opt.zero_grad()
        ref.backward()
        opt.step()
        sched.step()
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    for layer, lin in zip(state["params"], linears):
        assert torch.allclose(layer["W"], lin.weight.T, atol=1e-5)
        assert torch.allclose(layer["b"], lin.bias, atol=1e-5)
    assert state["step"] == 12 and state["epoch"] == 3


def test_next_batch_visits_every_row_once_per_epoch():
    state = lab.new_state([2, 3, 2], seed=9)
    seen = torch.cat([lab.next_batch(state, 23, 5) for _ in range(5)])
    assert sorted(seen.tolist()) == list(range(23)) and state["epoch"] == 1
    lab.next_batch(state, 23, 5)
    assert state["epoch"] == 2


def _moons():
    X, y = data.make_2d("moons", n=200, noise=0.1, seed=0)
    return data.train_test_split(X, y, 0.25, seed=0)


def test_train_frame_lowers_loss_and_logs_history():
    X_tr, X_te, y_tr, y_te = _moons()
    state = lab.new_state([2, 16, 2], seed=0)
    config = lab.make_live_config("adam", 0.03, "cross_entropy", batch_size=32)
    for _ in range(10):
        lab.train_frame(state, X_tr, y_tr, X_te, y_te, config, n_steps=5)
    h = state["history"]
    assert state["step"] == 50 and h["step"] == list(range(5, 55, 5))
    assert h["train_loss"][-1] < 0.6 * h["train_loss"][0]
    assert h["test_acc"][-1] > 0.8
    ref = F.cross_entropy(to_torch_sequential(state["params"])(X_te), y_te).item()
    assert h["test_loss"][-1] == pytest.approx(ref, rel=1e-5)


def test_same_seed_same_run():
    X_tr, X_te, y_tr, y_te = _moons()
    config = lab.make_live_config("momentum", 0.1, "mse_probs", batch_size=16, schedule="cosine", total_steps=30)
    runs = []
    for _ in range(2):
        state = lab.new_state([2, 8, 2], seed=3)
        lab.train_frame(state, X_tr, y_tr, X_te, y_te, config, n_steps=30)
        runs.append(state["history"])
    assert runs[0] == runs[1]


@pytest.mark.parametrize("optimizer,loss", [("sgd", "mse_logits"), ("adam", "cross_entropy"),
                                            ("sgd", "cross_entropy")])
def test_huge_learning_rate_is_detected_and_halts(optimizer, loss):
    X_tr, X_te, y_tr, y_te = _moons()
    state = lab.new_state([2, 16, 16, 2], seed=0)
    config = lab.make_live_config(optimizer, 10.0, loss, batch_size=32)
    for _ in range(20):
        lab.train_frame(state, X_tr, y_tr, X_te, y_te, config, n_steps=5)
    assert state["diverged"] and "learning rate 10" in state["diverged"]
    stopped_at = state["step"]
    lab.train_frame(state, X_tr, y_tr, X_te, y_te, config, n_steps=5)
    assert state["step"] == stopped_at          # halted: no more steps
    assert all(math.isfinite(v) for v in state["history"]["train_loss"])


def test_switching_optimizer_resets_its_memory():
    X_tr, _, y_tr, _ = _moons()
    state = lab.new_state([2, 4, 2], seed=0)
    lab.live_step(state, X_tr, y_tr, lab.make_live_config("adam", 0.01))
    assert "m" in state["opt_state"]
    lab.live_step(state, X_tr, y_tr, lab.make_live_config("momentum", 0.01))
    assert "m" not in state["opt_state"] and "velocity" in state["opt_state"]


def test_zero_steps_logs_the_starting_point():
    X_tr, X_te, y_tr, y_te = _moons()
    state = lab.new_state([2, 4, 2], seed=0)
    lab.train_frame(state, X_tr, y_tr, X_te, y_te, lab.make_live_config("sgd", 0.5), n_steps=0)
    h = state["history"]
    assert state["step"] == 0 and h["step"] == [0] and h["lr"] == [0.5]
    assert h["train_loss"][0] == pytest.approx(F.cross_entropy(to_torch_sequential(state["params"])(X_tr), y_tr).item())


def test_history_is_thinned():
    X_tr, X_te, y_tr, y_te = _moons()
    state = lab.new_state([2, 4, 2], seed=0)
    config = lab.make_live_config("sgd", 0.01)
    for _ in range(25):
        lab.train_frame(state, X_tr, y_tr, X_te, y_te, config, n_steps=1, max_points=10)
    h = state["history"]
    assert len(h["step"]) <= 10 and h["step"][-1] == 25 and h["step"] == sorted(h["step"])
    assert all(len(v) == len(h["step"]) for v in h.values())


@pytest.mark.parametrize("kwargs", [dict(optimizer="rmsprop"), dict(loss="hinge"), dict(lr=0.0),
                                    dict(lr=float("nan")), dict(batch_size=0), dict(schedule="x"),
                                    dict(activation="gelu"), dict(lr=1e31), dict(gamma=0.0), dict(gamma=2.0)])
def test_bad_config_is_refused(kwargs):
    with pytest.raises(ValueError):
        lab.make_live_config(**kwargs)


def test_live_config_is_checked_by_core_make_config(monkeypatch):
    """The choice checks live once, in core.train.make_config (asked with core's loss name), plus the page's own
    sets as data; the dict holds exactly the arguments, so a downloaded script's settings block rebuilds it."""
    from core import train
    real, calls = train.make_config, []
    monkeypatch.setattr(train, "make_config", lambda *a, **k: calls.append((a, k)) or real(*a, **k))
    config = lab.make_live_config("momentum", 0.1, "mse_logits", batch_size=8, activation="tanh")
    assert calls == [(("momentum", 0.1), {"activation": "tanh", "loss": "mse"})]
    assert lab.make_live_config(**config) == config and config["loss"] == "mse_logits"
    assert set(lab.CHOICES["optimizer"]) <= set(train.OPTIMIZERS)
    with pytest.raises(ValueError, match="optimizer must be one of .'sgd', 'momentum', 'adam'."):
        lab.make_live_config("nesterov")          # in core's registry, not offered by the page


# ------------------------------------------------------------------ pictures
def test_grid_probabilities_and_colours():
    X, y = data.make_2d("blobs", n=90, noise=0.1, seed=0, n_classes=3)
    params = init_mlp([2, 6, 3], seed=0)
    xs, ys, pts = lab.plane_grid(X, n=20)
    assert xs.shape == (20,) and pts.shape == (400, 2)
    assert xs[0] < X[:, 0].min() and ys[-1] > X[:, 1].max()
    # row r, column c of the grid is the point (xs[c], ys[r])
    assert torch.equal(pts.reshape(20, 20, 2)[3, 7], torch.stack([xs[7], ys[3]]))
    probs = lab.grid_probs(params, pts, 20)
    assert probs.shape == (20, 20, 3)
    assert torch.allclose(probs.sum(-1), torch.ones(20, 20), atol=1e-6)
    ref = F.softmax(to_torch_sequential(params)(pts[45:46]), dim=1)[0]
    assert torch.allclose(probs[2, 5], ref, atol=1e-6)
    img = pictures.blend_class_colors(torch.tensor([[[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]]),
                                  [(0, 0, 0), (200, 100, 50), (9, 9, 9)])
    assert img.dtype == torch.uint8 and img.tolist() == [[[0, 0, 0], [100, 50, 25]]]
    black = pictures.blend_class_colors(probs, [(0, 0, 0)] * 3)
    assert pictures.png_data_uri(black).startswith("data:image/png;base64,")
    assert pictures.hex_to_rgb("#E69F00") == (230, 159, 0)
    assert pictures.hex_to_rgb("#E69F00", lighten=0.5) == (242, 207, 128)


def test_hidden_unit_maps_and_diverging_colours():
    params = init_mlp([2, 20, 2], seed=0)
    X = torch.tensor([[-1.0, -1.0], [1.0, 1.0]])
    _, _, pts = lab.plane_grid(X, n=10)
    maps = lab.hidden_unit_maps(params, pts, 10, max_units=16)
    assert maps.shape == (16, 10, 10)
    ref = torch.relu(pts @ params[0]["W"] + params[0]["b"])[:, 4].reshape(10, 10)
    assert torch.allclose(maps[4], ref)
    c = pictures.diverging_colors(torch.tensor([-2.0, 0.0, 2.0]))
    assert c.tolist() == [[0, 114, 178], [247, 247, 247], [230, 159, 0]]
    assert pictures.diverging_colors(torch.zeros(3)).tolist() == [[247, 247, 247]] * 3
    pics = pictures.unit_pictures(torch.stack([torch.tensor([[0.0, 1.0], [0.0, 0.0]]),
                                               torch.tensor([[0.0, 0.0], [-5.0, 0.0]])]))
    assert pics.shape == (2, 2, 2, 3)
    assert pics[0, 1, 1].tolist() == [230, 159, 0]        # each unit on its own scale, bottom row = row 0 of the map
    assert pics[1, 0, 0].tolist() == [0, 114, 178]


def test_unit_pictures_colour_each_unit_on_its_own_scale_as_one_call_per_unit_would():
    scales = torch.logspace(-3, 2, 16)[:, None, None]                 # units of very different sizes
    maps = torch.randn(16, 32, 32, generator=torch.Generator().manual_seed(0)) * scales
    maps[3] = 0                                                   # a dead unit: all white
    one_by_one = torch.stack([pictures.diverging_colors(m.flip(0)) for m in maps])
    assert torch.equal(pictures.unit_pictures(maps), one_by_one)
    assert (pictures.unit_pictures(maps)[3] == 247).all()


def test_tile_pictures():
    pics = torch.stack([torch.full((2, 3, 3), v, dtype=torch.uint8) for v in (10, 20, 30)])   # 3 pictures 2x3
    sheet = pictures.tile_pictures(pics, cols=2, gap=1)
    assert sheet.shape == (5, 7, 3)
    assert sheet[0, 0, 0] == 10 and sheet[0, 4, 0] == 20 and sheet[3, 0, 0] == 30
    assert sheet[2, 0, 0] == 255 and sheet[0, 3, 0] == 255 and sheet[4, 6, 0] == 255   # gaps and empty slot


def test_boundary_picture_puts_points_where_they_belong():
    xs = torch.linspace(-1, 1, 10)
    ys = torch.linspace(-1, 1, 10)
    background = torch.zeros(10, 10, 3, dtype=torch.uint8)
    background[:5] = 200                                       # rows 0-4 = lower half of the plane: light
    X_train = torch.tensor([[-1.0, 1.0]])                      # top-left corner
    X_test = torch.tensor([[0.5, -0.5]])
    pic = pictures.boundary_picture(background, xs, ys, X_train, torch.tensor([1]), X_test, torch.tensor([0]),
                                colors=[(255, 0, 0), (0, 0, 255)], size=100)
    assert pic.shape == (100, 100, 3) and pic.dtype == torch.uint8
    assert pic[95, 50].tolist() == [200, 200, 200] and pic[30, 50].tolist() == [0, 0, 0]   # bottom light, top dark
    assert pic[2, 2].tolist() == [0, 0, 255]                    # the class-1 training dot, top left
    assert pic[74, 74].tolist() == [255, 0, 0]                  # the class-0 test cross at (0.5, -0.5)


def test_points_drawn_once_then_laid_over_each_frame_give_the_same_picture():
    """The live page draws the (unmoving) points once and lays them over every frame's background: the
    picture must be boundary_picture's, pixel for pixel."""
    X, y = data.make_2d("spiral", n=120, noise=0.1, seed=2, n_classes=3)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, 0.25, seed=2)
    xs, ys, points = lab.plane_grid(X, n=20)
    params = lab.new_state([2, 8, 3], seed=0)["params"]
    background = pictures.blend_class_colors(lab.grid_probs(params, points, 20), [(250, 200, 150), (150, 200, 250),
                                                                               (200, 250, 150)])
    colors = [(230, 159, 0), (86, 180, 233), (0, 158, 115)]
    whole = pictures.boundary_picture(background, xs, ys, X_train, y_train, X_test, y_test, colors, size=120)
    layer = pictures.points_layer(xs, ys, X_train, y_train, X_test, y_test, colors, size=120)
    assert layer.shape == (120, 120, 4) and 0 < int((layer[..., 3] > 0).sum()) < 120 * 120
    assert torch.equal(pictures.boundary_frame(background, layer), whole)


# ------------------------------------------------- each concept once: the page's names delegate to core
def test_page_names_are_cores():
    from core import losses, optim
    assert lab.scheduled_lr is optim.scheduled_lr and lab.SCHEDULES == optim.SCHEDULES
    assert lab.softmax_mse_loss is losses.softmax_mse_loss and lab.softmax_mse_grad is losses.softmax_mse_grad
    assert losses.LOSSES["mse_probs"] == (losses.softmax_mse_loss, losses.softmax_mse_grad)
    assert set(lab.CORE_LOSS.values()) <= set(losses.LOSSES) and lab.MOMENTUM == optim.MOMENTUM
    assert set(lab.OPTIMIZERS) <= set(optim.OPTIMIZERS)


@pytest.mark.parametrize("loss", lab.LOSSES)
def test_live_step_is_core_train_step_with_the_chain_rule(loss):
    """One SGD live_step moves every weight by exactly -lr * core.backward.chain_rule's gradient."""
    from core import backward, losses
    g = torch.Generator().manual_seed(3)
    X, y = torch.randn(40, 2, generator=g), torch.randint(0, 3, (40,), generator=g)
    config = lab.make_live_config("sgd", 0.1, loss, batch_size=8)
    state = lab.new_state([2, 5, 3], seed=1)
    before = [{k: t.clone() for k, t in layer.items()} for layer in state["params"]]
    idx = lab.next_batch(dict(state), 40, 8)                     # the batch live_step will take (same seed)
    logits, cache = forward(before, X[idx])
    targets = y[idx] if loss == "cross_entropy" else losses.one_hot(y[idx], 3)
    _, d_logits = losses.loss_and_grad(lab.CORE_LOSS[loss], logits, targets)
    grads = backward.chain_rule(before, cache, d_logits)
    assert not lab.live_step(state, X, y, config)["diverged"]
    for layer, old, grad in zip(state["params"], before, grads):
        for k in ("W", "b"):
            assert torch.equal(layer[k], old[k].add(grad[k], alpha=-0.1)), (loss, k)


def test_live_step_and_evaluate_live_call_core(monkeypatch):
    from core import metrics, train
    seen = []
    real_step, real_eval = train.train_step, metrics.evaluate
    monkeypatch.setattr(train, "train_step", lambda *a, **k: seen.append("step") or real_step(*a, **k))
    monkeypatch.setattr(metrics, "evaluate", lambda *a, **k: seen.append("evaluate") or real_eval(*a, **k))
    X, y = torch.randn(10, 2, generator=torch.Generator().manual_seed(0)), torch.arange(10) % 2
    state = lab.new_state([2, 4, 2])
    lab.live_step(state, X, y, lab.make_live_config("adam", 0.01, batch_size=4))
    result = lab.evaluate_live(state["params"], X, y)
    assert seen == ["step", "evaluate"]
    assert result == real_eval(state["params"], X, y)
