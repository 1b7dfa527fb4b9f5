"""Chapter 11, mastery: the lesson's whole equivalence table (every raw-tensor piece vs torch.nn in one run),
the hidden activations dropout acts on, and dropout on them, ours next to nn.Dropout. The checks are
labs.ch10_torch_nn's; the page's script is exports/ch11_mastery.py.
"""
from core import dropout, network
from labs.ch10_torch_nn import (TOLERANCE, _setup, check_adam, check_backward, check_cross_entropy, check_dataloader,
                                check_relu, check_sgd, check_to_device, check_weights, check_zero_grad)


# The lesson's equivalence table, in its order: (from scratch, torch.nn, check function).
EQUIVALENCE_TABLE = [
    ("W = random tensor [in, out]", "nn.Linear(in, out).weight (stored [out, in])", check_weights),
    ("torch.clamp(z, min=0)", "nn.ReLU()(z) / F.relu(z)", check_relu),
    ("softmax + NLL (core.losses)", "F.cross_entropy(logits, y)", check_cross_entropy),
    ("hand-derived backward (core.backward)", "loss.backward()", check_backward),
    ("W -= lr * grad (core.optim.sgd_step)", "optim.SGD(...).step()", check_sgd),
    ("our Adam (core.optim.adam_step)", "optim.Adam(...).step()", check_adam),
    ("W.grad.zero_()", "optimizer.zero_grad()", check_zero_grad),
    ("randperm + slice (core.data)", "DataLoader(shuffle=True)", check_dataloader),
    ("tensor.to(device) per tensor", "model.to(device)", check_to_device),
]


def equivalence_table(x, y, seed=0, tol=TOLERANCE):
    """Run every row of EQUIVALENCE_TABLE; return rows {"from scratch", "torch.nn", "max abs diff", "equal"}."""
    rows = []
    for scratch, torch_name, check in EQUIVALENCE_TABLE:
        diff = check(x, y, seed)["max_abs_diff"]
        rows.append({"from scratch": scratch, "torch.nn": torch_name, "max abs diff": diff,
                     "equal": bool(diff <= tol)})
    return rows


def hidden_activations(x, seed=0, hidden=128):
    """The first hidden layer's ReLU output h = relu(x @ W1 + b1) [B, hidden]: what dropout acts on."""
    params, _ = _setup(x, seed, hidden=hidden)
    return network.relu(x @ params[0]["W"] + params[0]["b"])  # [B, 784] @ [784, H] -> [B, H]


def dropout_demo(x, seed=0, p=0.5, n_samples=500, images=16):
    """Dropout on the hidden activations h [images, 128] of the first `images` rows of x, ours next to nn.Dropout.

    Returns NumPy arrays h, "out" (our dropout(h) in train mode), "mask" (1 = kept), "scaled" / "unscaled"
    (running means of dropout(h) over n_samples masks, with and without 1/(1-p)), and the numbers compared:
    "train_diff", "same_mask", "eval_diff", "eval_identity", "kept" (fraction kept), "mean_h".
    """
    h = hidden_activations(x[:images], seed)  # [16, 128]
    cmp = dropout.compare_with_nn_dropout(h, p, seed)
    scaled, unscaled = dropout.running_means(h, p, n_samples, seed=seed)  # the same masks, with and without 1/(1-p)
    return {"h": h.numpy(), "out": cmp["ours"].numpy(), "mask": cmp["mask"].numpy(),
            "train_diff": cmp["train_max_diff"],
            "same_mask": cmp["same_mask"], "eval_diff": cmp["eval_max_diff"],
            "eval_identity": cmp["eval_is_identity"], "kept": cmp["kept_fraction"],
            "mean_h": h.mean().item(),
            "scaled": scaled.numpy(), "unscaled": unscaled.numpy()}

