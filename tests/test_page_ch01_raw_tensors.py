"""Page 1 · Raw tensors: parameter count and bytes read from the tensors; init choice changes the numbers."""
import math

import pandas as pd
import torch

from core import digits, init_stats, network
from tests.apptest_utils import assert_no_exception, metric, open_page, page_output
from tests.test_core_digits import MODEL

PAGE = "pages/ch01_raw_tensors.py"


def tensor_table(at):
    return next(df.value for df in at.dataframe if "requires_grad" in df.value.columns)


def spread_table(at):
    return next(df.value for df in at.dataframe if "initialisation" in df.value.columns)


def test_counts_and_bytes_come_from_the_tensors():
    at = open_page(PAGE)
    assert_no_exception(at)
    assert metric(at, "Parameters") == "101,770"
    assert metric(at, "Bytes") == f"{101_770 * 4:,}"
    table = tensor_table(at)
    assert list(table["tensor"]) == ["W1", "b1", "W2", "b2"]
    assert list(table["shape"]) == ["[784, 128]", "[128]", "[128, 10]", "[10]"]
    assert list(table["bytes"]) == ["401,408", "512", "5,120", "40"]
    assert set(table["dtype"]) == {"float32"} and set(table["device"]) == {"cpu"}
    assert table["requires_grad"].all()
    # the std column is the one of the seeded Kaiming weights
    W1 = network.init_mlp([784, 128, 10], "kaiming", seed=0)[0]["W"]
    assert table["std"][0] == f"{W1.std().item():.4f}"
    assert abs(W1.std().item() - math.sqrt(2 / 784)) < 0.002


def test_init_and_seed_change_the_weights():
    at = open_page(PAGE)
    at.selectbox(key="tensors_init").set_value("normal").run()
    assert_no_exception(at)
    W1 = network.init_mlp([784, 128, 10], "normal", seed=0)[0]["W"]
    assert tensor_table(at)["std"][0] == f"{W1.std().item():.4f}"
    at.number_input(key="tensors_seed").set_value(7).run()
    W1 = network.init_mlp([784, 128, 10], "normal", seed=7)[0]["W"]
    assert tensor_table(at)["min"][0] == f"{W1.min().item():.4f}"


def test_trained_weights_and_unit_slider_extremes():
    at = open_page(PAGE, query={"tensors_trained": "true", "tensors_unit": "127"})
    assert_no_exception(at)
    params = digits.load_weights(MODEL)
    col = params[0]["W"][:, 127]
    assert f"Unit 127: weights from {col.min().item():.3f} to {col.max().item():.3f}" in page_output(at)
    assert tensor_table(at)["max"][3] == f"{params[1]['b'].max().item():.4f}"
    at.slider(key="tensors_unit").set_value(0).run()
    col = params[0]["W"][:, 0]
    assert f"Unit 0: weights from {col.min().item():.3f}" in page_output(at)


def test_spread_table_shows_explosion_and_matches_core():
    at = open_page(PAGE, query={"tensors_depth": "50", "tensors_width": "128"})
    assert_no_exception(at)
    table = spread_table(at).set_index("initialisation")
    normal = table.loc["plain randn (std 1)"]
    assert normal["std after layer 50"] == "overflow (inf)"
    assert any("became inf" in w.value for w in at.warning)
    rows = init_stats.activation_spread("kaiming", depth=50, width=128, n_samples=128, seed=0)
    kaiming = table.loc["Kaiming: randn * sqrt(2 / fan_in)"]
    assert kaiming["std after layer 50"] == f"{rows[-1]['std']:.3g}"
    assert kaiming["spread left 1/100..100 at"] == "never"
    at.slider(key="tensors_depth").set_value(1).run()               # slider minimum
    assert_no_exception(at)
    assert "std after layer 1" in spread_table(at).columns
    assert not [w for w in at.warning if "inf" in w.value]


def test_bad_link_value_falls_back_with_warning():
    at = open_page(PAGE, query={"tensors_depth": "999", "tensors_init": "lol"})
    assert_no_exception(at)
    assert at.slider(key="tensors_depth").value == 20
    assert at.selectbox(key="tensors_init").value == "kaiming"
    assert len(at.warning) >= 2
