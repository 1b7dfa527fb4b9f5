"""Chapter 4, computation graph & gradient flow: reproduce the page's numbers.

Needs torch and this repository's core/ package (and datasets/ for MNIST digits): run it from the repo root
(or with the repo root on PYTHONPATH):  python ch04_graph.py
It prints the loss, the graph autograd recorded, each step of the hand-written backward pass against autograd,
and the three-way check (by hand vs autograd vs finite differences).
The page fills in SETTINGS with its values when you download this script.
"""
import torch
import torch.nn.functional as F

from core import backward, gradcheck, losses, network

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(sizes=[3, 4, 3], batch=2, seed=0, mnist=False, loss_impl="core", max_entries=None)
# --- end of settings ---


def batch(sizes, B, gen, mnist):
    """x [B, inputs] (float64), y [B] labels: MNIST test digits or random numbers, picked with gen."""
    if mnist:
        from datasets import mnist_files
        X, Y = mnist_files.load_mnist("test")  # the 10,000 test digits, X [N, 784] in [0, 1]
        idx = torch.randperm(len(X), generator=gen)[:B]
        return X[idx].to(torch.float64), Y[idx]  # [B, 784], [B]
    x = torch.randn(B, sizes[0], generator=gen, dtype=torch.float64)  # [B, inputs]
    y = torch.randint(0, sizes[-1], (B,), generator=gen)  # [B] labels
    return x, y


def main(settings=SETTINGS):
    sizes, B, seed = [int(n) for n in settings["sizes"]], int(settings["batch"]), int(settings["seed"])
    # the weights (float64, so that hand and autograd can be compared to ~1e-16)
    params = network.init_mlp(sizes, seed=seed, dtype=torch.float64)
    # the batch: B examples picked with the seed
    x, y = batch(sizes, B, torch.Generator().manual_seed(seed + 1), settings["mnist"])

    # forward pass on weights that require gradients: autograd records the graph as it goes
    leaves = [{k: t.clone().requires_grad_(True) for k, t in layer.items()} for layer in params]
    logits, cache = network.forward(leaves, x)
    loss = losses.cross_entropy(logits, y) if settings["loss_impl"] == "core" else F.cross_entropy(logits, y)
    print(f"loss = {loss.item():.6f}")

    # walk the recorded graph from the loss back to the weights
    seen, queue = {loss.grad_fn}, [loss.grad_fn]
    while queue:
        node = queue.pop(0)
        parents = [p for p, _ in node.next_functions if p is not None]
        print(f"graph: {type(node).__name__:20s} <- {', '.join(type(p).__name__ for p in parents)}")
        for p in parents:
            if p not in seen:
                seen.add(p)
                queue.append(p)

    # autograd: keep the gradients of the intermediate results too
    for layer in cache["layers"]:
        for t in (layer["z"], layer["a"]):
            t.retain_grad()
    loss.backward()
    auto = {"logits": logits.grad}
    for n, (layer, cached) in enumerate(zip(leaves, cache["layers"], strict=True), start=1):
        auto[f"W{n}"], auto[f"b{n}"] = layer["W"].grad, layer["b"].grad
        auto[f"z{n}"], auto[f"h{n}"] = cached["z"].grad, cached["a"].grad

    # the same gradients by hand, in the order the backward pass computes them
    detached = {"activation": "relu",
                "layers": [{k: t.detach() for k, t in layer.items()} for layer in cache["layers"]]}
    for i, step in enumerate(backward.backward_steps(params, detached, y), start=1):
        target = step["name"].split("/d", 1)[1]
        diff = (step["value"] - auto[target]).abs().max().item()
        print(f"step {i}: {step['name']:11s} = {step['formula']:36s} shape {list(step['shape'])} "
              f"norm {step['value'].norm().item():.6f}  max|hand - autograd| {diff:.2e}")

    # three-way check: by hand vs autograd vs finite differences
    for row in gradcheck.compare_grads(params, x, y, dtype=torch.float64, max_entries=settings["max_entries"],
                                       seed=seed):
        print(f"check: {row['tensor']:3s} vs {row['vs']:11s} allclose={row['allclose']} "
              f"max|diff|={row['max_abs_diff']:.2e}")


if __name__ == "__main__":
    main()
