"""Chapter 2 page (shape propagation) and labs.ch02_shapes."""
import pytest
import torch

from core import network
from labs import ch02_shapes as lab
from tests.apptest_utils import assert_no_exception, metric, open_page, page_output

PAGE = "views/ch02_shapes.py"


def test_trace_matches_core_forward_and_torch_nn():
    params = network.init_mlp([784, 32, 10], seed=3)
    x = torch.rand(7, 784, generator=torch.Generator().manual_seed(1))
    steps = {s["name"]: s for s in lab.trace_forward(params, x)}
    logits, _ = network.forward(params, x)
    torch.testing.assert_close(steps["logits"]["value"], logits)
    torch.testing.assert_close(steps["logits"]["value"], network.to_torch_sequential(params)(x).detach())
    torch.testing.assert_close(steps["probs"]["value"], torch.softmax(logits, dim=1))
    assert steps["x @ W1"]["shape"] == (7, 32) and steps["x @ W1"]["madds"] == 7 * 784 * 32
    assert steps["h @ W2"]["madds"] == 7 * 32 * 10
    assert steps["b1 broadcast"]["shape"] == (7, 32)
    assert lab.owned_bytes(steps["b1 broadcast"]["value"]) == 32 * 4  # a view, no copy
    assert bool((steps["h"]["value"] >= 0).all())


@pytest.mark.parametrize("H", [1, 10, 64, 128])
def test_every_break_case_reports_torch_error_or_shape(H):
    params = network.init_mlp([784, H, 10], seed=0)
    x = torch.rand(4, 784)
    for case in lab.BREAKS:
        out = lab.break_forward(params, x, case)
        assert (out["error"] is None) != (out["shape"] is None)
    assert "cannot be multiplied (4x784 and %dx784)" % H in lab.break_forward(params, x, "W1 transposed")["error"]
    assert lab.break_forward(params, x, "one image without a batch axis")["shape"] == (H,)


def test_page_default_prints_shapes_and_costs():
    at = open_page(PAGE)
    assert_no_exception(at)
    assert metric(at, "Output shape") == "[64, 10]"
    assert metric(at, "Multiply-adds (both matmuls)") == f"{64 * 784 * 128 + 64 * 128 * 10:,}"
    assert float(metric(at, "max |trace - core.network.forward|")) == 0.0
    table = at.dataframe[0].value
    assert list(table["shape"][:3]) == ["[64, 784]", "[784, 128]", "[64, 128]"]
    assert "real MNIST test images" in page_output(at)


def test_sliders_change_shapes_at_extremes():
    at = open_page(PAGE)
    at.slider(key="shape_b").set_value(512).run()
    at.slider(key="shape_h").set_value(1).run()
    assert_no_exception(at)
    assert metric(at, "Output shape") == "[512, 10]"
    assert metric(at, "Multiply-adds (both matmuls)") == f"{512 * 784 * 1 + 512 * 1 * 10:,}"
    at.slider(key="shape_b").set_value(1).run()
    at.slider(key="shape_h").set_value(512).run()
    assert_no_exception(at)
    assert "[1, 512]" in at.dataframe[0].value.to_string()


def test_break_it_shows_torch_message():
    at = open_page(PAGE)
    at.selectbox(key="shape_break").set_value("image not flattened").run()
    assert_no_exception(at)
    assert at.error and any("mat1 and mat2 shapes cannot be multiplied (1792x28 and 784x128)" in c.value
                            for c in at.code)
    at.selectbox(key="shape_break").set_value("one image without a batch axis").run()
    assert any("shape [128]" in s.value for s in at.success)


def test_link_restores_and_bad_link_warns():
    at = open_page(PAGE, query={"shape_b": "32", "shape_h": "16"})
    assert at.slider(key="shape_b").value == 32 and metric(at, "Output shape") == "[32, 10]"
    at = open_page(PAGE, query={"shape_b": "abc"})
    assert at.slider(key="shape_b").value == 64 and at.warning


def test_unreadable_mnist_is_a_plain_error_not_random_pixels(monkeypatch, tmp_path):
    import streamlit as st

    import ui
    from datasets import mnist_files
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    monkeypatch.setattr(mnist_files, "PROJECT_MNIST_DIR", tmp_path)
    monkeypatch.setattr(mnist_files, "EMBEDDED_MNIST_DIR", tmp_path)   # a damaged install: not even the committed split
    st.cache_resource.clear()  # forget the MNIST already loaded in this process
    st.cache_data.clear()
    try:
        at = open_page(PAGE)
        assert_no_exception(at)
        assert [e.value for e in at.error] == [ui.MNIST_UNREADABLE]
        assert "random pixels" not in page_output(at) and "real MNIST" not in page_output(at)
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()


