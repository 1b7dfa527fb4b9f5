"""What the server does once, before the first page runs: import every library a page needs, fully.

Why: Streamlit runs app.py (and the page) in one thread per session, and the heavy libraries are imported
lazily, on first use: constructing the first torch.optim optimizer pulls in torch._dynamo (and sympy with
it), pyarrow imports pandas on its first table, PIL loads its file plugins on the first save, Plotly builds
each trace and layout part from its own module, Streamlit imports pyarrow for the first st.dataframe, and
each page imports its own ui helpers (ui.*_figures) on its first run. When 20 students open a freshly
started server at the same instant, 20 threads import the same packages at once. Python's import lock is
per module, and when two threads each hold a module the other one needs, importlib breaks the "deadlock"
by handing one of them the other module *partially initialised*: the page then dies with "partially
initialized module 'pandas' has no attribute 'Series'" (measured: 5-8 of 20 sessions in each of 7 cold
bursts, 48 in all; bench/classroom.py --cold-burst).

Fix: one process-wide lock around one function that imports all of it (and makes each lazy first use once).
The first session does the work while the others wait on the lock; later reruns find the flag set and pay
nothing. The lock lives here, in an imported module, because app.py itself is executed afresh on every rerun.

A second race of the first minute: CPython 3.11 counts the AST constructor's recursion depth in one counter per
interpreter, not per thread (CPython gh-106905). Two threads building syntax trees at once (a garbage
collection in the middle lets the other thread run) make one fail with "SystemError: AST constructor recursion
depth mismatch": seen once in 100 cold-burst sessions, when Streamlit compiled a page (magic, ast.parse)
while another session's formula (labs.t3_binary_activation, simpleeval) or inspect.getsource of a class was parsed.
So the warm-up also compiles every page into Streamlit's script cache (under the same lock as the imports,
and again after Streamlit has emptied that cache), and makes ast.parse take one process-wide lock: it is
called by code we do not own (inspect, simpleeval, Streamlit).
"""
import ast
import gc
import importlib
import io
import pkgutil
import threading
from pathlib import Path

_LOCK = threading.Lock()
_done = False

ROOT = Path(__file__).resolve().parent.parent
_AST_LOCK = threading.RLock()  # re-entrant: a finalizer run by the GC during a parse may parse too
_ast_parse = ast.parse


def _ast_parse_one_at_a_time(*args, **kwargs):
    """ast.parse, one thread at a time (see the module's docstring)."""
    with _AST_LOCK:
        return _ast_parse(*args, **kwargs)


def serialise_ast_parse():
    """Install the locked ast.parse for the whole process (idempotent)."""
    ast.parse = _ast_parse_one_at_a_time


