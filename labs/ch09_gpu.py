"""CPU vs GPU: measure, on the machine running this code, how fast the network's arithmetic goes.

Two workloads, for a sweep of batch sizes B:
    matmul      x [B, 784] @ W [784, 128]                  the first layer, the lesson's 64 x 784 @ 784 x 128
    train step  forward + hand-written backward + SGD on the 784-128-10 network (core.network,
                core.backward, core.optim), exactly one step of the from-scratch training loop

Rates are given as samples per second (B / seconds per call) and GFLOP/s (matrix-multiply
floating-point operations per second / 1e9; the element-wise work is small and not counted).

A GPU works asynchronously: `x @ W` on "cuda" only *queues* the work and Python moves on at once.
A timer must therefore wait for the queue to empty (`synchronize`) before it reads the clock,
otherwise it measures how fast Python can hand out work, not how fast the GPU does it.
On the CPU every operation has finished when Python gets control back, so there is nothing to wait for.
"""
import contextlib
import functools
import json
import math
import os
import platform
import threading
import time
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from core.backward import backward
from core.network import forward, init_mlp
from core.optim import sgd_step

SIZES = (784, 128, 10)                    # the lesson's network
LESSON_MATMUL = (64, 784, 128)            # x [64, 784] @ W1 [784, 128]
DEFAULT_BATCHES = (1, 16, 64, 256, 1024, 4096)
REFERENCE_FILE = Path(__file__).resolve().parent.parent / "bench" / "gpu_reference.json"
SCHEMA = 1


# ------------------------------------------------------------------ devices
def devices():
    """The devices torch can use here: always "cpu", plus "cuda" (NVIDIA) or "mps" (Apple) when present."""
    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found


def device_name(device):
    """A readable name for a device."""
    if device == "cuda":
        return torch.cuda.get_device_name()
    if device == "mps":
        return "Apple GPU (MPS)"
    return platform.processor() or platform.machine() or "CPU"


def synchronize(device):
    """Wait until every operation queued on `device` has finished (nothing to wait for on the CPU)."""
    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


# ------------------------------------------------------------ counting work
def matmul_flops(B, F, H):
    """Floating-point operations of [B, F] @ [F, H]: each of the B*H outputs needs F multiplies and F adds."""
    return 2 * B * F * H


def train_step_flops(B, sizes=SIZES):
    """Matmul FLOPs of one training step: forward x @ W per layer, backward h.T @ dz (dW) per layer
    and dz @ W.T (dh) for every layer but the first (nobody needs the gradient of the input)."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    forward_flops = sum(matmul_flops(B, i, o) for i, o in pairs)
    grad_W = sum(matmul_flops(B, i, o) for i, o in pairs)
    grad_h = sum(matmul_flops(B, i, o) for i, o in pairs[1:])
    return forward_flops + grad_W + grad_h


# ---------------------------------------------------------------- workloads
def make_matmul(B, F, H, device, seed=0):
    """A function that computes x [B, F] @ W [F, H] on `device` (random numbers, drawn once)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(B, F, generator=gen).to(device)
    W = torch.randn(F, H, generator=gen).to(device)
    return lambda: x @ W  # [B, F] @ [F, H] -> [B, H]


def make_train_step(B, device, seed=0, sizes=SIZES, lr=0.01):
    """A function that does one from-scratch training step of a `sizes` network on a random batch of B."""
    gen = torch.Generator().manual_seed(seed)
    params = init_mlp(list(sizes), seed=seed, device=device)
    x = torch.rand(B, sizes[0], generator=gen).to(device)  # [B, 784], pixel-like values in [0, 1)
    y = torch.randint(0, sizes[-1], (B,), generator=gen).to(device)  # [B] labels
    state = {}

    def step():
        logits, cache = forward(params, x)  # [B, 10]
        grads = backward(params, cache, y)  # like params
        sgd_step(params, grads, state, lr)  # weights change in place
    step.params = params  # so a test can look at the weights
    return step


# ------------------------------------------------------------------ timing
def time_call(fn, device, budget_s=0.02, repeats=3, sync=True):
    """Seconds one call of fn takes on `device`: best of `repeats` rounds of n calls each.

    n is chosen so that a round lasts about budget_s. With sync=False the clock is read as soon
    as Python has *issued* the n calls (the mistake); the queue is drained afterwards, untimed.
    Returns (seconds per call, n).
    """
    fn()
    synchronize(device)  # warm-up: the first call pays for allocation and library start-up
    one = math.inf
    for _ in range(2):  # how long does one call take? (the faster of two, in case one was interrupted)
        start = time.perf_counter()
        fn()
        synchronize(device)
        one = min(one, time.perf_counter() - start)
    n = max(1, min(10_000, int(budget_s / max(one, 1e-7))))
    best = math.inf
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        for _ in range(n):
            fn()
        if sync:
            synchronize(device)
        best = min(best, (time.perf_counter() - start) / n)
        synchronize(device)  # let the device finish before the next round (not timed)
    return best, n


