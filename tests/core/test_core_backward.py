"""core.backward (hand-derived gradients) and core.gradcheck (the comparison table)."""
import pytest
import torch
import torch.nn.functional as F

from core import gradcheck as G
from core import network as N
from core.backward import backward, backward_steps, chain_rule
from core.losses import cross_entropy_grad

ACTS = list(N.ACTIVATIONS)


def setup(depth, B, dtype, seed=0, init="kaiming"):
    """Random widths (2..12), random inputs and labels."""
    gen = torch.Generator().manual_seed(seed)
    sizes = torch.randint(2, 13, (depth + 1,), generator=gen).tolist()
    params = N.init_mlp(sizes, init=init, seed=seed, dtype=dtype)
    x = torch.randn(B, sizes[0], generator=gen, dtype=dtype)
    y = torch.randint(0, sizes[-1], (B,), generator=gen)
    return params, x, y


def torch_nn_grads(params, x, y, activation):
    """Reference: torch.nn.Sequential + F.cross_entropy + loss.backward(), mapped back to our layout."""
    model = N.to_torch_sequential(params, activation)
    F.cross_entropy(model(x), y).backward()
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    return [{"W": m.weight.grad.T, "b": m.bias.grad} for m in linears]


def max_gap(a, b):
    return max((s - t).abs().max().item() for (_, s), (_, t) in zip(N.named_tensors(a), N.named_tensors(b)))


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("B", [1, 7, 64])
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_hand_backward_equals_torch_nn_autograd(depth, B, activation, dtype, tol):
    params, x, y = setup(depth, B, dtype, seed=depth * 100 + B)
    _, cache = N.forward(params, x, activation)
    grads = backward(params, cache, y)
    reference = torch_nn_grads(params, x, y, activation)
    assert [g.keys() for g in grads] == [p.keys() for p in params]
    assert all(g[k].shape == p[k].shape and g[k].dtype == dtype for g, p in zip(grads, params) for k in p)
    assert max_gap(grads, reference) < tol
    assert max(t.abs().max().item() for _, t in N.named_tensors(grads)) > 1e-4  # a real, non-zero gradient


def test_lesson_two_layer_formulas():
    params = N.init_mlp([784, 128, 10], seed=1, dtype=torch.float64)
    gen = torch.Generator().manual_seed(1)
    x, y = torch.rand(64, 784, generator=gen, dtype=torch.float64), torch.randint(0, 10, (64,), generator=gen)
    W1, b1, W2, b2 = (t for _, t in N.named_tensors(params))
    h_pre = x @ W1 + b1
    h = h_pre.clamp(min=0)
    d_out = torch.softmax(h @ W2 + b2, dim=1)
    d_out[torch.arange(64), y] -= 1
    d_out /= 64
    d_h_pre = (d_out @ W2.T) * (h_pre > 0)
    expected = [{"W": x.T @ d_h_pre, "b": d_h_pre.sum(0)}, {"W": h.T @ d_out, "b": d_out.sum(0)}]
    _, cache = N.forward(params, x)
    assert max_gap(backward(params, cache, y), expected) < 1e-14


@pytest.mark.parametrize("activation", ACTS)
def test_every_step_matches_autograd_of_that_node(activation):
    params, x, y = setup(3, 7, torch.float64, seed=5)
    leaves = [{k: t.clone().requires_grad_(True) for k, t in layer.items()} for layer in params]
    logits, cache = N.forward(leaves, x, activation)
    for rec in cache["layers"]:
        rec["z"].retain_grad()
        rec["a"].retain_grad()
    F.cross_entropy(logits, y).backward()
    detached = {"activation": activation,
                "layers": [{k: v.detach() for k, v in rec.items()} for rec in cache["layers"]]}
    steps = backward_steps(params, detached, y)
    names = [s["name"] for s in steps]
    assert names == ["dL/dlogits", "dL/dW3", "dL/db3", "dL/dh2", "dL/dz2", "dL/dW2", "dL/db2",
                     "dL/dh1", "dL/dz1", "dL/dW1", "dL/db1"]
    for s in steps:
        i, kind = s["layer"], s["kind"]
        if kind in ("W", "b"):
            expected = leaves[i][kind].grad
        elif kind == "z":
            expected = cache["layers"][i]["z"].grad
        else:
            expected = cache["layers"][i]["a"].grad
        assert s["shape"] == tuple(expected.shape), s["name"]
        assert torch.allclose(s["value"], expected, atol=1e-12, rtol=1e-9), s["name"]
        assert isinstance(s["formula"], str) and s["formula"]
    assert steps[0]["formula"] == "(softmax(logits) - one_hot(y)) / B"


