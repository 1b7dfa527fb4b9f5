"""The computation graph that autograd records, read back as plain data and drawn with Graphviz.

When a tensor that requires gradients takes part in a computation, torch remembers *how* each new
tensor was made: every result gets a `grad_fn`, a node named after the operation's backward
(MmBackward0 for a matrix product, AddBackward0 for +, ...). Each node points at the nodes of
its inputs through `next_functions`; a weight we created ourselves ends in an `AccumulateGrad`
node, the place where `.grad` is written. Walking from `loss.grad_fn` through `next_functions`
therefore visits the whole graph that `loss.backward()` will walk.

Here that walk is written out (`autograd_graph`), the result turned into a DOT string for
Graphviz (ui.graphviz.to_dot), and each step of the hand-written backward pass (core.backward) is matched
with the graph nodes it passes through (`graph_demo`).
"""

import torch
import torch.nn.functional as F

from core import backward as hand_backward
from core import gradcheck, losses, network
from core.data import as_float

# --------------------------------------------------------------- reading the graph


def _saved_tensors(node):
    """Tensors an autograd node kept for its backward (x for x @ W1, the labels for the loss, ...)."""
    found = []
    for attr in dir(node):
        if not attr.startswith("_saved_"):
            continue
        try:
            value = getattr(node, attr)
        except RuntimeError:  # already freed by an earlier backward()
            continue
        items = value if isinstance(value, (tuple, list)) else [value]
        found += [t for t in items if isinstance(t, torch.Tensor)]
    return found


def named_data_saved_by(fn, named):
    """(name, tensor) of the named data tensors (no gradient) an autograd node saved for its backward."""
    for saved in _saved_tensors(fn):
        for data_name, t in named.items():
            if t.requires_grad or t.grad_fn is not None or t.numel() == 0:
                continue
            if saved.data_ptr() == t.data_ptr() and tuple(saved.shape) == tuple(t.shape):
                yield data_name, t


def autograd_graph(loss, named_tensors):
    """Walk loss.grad_fn -> next_functions and return the graph as plain data.

    named_tensors: {name: tensor} (or (name, tensor) pairs) of the tensors you want to recognise:
      - weights (leaves with requires_grad)  -> their AccumulateGrad node gets the name (W1, b1, ...)
      - intermediate results (z1, h1, logits, loss) -> the node whose grad_fn made them
      - data without gradients (x, y)         -> extra "data" nodes, found among the tensors a node
                                                 saved for its backward
    Returns {"nodes": {id: {"id", "op", "kind", "name", "shape"}}, "edges": [(src, dst, kind)],
             "root": id of loss.grad_fn}.
    Edges point the way the forward pass ran (input -> operation); backward walks them in reverse.
    kind is "op" (an operation), "leaf" (AccumulateGrad of a weight) or "data".
    """
    named = dict(named_tensors)
    if loss.grad_fn is None:
        raise ValueError("loss has no grad_fn: no tensor in its computation requires gradients")
    ids = {}  # autograd node -> "n0", "n1", ... in the order the walk meets them
    nodes, edges = {}, []

    def name_of(fn):
        if type(fn).__name__ == "AccumulateGrad":
            return next((n for n, t in named.items() if t is fn.variable), None)
        return next((n for n, t in named.items() if t.grad_fn is fn), None)

    queue = [loss.grad_fn]
    ids[loss.grad_fn] = "n0"
    while queue:  # breadth-first, from the loss back towards the weights
        fn = queue.pop(0)
        is_leaf = type(fn).__name__ == "AccumulateGrad"
        shape = tuple(fn.variable.shape) if is_leaf else tuple(fn._input_metadata[0].shape)
        nid = ids[fn]
        nodes[nid] = {"id": nid, "op": type(fn).__name__, "kind": "leaf" if is_leaf else "op",
                      "name": name_of(fn), "shape": shape}
        for parent, _ in fn.next_functions:
            if parent is None:  # an input that needs no gradient (x, a constant)
                continue
            if parent not in ids:
                ids[parent] = f"n{len(ids)}"
                queue.append(parent)
            edges.append((ids[parent], nid, "grad"))
        for data_name, t in named_data_saved_by(fn, named):
            did = f"d_{data_name}"
            nodes.setdefault(did, {"id": did, "op": "data", "kind": "data", "name": data_name,
                                   "shape": tuple(t.shape)})
            if (did, nid, "data") not in edges:
                edges.append((did, nid, "data"))
    return {"nodes": nodes, "edges": edges, "root": "n0"}


