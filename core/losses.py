"""Loss functions: one number that says how wrong the network is, plus the gradient of each.

Shapes: logits [B, C] (B examples, C classes), integer targets [B] with values 0..C-1.
Every loss is a mean over the batch, like torch.nn.functional's default reduction="mean".
"""
import torch

from core.network import sigmoid


def one_hot(targets, num_classes, dtype=torch.float32):
    """Turn labels [B] into rows [B, num_classes] of zeros with a single 1 at the label."""
    rows = torch.zeros(len(targets), num_classes, dtype=dtype, device=targets.device)
    rows[torch.arange(len(targets)), targets] = 1
    return rows


def naive_softmax(logits):
    """exp(z) / sum(exp(z)) taken literally. In float32 a logit above ~88.7 overflows exp to inf (inf / inf = nan);
    a row whose logits are all below ~-104 underflows every exp to 0 (0 / 0 = nan)."""
    e = torch.exp(logits)  # [B, C]
    return e / e.sum(dim=-1, keepdim=True)  # [B, C] / [B, 1]


def softmax(logits):
    """Probabilities that sum to 1 per row. Subtracting the row's largest logit first keeps exp() <= 1."""
    shifted = logits - logits.max(dim=-1, keepdim=True).values  # [B, C], every entry <= 0
    e = torch.exp(shifted)
    return e / e.sum(dim=-1, keepdim=True)


def log_softmax(logits):
    """log(softmax(z)) computed without ever taking the log of a tiny number."""
    shifted = logits - logits.max(dim=-1, keepdim=True).values  # [B, C]
    return shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))


def cross_entropy_per_example(logits, targets):
    """-log(probability given to the correct class), one number per example: [B, C] -> [B]."""
    log_probs = log_softmax(logits)  # [B, C]
    return -log_probs[torch.arange(len(targets)), targets]  # pick column targets[i] in row i


def cross_entropy(logits, targets):
    """Mean cross-entropy over the batch; equals torch.nn.functional.cross_entropy(logits, targets)."""
    return cross_entropy_per_example(logits, targets).mean()


def cross_entropy_grad(logits, targets):
    """dLoss/dlogits = (softmax(z) - one_hot(y)) / B: push the correct class up, every other class down."""
    B, C = logits.shape
    return (softmax(logits) - one_hot(targets, C, dtype=logits.dtype)) / B  # [B, C]


def mse_loss(pred, target):
    """Mean squared error over every entry; equals torch.nn.functional.mse_loss."""
    return ((pred - target) ** 2).mean()


def mse_grad(pred, target):
    """dLoss/dpred = 2 * (pred - target) / N, where N counts every entry."""
    return 2 * (pred - target) / pred.numel()


def binary_cross_entropy(probs, targets):
    """Loss for yes/no answers given probabilities in [0, 1]; equals torch.nn.functional.binary_cross_entropy.

    Like torch, each log is clamped at -100 so a probability of exactly 0 or 1 gives a finite loss.
    """
    log_p = torch.log(probs).clamp(min=-100)
    log_not_p = torch.log(1 - probs).clamp(min=-100)
    return -(targets * log_p + (1 - targets) * log_not_p).mean()


def bce_with_logits(logits, targets):
    """Binary cross-entropy straight from logits (sigmoid folded in), safe for huge logits.

    Uses the rewrite  max(z, 0) - z * t + log(1 + exp(-|z|)),  whose exp() never overflows.
    """
    z = logits
    return (z.clamp(min=0) - z * targets + torch.log1p(torch.exp(-z.abs()))).mean()


def bce_with_logits_grad(logits, targets):
    """dLoss/dlogits = (sigmoid(z) - t) / N."""
    return (sigmoid(logits) - targets) / logits.numel()


def softmax_mse_loss(logits, targets):
    """MSE between softmax probabilities [B, C] and one-hot rows [B, C]."""
    return mse_loss(softmax(logits), targets)


def softmax_mse_grad(logits, targets):
    """dLoss/dlogits for softmax_mse_loss: with p = softmax(z) and g = dL/dp = 2 (p - t) / N, softmax's
    Jacobian gives dL/dz_j = p_j * (g_j - sum_k g_k p_k).  [B, C]"""
    p = softmax(logits)  # [B, C]
    g = mse_grad(p, targets)  # [B, C]
    return p * (g - (g * p).sum(dim=1, keepdim=True))  # [B, C] - [B, 1]


def cross_entropy_and_grad(logits, targets):
    """cross_entropy and cross_entropy_grad from ONE softmax: logits [B, C], targets [B] -> loss [], [B, C]."""
    B, column = len(targets), targets[:, None]  # column: [B, 1], the index of each row's correct class
    shifted = logits - logits.amax(dim=1, keepdim=True)  # [B, C], every entry <= 0 so exp() <= 1
    correct = shifted.gather(1, column)  # [B, 1], s_y
    exp = shifted.exp_()  # [B, C] (in place: shifted is not needed any more)
    total = exp.sum(dim=1, keepdim=True)  # [B, 1]
    loss = (total.log() - correct).mean()  # log(sum_j exp(s_j)) - s_y, averaged: [B, 1] -> []
    d_logits = exp.div_(total)  # softmax [B, C], written over exp
    d_logits.scatter_(1, column, -1.0, reduce="add")  # - one_hot(y): add -1 at each row's label
    return loss, d_logits.div_(B)  # / B because the loss is a mean


# name -> (loss function, gradient of the loss with respect to the network's output)
LOSSES = {
    "cross_entropy": (cross_entropy, cross_entropy_grad),
    "mse": (mse_loss, mse_grad),
    "mse_probs": (softmax_mse_loss, softmax_mse_grad),
    "bce_with_logits": (bce_with_logits, bce_with_logits_grad),
}
FUSED = {"cross_entropy": cross_entropy_and_grad}  # loss and gradient from one pass, where written
TAKES_LABELS = {"cross_entropy"}  # compares the logits with class labels [B]; the others with rows [B, C]


def targets_for(name, labels, logits):
    """What the loss `name` compares logits [B, C] with: the labels [B] themselves, or their one-hot rows [B, C]."""
    return labels if name in TAKES_LABELS else one_hot(labels, logits.shape[1], logits.dtype)


def loss_and_grad(name, logits, targets):
    """(loss [], dL/dlogits [B, C]) of the loss `name` of LOSSES (one pass where FUSED has one)."""
    if name in FUSED:
        return FUSED[name](logits, targets)
    loss, grad = LOSSES[name]
    return loss(logits, targets), grad(logits, targets)
