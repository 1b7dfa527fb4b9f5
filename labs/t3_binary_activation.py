"""A yes/no classifier on 2-D points: a sigmoid output, binary cross-entropy, a linear layer built by
hand from nn.Parameter, and any activation function (for example one typed as a formula).

This part uses autograd on purpose: it shows how to *extend* torch.nn with your own pieces.
Also: the trained classifier as torch's own nn.Sequential (for a weights download) and a standalone script
that reruns the page's training.
"""
import ast
import copy
import math
import operator

import sympy
import torch
from simpleeval import SimpleEval
from torch import nn
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from core.data import make_2d
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


def n_parameters(hidden):
    """How many numbers binary_classifier(hidden, ...) learns: counted from its parameters, as model.parameters()
    finds them (2 * hidden + hidden weights and biases in, hidden + 1 out)."""
    return sum(p.numel() for p in binary_classifier(hidden, torch.tanh).parameters())


def train_binary(model, X, y, lr=0.05, epochs=300, optimizer=None, first_epoch=0):
    """Full-batch Adam on binary cross-entropy; stops if the loss is not finite.

    The loss is computed from the logit (bce_with_logits) rather than from sigmoid(logit): once a
    probability rounds to exactly 1.0, log(1 - p) and its gradient are infinite, while the logit form
    never takes the log of 0 (the same idea as subtracting the max in softmax).
    X [N, 2], y [N] with 0/1 labels. Returns the per-epoch loss and accuracy, why it stopped, and
    "weights": the model's numbers after every epoch's update as rows of one tensor [epochs run, parameters].
    To continue a run, pass its Adam as `optimizer` and the number of epochs already run as `first_epoch`.
    """
    t = y.float()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr) if optimizer is None else optimizer
    history = {"loss": [], "accuracy": [], "diverged": None}
    weights = []
    for epoch in range(first_epoch, first_epoch + epochs):
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
        weights.append(parameters_to_vector(model.parameters()).detach())
    history["weights"] = torch.stack(weights) if weights else torch.empty(0, sum(p.numel() for p in model.parameters()))
    return history


def continue_run(text, dataset, hidden, lr, noise, seed, epochs, start=None):
    """`epochs` more epochs of the page's run (formula `text` on make_2d(dataset, 300 points, noise, seed)).

    start: None (a fresh classifier from `seed`), or what this function returned for the epochs before; the run
    goes on from its weights and Adam's memory, so pieces of 50 epochs give exactly the numbers of one long run.
    Returns train_binary's history plus "epochs_before", "state" (weights) and "adam" (Adam's state_dict).
    """
    act = activation_from_formula(text)
    X, y = make_2d(dataset, n=300, noise=noise, seed=seed)
    model = binary_classifier(hidden, act["f"], seed=seed, name=text)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    before = 0
    if start is not None:
        before = start["epochs_before"] + len(start["loss"])
        model.load_state_dict(start["state"])
        optimizer.load_state_dict(copy.deepcopy(start["adam"]))  # Adam updates its moments in place
        if start["diverged"]:                          # a run that blew up stays stopped
            return {**start, "loss": [], "accuracy": [], "weights": start["weights"][:0], "epochs_before": before}
    history = train_binary(model, X, y, lr=lr, epochs=epochs, optimizer=optimizer, first_epoch=before)
    return {**history, "epochs_before": before, "state": model.state_dict(), "adam": optimizer.state_dict()}


def run_after(pieces, epochs, text, hidden, seed):
    """(history, model) of train_binary(epochs=epochs) from consecutive continue_run pieces covering them.

    The pieces may run past `epochs` (a longer run holds every shorter one): the history is cut there, and the
    model gets the weights it had after that many epochs (or where the run blew up, if that came first).
    """
    loss = [v for p in pieces for v in p["loss"]]
    accuracy = [v for p in pieces for v in p["accuracy"]]
    n = min(epochs, len(loss))
    stopped = next((p["diverged"] for p in pieces if p["diverged"]), None) if len(loss) < epochs else None
    model = binary_classifier(hidden, activation_from_formula(text)["f"], seed=seed, name=text)
    if n:
        vector_to_parameters(torch.cat([p["weights"] for p in pieces])[n - 1], model.parameters())
    return {"loss": loss[:n], "accuracy": accuracy[:n], "diverged": stopped}, model


def formula_pieces(expr):
    """How many pieces (numbers, x, operations, functions) the sympy expression is made of."""
    return sum(1 for _ in sympy.preorder_traversal(expr))


def estimated_seconds_per_epoch(pieces, hidden):
    """About how long one epoch of train_binary takes (CPU seconds, 1 thread) for a formula of `pieces` pieces:
    a fixed part for the layers, the loss and Adam, and a part per piece (a torch operation forward and backward
    on a [300, hidden] tensor). Fitted to runs of 1 to 28 pieces and 16 to 64 hidden units on the 2-core
    development machine."""
    return 0.4e-3 + 0.02e-3 * pieces * (1 + hidden / 64)


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



