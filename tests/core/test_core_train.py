"""Training loops (core.train) and evaluation helpers (core.metrics).

The headline check: the from-scratch loop (hand backward + hand optimizer) and the
torch.nn loop (autograd + torch.optim) keep the same weights to 1e-5 for 200 steps.
"""

import pytest
import torch
import torch.nn.functional as F

from core.data import batches, make_2d
from datasets.mnist_files import load_mnist
from core.metrics import (accuracy, confusion_matrix, evaluate, evaluate_loss, logits_of,
                          per_class_accuracy, predictions)
from core.network import forward, from_torch_sequential, init_mlp, to_torch_sequential
from core.losses import cross_entropy, cross_entropy_and_grad, cross_entropy_grad
from core import train
from core.train import make_config, train_scratch, train_step, train_torch
from labs.ch08_scratch_vs_nn import compare_scratch_vs_torch, max_weight_difference

@pytest.fixture(scope="module")
def mnist():
    X, y = load_mnist("test")      # the app's lookup: $MNIST_DIR, data/mnist, then the committed datasets/mnist
    return X[:4000], y[:4000], X[4000:6000], y[4000:6000]


# float32 agreement depends a little on the run: the two loops round differently (~1e-8 in the
# gradients); SGD keeps that at ~3e-7 unless a rounding difference lands exactly on a ReLU kink
# (then one step jumps ~1e-4), and Adam magnifies it on almost-never-lit pixels (~5e-6..1.5e-5
# after 200 steps). The batch seeds below were checked to give ordinary runs (no kink hit).
# The float64 test shows the formulas themselves agree to 1e-12 on every seed.
@pytest.mark.parametrize("seed,kw", [
    (0, dict(optimizer="sgd", lr=0.1)),
    (0, dict(optimizer="sgd", lr=0.05, momentum=0.9)),
    (0, dict(optimizer="sgd", lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    (1, dict(optimizer="adam", lr=1e-3)),
    (2, dict(optimizer="adam", lr=2e-3, betas=(0.8, 0.99), weight_decay=1e-2)),
], ids=["sgd", "momentum", "nesterov_wd", "adam", "adam_wd"])
def test_scratch_matches_torch_nn_for_200_steps(mnist, seed, kw):
    X, y, _, _ = mnist
    params = init_mlp([784, 128, 10], seed=0)
    start = [layer["W"].clone() for layer in params]
    rows = list(compare_scratch_vs_torch(params, X, y, batch_size=64, steps=200, seed=seed, **kw))
    assert len(rows) == 200 and not any(r["diverged"] for r in rows)
    worst = max(r["max_abs_diff"] for r in rows)
    assert worst < 1e-5, f"weights drifted apart by {worst}"
    assert all(abs(r["loss_scratch"] - r["loss_torch"]) < 1e-5 for r in rows)
    # training really moved the weights (so the agreement is not trivial) ...
    moved = (rows[-1]["params"][0]["W"] - start[0]).abs().max().item()
    assert moved > 1000 * worst
    assert rows[-1]["loss_scratch"] < rows[0]["loss_scratch"] - 0.5
    # ... and compare_scratch_vs_torch trained copies, not the caller's params
    assert torch.equal(params[0]["W"], start[0])


def test_flat_buffer_run_on_mnist_shaped_data_matches_torch_adam():
    """The training step keeps weights, gradients and Adam's moments in one flat buffer each: 200 Adam steps on
    MNIST-shaped data (784 -> 128 -> 10, batch 64) stay within the same 1e-5 of nn.Sequential + torch.optim.Adam,
    and the caller's params keep their layout: the very tensors it held, now views of the buffer."""
    g = torch.Generator().manual_seed(0)
    X, y = torch.rand(3200, 784, generator=g), torch.randint(0, 10, (3200,), generator=g)
    params = init_mlp([784, 128, 10], seed=0)
    held = [layer["W"] for layer in params]
    start = params[0]["W"].clone()
    state = {}
    kw = dict(optimizer="adam", lr=1e-3, batch_size=64, steps=200, seed=4)
    ours = list(train_scratch(params, X, y, opt_state=state, **kw))
    theirs = list(train_torch(init_mlp([784, 128, 10], seed=0), X, y, **kw))
    gap = max_weight_difference(params, theirs[-1]["model"])
    assert len(ours) == 200 and gap < 1e-5, f"weights drifted apart by {gap}"
    assert all(abs(a["loss"] - b["loss"]) < 1e-5 and a["batch_acc"] == b["batch_acc"] for a, b in zip(ours, theirs))
    assert (params[0]["W"] - start).abs().max().item() > 1000 * gap            # training really moved them
    assert [layer["W"] for layer in params] == held and all(a is b for a, b in zip(held, (p["W"] for p in params)))
    assert [(tuple(layer["W"].shape), tuple(layer["b"].shape)) for layer in params] == [((784, 128), (128,)),
                                                                                      ((128, 10), (10,))]
    flat = state["flat"]["weights"]
    assert flat.numel() == 101_770 and torch.equal(flat[:784 * 128].view(784, 128), held[0])
    assert state["step"] == 200 and [m.shape for m in state["m"]] == [(784, 128), (128,), (128, 10), (10,)]


def test_cross_entropy_and_grad_is_one_softmax_for_both():
    """train_step's loss and dL/dlogits come from one softmax; they equal core.losses' two separate functions and
    torch's autograd of F.cross_entropy, also for logits so far apart that a naive softmax would underflow."""
    g = torch.Generator().manual_seed(0)
    for scale in (1.0, 300.0):
        logits = torch.randn(64, 10, generator=g, dtype=torch.float64) * scale
        y = torch.randint(0, 10, (64,), generator=g)
        leaf = logits.clone().requires_grad_(True)
        F.cross_entropy(leaf, y).backward()
        loss, d_logits = cross_entropy_and_grad(logits.clone(), y)
        assert loss.item() == pytest.approx(cross_entropy(logits, y).item(), rel=1e-12)
        assert loss.item() == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-12)
        assert torch.allclose(d_logits, cross_entropy_grad(logits, y), atol=1e-15)
        assert torch.allclose(d_logits, leaf.grad, atol=1e-15)
        assert torch.isfinite(loss) and loss.item() > (100 if scale > 1 else 0)


def test_train_step_runs_the_one_forward(monkeypatch):
    """One forward pass: the training step runs core.network.forward (the one every page shows), once per step,
    and its loss is the cross-entropy of that forward's logits."""
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(16, 784, generator=g), torch.randint(0, 10, (16,), generator=g)
    params = init_mlp([784, 32, 16, 10], seed=2)
    for p in params:
        p["b"].uniform_(-1, 1, generator=g)
    expected = cross_entropy(forward(params, x, "tanh")[0], y).item()
    calls = []
    monkeypatch.setattr(train, "forward", lambda *args: calls.append(args) or forward(*args))
    out = train_step(params, {}, x, y, make_config("sgd", 0.1, activation="tanh"))
    assert len(calls) == 1 and calls[0][0] is params and calls[0][1] is x
    assert out["loss"] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("labels,acc", [([1, 0, 0, 2], 0.75), ([0, 1, 2, 0], 0.0)])
def test_batch_accuracy_is_the_one_accuracy(monkeypatch, labels, acc):
    """Both loops measure a batch with core.metrics.accuracy, the function every evaluation uses: the argmax of
    the logits against the labels, ties going to the first index, like argmax."""
    logits = torch.tensor([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 3.0, 3.0]])
    labels = torch.tensor(labels)
    assert accuracy(logits, labels) == acc
    calls = []
    monkeypatch.setattr(train, "accuracy", lambda *args: calls.append(args) or accuracy(*args))
    params = [{"W": torch.eye(3), "b": torch.zeros(3)}]
    assert train_step(params, {}, logits, labels, make_config("sgd", 0.0))["batch_acc"] == acc
    model = to_torch_sequential(params)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    assert train.torch_train_step(model, optimizer, logits, labels)["batch_acc"] == acc
    assert len(calls) == 2 and all(torch.equal(c[1], labels) for c in calls)


