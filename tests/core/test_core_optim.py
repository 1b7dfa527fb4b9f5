"""core.optim against torch.optim: 200 steps from the same start with the same gradient rule."""
import pytest
import torch
import torch.nn.functional as F

from core import network as N
from core import optim as O
from core.backward import backward

CONFIGS = [
    (O.sgd_step, torch.optim.SGD, dict(lr=0.1)),
    (O.sgd_step, torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    (O.sgd_step, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (O.sgd_step, torch.optim.SGD, dict(lr=0.1, weight_decay=0.01)),
    (O.sgd_step, torch.optim.SGD, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.05)),
    (O.adam_step, torch.optim.Adam, dict(lr=0.01)),
    (O.adam_step, torch.optim.Adam, dict(lr=0.01, weight_decay=0.05)),
    (O.adam_step, torch.optim.Adam, dict(lr=0.003, betas=(0.8, 0.99), eps=1e-6)),
    (O.rmsprop_step, torch.optim.RMSprop, dict(lr=0.01)),
    (O.rmsprop_step, torch.optim.RMSprop, dict(lr=0.005, momentum=0.9, weight_decay=0.01)),
]
DTYPES = [(torch.float32, 1e-6), (torch.float64, 1e-12)]


def problem(dtype):
    params = N.init_mlp([5, 8, 3], seed=1, dtype=dtype)
    gen = torch.Generator().manual_seed(2)
    return params, torch.randn(16, 5, generator=gen, dtype=dtype), torch.arange(16) % 3


def run_both(ours, torch_cls, kw, dtype, steps=200):
    """Ours and torch's optimizer from the same start, fed the same gradient stream.

    Each step's gradient is taken at our current weights and handed to both optimizers,
    so any gap comes from the update rule itself.
    """
    params, x, y = problem(dtype)
    start = [t.clone() for _, t in N.named_tensors(params)]
    theirs = [t.clone().requires_grad_(True) for t in start]
    opt, state = torch_cls(theirs, **kw), {}
    for _ in range(steps):
        _, cache = N.forward(params, x, "tanh")
        grads = backward(params, cache, y)
        for t, (_, g) in zip(theirs, N.named_tensors(grads)):
            t.grad = g.clone()
        ours(params, grads, state, **kw)
        opt.step()
    mine = [t for _, t in N.named_tensors(params)]
    gap = max((a - b).abs().max().item() for a, b in zip(mine, theirs))
    moved = max((a - s).abs().max().item() for a, s in zip(mine, start))
    return gap, moved, state


@pytest.mark.parametrize("ours,torch_cls,kw", CONFIGS)
@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_200_steps_match_torch_optim(ours, torch_cls, kw, dtype, tol):
    gap, moved, state = run_both(ours, torch_cls, kw, dtype)
    assert gap < tol
    assert gap == 0, "same operations in the same order as torch.optim should give identical bits"
    assert moved > 0.05  # the weights really travelled, so a wrong rule would show
    assert state["step"] == 200


@pytest.mark.parametrize("wrong", [dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True)])
def test_a_different_rule_is_noticed(wrong):
    """Our momentum 0.8 against torch's 0.9 must not pass, so the comparison above can fail."""
    def ours_with_other_momentum(params, grads, state, **kw):
        return O.sgd_step(params, grads, state, **{**kw, "momentum": 0.8})
    gap, _, _ = run_both(ours_with_other_momentum, torch.optim.SGD, wrong, torch.float64, steps=20)
    assert gap > 1e-3


def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def grad_of(f, p):
    leaf = p.detach().clone().requires_grad_(True)
    f(leaf).backward()
    return leaf.grad


@pytest.mark.parametrize("ours,torch_cls,kw", [
    (O.sgd_step, torch.optim.SGD, dict(lr=1e-3, momentum=0.9)),
    (O.adam_step, torch.optim.Adam, dict(lr=0.02)),
    (O.rmsprop_step, torch.optim.RMSprop, dict(lr=0.01)),
])
def test_single_point_on_a_landscape(ours, torch_cls, kw):
    point = torch.tensor([-1.5, 2.0])
    theirs = point.clone().requires_grad_(True)
    opt, state = torch_cls([theirs], **kw), {}
    for _ in range(200):
        ours(point, grad_of(rosenbrock, point), state, **kw)
        opt.zero_grad()
        rosenbrock(theirs).backward()
        opt.step()
    assert (point - theirs).abs().max().item() < 1e-6
    assert rosenbrock(point) < rosenbrock(torch.tensor([-1.5, 2.0]))


def test_dict_and_flat_list_structures():
    gen = torch.Generator().manual_seed(0)
    named = {"a": torch.randn(3, 2, generator=gen), "b": torch.randn(4, generator=gen)}
    flat = [named["a"].clone(), named["b"].clone()]
    grads = {"a": torch.randn(3, 2, generator=gen), "b": torch.randn(4, generator=gen)}
    s1, s2 = {}, {}
    for _ in range(5):
        O.adam_step(named, grads, s1, lr=0.1)
        O.adam_step(flat, [grads["a"], grads["b"]], s2, lr=0.1)
    assert torch.equal(named["a"], flat[0]) and torch.equal(named["b"], flat[1])
    assert len(s1["m"]) == 2 and s1["m"][0].shape == (3, 2) and s1["step"] == 5


