"""A first neural network: one dose in, one effectiveness out (tutorial 000).

Shape of the network: 1 input -> 2 hidden ReLU units -> 1 output (with a final ReLU).
Seven numbers describe it, kept in a plain dict:

    top branch:     h_top    = relu(dose * w00 + b00),  scaled by w01
    bottom branch:  h_bottom = relu(dose * w10 + b10),  scaled by w11
    output:         relu(h_top * w01 + h_bottom * w11 + final_bias)

Training changes only final_bias, with SGD and gradients summed over the three training
points of each epoch, exactly as the tutorial's loop does.
"""
import math

import torch
import torch.nn.functional as F

# The weights and biases of the tutorial's diagram.
TUTORIAL_PARAMS = {"w00": 1.7, "b00": -0.85, "w01": -40.8,
                   "w10": 12.6, "b10": 0.0, "w11": 2.7, "final_bias": -16.0}

# Three training points: low dose -> no effect, medium dose -> full effect, high dose -> no effect.
TRAIN_DOSES = [0.0, 0.5, 1.0]
TRAIN_EFFECT = [0.0, 1.0, 0.0]


def as_tensors(params):
    """The seven numbers as 0-d float32 tensors (so the arithmetic is torch's, in float32)."""
    return {name: torch.tensor(float(value)) for name, value in params.items()}


def dose_forward(params, dose):
    """Every intermediate value of the network for doses [N] (or a single 0-d dose).

    Returns a dict of tensors shaped like `dose`: the two hidden pre-activations and ReLU
    outputs, each branch scaled by its output weight, their sum plus final_bias, and the output.
    """
    p = params
    top_in = dose * p["w00"] + p["b00"]  # [N]
    top = F.relu(top_in)  # [N]
    top_scaled = top * p["w01"]  # [N]
    bottom_in = dose * p["w10"] + p["b10"]  # [N]
    bottom = F.relu(bottom_in)  # [N]
    bottom_scaled = bottom * p["w11"]  # [N]
    summed = top_scaled + bottom_scaled + p["final_bias"]  # [N]
    return {"top_in": top_in, "top": top, "top_scaled": top_scaled,
            "bottom_in": bottom_in, "bottom": bottom, "bottom_scaled": bottom_scaled,
            "summed": summed, "output": F.relu(summed)}


def dose_curve(params, points=201):
    """Every intermediate value of dose_forward over `points` doses evenly in [0, 1], as NumPy arrays for
    plotting, plus "dose" itself: {"dose": [points], "top": [points], ..., "output": [points]}."""
    doses = torch.linspace(0, 1, points)  # [points]
    with torch.no_grad():
        out = dose_forward(as_tensors(params), doses)
    return {"dose": doses.numpy(), **{key: v.numpy() for key, v in out.items()}}


def train_final_bias(params, doses=None, targets=None, lr=0.1, start_bias=0.0, tol=1e-4, max_epochs=100):
    """Learn final_bias by gradient descent, the other six numbers frozen.

    Each epoch: for each training point compute (output - target)^2 and call backward(), so the
    three gradients add up in final_bias.grad; add the three losses into total_loss.
    If total_loss < tol, stop (before updating). Otherwise  bias -= lr * grad  and zero the grad.
    The epoch at which training stops counts from 0, so it equals the number of updates made.

    Returns {"bias": [bias at the start of each epoch], "loss": [total loss of each epoch],
             "grad": [summed gradient of each epoch], "stop_epoch": epoch index or None,
             "final_bias": float, "diverged": bool, "stuck": bool (zero gradient, loss still too big)}.
    """
    doses = torch.tensor(TRAIN_DOSES if doses is None else doses, dtype=torch.float32)  # [3]
    targets = torch.tensor(TRAIN_EFFECT if targets is None else targets, dtype=torch.float32)  # [3]
    frozen = as_tensors({k: v for k, v in params.items() if k != "final_bias"})
    bias = torch.tensor(float(start_bias), requires_grad=True)
    history = {"bias": [], "loss": [], "grad": [], "stop_epoch": None, "diverged": False, "stuck": False}
    for epoch in range(max_epochs):
        total_loss = 0.0
        for dose, target in zip(doses, targets):
            output = dose_forward({**frozen, "final_bias": bias}, dose)["output"]  # 0-d
            loss = (output - target) ** 2
            loss.backward()  # adds this point's gradient to bias.grad
            total_loss += loss.item()
        history["bias"].append(bias.item())
        history["loss"].append(total_loss)
        history["grad"].append(bias.grad.item())
        if not math.isfinite(total_loss) or abs(bias.item()) > 1e6:
            history["diverged"] = True
            break
        if total_loss < tol:
            history["stop_epoch"] = epoch
            break
        if bias.grad.item() == 0:  # the final ReLU outputs 0 at every point: no gradient, no learning
            history["stuck"] = True
            break
        with torch.no_grad():
            bias.add_(bias.grad, alpha=-lr)  # bias = bias - lr * grad  (what optim.SGD.step does)
        bias.grad.zero_()  # what optimizer.zero_grad() does
    history["final_bias"] = float(bias.detach())
    return history