def node_named(graph, name):
    """Id of the node that carries `name` (e.g. "W1", "logits")."""
    for nid, node in graph["nodes"].items():
        if node["name"] == name:
            return nid
    raise KeyError(f"no node named {name!r} in the graph")


def downstream(graph, start):
    """Every node reachable from `start` along forward edges, `start` included.

    These are the nodes a gradient for `start` has to pass through on its way back from the loss.
    """
    reached, todo = {start}, [start]
    while todo:
        nid = todo.pop()
        for src, dst, _ in graph["edges"]:
            if src == nid and dst not in reached:
                reached.add(dst)
                todo.append(dst)
    return reached


def op_counts(graph):
    """{op name: how many nodes} for the operation and leaf nodes."""
    counts = {}
    for node in graph["nodes"].values():
        if node["kind"] != "data":
            counts[node["op"]] = counts.get(node["op"], 0) + 1
    return counts


# --------------------------------------------------------------- printing values

def describe(t, max_numel=12, digits=3):
    """Lines of text for a tensor: every value when it is small, a summary when it is big."""
    t = t.detach()
    fmt = f"+.{digits}f" if t.is_floating_point() else "d"
    t = t.to(torch.float64) if t.is_floating_point() else t
    if t.dim() == 0:
        return [f"{t.item():.{digits + 1}f}" if t.is_floating_point() else str(t.item())]
    if t.numel() <= max_numel:
        rows = t.reshape(-1, t.shape[-1]) if t.dim() > 1 else t.reshape(1, -1)
        # + 0 turns -0.0 into 0.0
        return ["[" + "  ".join(f"{v + 0:{fmt}}" for v in row.tolist()) + "]" for row in rows]
    t = t.to(torch.float64)
    return [f"mean {t.mean().item():+.{digits}f}, std {t.std().item():.{digits}f}",
            f"min {t.min().item():+.{digits}f}, max {t.max().item():+.{digits}f}",
            f"norm {t.norm().item():.{digits}f}"]


def stats(t):
    """Summary numbers of a tensor (for tensors too big to print)."""
    t = t.detach().to(torch.float64)
    return {"shape": list(t.shape), "numel": t.numel(), "mean": t.mean().item(),
            "std": t.std().item() if t.numel() > 1 else 0.0, "min": t.min().item(),
            "max": t.max().item(), "norm": t.norm().item(), "zeros": int((t == 0).sum())}


# --------------------------------------------------------------- drawing (ui/graphviz.py draws the graph)

def _shape_text(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]" if shape else "scalar"


def node_order(nid):
    """Sort key: data nodes first, then n0, n1, ... numerically, then groups."""
    if nid.startswith("d_"):
        return (0, nid, 0)
    if nid.startswith("n"):
        return (1, "", int(nid[1:]))
    return (2, nid, 0)


def collapse(graph, ids, title, gid="group"):
    """A copy of the graph with the nodes `ids` merged into one box called `title`.

    The box lists the ops it stands for (kind "group", "members" = the merged ids); edges into
    and out of the set are redirected to it, edges inside it disappear. Handy for the ~9 small
    ops of a hand-written cross-entropy, which would otherwise dominate the picture.
    """
    ids = set(ids)
    named = [graph["nodes"][n] for n in sorted(ids, key=node_order) if graph["nodes"][n]["name"]]
    nodes = {nid: node for nid, node in graph["nodes"].items() if nid not in ids}
    ops = [graph["nodes"][n]["op"] for n in sorted(ids, key=node_order)]
    nodes[gid] = {"id": gid, "op": "group", "kind": "group", "name": named[0]["name"] if named else title,
                  "title": title, "shape": named[0]["shape"] if named else (), "members": sorted(ids),
                  "ops": [f"{len(ops)} autograd nodes:"] + [", ".join(ops[i:i + 3]) for i in range(0, len(ops), 3)]}
    edges = []
    for src, dst, kind in graph["edges"]:
        src, dst = (gid if src in ids else src), (gid if dst in ids else dst)
        if src != dst and (src, dst, kind) not in edges:
            edges.append((src, dst, kind))
    root = gid if graph["root"] in ids else graph["root"]
    return {"nodes": nodes, "edges": edges, "root": root}


# --------------------------------------------------------------- the page's whole experiment

# What each kind of gradient means, for the formula table.
MEANING = {
    "logits": "how each score should move to lower the loss",
    "W": "input (or hidden activation) times the error it fed: the weight's share of the blame",
    "b": "the error summed over the batch (a bias sees input 1)",
    "h": "the error sent back through the outgoing weights to each hidden unit",
    "z": "the same error, switched off where ReLU was flat (z <= 0)",
}


