"""A roofline model of the training step on named GPUs: an estimate from datasheet figures, not a measurement.

Where no GPU is present the page cannot time one, so it estimates. For every kernel (one GPU program) that
one training step of the 784-128-10 network launches:

    kernel time = max(FLOPs / peak FLOP/s, bytes moved / memory bandwidth) + launch overhead

(the "roofline": a kernel is limited either by arithmetic or by memory traffic, whichever takes longer), and
the step adds the copy of the batch from the computer's memory to the GPU over PCIe:

    copy time   = batch bytes / PCIe bandwidth (one direction) + launch overhead per copy

The kernels, their FLOPs and their bytes are not typed in: they are counted by running the project's own
step (core.throughput.make_train_step) on torch's "meta" device, which records every operation with its
shapes and computes nothing. Assumptions, stated on the page: every operation that is not a view or a bare
allocation (torch.empty) is one kernel;
a kernel reads all its inputs from GPU memory and writes all its outputs (no cache reuse); a matrix
product [M, K] @ [K, N] costs 2*M*K*N FLOPs, any other operation one FLOP per element; launches, copies and
kernels do not overlap; the GPU reaches its datasheet peak. Real GPUs reach less than peak, and overlap
some launches with work, so the model is a rough bound, labelled as such wherever it is shown.
"""
import functools
import math

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from core import throughput

FLOAT_BYTES = 4  # float32
LABEL_BYTES = 8  # int64 class labels

# Datasheet figures (FP32 without tensor cores, since the step runs in float32) and where they come from.
GPUS = {
    "NVIDIA T4": {
        "fp32_tflops": 8.1, "memory_gb_s": 320.0, "pcie_gen": 3, "pcie_lanes": 16,
        "sources": ["https://sysrqmts.com/en/gpus/nvidia/tesla/t4",
                    "https://manualmachine.com/pny/tcst4mpb/8129101-user-manual"],
        "note": "FP32 8.1 TFLOPS (8.141 in the first source), memory up to 320 GB/s, PCI Express Gen3 x16",
    },
    "NVIDIA A100 40GB (SXM4)": {
        "fp32_tflops": 19.5, "memory_gb_s": 1555.0, "pcie_gen": 4, "pcie_lanes": 16,
        "sources": ["https://glennklockwood.com/garden/processors/A100",
                    "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/"
                    "nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf"],
        "note": "FP32 19.5 TFLOPS, HBM2 1.555 TB/s, PCIe Gen4 32+32 GB/s (NVIDIA's datasheet, as cited by the first source)",
    },
    "NVIDIA H100 SXM": {
        "fp32_tflops": 67.0, "memory_gb_s": 3350.0, "pcie_gen": 5, "pcie_lanes": 16,
        "sources": ["https://archive-lib.hpctech.co.jp/gpuproduct/nvidia-h100.html",
                    "https://glennklockwood.com/garden/processors/h100"],
        "note": "FP32 67 TFLOPS, HBM3 3,350 GB/s, PCIe Gen5 128 GB/s (both directions together)",
    },
}

# Not a datasheet figure: the time to start one kernel (driver, queue, scheduling). Figures quoted range
# from about 5 to 50 microseconds; the page lets you choose, and labels the choice as an assumption.
LAUNCH_OVERHEAD_US = (2, 5, 10, 20, 50)
DEFAULT_LAUNCH_US = 10
LAUNCH_SOURCES = ["http://www.mrgr.cn/news/96698.html",
                  "https://groundy.com/articles/every-cuda-kernel-pays-a-launch-tax-the-host-to-device-walkthrough/"]

# PCI Express: transfers per second per lane (GT/s) by generation; Gen3 and later encode 128 bits in 130.
PCIE_GT_S = {3: 8.0, 4: 16.0, 5: 32.0}


def pcie_gb_s(gen, lanes=16):
    """Bandwidth of a PCIe link in one direction, GB/s: GT/s per lane x lanes x 128/130 (encoding) / 8 bits."""
    return PCIE_GT_S[gen] * lanes * 128 / 130 / 8


# ------------------------------------------------------------- counting work
def _flops(func, inputs, outputs):
    """FLOPs of one operation: 2*M*K*N for a matrix product, else one per element of the largest tensor."""
    if func.__name__.startswith("mm"):
        (M, K), (_, N) = inputs[0].shape, inputs[1].shape
        return 2 * M * K * N
    return max(t.numel() for t in inputs + outputs)


class _KernelRecorder(TorchDispatchMode):
    """Records every operation torch dispatches: its name, FLOPs and bytes read + written."""

    def __init__(self):
        super().__init__()
        self.kernels = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        written_only = [id(t) for t in tree_flatten(kwargs.get("out"))[0]]  # an out= tensor is written, not read
        inputs = [t for t in tree_flatten((args, kwargs))[0]
                  if isinstance(t, torch.Tensor) and id(t) not in written_only]
        outputs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        # a view (permute, view, ...) returns an alias it does not write to, and launches no kernel;
        # an in-place operation (add_, index_put_) also returns an alias, but one it wrote to
        is_view = any(r.alias_info is not None and not r.alias_info.is_write for r in func._schema.returns)
        is_scalar = not inputs and all(t.dim() == 0 for t in outputs)  # a Python number wrapped as a tensor
        is_allocation = func.__name__.startswith("empty")  # memory from the allocator: no kernel runs
        if not (is_view or is_scalar or is_allocation):
            moved = sum(t.numel() * t.element_size() for t in inputs + outputs)
            self.kernels.append({"op": str(func), "flops": _flops(func, inputs, outputs), "bytes": moved})
        return out


