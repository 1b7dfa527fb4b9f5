"""labs.t2_linear_regression: hand-written linear regression vs torch.nn / torch.optim."""
import pytest
import torch

from labs import t2_linear_regression as lab


def test_data_is_deterministic_and_on_the_line():
    x1, y1 = lab.make_data(2.0, -1.0, 0.0, seed=3)
    x2, y2 = lab.make_data(2.0, -1.0, 0.0, seed=3)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert torch.allclose(y1, 2.0 * x1 - 1.0) and x1.min() >= -1 and x1.max() <= 1


def test_recovers_the_line_and_matches_least_squares():
    x, y = lab.make_data(3.0, 0.5, 0.2, seed=1)
    h = lab.train_manual(x, y, lr=0.5, steps=300)
    A = torch.stack([x, torch.ones_like(x)], 1).double()
    w, b = torch.linalg.lstsq(A, y.double().unsqueeze(1)).solution.squeeze(1).tolist()
    assert abs(h["final_w"] - w) < 1e-4 and abs(h["final_b"] - b) < 1e-4
    assert lab.verdict(h) == "ok"


def test_gradient_is_autograd_of_mse():
    x, y = lab.make_data(seed=2)
    h = lab.train_manual(x, y, lr=0.1, steps=1)
    # at w = b = 0: dL/dw = -2 mean(x y), dL/db = -2 mean(y)
    assert h["w_grad"][0] == pytest.approx((-2 * (x * y).mean()).item(), abs=1e-6)
    assert h["b_grad"][0] == pytest.approx((-2 * y.mean()).item(), abs=1e-6)


def test_manual_loop_equals_nn_linear_mse_sgd():
    x, y = lab.make_data(seed=4)
    for lr in (0.01, 0.3):
        a = lab.train_manual(x, y, lr, 60)
        b = lab.train_torch(x, y, lr, 60)
        assert lab.max_diff(a["w"], b["w"]) < 1e-5 and lab.max_diff(a["loss"], b["loss"]) < 1e-5


def test_forgetting_zero_grad_sums_all_gradients():
    x, y = lab.make_data(seed=0)
    h = lab.train_manual(x, y, lr=0.1, steps=3, zero_grad=False)
    # reproduce by hand: the step uses the running sum of the per-step gradients
    w = b = 0.0
    gw_sum = gb_sum = 0.0
    for _ in range(3):
        r = w * x + b - y
        gw_sum += (2 * (r * x).mean()).item()
        gb_sum += (2 * r.mean()).item()
        w, b = w - 0.1 * gw_sum, b - 0.1 * gb_sum
    assert h["final_w"] == pytest.approx(w, abs=1e-5) and h["final_b"] == pytest.approx(b, abs=1e-5)
    right = lab.train_manual(x, y, lr=0.1, steps=200)
    wrong = lab.train_manual(x, y, lr=0.1, steps=200, zero_grad=False)
    assert wrong["loss"][-1] > 5 * right["loss"][-1]
    assert lab.verdict(wrong) != "ok"


def test_divergence_detected():
    x, y = lab.make_data(seed=0)
    h = lab.train_manual(x, y, lr=2.0, steps=500)
    assert h["diverged"] is not None and lab.verdict(h) == "diverged"
    assert lab.verdict(lab.train_manual(x, y, lr=1.0, steps=100)) == "oscillating"


def test_mapping_rows_all_agree_with_torch():
    x, y = lab.make_data(seed=5)
    rows = lab.mapping_checks(x, y, lr=0.3)
    assert len(rows) == 5
    assert all(r["max_abs_diff"] < 1e-6 for r in rows), rows


def test_whole_loop_check_compares_every_step_of_both_loops():
    x, y = lab.make_data(seed=5)
    row = lab.whole_loop_check(x, y, lr=0.3, steps=50)
    assert row["manual"] == "the whole loop, 50 steps (w, b after each)" and row["max_abs_diff"] < 1e-6
    manual, torch_run = lab.train_manual(x, y, 0.3, 50), lab.train_torch(x, y, 0.3, 50)
    assert row["max_abs_diff"] == max(lab.max_diff(manual["w"], torch_run["w"]),
                                      lab.max_diff(manual["b"], torch_run["b"]))


def test_downloaded_script_reproduces_page_numbers(tmp_path):
    import exports
    from tests.export_utils import run_export
    import runpy
    assert runpy.run_path(str(exports.HERE / "t2_linear_regression.py"))["DIVERGED_LOSS"] == lab.DIVERGED_LOSS
    for zero in (True, False):
        out = run_export("t2_linear_regression", dict(true_w=1.5, true_b=0.5, noise=0.4, lr=0.3, steps=80, seed=7,
                                                      zero_grad=zero), tmp_path)
        x, y = lab.make_data(1.5, 0.5, 0.4, seed=7)
        h = lab.train_manual(x, y, 0.3, 80, zero_grad=zero)
        assert f"w {h['final_w']:.4f}" in out and f"b {h['final_b']:.4f}" in out


def test_weights_file_loads_into_sequential():
    import io
    model = torch.nn.Sequential(torch.nn.Linear(1, 1))
    model.load_state_dict(torch.load(io.BytesIO(lab.weights_file(1.5, -0.25)), weights_only=True))
    assert model(torch.tensor([[2.0]])).item() == pytest.approx(2.75)
