"""labs.ch09_gpu: real timings are positive, FLOP counts are right, the GPU-absent path says so."""
import json

import pytest
import torch

from core import network
from labs import ch09_gpu as T


def test_flop_counts():
    assert T.matmul_flops(64, 784, 128) == 2 * 6_422_528  # the lesson's 6.4 million multiply-adds
    B = 64
    fwd = 2 * B * (784 * 128 + 128 * 10)
    assert T.train_step_flops(B) == fwd + 2 * B * (784 * 128 + 128 * 10) + 2 * B * 128 * 10


def test_train_step_is_one_scratch_sgd_step():
    step = T.make_train_step(8, "cpu", seed=3, lr=0.1)
    before = network.init_mlp([784, 128, 10], seed=3)
    step()
    # the closure's weights moved: compare with torch.optim.SGD on the same batch
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(8, 784, generator=gen)
    y = torch.randint(0, 10, (8,), generator=gen)
    model = network.to_torch_sequential(before)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    after = network.from_torch_sequential(model)
    for mine, ref in zip(step.params, after):
        assert torch.allclose(mine["W"], ref["W"], atol=1e-6) and torch.allclose(mine["b"], ref["b"], atol=1e-6)


def test_sweep_returns_positive_rates():
    sweep = T.measure_sweep("cpu", batches=(1, 64), budget_s=0.002, repeats=2)
    assert sweep["threads"] == torch.get_num_threads() >= 1
    assert [(r["op"], r["batch"]) for r in sweep["rows"]] == [("matmul", 1), ("matmul", 64),
                                                              ("train step", 1), ("train step", 64)]
    for r in sweep["rows"]:
        assert r["seconds"] > 0 and r["samples_per_s"] > 0 and r["gflops"] > 0 and r["calls"] >= 1
        assert r["samples_per_s"] == pytest.approx(r["batch"] / r["seconds"])


def test_sync_demo_on_cpu_has_both_timings():
    demo = T.sync_demo("cpu", calls=20)
    assert demo["with_sync_s"] > 0 and demo["without_sync_s"] > 0 and demo["ratio"] > 0


def test_devices_and_gpu_absent_path(tmp_path):
    found = T.devices()
    assert found[0] == "cpu"
    assert ("cuda" in found) == torch.cuda.is_available()
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no 'cuda' GPU"):
            T.make_reference("cuda")
    assert T.load_reference(tmp_path / "missing.json") is None
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": 99}))
    with pytest.raises(ValueError):
        T.load_reference(bad)


def test_crossover_and_animation_counts():
    slow = {"rows": [{"op": "matmul", "batch": b, "samples_per_s": 100.0} for b in (1, 8, 64)]}
    fast = {"rows": [{"op": "matmul", "batch": b, "samples_per_s": r} for b, r in ((1, 10.0), (8, 99.0), (64, 500.0))]}
    assert T.crossover(slow, fast, "matmul") == 64
    assert T.crossover(fast, slow, "matmul") == 1
    assert T.crossover(slow, slow, "matmul") is None
    times, counts = T.batches_done({"a": 10.0, "b": 25.0}, 1.0, frames=4)
    assert times == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert counts == {"a": [0, 2, 5, 7, 10], "b": [0, 6, 12, 18, 25]}


def test_gpu_reference_script_refuses_without_gpu(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    import subprocess
    import sys
    out = tmp_path / "ref.json"
    proc = subprocess.run([sys.executable, "bench/gpu_reference.py", "--out", str(out)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "No GPU here" in proc.stderr and not out.exists()