def record_kernels(fn):
    """[{"op", "flops", "bytes"}, ...]: the kernels one call of fn launches (run on meta tensors: no arithmetic)."""
    recorder = _KernelRecorder()
    with recorder:
        fn()
    return recorder.kernels


@functools.lru_cache(maxsize=64)
def workload_kernels(op, B, sizes=throughput.SIZES):
    """The kernels of one `op` ("train step" or "matmul") at batch B, counted from the project's own code.

    A tuple, computed once per (op, B, sizes) and shared: read it, never change it.
    """
    if op == "train step":
        fn = throughput.make_train_step(B, "meta", sizes=sizes)
        fn()  # a first step (some state is created on the first call); the second one is recorded
    else:
        fn = throughput.make_matmul(B, sizes[0], sizes[1], "meta")
    return tuple(record_kernels(fn))


def batch_bytes(op, B, features=throughput.SIZES[0]):
    """Bytes copied to the GPU for one step: the inputs x [B, 784] float32, plus labels y [B] int64 for training."""
    return B * features * FLOAT_BYTES + (B * LABEL_BYTES if op == "train step" else 0)


# --------------------------------------------------------------- the estimate
def estimate(kernels, gpu, launch_s, copy_bytes=0, copies=0):
    """Seconds for one step on `gpu` (a GPUS entry), split into its parts.

    Returns {"kernels", "flops", "bytes", "compute_s" (kernels limited by arithmetic), "memory_s" (kernels
    limited by memory traffic), "launch_s", "copy_s", "total_s", "bound_by"}.
    """
    peak = gpu["fp32_tflops"] * 1e12  # FLOP/s
    bandwidth = gpu["memory_gb_s"] * 1e9  # bytes/s
    compute_s = memory_s = 0.0
    for k in kernels:
        t_compute, t_memory = k["flops"] / peak, k["bytes"] / bandwidth
        if t_compute >= t_memory:
            compute_s += t_compute
        else:
            memory_s += t_memory
    launch_s_total = len(kernels) * launch_s
    copy_s = copy_bytes / (pcie_gb_s(gpu["pcie_gen"], gpu["pcie_lanes"]) * 1e9) + copies * launch_s
    parts = {"compute_s": compute_s, "memory_s": memory_s, "launch_s": launch_s_total, "copy_s": copy_s}
    names = {"compute_s": "arithmetic", "memory_s": "memory traffic", "launch_s": "kernel launches",
             "copy_s": "PCIe copy"}
    return {"kernels": len(kernels), "flops": sum(k["flops"] for k in kernels),
            "bytes": sum(k["bytes"] for k in kernels), **parts, "total_s": sum(parts.values()),
            "bound_by": names[max(parts, key=parts.get)]}


def model_sweep(gpu_name, batches=throughput.DEFAULT_BATCHES, launch_us=DEFAULT_LAUNCH_US, copy_batch=True):
    """The model's answer for both workloads at every batch size, in measure_sweep's format (so the page's
    tables, charts and crossover work on it unchanged), each row with its "estimate" attached."""
    gpu = GPUS[gpu_name]
    rows = []
    for op in ("matmul", "train step"):
        for B in batches:
            kernels = workload_kernels(op, B)
            copies = (2 if op == "train step" else 1) if copy_batch else 0
            est = estimate(kernels, gpu, launch_us * 1e-6, batch_bytes(op, B) if copy_batch else 0, copies)
            flops = throughput.train_step_flops(B) if op == "train step" else throughput.matmul_flops(
                B, *throughput.LESSON_MATMUL[1:])
            rows.append({"op": op, "batch": B, "shape": _shape(op, B), "seconds": est["total_s"],
                         "samples_per_s": B / est["total_s"], "gflops": flops / est["total_s"] / 1e9,
                         "calls": 0, "estimate": est})
    return {"device": "model", "device_name": f"{gpu_name} (roofline model)", "rows": rows,
            "launch_us": launch_us, "copy_batch": copy_batch}


def _shape(op, B):
    F, H = throughput.LESSON_MATMUL[1:]
    return f"[{B}, {F}] @ [{F}, {H}]" if op == "matmul" else f"{'-'.join(map(str, throughput.SIZES))}, batch {B}"


def model_crossover(cpu_sweep, gpu_model, op):
    """(last measured batch where the model GPU loses, first where it wins) against the measured CPU.

    Either is None when there is none among the batch sizes both cover.
    """
    cpu, gpu = throughput.rate_table(cpu_sweep, op), throughput.rate_table(gpu_model, op)
    shared = sorted(set(cpu) & set(gpu))
    wins = [B for B in shared if gpu[B] > cpu[B]]
    first_win = wins[0] if wins else None
    losses = [B for B in shared if first_win is None or B < first_win]
    return (losses[-1] if losses else None), first_win


def rule_of_thumb_batch(features=throughput.SIZES[0], threshold=10_000):
    """The smallest batch B with B x features > threshold: where the rule of thumb says the GPU starts to win."""
    return math.floor(threshold / features) + 1