@pytest.mark.parametrize("seed", [0, 1, 3])
@pytest.mark.parametrize("kw", [dict(optimizer="sgd", lr=0.1), dict(optimizer="sgd", lr=0.05, momentum=0.9),
                                dict(optimizer="adam", lr=1e-3)], ids=["sgd", "momentum", "adam"])
def test_float64_agreement_is_nearly_exact(mnist, seed, kw):
    X, y, _, _ = mnist
    params = init_mlp([784, 32, 10], seed=seed, dtype=torch.float64)
    rows = list(compare_scratch_vs_torch(params, X.double(), y, batch_size=64, steps=100, seed=seed, **kw))
    assert max(r["max_abs_diff"] for r in rows) < 1e-10
    assert rows[-1]["mean_abs_diff"] <= rows[-1]["max_abs_diff"]


def test_same_metrics_from_both_loops(mnist):
    X, y, Xt, yt = mnist
    X, y = X[:100], y[:100]
    kw = dict(optimizer="sgd", lr=0.1, momentum=0.5, batch_size=32, epochs=2, seed=3, X_test=Xt, y_test=yt)
    params = init_mlp([784, 16, 10], seed=1)
    ours = list(train_scratch(params, X, y, **kw))
    theirs = list(train_torch(init_mlp([784, 16, 10], seed=1), X, y, **kw))
    assert [m["step"] for m in ours] == list(range(1, 9))
    assert [m["epoch"] for m in ours] == [1] * 4 + [2] * 4
    assert [m["batch_size"] for m in ours] == [32, 32, 32, 4] * 2        # 100 = 3 * 32 + 4
    assert [m["step"] for m in ours if "test_acc" in m] == [4, 8]         # end of each epoch
    for a, b in zip(ours, theirs, strict=True):
        assert set(b) - set(a) == {"model"}
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-5)
        assert a["batch_acc"] == b["batch_acc"]
        if "test_loss" in a:
            assert a["test_loss"] == pytest.approx(b["test_loss"], abs=1e-5)
            assert a["test_acc"] == b["test_acc"]
    model = theirs[-1]["model"]
    assert isinstance(model, torch.nn.Sequential)
    for p, q in zip(params, from_torch_sequential(model)):   # params were trained in place
        assert (p["W"] - q["W"]).abs().max() < 1e-6