def test_grads_are_not_modified_and_params_update_in_place():
    params = N.init_mlp([4, 3], seed=0)
    grads = [{"W": torch.ones(4, 3), "b": torch.ones(3)}]
    W = params[0]["W"]
    before = W.clone()
    state = {}
    for _ in range(3):
        O.sgd_step(params, grads, state, lr=0.1, momentum=0.9, weight_decay=0.1)
    assert params[0]["W"] is W and not torch.equal(W, before)
    assert torch.equal(grads[0]["W"], torch.ones(4, 3))
    assert len(state["velocity"]) == 2 and state["velocity"][0].shape == (4, 3)


def test_plain_sgd_step_is_w_minus_lr_times_grad():
    p = torch.tensor([1.0, -2.0])
    O.sgd_step(p, torch.tensor([0.5, 0.25]), {}, lr=0.1)
    assert torch.allclose(p, torch.tensor([0.95, -2.025]))


def test_works_on_tensors_that_require_grad():
    p = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    O.adam_step([p], [torch.tensor([1.0, -1.0])], {}, lr=0.1)
    assert torch.allclose(p.detach(), torch.tensor([0.9, 2.1]))  # first Adam step moves every entry by lr


def test_hand_backward_plus_hand_sgd_equals_torch_nn_training():
    """The whole scratch pipeline (forward, backward, SGD with momentum) against nn.Sequential + torch.optim."""
    params = N.init_mlp([20, 16, 10], seed=3)
    gen = torch.Generator().manual_seed(3)
    x, y = torch.rand(64, 20, generator=gen), torch.randint(0, 10, (64,), generator=gen)
    model = N.to_torch_sequential(params)
    opt, state = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), {}
    for _ in range(30):
        _, cache = N.forward(params, x)
        O.sgd_step(params, backward(params, cache, y), state, lr=0.1, momentum=0.9)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    back = N.from_torch_sequential(model)
    gap = max((a - b).abs().max().item() for (_, a), (_, b) in zip(N.named_tensors(params), N.named_tensors(back)))
    assert gap < 1e-5


# ------------------------------------------------------------ one flat buffer
def test_flat_buffers_keep_the_params_shape_and_objects():
    """core.optim.flat_buffers: params keep their [{"W": [in, out], "b": [out]}] tensors (same objects, same
    values), now views of one buffer: writing the buffer changes params[i]["W"], and the other way round."""
    params = N.init_mlp([784, 128, 10], seed=0)
    before = [(t, t.clone()) for _, t in N.named_tensors(params)]
    state = {}
    flat = O.flat_buffers(params, state)
    weights = flat["weights"]
    assert weights.shape == (N.count_params(params),) == (101_770,)
    for (_, t), (held, old) in zip(N.named_tensors(params), before):
        assert t is held and torch.equal(t, old) and t.is_contiguous()
        assert t.untyped_storage().data_ptr() == weights.untyped_storage().data_ptr()
    assert [layer["W"].shape for layer in params] == [(784, 128), (128, 10)]
    weights[784 * 128 + 5] = 42.0                     # the buffer's 6th number after W1 is b1[5]
    assert params[0]["b"][5].item() == 42.0
    params[1]["W"][3, 4] = -7.0                       # and a write through params lands in the buffer
    assert weights[784 * 128 + 128 + 3 * 10 + 4].item() == -7.0
    grads = flat["grad_layers"]
    assert [{k: g.shape for k, g in layer.items()} for layer in grads] == \
        [{k: t.shape for k, t in layer.items()} for layer in params]
    grads[1]["b"].fill_(3.0)
    assert flat["grads"][-10:].eq(3.0).all() and flat["grads"][:-10].eq(0).all()
    assert O.flat_buffers(params, state) is flat      # made once, reused every step
    params[0]["W"] = params[0]["W"].clone()           # the caller swaps in a new tensor: buffers are made again
    assert O.flat_buffers(params, state) is not flat


@pytest.mark.parametrize("kw", [dict(lr=0.01), dict(lr=0.003, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)])
def test_flat_adam_equals_adam_step_bit_for_bit(kw):
    """adam_step_flat runs adam_update once on the flat buffer: every number gets the same arithmetic as with
    adam_step tensor by tensor, so the weights agree exactly; the state works with either function."""
    params, x, y = problem(torch.float32)
    twin = [{k: t.clone() for k, t in layer.items()} for layer in params]
    flat_state, state = {}, {}
    flat = O.flat_buffers(params, flat_state)
    for step in range(60):
        _, cache = N.forward(params, x, "tanh")
        grads = backward(params, cache, y)
        for layer, g in zip(flat["grad_layers"], grads):
            layer["W"].copy_(g["W"])
            layer["b"].copy_(g["b"])
        if step < 40:
            O.adam_step_flat(flat, flat_state, **kw)
        else:                                         # carry on with the per-tensor rule from the same state
            O.adam_step(params, grads, flat_state, **kw)
        O.adam_step(twin, grads, state, **kw)
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(N.named_tensors(params), N.named_tensors(twin)))
    assert flat_state["step"] == state["step"] == 60 and len(flat_state["m"]) == 4
    assert all(torch.equal(a, b) for a, b in zip(flat_state["v"], state["v"]))
    moved = max((a - b).abs().max().item() for (_, a), (_, b) in zip(N.named_tensors(params),
                                                                     N.named_tensors(problem(torch.float32)[0])))
    assert moved > 0.05