def residuals(params, doses=None, targets=None):
    """target - prediction at each training point: [3]."""
    doses = torch.tensor(TRAIN_DOSES if doses is None else doses, dtype=torch.float32)
    targets = torch.tensor(TRAIN_EFFECT if targets is None else targets, dtype=torch.float32)
    with torch.no_grad():
        return targets - dose_forward(as_tensors(params), doses)["output"]


# What the tutorial printed for its own settings (TUTORIAL_PARAMS, lr 0.1, bias starting at 0): a citation,
# compared on the page with what train_final_bias computes, never shown in its place.
TUTORIAL_PRINTOUT = {"steps": 34, "final_bias": "-16.0019"}


def matches_printout(history):
    """Does a training run end like the tutorial's printout (stop after 34 steps, final bias -16.0019 to 4 places)?"""
    return (history["stop_epoch"] == TUTORIAL_PRINTOUT["steps"]
            and f"{history['final_bias']:.4f}" == TUTORIAL_PRINTOUT["final_bias"])


class DoseNet(torch.nn.Module):
    """The tutorial's network as an nn.Module: six frozen nn.Parameters and one trainable final_bias.

    requires_grad=False freezes a parameter: autograd computes no gradient for it, so no optimizer moves it.
    Every parameter is built from a given number, so creating a DoseNet draws no random numbers.
    """

    def __init__(self, params, start_bias=0.0):
        super().__init__()
        for name, value in params.items():
            trainable = name == "final_bias"
            start = start_bias if trainable else value
            setattr(self, name, torch.nn.Parameter(torch.tensor(float(start)), requires_grad=trainable))

    def forward(self, dose):  # dose [N] (or 0-d) -> effectiveness, same shape
        top = F.relu(dose * self.w00 + self.b00) * self.w01
        bottom = F.relu(dose * self.w10 + self.b10) * self.w11
        return F.relu(top + bottom + self.final_bias)


def train_final_bias_module(params, lr=0.1, start_bias=0.0, tol=1e-4, max_epochs=100, curve_points=201):
    """The tutorial's own recipe: DoseNet (frozen weights), torch.optim.SGD over the trainable parameter only.

    The same epochs, stopping rules and history as train_final_bias, plus
    "trainable": names of the parameters the optimizer was given, and
    "curve": the trained model's output at curve_points doses in [0, 1], detached from the graph for plotting.
    """
    model = DoseNet(params, start_bias)
    trainable = [p for p in model.parameters() if p.requires_grad]  # [final_bias]
    optimizer = torch.optim.SGD(trainable, lr=lr)
    doses = torch.tensor(TRAIN_DOSES)  # [3]
    targets = torch.tensor(TRAIN_EFFECT)  # [3]
    history = {"bias": [], "loss": [], "grad": [], "stop_epoch": None, "diverged": False, "stuck": False,
               "trainable": [n for n, p in model.named_parameters() if p.requires_grad]}
    for epoch in range(max_epochs):
        total_loss = 0.0
        for dose, target in zip(doses, targets):
            loss = (model(dose) - target) ** 2
            loss.backward()  # adds this point's gradient to final_bias.grad
            total_loss += loss.item()
        history["bias"].append(model.final_bias.item())
        history["loss"].append(total_loss)
        history["grad"].append(model.final_bias.grad.item())
        if not math.isfinite(total_loss) or abs(model.final_bias.item()) > 1e6:
            history["diverged"] = True
            break
        if total_loss < tol:
            history["stop_epoch"] = epoch
            break
        if model.final_bias.grad.item() == 0:
            history["stuck"] = True
            break
        optimizer.step()
        optimizer.zero_grad()
    history["final_bias"] = float(model.final_bias.detach())
    output = model(torch.linspace(0, 1, curve_points))  # [curve_points], still part of the autograd graph
    history["curve"] = output.detach().tolist()  # .detach(): plain numbers, no graph, safe to plot
    return history


def compare_loop_and_module(loop, module):
    """How far apart two training histories are: same stop epoch? largest |bias difference| over the epochs."""
    same_length = len(loop["bias"]) == len(module["bias"])
    diffs = [abs(a - b) for a, b in zip(loop["bias"], module["bias"])]
    return {"same_stop": loop["stop_epoch"] == module["stop_epoch"] and same_length,
            "max_bias_diff": max(diffs) if diffs else 0.0, "epochs": len(diffs)}