def _compile_pages():
    """Put every page's bytecode in Streamlit's script cache now (outside a session: nothing to do).

    Streamlit empties that cache whenever the last session disconnects, so this runs on every rerun: a dict
    lookup per page while the cache is full, a compile of each page by the first session after a quiet spell."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    from ui import registry
    manager = getattr(get_script_run_ctx(), "pages_manager", None)
    if manager is None or not hasattr(manager, "get_page_script_byte_code"):
        return
    for page in registry.existing_pages():
        manager.get_page_script_byte_code(str(ROOT / page["path"]))


# Imported by name; each one's own imports come with it. Pages and Streamlit's elements import these
# lazily (on a page's first run, in a figure's first to_json, in the first st.dataframe / st.image ...).
LIBRARIES = [
    "numpy", "pandas", "pyarrow", "pyarrow.pandas_compat",
    "PIL.Image", "PIL.ImageDraw", "PIL.PngImagePlugin",
    "plotly.graph_objects", "plotly.express", "plotly.subplots", "plotly.io", "plotly.io._json",
    "sympy", "simpleeval", "streamlit_drawable_canvas",
    "torch", "torch.nn", "torch.nn.functional", "torch.optim", "torch.utils.data",
    "sqlalchemy", "sqlalchemy.dialects.sqlite", "segno", "ui.classmode",   # class mode (app.py, every page)
]


def _first_uses():
    """The lazy imports that only happen when a thing is first used, made once here."""
    import numpy as np
    import plotly.express as px
    import plotly.graph_objects as go
    import plotly.io as pio
    import torch
    from PIL import Image
    from plotly.subplots import make_subplots

    from core import network
    from labs import t3_binary_activation

    # The first optimizer imports torch._dynamo (and sympy with it), ~800 modules: Optimizer.__init__ calls
    # add_param_group, which torch wraps in torch._disable_dynamo, and step() imports it again for a graph break.
    w = torch.nn.Parameter(torch.ones(2))
    for opt in (torch.optim.SGD([w], lr=0.1, momentum=0.9), torch.optim.Adam([w], lr=0.1)):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    network.state_dict_bytes({"w": w.detach()})  # torch.save's first call imports its serialization config
    # Plotly builds each trace type, layout part and colorbar from its own module on first use, and a
    # figure's first serialisation imports plotly.io's JSON engine, narwhals and pandas: one figure with
    # every kind of trace and layout part the pages draw.
    fig = make_subplots(rows=1, cols=2, subplot_titles=("a", "b"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines+markers", line=dict(dash="dot"),
                             marker=dict(color=[0, 1], colorscale="Viridis", colorbar=dict(title="c"))), 1, 1)
    for trace in (go.Heatmap(z=[[0, 1]], colorbar=dict(title="h")),
                  go.Contour(z=[[0, 1], [1, 0]], contours=dict(showlabels=True), line=dict(width=1),
                             colorbar=dict(title="c")),
                  go.Bar(x=[0], y=[1], marker=dict(line=dict(width=1))),
                  go.Histogram(x=[0, 1], marker=dict(color="red")),
                  go.Image(z=[[[0, 0, 0]]])):
        fig.add_trace(trace, 1, 2)
    fig.update_layout(title="w", annotations=[dict(text="a", font=dict(size=10))],
                      updatemenus=[dict(buttons=[dict(label="p", method="animate", args=[None])])],
                      sliders=[dict(steps=[dict(label="0", method="animate", args=[["0"]])],
                                    currentvalue=dict(prefix="s"))],
                      coloraxis=dict(colorbar=dict(title="c")), shapes=[dict(type="line", line=dict(width=1))])
    fig.update_xaxes(title="x", minor=dict(showgrid=False, ticks=""))     # the pages' log axes set `minor`
    fig.update_yaxes(title="y", minor=dict(showgrid=False, ticks=""))
    fig.frames = [go.Frame(name="0", data=[go.Scatter(x=[0], y=[0])])]
    pio.to_json(fig, validate=False)  # what st.plotly_chart calls
    pio.to_json(px.imshow(np.zeros((2, 2))), validate=False)
    # st.dataframe's first table: pandas -> Arrow (page 7's curves build Arrow tables: pyarrow imports pandas then)
    import pandas as pd
    import pyarrow as pa
    pa.Table.from_pandas(pd.DataFrame({"a": [1.0], "b": ["x"]}))
    # PIL registers its file formats (Png, Jpeg, Gif, ...) on the first save or open.
    Image.new("RGB", (1, 1)).save(io.BytesIO(), format="PNG")
    Image.init()
    # sympy imports more of itself (combinatorics, sets) the first time a formula is differentiated.
    t3_binary_activation.compare_derivative(t3_binary_activation.activation_from_formula("x * sigmoid(x)"), n=3)


def import_libraries():
    """Import every library the pages use, once per server process; sessions arriving meanwhile wait.
    Then make sure every page is compiled (see _compile_pages)."""
    global _done
    with _LOCK:
        if _done:  # every rerun after the first
            _compile_pages()
            return
        serialise_ast_parse()
        for name in LIBRARIES:
            importlib.import_module(name)
        import core  # every core, labs, datasets and ui module: pages import them on their first run
        import datasets
        import exports  # noqa: F401 - exports.fill; the export scripts themselves are read as text, never imported
        import labs
        import ui
        for package in (core, labs, datasets, ui):
            for module in pkgutil.iter_modules(package.__path__):
                importlib.import_module(f"{package.__name__}.{module.name}")
        _first_uses()
        _compile_pages()
        _freeze_the_heap()
        _done = True


def _freeze_the_heap():
    """Move every object alive now (the imported libraries: millions of objects) out of the garbage collector's
    reach. They live as long as the process, yet each of Python's full collections walked all of them again:
    0.2-0.3 s of server time on whichever rerun set one off (bench/pages.py saw such pauses on pages 1, 5, 7
    and t0). Garbage made later is collected as before."""
    gc.collect()  # first free what the warm-up itself left behind
    gc.freeze()
