"""A 784-128-64-10 MLP the torch.nn way, built from hand-made layers, and the gap between the accuracy
on images it trained on and on images it never saw (overfitting).
"""
import torch
from torch import nn

from core.binary import CustomLinear


def custom_mlp(sizes=(784, 128, 64, 10), dropout=0.0, seed=0):
    """Stack CustomLinear layers (nn.Parameter inside) with ReLU (and optional dropout) in between."""
    g = torch.Generator().manual_seed(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(CustomLinear(n_in, n_out, generator=g))
        if i < len(sizes) - 2:                      # no activation after the last layer
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def same_as_nn_linear(model):
    """Copy a custom MLP into nn.Linear layers; return the copy (same numbers, torch's own layer)."""
    layers = []
    for layer in model:
        if isinstance(layer, CustomLinear):
            linear = nn.Linear(layer.weight.shape[1], layer.weight.shape[0])
            with torch.no_grad():
                linear.weight.copy_(layer.weight)
                linear.bias.copy_(layer.bias)
            layers.append(linear)
        else:
            layers.append(layer)
    return nn.Sequential(*layers)


@torch.no_grad()                                     # no graph: faster, less memory
def evaluate(model, X, y):
    """Accuracy and mean cross-entropy in evaluation mode (dropout off), without tracking gradients."""
    was_training = model.training
    model.eval()
    logits = model(X)                                # [N, 10]
    loss = nn.functional.cross_entropy(logits, y).item()
    accuracy = (logits.argmax(1) == y).float().mean().item()
    model.train(was_training)
    return accuracy, loss


def train_epochs(model, X_train, y_train, X_test, y_test, *, epochs=10, lr=0.05, batch_size=64,
                 optimizer="sgd", seed=0):
    """The usual loop: zero_grad, forward, loss, backward, step. Yields train/test accuracy after each epoch.

    Stops early, saying why, if the training loss is not finite or grows past 10x its starting value
    (a learning rate so large that every step overshoots).
    """
    _, start_loss = evaluate(model, X_train, y_train)
    opt = (torch.optim.SGD(model.parameters(), lr=lr) if optimizer == "sgd"
           else torch.optim.Adam(model.parameters(), lr=lr))
    g = torch.Generator().manual_seed(seed)
    for epoch in range(1, epochs + 1):
        model.train()                                # dropout on
        order = torch.randperm(len(X_train), generator=g)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(X_train[idx]), y_train[idx])
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
