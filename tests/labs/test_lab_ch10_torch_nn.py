"""labs.ch10_torch_nn: every raw-tensor piece against its torch.nn / torch.optim / DataLoader counterpart."""
import pytest
import torch

from labs import ch10_torch_nn as lab
from labs import ch11_mastery
from core import network


@pytest.fixture(scope="module")
def xy():
    g = torch.Generator().manual_seed(0)
    return torch.rand(32, 784, generator=g), torch.randint(0, 10, (32,), generator=g)


def test_every_table_row_is_equal_within_tolerance(xy):
    rows = ch11_mastery.equivalence_table(*xy, seed=3)
    assert len(rows) == 9
    assert all(r["equal"] for r in rows), rows
    exact = {r["from scratch"]: r["max abs diff"] for r in rows}
    assert exact["W = random tensor [in, out]"] == 0.0
    assert exact["torch.clamp(z, min=0)"] == 0.0
    assert exact["randperm + slice (core.data)"] == 0.0


@pytest.mark.parametrize("check", [lab.check_linear, lab.check_forward, lab.check_state_dict, lab.check_parameters,
                                   lab.check_dropout])
def test_component_checks(xy, check):
    assert check(*xy, seed=1)["max_abs_diff"] < lab.TOLERANCE


def test_dataloader_needs_the_extra_draw(xy):
    r = lab.check_dataloader(*xy, seed=5, batch_size=5)
    assert r["max_abs_diff"] == 0.0 and r["same_sets"] and r["covers_each_once"] and r["n_batches"] == 7
    assert not r["naive_same_order"]  # without drawing DataLoader's base seed first the order differs


def test_state_dict_loads_into_sequential(xy):
    params = network.init_mlp([784, 128, 10], seed=2)
    sd = lab.to_state_dict(params)
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    model.load_state_dict(sd)  # strict: raises on a wrong key or shape
    assert torch.allclose(model(xy[0]), network.forward(params, xy[0])[0], atol=1e-5)
    r = lab.check_state_dict(*xy)
    assert r["missing"] == [] and r["unexpected"] == [] and r["bytes"] > 4 * 101_770


def test_zero_grad_and_forgetting_doubles(xy):
    r = lab.check_zero_grad(*xy)
    assert r["max_abs_diff"] < lab.TOLERANCE and r["torch_grad_none_after_zero_grad"]
    assert r["forgetting_doubles"] < 1e-6


def test_optimizer_checks_catch_a_wrong_lr(xy):
    assert lab.check_sgd(*xy, lr=0.1)["max_abs_diff"] < lab.TOLERANCE
    wrong = lab._optimizer_race(*xy, 0, 2, lambda p, g, s: lab.optim.sgd_step(p, g, s, lr=0.2),
                               lambda ps: torch.optim.SGD(ps, lr=0.1))
    assert wrong["max_abs_diff"] > 1e-4


def test_hooks_table_matches_our_cache(xy):
    rows = lab.activation_stats(xy[0])
    assert [r["layer"] for r in rows] == ["0: Linear", "1: ReLU", "2: Linear"]
    assert [r["output shape"] for r in rows] == ["[32, 128]", "[32, 128]", "[32, 10]"]
    assert rows[1]["fraction zero"] > 0.2 and rows[0]["fraction zero"] == 0.0
    assert all(r["max |hook - our cache|"] < lab.TOLERANCE for r in rows)
    params = network.init_mlp([784, 128, 10], seed=0)
    assert rows  # hooks are removed afterwards: running again gives the same 3 rows, not 6
    assert len(lab.activation_stats(xy[0])) == 3 and params


def test_check_component_drops_tensors_and_reruns_optimizer_races_in_float64(xy):
    hot = lab.check_component("optim.Adam", *xy, seed=0, lr=0.1, steps=20)
    assert hot["steps"] == 20 and hot["float64_diff"] < 1e-9 < hot["max_abs_diff"]   # rounding, not method
    assert lab.check_component("optim.SGD", *xy, seed=0)["float64_diff"] < 1e-12
    linear = lab.check_component("nn.Linear", *xy, seed=1)
    assert "float64_diff" not in linear and linear["max_abs_diff"] < lab.TOLERANCE
    dropout = lab.check_component("nn.Dropout", *xy, seed=1, p=0.3)
    assert not any(isinstance(v, torch.Tensor) for v in dropout.values()) and dropout["same_mask"]


def test_hook_samples_are_the_first_numbers_of_each_hooked_output(xy):
    samples = lab.hook_samples(xy[0], seed=2, n=100)
    assert [name for name, _ in samples] == ["0: Linear", "1: ReLU", "2: Linear"]
    for (_, v), (_, out) in zip(samples, lab.hooked_outputs(xy[0], seed=2)):
        assert torch.equal(torch.from_numpy(v), out.flatten()[:100])
