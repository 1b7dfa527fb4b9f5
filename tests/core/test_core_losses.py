"""core.losses against torch.nn.functional, including logits far too large for a naive softmax."""
import math

import pytest
import torch
import torch.nn.functional as F

from core import losses as Lo

DTYPES = [(torch.float32, 1e-6), (torch.float64, 1e-13)]


def logits_and_targets(B, C, dtype, scale=3.0, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(B, C, generator=gen, dtype=dtype) * scale, torch.randint(0, C, (B,), generator=gen)


@pytest.mark.parametrize("B", [1, 7, 64])
@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_softmax_family_matches_torch(B, dtype, tol):
    z, y = logits_and_targets(B, 10, dtype)
    assert torch.allclose(Lo.softmax(z), torch.softmax(z, dim=1), atol=tol, rtol=tol)
    assert torch.allclose(Lo.naive_softmax(z), torch.softmax(z, dim=1), atol=tol, rtol=tol)
    assert torch.allclose(Lo.log_softmax(z), F.log_softmax(z, dim=1), atol=tol, rtol=tol)
    assert torch.allclose(Lo.cross_entropy(z, y), F.cross_entropy(z, y), atol=tol, rtol=tol)
    per = Lo.cross_entropy_per_example(z, y)
    assert torch.allclose(per, F.cross_entropy(z, y, reduction="none"), atol=tol, rtol=tol)
    assert torch.allclose(Lo.softmax(z).sum(dim=1), torch.ones(B, dtype=dtype), atol=tol)


@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_cross_entropy_grad_matches_autograd(dtype, tol):
    z, y = logits_and_targets(64, 10, dtype, seed=1)
    leaf = z.clone().requires_grad_(True)
    F.cross_entropy(leaf, y).backward()
    assert torch.allclose(Lo.cross_entropy_grad(z, y), leaf.grad, atol=tol / 10, rtol=1e-5)
    assert torch.allclose(Lo.cross_entropy_grad(z, y).sum(dim=1), torch.zeros(64, dtype=dtype), atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_extreme_logits_break_naive_softmax_only(dtype):
    z = torch.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4 + 1, -1e4], [1e4, 1e4, 1e4 - 2]], dtype=dtype)
    y = torch.tensor([1, 1, 2])
    naive = Lo.naive_softmax(z)
    assert not torch.isfinite(naive).all()  # exp(1e4) = inf, inf / inf = nan, and 0 / 0 = nan
    stable = Lo.softmax(z)
    assert torch.isfinite(stable).all()
    assert torch.allclose(stable, torch.softmax(z, dim=1), atol=1e-7)
    ours, theirs = Lo.cross_entropy(z, y), F.cross_entropy(z, y)
    assert torch.isfinite(ours) and ours.item() == pytest.approx(theirs.item(), rel=1e-6)
    assert ours.item() > 1e4 / 3  # the first example is wrong by 2e4, so the loss is huge, not nan
    assert torch.isfinite(Lo.log_softmax(z)).all()
    assert torch.isfinite(Lo.cross_entropy_grad(z, y)).all()


def test_naive_softmax_overflows_already_at_100_in_float32():
    z = torch.tensor([[100.0, 101.0, 102.0]])
    assert torch.isnan(Lo.naive_softmax(z)).any()  # exp(100) is already inf in float32
    assert torch.allclose(Lo.softmax(z), torch.tensor([[0.0900, 0.2447, 0.6652]]), atol=1e-4)


def test_uniform_logits_give_log_of_class_count():
    z = torch.zeros(4, 10, dtype=torch.float64)
    assert Lo.cross_entropy(z, torch.tensor([0, 3, 7, 9])).item() == pytest.approx(math.log(10), rel=1e-12)


def test_one_hot_matches_torch():
    y = torch.tensor([3, 0, 9, 3])
    ours = Lo.one_hot(y, 10)
    assert ours.dtype == torch.float32
    assert torch.equal(ours, F.one_hot(y, 10).float())
    assert Lo.one_hot(y, 12, dtype=torch.float64).shape == (4, 12)


