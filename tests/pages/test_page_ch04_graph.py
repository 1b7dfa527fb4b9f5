"""Chapter 4 page: the autograd graph, the backward pass stepped node by node, the three-way gradient check."""
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core import network
from labs import ch04_graph as lab
from tests.apptest_utils import assert_no_exception, metric, open_page, page_output

PAGE = "views/ch04_graph.py"
STEP_NAMES = ["dL/dlogits", "dL/dW2", "dL/db2", "dL/dh1", "dL/dz1", "dL/dW1", "dL/db1"]


def _reference(sizes=(3, 4, 3), batch=2, seed=0):
    """Every gradient of the default network, from plain torch autograd (independent of the page)."""
    params = network.init_mlp(list(sizes), seed=seed, dtype=torch.float64)
    x, y = lab.demo_inputs(list(sizes), batch, seed)
    W1, b1, W2, b2 = (t.clone().requires_grad_(True) for t in
                      (params[0]["W"], params[0]["b"], params[1]["W"], params[1]["b"]))
    z1 = x @ W1 + b1
    h1 = torch.relu(z1)
    logits = h1 @ W2 + b2
    for t in (z1, h1, logits):
        t.retain_grad()
    loss = F.cross_entropy(logits, y)
    loss.backward()
    grads = {"dL/dlogits": logits.grad, "dL/dW2": W2.grad, "dL/db2": b2.grad, "dL/dh1": h1.grad,
             "dL/dz1": z1.grad, "dL/dW1": W1.grad, "dL/db1": b1.grad}
    return loss.item(), {k: v.reshape(1, -1) if v.dim() == 1 else v for k, v in grads.items()}


def _table(at, header):
    """The dataframe whose columns include `header`."""
    for df in at.dataframe:
        if header in df.value.columns:
            return df.value
    raise KeyError(header)


def _shown_gradient(at):
    """The hand-derived gradient table the page printed for the latest step (first matrix table)."""
    matrices = [df.value for df in at.dataframe if list(df.value.columns)[:1] == ["0"]]
    return matrices[0].to_numpy(), matrices[1].to_numpy()  # by hand, autograd


def test_graph_nodes_come_from_autograd():
    at = open_page(PAGE)
    assert_no_exception(at)
    nodes = _table(at, "op")
    leaves = nodes[nodes["kind"] == "leaf"]
    assert sorted(leaves["name"]) == ["W1", "W2", "b1", "b2"]
    assert set(leaves["op"]) == {"AccumulateGrad"}
    ops = list(nodes["op"])
    assert ops.count("MmBackward0") == 2 and "AddBackward0" in ops and "MeanBackward0" in ops
    assert any(re.match(r"(Clamp|Relu)", op) for op in ops)
    assert metric(at, "Backward steps done") == "0 / 7"
    ref_loss, _ = _reference()
    assert abs(float(metric(at, "Loss")) - ref_loss) < 1e-6
    dot = "\n".join(str(c.value) for c in at.code)
    assert "digraph" in dot and "rankdir=LR" in dot and "9 autograd nodes:" in dot
    assert re.search(r"<B>W1</B>.*?AccumulateGrad", dot)   # the name, then the autograd node it is
    at.toggle(key="g_ops").set_value(True).run()  # every op of the loss drawn on its own
    dot = "\n".join(str(c.value) for c in at.code)
    assert "subgraph cluster_0" in dot and "9 autograd nodes:" not in dot and "ExpBackward0" in dot

    # the same loss written with F.cross_entropy is recorded as other (fused) nodes
    at.radio(key="g_loss").set_value("torch").run()
    assert_no_exception(at)
    ops = list(_table(at, "op")["op"])
    assert "NllLossBackward0" in ops and "MeanBackward0" not in ops
    assert abs(float(metric(at, "Loss")) - ref_loss) < 1e-6