def test_flat_adam_picks_up_moments_from_adam_step():
    params, x, y = problem(torch.float32)
    twin = [{k: t.clone() for k, t in layer.items()} for layer in params]
    ours, theirs = {}, {}
    for step in range(30):
        _, cache = N.forward(params, x, "tanh")
        grads = backward(params, cache, y)
        if step < 10:
            O.adam_step(params, grads, ours, lr=0.01)
        else:
            flat = O.flat_buffers(params, ours)
            for layer, g in zip(flat["grad_layers"], grads):
                layer["W"].copy_(g["W"])
                layer["b"].copy_(g["b"])
            O.adam_step_flat(flat, ours, lr=0.01)
        O.adam_step(twin, grads, theirs, lr=0.01)
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(N.named_tensors(params), N.named_tensors(twin)))


def test_one_registry_covers_every_optimizer_a_page_offers():
    from core import optim
    from labs import ch05_optimizers, ch07_mnist, ch07_training
    assert list(optim.OPTIMIZERS) == ["sgd", "momentum", "nesterov", "adam", "rmsprop"]
    assert {n.lower() for n in ch05_optimizers.OPTIMIZERS} == set(optim.OPTIMIZERS)
    assert set(ch07_training.OPTIMIZERS) <= set(optim.OPTIMIZERS)
    assert set(ch07_mnist.RACE_LR) <= set(optim.OPTIMIZERS)


@pytest.mark.parametrize("name", ["SGD", "Momentum", "Nesterov", "Adam", "RMSprop"])
def test_landscape_steps_with_the_registry(name, monkeypatch):
    from core import optim
    from labs import ch05_optimizers
    calls = []
    monkeypatch.setitem(optim.OPTIMIZERS, name.lower(), (lambda *args, **kw: calls.append((args, kw)), None, {}))
    p, g, state, hp = torch.zeros(2), torch.ones(2), {}, {"lr": 0.1}
    ch05_optimizers.optimizer_step(name, p, g, state, hp)
    assert calls == [((p, g, state), {"lr": 0.1})]


HP = {"lr": 0.05, "momentum": 0.5, "betas": (0.8, 0.99), "eps": 1e-6, "alpha": 0.9, "weight_decay": 0.01}


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam", "rmsprop"])
@pytest.mark.parametrize("hp", [HP, {"lr": 0.05}], ids=["set", "defaults"])
def test_each_registry_entry_pairs_our_step_with_its_torch_optimizer(name, hp):
    """An optimizer is declared once (core.optim.OPTIMIZERS): update and torch_optimizer read the same hp (and the
    same defaults), so 50 steps on the same gradients give the same weights, and hp is read, not ignored."""
    params, x, y = problem(torch.float64)
    twin = [{k: t.clone().requires_grad_(True) for k, t in layer.items()} for layer in params]
    theirs = O.torch_optimizer(name, [t for layer in twin for t in layer.values()], hp)
    state = {}
    for _ in range(50):
        _, cache = N.forward(params, x, "tanh")
        grads = backward(params, cache, y)
        O.update(name, params, grads, state, hp)
        for layer, g in zip(twin, grads):
            for k in layer:
                layer[k].grad = g[k].clone()
        theirs.step()
    assert all(torch.allclose(a, b, rtol=0, atol=1e-12) for (_, a), (_, b) in zip(N.named_tensors(params),
                                                                                  N.named_tensors(twin)))
    _, torch_class, defaults = O.OPTIMIZERS[name]
    group = theirs.param_groups[0]
    assert type(theirs) is torch_class and group["lr"] == 0.05
    assert all(group[k] == (hp.get(k, v) if k != "betas" else tuple(hp.get(k, v))) for k, v in defaults.items())
    assert group.get("nesterov", False) == (name == "nesterov")


def test_nesterov_without_momentum_is_plain_sgd_on_both_sides():
    """torch.optim.SGD refuses nesterov=True with momentum 0; the registry asks it for plain SGD, as ours does."""
    opt = O.torch_optimizer("nesterov", [torch.zeros(2, requires_grad=True)], {"lr": 0.1, "momentum": 0.0})
    assert opt.param_groups[0]["nesterov"] is False and opt.param_groups[0]["momentum"] == 0.0
    p = torch.zeros(2)
    O.update("nesterov", p, torch.ones(2), {}, {"lr": 0.1, "momentum": 0.0})
    assert torch.equal(p, torch.full((2,), -0.1))
