"""labs.t0_first_network: the tutorial's dose network and its one trained bias."""
import torch
import torch.nn.functional as F

from labs import t0_first_network as lab
from tests.export_utils import run_export


def test_forward_matches_the_tutorials_module_written_with_f_relu():
    p = lab.as_tensors(lab.TUTORIAL_PARAMS)
    d = torch.linspace(0, 1, 11)
    expected = F.relu(F.relu(d * 1.7 - 0.85) * -40.8 + F.relu(d * 12.6 + 0.0) * 2.7 - 16.0)
    out = lab.dose_forward(p, d)
    assert torch.equal(out["output"], expected)
    # the bump: only the medium dose works
    assert out["output"][5].item() > 0.9 and out["output"][0].item() == 0 and out["output"][10].item() == 0
    assert torch.allclose(out["summed"], out["top_scaled"] + out["bottom_scaled"] - 16.0)


def test_reproduces_tutorial_stop_epoch_and_final_bias_exactly():
    hist = lab.train_final_bias(lab.TUTORIAL_PARAMS, lr=0.1, start_bias=0.0)
    assert hist["stop_epoch"] == 34
    assert f"{hist['final_bias']:.4f}" == "-16.0019"
    assert hist["loss"][-1] < 1e-4 <= hist["loss"][-2]
    assert [round(b, 4) for b in hist["bias"][:4]] == [0.0, -3.202, -5.7636, -7.8129]


def test_same_as_nn_module_with_torch_optim_sgd():
    for lr, start in [(0.1, 0.0), (0.05, 3.0), (0.3, -5.0), (2.0, 0.0)]:
        hist = lab.train_final_bias(lab.TUTORIAL_PARAMS, lr=lr, start_bias=start)
        mod = lab.train_final_bias_module(lab.TUTORIAL_PARAMS, lr=lr, start_bias=start)
        assert hist["stop_epoch"] == mod["stop_epoch"] and hist["final_bias"] == mod["final_bias"]
        assert hist["bias"] == mod["bias"] and hist["stuck"] == mod["stuck"]
        cmp = lab.compare_loop_and_module(hist, mod)
        assert cmp["same_stop"] and cmp["max_bias_diff"] == 0.0 and cmp["epochs"] == len(hist["bias"])


def test_module_freezes_six_numbers_and_trains_only_the_bias():
    rng = torch.get_rng_state()
    model = lab.DoseNet(lab.TUTORIAL_PARAMS, start_bias=0.0)
    assert torch.equal(torch.get_rng_state(), rng)  # built from given numbers: no random draw
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["final_bias"]
    mod = lab.train_final_bias_module(lab.TUTORIAL_PARAMS)
    assert mod["trainable"] == ["final_bias"] and mod["stop_epoch"] == 34
    # the detached curve is the trained network's output, as the hand-written forward computes it
    trained = lab.as_tensors({**lab.TUTORIAL_PARAMS, "final_bias": mod["final_bias"]})
    expected = lab.dose_forward(trained, torch.linspace(0, 1, 201))["output"]
    assert torch.equal(torch.tensor(mod["curve"]), expected)
    # a different run is told apart from the tutorial's printout
    assert lab.matches_printout(mod)
    assert not lab.matches_printout(lab.train_final_bias(lab.TUTORIAL_PARAMS, lr=0.05))


def test_gradient_accumulates_over_the_three_points():
    # The first epoch's summed gradient equals autograd of the summed loss.
    hist = lab.train_final_bias(lab.TUTORIAL_PARAMS, max_epochs=1)
    b = torch.tensor(0.0, requires_grad=True)
    p = {**lab.as_tensors(lab.TUTORIAL_PARAMS), "final_bias": b}
    out = lab.dose_forward(p, torch.tensor(lab.TRAIN_DOSES))["output"]
    ((out - torch.tensor(lab.TRAIN_EFFECT)) ** 2).sum().backward()
    assert abs(hist["grad"][0] - b.grad.item()) < 1e-4


def test_too_large_step_kills_the_relu_and_is_reported():
    hist = lab.train_final_bias(lab.TUTORIAL_PARAMS, lr=1.0)
    assert hist["stuck"] and hist["stop_epoch"] is None and hist["grad"][-1] == 0


def test_residuals_after_training_are_small():
    hist = lab.train_final_bias(lab.TUTORIAL_PARAMS)
    res = lab.residuals({**lab.TUTORIAL_PARAMS, "final_bias": hist["final_bias"]})
    assert (res ** 2).sum().item() < 1e-4


def test_downloaded_script_prints_the_same_numbers(tmp_path):
    hist = lab.train_final_bias(lab.TUTORIAL_PARAMS, lr=0.1)
    out = run_export("t0_first_network", dict(params=lab.TUTORIAL_PARAMS, lr=0.1), tmp_path)
    assert f"stop_epoch {hist['stop_epoch']}" in out and f"final_bias {hist['final_bias']:.4f}" in out
    assert "stop_epoch 34" in out and "final_bias -16.0019" in out


def test_dose_curve_is_dose_forward_on_an_even_grid():
    c = lab.dose_curve(lab.TUTORIAL_PARAMS, points=201)
    assert c["dose"][0] == 0.0 and c["dose"][-1] == 1.0 and len(c["dose"]) == 201
    assert abs(c["output"][100] - 1.01) < 1e-5 and c["output"][0] == 0.0 == c["output"][-1]   # the tent's tip
    assert set(c) == {"dose", "top_in", "top", "top_scaled", "bottom_in", "bottom", "bottom_scaled", "summed",
                      "output"}
