"""labs.ch09_gpu: the roofline estimate's arithmetic, its counts from the real step, its shape, its crossover."""
import pytest
import torch

from labs import ch09_gpu as lab
from labs import ch09_gpu

TOY_GPU = {"fp32_tflops": 1.0, "memory_gb_s": 100.0, "pcie_gen": 3, "pcie_lanes": 16}


def test_pcie_bandwidth_from_generation_and_lanes():
    assert lab.pcie_gb_s(3, 16) == pytest.approx(8 * 16 * 128 / 130 / 8)  # 15.75 GB/s
    assert lab.pcie_gb_s(4, 16) == pytest.approx(2 * lab.pcie_gb_s(3, 16))
    assert lab.pcie_gb_s(5, 8) == pytest.approx(lab.pcie_gb_s(4, 16))
    # the datasheets' "both directions together" figures are twice one direction, rounded
    assert round(2 * lab.pcie_gb_s(4, 16)) == 63 and round(2 * lab.pcie_gb_s(5, 16)) == 126


def test_estimate_matches_hand_computation():
    kernels = [{"op": "mm", "flops": 2_000_000, "bytes": 10_000},  # 2 us of arithmetic vs 0.1 us of memory
               {"op": "add", "flops": 1_000, "bytes": 1_000_000}]  # 0.001 us of arithmetic vs 10 us of memory
    copy_bytes = lab.pcie_gb_s(3, 16) * 1e9 * 1e-6  # exactly 1 us over PCIe Gen3 x16
    est = lab.estimate(kernels, TOY_GPU, launch_s=4e-6, copy_bytes=copy_bytes, copies=1)
    assert est["kernels"] == 2 and est["flops"] == 2_001_000 and est["bytes"] == 1_010_000
    assert est["compute_s"] == pytest.approx(2e-6)
    assert est["memory_s"] == pytest.approx(10e-6)
    assert est["launch_s"] == pytest.approx(8e-6)
    assert est["copy_s"] == pytest.approx(1e-6 + 4e-6)
    assert est["total_s"] == pytest.approx(25e-6)
    assert est["bound_by"] == "memory traffic"


def test_kernels_are_counted_from_the_projects_own_step():
    for B in (1, 64):
        kernels = lab.workload_kernels("train step", B)
        mms = [k for k in kernels if k["op"].startswith("aten.mm")]
        assert len(mms) == 5  # forward: 2 layers; backward: dW for both layers, dh for the second
        assert sum(k["flops"] for k in mms) == ch09_gpu.train_step_flops(B)  # 2*B*in*out forward, twice that backward
        assert mms[0]["flops"] == 2 * B * 784 * 128 and mms[0]["bytes"] == 4 * (B * 784 + 784 * 128 + B * 128)
        updates = [k for k in kernels if k["op"] == "aten.add_.Tensor"]  # SGD: p += -lr * g on W1, b1, W2, b2
        assert [k["bytes"] for k in updates] == [3 * 4 * n for n in (784 * 128, 128, 128 * 10, 10)]
        assert not any("permute" in k["op"] for k in kernels)  # transposes are views: no kernel
        assert not any(k["op"].startswith("aten.empty") for k in kernels)  # allocations launch nothing
    assert len(lab.workload_kernels("train step", 1)) == len(lab.workload_kernels("train step", 256))  # any batch
    (mm,) = lab.workload_kernels("matmul", 16)
    assert mm["flops"] == ch09_gpu.matmul_flops(16, 784, 128) and mm["bytes"] == 4 * (16 * 784 + 784 * 128 + 16 * 128)
    assert lab.batch_bytes("train step", 64) == 64 * 784 * 4 + 64 * 8 and lab.batch_bytes("matmul", 64) == 64 * 784 * 4


def test_model_behaves_monotonically():
    batches = (1, 16, 64, 256, 1024)
    sweeps = {name: lab.model_sweep(name, batches) for name in lab.GPUS}
    for sweep in sweeps.values():
        for op in ("matmul", "train step"):
            rows = [r for r in sweep["rows"] if r["op"] == op]
            times = [r["seconds"] for r in rows]
            rates = [r["samples_per_s"] for r in rows]
            assert times == sorted(times) and rates == sorted(rates)  # more work: longer, but more per second
            if op == "train step":  # batch 1: the launches outweigh everything else
                assert rows[0]["estimate"]["bound_by"] == "kernel launches"
                assert rows[0]["estimate"]["launch_s"] > 10 * (rows[0]["estimate"]["compute_s"]
                                                               + rows[0]["estimate"]["memory_s"])
    t4, a100, h100 = (ch09_gpu.rate_table(sweeps[n], "train step") for n in lab.GPUS)
    assert all(t4[B] <= a100[B] <= h100[B] for B in batches)  # faster datasheet, never slower
    slow = ch09_gpu.rate_table(lab.model_sweep("NVIDIA T4", batches, launch_us=50), "train step")
    assert all(slow[B] < t4[B] for B in batches)
    no_copy = ch09_gpu.rate_table(lab.model_sweep("NVIDIA T4", batches, copy_batch=False), "train step")
    assert all(no_copy[B] > t4[B] for B in batches)


def test_crossover_found_by_the_model():
    model = lab.model_sweep("NVIDIA T4", (1, 16, 64, 256))
    gpu = ch09_gpu.rate_table(model, "train step")
    assert gpu[16] < 100_000 < gpu[64]  # the model's own numbers put the switch between 16 and 64 ...

    def cpu(rate):
        return {"rows": [{"op": "train step", "batch": B, "samples_per_s": rate} for B in (1, 16, 64, 256)]}

    assert lab.model_crossover(cpu(100_000), model, "train step") == (16, 64)  # ... and the crossover finds it
    assert lab.model_crossover(cpu(1.0), model, "train step") == (None, 1)
    assert lab.model_crossover(cpu(1e12), model, "train step") == (256, None)


def test_rule_of_thumb_batch():
    assert lab.rule_of_thumb_batch() == 13  # 13 x 784 = 10,192 > 10,000 >= 12 x 784
    assert lab.rule_of_thumb_batch(features=100) == 101


def test_meta_counting_leaves_the_global_generator_alone():
    state = torch.get_rng_state()
    lab.workload_kernels("train step", 8)
    assert torch.equal(torch.get_rng_state(), state)


def test_race_rates_units():
    sweep = {"rows": [{"op": "train step", "batch": 1, "samples_per_s": 6600.0},
                      {"op": "train step", "batch": 64, "samples_per_s": 64_000.0}]}
    race = ch09_gpu.race_rates([("a", sweep, 64), ("b", sweep, 1), ("c", sweep, 256)])
    assert race == {"a": {"batch": 64, "samples_per_s": 64_000.0, "steps_per_s": 1000.0},
                    "b": {"batch": 1, "samples_per_s": 6600.0, "steps_per_s": 6600.0}}
