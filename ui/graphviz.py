"""The autograd graph (labs.ch04_graph.autograd_graph) drawn as Graphviz DOT, with HTML-like node labels.

Presentation only: the graph itself, its values and its order come from labs.ch04_graph; the colours are
ui.COLORS (forward blue, backward orange, neutral grey).
"""
import html

from labs.ch04_graph import _shape_text, describe, node_order
from ui import COLORS

NEUTRAL = COLORS["neutral"]   # edges, data nodes' border, cluster boxes
LIT_FILL, DATA_FILL, OP_FILL, GROUP_TEXT = "#FCE9C8", "#EEF2F7", "#FFFFFF", "#555555"


def _lines_html(lines, color):
    return "".join(f'<TR><TD ALIGN="LEFT"><FONT COLOR="{color}" FACE="monospace" POINT-SIZE="10">'
                   f"{html.escape(line)}</FONT></TD></TR>" for line in lines)


def to_dot(graph, values=None, highlight=(), grads=None, clusters=None, max_numel=12,
           forward_color=COLORS["forward"], backward_color=COLORS["backward"], rankdir="TB"):
    """The graph as a Graphviz DOT string (render with st.graphviz_chart or the `dot` program).

    values: {name: tensor} forward values, printed in forward_color under the node that made them.
    highlight: node ids the backward pass has reached: filled in backward_color, and the edges
               between two highlighted nodes drawn in backward_color with the arrow reversed.
    grads: {name: tensor} gradients already computed, printed in backward_color.
    clusters: {title: set of node ids} drawn inside a dashed box (e.g. the ops of the loss).
    """
    values, grads, highlight = values or {}, grads or {}, set(highlight)
    out = [f'digraph G {{ rankdir={rankdir}; bgcolor="transparent"; nodesep=0.25; ranksep=0.35;',
           f'  node [shape=plain, fontname="Helvetica"]; edge [color="{NEUTRAL}", arrowsize=0.7];']
    in_cluster = {nid for ids in (clusters or {}).values() for nid in ids}

    def node_line(nid):
        node = graph["nodes"][nid]
        name, lit = node["name"], nid in highlight or bool(highlight & set(node.get("members", ())))
        fill = LIT_FILL if lit else (DATA_FILL if node["kind"] == "data" else OP_FILL)
        border = backward_color if lit else (forward_color if node["kind"] != "data" else NEUTRAL)
        title = name if node["kind"] == "data" else f"{name} = {node['title']}" if node["kind"] == "group" else (
            f"{name} ({node['op']})" if name else node["op"])
        rows = (f'<TR><TD ALIGN="LEFT"><B>{html.escape(title)}</B></TD></TR>'
                f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="10">{_shape_text(node["shape"])}</FONT></TD></TR>')
        if node["kind"] == "group":  # several autograd nodes drawn as one box: list their ops
            rows += _lines_html(node["ops"], GROUP_TEXT)
        if name in values:
            rows += _lines_html(describe(values[name], max_numel), forward_color)
        if name in grads and lit:
            rows += _lines_html([f"dL/d{name}:"] + describe(grads[name], max_numel), backward_color)
        width = 3 if lit else 1
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
