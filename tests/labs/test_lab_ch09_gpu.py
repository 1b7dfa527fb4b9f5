"""labs.ch09_gpu: real timings are positive, FLOP counts are right, the GPU-absent path says so."""
import json

import pytest
import torch

from core import network
from labs import ch09_gpu as lab


def test_flop_counts():
    assert lab.matmul_flops(64, 784, 128) == 2 * 6_422_528  # the lesson's 6.4 million multiply-adds
    B = 64
    fwd = 2 * B * (784 * 128 + 128 * 10)
    assert lab.train_step_flops(B) == fwd + 2 * B * (784 * 128 + 128 * 10) + 2 * B * 128 * 10


def test_train_step_is_one_scratch_sgd_step():
    step = lab.make_train_step(8, "cpu", seed=3, lr=0.1)
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
    sweep = lab.measure_sweep("cpu", batches=(1, 64), budget_s=0.002, repeats=2)
    assert sweep["threads"] == torch.get_num_threads() >= 1
    assert [(r["op"], r["batch"]) for r in sweep["rows"]] == [("matmul", 1), ("matmul", 64),
                                                              ("train step", 1), ("train step", 64)]
    for r in sweep["rows"]:
        assert r["seconds"] > 0 and r["samples_per_s"] > 0 and r["gflops"] > 0 and r["calls"] >= 1
        assert r["samples_per_s"] == pytest.approx(r["batch"] / r["seconds"])


def test_sync_demo_on_cpu_has_both_timings():
    demo = lab.sync_demo("cpu", calls=20)
    assert demo["with_sync_s"] > 0 and demo["without_sync_s"] > 0 and demo["ratio"] > 0


def test_devices_and_gpu_absent_path(tmp_path):
    found = lab.devices()
    assert found[0] == "cpu"
    assert ("cuda" in found) == torch.cuda.is_available()
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no 'cuda' GPU"):
            lab.make_reference("cuda")
    assert lab.load_reference(tmp_path / "missing.json") is None
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": 99}))
    with pytest.raises(ValueError):
        lab.load_reference(bad)


def test_crossover_and_animation_counts():
    slow = {"rows": [{"op": "matmul", "batch": b, "samples_per_s": 100.0} for b in (1, 8, 64)]}
    fast = {"rows": [{"op": "matmul", "batch": b, "samples_per_s": r} for b, r in ((1, 10.0), (8, 99.0), (64, 500.0))]}
    assert lab.crossover(slow, fast, "matmul") == 64
    assert lab.crossover(fast, slow, "matmul") == 1
    assert lab.crossover(slow, slow, "matmul") is None
    times, counts = lab.batches_done({"a": 10.0, "b": 25.0}, 1.0, frames=4)
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


def test_shared_measurement_measures_once_for_many_callers_and_refuses_too_soon(monkeypatch):
    import threading
    import time
    calls = []

    def slow_measure(progress=None):
        calls.append(progress)
        time.sleep(0.2)  # long enough for every thread to arrive while it runs
        return {"n": len(calls)}

    monkeypatch.setattr(lab, "measure_all", slow_measure)
    slot = lab.SharedMeasurement(every_s=30)
    waited = []

    class Waiting:
        def __enter__(self):
            waited.append(1)

        def __exit__(self, *exc):
            return False

    threads = [threading.Thread(target=slot.ensure, kwargs=dict(waiting=Waiting)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and slot.result == {"n": 1} and len(waited) == 4  # one measured, four waited for it
    assert slot.too_soon()
    slot.ensure(force=True)  # measured seconds ago: no new measurement
    assert len(calls) == 1
    slot.every_s = 0
    slot.ensure(force=True)
    assert len(calls) == 2 and slot.result == {"n": 2} and not slot.too_soon()


def _sweep(rates, op="train step"):
    return {"rows": [{"op": op, "batch": b, "samples_per_s": r} for b, r in rates.items()]}


def test_race_bars_run_at_their_rates_for_the_slowest_bars_twenty_batches():
    cpu = _sweep({1: 500.0, 64: 6400.0})
    gpu = _sweep({1: 100.0, 64: 12800.0})
    race = lab.race([("this server, cpu", cpu, "measured")], {"GPU X": gpu}, cpu)
    assert list(race["rates"]) == ["this server, cpu, batch 64", "model: GPU X, batch 64",
                                   "this server, cpu, batch 1 (the same samples one at a time)"]
    assert race["rates"]["model: GPU X, batch 64"] == {"batch": 64, "samples_per_s": 12800.0, "steps_per_s": 200.0}
    assert race["duration"] == pytest.approx(20 * 64 / 500.0)  # the slowest bar trains 500 samples/s
    assert race["counts"]["this server, cpu, batch 1 (the same samples one at a time)"][-1] == 20 * 64
    assert race["counts"]["this server, cpu, batch 64"][-1] == 20 * 64 * 6400 // 500


def test_crossovers_and_the_prediction_read_the_sweeps():
    cpu = _sweep({1: 500.0, 16: 1000.0, 64: 2000.0})
    models = {"GPU X": _sweep({1: 100.0, 16: 900.0, 64: 9000.0}), "GPU Y": _sweep({1: 100.0, 16: 2000.0})}
    result = {"devices": ["cpu"], "sweeps": {"cpu": cpu}}
    x = lab.crossovers(result, None, models, "train step")
    assert x["here"] == {} and x["reference"] is None and x["models"] == {"GPU X": (16, 64), "GPU Y": (1, 16)}
    assert x["rule"] == 13 and x["rule_inside"] == {"GPU X": False, "GPU Y": True}  # 784 x 13 > 10,000
    p = lab.race_prediction(cpu, models["GPU X"], 1)
    assert (p["cpu"], p["gpu"], p["ratio"], p["faster"]) == (500.0, 100.0, 0.2, "cpu")
    assert lab.race_prediction(cpu, models["GPU X"], 16)["faster"] == "same"   # 0.9x
    assert lab.race_prediction(cpu, models["GPU X"], 64)["faster"] == "gpu"
