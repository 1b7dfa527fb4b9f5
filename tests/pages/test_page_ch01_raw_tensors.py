"""Page 1 · Raw tensors: parameter count and bytes read from the tensors; init choice changes the numbers."""
import math


import torch

from core import network
from labs import ch00_draw_digit
from labs import ch01_raw_tensors as lab
from tests.apptest_utils import assert_no_exception, metric, open_page, page_output
from tests.labs.test_lab_ch00_draw_digit import MODEL

PAGE = "views/ch01_raw_tensors.py"


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
    params = ch00_draw_digit.load_weights(MODEL)
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
    rows = lab.activation_spread("kaiming", depth=50, width=128, n_samples=128, seed=0)
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


def _downloaded_numbers(settings, downloads, tmp_path):
    """The page's download (checked against exports.fill(settings)) run in-process: its "name value" lines."""
    import exports
    from tests.export_utils import run_download
    script = downloads["tensors_download"]
    assert script == exports.fill("ch01_raw_tensors", settings)
    return dict(line.split(" ", 1) for line in run_download(script, tmp_path, "ch01_raw_tensors.py").splitlines())


def _spread_chart(at):
    """{trace name: list of y values} of the spread chart, as the page sent it to the browser."""
    import json

    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if "Spread of the activations" in spec["layout"]["title"]["text"]:
            return {trace["name"]: trace["y"] for trace in spec["data"] if trace.get("name")}
    raise KeyError("no spread chart")


def test_exported_script_reproduces_the_page(downloads, tmp_path):
    at = open_page(PAGE)
    at.selectbox(key="tensors_init").set_value("xavier").run()
    at.number_input(key="tensors_seed").set_value(5).run()
    at.slider(key="tensors_depth").set_value(35).run()
    at.select_slider(key="tensors_width").set_value(512).run()
    at.slider(key="tensors_unit").set_value(9).run()
    assert_no_exception(at)
    printed = _downloaded_numbers(dict(init="xavier", seed=5, depth=35, width=512, unit=9), downloads, tmp_path)

    assert printed["parameters"] == metric(at, "Parameters") == "101,770"
    assert printed["bytes"] == metric(at, "Bytes")
    assert printed["share_held_by_W1"] == metric(at, "Share held by W1")
    for _, row in tensor_table(at).iterrows():
        for column in ("shape", "bytes", "mean", "std", "min", "max"):
            assert printed[f"{row['tensor']}.{column}"] == row[column], (row["tensor"], column)
    low, high = printed["unit_9_weights_from"].split(" to ")
    assert f"Unit 9: weights from {low} to {high}." in page_output(at)

    labels = {"kaiming": "Kaiming: randn * sqrt(2 / fan_in)", "xavier": "Xavier: randn * sqrt(2 / (fan_in + fan_out))",
              "normal": "plain randn (std 1)"}
    chart = _spread_chart(at)
    table = spread_table(at).set_index("initialisation")
    for init, label in labels.items():
        shown = ["inf" if y is None else f"{y:.3g}" for y in chart[label]]  # the chart leaves a gap at inf
        assert printed[f"spread[{init}]"].split() == shown, init
        row = table.loc[label]
        assert printed[f"std_after_last_layer[{init}]"] == row["std after layer 35"]
        assert printed[f"zeros_in_last_layer[{init}]"] == row["zeros in last layer"]
        assert printed[f"units_dead_for_every_input[{init}]"] == row["units dead for every input"]
        assert printed[f"spread_left_1/100..100_at[{init}]"] == row["spread left 1/100..100 at"]
    assert printed["std_after_last_layer[normal]"] == "overflow (inf)"  # 35 layers of randn * 1 overflow


def test_exported_script_with_trained_weights(downloads, tmp_path):
    at = open_page(PAGE, query={"tensors_trained": "true", "tensors_unit": "127", "tensors_depth": "3"})
    assert_no_exception(at)
    printed = _downloaded_numbers(dict(seed=0, depth=3, width=128, unit=127, trained=True), downloads, tmp_path)
    table = tensor_table(at)
    assert [printed[f"{name}.std"] for name in table["tensor"]] == list(table["std"])
    assert [printed[f"{name}.max"] for name in table["tensor"]] == list(table["max"])
    low, high = printed["unit_127_weights_from"].split(" to ")
    assert f"Unit 127: weights from {low} to {high}." in page_output(at)


def test_overflow_warning_quotes_float32s_largest_number():
    at = open_page(PAGE, query={"tensors_depth": "50", "tensors_width": "128"})
    warning = next(w.value for w in at.warning if "became inf" in w.value)
    assert f"the largest float32 ({torch.finfo(torch.float32).max:.2e})" in warning and "about 3.4e38" not in warning
