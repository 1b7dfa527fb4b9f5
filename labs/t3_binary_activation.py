"""A yes/no classifier on 2-D points: a sigmoid output, binary cross-entropy, a linear layer built by
hand from nn.Parameter, and any activation function (for example one typed as a formula).

This part uses autograd on purpose: it shows how to *extend* torch.nn with your own pieces.
Also: the trained classifier as torch's own nn.Sequential (for a weights download) and a standalone script
that reruns the page's training.
"""
import math

import torch
from torch import nn

from core.losses import bce_with_logits
from core.network import sigmoid, state_dict_bytes
from core.rng import zero_linear


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
    theirs = zero_linear(in_dim, out_dim)  # nn.Linear without its random start: ours are copied in
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


# ------------------------------------------------------------------ export
def torch_sequential(model):
    """The classifier as nn.Sequential(nn.Linear(2, H), its Activation, nn.Linear(H, 1)), weights copied.

    CustomLinear already keeps weight as [out, in], nn.Linear's layout, so the numbers copy over as they are.
    """
    layers = []
    for layer in model:
        if isinstance(layer, CustomLinear):
            out_dim, in_dim = layer.weight.shape
            linear = zero_linear(in_dim, out_dim)  # nn.Linear(in_dim, out_dim), numbers copied in below
            with torch.no_grad():
                linear.weight.copy_(layer.weight)
                linear.bias.copy_(layer.bias)
            layers.append(linear)
        else:
            layers.append(layer)                      # the activation holds no weights
    return nn.Sequential(*layers)


def weights_file(model):
    """The bytes of a torch.save'd state_dict of torch_sequential(model) (keys 0.weight, 0.bias, 2.weight,
    2.bias): load it into nn.Sequential(nn.Linear(2, H), <the activation>, nn.Linear(H, 1))."""
    return state_dict_bytes(torch_sequential(model).state_dict())


def script_binary(text, dataset, hidden, lr, epochs, noise, seed):
    """A standalone script that repeats the binary-classifier page for this typed activation and these
    settings and prints the page's numbers (same rounding). The formula is read by core.formula (a checked
    syntax tree), never by eval."""
    return f'''"""Binary classifier with your own activation: a 2-{hidden}-1 network of nn.Parameter layers,
trained with full-batch Adam (lr {lr:g}) for {epochs} epochs on {dataset} (300 points, noise {noise:g}, seed {seed}).

Needs torch, sympy and simpleeval, and this repository's core/ package: core.formula turns the typed
formula into torch operations through a checked syntax tree (it never calls eval). Run it from the
repository root, or with the root on PYTHONPATH:
    python binary_activation.py
It prints what the page showed: the derivative check, the training results and the layer check.
"""
import torch

from core import binary, data, formula, losses, network

FORMULA = {text!r}  # the activation typed on the page

# 1. The activation: sympy's derivative against autograd's on [-2, 2].
act = formula.activation_from_formula(FORMULA)  # raises formula.FormulaError if the text is not allowed
check = formula.compare_derivative(act)
print(f"f(x): {{act['expr']}}")
print(f"f'(x) (sympy): {{act['derivative']}}")
print(f"max |sympy f' - autograd f'| on [-2, 2]: {{check['max_abs_diff']:.2e}}")

# 2. Train the yes/no classifier with it as the hidden activation.
X, y = data.make_2d({dataset!r}, n=300, noise={noise!r}, seed={seed})  # X [300, 2], y [300] in {{0, 1}}
model = binary.binary_classifier({hidden}, act["f"], seed={seed}, name=FORMULA)
history = binary.train_binary(model, X, y, lr={lr!r}, epochs={epochs})
if history["diverged"]:
    print(f"Training stopped: {{history['diverged']}}")
with torch.no_grad():
    probs = network.sigmoid(model(X).squeeze(1))  # [300], P(class 1) after training
bce_difference = "n/a"
if torch.isfinite(probs).all():
    ours = float(losses.binary_cross_entropy(probs, y.float()))
    theirs = float(torch.nn.functional.binary_cross_entropy(probs, y.float()))
    bce_difference = f"{{abs(ours - theirs):.1e}}"
# the loss and accuracy of the last epoch, measured (like the page) just before its update
print(f"Final training loss (BCE): {{history['loss'][-1]:.4f}}" if history["loss"] else
      "Final training loss (BCE): n/a")
print(f"Training accuracy: {{history['accuracy'][-1]:.1%}}" if history["accuracy"] else "Training accuracy: n/a")
print(f"Epochs run: {{len(history['loss'])}}")
print(f"|our BCE - F.binary_cross_entropy|: {{bce_difference}}")
print(f"Numbers to learn: {{sum(p.numel() for p in model.parameters()):,}}")

# 3. One CustomLinear against nn.Linear holding the same numbers (max abs difference).
for name, value in binary.compare_custom_linear().items():
    print(f"CustomLinear vs nn.Linear, {{name}}: {{value}}")
'''