def test_steps_and_eval_every(mnist):
    X, y, Xt, yt = mnist
    rows = list(train_scratch(init_mlp([784, 8, 10]), X[:50], y[:50], batch_size=16, steps=10,
                              epochs=99, X_test=Xt, y_test=yt, eval_every=3))
    assert [m["step"] for m in rows] == list(range(1, 11))
    assert [m["epoch"] for m in rows] == [1] * 4 + [2] * 4 + [3] * 2     # 4 batches per epoch
    assert [m["step"] for m in rows if "test_acc" in m] == [3, 6, 9, 10]  # and after the last step


def test_learns_mnist(mnist):
    X, y, Xt, yt = mnist
    params = init_mlp([784, 64, 10], seed=0)
    before = evaluate(params, Xt, yt)
    rows = list(train_scratch(params, X, y, optimizer="adam", lr=2e-3, batch_size=64, epochs=2,
                              seed=0, X_test=Xt, y_test=yt))
    assert before["acc"] < 0.3
    assert rows[-1]["test_acc"] > 0.85 and rows[-1]["test_loss"] < before["loss"] / 3


def test_learns_spiral():
    X, y = make_2d("spiral", 300, noise=0.05, seed=0, n_classes=3)
    params = init_mlp([2, 64, 3], seed=0)
    list(train_scratch(params, X, y, optimizer="adam", lr=0.02, batch_size=32, steps=600, seed=0))
    assert accuracy(predictions(params, X), y) > 0.9


