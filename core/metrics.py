"""How good is a network? Predictions, accuracy, mean loss and the confusion matrix.

`model` below is either our list of {"W", "b"} layers (core.network) or a torch.nn.Module:
the same functions measure both, so the scratch network and its torch.nn twin are judged alike.
"""

import torch

from core.data import as_float
from core.losses import cross_entropy
from core.network import forward

EVAL_CHUNK = 8192  # rows per forward pass while evaluating, to keep memory small


def logits_of(model, X, activation="relu", chunk=EVAL_CHUNK):
    """Network outputs for every row of X: [N, in] -> [N, C], computed without gradients.

    X may hold uint8 pixels: each chunk is made float32 on its own (core.data.as_float)."""
    with torch.no_grad():
        parts = []
        for start in range(0, X.shape[0], chunk):
            xb = as_float(X[start:start + chunk])              # [<=chunk, in]; uint8 pixels -> float32
            if isinstance(model, torch.nn.Module):
                parts.append(model(xb))
            else:
                parts.append(forward(model, xb, activation)[0])
        if not parts:
            raise ValueError("cannot evaluate on an empty dataset")
        return torch.cat(parts)                                # [N, C]


def predictions(model, X, activation="relu"):
    """Predicted class of each row: the index of the largest logit. [N, in] -> [N] int64."""
    return logits_of(model, X, activation).argmax(dim=1)


def accuracy(pred, y):
    """Fraction of rows predicted right, in [0, 1]. pred: labels [N] or logits [N, C]."""
    if pred.ndim == 2:
        pred = pred.argmax(dim=1)                              # logits -> labels
    if pred.shape != y.shape:
        raise ValueError(f"pred has shape {tuple(pred.shape)} but y has {tuple(y.shape)}")
    if y.numel() == 0:
        raise ValueError("accuracy of an empty set is undefined")
    return (pred == y).float().mean().item()


def evaluate_loss(model, X, y, activation="relu"):
    """Mean cross-entropy of the network on (X, y), as a float."""
    return cross_entropy(logits_of(model, X, activation), y).item()


def evaluate(model, X, y, activation="relu", loss=cross_entropy, chunk=EVAL_CHUNK):
    """Mean loss (loss(logits, y), cross-entropy by default) and accuracy from one pass: {"loss", "acc"} floats."""
    logits = logits_of(model, X, activation, chunk)            # [N, C]
    return {"loss": loss(logits, y).item(), "acc": accuracy(logits, y)}


def confusion_matrix(y_true, y_pred, n_classes=None):
    """[C, C] int64 counts: row = true class, column = predicted class.

    Each (true, predicted) pair gets the number true * C + predicted; torch.bincount
    counts how often every number occurs; reshaping the C*C counts gives the table.
    """
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {tuple(y_true.shape)} but y_pred has {tuple(y_pred.shape)}")
    if n_classes is None:
        n_classes = int(max(y_true.max(), y_pred.max())) + 1 if y_true.numel() else 0
    pair = y_true.long() * n_classes + y_pred.long()           # [N], values 0 .. C*C-1
    counts = torch.bincount(pair, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes)                # [C, C]


def per_class_accuracy(cm):
    """Share of each true class predicted right: diagonal / row sums. [C, C] -> [C] (nan for empty rows)."""
    cm = cm.double()
    return cm.diagonal() / cm.sum(dim=1)
