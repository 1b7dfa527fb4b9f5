"""Data for the lessons: shuffling and batching, toy 2-D datasets.

Everything here returns plain torch tensors:
    X: [N, features] float32      y: [N] int64 class labels

Two parts:
  1. batches / batch_indices   - what torch.utils.data.DataLoader(shuffle=True) does
  2. make_2d, train_test_split - small 2-D classification problems for pictures;
     fit_standardizer, standardize - rescale coordinates to mean 0, std 1;
     to_float, as_float - uint8 pixels made float32 a batch at a time

Files on disk live in the top-level `datasets` package: datasets.mnist_files (MNIST's IDX .gz files)
and datasets.points_csv (a learner's own 2-D points as CSV).
"""

import math

import torch

# ---------------------------------------------------------------------------
# 1. Shuffling and batching
# ---------------------------------------------------------------------------


def num_batches(N, batch_size):
    """Number of mini-batches in one epoch: ceil(N / B). 60000 images, B=64 -> 938."""
    return (N + batch_size - 1) // batch_size


def batch_indices(N, batch_size, shuffle=True, generator=None, like_dataloader=False):
    """The row indices of every mini-batch of one epoch, as a list of int64 tensors.

    shuffle=True cuts one random permutation of 0..N-1 (torch.randperm) into pieces of batch_size: every index
    once, the last batch holds the N % batch_size leftovers.
    The same generator seed does NOT by itself give DataLoader(shuffle=True, generator=g)'s order: each of its
    epochs also takes from g an int64 (its workers' base seed) first, then after the order a second randperm(N)
    of which RandomSampler uses none. like_dataloader=True draws the same (shuffle=False: only the int64), so with
    the same generator the batches equal the DataLoader's, epoch after epoch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if N < 0:
        raise ValueError(f"N must be >= 0, got {N}")
    if like_dataloader:
        if generator is None:
            raise ValueError("like_dataloader=True needs the generator the DataLoader is given")
        torch.empty((), dtype=torch.int64).random_(generator=generator)  # DataLoader's worker base seed, unused
    if shuffle:
        order = torch.randperm(N, generator=generator)  # [N], each index once
        if like_dataloader:
            torch.randperm(N, generator=generator)  # RandomSampler's second permutation, of which it uses none
    else:
        order = torch.arange(N)  # [N], 0, 1, 2, ...
    if N == 0:
        return []
    return list(torch.split(order, batch_size))  # [B], [B], ..., [N % B]


def batches(X, y, batch_size, shuffle=True, generator=None):
    """Yield (xb, yb) mini-batches covering the whole dataset once (one epoch).

    X: [N, ...]  y: [N]   ->   xb: [B, ...]  yb: [B]   (last batch may be shorter)
    uint8 pixels in X come out as float32 in [0, 1] (as_float), one batch at a time.
    """
    N = X.shape[0]
    if y.shape[0] != N:
        raise ValueError(f"X has {N} rows but y has {y.shape[0]} labels")
    if not shuffle:  # slices are views: no copying needed
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        for start in range(0, N, batch_size):
            yield as_float(X[start:start + batch_size]), y[start:start + batch_size]
        return
    for idx in batch_indices(N, batch_size, shuffle=True, generator=generator):
        # gather the rows: X[idx] does the same, index_select is about 3x faster (one dimension, no broadcasting)
        yield as_float(X.index_select(0, idx.to(X.device))), y.index_select(0, idx.to(y.device))  # [B, ...], [B]


# ---------------------------------------------------------------------------
# 2. Toy 2-D datasets
# ---------------------------------------------------------------------------

DATASETS_2D = ["spiral", "moons", "circles", "xor", "blobs"]

# (fewest, most) classes each dataset can have; the default is in DEFAULT_CLASSES_2D.
CLASSES_2D = {"spiral": (2, 10), "moons": (2, 2), "circles": (2, 2),
              "xor": (2, 2), "blobs": (2, 10)}
DEFAULT_CLASSES_2D = {"spiral": 3, "moons": 2, "circles": 2, "xor": 2, "blobs": 3}

MAX_POINTS_2D = 1_000_000


def _class_sizes(n, k):
    """Split n points over k classes as evenly as possible: 10 over 3 -> [4, 3, 3]."""
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _spiral(sizes, g):
    parts = []
    k = len(sizes)
    for c, m in enumerate(sizes):
        r = torch.linspace(0.05, 1.0, m)                  # [m] radius grows along the arm
        t = 2 * math.pi * c / k + 4.0 * r                 # [m] angle: arm c starts at 2*pi*c/k
        parts.append(torch.stack([r * torch.cos(t), r * torch.sin(t)], dim=1))
    return parts


def _moons(sizes, g):
    t0 = torch.rand(sizes[0], generator=g) * math.pi     # upper half circle
    t1 = torch.rand(sizes[1], generator=g) * math.pi     # lower half circle, shifted
    upper = torch.stack([torch.cos(t0), torch.sin(t0)], dim=1)
    lower = torch.stack([1 - torch.cos(t1), 0.5 - torch.sin(t1)], dim=1)
    shift = torch.tensor([0.5, 0.25])                     # centre the pair on (0, 0)
    return [upper - shift, lower - shift]


def _circles(sizes, g):
    parts = []
    for c, radius in enumerate([1.0, 0.5]):               # class 0 outside, class 1 inside
        t = torch.rand(sizes[c], generator=g) * 2 * math.pi
        parts.append(radius * torch.stack([torch.cos(t), torch.sin(t)], dim=1))
    return parts


def _xor(sizes, g):
    # label = (x > 0) XOR (y > 0): class 0 in quadrants I and III, class 1 in II and IV
    parts = []
    for c, m in enumerate(sizes):
        p = torch.rand(m, 2, generator=g) * 0.9 + 0.05    # [m, 2] in the first quadrant
        flip = torch.randint(0, 2, (m,), generator=g) * 2 - 1   # +1 or -1 per point
        if c == 0:
            p = p * flip[:, None]                         # (+,+) or (-,-)
        else:
            p = p * torch.stack([flip, -flip], dim=1)     # (+,-) or (-,+)
        parts.append(p)
    return parts


def _blobs(sizes, g):
    k = len(sizes)
    parts = []
    for c, m in enumerate(sizes):
        angle = 2 * math.pi * c / k                       # centres evenly on the unit circle
        centre = torch.tensor([math.cos(angle), math.sin(angle)])
        parts.append(centre.expand(m, 2).clone())
    return parts


_MAKERS_2D = {"spiral": _spiral, "moons": _moons, "circles": _circles,
              "xor": _xor, "blobs": _blobs}


def make_2d(name, n=300, noise=0.1, seed=0, n_classes=None):
    """A 2-D classification dataset: X [n, 2] float32, y [n] int64 in 0..n_classes-1.

    name       one of DATASETS_2D:
               "spiral"  n_classes interleaved spiral arms (2..10, default 3)
               "moons"   two interleaving half circles (exactly 2 classes)
               "circles" a ring around a smaller ring (exactly 2 classes)
               "xor"     opposite quadrants share a class (exactly 2 classes)
               "blobs"   n_classes round clusters around the unit circle (2..10, default 3)
    n          total number of points, shared as evenly as possible by the classes
    noise      standard deviation of Gaussian noise added to each coordinate
               (for blobs it is the spread of each cluster; 0 puts every point on its centre)
    seed       same seed -> same points
    Points are shuffled (classes mixed); coordinates lie roughly in [-1.5, 1.5].
    """
    key = str(name).lower()
    if key not in _MAKERS_2D:
        raise ValueError(f"unknown 2-D dataset {name!r}; choose one of {', '.join(DATASETS_2D)}")
    lo, hi = CLASSES_2D[key]
    k = DEFAULT_CLASSES_2D[key] if n_classes is None else n_classes
    if isinstance(k, bool) or not isinstance(k, int) or not lo <= k <= hi:
        allowed = f"exactly {lo}" if lo == hi else f"{lo} to {hi}"
        raise ValueError(f"{key} supports {allowed} classes, got n_classes={n_classes!r}")
    if isinstance(n, bool) or not isinstance(n, int) or not k <= n <= MAX_POINTS_2D:
        raise ValueError(f"n must be a whole number from {k} (one point per class) "
                         f"to {MAX_POINTS_2D:,}, got {n!r}")
    noise = float(noise)
    if not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")

    g = torch.Generator().manual_seed(int(seed))
    sizes = _class_sizes(n, k)
    parts = _MAKERS_2D[key](sizes, g)                                  # k tensors [m_c, 2]
    X = torch.cat(parts).float()                                       # [n, 2]
    y = torch.cat([torch.full((m,), c, dtype=torch.int64) for c, m in enumerate(sizes)])
    X = X + noise * torch.randn(n, 2, generator=g)                     # [n, 2]
    order = torch.randperm(n, generator=g)                             # mix the classes
    return X[order].contiguous(), y[order].contiguous()


def train_test_split(X, y, test_fraction=0.2, seed=0):
    """Shuffle rows, keep round(N * test_fraction) for testing (at least one row each side).

    Returns X_train, X_test, y_train, y_test (the order scikit-learn uses).
    """
    N = X.shape[0]
    if y.shape[0] != N:
        raise ValueError(f"X has {N} rows but y has {y.shape[0]} labels")
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must be strictly between 0 and 1, got {test_fraction!r}")
    if N < 2:
        raise ValueError(f"need at least 2 rows to split, got {N}")
    n_test = min(max(round(N * float(test_fraction)), 1), N - 1)
    order = torch.randperm(N, generator=torch.Generator().manual_seed(int(seed)))
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def fit_standardizer(X):
    """Per-column mean [F] and standard deviation [F] of X [N, F] (float32, computed in float64).

    The population std (divide by N), as sklearn's StandardScaler; a constant column gets std 1,
    so standardising only shifts it.
    """
    X64 = X.double()
    mean = X64.mean(dim=0)                                  # [F]
    std = X64.std(dim=0, correction=0)                      # [F]
    std = torch.where(std > 0, std, torch.ones_like(std))
    return mean.float(), std.float()


def standardize(X, mean, std):
    """(X - mean) / std column by column: [N, F] -> [N, F]; with the training points' mean and std
    every column of the training set ends up with mean 0 and std 1."""
    return (X - mean) / std


def to_float(pixels):
    """uint8 pixels 0..255 -> float32 in [0, 1], the numbers load_mnist returns: [..., 784] -> [..., 784].

    Exactly pixels.float() / 255.0; dividing in place (div_) makes one new tensor instead of two.
    """
    return pixels.float().div_(255.0)


def as_float(rows):
    """Rows ready for the network: uint8 pixels become float32 in [0, 1] (to_float), anything else is returned
    as it is. batches() and core.metrics call it on each mini-batch or chunk, the job a DataLoader's
    transform does, so a dataset can stay in memory as bytes (60,000 MNIST images: 47 MB, not 188 MB)."""
    return to_float(rows) if rows.dtype == torch.uint8 else rows