def test_stepping_shows_one_more_gradient_each_time_equal_to_autograd():
    _, ref = _reference()
    at = open_page(PAGE)
    for n in range(1, 8):
        at.button(key="g_step_btn").click().run()
        assert_no_exception(at)
        assert metric(at, "Backward steps done") == f"{n} / 7"
        done = _table(at, "gradient")
        so_far = done[done.columns[1]].tolist() if "step" in done.columns else None
        assert so_far == STEP_NAMES[:n]
        hand, auto = _shown_gradient(at)
        expected = ref[STEP_NAMES[n - 1]].numpy()
        np.testing.assert_allclose(hand, expected, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(auto, expected, rtol=1e-10, atol=1e-12)
        assert float(metric(at, f"max |hand - autograd| for {STEP_NAMES[n - 1]}")) < 1e-12
        assert any(f"Step {n}: {STEP_NAMES[n - 1]}" in s.value for s in at.subheader)
    assert at.button(key="g_step_btn").disabled  # nothing left to step
    at.button(key="g_reset_btn").click().run()
    assert metric(at, "Backward steps done") == "0 / 7"
    at.button(key="g_all_btn").click().run()
    assert metric(at, "Backward steps done") == "7 / 7"
    # a new network starts the walk again
    at.slider(key="g_hid").set_value(5).run()
    assert metric(at, "Backward steps done") == "0 / 7"


def test_gradient_check_table_all_allclose_and_formula_shapes():
    at = open_page(PAGE)
    check = _table(at, "allclose (vs finite diff)")
    assert list(check["parameter"]) == ["W1", "b1", "W2", "b2"]
    assert check["shape ok"].all() and check["allclose (vs autograd)"].all()
    assert check["allclose (vs finite diff)"].all()
    assert (check["max |diff| vs autograd"] < 1e-12).all()
    formulas = _table(at, "meaning")
    assert dict(zip(formulas["gradient"], formulas["shape"])) == {
        "dL/dlogits": "[2, 3]", "dL/dW2": "[4, 3]", "dL/db2": "[3]", "dL/dh1": "[2, 4]",
        "dL/dz1": "[2, 4]", "dL/dW1": "[3, 4]", "dL/db1": "[4]"}
    at.slider(key="g_in").set_value(5).run()
    at.slider(key="g_batch").set_value(7).run()
    formulas = _table(at, "meaning")
    assert dict(zip(formulas["gradient"], formulas["shape"]))["dL/dW1"] == "[5, 4]"
    assert dict(zip(formulas["gradient"], formulas["shape"]))["dL/dz1"] == "[7, 4]"
    mask_total = metric(at, "Hidden units passing gradient").split(" / ")[1]
    assert mask_total == "28"


@pytest.mark.parametrize("values", [dict(g_in=1, g_hid=1, g_cls=2, g_batch=1),
                                    dict(g_in=16, g_hid=16, g_cls=10, g_batch=64)])
def test_size_extremes(values):
    at = open_page(PAGE)
    for key, v in values.items():
        at.slider(key=key).set_value(v).run()
    at.button(key="g_all_btn").click().run()
    assert_no_exception(at)
    assert metric(at, "Backward steps done") == "7 / 7"
    check = _table(at, "allclose (vs finite diff)")
    assert check["allclose (vs autograd)"].all() and check["allclose (vs finite diff)"].all()
    out = page_output(at)
    assert "Step 7: dL/db1" in out
    if values["g_hid"] == 16:  # dL/db1 has 16 numbers: printed in full; stepping back to dL/dW1 (256) summarises
        at.button(key="g_reset_btn").click().run()
        for _ in range(6):
            at.button(key="g_step_btn").click().run()
        assert metric(at, "Backward steps done") == "6 / 7"
        summary = _table(at, "by hand").set_index("")
        assert summary["by hand"]["shape"] == "[16, 16]" and summary["by hand"]["numel"] == "256"
        for row in ("mean", "norm", "min", "max"):
            assert abs(float(summary["by hand"][row]) - float(summary["autograd"][row])) < 1e-12


def test_mnist_summary_mode(mnist_dir):
    at = open_page(PAGE)
    at.segmented_control(key="g_mode").set_value("784-128-10 summary").run()
    at.slider(key="g_batch").set_value(4).run()
    assert_no_exception(at)
    assert metric(at, "Hidden units passing gradient").endswith("/ 512")
    at.button(key="g_all_btn").click().run()
    assert metric(at, "Backward steps done") == "7 / 7"
    formulas = _table(at, "meaning")
    assert dict(zip(formulas["gradient"], formulas["shape"]))["dL/dW1"] == "[784, 128]"
    check = _table(at, "allclose (vs finite diff)")
    assert check["allclose (vs autograd)"].all() and check["allclose (vs finite diff)"].all()
    assert list(check["entries finite-diffed"]) == [20, 20, 20, 10]
    assert "784-128-10" not in [w.value for w in at.warning]


def test_link_restores_widgets_and_bad_links_warn():
    at = open_page(PAGE, query={"g_hid": "6", "g_seed": "7"})
    assert at.slider(key="g_hid").value == 6 and at.number_input(key="g_seed").value == 7
    assert_no_exception(at)
    at = open_page(PAGE, query={"g_hid": "abc"})
    assert at.slider(key="g_hid").value == 4
    assert at.warning


def test_quiz_relu_slope():
    at = open_page(PAGE)
    quiz = at.radio(key="quiz_ch4")
    assert len(quiz.options) == 4
    quiz.set_value(quiz.options[2]).run()
    assert at.success and not at.error


def test_download_script_is_the_one_generated_and_prints_the_page_numbers(tmp_path):
    from streamlit.runtime.memory_media_file_storage import _calculate_file_id

    import exports
    from tests.export_utils import run_download
    from tests.labs.test_lab_ch04_graph import parse_script_output
    at = open_page(PAGE, query={"g_hid": "5", "g_seed": "3"})
    at.button(key="g_all_btn").click().run()
    code = exports.fill("ch04_graph", dict(sizes=[3, 5, 3], batch=2, seed=3, mnist=False, loss_impl="core",
                                           max_entries=None))
    url = at.get("download_button")[0].proto.url
    assert url.rsplit("/", 1)[1] == _calculate_file_id(code.encode(), "text/x-python", "ch04_graph.py") + ".py"
    out = parse_script_output(run_download(code, tmp_path, "ch04_graph.py"))
    assert f"{out['loss']:.6f}" == metric(at, "Loss")
    shown = _table(at, "gradient")
    assert [s[0] for s in out["steps"]] == shown["gradient"].tolist()
    np.testing.assert_allclose([s[1] for s in out["steps"]], shown["norm"].to_numpy(), atol=1e-6)


def _dot(at):
    return next(str(c.value) for c in at.code if str(c.value).startswith("digraph"))


def _current_nodes(at):
    """Names (bold titles) of the nodes the graph fills in the current-step colour."""
    from ui.graphviz import CURRENT_FILL
    return set(re.findall(rf'BGCOLOR="{CURRENT_FILL}" STYLE="ROUNDED"><TR><TD ALIGN="LEFT"><B>([^<]+)</B>', _dot(at)))


def test_step_and_back_move_the_highlight_and_the_gradient_shown():
    at = open_page(PAGE)
    assert _current_nodes(at) == set()
    at.button(key="g_step_btn").click().run()
    assert _current_nodes(at) >= {"logits", "loss"}            # step 1 reaches the loss end
    at.button(key="g_step_btn").click().run()
    assert "W2" in _current_nodes(at) and "logits" not in _current_nodes(at)
    assert metric(at, "Backward steps done") == "2 / 7"
    assert "grad norm" in _dot(at)
    at.button(key="g_back_btn").click().run()
    assert metric(at, "Backward steps done") == "1 / 7" and "logits" in _current_nodes(at)
    assert any("Step 1: dL/dlogits" in s.value for s in at.subheader)


def test_play_advances_one_step_per_tick_and_stops_at_the_end():
    """AppTest runs the fragment once per run(): each run is one tick of Play's timer."""
    _, ref = _reference()
    at = open_page(PAGE)
    at.button(key="g_play_btn").click().run()
    assert_no_exception(at)
    seen = [metric(at, "Backward steps done")]
    assert at.button(key="g_pause_btn")   # Play turned into Pause
    for _ in range(8):
        at.run()
        seen.append(metric(at, "Backward steps done"))
    assert seen[:7] == [f"{n} / 7" for n in range(1, 8)] and set(seen[7:]) == {"7 / 7"}   # stops at the end
    assert at.button(key="g_play_btn") and not at.button(key="g_play_btn").disabled   # Play again, not Pause
    hand, _ = _shown_gradient(at)
    np.testing.assert_allclose(hand, ref["dL/db1"].numpy(), rtol=1e-10, atol=1e-12)


def test_pause_stops_the_walk():
    at = open_page(PAGE)
    at.button(key="g_play_btn").click().run()
    at.run()
    at.button(key="g_pause_btn").click().run()
    done = metric(at, "Backward steps done")
    at.run()
    at.run()
    assert metric(at, "Backward steps done") == done == "2 / 7"   # Pause takes no extra step


def test_prediction_which_gradient_comes_first():
    at = open_page(PAGE)
    first = at.radio(key="predict_ch4_first")
    first.set_value("dL/dlogits").run()
    assert any("Step 1 of this walk is dL/dlogits" in s.value for s in at.success)
    relu = at.radio(key="predict_ch4_relu")
    relu.set_value("Exactly 0").run()
    assert any("the largest |dL/dz1| among them is 0" in s.value or "no entry of z1" in s.value for s in at.success)