# ---------------------------------------------------------------------------
# formula (was labs/t3_binary_activation.py)
# Turn a formula typed by a person, such as  x**3*(6*x**2 - 15*x + 10),  into an activation function.
# ---------------------------------------------------------------------------

X = sympy.Symbol("x", real=True)
SMOOTHSTEP = "x**3*(6*x**2 - 15*x + 10)"  # the tutorial's custom activation

MAX_LENGTH = 200        # characters
MAX_NODES = 80          # pieces of the expression tree
MAX_DEPTH = 16          # nesting
MAX_CONSTANT = 1e6      # largest number allowed in a formula
MAX_EXPONENT = 12       # x**n: |n| at most this (a constant)
MAX_COEFFICIENT = 1e15  # largest number in f or f' once sympy has multiplied the formula out (1000000**12 = 1e72)
PROBE_RANGE = 1.0       # f and f' are evaluated on [-1, 1], where a fresh hidden unit's input lies, ...
MAX_VALUE = 1e30        # ... and must stay below this there: training runs in float32, which ends at about 3.4e38

FUNCTIONS = {           # name a student may type -> the sympy function it builds
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tanh": sympy.tanh,
    "abs": sympy.Abs,
    "sigmoid": lambda z: 1 / (1 + sympy.exp(-z)),
    "softplus": lambda z: sympy.log(1 + sympy.exp(z)),
    "relu": lambda z: sympy.Max(z, 0),
}
NAMES = {"x": X, "pi": sympy.pi, "e": sympy.E}
OPERATORS = {            # the only operators the evaluator knows (powers were size-checked before)
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: operator.pow, ast.USub: operator.neg, ast.UAdd: operator.pos,
}
_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_UNARY = (ast.USub, ast.UAdd)


class FormulaError(ValueError):
    """The formula was refused; the message says why, in words for the person who typed it."""


def _constant_value(node):
    """The number a node stands for, if it is a (signed) literal number, else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY):
        inner = _constant_value(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    return None


def _check_leaf(node):
    """A number or a name: raise FormulaError unless it is a plain, not too large number or a known name."""
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            raise FormulaError(f"only numbers may appear as constants, not {node.value!r}")
        if abs(node.value) > MAX_CONSTANT:
            raise FormulaError(f"numbers larger than {MAX_CONSTANT:g} are not allowed")
    elif node.id not in NAMES:
        raise FormulaError(f"unknown name '{node.id}': use x, pi, e, or one of {', '.join(FUNCTIONS)}")


def _check_exponent(node):
    """x ** k: k must be a plain number no larger than MAX_EXPONENT."""
    exponent = _constant_value(node.right)
    if exponent is None:
        raise FormulaError("a power must have a plain number as its exponent, e.g. x**3")
    if abs(exponent) > MAX_EXPONENT:
        raise FormulaError(f"exponents larger than {MAX_EXPONENT} are not allowed")


def _check_call(node):
    """f(arg): f must be one of FUNCTIONS, called with exactly one positional argument."""
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        raise FormulaError(f"only these functions can be called: {', '.join(FUNCTIONS)}")
    if node.keywords or len(node.args) != 1:
        raise FormulaError(f"{node.func.id}(...) takes exactly one argument")


def _check_node(node, depth):
    if depth > MAX_DEPTH:
        raise FormulaError(f"the formula is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, ast.Expression):
        return _check_node(node.body, depth + 1)
    if isinstance(node, (ast.Constant, ast.Name)):
        return _check_leaf(node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY):
        return _check_node(node.operand, depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, _BINARY):
        if isinstance(node.op, ast.Pow):
            _check_exponent(node)
        _check_node(node.left, depth + 1)
        return _check_node(node.right, depth + 1)
    if isinstance(node, ast.Call):
        _check_call(node)
        return _check_node(node.args[0], depth + 1)
    if isinstance(node, ast.BinOp):
        raise FormulaError(f"the operator '{type(node.op).__name__}' is not allowed: use + - * / **")
    if isinstance(node, ast.Attribute):
        raise FormulaError("attribute access (a dot after a name) is not allowed")
    raise FormulaError(f"'{type(node).__name__}' is not allowed: use numbers, x, + - * / ** and functions")


def check_formula(text):
    """Refuse anything that is not a small arithmetic formula in x; returns the cleaned text."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("type a formula in x, for example x**3*(6*x**2 - 15*x + 10)")
    text = text.strip()
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"the formula is longer than {MAX_LENGTH} characters")
    if not text.isascii() or not text.isprintable():
        raise FormulaError("use plain ASCII characters only (letters, digits, + - * / ( ) . and spaces)")
    try:
        tree = ast.parse(text, mode="eval")  # builds a syntax tree; runs nothing
    except SyntaxError as err:
        raise FormulaError(f"this is not a valid formula ({err.msg})") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise FormulaError(f"the formula has more than {MAX_NODES} parts")
    _check_node(tree, 0)
    if not any(isinstance(n, ast.Name) and n.id == "x" for n in ast.walk(tree)):
        raise FormulaError("the formula must use x")
    return text