def measure_sweep(device="cpu", batches=DEFAULT_BATCHES, budget_s=0.02, repeats=3, progress=None, seed=0):
    """Time both workloads for every batch size on `device`.

    Returns {"device", "device_name", "threads", "torch", "rows": [{"op", "batch", "shape", "seconds",
    "samples_per_s", "gflops", "calls"}, ...]}. progress(fraction, text) is called after each timing.
    """
    F, H = LESSON_MATMUL[1:]
    jobs = [("matmul", B) for B in batches] + [("train step", B) for B in batches]
    rows = []
    for i, (op, B) in enumerate(jobs):
        if op == "matmul":
            fn, flops, shape = make_matmul(B, F, H, device, seed), matmul_flops(B, F, H), f"[{B}, {F}] @ [{F}, {H}]"
        else:
            fn, flops = make_train_step(B, device, seed), train_step_flops(B)
            shape = f"{'-'.join(map(str, SIZES))}, batch {B}"
        seconds, calls = time_call(fn, device, budget_s, repeats)
        rows.append({"op": op, "batch": B, "shape": shape, "seconds": seconds, "samples_per_s": B / seconds,
                     "gflops": flops / seconds / 1e9, "calls": calls})
        if progress:
            progress((i + 1) / len(jobs), f"{device}: {op}, batch {B}")
    return {"device": device, "device_name": device_name(device), "threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(), "torch": torch.__version__, "rows": rows}


def sync_demo(device="cpu", size=LESSON_MATMUL, calls=200, seed=0):
    """Time `calls` matmuls of `size` = (B, F, H) twice: waiting for the device, and not waiting.

    Returns {"device", "size", "calls", "with_sync_s", "without_sync_s", "ratio"} (total seconds for all calls;
    ratio = with / without). On the CPU the two agree up to noise: there is no queue to forget.
    """
    fn = make_matmul(*size, device, seed)
    fn()
    synchronize(device)
    out = {"device": device, "size": list(size), "calls": calls}
    for key, sync in (("with_sync_s", True), ("without_sync_s", False)):
        synchronize(device)
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        if sync:
            synchronize(device)
        out[key] = time.perf_counter() - start
        synchronize(device)
    out["ratio"] = out["with_sync_s"] / out["without_sync_s"]
    return out


def measure_all(batches=DEFAULT_BATCHES, budget_s=0.02, progress=None, seed=0):
    """The page's measurement: a sweep on every device found here, plus the sync demo on each.

    Returns {"devices": [...], "sweeps": {device: measure_sweep(...)}, "sync": {device: sync_demo(...)},
    "seconds": wall time of the whole measurement}.
    """
    start = time.perf_counter()
    found = devices()
    sweeps, sync = {}, {}
    for k, device in enumerate(found):
        def part(fraction, text, k=k):
            if progress:
                progress((k + fraction) / len(found), text)
        sweeps[device] = measure_sweep(device, batches, budget_s, progress=part, seed=seed)
        sync[device] = sync_demo(device, seed=seed)
    return {"devices": found, "sweeps": sweeps, "sync": sync, "seconds": time.perf_counter() - start}


class SharedMeasurement:
    """One measure_all result shared by every session of a server, replaced at most every `every_s` seconds.

    Readers only read .result (a new dict on every measurement, never edited); only the caller holding the lock
    measures, so 30 students opening the page at once cause one measurement.
    """

    def __init__(self, every_s=30):
        self.lock, self.result, self.at, self.every_s = threading.Lock(), None, 0.0, every_s

    def age(self):
        """Seconds since the last measurement."""
        return time.time() - self.at

    def too_soon(self):
        """True when a measurement exists and is younger than every_s (a new one is refused)."""
        return self.result is not None and self.age() < self.every_s

    def ensure(self, force=False, measuring=contextlib.nullcontext, waiting=contextlib.nullcontext):
        """Measure if nothing was measured yet (or with force, if the last one is at least every_s old).

        measuring(): a context manager around this caller's measurement that yields measure_all's progress
        callback (or None); waiting(): one around waiting for another caller's measurement to finish.
        """
        if self.result is not None and not force:
            return
        if not self.lock.acquire(blocking=False):
            with waiting(), self.lock:
                pass
            return
        try:
            if self.result is None or self.age() >= self.every_s:
                with measuring() as progress:
                    result = measure_all(progress=progress)
                self.result, self.at = result, time.time()
        finally:
            self.lock.release()


# ------------------------------------------------------------- reading them
def rate_table(sweep, op, key="samples_per_s"):
    """{batch: rate} for one workload of a sweep."""
    return {row["batch"]: row[key] for row in sweep["rows"] if row["op"] == op}


def crossover(slow_sweep, fast_sweep, op):
    """The smallest batch at which fast_sweep beats slow_sweep in samples/s for `op`
    (None if never, on the batches both measured)."""
    a, b = rate_table(slow_sweep, op), rate_table(fast_sweep, op)
    for B in sorted(set(a) & set(b)):
        if b[B] > a[B]:
            return B
    return None


def race_rates(bars, op="train step"):
    """For the race chart: {label: {"batch", "steps_per_s", "samples_per_s"}} for bars = [(label, sweep, batch)].

    A sweep row gives samples/s at a batch size; one step trains `batch` samples, so steps/s = samples/s / batch.
    Bars whose sweep has no row at that batch are left out.
    """
    out = {}
    for label, sweep, B in bars:
        rate = rate_table(sweep, op).get(B)
        if rate:
            out[label] = {"batch": B, "samples_per_s": rate, "steps_per_s": rate / B}
    return out


def batches_done(rates, duration_s, frames=40):
    """For an animation: how many batches each device has finished at evenly spaced times.

    rates: {label: batches per second}. Returns (times [frames + 1] in seconds, {label: [counts]}).
    """
    times = [duration_s * k / frames for k in range(frames + 1)]
    return times, {label: [math.floor(rate * t) for t in times] for label, rate in rates.items()}


def make_reference(device, batches=DEFAULT_BATCHES, budget_s=0.2, progress=None):
    """Everything bench/gpu_reference.py records on a GPU machine: the sweep on its GPU and on its own CPU,
    and the synchronize demo at the lesson's size and at a large size. The page reads this with load_reference."""
    if device not in devices() or device == "cpu":
        raise RuntimeError(f"no {device!r} GPU here: torch.cuda.is_available() = {torch.cuda.is_available()}")
    return {
        "schema": SCHEMA,
        "recorded_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "script": "bench/gpu_reference.py",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": device,
        "device_name": device_name(device),
        "batches": list(batches),
        "gpu": measure_sweep(device, batches, budget_s, progress=progress),
        "cpu": measure_sweep("cpu", batches, budget_s, progress=progress),
        "sync": {"lesson": sync_demo(device, LESSON_MATMUL, calls=1000),
                 "large": sync_demo(device, (4096, 4096, 4096), calls=50)},
        "cpu_sync": sync_demo("cpu", LESSON_MATMUL, calls=1000),
    }


def load_reference(path=None):
    """The GPU figures recorded by bench/gpu_reference.py on a real GPU, or None if none were recorded."""
    path = Path(path or REFERENCE_FILE)
    if not path.exists():
        return None
    ref = json.loads(path.read_text())
    if ref.get("schema") != SCHEMA or "gpu" not in ref or "rows" not in ref["gpu"]:
        raise ValueError(f"{path} is not a gpu_reference.py file of schema {SCHEMA}")
    return ref


# ---------------------------------------------------------------------------
# gpu_model (was labs/ch09_gpu.py)
# A roofline model of the training step on named GPUs: an estimate from datasheet figures, not a measurement.
# ---------------------------------------------------------------------------

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
        "note": "FP32 19.5 TFLOPS, HBM2 1.555 TB/s, PCIe Gen4 32+32 GB/s "
                "(NVIDIA's datasheet, as cited by the first source)",
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
def workload_kernels(op, B, sizes=SIZES):
    """The kernels of one `op` ("train step" or "matmul") at batch B, counted from the project's own code.

    A tuple, computed once per (op, B, sizes) and shared: read it, never change it.
    """
    if op == "train step":
        fn = make_train_step(B, "meta", sizes=sizes)
        fn()  # a first step (some state is created on the first call); the second one is recorded
    else:
        fn = make_matmul(B, sizes[0], sizes[1], "meta")
    return tuple(record_kernels(fn))


def batch_bytes(op, B, features=SIZES[0]):
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


def model_sweep(gpu_name, batches=DEFAULT_BATCHES, launch_us=DEFAULT_LAUNCH_US, copy_batch=True):
    """The model's answer for both workloads at every batch size, in measure_sweep's format (so the page's
    tables, charts and crossover work on it unchanged), each row with its "estimate" attached."""
    gpu = GPUS[gpu_name]
    rows = []
    for op in ("matmul", "train step"):
        for B in batches:
            kernels = workload_kernels(op, B)
            copies = (2 if op == "train step" else 1) if copy_batch else 0
            est = estimate(kernels, gpu, launch_us * 1e-6, batch_bytes(op, B) if copy_batch else 0, copies)
            flops = train_step_flops(B) if op == "train step" else matmul_flops(
                B, *LESSON_MATMUL[1:])
            rows.append({"op": op, "batch": B, "shape": _shape(op, B), "seconds": est["total_s"],
                         "samples_per_s": B / est["total_s"], "gflops": flops / est["total_s"] / 1e9,
                         "calls": 0, "estimate": est})
    return {"device": "model", "device_name": f"{gpu_name} (roofline model)", "rows": rows,
            "launch_us": launch_us, "copy_batch": copy_batch}


def model_sweeps(launch_us=DEFAULT_LAUNCH_US, copy_batch=True):
    """{gpu name: model_sweep(...)} for every GPU of the model (a pure function of the two assumptions)."""
    return {name: model_sweep(name, launch_us=launch_us, copy_batch=copy_batch) for name in GPUS}


def _shape(op, B):
    F, H = LESSON_MATMUL[1:]
    return f"[{B}, {F}] @ [{F}, {H}]" if op == "matmul" else f"{'-'.join(map(str, SIZES))}, batch {B}"


def model_crossover(cpu_sweep, gpu_model, op):
    """(last measured batch where the model GPU loses, first where it wins) against the measured CPU.

    Either is None when there is none among the batch sizes both cover.
    """
    cpu, gpu = rate_table(cpu_sweep, op), rate_table(gpu_model, op)
    shared = sorted(set(cpu) & set(gpu))
    wins = [B for B in shared if gpu[B] > cpu[B]]
    first_win = wins[0] if wins else None
    losses = [B for B in shared if first_win is None or B < first_win]
    return (losses[-1] if losses else None), first_win


def rule_of_thumb_batch(features=SIZES[0], threshold=10_000):
    """The smallest batch B with B x features > threshold: where the rule of thumb says the GPU starts to win."""
    return math.floor(threshold / features) + 1


# ---------------------------------------------------------------------------
# The page's tables, race and comparisons, read from a measurement (measure_all), the reference file
# (load_reference) and the model's sweeps ({gpu name: model_sweep(...)}).
# ---------------------------------------------------------------------------
def measured_series(result, reference=None):
    """[(label, sweep, source)]: each device measured here, then the reference file's GPU and CPU (if any).
    source is "measured", "reference GPU" or "reference CPU"."""
    series = [(f"this server, {d}", result["sweeps"][d], "measured") for d in result["devices"]]
    if reference:
        when = reference["recorded_utc"][:10]
        series.append((f"reference GPU: {reference['device_name']} ({when})", reference["gpu"], "reference GPU"))
        series.append((f"reference machine's CPU, {reference['cpu']['threads']} threads ({when})",
                       reference["cpu"], "reference CPU"))
    return series


def model_series(models):
    """[(label, sweep, "model")] for the model's sweeps {gpu name: model_sweep(...)}."""
    return [(f"model: {name} (roofline estimate, not measured)", sweep, "model") for name, sweep in models.items()]


def throughput_rows(series, op):
    """The throughput table: one row per (sweep, batch) of `op`, rounded for reading."""
    return [{"measured on": label, "batch": row["batch"], "work": row["shape"],
             "ms per call": round(row["seconds"] * 1e3, 4),
             "samples/s": round(row["samples_per_s"]), "GFLOP/s": round(row["gflops"], 2)}
            for label, sweep, _ in series for row in sweep["rows"] if row["op"] == op]


def spec_rows(gpus=None):
    """The datasheet table: one row per GPU of the model, with its PCIe bandwidth in one direction."""
    return [{"GPU": name, "FP32 peak (TFLOP/s)": g["fp32_tflops"], "memory bandwidth (GB/s)": g["memory_gb_s"],
             "PCIe": f"Gen{g['pcie_gen']} x{g['pcie_lanes']}",
             "PCIe, one direction (GB/s)": round(pcie_gb_s(g["pcie_gen"], g["pcie_lanes"]), 2),
             "datasheet says": g["note"]} for name, g in (gpus or GPUS).items()]


def model_rows(models, cpu_sweep, op):
    """The model's table for `op`: each GPU and batch, the estimate's parts (us) next to the CPU's measured rate."""
    cpu_rates = rate_table(cpu_sweep, op)
    rows = []
    for name, sweep in models.items():
        for row in sweep["rows"]:
            if row["op"] != op:
                continue
            e = row["estimate"]
            rows.append({
                "GPU (model)": name, "batch": row["batch"], "kernels": e["kernels"],
                "MFLOP": round(e["flops"] / 1e6, 3), "MB moved": round(e["bytes"] / 1e6, 3),
                "arithmetic (us)": round(e["compute_s"] * 1e6, 2), "memory (us)": round(e["memory_s"] * 1e6, 2),
                "launches (us)": round(e["launch_s"] * 1e6, 1), "PCIe copy (us)": round(e["copy_s"] * 1e6, 2),
                "total (us)": round(e["total_s"] * 1e6, 1), "samples/s (model)": round(row["samples_per_s"]),
                "this CPU, measured samples/s": round(cpu_rates[row["batch"]]) if row["batch"] in cpu_rates else None,
                "bound by": e["bound_by"]})
    return rows


def kernels_per_op(model):
    """{op: kernels one call launches} from one model sweep (the count does not depend on the batch)."""
    return {r["op"]: r["estimate"]["kernels"] for r in model["rows"]}


def sync_rows(result, reference=None):
    """The synchronize table: this server's sync_demo per device, then the reference file's (if any)."""
    def row(where, s):
        return {"measured on": where, "work": f"{s['calls']} x {s['size']}",
                "with synchronize (ms)": round(s["with_sync_s"] * 1e3, 3),
                "without (ms)": round(s["without_sync_s"] * 1e3, 3), "ratio": round(s["ratio"], 2)}
    rows = [row(f"this server, {d}", s) for d, s in result["sync"].items()]
    if reference:
        rows += [row(f"reference GPU ({name} size)", s) for name, s in reference["sync"].items()]
    return rows


def race_prediction(cpu_sweep, gpu_sweep, batch, op="train step", same=(0.8, 1.25)):
    """Which trains more samples/s at `batch`: {"cpu", "gpu" (rates), "ratio" (gpu / cpu), "faster": "cpu",
    "gpu" or "same" (the ratio within `same`)}."""
    cpu, gpu = rate_table(cpu_sweep, op)[batch], rate_table(gpu_sweep, op)[batch]
    ratio = gpu / cpu
    faster = "same" if same[0] <= ratio <= same[1] else "gpu" if ratio > 1 else "cpu"
    return {"cpu": cpu, "gpu": gpu, "ratio": ratio, "faster": faster}


def crossovers(result, reference, models, op):
    """Where the GPU overtakes the CPU for `op`: {"here": {gpu device: batch}, "reference": its GPU vs its CPU,
    "reference_vs_here": its GPU vs this CPU, "models": {name: (last losing batch, first winning batch)},
    "rule": the rule of thumb's batch, "rule_inside": {name: whether the rule falls in the model's switch}}.
    A batch is None where the GPU never wins (on the batches both cover)."""
    cpu = result["sweeps"]["cpu"]
    models_x = {name: model_crossover(cpu, sweep, op) for name, sweep in models.items()}
    rule = rule_of_thumb_batch()
    return {"here": {d: crossover(cpu, result["sweeps"][d], op) for d in result["devices"] if d != "cpu"},
            "reference": crossover(reference["cpu"], reference["gpu"], op) if reference else None,
            "reference_vs_here": crossover(cpu, reference["gpu"], op) if reference else None,
            "models": models_x, "rule": rule,
            "rule_inside": {name: (lose or 0) < rule <= (win or 0) for name, (lose, win) in models_x.items()}}


def race(series, models, cpu_sweep, batch=64, frames=40, slowest_batches=20):
    """The race of samples trained in the same time: a bar per measured series and per model at `batch`, and
    this CPU at batch 1. Returns {"rates": race_rates(...), "duration" (long enough for the slowest bar to train
    slowest_batches x batch samples), "times", "counts" (batches_done of samples/s)}."""
    bars = [(f"{label}, batch {batch}", sweep, batch) for label, sweep, _ in series]
    bars += [(f"model: {name}, batch {batch}", sweep, batch) for name, sweep in models.items()]
    bars.append(("this server, cpu, batch 1 (the same samples one at a time)", cpu_sweep, 1))
    rates = race_rates(bars)
    samples = {label: r["samples_per_s"] for label, r in rates.items()}
    duration = slowest_batches * batch / min(samples.values())
    times, counts = batches_done(samples, duration, frames=frames)
    return {"rates": rates, "duration": duration, "times": times, "counts": counts}
