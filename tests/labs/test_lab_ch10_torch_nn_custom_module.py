"""labs.ch10_torch_nn: class Net and nn.Sequential hold our weights and compute what the raw tensors compute."""
import torch

from labs import ch10_torch_nn as lab
from core import network


def _batch(B=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(B, 784, generator=gen), torch.randint(0, 10, (B,), generator=gen)


def test_class_and_sequential_equal_the_raw_network():
    x, y = _batch()
    out = lab.check_class_and_sequential(x, y, seed=2)
    for key in ("net_logits_diff", "net_grad_diff", "seq_logits_diff", "seq_grad_diff"):
        assert 0 <= out[key] < 1e-5, key
    assert out["max_abs_diff"] == max(out[k] for k in out if k.endswith("_diff") and k != "max_abs_diff")
    assert out["net_names"] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert out["seq_names"] == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_models_are_built_without_touching_the_global_generator():
    params = network.init_mlp([784, 128, 10], seed=5)
    state = torch.get_rng_state()
    net, seq = lab.build_models(params)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(net.fc1.weight, params[0]["W"].T) and torch.equal(seq[2].bias, params[1]["b"])
    x, _ = _batch(4)
    with torch.no_grad():
        assert torch.equal(net(x), seq(x))


def test_a_wrong_forward_would_be_caught():
    # the check compares against the raw tensors, so a class that forgets the ReLU shows a large difference
    x, y = _batch(8)
    params = network.init_mlp([784, 128, 10], seed=0)
    net, _ = lab.build_models(params)
    logits, _ = network.forward(params, x)
    with torch.no_grad():
        no_relu = net.fc2(net.fc1(x))
    assert (logits - no_relu).abs().max().item() > 1e-3
