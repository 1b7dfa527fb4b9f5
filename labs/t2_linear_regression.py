"""Linear regression by hand: the smallest complete training loop (tutorial 002).

    y_pred = w * x + b                        forward pass            x, y: [N]
    loss   = mean((y_pred - y) ** 2)          mean squared error      0-d
    loss.backward()                           autograd fills w.grad and b.grad
    with torch.no_grad(): w -= lr * w.grad    the update (not recorded in the graph)
    w.grad.zero_()                            otherwise the next backward() ADDS to it

Then each manual step is matched against the torch abstraction that replaces it.
"""
import math

import torch

from core import rng
from core.network import state_dict_bytes

DIVERGED_LOSS = 1e12  # a loss this big (or inf / nan) means the learning rate was too large


def make_data(true_w=2.0, true_b=-1.0, noise=0.3, n=100, seed=0):
    """Points on the line y = true_w * x + true_b plus Gaussian noise; x uniform in [-1, 1]. Returns x [N], y [N]."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, generator=g) * 2 - 1  # [N] in [-1, 1]
    y = true_w * x + true_b + noise * torch.randn(n, generator=g)  # [N]
    return x, y


def mse(y_pred, y):
    """Mean squared error by hand: [N], [N] -> 0-d."""
    return ((y_pred - y) ** 2).mean()


def train_manual(x, y, lr=0.1, steps=100, zero_grad=True, w0=0.0, b0=0.0):
    """Gradient descent on w and b with autograd and hand-written updates.

    zero_grad=False "forgets" w.grad.zero_() / b.grad.zero_(): each backward() then adds the new
    gradient to all the old ones, so the step uses the SUM of every gradient so far.
    Returns {"loss", "w", "b", "w_grad", "b_grad": one value per step (w, b before the step),
             "final_w", "final_b", "diverged": step index or None}.
    """
    w = torch.tensor(float(w0), requires_grad=True)
    b = torch.tensor(float(b0), requires_grad=True)
    hist = {"loss": [], "w": [], "b": [], "w_grad": [], "b_grad": [], "diverged": None}
    for step in range(steps):
        y_pred = w * x + b  # [N]
        loss = mse(y_pred, y)  # 0-d
        loss.backward()  # w.grad += dloss/dw, b.grad += dloss/db
        hist["loss"].append(loss.item())
        hist["w"].append(w.item())
        hist["b"].append(b.item())
        hist["w_grad"].append(w.grad.item())
        hist["b_grad"].append(b.grad.item())
        if not math.isfinite(loss.item()) or loss.item() > DIVERGED_LOSS:
            hist["diverged"] = step
            break
        with torch.no_grad():  # the update itself must not become part of the graph
            w -= lr * w.grad
            b -= lr * b.grad
        if zero_grad:
            w.grad.zero_()
            b.grad.zero_()
    hist["final_w"], hist["final_b"] = w.item(), b.item()
    return hist


def train_torch(x, y, lr=0.1, steps=100, w0=0.0, b0=0.0):
    """The same loop with nn.Linear(1, 1), nn.MSELoss and optim.SGD. Returns {"loss", "w", "b"} per step."""
    model = rng.zero_linear(1, 1)  # nn.Linear(1, 1) without its random start (filled just below)
    with torch.no_grad():
        model.weight.fill_(w0)  # [1, 1]
        model.bias.fill_(b0)  # [1]
    loss_fn = torch.nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    hist = {"loss": [], "w": [], "b": []}
    X = x.unsqueeze(1)  # [N] -> [N, 1]: nn.Linear wants one row per example
    for _ in range(steps):
        loss = loss_fn(model(X).squeeze(1), y)
        hist["loss"].append(loss.item())
        hist["w"].append(model.weight.item())
        hist["b"].append(model.bias.item())
        if not math.isfinite(loss.item()) or loss.item() > DIVERGED_LOSS:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return hist


def max_diff(a, b):
    """Largest |a - b| over two equally long lists of numbers (inf when a value is not finite)."""
    a, b = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    if a.shape != b.shape:
        return math.inf
    return (a - b).abs().max().item() if a.numel() else 0.0


def mapping_checks(x, y, lr=0.1, w=0.5, b=-0.25):
    """Each manual step next to the torch abstraction that replaces it, measured on the same numbers.

    Returns a list of {"manual", "torch", "max_abs_diff"} rows.
    """
    X = x.unsqueeze(1)  # [N, 1]
    rows = []

    # forward: w * x + b  vs  nn.Linear(1, 1)
    linear = rng.zero_linear(1, 1)  # nn.Linear(1, 1), filled with w and b below
    with torch.no_grad():
        linear.weight.fill_(w)
        linear.bias.fill_(b)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    ours_pred = wt * x + bt  # [N]
    theirs_pred = linear(X).squeeze(1)  # [N, 1] -> [N]
    rows.append({"manual": "w * x + b (tensors with requires_grad)", "torch": "nn.Linear(1, 1)",
                 "max_abs_diff": (ours_pred - theirs_pred).abs().max().item()})

    # loss: hand MSE vs nn.MSELoss
    ours_loss = mse(ours_pred, y)
    theirs_loss = torch.nn.MSELoss()(theirs_pred, y)
    rows.append({"manual": "((y_pred - y) ** 2).mean()", "torch": "nn.MSELoss()",
                 "max_abs_diff": abs(ours_loss.item() - theirs_loss.item())})

    # gradients: same backward call, on both sets of parameters
    ours_loss.backward()
    optimizer = torch.optim.SGD(linear.parameters(), lr=lr)
    theirs_loss.backward()
    rows.append({"manual": "loss.backward() -> w.grad, b.grad", "torch": "loss.backward() -> weight.grad, bias.grad",
                 "max_abs_diff": max(abs(wt.grad.item() - linear.weight.grad.item()),
                                     abs(bt.grad.item() - linear.bias.grad.item()))})

    # update: w -= lr * w.grad under no_grad  vs  optimizer.step()
    with torch.no_grad():
        wt -= lr * wt.grad
        bt -= lr * bt.grad
    optimizer.step()
    rows.append({"manual": "with torch.no_grad(): w -= lr * w.grad", "torch": "optimizer.step()",
                 "max_abs_diff": max(abs(wt.item() - linear.weight.item()), abs(bt.item() - linear.bias.item()))})

    # reset: grad.zero_() vs optimizer.zero_grad(), compared on the NEXT step's gradient
    wt.grad.zero_()
    bt.grad.zero_()
    optimizer.zero_grad()
    mse(wt * x + bt, y).backward()
    torch.nn.MSELoss()(linear(X).squeeze(1), y).backward()
    rows.append({"manual": "w.grad.zero_(); b.grad.zero_()", "torch": "optimizer.zero_grad()",
                 "max_abs_diff": max(abs(wt.grad.item() - linear.weight.grad.item()),
                                     abs(bt.grad.item() - linear.bias.grad.item()))})
    return rows


def whole_loop_check(x, y, lr=0.1, steps=50):
    """The whole hand-written loop next to nn.Linear + nn.MSELoss + optim.SGD, `steps` steps from the same start:
    a row like mapping_checks', with the largest difference of w and of b after any step."""
    manual = train_manual(x, y, lr, steps)
    torch_run = train_torch(x, y, lr, steps)
    return {"manual": f"the whole loop, {steps} steps (w, b after each)",
            "torch": "nn.Linear + nn.MSELoss + optim.SGD loop",
            "max_abs_diff": max(max_diff(manual["w"], torch_run["w"]), max_diff(manual["b"], torch_run["b"]))}