@pytest.mark.parametrize("loss", ["mse", "bce_with_logits"])
def test_other_losses_backward(loss):
    params, x, _ = setup(2, 7, torch.float64, seed=8)
    out_width = params[-1]["W"].shape[1]
    target = torch.rand(7, out_width, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    _, cache = N.forward(params, x, "tanh")
    ours = backward(params, cache, target, loss=loss)
    reference = G.autograd_grads(params, x, target, "tanh", loss=loss)
    assert max_gap(ours, reference) < 1e-12


def test_backward_does_not_touch_params_or_use_autograd():
    params, x, y = setup(2, 7, torch.float32, seed=9)
    before = [t.clone() for _, t in N.named_tensors(params)]
    _, cache = N.forward(params, x)
    grads = backward(params, cache, y)
    assert all(torch.equal(a, t) for a, (_, t) in zip(before, N.named_tensors(params)))
    assert all(t.grad_fn is None and not t.requires_grad for _, t in N.named_tensors(grads))


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_backward_gives_exactly_the_displayed_steps(activation, loss):
    """backward() computes the gradients directly (chain_rule), not through backward_steps' display list:
    the numbers must be the very ones backward_steps shows for W and b."""
    params, x, y = setup(3, 9, torch.float32, seed=11)
    logits, cache = N.forward(params, x, activation)
    targets = y if loss == "cross_entropy" else torch.randn(logits.shape, generator=torch.Generator().manual_seed(1))
    shown = {(s["layer"], s["kind"]): s["value"] for s in backward_steps(params, cache, targets, loss)}
    grads = backward(params, cache, targets, loss)
    assert [sorted(g) for g in grads] == [["W", "b"]] * len(params)
    for i, g in enumerate(grads):
        for kind in ("W", "b"):
            assert g[kind].is_contiguous() and torch.equal(g[kind], shown[(i, kind)]), (i, kind, activation)


def test_chain_rule_writes_into_the_given_tensors():
    """A training step hands chain_rule the same gradient tensors every step: they are overwritten, not replaced."""
    params, x, y = setup(2, 5, torch.float64, seed=12)
    _, cache = N.forward(params, x, "tanh")
    d_logits = cross_entropy_grad(cache["layers"][-1]["z"], y)
    grads = [{k: torch.full_like(t, 7.0) for k, t in layer.items()} for layer in params]
    held = [g["W"] for g in grads]
    returned = chain_rule(params, cache, d_logits, grads)
    assert returned is grads and all(g["W"] is w for g, w in zip(grads, held))
    assert max_gap(grads, backward(params, cache, y)) == 0          # no 7.0 left anywhere
    assert d_logits.equal(cross_entropy_grad(cache["layers"][-1]["z"], y))  # the input gradient was not changed


def test_backward_of_tensors_that_require_grad_records_nothing():
    """Weights that require grad (nn.Parameter-like leaves): backward still writes its gradients (out=) and
    returns the same numbers, with no autograd graph behind them."""
    params, x, y = setup(2, 6, torch.float64, seed=13)
    leaves = [{k: t.clone().requires_grad_(True) for k, t in layer.items()} for layer in params]
    _, cache = N.forward(leaves, x, "sigmoid")
    grads = backward(leaves, cache, y)
    _, plain_cache = N.forward(params, x, "sigmoid")
    assert max_gap(grads, backward(params, plain_cache, y)) == 0
    assert all(not t.requires_grad and t.grad_fn is None for _, t in N.named_tensors(grads))


def test_relu_at_exact_zero_matches_nn_relu():
    """Blank input and zero biases make every hidden z exactly 0: our slope there is 0, like nn.ReLU."""
    params = N.init_mlp([6, 5, 3], seed=0, dtype=torch.float64)
    x, y = torch.zeros(4, 6, dtype=torch.float64), torch.tensor([0, 1, 2, 0])
    _, cache = N.forward(params, x)
    assert max_gap(backward(params, cache, y), torch_nn_grads(params, x, y, "relu")) == 0


# ------------------------------------------------------------------ gradcheck
def rows_by(rows, tensor, vs):
    [row] = [r for r in rows if r["tensor"] == tensor and r["vs"] == vs]
    return row


@pytest.mark.parametrize("activation", ACTS)
def test_compare_grads_all_agree_on_correct_gradients(activation):
    params, x, y = setup(3, 7, torch.float32, seed=11)
    rows = G.compare_grads(params, x, y, activation, max_entries=15)
    assert len(rows) == 3 * 2 * 2
    assert {r["vs"] for r in rows} == {"autograd", "finite diff"}
    assert [r["tensor"] for r in rows[::2]] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    for r in rows:
        assert r["shape_ok"] and r["allclose"], r
        assert r["max_abs_diff"] < 1e-7
        assert r["entries_checked"] > 0
    w1 = rows_by(rows, "W1", "finite diff")
    assert w1["entries_checked"] == min(15, params[0]["W"].numel())


def test_compare_grads_detects_a_wrong_gradient():
    params, x, y = setup(2, 64, torch.float64, seed=12)
    hand = G.hand_grads(params, x, y)
    hand[0]["W"] = hand[0]["W"] * 1.01  # 1% too big
    hand[1]["b"] = hand[1]["b"] * 64  # forgot to divide by the batch size
    rows = G.compare_grads(params, x, y, hand=hand, max_entries=30)
    for tensor, ok in [("W1", False), ("b1", True), ("W2", True), ("b2", False)]:
        for vs in ("autograd", "finite diff"):
            assert rows_by(rows, tensor, vs)["allclose"] is ok, (tensor, vs)
    assert rows_by(rows, "b2", "autograd")["max_abs_diff"] > 1e-3


def test_compare_grads_detects_wrong_shape_and_missing_relu_mask():
    params, x, y = setup(2, 7, torch.float64, seed=13)
    hand = G.hand_grads(params, x, y)
    hand[0]["W"] = hand[0]["W"].T
    rows = G.compare_grads(params, x, y, hand=hand, max_entries=10)
    assert rows_by(rows, "W1", "autograd")["shape_ok"] is False
    assert rows_by(rows, "W1", "autograd")["allclose"] is False
    # forgetting the ReLU mask = pretending the activation is the identity
    _, cache = N.forward(params, x)
    z1 = cache["layers"][0]["z"]
    no_mask = x.T @ _d_h(params, cache, y)  # skips '* (z1 > 0)'
    assert (z1 < 0).any()
    row = G.compare("W1", no_mask, G.autograd_grads(params, x, y)[0]["W"], "autograd")
    assert row["shape_ok"] and not row["allclose"]


def _d_h(params, cache, y):
    steps = backward_steps(params, cache, y)
    return [s for s in steps if s["name"] == "dL/dh1"][0]["value"]


def test_numerical_grads_full_and_sampled():
    params, x, y = setup(2, 7, torch.float64, seed=14)
    before = [t.clone() for _, t in N.named_tensors(params)]
    full = G.numerical_grads(params, x, y, "sigmoid")
    auto = G.autograd_grads(params, x, y, "sigmoid")
    assert max_gap(full, auto) < 1e-8
    assert all(torch.equal(a, t) for a, (_, t) in zip(before, N.named_tensors(params)))
    sampled = G.numerical_grads(params, x, y, "sigmoid", max_entries=3, seed=1)
    again = G.numerical_grads(params, x, y, "sigmoid", max_entries=3, seed=1)
    for (_, s), (_, a), (_, f) in zip(N.named_tensors(sampled), N.named_tensors(again), N.named_tensors(full)):
        measured = ~torch.isnan(s)
        assert int(measured.sum()) == min(3, s.numel())
        assert torch.equal(measured, ~torch.isnan(a))
        assert torch.allclose(s[measured], f[measured], atol=1e-12)


def test_compare_row_exact_and_allclose_mean_different_things():
    a = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    same = G.compare("W", a, a.clone(), "autograd")
    near = G.compare("W", a, a + 1e-12, "autograd")
    far = G.compare("W", a, a + 1e-3, "autograd")
    assert same["exact"] and same["allclose"] and same["max_abs_diff"] == 0
    assert not near["exact"] and near["allclose"] and near["max_abs_diff"] == pytest.approx(1e-12, rel=1e-3)
    assert not far["exact"] and not far["allclose"]


def test_float32_table_shows_tiny_rounding_gaps():
    params, x, y = setup(2, 64, torch.float32, seed=15)
    rows = G.compare_grads(params, x, y, dtype=torch.float32, max_entries=5)
    auto_rows = [r for r in rows if r["vs"] == "autograd"]
    assert all(r["allclose"] for r in auto_rows)
    assert all(r["max_abs_diff"] < 1e-6 for r in auto_rows)
