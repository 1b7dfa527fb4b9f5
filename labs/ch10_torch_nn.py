"""What torch.nn adds: each torch.nn / torch.optim / DataLoader piece next to its raw-tensor
equivalent from `core`, run on the same numbers, with the largest difference measured.

Every check_* function takes a batch x [B, in] (float32), labels y [B] (int64) and a seed, builds
the same starting weights for both sides, and returns a dict with at least
    "max_abs_diff": largest |ours - torch| over every number compared (0.0 = bit for bit).
"""
import io
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from core import backward as bw
from core import data, losses, network, optim, rng

# Two float32 computations that sum in a different order agree to about this much.
TOLERANCE = 1e-5


def _setup(x, seed, hidden=128, n_classes=10):
    """Our weights (list of {"W", "b"}) and an nn.Sequential holding the same numbers, in x's dtype."""
    params = network.init_mlp([x.shape[1], hidden, n_classes], seed=seed, dtype=x.dtype)
    for layer in params:  # non-zero biases, so that a transposed or missing bias would show
        b = 0.1 * torch.randn(layer["b"].shape, generator=torch.Generator().manual_seed(seed + 1))
        layer["b"] = b.to(x.dtype)
    return params, network.to_torch_sequential(params)


def _diff(a, b):
    return (a - b).abs().max().item() if a.numel() else 0.0


# ------------------------------------------------------------------ layers
def check_weights(x, y, seed=0):
    """nn.Linear(in, out)'s starting weights are plain random tensors: uniform in +-1/sqrt(in).

    torch draws weight [out, in] first, then bias [out], from the global generator after
    torch.manual_seed(seed); we draw the same two tensors by hand from a generator seeded the same way
    (the same Mersenne Twister, the same stream) and compare.
    """
    fan_in, fan_out = x.shape[1], 128
    with rng.seeded_global_rng(seed):  # nn.Linear's __init__ can only use the global generator
        layer = torch.nn.Linear(fan_in, fan_out)
    g = torch.Generator().manual_seed(seed)
    bound = math.sqrt(3.0) * math.sqrt(2.0 / (1 + 5)) / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5))
    W_t = torch.empty(fan_out, fan_in).uniform_(-bound, bound, generator=g)  # [out, in], as nn.Linear stores it
    b = torch.empty(fan_out).uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), generator=g)  # [out]
    W = W_t.T  # [in, out]: the layout x @ W + b uses
    return {"max_abs_diff": max(_diff(W, layer.weight.detach().T), _diff(b, layer.bias.detach())),
            "bound": bound, "shape_ours": tuple(W.shape), "shape_torch": tuple(layer.weight.shape)}


def check_linear(x, y, seed=0):
    """x @ W + b  vs  nn.Linear (whose weight is W.T):  [B, in] @ [in, out] + [out] -> [B, out]."""
    params, model = _setup(x, seed)
    ours = x @ params[0]["W"] + params[0]["b"]  # [B, 128]
    with torch.no_grad():
        theirs = model[0](x)  # [B, 128]
    return {"max_abs_diff": _diff(ours, theirs), "shape": tuple(ours.shape)}


def check_relu(x, y, seed=0):
    """torch.clamp(z, min=0)  vs  nn.ReLU()(z) on the first layer's pre-activations [B, 128]."""
    params, _ = _setup(x, seed)
    z = x @ params[0]["W"] + params[0]["b"]  # [B, 128]
    ours = network.relu(z)
    theirs = torch.nn.ReLU()(z)
    return {"max_abs_diff": _diff(ours, theirs), "fraction_zero": (ours == 0).float().mean().item()}


def check_forward(x, y, seed=0):
    """Our whole forward pass vs nn.Sequential(Linear, ReLU, Linear): logits [B, 10]."""
    params, model = _setup(x, seed)
    ours, _ = network.forward(params, x)
    with torch.no_grad():
        theirs = model(x)
    return {"max_abs_diff": _diff(ours, theirs), "shape": tuple(ours.shape)}


