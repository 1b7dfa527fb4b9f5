"""labs.ch04_graph: the autograd graph read back as data, drawn as DOT, and lined up with the hand backward pass."""
import re

import pytest
import torch
import torch.nn.functional as F

from core import network
from labs import ch04_graph as lab
from ui import graphviz


def _tracked(sizes=(3, 4, 3), batch=2, seed=0, loss_impl="core"):
    params = network.init_mlp(list(sizes), seed=seed, dtype=torch.float64)
    x, y = lab.demo_inputs(list(sizes), batch, seed)
    return lab.tracked_forward(params, x, y, loss_impl)


def _ops(g, kind=None):
    return sorted(n["op"] for n in g["nodes"].values() if kind is None or n["kind"] == kind)


def test_one_hidden_layer_graph_has_the_ops_autograd_recorded():
    loss, named, _ = _tracked()
    g = lab.autograd_graph(loss, named)
    leaves = {n["name"]: n for n in g["nodes"].values() if n["kind"] == "leaf"}
    assert set(leaves) == {"W1", "b1", "W2", "b2"}
    assert all(n["op"] == "AccumulateGrad" for n in leaves.values())
    assert leaves["W1"]["shape"] == (3, 4) and leaves["b2"]["shape"] == (3,)
    counts = lab.op_counts(g)
    assert counts["MmBackward0"] == 2 and counts["AccumulateGrad"] == 4
    assert counts["AddBackward0"] >= 2  # x @ W1 + b1 and h1 @ W2 + b2
    by_name = {n["name"]: n for n in g["nodes"].values() if n["name"]}
    assert by_name["loss"]["op"] == "MeanBackward0" and g["root"] == by_name["loss"]["id"]
    assert re.match(r"(Clamp|Relu)", by_name["h1"]["op"])  # torch.clamp(z, min=0) -> ClampBackward1 here
    assert by_name["z1"]["op"] == by_name["logits"]["op"] == "AddBackward0"
    assert by_name["z1"]["shape"] == (2, 4) and by_name["logits"]["shape"] == (2, 3)
    # x and y need no gradient: they appear only as data saved by MmBackward0 and the indexing
    assert by_name["x"]["kind"] == by_name["y"]["kind"] == "data"
    mm_of_x = [dst for src, dst, _ in g["edges"] if src == by_name["x"]["id"]]
    assert [g["nodes"][d]["op"] for d in mm_of_x] == ["MmBackward0"]
    assert (by_name["W1"]["id"], mm_of_x[0], "grad") in g["edges"]


def test_graph_changes_with_the_code_that_ran():
    """The graph is read from autograd, not drawn from a template: other code, other nodes."""
    loss, named, _ = _tracked(loss_impl="torch")
    ops = _ops(lab.autograd_graph(loss, named))
    assert "NllLossBackward0" in ops and "LogSoftmaxBackward0" in ops and "MeanBackward0" not in ops

    W = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    x = torch.randn(4, 3, dtype=torch.float64)
    out = torch.relu(x @ W).sigmoid().sum()
    g = lab.autograd_graph(out, {"W": W, "x": x})
    assert _ops(g) == ["AccumulateGrad", "MmBackward0", "ReluBackward0", "SigmoidBackward0", "SumBackward0",
                       "data"]


def test_two_hidden_layers_give_six_named_leaves():
    loss, named, _ = _tracked(sizes=(3, 5, 4, 2), batch=3)
    g = lab.autograd_graph(loss, named)
    assert {n["name"] for n in g["nodes"].values() if n["kind"] == "leaf"} == {"W1", "b1", "W2", "b2", "W3", "b3"}
    assert lab.op_counts(g)["MmBackward0"] == 3


def test_loss_without_grad_is_refused():
    with pytest.raises(ValueError):
        lab.autograd_graph(torch.tensor(1.0), {})


def _torch_reference(sizes, batch, seed):
    """Gradients of the same network from torch.nn + F.cross_entropy, written independently."""
    params = network.init_mlp(list(sizes), seed=seed, dtype=torch.float64)
    x, y = lab.demo_inputs(list(sizes), batch, seed)
    model = network.to_torch_sequential(params)
    acts, h = {}, x
    for i, module in enumerate(model):
        h = module(h)
        h.retain_grad()
        acts[i] = h
    F.cross_entropy(h, y).backward()
    grads = {"logits": acts[len(model) - 1].grad}
    for n, linear in enumerate([m for m in model if isinstance(m, torch.nn.Linear)], start=1):
        grads[f"W{n}"], grads[f"b{n}"] = linear.weight.grad.T, linear.bias.grad
    for n in range(1, len(sizes) - 1):
        grads[f"z{n}"], grads[f"h{n}"] = acts[2 * n - 2].grad, acts[2 * n - 1].grad
    return grads


