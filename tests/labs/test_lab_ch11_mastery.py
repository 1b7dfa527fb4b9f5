"""labs.ch11_mastery: dropout on the hidden activations, ours next to nn.Dropout."""
import torch

from labs import ch11_mastery as lab


def test_dropout_demo_matches_nn_dropout_and_the_rescaled_mean_settles_on_h():
    x = torch.rand(20, 784, generator=torch.Generator().manual_seed(0))
    dd = lab.dropout_demo(x, seed=3, p=0.5, n_samples=2000)
    assert dd["h"].shape == dd["out"].shape == dd["mask"].shape == (16, 128)
    assert dd["same_mask"] and dd["train_diff"] == 0.0 and dd["eval_identity"] and dd["eval_diff"] == 0.0
    assert (dd["out"] == dd["h"] * dd["mask"] / 0.5).all()              # inverted dropout: survivors / (1 - p)
    assert 0.4 < dd["kept"] < 0.6 and len(dd["scaled"]) == len(dd["unscaled"]) == 2000
    assert abs(dd["scaled"][-1] - dd["mean_h"]) < 0.02 * dd["mean_h"]
    assert abs(dd["unscaled"][-1] - 0.5 * dd["mean_h"]) < 0.02 * dd["mean_h"]
