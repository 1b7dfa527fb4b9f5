"""core.network: initialisation, activations, forward pass, conversion to torch.nn."""
import math

import pytest
import torch
import torch.nn.functional as F

from core import network as N

ACTS = list(N.ACTIVATIONS)


def random_net(depth, seed, dtype=torch.float64, init="kaiming"):
    """Random layer widths (2..9) for a network with `depth` linear layers."""
    gen = torch.Generator().manual_seed(seed)
    sizes = torch.randint(2, 10, (depth + 1,), generator=gen).tolist()
    return N.init_mlp(sizes, init=init, seed=seed, dtype=dtype), sizes


# ------------------------------------------------------------- initialisation
def test_same_seed_same_weights_and_global_rng_untouched():
    before = torch.get_rng_state()
    a = N.init_mlp([784, 128, 10], seed=3)
    b = N.init_mlp([784, 128, 10], seed=3)
    c = N.init_mlp([784, 128, 10], seed=4)
    assert torch.equal(torch.get_rng_state(), before)
    assert all(torch.equal(x["W"], y["W"]) for x, y in zip(a, b))
    assert not torch.equal(a[0]["W"], c[0]["W"])


@pytest.mark.parametrize("init,expected", [
    ("kaiming", lambda i, o: math.sqrt(2 / i)),
    ("xavier", lambda i, o: math.sqrt(2 / (i + o))),
    ("normal", lambda i, o: 1.0),
])
def test_init_std_matches_formula(init, expected):
    params = N.init_mlp([784, 256, 128], init=init, seed=0)
    for layer in params:
        fan_in, fan_out = layer["W"].shape
        std = layer["W"].std().item()
        assert std == pytest.approx(expected(fan_in, fan_out), rel=0.03)
        assert layer["W"].mean().abs().item() < 0.03 * expected(fan_in, fan_out)
        assert torch.equal(layer["b"], torch.zeros(fan_out))


def test_zeros_init_and_dtype_device():
    params = N.init_mlp([4, 3, 2], init="zeros", dtype=torch.float64)
    assert all(float(t.abs().sum()) == 0 for _, t in N.named_tensors(params))
    assert all(t.dtype == torch.float64 and t.device.type == "cpu" for _, t in N.named_tensors(params))
    assert not any(t.requires_grad for _, t in N.named_tensors(params))


def test_float32_and_float64_start_from_the_same_numbers():
    p32 = N.init_mlp([6, 5, 3], seed=7, dtype=torch.float32)
    p64 = N.init_mlp([6, 5, 3], seed=7, dtype=torch.float64)
    assert torch.allclose(p32[0]["W"].double(), p64[0]["W"], rtol=1e-6, atol=0)


def test_param_count_and_bytes():
    params = N.init_mlp([784, 128, 10])
    assert N.count_params(params) == 101_770
    assert N.count_bytes(params) == 101_770 * 4
    assert N.count_bytes(N.init_mlp([784, 128, 10], dtype=torch.float64)) == 101_770 * 8
    assert N.count_params(N.init_mlp([784, 128, 64, 10])) == 109_386
    assert N.layer_sizes(params) == [784, 128, 10]
    assert [name for name, _ in N.named_tensors(params)] == ["W1", "b1", "W2", "b2"]
    assert model_param_count(N.to_torch_sequential(params)) == 101_770


def model_param_count(model):
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------- activations
TORCH_F = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "leaky_relu": F.leaky_relu}


