"""CPU vs GPU (chapter 9): time the from-scratch 784-128-10 network's arithmetic on *your* machine, with the very
code the page used (labs.ch09_gpu: one matmul x @ W1, and one training step of core.network / core.backward /
core.optim), for the batch sizes in SETTINGS.

Needs torch and this repository's core/ and labs/ packages. Run it from the repository root, or with the root on
PYTHONPATH:  python ch09_gpu.py
It prints the page's tables for this machine (every device torch finds here: cpu, and cuda or mps).
Timings differ from run to run and from machine to machine; the columns are the page's, separated by " | ".
The page fills in SETTINGS with its values when you download this script.
"""
import os

import torch

from labs import ch09_gpu

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(
    batches=(1, 16, 64, 256, 1024, 4096),
    budget_s=0.02,  # each timing round lasts about this long; the best of 3 rounds is kept
    threads=1,  # the page's server computes on this many threads; None: torch's default (all cores)
)
# --- end of settings ---

SWEEP_COLUMNS = ("measured on", "batch", "work", "ms per call", "samples/s", "GFLOP/s")  # the page's tables
SYNC_COLUMNS = ("measured on", "work", "with synchronize (ms)", "without (ms)", "ratio")


def table(title, columns, rows):
    print()
    print(title)
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(str(value) for value in row))


def main(settings=SETTINGS):
    if settings["threads"]:
        torch.set_num_threads(int(settings["threads"]))
    found = ch09_gpu.devices()
    print(f"CPU cores: {os.cpu_count()}")
    print(f"Threads torch uses: {torch.get_num_threads()}")
    print(f"CUDA GPU: {'yes' if 'cuda' in found else 'no'}")
    print(f"Apple MPS GPU: {'yes' if 'mps' in found else 'no'}")

    result = ch09_gpu.measure_all(batches=tuple(int(b) for b in settings["batches"]),
                                  budget_s=float(settings["budget_s"]))
    print(f"Measured in {result['seconds']:.2f} s on: "
          + ", ".join(f"{d} ({result['sweeps'][d]['device_name']})" for d in result["devices"]))

    for op in ("train step", "matmul"):  # the page shows one workload at a time; here are both
        rows = []
        for d in result["devices"]:
            for r in result["sweeps"][d]["rows"]:
                if r["op"] == op:  # rounded like the page's table
                    rows.append((f"this machine, {d}", r["batch"], r["shape"], round(r["seconds"] * 1e3, 4),
                                 round(r["samples_per_s"]), round(r["gflops"], 2)))
        table(f"Throughput of one {op}, by batch size", SWEEP_COLUMNS, rows)
    table("The mistake: timing a GPU without synchronize", SYNC_COLUMNS,
          [(f"this machine, {d}", f"{s['calls']} x {s['size']}", round(s["with_sync_s"] * 1e3, 3),
            round(s["without_sync_s"] * 1e3, 3), round(s["ratio"], 2))
           for d, s in result["sync"].items()])

    print()
    cpu = result["sweeps"]["cpu"]
    lesson = {r["op"]: r for r in cpu["rows"] if r["batch"] == 64}
    if lesson:
        print(f"This CPU: 64 x 784 @ 784 x 128: {lesson['matmul']['seconds'] * 1e3:.3f} ms")
        print(f"This CPU: train step, batch 64: {lesson['train step']['seconds'] * 1e3:.3f} ms")
        print(f"This CPU: samples/s training: {lesson['train step']['samples_per_s']:,.0f}")
    for d in result["devices"][1:]:
        for op in ("train step", "matmul"):
            B = ch09_gpu.crossover(cpu, result["sweeps"][d], op)
            print(f"On this machine, {d} beats the CPU for a {op} "
                  + (f"from batch {B} on." if B else "at none of the measured batch sizes."))


if __name__ == "__main__":
    main()
