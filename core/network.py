"""A multi-layer perceptron built from plain tensors.

A network is a list of layers; each layer is a dict {"W": [in, out], "b": [out]}.
One layer computes  z = x @ W + b.  Hidden layers then apply an activation; the last layer
does not (its output is the logits). torch.nn.Linear stores the same numbers as weight = W.T.
"""
import io
import math

import torch

from core import rng

# ---------------------------------------------------------------- activations
# Each activation comes with its derivative, written as a function of the pre-activation z.


def relu(z):
    """ReLU: keep positive numbers, replace negative ones by 0."""
    return torch.clamp(z, min=0)


def relu_grad(z):
    """Slope of ReLU at z: 1 where z > 0, else 0.

    At exactly z == 0 the slope is a convention. We pick 0, like torch.relu and nn.ReLU.
    (Autograd through torch.clamp picks 1 there, so the two differ only on exact zeros.)
    """
    return (z > 0).to(z.dtype)


def sigmoid(z):
    """Sigmoid: squash any number into (0, 1)."""
    return 1 / (1 + torch.exp(-z))


def sigmoid_grad(z):
    """Slope of the sigmoid: s * (1 - s), at most 0.25."""
    s = sigmoid(z)
    return s * (1 - s)


def tanh(z):
    """Tanh: squash any number into (-1, 1)."""
    return torch.tanh(z)


def tanh_grad(z):
    """Slope of tanh: 1 - tanh(z)^2, at most 1."""
    t = torch.tanh(z)
    return 1 - t * t


LEAKY_SLOPE = 0.01  # same default as nn.LeakyReLU


def leaky_relu(z):
    """Leaky ReLU: positive numbers pass, negative ones are multiplied by 0.01."""
    return torch.where(z > 0, z, LEAKY_SLOPE * z)


def leaky_relu_grad(z):
    """Slope of leaky ReLU: 1 where z > 0, else 0.01."""
    return torch.where(z > 0, torch.ones_like(z), torch.full_like(z, LEAKY_SLOPE))


# name -> (function, its derivative)
ACTIVATIONS = {
    "relu": (relu, relu_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
}

# ------------------------------------------------------------- initialisation
# name -> standard deviation of the random weights, from the layer's fan_in and fan_out
INIT_STD = {
    "kaiming": lambda fan_in, fan_out: math.sqrt(2 / fan_in),
    "xavier": lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out)),
    "normal": lambda fan_in, fan_out: 1.0,
    "zeros": lambda fan_in, fan_out: 0.0,
}


