"""The 784-128-10 network written as your own nn.Module class, next to nn.Sequential and the raw tensors.

    raw tensors     logits = relu(x @ W1 + b1) @ W2 + b2, gradients by the hand-written backward pass
    class Net       fc1, fc2 registered in __init__, the same arithmetic spelled out in forward
    nn.Sequential   the same layers in a list, forward written for you

All three hold the same numbers. Creating an nn.Linear normally fills it with random numbers drawn from
torch's global generator (shared by every session of a server); here the layers are created with
torch.nn.utils.skip_init, which allocates them without that random fill, and our weights are then copied in.
"""
import torch
import torch.nn.functional as F
from torch import nn

from core import backward as bw
from core import network


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

