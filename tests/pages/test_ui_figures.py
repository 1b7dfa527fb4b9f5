"""ui's cheap figure builders draw exactly the figure the Plotly helper they replace would draw."""
import numpy as np
import plotly.express as px
import pytest

import ui


@pytest.mark.parametrize("kwargs", [
    dict(aspect="auto", labels=dict(x="hidden unit (column)", y="input pixel (row)", color="weight"), title="W1"),
    dict(title="W1[:, 3] reshaped to 28 x 28"),
    dict(aspect="auto", labels=dict(x="hidden unit", y="digit", color="weight"), title="W2, drawn as [10, 128]"),
])
def test_imshow_is_px_imshow(kwargs):
    z = np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32)
    theirs = px.imshow(z, color_continuous_scale=ui.DIVERGING, zmin=-2.5, zmax=2.5, **kwargs).to_dict()
    ours = ui.imshow(z, colorscale=ui.DIVERGING, zmin=-2.5, zmax=2.5, **kwargs).to_dict()
    np.testing.assert_array_equal(ours["data"][0].pop("z"), theirs["data"][0].pop("z"))
    assert ours == theirs


def test_imshow_hide_ticks_is_px_imshow_with_hidden_ticks():
    z = np.arange(6.0).reshape(2, 3)
    theirs = px.imshow(z, color_continuous_scale=ui.DIVERGING, zmin=-1, zmax=1, title="t")
    theirs.update_xaxes(showticklabels=False)
    theirs.update_yaxes(showticklabels=False)
    ours = ui.imshow(z, colorscale=ui.DIVERGING, zmin=-1, zmax=1, title="t", hide_ticks=True)
    assert ours.to_dict() == theirs.to_dict()