def demo_inputs(sizes, batch, seed, X=None, Y=None):
    """A batch for the demo: B rows of (X, Y) picked with `seed`, or random data when X is None.

    Random data: x ~ N(0, 1) [B, inputs], labels uniform in 0..classes-1 [B].
    """
    gen = torch.Generator().manual_seed(seed + 1)
    if X is not None:
        idx = torch.randperm(len(X), generator=gen)[:batch]
        return as_float(X[idx]).to(torch.float64), Y[idx]   # uint8 pixels -> float32 in [0, 1] -> float64
    x = torch.randn(batch, sizes[0], generator=gen, dtype=torch.float64)  # [B, in]
    y = torch.randint(0, sizes[-1], (batch,), generator=gen)  # [B]
    return x, y


def tracked_forward(params, x, y, loss_impl="core"):
    """Forward pass on weights that require gradients; returns (loss, named tensors).

    loss_impl "core": our own core.losses.cross_entropy (every op shows up in the graph);
    "torch": F.cross_entropy (autograd records it as two fused nodes).
    """
    leaves = [{k: t.detach().clone().requires_grad_(True) for k, t in layer.items()} for layer in params]
    logits, cache = network.forward(leaves, x)  # [B, C]
    loss = losses.cross_entropy(logits, y) if loss_impl == "core" else F.cross_entropy(logits, y)
    named = {"x": x, "y": y, **dict(network.named_tensors(leaves))}
    for n, layer in enumerate(cache["layers"][:-1], start=1):
        named[f"z{n}"], named[f"h{n}"] = layer["z"], layer["a"]
    named["logits"], named["loss"] = logits, loss
    return loss, named, cache


def graph_demo(sizes, batch, seed, X=None, Y=None, loss_impl="core"):
    """Build the real autograd graph of one forward pass and line the hand-written backward up with it.

    Returns plain data (no autograd objects, so it can be cached):
      graph   autograd_graph(...) of the loss
      values  {name: forward value} for x, y, W1, b1, ..., z1, h1, logits, loss
      steps   core.backward.backward_steps in order, each with "target" (the tensor name, e.g. "W2"),
              "node" (its graph node), "nodes" (every node reached once this step is done),
              "new_nodes" (nodes this step adds), "autograd" (torch's gradient for the same tensor)
              and "max_abs_diff" (|hand - autograd|, largest entry)
      loss_nodes  the nodes between the logits and the loss (drawn as one box)
    """
    params = network.init_mlp(sizes, seed=seed, dtype=torch.float64)
    x, y = demo_inputs(sizes, batch, seed, X, Y)
    loss, named, cache = tracked_forward(params, x, y, loss_impl)
    graph = autograd_graph(loss, named)  # read the graph before backward() frees what it saved
    for name, t in named.items():
        if t.grad_fn is not None and name != "loss":
            t.retain_grad()  # keep dL/dz1, dL/dh1, dL/dlogits too, not only the weights' grads
    loss.backward()
    plain = {n: t.detach() for n, t in named.items()}
    hand_params = [{"W": named[f"W{n}"].detach(), "b": named[f"b{n}"].detach()} for n in range(1, len(sizes))]
    detached_cache = {"activation": cache["activation"],
                      "layers": [{k: t.detach() for k, t in layer.items()} for layer in cache["layers"]]}
    steps, reached = [], set()
    for step in hand_backward.backward_steps(hand_params, detached_cache, y):
        target = step["name"].split("/d", 1)[1]  # "dL/dW2" -> "W2"
        node = node_named(graph, target)
        path = downstream(graph, node)  # from the loss back to this tensor
        new = path - reached
        reached |= path
        auto = named[target].grad
        steps.append({**step, "target": target, "node": node, "nodes": set(reached), "new_nodes": new,
                      "autograd": auto.detach().clone(),
                      "max_abs_diff": (step["value"] - auto).abs().max().item()})
    logits_node = node_named(graph, "logits")
    loss_nodes = downstream(graph, logits_node) - {logits_node}
    return {"graph": graph, "values": plain, "steps": steps, "loss": loss.item(), "params": hand_params,
            "loss_nodes": loss_nodes, "sizes": list(sizes), "batch": batch, "loss_impl": loss_impl}


def formula_table(steps):
    """One row per gradient of the backward pass: formula, shape for these sizes, and what it means."""
    rows = []
    for step in steps:
        kind = "logits" if step["target"] == "logits" else step["kind"]
        rows.append({"gradient": step["name"], "formula": step["formula"],
                     "shape": _shape_text(step["shape"]), "meaning": MEANING[kind]})
    return rows