def test_seed_controls_the_trajectory(mnist):
    X, y, _, _ = mnist
    runs = []
    for seed in (5, 5, 6):
        params = init_mlp([784, 8, 10], seed=0)
        runs.append([m["loss"] for m in train_scratch(params, X[:200], y[:200], steps=12, seed=seed)])
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_single_steps_resume_the_same_run(mnist):
    """A page can drive train_step itself (pause/resume) and get exactly the generator's numbers."""
    X, y, _, _ = mnist
    X, y = X[:300], y[:300]
    p1 = init_mlp([784, 16, 10], seed=4)
    gen_losses = [m["loss"] for m in train_scratch(p1, X, y, optimizer="adam", lr=1e-3,
                                                   batch_size=50, steps=6, seed=9)]
    p2 = init_mlp([784, 16, 10], seed=4)
    state, config = {}, make_config("adam", lr=1e-3)
    g = torch.Generator().manual_seed(9)
    step_losses = []
    for xb, yb in batches(X, y, 50, generator=g):
        step_losses.append(train_step(p2, state, xb, yb, config)["loss"])
        if len(step_losses) == 3:          # "pause": the state lives in p2, state and g
            saved = {"step": state["step"]}
    assert saved["step"] == 3 and state["step"] == 6
    assert step_losses == gen_losses
    assert all(torch.equal(a["W"], b["W"]) for a, b in zip(p1, p2))


def test_opt_state_is_kept_by_the_caller(mnist):
    X, y, _, _ = mnist
    state = {}
    list(train_scratch(init_mlp([784, 8, 10]), X[:64], y[:64], optimizer="adam", batch_size=32,
                       epochs=2, opt_state=state))
    assert state["step"] == 4 and len(state["m"]) == 4


@pytest.mark.parametrize("optimizer,lr,step", [("sgd", 1e6, 5), ("adam", 1e30, 2)])
def test_divergence_is_reported_not_raised(mnist, optimizer, lr, step):
    X, y, _, _ = mnist
    for loop in (train_scratch, train_torch):
        rows = list(loop(init_mlp([784, 128, 10], seed=0), X[:2000], y[:2000], optimizer=optimizer,
                         lr=lr, batch_size=64, epochs=3))
        last = rows[-1]
        assert len(rows) == step                                   # stopped right there
        assert last["diverged"] and not any(r["diverged"] for r in rows[:-1])
        assert f"at step {step}" in last["reason"] and "nan" in last["reason"]
        assert "learning rate" in last["reason"]
    rows = list(compare_scratch_vs_torch(init_mlp([784, 128, 10], seed=0), X[:2000], y[:2000],
                                         optimizer=optimizer, lr=lr, batch_size=64, epochs=3))
    assert rows[-1]["diverged"] and "reason" in rows[-1] and len(rows) == step


def test_inf_weights_after_the_last_step_are_caught():
    # lr * weight_decay * w = 1e60 overflows float32: the first (and only) loss is finite,
    # the update then writes inf into the weights; the final check reports it.
    X, y = make_2d("moons", 40, 0.1, seed=0)
    for loop in (train_scratch, train_torch):
        rows = list(loop(init_mlp([2, 4, 2], seed=0), X, y, optimizer="sgd", lr=1e30, weight_decay=1e30,
                         batch_size=40, steps=1))
        assert len(rows) == 1 and rows[0]["loss"] < 10
        assert rows[0]["diverged"] and "weights became inf or nan at step 1" in rows[0]["reason"]


def test_bad_settings_raise_value_error(mnist):
    X, y, _, _ = mnist
    params = init_mlp([784, 8, 10])
    for kw, match in [(dict(optimizer="lbfgs"), "optimizer"), (dict(lr=-1), "lr"),
                      (dict(lr=float("nan")), "lr"), (dict(lr=1e39), "lr"), (dict(batch_size=0), "batch_size"),
                      (dict(epochs=0), "epochs"), (dict(optimizer="sgd", momentum=1.0), "momentum"),
                      (dict(activation="swish"), "activation")]:
        with pytest.raises(ValueError, match=match):
            next(train_scratch(params, X[:10], y[:10], **kw))
    with pytest.raises(ValueError, match="labels"):
        next(train_torch(params, X[:10], y[:9]))
    with pytest.raises(ValueError, match="float64"):
        next(train_scratch(params, X[:10].double(), y[:10]))


def test_batch_larger_than_dataset_is_one_batch(mnist):
    X, y, _, _ = mnist
    rows = list(train_scratch(init_mlp([784, 8, 10]), X[:10], y[:10], batch_size=64, epochs=3))
    assert [m["batch_size"] for m in rows] == [10, 10, 10]


# ---------------------------------------------------------------- metrics