def check_cross_entropy(x, y, seed=0):
    """softmax + negative log-likelihood by hand  vs  F.cross_entropy on the same logits."""
    params, _ = _setup(x, seed)
    logits, _ = network.forward(params, x)
    ours = losses.cross_entropy(logits, y)
    theirs = F.cross_entropy(logits, y)
    return {"max_abs_diff": abs(ours.item() - theirs.item()), "ours": ours.item(), "torch": theirs.item()}


def _autograd_grads(model, x, y):
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    return [(m.weight.grad.T, m.bias.grad) for m in model if isinstance(m, torch.nn.Linear)]


def check_backward(x, y, seed=0):
    """Our hand-derived backward pass  vs  loss.backward() through nn.Sequential: all four gradients."""
    params, model = _setup(x, seed)
    _, cache = network.forward(params, x)
    ours = bw.backward(params, cache, y)
    theirs = _autograd_grads(model, x, y)
    diff = max(max(_diff(g["W"], tw), _diff(g["b"], tb)) for g, (tw, tb) in zip(ours, theirs))
    return {"max_abs_diff": diff}


# --------------------------------------------------------------- optimizers
def _optimizer_race(x, y, seed, steps, ours_step, make_torch_opt):
    """Take `steps` steps with our optimizer and with torch's from the same weights; compare weights."""
    params, model = _setup(x, seed)
    state = {}
    optimizer = make_torch_opt(model.parameters())
    for _ in range(steps):
        logits, cache = network.forward(params, x)
        ours_step(params, bw.backward(params, cache, y), state)
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    from labs.ch08_scratch_vs_nn import max_weight_difference
    return {"max_abs_diff": max_weight_difference(params, model), "steps": steps}


def check_sgd(x, y, seed=0, lr=0.1, momentum=0.9, steps=3, dtype=torch.float32):
    """W -= lr * grad (with momentum)  vs  torch.optim.SGD.step(), after `steps` steps.

    dtype=torch.float64 reruns the race in double precision: if the float32 gap was rounding, it shrinks
    to about 1e-15 there.
    """
    x = x.to(dtype)
    return _optimizer_race(x, y, seed, steps,
                           lambda p, g, s: optim.sgd_step(p, g, s, lr=lr, momentum=momentum),
                           lambda ps: torch.optim.SGD(ps, lr=lr, momentum=momentum))


def check_adam(x, y, seed=0, lr=1e-3, steps=3, dtype=torch.float32):
    """Our Adam (running means m, v, bias correction)  vs  torch.optim.Adam.step(), after `steps` steps
    (in float64 too, see check_sgd)."""
    x = x.to(dtype)
    return _optimizer_race(x, y, seed, steps,
                           lambda p, g, s: optim.adam_step(p, g, s, lr=lr),
                           lambda ps: torch.optim.Adam(ps, lr=lr))


def check_zero_grad(x, y, seed=0):
    """W.grad.zero_()  vs  optimizer.zero_grad(), compared on the gradient of the NEXT backward().

    Without either, the second backward() would add onto the first gradient (the check reports that too).
    """
    params, model = _setup(x, seed)
    tensors = [t.clone().requires_grad_(True) for _, t in network.named_tensors(params)]  # W1, b1, W2, b2

    def scratch_loss():
        h = network.relu(x @ tensors[0] + tensors[1])  # [B, 128]
        return losses.cross_entropy(h @ tensors[2] + tensors[3], y)

    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    scratch_loss().backward()
    F.cross_entropy(model(x), y).backward()
    for t in tensors:
        t.grad.zero_()
    optimizer.zero_grad()
    torch_grad_is_none = model[0].weight.grad is None  # zero_grad() sets .grad to None by default
    scratch_loss().backward()
    F.cross_entropy(model(x), y).backward()
    ours = [tensors[0].grad, tensors[1].grad, tensors[2].grad, tensors[3].grad]
    theirs = [g for pair in [(m.weight.grad.T, m.bias.grad) for m in model if isinstance(m, torch.nn.Linear)]
              for g in pair]
    ours = [g.clone() for g in ours]
    scratch_loss().backward()  # a third backward with no zeroing: gradients double up
    doubled = max(_diff(t.grad, 2 * o) for t, o in zip(tensors, ours))
    return {"max_abs_diff": max(_diff(a, b) for a, b in zip(ours, theirs)),
            "torch_grad_none_after_zero_grad": torch_grad_is_none, "forgetting_doubles": doubled}