@pytest.mark.parametrize("name", ACTS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_activation_and_slope_match_torch(name, dtype):
    f, f_prime = N.ACTIVATIONS[name]
    z = torch.randn(200, dtype=dtype, generator=torch.Generator().manual_seed(1)) * 5
    z = torch.cat([z, torch.tensor([-1e4, -80.0, 80.0, 1e4], dtype=dtype)])
    z = z[z != 0]
    tol = 1e-6 if dtype == torch.float32 else 1e-14
    assert torch.allclose(f(z), TORCH_F[name](z), atol=tol, rtol=tol)
    leaf = z.clone().requires_grad_(True)
    TORCH_F[name](leaf).sum().backward()
    assert torch.isfinite(f_prime(z)).all()
    assert torch.allclose(f_prime(z), leaf.grad, atol=tol, rtol=tol)


def test_relu_slope_at_exact_zero_follows_nn_relu_not_clamp():
    z = torch.zeros(3, requires_grad=True)
    torch.relu(z).sum().backward()
    assert torch.equal(N.relu_grad(z.detach()), z.grad)  # both 0
    z2 = torch.zeros(3, requires_grad=True)
    N.relu(z2).sum().backward()  # autograd through clamp picks slope 1 at 0
    assert torch.equal(z2.grad, torch.ones(3))


# --------------------------------------------------------------------- forward
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("name", ACTS)
def test_forward_cache_structure(depth, name):
    params, sizes = random_net(depth, seed=depth)
    x = torch.randn(7, sizes[0], dtype=torch.float64)
    logits, cache = N.forward(params, x, activation=name)
    f, _ = N.ACTIVATIONS[name]
    assert logits.shape == (7, sizes[-1])
    assert cache["activation"] == name and len(cache["layers"]) == depth
    assert cache["layers"][0]["x"] is x
    for i, (layer, rec) in enumerate(zip(params, cache["layers"])):
        assert rec["z"].shape == (7, sizes[i + 1])
        assert torch.equal(rec["z"], rec["x"] @ layer["W"] + layer["b"])
        if i < depth - 1:
            assert torch.equal(rec["a"], f(rec["z"]))
            assert cache["layers"][i + 1]["x"] is rec["a"]
    assert cache["layers"][-1]["a"] is logits and cache["layers"][-1]["z"] is logits


def test_forward_two_layer_by_the_formula():
    params = N.init_mlp([784, 128, 10], seed=0)
    x = torch.rand(5, 784, generator=torch.Generator().manual_seed(0))
    W1, b1, W2, b2 = (t for _, t in N.named_tensors(params))
    expected = torch.clamp(x @ W1 + b1, min=0) @ W2 + b2
    logits, _ = N.forward(params, x)
    assert torch.equal(logits, expected)


# ----------------------------------------------------------------- conversion
@pytest.mark.parametrize("depth", [1, 2, 4])
@pytest.mark.parametrize("name", ACTS)
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_sequential_gives_same_outputs(depth, name, dtype, tol):
    params, sizes = random_net(depth, seed=10 + depth, dtype=dtype)
    model = N.to_torch_sequential(params, name)
    x = torch.randn(64, sizes[0], dtype=dtype, generator=torch.Generator().manual_seed(5))
    ours, _ = N.forward(params, x, name)
    with torch.no_grad():
        theirs = model(x)
    assert theirs.dtype == dtype
    assert torch.allclose(ours, theirs, atol=tol, rtol=tol)
    assert len(model) == 2 * depth - 1
    assert torch.equal(model[0].weight, params[0]["W"].T)


def test_round_trip_and_copies():
    params = N.init_mlp([6, 4, 3], seed=2)
    model = N.to_torch_sequential(params)
    back = N.from_torch_sequential(model)
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(N.named_tensors(params), N.named_tensors(back)))
    with torch.no_grad():
        model[0].weight.add_(1.0)  # changing the model must not change our copies
    assert torch.equal(back[0]["W"], params[0]["W"])
    assert back[0]["W"].is_contiguous() and not back[0]["W"].requires_grad


def test_from_a_torch_initialised_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    params = N.from_torch_sequential(model)
    x = torch.randn(9, 8)
    ours, _ = N.forward(params, x, "tanh")
    assert torch.allclose(ours, model(x), atol=1e-6)
    assert params[1]["W"].shape == (5, 3)


@pytest.mark.parametrize("sizes", [[784, 0, 10], [0, 3], [2, -1, 2], [4], [3, 2.5, 2]])
def test_impossible_sizes_get_a_clear_message(sizes):
    with pytest.raises(ValueError, match="unit|at least"):
        N.init_mlp(sizes)


def test_unknown_init_is_named():
    with pytest.raises(ValueError, match="Unknown init 'he'"):
        N.init_mlp([2, 2], init="he")
