"""labs.ch08_scratch_vs_nn: the page's data split, layer sizes and what it says about the weight gap."""
import math

import pytest
import torch

from core import data
from labs import ch08_scratch_vs_nn as lab


def test_mnist_split_trains_on_the_first_rows_and_holds_out_the_last_as_float32():
    gen = torch.Generator().manual_seed(0)
    X = torch.randint(0, 256, (2600, 784), dtype=torch.uint8, generator=gen)
    y = torch.randint(0, 10, (2600,), generator=gen)
    X_tr, y_tr, X_te, y_te, source = lab.split("MNIST", 5000, seed=3, mnist=(X, y))
    assert len(X_tr) == 600 == len(y_tr)                  # at most all but the held-out 2,000
    assert torch.equal(X_tr, X[:600].float() / 255) and torch.equal(y_te, y[-lab.MNIST_HELD_OUT:])
    assert X_te.dtype == torch.float32 and torch.equal(X_te, X[-2000:].float() / 255)
    assert source == "MNIST: the first 600 test-split images to train on, the last 2,000 held out"
    assert len(lab.split("MNIST", 500, seed=3, mnist=(X, y))[0]) == 500


@pytest.mark.parametrize("dataset", data.DATASETS_2D)
def test_2d_split_holds_out_a_fifth_of_a_quarter_more_points(dataset):
    X_tr, y_tr, X_te, y_te, source = lab.split(dataset, 800, seed=5)
    assert X_tr.shape == (800, 2) and X_te.shape == (200, 2)
    assert source == f"{dataset}: 800 points to train on, 200 held out"
    again = lab.split(dataset, 800, seed=5)
    assert torch.equal(again[0], X_tr) and torch.equal(again[3], y_te)   # seeded
    assert int(torch.cat([y_tr, y_te]).max()) + 1 == lab.layer_sizes(dataset, 16)[2]


def test_layer_sizes():
    assert lab.layer_sizes("MNIST", 128) == [784, 128, 10]
    assert lab.layer_sizes("spiral", 32) == [2, 32, 3] and lab.layer_sizes("moons", 8) == [2, 8, 2]


def test_gap_summary_answers_the_prediction_from_the_last_step():
    assert lab.gap_summary([0.0, 0.0, 0.0]) == {"last": 0.0, "worst": 0.0, "exact_steps": 3, "answer": 0}
    s = lab.gap_summary([0.0, 3e-4, 2e-6])      # a one-off jump, back to rounding at the end
    assert s == {"last": 2e-6, "worst": 3e-4, "exact_steps": 1, "answer": 1}
    assert lab.gap_summary([1e-7, 1e-4])["answer"] == 1 and lab.gap_summary([1e-7, 2e-4])["answer"] == 2
    blown = lab.gap_summary([1e-7, math.nan])   # weights no longer finite: not "identical", not "within 1e-4"
    assert blown["answer"] == 2 and blown["exact_steps"] == 0


def test_eps_is_float32_rounding_step_near_one():
    assert lab.EPS == 2.0 ** -23 and torch.tensor(1.0) + lab.EPS / 4 == 1.0
