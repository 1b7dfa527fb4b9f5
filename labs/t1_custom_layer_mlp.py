"""A 784-128-64-10 MLP the torch.nn way, built from hand-made layers, and the gap between the accuracy
on images it trained on and on images it never saw (overfitting).

Also: the trained network as torch's own nn.Sequential (for a weights download) and a standalone script
that reruns the page's training.
"""
import torch
from torch import nn

from core import data, metrics, train
from core.network import state_dict_bytes, to_torch_sequential
from core.rng import zero_linear
from labs.t3_binary_activation import CustomLinear

EPOCH_COLUMNS = ("train_acc", "test_acc", "gap", "train_loss", "test_loss")  # one row per epoch, after "epoch"
EVAL_CHUNK = 10_000  # rows per forward pass in evaluate: the whole test split at once, 60,000 images in 6 pieces


class SeededDropout(nn.Dropout):
    """nn.Dropout that draws its masks from its own random generator.

    nn.Dropout draws from torch's global random state, which every visitor of the app shares, so a run
    with dropout could not be repeated. Same rule otherwise: in training mode each number is kept with
    probability 1 - p and the kept ones are divided by 1 - p; in eval mode nothing changes.
    """

    def __init__(self, p, generator):
        super().__init__(p)
        self.generator = generator

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape, generator=self.generator) >= self.p   # [B, H]: True = this unit stays
        return x * keep / (1 - self.p)


def custom_mlp(sizes=(784, 128, 64, 10), dropout=0.0, seed=0):
    """Stack CustomLinear layers (nn.Parameter inside) with ReLU (and optional dropout) in between.

    One generator seeded with `seed` draws the starting weights and then the dropout masks.
    """
    g = torch.Generator().manual_seed(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(CustomLinear(n_in, n_out, generator=g))
        if i < len(sizes) - 2:                      # no activation after the last layer
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(SeededDropout(dropout, g))
    return nn.Sequential(*layers)


def same_as_nn_linear(model):
    """Copy a custom MLP into nn.Linear layers; return the copy (same numbers, torch's own layer)."""
    layers = []
    for layer in model:
        if isinstance(layer, CustomLinear):
            linear = zero_linear(layer.weight.shape[1], layer.weight.shape[0])  # nn.Linear, numbers copied in
            with torch.no_grad():
                linear.weight.copy_(layer.weight)
                linear.bias.copy_(layer.bias)
            layers.append(linear)
        else:
            layers.append(layer)
    return nn.Sequential(*layers)


def parameter_table(model):
    """One row per registered parameter: its name, shape, how many numbers, and whether it is an nn.Parameter."""
    return [{"parameter": name, "shape": str(list(p.shape)), "numbers": p.numel(),
             "is nn.Parameter": isinstance(p, nn.Parameter)} for name, p in model.named_parameters()]


def nn_linear_difference(model, X):
    """max |model(x) - same_as_nn_linear(model)(x)| on the digits X [N, 784] (uint8 pixels or floats)."""
    x = data.to_float(X)  # [N, 784] float32 in [0, 1]
    with torch.no_grad():
        return (model(x) - same_as_nn_linear(model)(x)).abs().max().item()


def untrained_guesses(X, y, seed=0, n=16):
    """What a fresh custom_mlp(seed=seed) guesses for the digits X [N, 784] with labels y [N]:
    (the first n images [n, 28, 28] in [0, 1], their n guesses, their n labels, the share of all N guessed right)."""
    model = custom_mlp(seed=seed)
    x = data.to_float(X)  # [N, 784] float32 in [0, 1]
    with torch.no_grad():
        guess = model(x).argmax(dim=1)  # [N]
    right = (guess == y).float().mean().item()
    return x[:n].reshape(n, 28, 28).numpy(), guess[:n].tolist(), y[:n].tolist(), right


def evaluate(model, X, y):
    """(accuracy, mean cross-entropy) of core.metrics.evaluate, in evaluation mode (dropout off).

    X: [N, 784] float32, or uint8 pixels (datasets.mnist_files.load_mnist_pixels), run EVAL_CHUNK rows at a time.
    """
    was_training = model.training
    model.eval()
    result = metrics.evaluate(model, X, y, loss=nn.functional.cross_entropy, chunk=EVAL_CHUNK)
    model.train(was_training)
    return result["acc"], result["loss"]


def train_epochs(model, X_train, y_train, X_test, y_test, *, epochs=10, lr=0.05, batch_size=64,
                 optimizer="sgd", seed=0):
    """The usual loop: zero_grad, forward, loss, backward, step. Yields train/test accuracy after each epoch.

    Stops early, saying why, if the training loss is not finite or grows past 10x its starting value
    (a learning rate so large that every step overshoots).
    X_train / X_test: float32 in [0, 1], or uint8 pixels (each mini-batch is converted when it is drawn).
    """
    _, start_loss = evaluate(model, X_train, y_train)
    opt = train.make_torch_optimizer(model, train.make_config(optimizer, lr))   # torch.optim's SGD or Adam
    g = torch.Generator().manual_seed(seed)
    for epoch in range(1, epochs + 1):
        model.train()                                # dropout on
        order = torch.randperm(len(X_train), generator=g)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(data.as_float(X_train[idx])), y_train[idx])
            loss.backward()
            opt.step()
        train_acc, train_loss = evaluate(model, X_train, y_train)
        if not train_loss < 10 * start_loss:            # also catches nan and inf
            yield {"epoch": epoch, "diverged": f"the training loss went from {start_loss:.2f} to "
                                              f"{train_loss:.4g} in epoch {epoch}"}
            return
        test_acc, test_loss = evaluate(model, X_test, y_test)
        yield {"epoch": epoch, "train_acc": train_acc, "test_acc": test_acc, "gap": train_acc - test_acc,
               "train_loss": train_loss, "test_loss": test_loss, "diverged": None}


# ------------------------------------------------------------------ export
def plain_sequential(model):
    """The same network as nn.Sequential(Linear, ReLU, Linear, ReLU, Linear) with its weights copied.

    Dropout layers are left out: they hold no weights and are switched off when evaluating, so the
    copy computes what model.eval() computes. (CustomLinear already stores weight as [out, in].)
    """
    params = [{"W": layer.weight.detach().T, "b": layer.bias.detach()}   # core.network's layout: W [in, out]
              for layer in model if isinstance(layer, CustomLinear)]
    return to_torch_sequential(params, "relu")


def weights_file(model):
    """The bytes of a torch.save'd state_dict of plain_sequential(model): for 784-128-64-10, load it with
    nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    .load_state_dict(torch.load(path))."""
    return state_dict_bytes(plain_sequential(model).state_dict())

