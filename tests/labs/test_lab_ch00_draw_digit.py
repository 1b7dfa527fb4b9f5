"""labs.ch00_draw_digit: MNIST-style preprocessing of a drawing, saliency by hand vs autograd, the shipped model."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core import metrics, network
from labs import ch00_draw_digit as lab
from datasets import mnist_files

MODEL = Path(__file__).resolve().parents[2] / "models" / "mnist_784_128_10.pt"


def canvas_with_stroke(top=40, bottom=240, col=200, half_width=9, size=280):
    """A 280x280 RGBA canvas: black background, one white vertical stroke (a drawn '1') off-centre."""
    img = np.zeros((size, size, 4), dtype=np.uint8)
    img[..., 3] = 255
    img[top:bottom, col - half_width:col + half_width, :3] = 255
    return img


def test_drawn_one_is_centred_like_mnist():
    x = lab.preprocess(canvas_with_stroke())
    assert x.shape == (784,) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1 and x.max() == pytest.approx(1.0)
    img = x.reshape(28, 28)
    r, c = lab.centre_of_mass(img)
    assert abs(r - 14) <= 0.75 and abs(c - 14) <= 0.75         # drawn far right, now in the middle
    rows = (img > 0.1).any(dim=1).nonzero().flatten()
    assert rows[-1] - rows[0] + 1 == 20                           # the long side is scaled to 20 pixels
    cols = (img > 0.1).any(dim=0).nonzero().flatten()
    assert cols[-1] - cols[0] + 1 <= 3                            # a thin stroke stays thin (aspect kept)


def test_grey_float_and_transparent_inputs_agree():
    rgba = canvas_with_stroke()
    grey = rgba[..., 0].astype(np.float32) / 255                  # [H, W] in 0..1
    transparent = rgba.copy()
    transparent[..., 3] = np.where(rgba[..., 0] > 0, 255, 0)      # background see-through
    transparent[..., :3] = np.where(rgba[..., :3] > 0, 255, 0)
    a, b, c = (lab.preprocess(i) for i in (rgba, grey, transparent))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)


def test_empty_canvas_gives_none():
    assert lab.preprocess(np.zeros((280, 280, 4), dtype=np.uint8)) is None
    blank_white_alpha = np.zeros((280, 280, 4), dtype=np.uint8)
    blank_white_alpha[..., 3] = 255                               # opaque black: still no ink
    assert lab.preprocess(blank_white_alpha) is None


def test_tiny_dot_is_scaled_up_and_kept_in_range():
    img = np.zeros((280, 280), dtype=np.uint8)
    img[5:8, 270:273] = 255                                       # a 3x3 dot in a corner
    x = lab.preprocess(img)
    assert x is not None and 0 <= x.min() and x.max() <= 1
    r, c = lab.centre_of_mass(x.reshape(28, 28))
    assert abs(r - 14) <= 1 and abs(c - 14) <= 1


def test_bad_shape_raises_clear_error():
    with pytest.raises(ValueError, match="expected an image"):
        lab.preprocess(np.zeros((2, 3, 4, 5)))


def test_mnist_centre_of_mass_is_where_we_put_ours(mnist_dir):
    X, _ = mnist_files.load_mnist("test", mnist_dir)
    centres = torch.tensor([lab.centre_of_mass(x.reshape(28, 28)) for x in X[:500]])
    assert torch.allclose(centres.mean(dim=0), torch.tensor([14.0, 14.0]), atol=0.1)


def test_preprocessed_mnist_digits_are_still_read_correctly(mnist_dir):
    """Running real MNIST digits through preprocess keeps them MNIST-like: the model still reads them."""
    X, y = mnist_files.load_mnist("test", mnist_dir)
    X_held, y_held = X[-500:], y[-500:]
    again = torch.stack([lab.preprocess(x.reshape(28, 28)) for x in X_held])
    params = lab.load_weights(MODEL)
    before = metrics.accuracy(metrics.predictions(params, X_held), y_held)
    after = metrics.accuracy(metrics.predictions(params, again), y_held)
    assert after >= before - 0.03 and after > 0.85


@pytest.mark.parametrize("k", [None, 0, 7])
def test_saliency_by_hand_equals_autograd(k):
    params = network.init_mlp([784, 128, 10], seed=3)
    params[0]["b"] = torch.randn(128, generator=torch.Generator().manual_seed(1)) * 0.1
    x = torch.rand(784, generator=torch.Generator().manual_seed(2))
    mine = lab.saliency(params, x, k)

    xa = x.clone().requires_grad_(True)
    logits = torch.relu(xa @ params[0]["W"] + params[0]["b"]) @ params[1]["W"] + params[1]["b"]
    target = int(logits.argmax()) if k is None else k
    logits[target].backward()
    torch.testing.assert_close(mine, xa.grad, rtol=1e-5, atol=1e-6)
    assert mine.abs().sum() > 0


def test_read_digit_matches_torch_nn():
    params = network.init_mlp([784, 128, 10], seed=5)
    x = torch.rand(784, generator=torch.Generator().manual_seed(0))
    out = lab.read_digit(params, x)
    model = network.to_torch_sequential(params)
    ref = torch.softmax(model(x[None]), dim=1)[0].detach()
    torch.testing.assert_close(out["probs"], ref)
    assert out["prediction"] == int(ref.argmax())
    assert out["hidden"].shape == (128,) and (out["hidden"] >= 0).all()


def test_save_load_roundtrip(tmp_path):
    params = network.init_mlp([784, 128, 10], seed=1)
    lab.save_weights(params, tmp_path / "m.pt")
    back = lab.load_weights(tmp_path / "m.pt")
    for a, b in zip(params, back):
        assert torch.equal(a["W"], b["W"]) and torch.equal(a["b"], b["b"])


def test_shipped_model_loads_and_reaches_90_percent_on_held_out(mnist_dir):
    params = lab.load_weights(MODEL)
    assert [tuple(t.shape) for _, t in network.named_tensors(params)] == [(784, 128), (128,), (128, 10), (10,)]
    info = json.loads(MODEL.with_suffix(".json").read_text())
    X, y = mnist_files.load_mnist("test", mnist_dir)
    X_held, y_held = X[-mnist_files.HELD_OUT:], y[-mnist_files.HELD_OUT:]       # never seen in training (offline split)
    acc = metrics.accuracy(metrics.predictions(params, X_held), y_held)
    assert acc >= 0.9
    if info["n_test"] == mnist_files.HELD_OUT:                           # the note tells the truth
        assert acc == pytest.approx(info["test_accuracy"], abs=1e-4)
    # the same weights in nn.Sequential give the same predictions
    model = network.to_torch_sequential(params)
    assert torch.equal(model(X_held).argmax(1), metrics.predictions(params, X_held))


def test_what_the_page_shows_about_the_model():
    """The page's table of scores, parameter count, unseen split and pen arithmetic come from these."""
    params = lab.load_weights(MODEL)
    assert lab.n_parameters(params) == 784 * 128 + 128 + 128 * 10 + 10 == 101_770
    reading = lab.read_digit(params, lab.preprocess(canvas_with_stroke()))
    rows = lab.score_rows(reading)
    assert [r["digit"] for r in rows] == list(range(10))
    assert rows[reading["prediction"]]["probability"] == round(reading["probs"].max().item(), 4)
    assert rows[3]["logit"] == round(float(reading["logits"][3]), 3)
    X, y = torch.arange(10.0)[:, None], torch.arange(10)
    assert torch.equal(lab.unseen_digits(X, y, 4, held_out=4)[1], torch.tensor([6, 7, 8, 9]))  # last 4
    assert lab.unseen_digits(X, y, 10, held_out=4)[0] is X                # trained on other data: all of it
    assert lab.pen_in_box(18, 200) == pytest.approx(1.8)                 # 18 x 20 / 200