@pytest.mark.parametrize("sizes,batch", [((3, 4, 3), 2), ((1, 1, 2), 1), ((16, 16, 10), 64), ((2, 3, 3, 2), 5)])
def test_demo_steps_equal_torch_nn_gradients(sizes, batch):
    demo = lab.graph_demo(list(sizes), batch, seed=4)
    ref = _torch_reference(sizes, batch, seed=4)
    L = len(sizes) - 1
    assert [s["name"] for s in demo["steps"]][:3] == ["dL/dlogits", f"dL/dW{L}", f"dL/db{L}"]
    assert demo["steps"][-1]["name"] == "dL/db1"
    for step in demo["steps"]:
        expected = ref[step["target"]]
        assert step["value"].shape == expected.shape
        torch.testing.assert_close(step["value"], expected, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(step["autograd"], expected, rtol=1e-10, atol=1e-12)
        assert step["max_abs_diff"] < 1e-12


def test_steps_walk_every_gradient_node_once():
    demo = lab.graph_demo([3, 4, 3], 2, seed=0)
    g, steps = demo["graph"], demo["steps"]
    gradient_nodes = {nid for nid, n in g["nodes"].items() if n["kind"] != "data"}
    assert steps[-1]["nodes"] == gradient_nodes  # the whole graph is reached at the end, data excluded
    seen = set()
    for step in steps:
        assert step["new_nodes"].isdisjoint(seen) and step["node"] in step["nodes"]
        seen |= step["new_nodes"]
    by_step = {s["name"]: {g["nodes"][n]["op"] for n in s["new_nodes"]} for s in steps}
    assert by_step["dL/dW2"] == {"MmBackward0", "AccumulateGrad"}  # through h1 @ W2 into W2's leaf
    assert by_step["dL/db2"] == {"AccumulateGrad"}
    assert re.match(r"(Clamp|Relu)", by_step["dL/dh1"].pop())
    assert "MeanBackward0" in by_step["dL/dlogits"] and len(by_step["dL/dlogits"]) >= 5  # the loss's ops
    assert demo["loss_nodes"] == steps[0]["new_nodes"] - {steps[0]["node"]}


def test_to_dot_draws_every_node_and_colours_the_walked_ones():
    demo = lab.graph_demo([3, 4, 3], 2, seed=0)
    g = demo["graph"]
    lit = demo["steps"][1]["nodes"]
    dot = graphviz.to_dot(g, demo["values"], lit, {"logits": demo["steps"][0]["value"]},
                       forward_color="#111111", backward_color="#222222")
    assert dot.startswith("digraph") and dot.count("{") == dot.count("}")
    for nid in g["nodes"]:
        assert re.search(rf"^\s*{nid} \[label=<", dot, re.M), nid
    assert len(re.findall(r" -> ", dot)) == len(g["edges"])
    assert dot.count('COLOR="#222222" BGCOLOR') == len(lit)  # one orange border per reached node
    orange_edges = [(s, d) for s, d, _ in g["edges"] if s in lit and d in lit]
    assert dot.count('color="#222222", penwidth=2.5, dir=back') == len(orange_edges) > 0
    assert "dL/dlogits:" in dot and "+0.142" in dot  # the gradient printed under the logits node
    assert "W1 (AccumulateGrad)" in dot and "[+1.258" in dot  # a forward value, printed in full


def test_collapse_merges_the_loss_ops_into_one_box():
    demo = lab.graph_demo([3, 4, 3], 2, seed=0)
    box = lab.collapse(demo["graph"], demo["loss_nodes"], "cross_entropy(logits, y)", "loss_ops")
    assert set(box["nodes"]) == (set(demo["graph"]["nodes"]) - demo["loss_nodes"]) | {"loss_ops"}
    assert box["root"] == "loss_ops" and box["nodes"]["loss_ops"]["name"] == "loss"
    logits = lab.node_named(demo["graph"], "logits")
    assert (logits, "loss_ops", "grad") in box["edges"] and ("d_y", "loss_ops", "data") in box["edges"]
    dot = graphviz.to_dot(box, demo["values"], demo["steps"][0]["nodes"], backward_color="#222222")
    assert "9 autograd nodes:" in dot and "loss = cross_entropy(logits, y)" in dot
    assert dot.count('COLOR="#222222" BGCOLOR') == 2  # the box and the logits node


def test_gradient_check_rows_agree_three_ways():
    demo = lab.graph_demo([3, 4, 3], 2, seed=1)
    rows = lab.gradient_check(demo)
    assert [r["parameter"] for r in rows] == ["W1", "b1", "W2", "b2"]
    for r in rows:
        assert r["shape ok"] and r["allclose (vs autograd)"] and r["allclose (vs finite diff)"]
        assert r["max |diff| vs autograd"] < 1e-12 and r["max |diff| vs finite diff"] < 1e-7
    assert [r["entries finite-diffed"] for r in rows] == [12, 4, 12, 3]


def test_describe_prints_small_tensors_and_summarises_big_ones():
    assert lab.describe(torch.tensor([[1.0, -0.0], [0.25, -2.0]])) == ["[+1.000  +0.000]", "[+0.250  -2.000]"]
    assert lab.describe(torch.tensor([3, 1])) == ["[3  1]"]
    assert lab.describe(torch.tensor(1.5)) == ["1.5000"]
    big = lab.describe(torch.arange(100.0))
    assert len(big) == 3 and "mean +49.500" in big[0] and "max +99.000" in big[1]
    s = lab.stats(torch.tensor([[3.0, 4.0]]))
    assert s["norm"] == 5.0 and s["shape"] == [1, 2] and s["zeros"] == 0


def test_mnist_sized_demo_uses_real_digits(mnist_dir):
    from datasets import mnist_files
    X, Y = mnist_files.load_mnist("test", mnist_dir)
    demo = lab.graph_demo([784, 128, 10], 8, seed=0, X=X, Y=Y)
    x = demo["values"]["x"]
    assert x.shape == (8, 784) and x.min() >= 0 and x.max() <= 1
    assert all(s["max_abs_diff"] < 1e-12 for s in demo["steps"])
    assert demo["steps"][-2]["name"] == "dL/dW1" and demo["steps"][-2]["shape"] == (784, 128)


def parse_script_output(out):
    """{"loss": float, "steps": [(name, norm, diff)], "checks": [(tensor, vs, allclose)], "ops": [...]}"""
    loss = float(re.search(r"^loss = ([\d.]+)$", out, re.M).group(1))
    steps = [(m[0], float(m[1]), float(m[2])) for m in
             re.findall(r"^step \d+: (\S+) .* norm ([\d.]+)  max\|hand - autograd\| (\S+)$", out, re.M)]
    checks = re.findall(r"^check: (\S+)\s+vs (autograd|finite diff)\s+allclose=(\w+)", out, re.M)
    ops = re.findall(r"^graph: (\S+)", out, re.M)
    return {"loss": loss, "steps": steps, "checks": checks, "ops": ops}


@pytest.mark.parametrize("sizes,batch,seed,loss_impl", [((3, 4, 3), 2, 0, "core"), ((5, 2, 4), 6, 9, "torch")])
def test_exported_script_prints_the_demo_numbers(tmp_path, sizes, batch, seed, loss_impl):
    demo = lab.graph_demo(list(sizes), batch, seed, loss_impl=loss_impl)
    from tests.export_utils import run_export
    out = parse_script_output(run_export("ch04_graph", dict(sizes=list(sizes), batch=batch, seed=seed,
                                                            loss_impl=loss_impl), tmp_path))
    assert abs(out["loss"] - demo["loss"]) < 1e-6
    assert [s[0] for s in out["steps"]] == [s["name"] for s in demo["steps"]]
    for (_, norm, diff), step in zip(out["steps"], demo["steps"]):
        assert abs(norm - step["value"].norm().item()) < 1e-6 and diff < 1e-12
    assert len(out["checks"]) == 8 and all(c[2] == "True" for c in out["checks"])
    assert sorted(out["ops"]) == sorted(n["op"] for n in demo["graph"]["nodes"].values() if n["kind"] != "data")


def test_page_tables_and_words_follow_the_walk():
    demo = lab.graph_demo([3, 4, 3], 2, 0)
    steps = demo["steps"]
    assert lab.walk_state(steps, 0) == (set(), set(), {})
    lit, current, grads = lab.walk_state(steps, 2)
    assert lit == steps[1]["nodes"] and current == steps[1]["new_nodes"] and list(grads) == ["logits", "W2"]
    assert lab.step_title(steps, 0) == "Forward pass done: no gradient yet"
    assert lab.step_title(steps, 1) == f"Step 1: dL/dlogits = {steps[0]['formula']}"
    assert "AccumulateGrad (W2)" in lab.nodes_reached(demo["graph"], steps[1])
    rows = lab.gradient_rows(steps, 3)
    assert [r["gradient"] for r in rows] == ["dL/dlogits", "dL/dW2", "dL/db2"]
    assert rows[1]["norm"] == steps[1]["value"].norm().item() and rows[1]["shape"] == "[4, 3]"
    stats = {r[""]: r for r in lab.stats_rows(steps[0]["value"], steps[0]["autograd"])}
    assert stats["shape"]["by hand"] == stats["shape"]["autograd"] == "[2, 3]"
    assert {r["kind"] for r in lab.node_rows(demo["graph"])} == {"op", "leaf", "data"}
    n_off, n_z1, largest = lab.relu_cut(demo)
    assert n_z1 == 8 and n_off == int((demo["values"]["z1"] <= 0).sum()) and largest == 0.0   # ReLU's slope 0
    assert lab.FIRST_OPTIONS[lab.first_answer(steps)] == "dL/dlogits"
    shown, boxes = lab.shown_graph(demo, every_op=False)
    assert boxes is None and "loss_ops" in shown["nodes"]
    assert lab.shown_graph(demo, every_op=True) == (demo["graph"], {"cross-entropy loss": demo["loss_nodes"]})
