"""Shuffling/batching and the toy 2-D datasets (core.data)."""

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from core.data import CLASSES_2D, DATASETS_2D, batch_indices, batches, make_2d, num_batches, train_test_split


# ---------------------------------------------------------------- batching


@pytest.mark.parametrize("N,B", [(10, 3), (60000, 64), (64, 64), (5, 100), (1, 1), (7, 1)])
def test_every_index_exactly_once_and_last_batch_size(N, B):
    idx = batch_indices(N, B, shuffle=True, generator=torch.Generator().manual_seed(1))
    assert len(idx) == num_batches(N, B) == -(-N // B)
    assert sorted(torch.cat(idx).tolist()) == list(range(N))
    assert all(len(b) == B for b in idx[:-1])
    assert len(idx[-1]) == (N % B or min(B, N))


def test_num_batches_mnist():
    assert num_batches(60000, 64) == 938          # 937 full batches + one of 32
    assert len(batch_indices(60000, 64)[-1]) == 32
    assert num_batches(0, 64) == 0 and batch_indices(0, 64) == []


def test_batches_yield_matching_rows_and_cover_dataset():
    X = torch.arange(23, dtype=torch.float32)[:, None].repeat(1, 3)   # row i is all i
    y = torch.arange(23)
    seen = []
    for xb, yb in batches(X, y, 5, generator=torch.Generator().manual_seed(0)):
        assert xb.shape[1:] == (3,) and xb.shape[0] == yb.shape[0] <= 5
        assert torch.equal(xb[:, 0].long(), yb)        # x and y rows stay paired
        seen += yb.tolist()
    assert sorted(seen) == list(range(23))
    assert seen != list(range(23))                     # it really shuffled


def test_no_shuffle_keeps_order():
    X, y = torch.randn(10, 2), torch.arange(10)
    assert [yb.tolist() for _, yb in batches(X, y, 4, shuffle=False)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [b.tolist() for b in batch_indices(10, 4, shuffle=False)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_same_seed_same_batches_other_seed_differs():
    a = batch_indices(100, 8, generator=torch.Generator().manual_seed(3))
    b = batch_indices(100, 8, generator=torch.Generator().manual_seed(3))
    c = batch_indices(100, 8, generator=torch.Generator().manual_seed(4))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not all(torch.equal(u, v) for u, v in zip(a, c))


def test_new_permutation_each_epoch():
    g = torch.Generator().manual_seed(0)
    e1 = torch.cat(batch_indices(50, 10, generator=g))
    e2 = torch.cat(batch_indices(50, 10, generator=g))
    assert not torch.equal(e1, e2)


def test_same_batches_as_torch_dataloader():
    # DataLoader(shuffle=True) is randperm + slicing too. Before shuffling it draws one
    # int64 from the generator (a base seed for worker processes), so we draw it as well.
    X, y = torch.randn(37, 4), torch.arange(37)
    loader = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True,
                        generator=torch.Generator().manual_seed(42))
    g = torch.Generator().manual_seed(42)
    torch.empty((), dtype=torch.int64).random_(generator=g)
    ours = list(batches(X, y, 8, generator=g))
    theirs = list(loader)
    assert len(ours) == len(theirs) == 5
    for (xa, ya), (xb, yb) in zip(ours, theirs):
        assert torch.equal(ya, yb) and torch.equal(xa, xb)


def test_batch_errors():
    with pytest.raises(ValueError, match="batch_size"):
        batch_indices(10, 0)
    with pytest.raises(ValueError, match="batch_size"):
        list(batches(torch.zeros(3, 2), torch.zeros(3), 0, shuffle=False))
    with pytest.raises(ValueError, match="rows"):
        list(batches(torch.zeros(3, 2), torch.zeros(4), 2))


# ---------------------------------------------------------------- 2-D datasets


@pytest.mark.parametrize("name", DATASETS_2D)
def test_make_2d_shapes_dtypes_classes(name):
    lo, hi = CLASSES_2D[name]
    for k in sorted({lo, hi}):
        X, y = make_2d(name, n=101, noise=0.1, seed=0, n_classes=k)
        assert X.shape == (101, 2) and X.dtype == torch.float32
        assert y.shape == (101,) and y.dtype == torch.int64
        counts = torch.bincount(y, minlength=k)
        assert len(counts) == k and counts.max() - counts.min() <= 1   # balanced, all present
        assert torch.isfinite(X).all() and X.abs().max() < 3


@pytest.mark.parametrize("name", DATASETS_2D)
def test_make_2d_deterministic_by_seed(name):
    X1, y1 = make_2d(name, 200, 0.2, seed=5)
    X2, y2 = make_2d(name, 200, 0.2, seed=5)
    X3, _ = make_2d(name, 200, 0.2, seed=6)
    assert torch.equal(X1, X2) and torch.equal(y1, y2)
    assert not torch.equal(X1, X3)


def test_make_2d_geometry_without_noise():
    X, y = make_2d("circles", 200, noise=0.0, seed=0)
    r = X.norm(dim=1)
    assert torch.allclose(r[y == 0], torch.tensor(1.0)) and torch.allclose(r[y == 1], torch.tensor(0.5))
    X, y = make_2d("xor", 400, noise=0.0, seed=0)
    assert torch.equal(((X[:, 0] > 0) ^ (X[:, 1] > 0)).long(), y)
    X, y = make_2d("blobs", 60, noise=0.0, seed=0, n_classes=4)
    for c in range(4):                                       # every point on its class centre
        assert (X[y == c] - X[y == c][0]).abs().max() < 1e-6
    X, y = make_2d("spiral", 300, noise=0.0, seed=0, n_classes=3)
    assert X.norm(dim=1).max() <= 1.0 + 1e-6


def test_make_2d_noise_moves_points():
    X0, _ = make_2d("moons", 100, noise=0.0, seed=1)
    X1, _ = make_2d("moons", 100, noise=0.3, seed=1)
    assert (X1 - X0).std() > 0.2


def test_make_2d_errors_are_clear():
    with pytest.raises(ValueError, match="moons supports exactly 2 classes"):
        make_2d("moons", 100, 0.1, 0, n_classes=3)
    with pytest.raises(ValueError, match="xor supports exactly 2"):
        make_2d("xor", 100, 0.1, 0, n_classes=4)
    with pytest.raises(ValueError, match="spiral supports 2 to 10 classes"):
        make_2d("spiral", 100, 0.1, 0, n_classes=11)
    with pytest.raises(ValueError, match="blobs supports 2 to 10"):
        make_2d("blobs", 100, 0.1, 0, n_classes=1)
    with pytest.raises(ValueError, match="unknown 2-D dataset 'swiss'"):
        make_2d("swiss", 100, 0.1, 0)
    with pytest.raises(ValueError, match="noise"):
        make_2d("moons", 100, -0.1, 0)
    with pytest.raises(ValueError, match="noise"):
        make_2d("moons", 100, float("nan"), 0)
    with pytest.raises(ValueError, match="n must be"):
        make_2d("spiral", 2, 0.1, 0, n_classes=3)


def test_train_test_split():
    X, y = make_2d("spiral", 100, 0.1, seed=0)
    Xtr, Xte, ytr, yte = train_test_split(X, y, 0.25, seed=1)
    assert Xtr.shape == (75, 2) and Xte.shape == (25, 2) and ytr.shape == (75,) and yte.shape == (25,)
    rows = {tuple(r) for r in torch.cat([Xtr, Xte]).tolist()}
    assert rows == {tuple(r) for r in X.tolist()}          # a partition, nothing lost
    again = train_test_split(X, y, 0.25, seed=1)
    assert torch.equal(again[1], Xte) and torch.equal(again[3], yte)
    with pytest.raises(ValueError, match="test_fraction"):
        train_test_split(X, y, 1.0)
    with pytest.raises(ValueError, match="at least 2"):
        train_test_split(X[:1], y[:1], 0.5)


@pytest.mark.parametrize("seed", [0, 1, 7, 42, 12345])
@pytest.mark.parametrize("N, B", [(50, 8), (48, 8)])
def test_batch_indices_like_dataloader_matches_dataloader_and_plain_randperm_does_not(seed, N, B):
    """The docstring's claim, checked: like_dataloader=True gives DataLoader(shuffle=True, generator=g)'s batches,
    epoch after epoch; the plain randperm of the same seed gives another order (DataLoader draws an int64 first)."""
    loader = DataLoader(TensorDataset(torch.arange(N)), batch_size=B, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    g = torch.Generator().manual_seed(seed)
    for epoch in range(3):
        theirs = [b[0] for b in loader]
        ours = batch_indices(N, B, generator=g, like_dataloader=True)
        assert len(ours) == len(theirs) == -(-N // B)
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs)), (seed, epoch)
    plain = batch_indices(N, B, generator=torch.Generator().manual_seed(seed))
    first_epoch = [b[0] for b in DataLoader(TensorDataset(torch.arange(N)), batch_size=B, shuffle=True,
                                            generator=torch.Generator().manual_seed(seed))]
    assert not all(torch.equal(a, b) for a, b in zip(plain, first_epoch))


def test_batch_indices_like_dataloader_without_shuffle_and_without_generator():
    g = torch.Generator().manual_seed(3)
    loader = DataLoader(TensorDataset(torch.arange(10)), batch_size=4, shuffle=False,
                        generator=torch.Generator().manual_seed(3))
    assert [b.tolist() for b in batch_indices(10, 4, shuffle=False, generator=g, like_dataloader=True)] == \
        [b[0].tolist() for b in loader]
    # both drew the one int64: the next draw from either generator agrees
    assert torch.randperm(10, generator=g).tolist() == torch.randperm(10, generator=loader.generator).tolist()
    with pytest.raises(ValueError, match="generator"):
        batch_indices(10, 4, like_dataloader=True)  # would draw from torch's global generator
