"""core.dropout: inverted dropout by hand vs nn.Dropout."""
import pytest
import torch

from core import dropout


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.95])
def test_same_output_and_mask_as_nn_dropout(p):
    x = torch.randn(32, 64)
    r = dropout.compare_with_nn_dropout(x, p, seed=7)
    assert r["train_max_diff"] == 0.0 and r["same_mask"]
    assert r["eval_is_identity"] and r["eval_max_diff"] == 0.0


def test_survivors_are_scaled_and_dropped_are_zero():
    x = torch.rand(50, 40) + 0.5
    g = torch.Generator().manual_seed(0)
    out = dropout.dropout(x, 0.3, generator=g)
    kept = out != 0
    assert torch.allclose(out[kept], x[kept] / 0.7)
    assert abs(kept.float().mean().item() - 0.7) < 0.03


def test_restores_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    dropout.compare_with_nn_dropout(torch.ones(4, 4), 0.5, seed=1)
    assert torch.equal(torch.rand(3), expected)


def test_mean_is_preserved_only_with_rescaling():
    x = torch.rand(16, 128)
    scaled = dropout.running_mean(x, 0.6, 2000, seed=0)
    unscaled = dropout.running_mean(x, 0.6, 2000, seed=0, scale=False)
    assert abs(scaled[-1].item() - x.mean().item()) < 0.01 * x.mean().item() + 1e-3
    assert abs(unscaled[-1].item() - 0.4 * x.mean().item()) < 0.01
    # the same masks, so the unscaled curve is exactly (1 - p) times the scaled one
    assert torch.allclose(unscaled, 0.4 * scaled, rtol=1e-5)


def test_running_means_are_the_means_of_one_dropout_call_per_mask():
    """running_means draws its masks in blocks; the numbers are those of n_samples dropout() calls in a row."""
    x = torch.rand(16, 128, generator=torch.Generator().manual_seed(5))
    for p, n in ((0.5, 300), (0.85, 600), (0.0, 20)):
        g = torch.Generator().manual_seed(7)
        outs = [dropout.dropout(x, p, training=True, generator=g) for _ in range(n)]
        count = torch.arange(1, n + 1)
        want_scaled = torch.cumsum(torch.stack([o.mean() for o in outs]), 0) / count
        want_unscaled = torch.cumsum(torch.stack([(o * (1 - p)).mean() for o in outs]), 0) / count
        scaled, unscaled = dropout.running_means(x, p, n, seed=7)
        assert torch.equal(scaled, want_scaled) and torch.equal(unscaled, want_unscaled)
        assert torch.equal(dropout.running_mean(x, p, n, seed=7, scale=False), want_unscaled)


def test_lesson_version_has_same_statistics_but_other_mask():
    x = torch.ones(200, 200)
    torch.manual_seed(0)
    a = dropout.lesson_dropout(x, 0.5)
    torch.manual_seed(0)
    b = dropout.dropout(x, 0.5)
    assert abs((a != 0).float().mean().item() - 0.5) < 0.01 and not torch.equal(a, b)
    assert set(a.unique().tolist()) == {0.0, 2.0}


def test_bad_p_raises():
    with pytest.raises(ValueError):
        dropout.dropout(torch.ones(2), 1.0)