def test_exported_script_reproduces_the_page(tmp_path, mnist_dir, downloads):
    import math

    import exports
    from tests.export_utils import run_export

    at = open_page(PAGE)
    at.slider(key="shape_b").set_value(24).run()
    at.slider(key="shape_h").set_value(40).run()
    at.number_input(key="shape_seed").set_value(3).run()
    at.selectbox(key="shape_break").set_value("image not flattened").run()
    assert_no_exception(at)
    settings = dict(batch_size=24, hidden=40, seed=3, case="image not flattened")
    assert downloads["shape_download"] == exports.fill("ch02_shapes", settings)
    out = run_export("ch02_shapes", settings, tmp_path)
    printed = dict(line.split(" ", 1) for line in out.splitlines())

    assert printed["input"] == "real MNIST test images"
    assert printed["output_shape"] == metric(at, "Output shape") == "[24, 10]"
    assert printed["multiply_adds_total"] == metric(at, "Multiply-adds (both matmuls)")
    assert printed["hidden_values_zeroed_by_relu"] == metric(at, "Hidden values zeroed by ReLU")
    assert printed["max_abs_trace_minus_network_forward"] == metric(at, "max |trace - core.network.forward|")
    table = at.dataframe[0].value
    assert len(table) == 11
    for _, row in table.iterrows():
        key = row["step"].replace(" @ ", "@").replace(" ", "_")
        assert printed[f"{key}.shape"] == row["shape"]
        assert printed[f"{key}.numbers"] == str(row["numbers"])
        assert printed[f"{key}.bytes_owned"] == str(row["bytes owned"])
        assert printed[f"{key}.multiply_adds"] == str(row["multiply-adds"])
    first = next(df.value for df in at.dataframe if "[0, 0]" in df.value.columns)
    for _, row in first.iterrows():
        shown = [float(v) for k, v in row.items() if k != "tensor" and not math.isnan(v)]
        assert printed[f"first_six[{row['tensor']}]"] == str(shown)
    text = page_output(at)
    assert f"True digit: {printed['true_digit_0']}. Untrained network's guess: {printed['guess_0']}." in text
    assert f"largest error {printed['largest_row_sum_error']}" in text
    assert (f"Labels of images 0-7: {printed['labels_0_to_7']}; guesses: {printed['guesses_0_to_7']}. "
            f"Cross-entropy of this untrained network on the batch: {printed['cross_entropy']} ") in text
    shown_code = [c.value for c in at.code]
    assert printed["break_code"] == "x.reshape(B, 28, 28) @ W1" and printed["break_code"] in shown_code
    kind, message = printed["break_result"].split(": ", 1)
    assert kind == "RuntimeError" and message in shown_code


def test_relu_sentence_quotes_the_measured_share_not_roughly_half():
    at = open_page(PAGE, query={"shape_b": "1", "shape_h": "8"})
    assert_no_exception(at)
    zeroed = metric(at, "Hidden values zeroed by ReLU")
    text = " ".join(" ".join(m.value for m in at.markdown).split())
    assert "roughly half" not in text
    assert f"in this batch {zeroed} of the hidden values of the freshly initialised network were 0 or below" in text


def _figures_with_graph_objects(boxes, image, big):
    """The page's two figures as it built them before (issue 12): go.Figure, go.Scatter, go.Heatmap, update_*.
    The boxes' geometry (rectangles, label positions and texts) is taken from `boxes`, the new figure: that loop
    moved from the page unchanged; what is compared is how the figure around it is written."""
    import plotly.graph_objects as go
    words = boxes["data"][0]
    fig = go.Figure(go.Scatter(x=words["x"], y=words["y"], text=words["text"], mode="text", hoverinfo="skip",
                               textfont=dict(size=16 if big else 13)),
                    layout=dict(shapes=boxes["layout"]["shapes"], height=480, showlegend=False,
                                title="Every tensor of the forward pass (sides on a log2 scale)",
                                xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x", scaleratio=1)))
    img = go.Figure(go.Heatmap(z=image, colorscale="gray_r", showscale=False))
    img.update_yaxes(autorange="reversed", visible=False, scaleanchor="x")
    img.update_xaxes(visible=False)
    img.update_layout(height=260, title="Image 0 of the batch: row 0 of x")
    return fig, img


@pytest.mark.parametrize("B, H, big", [(64, 128, False), (1, 1, True), (512, 512, False)])
def test_figures_are_the_graph_objects_figures(B, H, big):
    """Issue 12: the figures are plain dicts (ui.figspec) and draw exactly what go.Figure drew, "gray_r" written
    out as the colour stops go.Heatmap sends, for the smallest and largest shapes and in presenter mode."""
    import json

    import plotly.graph_objects as go
    import plotly.utils

    from ui import ch02_figures

    def spec(fig):
        return json.dumps(fig.to_dict(), cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True)
    x = torch.rand(B, 784, generator=torch.Generator().manual_seed(B))
    blocks = [(s["name"], s["shape"]) for s in lab.trace_forward(network.init_mlp([784, H, 10], seed=0), x)]
    image = x[0].reshape(28, 28).numpy()
    ours = (ch02_figures.tensor_blocks(blocks, big=big), ch02_figures.image_figure(image))
    assert all(type(fig) is dict for fig in ours)
    theirs = _figures_with_graph_objects(ours[0], image, big)
    assert [spec(go.Figure(fig)) for fig in ours] == [spec(fig) for fig in theirs]
    assert ours[1]["data"][0]["colorscale"][-1] == [1.0, "rgb(0, 0, 0)"]   # the dicts themselves, not only via go