def test_confusion_matrix_counts():
    y_true = torch.tensor([0, 0, 1, 2, 2, 2])
    y_pred = torch.tensor([0, 1, 1, 2, 0, 2])
    cm = confusion_matrix(y_true, y_pred)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert confusion_matrix(y_true, y_pred, n_classes=4).shape == (4, 4)
    assert per_class_accuracy(cm).tolist() == pytest.approx([0.5, 1.0, 2 / 3])
    assert accuracy(y_pred, y_true) == pytest.approx(cm.trace().item() / cm.sum().item()) == pytest.approx(4 / 6)


def test_metrics_match_torch_model(mnist):
    _, _, Xt, yt = mnist
    params = init_mlp([784, 32, 10], seed=7)
    model = to_torch_sequential(params)
    with torch.no_grad():
        logits = model(Xt)
    assert torch.allclose(logits_of(params, Xt), logits, atol=1e-5)
    assert evaluate_loss(params, Xt, yt) == pytest.approx(F.cross_entropy(logits, yt).item(), abs=1e-5)
    assert evaluate_loss(model, Xt, yt) == pytest.approx(F.cross_entropy(logits, yt).item(), abs=1e-6)
    assert torch.equal(predictions(model, Xt), logits.argmax(1))
    result = evaluate(params, Xt, yt)
    assert result["acc"] == accuracy(logits, yt)
    cm = confusion_matrix(yt, predictions(params, Xt), n_classes=10)
    assert cm.sum() == len(yt) and cm.sum(dim=1).tolist() == torch.bincount(yt, minlength=10).tolist()


def test_logits_in_chunks_equal_one_pass(mnist):
    _, _, Xt, _ = mnist
    params = init_mlp([784, 16, 10], seed=0)
    whole = forward(params, Xt)[0]
    assert torch.allclose(logits_of(params, Xt, chunk=300), whole, atol=1e-6)


def test_max_weight_difference_sees_a_change():
    params = init_mlp([3, 4, 2], seed=0)
    model = to_torch_sequential(params)
    assert max_weight_difference(params, model) == 0
    params[1]["b"][1] += 0.25
    assert max_weight_difference(params, model) == pytest.approx(0.25)


def test_both_trainings_run_the_one_loop_and_the_one_step(monkeypatch):
    """train_scratch and train_torch share core.train.loop; the scratch side steps with train_step."""
    import core.train as train_mod
    seen = []
    real_loop, real_step = train_mod.loop, train_mod.train_step
    monkeypatch.setattr(train_mod, "loop", lambda *a: seen.append("loop") or real_loop(*a))
    monkeypatch.setattr(train_mod, "train_step", lambda *a, **k: seen.append("step") or real_step(*a, **k))
    X, y = torch.randn(8, 4, generator=torch.Generator().manual_seed(0)), torch.arange(8) % 3
    params = init_mlp([4, 5, 3], seed=0)
    assert len(list(train_scratch(params, X, y, batch_size=4, steps=2))) == 2
    assert len(list(train_torch(params, X, y, batch_size=4, steps=2))) == 2
    assert seen == ["loop", "step", "step", "loop"]


@pytest.mark.parametrize("args,name,momentum,nesterov", [
    (dict(optimizer="nesterov"), "nesterov", 0.9, True), (dict(optimizer="momentum"), "momentum", 0.9, False),
    (dict(optimizer="sgd", momentum=0.5, nesterov=True), "nesterov", 0.5, True),
    (dict(optimizer="sgd", momentum=0.5), "momentum", 0.5, False), (dict(optimizer="sgd"), "sgd", 0.0, False)])
def test_config_takes_the_rules_own_settings_from_the_registry(args, name, momentum, nesterov):
    """Asked by name ("nesterov") or in torch.optim.SGD's spelling (sgd + momentum + nesterov), the config holds the
    rule's momentum and Nesterov flag, so both loops run the same rule: torch's SGD gets the same flags."""
    config = make_config(lr=0.05, **args)
    assert (config["optimizer"], config["momentum"], config["nesterov"]) == (name, momentum, nesterov)
    group = train.make_torch_optimizer(to_torch_sequential(init_mlp([3, 2], seed=0)), config).param_groups[0]
    assert (group["momentum"], group["nesterov"]) == (momentum, nesterov)