@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_mse_and_its_grad(dtype, tol):
    gen = torch.Generator().manual_seed(2)
    pred, target = torch.randn(7, 3, generator=gen, dtype=dtype), torch.randn(7, 3, generator=gen, dtype=dtype)
    assert torch.allclose(Lo.mse_loss(pred, target), F.mse_loss(pred, target), atol=tol, rtol=tol)
    leaf = pred.clone().requires_grad_(True)
    F.mse_loss(leaf, target).backward()
    assert torch.allclose(Lo.mse_grad(pred, target), leaf.grad, atol=tol, rtol=tol)


@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_binary_cross_entropy(dtype, tol):
    gen = torch.Generator().manual_seed(3)
    probs = torch.rand(50, generator=gen, dtype=dtype)
    probs[:4] = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=dtype)  # log(0) is clamped at -100, like torch
    t = (torch.rand(50, generator=gen, dtype=dtype) > 0.5).to(dtype)
    t[:4] = torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=dtype)
    ours = Lo.binary_cross_entropy(probs, t)
    assert torch.isfinite(ours)
    assert torch.allclose(ours, F.binary_cross_entropy(probs, t), atol=tol, rtol=tol)


@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_bce_with_logits_and_grad(dtype, tol):
    gen = torch.Generator().manual_seed(4)
    z = torch.randn(40, generator=gen, dtype=dtype) * 4
    z[:4] = torch.tensor([1e4, -1e4, 1e4, -1e4], dtype=dtype)
    t = (torch.rand(40, generator=gen, dtype=dtype) > 0.5).to(dtype)
    t[:4] = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=dtype)
    ours, theirs = Lo.bce_with_logits(z, t), F.binary_cross_entropy_with_logits(z, t)
    assert torch.isfinite(ours) and torch.allclose(ours, theirs, atol=tol, rtol=tol)
    leaf = z.clone().requires_grad_(True)
    F.binary_cross_entropy_with_logits(leaf, t).backward()
    assert torch.allclose(Lo.bce_with_logits_grad(z, t), leaf.grad, atol=tol, rtol=tol)


def test_loss_table_pairs_each_loss_with_its_gradient():
    z, y = logits_and_targets(5, 4, torch.float64)
    for name, (loss_fn, grad_fn) in Lo.LOSSES.items():
        target = y if name == "cross_entropy" else torch.rand(5, 4, dtype=torch.float64)
        leaf = z.clone().requires_grad_(True)
        loss_fn(leaf, target).backward()
        assert torch.allclose(grad_fn(z, target), leaf.grad, atol=1e-14), name


@pytest.mark.parametrize("name", list(Lo.LOSSES))
def test_targets_for_gives_each_loss_the_targets_it_compares_with(name):
    """One place says which losses take labels: cross-entropy compares the logits with labels [B], the MSEs and
    BCE with one-hot rows [B, C]; each loss then equals torch's on those targets."""
    g = torch.Generator().manual_seed(0)
    logits, y = torch.randn(6, 4, generator=g, dtype=torch.float64), torch.tensor([0, 3, 1, 1, 2, 0])
    targets = Lo.targets_for(name, y, logits)
    rows = F.one_hot(y, 4).to(torch.float64)
    expected = {"cross_entropy": (y, F.cross_entropy(logits, y)),
                "mse": (rows, F.mse_loss(logits, rows)),
                "mse_probs": (rows, F.mse_loss(torch.softmax(logits, dim=1), rows)),
                "bce_with_logits": (rows, F.binary_cross_entropy_with_logits(logits, rows))}[name]
    assert torch.equal(targets, expected[0]) and targets.dtype == expected[0].dtype
    loss, _ = Lo.LOSSES[name]
    assert loss(logits, targets).item() == pytest.approx(expected[1].item(), rel=1e-12)
