"""Dropout written by hand, and checked against nn.Dropout (lesson chapter 11).

During training each number of a batch x [B, F] is kept with probability 1 - p and set to 0
with probability p; the survivors are multiplied by 1 / (1 - p) ("inverted dropout") so that
the expected value of every entry stays x. In evaluation mode dropout does nothing.
"""
import torch

from core import rng


def dropout_mask(shape, p, generator=None):
    """Keep-mask of 0s and 1s: each entry is 1 with probability 1 - p.

    bernoulli_(1 - p) is the same draw nn.Dropout makes, so from the same random state
    (a generator seeded like torch.manual_seed seeds the global one) it gives the same mask.
    """
    return torch.empty(shape).bernoulli_(1 - p, generator=generator)  # [B, F]


def dropout(x, p=0.5, training=True, generator=None):
    """Inverted dropout: x * mask / (1 - p) in training, x unchanged in evaluation.  [B, F] -> [B, F]"""
    if not 0 <= p < 1:
        raise ValueError(f"p must be in [0, 1), got {p}")
    if not training:
        return x  # evaluation: every unit is used, nothing to rescale
    mask = dropout_mask(x.shape, p, generator).to(x.dtype)  # [B, F]
    return x * (mask * (1 / (1 - p)))  # survivors scaled up by 1 / (1 - p)


def lesson_dropout(x, p=0.5, training=True, generator=None):
    """The lesson's version: the mask comes from torch.rand_like(x) > p (here drawn from `generator`).

    Same probabilities as dropout(), but it reads the random numbers differently, so from the same
    random state its mask is a different (equally valid) sample.
    """
    if not training:
        return x
    u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)  # what rand_like(x) draws
    mask = (u > p).float()  # [B, F]
    return x * mask / (1 - p)


def compare_with_nn_dropout(x, p, seed):
    """Run our dropout (from torch.Generator().manual_seed(seed)) and nn.Dropout (after torch.manual_seed(seed))
    in train and eval mode.

    Returns {"ours", "torch" (training outputs), "mask" (our 0/1 mask), "train_max_diff",
             "same_mask", "eval_max_diff", "eval_is_identity", "kept_fraction"}.
    nn.Dropout's own mask is read off by feeding it a tensor of ones from the same random state.
    nn.Dropout can only draw from the global generator: it runs inside rng.seeded_global_rng (one session at a
    time, and the global state is put back afterwards).
    """
    layer = torch.nn.Dropout(p)
    ours = dropout(x, p, training=True, generator=torch.Generator().manual_seed(seed))
    mask = dropout_mask(x.shape, p, torch.Generator().manual_seed(seed))  # the mask that call used
    with rng.seeded_global_rng(seed):
        theirs = layer.train()(x)
    with rng.seeded_global_rng(seed):
        torch_mask = (layer(torch.ones_like(x)) != 0).to(x.dtype)
    eval_ours = dropout(x, p, training=False)
    eval_theirs = layer.eval()(x)
    return {"ours": ours, "torch": theirs, "mask": mask,
            "train_max_diff": (ours - theirs).abs().max().item(),
            "same_mask": bool(torch.equal(mask, torch_mask)),
            "eval_max_diff": (eval_ours - eval_theirs).abs().max().item(),
            "eval_is_identity": bool(torch.equal(eval_ours, x)),
            "kept_fraction": mask.mean().item()}


def running_means(x, p, n_samples, seed=0):
    """Means of dropout(x) over 1, 2, ..., n_samples independent masks, with and without the 1 / (1 - p):
    (scaled [n_samples], unscaled [n_samples]), both from the same masks.

    With the rescaling (inverted dropout) the running mean settles on x.mean(); without it, on
    (1 - p) * x.mean(): the layer after dropout would see inputs that are too small.
    The masks are drawn a block at a time: one draw of [k, B, F] from the generator gives the same numbers
    as k draws of [B, F] one after another, in one call instead of k.
    """
    g = torch.Generator().manual_seed(seed)
    scaled, unscaled = torch.empty(n_samples), torch.empty(n_samples)
    for start in range(0, n_samples, 256):
        k = min(256, n_samples - start)
        masks = dropout_mask((k, *x.shape), p, generator=g)  # [k, B, F]: k masks, as k dropout() calls draw them
        out = x * (masks * (1 / (1 - p)))  # [k, B, F], dropout(x) under each mask
        scaled[start:start + k] = out.reshape(k, -1).mean(1)  # [k], each the mean of one dropout(x)
        unscaled[start:start + k] = (out * (1 - p)).reshape(k, -1).mean(1)  # the same without the rescaling
    count = torch.arange(1, n_samples + 1)
    return torch.cumsum(scaled, 0) / count, torch.cumsum(unscaled, 0) / count  # running averages


def running_mean(x, p, n_samples, seed=0, scale=True):
    """Mean of dropout(x) over 1, 2, ..., n_samples independent masks: [n_samples] (running_means, one of the two)."""
    return running_means(x, p, n_samples, seed)[0 if scale else 1]