def init_mlp(sizes, init="kaiming", seed=0, dtype=torch.float32, device="cpu"):
    """Create random weights for a network with layer widths `sizes`, e.g. [784, 128, 10].

    Weights are normal random numbers times INIT_STD[init]; biases start at zero.
    A private generator seeded with `seed` draws the numbers (in float32, on the CPU), so the
    same seed gives the same starting weights for every dtype and device, and the global
    random state is left alone.
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"A network needs at least an input and an output size, got sizes={sizes}.")
    for i, n in enumerate(sizes):
        if isinstance(n, bool) or not hasattr(n, "__index__") or n < 1:  # ints (also numpy / torch ints) >= 1
            where = "input" if i == 0 else "output" if i == len(sizes) - 1 else f"hidden layer {i}"
            raise ValueError(f"Every layer needs at least one unit: the {where} has {n!r} in sizes={sizes}. "
                             "With zero units no signal (and no gradient) can get through.")
    if init not in INIT_STD:
        raise ValueError(f"Unknown init {init!r}; choose one of {sorted(INIT_STD)}.")
    gen = torch.Generator().manual_seed(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        std = INIT_STD[init](fan_in, fan_out)
        W = torch.randn(fan_in, fan_out, generator=gen) * std  # [in, out]
        b = torch.zeros(fan_out)  # [out]
        params.append({"W": W.to(dtype=dtype, device=device), "b": b.to(dtype=dtype, device=device)})
    return params


def layer_sizes(params):
    """Layer widths of a network, e.g. [784, 128, 10]."""
    return [params[0]["W"].shape[0]] + [layer["W"].shape[1] for layer in params]


def named_tensors(params):
    """List of (name, tensor) pairs: W1, b1, W2, b2, ... (layers counted from 1)."""
    return [(f"{key}{i + 1}", layer[key]) for i, layer in enumerate(params) for key in ("W", "b")]


def count_params(params):
    """Number of numbers the network learns (for 784-128-10: 784*128 + 128 + 128*10 + 10 = 101,770)."""
    return sum(t.numel() for _, t in named_tensors(params))


def count_bytes(params):
    """Memory the weights take: number of parameters times bytes per number (4 for float32)."""
    return sum(t.numel() * t.element_size() for _, t in named_tensors(params))


# --------------------------------------------------------------------- forward
def forward(params, x, activation="relu"):
    """Run a batch x [B, in] through the network; return (logits [B, out], cache).

    cache = {"activation": name,
             "layers": [{"x": input [B, in], "z": x @ W + b [B, out], "a": output [B, out]}, ...]}
    one entry per layer. For hidden layers a = activation(z); for the last layer a = z = logits.
    The backward pass reads x and z from the cache instead of recomputing them.
    """
    f, _ = ACTIVATIONS[activation]
    layers, a = [], x
    for i, layer in enumerate(params):
        z = a @ layer["W"] + layer["b"]  # [B, in] @ [in, out] + [out] -> [B, out], b broadcast to every row
        out = z if i == len(params) - 1 else f(z)  # hidden layers: activation; last layer: the logits
        layers.append({"x": a, "z": z, "a": out})
        a = out
    return a, {"activation": activation, "layers": layers}


# ------------------------------------------------------ converting to torch.nn
TORCH_ACTIVATIONS = {
    "relu": torch.nn.ReLU,
    "sigmoid": torch.nn.Sigmoid,
    "tanh": torch.nn.Tanh,
    "leaky_relu": lambda: torch.nn.LeakyReLU(LEAKY_SLOPE),
}


def to_torch_sequential(params, activation="relu"):
    """Build the same network with torch.nn: Linear, activation, Linear, ... (weights copied).

    nn.Linear keeps its weight as [out, in] and computes x @ weight.T + bias, so weight = W.T.
    """
    modules = []
    for i, layer in enumerate(params):
        fan_in, fan_out = layer["W"].shape
        linear = rng.zero_linear(fan_in, fan_out, dtype=layer["W"].dtype, device=layer["W"].device)  # no draw
        with torch.no_grad():
            linear.weight.copy_(layer["W"].T)  # [out, in]
            linear.bias.copy_(layer["b"])  # [out]
        modules.append(linear)
        if i < len(params) - 1:
            modules.append(TORCH_ACTIVATIONS[activation]())
    return torch.nn.Sequential(*modules)


def from_torch_sequential(model):
    """Copy the weights of every nn.Linear in `model` into our list of {"W", "b"} dicts (W = weight.T)."""
    params = []
    for module in model:
        if isinstance(module, torch.nn.Linear):
            W = module.weight.detach().T.clone(memory_format=torch.contiguous_format)  # [in, out]
            has_bias = module.bias is not None
            b = module.bias.detach().clone() if has_bias else torch.zeros_like(W[0])  # [out]
            params.append({"W": W, "b": b})
    return params


def state_dict_bytes(state_dict):
    """What torch.save(state_dict, path) writes, as bytes: a file to download, loadable with torch.load."""
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    return buffer.getvalue()


def weights_file(params, activation="relu"):
    """The network as a downloadable state_dict of the matching nn.Sequential(Linear, activation, Linear, ...):
    load it with model.load_state_dict(torch.load(path)) (weight = W.T, as nn.Linear stores it)."""
    return state_dict_bytes(to_torch_sequential(params, activation).state_dict())

