"""One training epoch from scratch vs the torch.nn way, timed side by side in one run.

Network 784-128-10 (ReLU), Adam lr=1e-3, batch 64, one epoch of --samples rows
(60,000 = 938 steps). Both loops use core.train (train_scratch / train_torch) with the same
starting weights and the same shuffled batches; repeats alternate which loop goes first.
Data: the real MNIST training split if core.data finds it, else random tensors of MNIST shape
(the step cost does not depend on the pixel values). The run says which it used.

    python bench/train_speed.py                    # 5 repeats, 60,000 samples
    python bench/train_speed.py --repeats 3 --samples 20000
    python bench/train_speed.py --breakdown        # where one step's time goes, on each side
    python bench/train_speed.py --fewest           # also the same step in the fewest torch operations

Target: scratch time / torch.nn time <= 0.70. Wall-clock and process CPU time are both
reported: on a shared machine the CPU time is the steadier of the two. Runs on 1 thread by
default, like app.py: on 2 busy cores, 2 threads made the steps 15-30x slower (worker threads
waiting on each other) and the ratio noise; --threads N to try more.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from datasets.mnist_files import find_mnist_dir, load_mnist  # noqa: E402
from core.network import init_mlp, to_torch_sequential  # noqa: E402
from core.losses import cross_entropy_and_grad  # noqa: E402
from core.optim import adam_update, views_of  # noqa: E402
from core.train import (loop, make_config, make_torch_optimizer, torch_train_step,  # noqa: E402
                        train_scratch, train_step, train_torch)

TARGET = 0.70


def get_data(samples):
    if find_mnist_dir("train") is not None:
        X, y = load_mnist("train")
        if samples <= len(y):
            return X[:samples], y[:samples], f"real MNIST training split (first {samples:,} images)"
    g = torch.Generator().manual_seed(0)
    X = torch.rand(samples, 784, generator=g)           # [N, 784] in [0, 1), like pixels
    y = torch.randint(0, 10, (samples,), generator=g)   # [N] labels 0..9
    return X, y, f"random tensors of MNIST shape ({samples:,} x 784, labels 0-9); MNIST train split not found"


def one_epoch(loop, X, y, seed):
    params = init_mlp([784, 128, 10], seed=seed)
    start, start_cpu = time.perf_counter(), time.process_time()
    steps = 0
    # B007 off below: the loop only counts steps; the last step's metrics are read after it
    for metrics in loop(params, X, y, optimizer="adam", lr=1e-3, batch_size=64, epochs=1, seed=seed):  # noqa: B007
        steps += 1
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    if metrics["diverged"]:
        raise RuntimeError(metrics["reason"])
    return wall, cpu, steps, metrics["loss"]


def per_step_us(step, steps):
    """Median over 5 rounds of the time of one call of step(), in microseconds."""
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        rounds.append(1e6 * (time.perf_counter() - start) / steps)
    return statistics.median(rounds)


def matrix_product_us(step, steps):
    """Microseconds per step spent inside matrix products (aten::mm / addmm), by torch.profiler."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    mm = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in ("aten::mm", "aten::addmm"))
    return mm / steps


