"""Record reference GPU throughput for the chapter 9 page: run this on a machine with an NVIDIA (or Apple) GPU.

    python bench/gpu_reference.py                 # writes bench/gpu_reference.json
    python bench/gpu_reference.py --out other.json

It runs labs.ch09_gpu.make_reference: the page's sweep (matmul [B, 784] @ [784, 128] and one
from-scratch 784-128-10 training step, for every batch size) on the GPU and on the same machine's CPU,
plus the "timing without synchronize" demo, and stores the device name, torch/CUDA versions and the
date with the numbers. The page shows these figures, labelled as recorded elsewhere, when the
machine serving it has no GPU. Without a GPU this script writes nothing and exits with status 2.
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from labs import ch09_gpu  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ch09_gpu.REFERENCE_FILE), help="where to write the JSON")
    parser.add_argument("--budget", type=float, default=0.2, help="seconds per timing round (default 0.2)")
    args = parser.parse_args(argv)
    gpus = [d for d in ch09_gpu.devices() if d != "cpu"]
    if not gpus:
        print("No GPU here (torch.cuda.is_available() and torch.backends.mps.is_available() are False): "
              "nothing recorded.", file=sys.stderr)
        return 2
    ref = ch09_gpu.make_reference(gpus[0], budget_s=args.budget,
                                  progress=lambda f, text: print(f"  {f:4.0%} {text}", file=sys.stderr))
    Path(args.out).write_text(json.dumps(ref, indent=1) + "\n")
    print(f"{ref['device_name']} (torch {ref['torch']}, CUDA {ref['cuda']}), recorded {ref['recorded_utc']}")
    cpu, gpu = (ch09_gpu.rate_table(ref[k], "train step") for k in ("cpu", "gpu"))
    for B in ref["batches"]:
        print(f"  train step, batch {B:5d}: CPU {cpu[B]:12,.0f} samples/s   GPU {gpu[B]:12,.0f} samples/s   "
              f"GPU/CPU {gpu[B] / cpu[B]:6.2f}x")
    for name, demo in ref["sync"].items():
        print(f"  {name} {demo['size']}: with synchronize {demo['with_sync_s'] * 1e3:.2f} ms, "
              f"without {demo['without_sync_s'] * 1e3:.2f} ms for {demo['calls']} calls")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