def parse_activation(text):
    """Formula text -> (sympy expression f(x), sympy expression f'(x))."""
    text = check_formula(text)
    evaluator = SimpleEval(operators=dict(OPERATORS), names=dict(NAMES), functions=dict(FUNCTIONS))
    try:
        expr = sympy.sympify(evaluator.eval(text))
    except (ZeroDivisionError, OverflowError, ValueError, TypeError) as err:
        raise FormulaError(f"the formula cannot be computed ({err})") from None
    if expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
        raise FormulaError("the formula divides by zero or is infinite")
    if not expr.has(X):
        raise FormulaError("the formula does not depend on x after simplification")
    derivative = sympy.diff(expr, X)
    check_magnitude(expr, derivative)
    return expr, derivative


def check_magnitude(expr, derivative):
    """Refuse f and f' whose numbers are too large to train with in float32 (checked before any training).

    Each constant passes the parser's limits, yet 1000000**12*x multiplies out to 1e72*x, which float32
    (largest about 3.4e38) cannot even hold. So: no number in f or f' above MAX_COEFFICIENT (compared
    exactly, by sympy); f and f' must evaluate in float32 (as training does) without an error; and on
    x in [-1, 1] neither may reach MAX_VALUE or infinity. Growing past that further out is allowed: training
    then stops and says so (exp(exp(exp(x))) is 3.8e6 at x = 1).
    """
    for name, e in (("f(x)", expr), ("f'(x)", derivative)):
        if any(abs(n) > MAX_COEFFICIENT for n in e.atoms(sympy.Number)):
            raise FormulaError(f"{name} holds a number larger than {MAX_COEFFICIENT:.0e} once multiplied out; "
                               "training works in float32, whose numbers end at about 3.4e38")
    x = torch.linspace(-PROBE_RANGE, PROBE_RANGE, 201, dtype=torch.float64)   # [201], x = 0 among them
    for name, e in (("f(x)", expr), ("f'(x)", derivative)):
        with torch.no_grad():
            try:
                to_torch(e, x.float())                                        # as training computes it
            except (RuntimeError, OverflowError) as err:
                raise FormulaError(f"{name} cannot be computed in float32, as training does ({err})") from None
            values = to_torch(e, x).expand_as(x)                              # [201]
        size = values.abs().nan_to_num(nan=0.0)                               # nan (log of x < 0) is allowed
        if bool((size > MAX_VALUE).any()):
            at = float(x[size.argmax()])
            raise FormulaError(f"{name} becomes {float(values[size.argmax()]):.3g} at x = {at:g}: on "
                               f"[-{PROBE_RANGE:g}, {PROBE_RANGE:g}] it must stay below {MAX_VALUE:.0e}, because "
                               "training works in float32, whose numbers end at about 3.4e38")


_TORCH_FUNCTIONS = {
    sympy.exp: torch.exp, sympy.log: torch.log, sympy.sin: torch.sin, sympy.cos: torch.cos,
    sympy.tanh: torch.tanh, sympy.Abs: torch.abs, sympy.sign: torch.sign,
}


def to_torch(expr, x):
    """Evaluate a sympy expression on the tensor x, node by node, with torch operations."""
    if expr == X:
        return x
    if expr.is_Number or expr.is_NumberSymbol:
        return torch.full_like(x, float(expr))
    args = [to_torch(a, x) for a in expr.args]
    if expr.is_Add:
        return sum(args[1:], args[0])
    if expr.is_Mul:
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if expr.is_Pow:
        return torch.pow(args[0], args[1])
    if isinstance(expr, sympy.Max):
        return torch.maximum(args[0], args[1]) if len(args) == 2 else torch.stack(args).amax(0)
    if isinstance(expr, sympy.Heaviside):
        return torch.heaviside(args[0], torch.zeros_like(x))
    if expr.func in _TORCH_FUNCTIONS:
        return _TORCH_FUNCTIONS[expr.func](args[0])
    raise FormulaError(f"cannot evaluate '{expr.func.__name__}' with torch")


def activation_from_formula(text):
    """Formula text -> dict(f=torch function, f_prime=torch function, expr=..., derivative=...)."""
    expr, derivative = parse_activation(text)
    return {
        "f": lambda x: to_torch(expr, x),
        "f_prime": lambda x: to_torch(derivative, x),
        "expr": expr,
        "derivative": derivative,
    }


def compare_derivative(activation, lo=-2.0, hi=2.0, n=401):
    """Symbolic derivative vs autograd on a grid of x values (float64): the largest difference."""
    x = torch.linspace(lo, hi, n, dtype=torch.float64, requires_grad=True)
    y = activation["f"](x)
    (autograd,) = torch.autograd.grad(y.sum(), x)
    symbolic = activation["f_prime"](x.detach())
    finite = torch.isfinite(autograd) & torch.isfinite(symbolic)
    diff = (autograd - symbolic).abs()[finite]
    return {
        "x": x.detach(), "f": y.detach(), "symbolic": symbolic, "autograd": autograd,
        "max_abs_diff": float(diff.max()) if diff.numel() else float("nan"),
        "finite_points": int(finite.sum()),
    }