def fewest_ops_step(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """The scratch step for 784-128-10 + Adam written with as few torch operations as it can take (27: no dicts,
    no registry, no checks, ReLU in place, biases fused into addmm): not for students, only to show how far any
    rewrite of the textbook's step could go. Same maths as train_step (the bench checks the weights agree)."""
    tensors = [t.detach().clone() for layer in params for t in (layer["W"], layer["b"])]
    w = torch.cat([t.reshape(-1) for t in tensors])                     # weights [101,770]
    g, m, v, denom = (torch.zeros_like(w) for _ in range(4))           # gradients, Adam's moments, scratch
    W1, b1, W2, b2 = views_of(w, tensors)
    gW1, gb1, gW2, gb2 = views_of(g, tensors)
    count = [0]

    def step(xb, yb):
        h = torch.addmm(b1, xb, W1).relu_()                            # [B, 128]
        logits = torch.addmm(b2, h, W2)                                 # [B, 10]
        loss, d_logits = cross_entropy_and_grad(logits, yb)             # [], [B, 10]
        loss_value, acc = loss.item(), logits.argmax(1).eq_(yb).sum().item() / len(yb)
        torch.mm(h.T, d_logits, out=gW2)
        torch.sum(d_logits, 0, out=gb2)
        d_h = torch.mm(d_logits, W2.T).masked_fill_(h <= 0, 0)          # dL/dz1 [B, 128]
        torch.mm(xb.T, d_h, out=gW1)
        torch.sum(d_h, 0, out=gb1)
        count[0] += 1
        adam_update(w, g, m, v, count[0], lr, betas, eps, denom=denom)
        return loss_value, acc
    return step, (W1, b1, W2, b2)


def train_fewest_ops(params, X, y, *, seed, **settings):
    """The training loop of core.train (same batches, same checks) around fewest_ops_step, for --fewest."""
    step, weights = fewest_ops_step(params)

    def one_step(xb, yb):
        loss, acc = step(xb, yb)
        return {"loss": loss, "batch_acc": acc, "diverged": False}
    yield from loop(one_step, lambda: weights, None, X, y, make_config("adam", 1e-3), 64, 1, None, seed, True,
                    None, None, None)


def breakdown(X, y, steps=400):
    """Where one step goes, on one fixed batch of 64: the matrix products both sides compute (the same five
    products), Adam's passes over 101,770 numbers (the same seven operations), and the rest: what the ratio
    could at best be if the scratch step's rest cost nothing."""
    xb, yb = X[:64].contiguous(), y[:64].contiguous()
    params = init_mlp([784, 128, 10], seed=0)
    config = make_config("adam", 1e-3)
    model = to_torch_sequential(params)
    optimizer = make_torch_optimizer(model, config)
    state = {}
    sides = {"scratch": lambda: train_step(params, state, xb, yb, config),
             "torch.nn": lambda: torch_train_step(model, optimizer, xb, yb)}
    fewest, fewest_weights = fewest_ops_step(params)
    sides["fewest ops"] = lambda: fewest(xb, yb)
    for step in sides.values():  # warm-up: buffers, moments, allocator
        for _ in range(50):
            step()
    ours = [t for layer in params for t in layer.values()]
    gap = max((a - b).abs().max().item() for a, b in zip(fewest_weights, ours))
    n = sum(p.numel() for p in model.parameters())
    # Adam on copies of the step's own buffers: its v holds exact zeros (weights of hidden units that never fired),
    # and torch's sqrt is several times slower on zeros than on other numbers (torch.optim.Adam pays it too)
    moments = state["flat_adam"]
    flat = [t.clone() for t in (state["flat"]["weights"], state["flat"]["grads"], moments["m"], moments["v"],
                                moments["denom"])]  # p, g, m, v, denom
    zeros = int((flat[3] == 0).sum())
    adam = per_step_us(lambda: adam_update(*flat[:4], 10, denom=flat[4]), steps)
    total = {name: per_step_us(step, steps) for name, step in sides.items()}
    mm = {name: matrix_product_us(step, steps) for name, step in sides.items()}
    print(f"one step on a fixed batch of 64 (median of 5 x {steps} steps):")
    for name in sides:
        print(f"  {name:8s} {total[name]:6.0f} us: matrix products {mm[name]:5.0f} us (profiler), "
              f"the rest {total[name] - mm[name]:5.0f} us")
    floor = (mm["scratch"] + adam) / total["torch.nn"]
    print(f"  Adam's seven passes over {n:,} numbers (core.optim.adam_update, alone, on the step's own moments, "
          f"{zeros:,} of v exactly 0): {adam:.0f} us")
    print(f"  scratch's own overhead (not matrix products, not Adam): "
          f"{total['scratch'] - mm['scratch'] - adam:.0f} us per step")
    print(f"  ratio on this batch {total['scratch'] / total['torch.nn']:.2f}; if that overhead were 0: {floor:.2f}")
    print(f"  the same step in the fewest torch operations (no structure, not for students): "
          f"{total['fewest ops'] / total['torch.nn']:.2f} (weights {gap:.1e} from the scratch step's after 50 steps)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1, as in app.py)")
    parser.add_argument("--breakdown", action="store_true", help="where one step's time goes, then stop")
    parser.add_argument("--fewest", action="store_true",
                        help="also time the same step written in the fewest torch operations (not for students)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    X, y, source = get_data(args.samples)
    if args.breakdown:
        breakdown(X, y)
        return 0
    print(f"data: {source}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; 784-128-10, Adam lr=1e-3, batch 64")
    loops = [("scratch", train_scratch), ("torch.nn", train_torch)]
    if args.fewest:
        loops.append(("fewest ops", train_fewest_ops))
    wall, cpu = {name: [] for name, _ in loops}, {name: [] for name, _ in loops}
    for _, warm_up in loops:                               # warm-up, not timed
        one_epoch(warm_up, X[:3200], y[:3200], seed=0)
    for r in range(args.repeats):
        order = list(loops)
        if r % 2:
            order.reverse()
        for name, train in order:
            seconds, cpu_seconds, steps, loss = one_epoch(train, X, y, seed=r)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
            print(f"  repeat {r + 1}: {name:8s} {seconds:7.3f} s wall, {cpu_seconds:7.3f} s CPU "
                  f"({steps} steps, {1e6 * seconds / steps:5.0f} us/step, last loss {loss:.4f})", flush=True)

    for label, times in [("wall-clock", wall), ("CPU time (process)", cpu)]:
        scratch, nn = statistics.median(times["scratch"]), statistics.median(times["torch.nn"])
        ratio = scratch / nn
        print(f"median {label} for one epoch: scratch {scratch:.3f} s, torch.nn {nn:.3f} s; "
              f"ratio scratch / torch.nn = {ratio:.2f} "
              f"(target <= {TARGET:.2f}: {'met' if ratio <= TARGET else 'NOT met'})")
        if args.fewest:
            few = statistics.median(times["fewest ops"])
            print(f"  the same step in the fewest torch operations: {few:.3f} s, ratio {few / nn:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
