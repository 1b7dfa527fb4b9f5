"""The autograd graph (labs.ch04_graph.autograd_graph) drawn as Graphviz DOT, with HTML-like node labels.

Presentation only: the graph itself, its values and its order come from labs.ch04_graph; the colours are
ui.COLORS (forward blue, backward orange, neutral grey).
"""
import html

from labs.ch04_graph import _shape_text, describe, node_order
from ui import COLORS

NEUTRAL = COLORS["neutral"]   # edges, data nodes' border, cluster boxes
LIT_FILL, DATA_FILL, OP_FILL, GROUP_TEXT = "#FCE9C8", "#EEF2F7", "#FFFFFF", "#555555"
CURRENT_FILL = "#F6C26B"   # the node(s) the latest backward step reached: a stronger orange than LIT_FILL
# Compact drawing (compact=True, the page's left-to-right graph): no text below MIN_PT points, so that the
# graph scaled to a 1280-wide projector's content width keeps its text >= 12 px (tests measure the ratio).
MIN_PT = 12


def _lines_html(lines, color, size=10, face="monospace"):
    return "".join(f'<TR><TD ALIGN="LEFT"><FONT COLOR="{color}" FACE="{face}" POINT-SIZE="{size}">'
                   f"{html.escape(line)}</FONT></TD></TR>" for line in lines)


def _norm_text(t):
    """One short line for a tensor in the compact graph: its value when it is one number, else its norm."""
    t = t.detach().double()
    return f"{t.item():.4f}" if t.numel() == 1 else f"norm {t.norm().item():.3f}"


def _compact_rows(node, title_name, values, grads, lit, forward_color, backward_color):
    """Name (bold), op, shape, and one line for the value and one for the gradient: short lines, >= MIN_PT."""
    name = node["name"]
    rows = f'<TR><TD ALIGN="LEFT"><B>{html.escape(title_name)}</B></TD></TR>'
    if node["kind"] == "group":
        ops = [op for line in node["ops"][1:] for op in line.split(", ")]
        sub = [node["title"], node["ops"][0]] + [", ".join(ops[i:i + 2]) for i in range(0, len(ops), 2)]
        rows += _lines_html(sub, GROUP_TEXT, MIN_PT, "Helvetica")
    elif node["kind"] != "data":
        rows += _lines_html([node["op"]], GROUP_TEXT, MIN_PT, "Helvetica")
    rows += _lines_html([_shape_text(node["shape"])], GROUP_TEXT, MIN_PT, "Helvetica")
    if name in values and values[name].is_floating_point():
        rows += _lines_html([_norm_text(values[name])], forward_color, MIN_PT)
    if name in grads and lit:
        rows += _lines_html([f"grad {_norm_text(grads[name])}"], backward_color, MIN_PT)
    return rows


def to_dot(graph, values=None, highlight=(), grads=None, clusters=None, max_numel=12,
           forward_color=COLORS["forward"], backward_color=COLORS["backward"], rankdir="TB",
           current=(), compact=False):
    """The graph as a Graphviz DOT string (render with st.graphviz_chart or the `dot` program).

    values: {name: tensor} forward values, printed in forward_color under the node that made them.
    highlight: node ids the backward pass has reached: filled in backward_color, and the edges
               between two highlighted nodes drawn in backward_color with the arrow reversed.
    grads: {name: tensor} gradients already computed, printed in backward_color.
    clusters: {title: set of node ids} drawn inside a dashed box (e.g. the ops of the loss).
    current: node ids the latest backward step reached: filled CURRENT_FILL with a thicker border.
    compact: short nodes for a left-to-right graph on a projector: name, op and shape, the value and the
             gradient as one number each (the norm of a tensor), no text under MIN_PT points.
    """
    values, grads, highlight, current = values or {}, grads or {}, set(highlight), set(current)
    font = f", fontsize={MIN_PT + 2}" if compact else ""
    out = [f'digraph G {{ rankdir={rankdir}; bgcolor="transparent"; nodesep=0.25; ranksep={0.2 if compact else 0.35};',
           f'  node [shape=plain, fontname="Helvetica"{font}]; edge [color="{NEUTRAL}", arrowsize=0.7];']
    in_cluster = {nid for ids in (clusters or {}).values() for nid in ids}

    def node_line(nid):
        node = graph["nodes"][nid]
        name, lit = node["name"], nid in highlight or bool(highlight & set(node.get("members", ())))
        now = nid in current or bool(current & set(node.get("members", ())))
        fill = CURRENT_FILL if now else LIT_FILL if lit else (DATA_FILL if node["kind"] == "data" else OP_FILL)
        border = backward_color if lit else (forward_color if node["kind"] != "data" else NEUTRAL)
        title = name if node["kind"] == "data" else f"{name} = {node['title']}" if node["kind"] == "group" else (
            f"{name} ({node['op']})" if name else node["op"])
        if compact:
            short = name if name else node["op"] if node["kind"] == "op" else title
            rows = _compact_rows(node, short, values, grads, lit, forward_color, backward_color)
            if not name and node["kind"] == "op":   # an unnamed op: its op is already the title
                rows = rows.replace(_lines_html([node["op"]], GROUP_TEXT, MIN_PT, "Helvetica"), "", 1)
        else:
            rows = (f'<TR><TD ALIGN="LEFT"><B>{html.escape(title)}</B></TD></TR>'
                    f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="10">{_shape_text(node["shape"])}</FONT></TD></TR>')
            if node["kind"] == "group":  # several autograd nodes drawn as one box: list their ops
                rows += _lines_html(node["ops"], GROUP_TEXT)
            if name in values:
                rows += _lines_html(describe(values[name], max_numel), forward_color)
            if name in grads and lit:
                rows += _lines_html([f"dL/d{name}:"] + describe(grads[name], max_numel), backward_color)
        width = 5 if now else 3 if lit else 1
        return (f'  {nid} [label=<<TABLE BORDER="{width}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" '
                f'COLOR="{border}" BGCOLOR="{fill}" STYLE="ROUNDED">{rows}</TABLE>>];')

    for i, (title, ids) in enumerate((clusters or {}).items()):
        out.append(f'  subgraph cluster_{i} {{ label="{html.escape(title)}"; style=dashed; color="{NEUTRAL}"; '
                   f'fontname="Helvetica";')
        out += ["  " + node_line(nid) for nid in sorted(ids, key=node_order) if nid in graph["nodes"]]
        out.append("  }")
    out += [node_line(nid) for nid in sorted(graph["nodes"], key=node_order) if nid not in in_cluster]
    lit_ids = {nid for nid, node in graph["nodes"].items()
               if nid in highlight or highlight & set(node.get("members", ()))}
    for src, dst, kind in graph["edges"]:
        if src in lit_ids and dst in lit_ids:
            out.append(f'  {src} -> {dst} [color="{backward_color}", penwidth=2.5, dir=back];')
        elif kind == "data":
            out.append(f"  {src} -> {dst} [style=dashed];")
        else:
            out.append(f'  {src} -> {dst} [color="{forward_color}"];')
    out.append("}")
    return "\n".join(out)