# -------------------------------------------------------------------- data
def check_dataloader(x, y, seed=0, batch_size=16):
    """randperm + slice (core.data.batch_indices)  vs  DataLoader(shuffle=True, generator=seed).

    DataLoader first draws one int64 from its generator (a base seed for worker processes) and then
    calls randperm: batch_indices(..., like_dataloader=True) draws that number too, and our batches come
    out in exactly the same order. `naive_same_order` says whether the plain randperm of the same seed would.
    Returns the order difference (0 = same order) and whether the batches are the same sets.
    """
    N = x.shape[0]
    loader = DataLoader(TensorDataset(torch.arange(N)), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    theirs = [b[0] for b in loader]
    g = torch.Generator().manual_seed(seed)
    ours = data.batch_indices(N, batch_size, shuffle=True, generator=g, like_dataloader=True)
    naive = data.batch_indices(N, batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
    same_len = len(ours) == len(theirs)
    diff = max(_diff(a.float(), b.float()) for a, b in zip(ours, theirs)) if same_len else math.inf
    return {"max_abs_diff": diff, "n_batches": len(ours),
            "same_sets": sorted(map(tuple, (sorted(b.tolist()) for b in ours)))
            == sorted(map(tuple, (sorted(b.tolist()) for b in theirs))),
            "covers_each_once": sorted(torch.cat(ours).tolist()) == list(range(N)),
            "naive_same_order": all(torch.equal(a, b) for a, b in zip(naive, theirs)),
            "first_batch_ours": ours[0].tolist(), "first_batch_torch": theirs[0].tolist()}


def check_to_device(x, y, seed=0, device=None):
    """tensor.to(device) on each of our four tensors  vs  model.to(device) (which moves every parameter).

    device defaults to "cuda" when a GPU is present, else "cpu" (then the move is a no-op).
    """
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    params, model = _setup(x, seed)
    moved = [{"W": layer["W"].to(device), "b": layer["b"].to(device)} for layer in params]
    model = model.to(device)
    ours, _ = network.forward(moved, x.to(device))
    with torch.no_grad():
        theirs = model(x.to(device))
    return {"max_abs_diff": _diff(ours.cpu(), theirs.cpu()), "device": device,
            "all_moved": all(p.device.type == device for p in model.parameters())}


def check_dropout(x, y, seed=0, p=0.5):
    """mask = bernoulli(1 - p); x * mask / (1 - p)  vs  nn.Dropout(p), from the same random state."""
    from core.dropout import compare_with_nn_dropout
    r = compare_with_nn_dropout(x, p, seed)
    return {"max_abs_diff": max(r["train_max_diff"], r["eval_max_diff"]), "same_mask": r["same_mask"],
            "eval_is_identity": r["eval_is_identity"], "kept_fraction": r["kept_fraction"]}


# --------------------------------------------------------------- save / load
def to_state_dict(params):
    """Our {"W", "b"} layers as the state_dict of the matching nn.Sequential(Linear, ReLU, Linear, ...).

    Layer i of ours is module 2*i of the Sequential (ReLUs sit in between); nn.Linear stores W.T.
    """
    return {f"{2 * i}.{name}": tensor for i, layer in enumerate(params)
            for name, tensor in (("weight", layer["W"].T.contiguous()), ("bias", layer["b"].clone()))}


def check_state_dict(x, y, seed=0):
    """Save our tensors with torch.save, load them into a fresh nn.Sequential, compare the outputs."""
    params, _ = _setup(x, seed)
    buffer = io.BytesIO()
    torch.save(to_state_dict(params), buffer)
    buffer.seek(0)
    fresh = torch.nn.Sequential(rng.zero_linear(x.shape[1], 128), torch.nn.ReLU(), rng.zero_linear(128, 10))  # all 0
    result = fresh.load_state_dict(torch.load(buffer, weights_only=True))
    ours, _ = network.forward(params, x)
    with torch.no_grad():
        theirs = fresh(x)
    return {"max_abs_diff": _diff(ours, theirs), "bytes": buffer.getbuffer().nbytes,
            "missing": list(result.missing_keys), "unexpected": list(result.unexpected_keys),
            "keys": list(to_state_dict(params))}


def check_parameters(x, y, seed=0):
    """model.parameters() finds every tensor we had to list by hand: same count, same numbers."""
    params, model = _setup(x, seed)
    ours = [t for _, t in network.named_tensors(params)]
    theirs = [p.detach() for p in model.parameters()]
    theirs = [t.T if t.dim() == 2 else t for t in theirs]
    same = len(ours) == len(theirs)
    return {"max_abs_diff": max(_diff(a, b) for a, b in zip(ours, theirs)) if same else math.inf,
            "count_ours": len(ours), "count_torch": len(theirs),
            "numbers": sum(t.numel() for t in ours)}


# ------------------------------------------------------------------- hooks
def hooked_outputs(x, seed=0):
    """Run nn.Sequential(Linear, ReLU, Linear) on x with a forward hook on every layer.

    Each hook receives (module, inputs, output) as the layer finishes; we keep (name, output).
    The hooks are removed afterwards. Returns [("0: Linear", [B, 128]), ("1: ReLU", ...), ("2: Linear", [B, 10])].
    """
    _, model = _setup(x, seed)
    seen = []

    def hook(module, inputs, output):
        seen.append((f"{len(seen)}: {module.__class__.__name__}", output.detach()))

    handles = [m.register_forward_hook(hook) for m in model]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return seen


def activation_stats(x, seed=0):
    """One row per hooked layer: output shape, mean, std, fraction of exact zeros, and the max
    difference to the same tensor in our own forward cache (z for Linear layers, a for ReLU)."""
    params, _ = _setup(x, seed)
    _, cache = network.forward(params, x)
    ours = [cache["layers"][0]["z"], cache["layers"][0]["a"], cache["layers"][1]["z"]]
    return [{"layer": name, "output shape": str(list(out.shape)), "mean": out.mean().item(),
             "std": out.std().item() if out.numel() > 1 else 0.0,
             "fraction zero": (out == 0).float().mean().item(), "max |hook - our cache|": _diff(out, mine)}
            for (name, out), mine in zip(hooked_outputs(x, seed), ours)]


def pick_batch(X, y, batch_size, seed=0):
    """batch_size rows of (X [N, 784], y [N]) chosen by seed: ([B, 784], [B])."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(X), generator=g)[:batch_size]  # [B] which rows form the batch
    return X[idx], y[idx]


# The components of the chapter-10 page, in its order: what torch.nn offers -> the check that compares it
# with our raw-tensor code. Each check's keyword defaults are the page's default settings.
TORCH_NN_CHECKS = {
    "nn.Linear": check_linear,
    "nn.ReLU": check_relu,
    "F.cross_entropy": check_cross_entropy,
    "optim.SGD": check_sgd,
    "optim.Adam": check_adam,
    "DataLoader(shuffle=True)": check_dataloader,
    "nn.Dropout": check_dropout,
    "state_dict save / load": check_state_dict,
    "model.parameters()": check_parameters,
}
RACES = ("optim.SGD", "optim.Adam")   # the checks that take optimizer steps (and rerun in float64)


def check_component(name, x, y, seed=0, float64=True, **settings):
    """TORCH_NN_CHECKS[name] on the batch (x [B, 784], y [B]) with the page's settings, tensors left out.

    The optimizer races run a second time in float64 ("float64_diff"; float64=False skips it, for a bar that
    shows only the float32 gap): a gap that is rounding shrinks there to about 1e-12, a different method would not.
    """
    check = TORCH_NN_CHECKS[name]
    result = check(x, y, seed, **settings)
    if name in RACES and float64:
        result["float64_diff"] = check(x, y, seed, dtype=torch.float64, **settings)["max_abs_diff"]
    return {k: v for k, v in result.items() if not isinstance(v, torch.Tensor)}


def hook_samples(x, seed=0, n=20000):
    """[(layer name, the first n numbers of its hooked output as a NumPy array)] for histograms."""
    return [(name, out.flatten()[:n].numpy()) for name, out in hooked_outputs(x, seed)]


# ------------------------------------------------------- your own nn.Module class
# The 784-128-10 network written as your own nn.Module class, next to nn.Sequential and the raw tensors.

class Net(nn.Module):
    """784 -> 128 -> ReLU -> 10, written as a class: layers made in __init__, used in forward."""

    def __init__(self, n_in=784, hidden=128, n_out=10, device=None, dtype=None):
        super().__init__()
        self.fc1 = nn.Linear(n_in, hidden, device=device, dtype=dtype)  # registers fc1.weight [128, 784], fc1.bias
        self.fc2 = nn.Linear(hidden, n_out, device=device, dtype=dtype)  # registers fc2.weight [10, 128], fc2.bias

    def forward(self, x):  # x [B, 784] -> logits [B, 10]
        return self.fc2(torch.relu(self.fc1(x)))


def _copy_in(linears, params):
    """Copy our W [in, out], b [out] into nn.Linear layers (whose weight is [out, in] = W.T)."""
    with torch.no_grad():
        for linear, layer in zip(linears, params):
            linear.weight.copy_(layer["W"].T)
            linear.bias.copy_(layer["b"])


def build_models(params):
    """(Net, nn.Sequential) holding the numbers of a two-layer `params`, created without a random draw."""
    (n_in, hidden), n_out = params[0]["W"].shape, params[1]["W"].shape[1]
    dtype = params[0]["W"].dtype
    net = nn.utils.skip_init(Net, n_in, hidden, n_out, dtype=dtype)
    seq = nn.Sequential(nn.utils.skip_init(nn.Linear, n_in, hidden, dtype=dtype), nn.ReLU(),
                        nn.utils.skip_init(nn.Linear, hidden, n_out, dtype=dtype))
    _copy_in([net.fc1, net.fc2], params)
    _copy_in([seq[0], seq[2]], params)
    return net, seq


def _max_diff(pairs):
    return max((a - b).abs().max().item() for a, b in pairs)


def check_class_and_sequential(x, y, seed=0):
    """Logits and all four gradients of the raw-tensor network, of class Net and of nn.Sequential, compared.

    x [B, 784] float, y [B] int64. Returns the largest |raw - Net| and |raw - Sequential| over the logits
    and over the gradients (W1, b1, W2, b2), the parameter names each module registered, and
    "max_abs_diff", the largest of all four.
    """
    params = network.init_mlp([x.shape[1], 128, 10], seed=seed, dtype=x.dtype)
    gen = torch.Generator().manual_seed(seed + 1)
    for layer in params:  # non-zero biases, so that a missing or misplaced bias would show
        layer["b"] = (0.1 * torch.randn(layer["b"].shape, generator=gen)).to(x.dtype)
    logits, cache = network.forward(params, x)  # [B, 10]
    grads = bw.backward(params, cache, y)  # [{"W": [in, out], "b": [out]}, ...]
    raw = [g[k] for g in grads for k in ("W", "b")]
    net, seq = build_models(params)
    out = {}
    for name, model, linears in (("net", net, [net.fc1, net.fc2]), ("seq", seq, [seq[0], seq[2]])):
        theirs = model(x)  # [B, 10]
        F.cross_entropy(theirs, y).backward()
        torch_grads = [t for lin in linears for t in (lin.weight.grad.T, lin.bias.grad)]
        out[f"{name}_logits_diff"] = _max_diff([(logits, theirs.detach())])
        out[f"{name}_grad_diff"] = _max_diff(zip(raw, torch_grads))
        out[f"{name}_names"] = [n for n, _ in model.named_parameters()]
    out["max_abs_diff"] = max(v for k, v in out.items() if k.endswith("_diff"))
    return out
