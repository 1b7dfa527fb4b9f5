"""labs.ch01_raw_tensors: activation spread through a deep ReLU stack for several initialisations."""
import math

import pytest
import torch

from labs import ch01_raw_tensors as lab


def test_kaiming_keeps_spread_while_normal_explodes_and_xavier_shrinks():
    runs = lab.compare_inits(depth=20, width=128, n_samples=256, seed=0)
    k = [r["std"] for r in runs["kaiming"]]
    n = [r["std"] for r in runs["normal"]]
    x = [r["std"] for r in runs["xavier"]]
    assert 0.2 < k[-1] < 5 and max(k) / min(k) < 10             # roughly constant over 20 layers
    assert n[-1] > 1e10 and n[-1] > 1e8 * n[0]                   # grows ~ sqrt(64) = 8x per layer
    assert x[-1] < 1e-3 and x[-1] < 1e-2 * x[0]                # variance halves per layer
    assert lab.first_blowup(runs["kaiming"]) is None
    assert lab.first_blowup(runs["normal"])[1] == "exploded"
    assert lab.first_blowup(runs["xavier"])[1] == "vanished"


def test_normal_overflows_float32_at_depth_50():
    rows = lab.activation_spread("normal", depth=50, width=128)
    assert not rows[-1]["finite"] and math.isinf(rows[-1]["std"])
    assert rows[0]["finite"]


def test_matches_a_plain_torch_loop():
    rows = lab.activation_spread("kaiming", depth=3, width=16, n_samples=32, seed=4)
    gen = torch.Generator().manual_seed(4)
    h = torch.randn(32, 16, generator=gen)
    for row in rows:
        h = torch.relu(h @ (torch.randn(16, 16, generator=gen) * math.sqrt(2 / 16)))
        assert row["std"] == pytest.approx(h.std().item())
        assert row["dead"] == pytest.approx((h == 0).float().mean().item())


def test_first_layer_kills_about_half():
    rows = lab.activation_spread("kaiming", depth=1, width=256, n_samples=512)
    assert 0.45 < rows[0]["dead"] < 0.55                         # ReLU zeroes the negative half


def test_rejects_bad_sizes():
    with pytest.raises(ValueError):
        lab.activation_spread(depth=0)