def curvature(x):
    """How sharply the MSE of y = w x + b curves, for the inputs x [N] (the same for any y).

    The MSE is a bowl in (w, b) whose second derivatives (the Hessian) are 2 [[mean(x^2), mean(x)], [mean(x), 1]]:
    2 mean(x^2) along w, 2 along b, mixed by mean(x). Plain gradient descent is stable only while lr times the
    sharpest curvature (the Hessian's largest eigenvalue) stays below 2.
    Returns {"mean_x", "along_w", "along_b", "sharpest", "gentlest", "lr_limit": 2 / sharpest}.
    """
    x = x.double()
    m1, m2 = x.mean().item(), (x * x).mean().item()
    H = 2 * torch.tensor([[m2, m1], [m1, 1.0]], dtype=torch.float64)  # [2, 2]: d2 MSE / d(w, b)^2
    gentlest, sharpest = torch.linalg.eigvalsh(H).tolist()  # ascending
    return {"mean_x": m1, "along_w": 2 * m2, "along_b": 2.0, "sharpest": sharpest, "gentlest": gentlest,
            "lr_limit": 2 / sharpest}


def verdict(hist, grad_tol=1e-2):
    """One word for how a run went:
    "diverged"    the loss passed DIVERGED_LOSS or stopped being a number;
    "grew"        the last loss is above the first one;
    "unstable"    the last loss is well above the best one seen;
    "oscillating" the gradient is not small and keeps flipping sign: the steps jump over the minimum;
    "moving"      the gradient is still not small: more steps (or a larger lr) would help;
    "ok"          converged: the last gradient is below grad_tol times the first one.
    """
    losses = hist["loss"]
    if hist.get("diverged") is not None:
        return "diverged"
    if losses[-1] > losses[0]:
        return "grew"
    if losses[-1] > 1.5 * min(losses) + 1e-12:
        return "unstable"
    size = lambda i: max(abs(hist["w_grad"][i]), abs(hist["b_grad"][i]))  # noqa: E731
    grad_tol = grad_tol * max(size(0), 1e-6)  # relative to the first gradient
    if size(-1) <= grad_tol:
        return "ok"
    flips = [(a > 0) != (b > 0) for key in ("w_grad", "b_grad")
             for a, b in zip(hist[key][-6:-1], hist[key][-5:]) if abs(a) > grad_tol]
    if len(flips) >= 4 and sum(flips) >= len(flips) // 2:
        return "oscillating"
    return "moving"


def weights_file(w, b):
    """The fitted line as torch.save bytes of a state_dict for nn.Sequential(nn.Linear(1, 1))."""
    return state_dict_bytes({"0.weight": torch.tensor([[float(w)]]), "0.bias": torch.tensor([float(b)])})