def gradient_check(demo, max_entries=None, seed=0):
    """Hand-derived gradients vs autograd vs finite differences (core.gradcheck), one row per weight.

    Everything in float64. max_entries limits the finite-difference check to that many entries per
    tensor (picked at random with `seed`): each entry costs two forward passes.
    """
    x, y = demo["values"]["x"], demo["values"]["y"]
    rows = gradcheck.compare_grads(demo["params"], x, y, dtype=torch.float64, max_entries=max_entries,
                                   seed=seed)
    table = {}
    for row in rows:
        entry = table.setdefault(row["tensor"], {"parameter": row["tensor"], "shape ok": row["shape_ok"]})
        entry["shape ok"] = entry["shape ok"] and row["shape_ok"]
        if row["vs"] == "autograd":
            entry.update({"exact (vs autograd)": row["exact"], "allclose (vs autograd)": row["allclose"],
                          "max |diff| vs autograd": row["max_abs_diff"]})
        else:
            entry.update({"allclose (vs finite diff)": row["allclose"],
                          "max |diff| vs finite diff": row["max_abs_diff"],
                          "entries finite-diffed": row["entries_checked"]})
    return list(table.values())


# --------------------------------------------------------------- what the page shows, in tables and words
def shown_graph(demo, every_op):
    """(graph to draw, dashed boxes): every autograd node with the loss's ops in one dashed box, or the loss's
    ops merged into a single node (`collapse`)."""
    if every_op:
        return demo["graph"], {"cross-entropy loss": demo["loss_nodes"]}
    return collapse(demo["graph"], demo["loss_nodes"], "cross_entropy(logits, y)", "loss_ops"), None


def walk_state(steps, done):
    """After `done` backward steps: (nodes reached, nodes the latest step reached, {tensor name: its gradient})."""
    if not done:
        return set(), set(), {}
    return steps[done - 1]["nodes"], steps[done - 1]["new_nodes"], {s["target"]: s["value"] for s in steps[:done]}


def nodes_reached(graph, step):
    """The graph nodes a backward step reached, in words: 'op (name), op, ...'."""
    nodes = graph["nodes"]
    return ", ".join(nodes[n]["op"] + (f" ({nodes[n]['name']})" if nodes[n]["name"] else "")
                     for n in sorted(step["new_nodes"], key=node_order))


def stats_rows(hand, auto):
    """Summary numbers of the hand-derived and the autograd gradient side by side, one row per number."""
    auto_stats = stats(auto)
    return [{"": k, "by hand": str(v), "autograd": str(auto_stats[k])} for k, v in stats(hand).items()]


def gradient_rows(steps, done):
    """One row per backward step done so far: the gradient, its formula and shape, its norm and |hand - autograd|."""
    return [{"step": i + 1, "gradient": s["name"], "formula": s["formula"], "shape": str(list(s["shape"])),
             "norm": s["value"].norm().item(), "max |hand - autograd|": s["max_abs_diff"]}
            for i, s in enumerate(steps[:done])]


def node_rows(graph):
    """One row per node of the autograd graph: id, op, name, kind and shape."""
    return [{"id": n["id"], "op": n["op"], "name": n["name"] or "", "kind": n["kind"], "shape": str(list(n["shape"]))}
            for n in graph["nodes"].values()]


def relu_cut(demo):
    """(entries of z1 <= 0, entries of z1, largest |dL/dz1| among the cut ones): ReLU's slope there is 0."""
    dz1 = next(s["value"] for s in demo["steps"] if s["target"] == "z1")  # [B, hidden]
    off = demo["values"]["z1"] <= 0  # [B, hidden]
    n_off = int(off.sum())
    return n_off, off.numel(), float(dz1[off].abs().max()) if n_off else 0.0


FIRST_OPTIONS = ["dL/dW1", "dL/dlogits", "dL/db1", "All of them at once"]


def first_answer(steps):
    """Which of FIRST_OPTIONS the backward pass computes first (the last option if none of the others)."""
    name = steps[0]["name"]
    return FIRST_OPTIONS.index(name) if name in FIRST_OPTIONS[:3] else 3


def step_title(steps, done):
    """The heading over the graph after `done` backward steps: the latest gradient and its formula."""
    if not done:
        return "Forward pass done: no gradient yet"
    return f"Step {done}: {steps[done - 1]['name']} = {steps[done - 1]['formula']}"
