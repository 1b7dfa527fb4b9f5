"""A yes/no classifier on 2-D points: a sigmoid output, binary cross-entropy, a linear layer built by
hand from nn.Parameter, and any activation function (for example one typed as a formula).

This part uses autograd on purpose: it shows how to *extend* torch.nn with your own pieces.
"""
import math

import torch
from torch import nn

from core.losses import bce_with_logits
from core.network import sigmoid


class CustomLinear(nn.Module):
    """A fully connected layer made from two nn.Parameter tensors, like the tutorial's.

    Storing the weight as [out, in] (nn.Linear's layout) means  x @ W.T + b  computes the same thing.
    Wrapping a tensor in nn.Parameter is what registers it: model.parameters() finds it,
    autograd tracks it, and an optimizer updates it.
    """

    def __init__(self, in_dim, out_dim, generator=None):
        super().__init__()
        bound = 1 / math.sqrt(in_dim)  # nn.Linear's default uniform(-1/sqrt(in), 1/sqrt(in))
        self.weight = nn.Parameter((torch.rand(out_dim, in_dim, generator=generator) * 2 - 1) * bound)
        self.bias = nn.Parameter((torch.rand(out_dim, generator=generator) * 2 - 1) * bound)

    def forward(self, x):
        return x @ self.weight.T + self.bias  # [B, in] @ [in, out] + [out] -> [B, out]


class Activation(nn.Module):
    """Turns any function of a tensor (relu, tanh, a typed formula...) into a layer."""

    def __init__(self, f, name="custom"):
        super().__init__()
        self.f, self.name = f, name

    def forward(self, x):
        return self.f(x)

    def extra_repr(self):
        return self.name


def compare_custom_linear(in_dim=3, out_dim=4, batch=5, seed=0):
    """CustomLinear vs nn.Linear holding the same numbers: outputs and gradients, max abs difference."""
    g = torch.Generator().manual_seed(seed)
    mine = CustomLinear(in_dim, out_dim, generator=g)
    theirs = nn.Linear(in_dim, out_dim)
    with torch.no_grad():
        theirs.weight.copy_(mine.weight)
        theirs.bias.copy_(mine.bias)
    x = torch.randn(batch, in_dim, generator=g)
    out_mine, out_theirs = mine(x), theirs(x)
    out_mine.square().sum().backward()
    out_theirs.square().sum().backward()
    return {
        "output": (out_mine - out_theirs).abs().max().item(),
        "weight grad": float((mine.weight.grad - theirs.weight.grad).abs().max()),
        "bias grad": float((mine.bias.grad - theirs.bias.grad).abs().max()),
        "parameters found": len(list(mine.parameters())),
    }


def binary_classifier(hidden, activation, seed=0, name="custom"):
    """2 -> hidden -> 1 network of CustomLinear layers; outputs one logit per point."""
    g = torch.Generator().manual_seed(seed)
    return nn.Sequential(CustomLinear(2, hidden, g), Activation(activation, name), CustomLinear(hidden, 1, g))


def train_binary(model, X, y, lr=0.05, epochs=300):
    """Full-batch Adam on binary cross-entropy; stops if the loss is not finite.

    The loss is computed from the logit (bce_with_logits) rather than from sigmoid(logit): once a
    probability rounds to exactly 1.0, log(1 - p) and its gradient are infinite, while the logit form
    never takes the log of 0 (the same idea as subtracting the max in softmax).
    X [N, 2], y [N] with 0/1 labels. Returns the per-epoch loss and accuracy and why it stopped.
    """
    t = y.float()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = {"loss": [], "accuracy": [], "diverged": None}
    for epoch in range(epochs):
        logits = model(X).squeeze(1)                   # [N]
        loss = bce_with_logits(logits, t)
        if not torch.isfinite(loss):
            history["diverged"] = f"the loss became {loss.item()} at epoch {epoch}"
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history["loss"].append(loss.item())
        history["accuracy"].append(float(((logits > 0).long() == y).float().mean()))  # p > 0.5 <=> z > 0
    return history


@torch.no_grad()
def probability_grid(model, lo=-2.0, hi=2.0, n=60):
    """P(class 1) on an n x n grid of points, for drawing the decision boundary."""
    axis = torch.linspace(lo, hi, n)
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # [n*n, 2]
    return axis, sigmoid(model(points)).reshape(n, n)
