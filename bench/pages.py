"""Time and memory per page.

    python bench/pages.py                       # every page in ui/registry.py
    python bench/pages.py --changes 3 --no-browser --page ch05

For every page: the server time of every widget change to a FRESH value (AppTest, a new session per page
with st.cache_data cleared). Each widget on the page (sliders, select sliders, selectboxes, radios,
segmented controls, toggles, checkboxes, number and text inputs, buttons) is moved `--changes` times to
values drawn at random (fixed seed) from its range or options, never one it held before, and put back
to its default afterwards (that rerun is not counted). A student moving a slider to a new value makes
the page recompute: these are the cache misses the page's caches cannot hide. Per page: the median and
the max over all those changes of the process's CPU time during the rerun (`time.process_time`: the
script thread's work plus AppTest's own parsing, less sensitive to other processes than wall time), and
the wall time. Then the process's memory (RSS) after visiting all pages, and the cold start from
`streamlit run` to the first page drawn in Chromium. Targets: <= 150 ms per widget change (buttons that
start a long training or measurement with a progress bar excepted, listed in JOB_BUTTONS), cold start
<= 5 s, one session <= 400 MB.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"
if SHARED_MNIST.exists():
    os.environ.setdefault("MNIST_DIR", str(SHARED_MNIST))

from tests.apptest_utils import open_page  # noqa: E402
from ui import registry  # noqa: E402


def _keep_compiled_pages():
    """AppTest gives every run a new, empty ScriptCache, so every rerun compiles app.py and its page again (and
    ui.warmup._compile_pages compiles all 19 pages: ~130 ms a rerun). A server keeps one cache for all sessions
    and all reruns: so does this benchmark."""
    import streamlit.testing.v1.app_test as app_test
    import streamlit.testing.v1.local_script_runner as local_script_runner
    shared = app_test.ScriptCache()
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared


_keep_compiled_pages()


# Buttons that start a long training run or measurement with a progress bar: timed, listed, not held to the
# 150 ms widget-change target. SKIP: buttons a benchmark must not press (downloads from the internet, a live
# loop that reruns itself until paused).
JOB_BUTTONS = {
    "dm_train": "t1: trains the deeper MLP on MNIST (progress bar)",
    "mnist_train": "7b: trains epochs on MNIST (progress bar)",
    "mnist_race": "7b: optimizer race on MNIST (progress bar)",
    "tr_mnist": "7: trains the live network on MNIST (progress bar)",
    "bat_sweep": "6: trains every batch size (progress bar)",
    "gpu_remeasure": "9: re-measures CPU/GPU throughput (a benchmark)",
    "sv_train": "8: trains both networks when the run is estimated over 0.08 s (progress bar; appears after a change)",
    "ca_train_now": "t3: trains the missing 50-epoch pieces when estimated over 0.08 s (progress bar; after a change)",
}
SKIP = {"mnist_download", "tr_play"}
KINDS = ("slider", "select_slider", "selectbox", "radio", "button_group", "toggle", "checkbox", "number_input",
         "text_input", "button")
# fresh text for text inputs (the formula box takes a formula; anything else takes a random word)
TEXT = {"ca_f": lambda rng: f"tanh({rng.uniform(0.2, 3):.3f} * x) + {rng.uniform(-0.5, 0.5):.3f} * x"}


def _force_state(widget, make_state):
    """Send `make_state(ws)`'s widget state on the next run (options are chosen by their shown text,
    which works whatever the page's format_func is)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    def state(self):
        ws = WidgetState()
        ws.id = self.id
        make_state(ws)
        return ws
    widget.__class__ = type(widget.__class__.__name__, (widget.__class__,), {"_widget_state": property(state)})


def _choice_setter(widget, text):
    kind = widget.type if widget.type != "select_slider" else "select_slider"
    if kind in ("selectbox", "radio"):
        return lambda w: _force_state(w, lambda ws: setattr(ws, "string_value", text))
    return lambda w: _force_state(w, lambda ws: ws.string_array_value.data.__setitem__(slice(None), [text]))


def _plan(widget, rng, changes):
    """[(label, setter)]: `changes` fresh values for `widget`, then ("restore", setter) back to its default."""
    kind = widget.type
    if kind == "slider" and not isinstance(widget.value, (list, tuple)):
        lo, hi, step = widget.min, widget.max, widget.step or 1
        n = int(round((hi - lo) / step))
        grid = [lo + i * step for i in range(n + 1)]
        if isinstance(widget.value, float) or isinstance(step, float):
            grid = [round(v, 10) for v in grid]
        fresh = [v for v in grid if v != widget.value]
        picks = rng.sample(fresh, min(changes, len(fresh)))
        old = widget.value
        return [(v, lambda w, v=v: w.set_value(v)) for v in picks] + [("restore", lambda w: w.set_value(old))]
    if kind in ("selectbox", "radio", "select_slider", "button_group"):
        options = list(widget.options)
        if kind in ("selectbox", "radio"):
            current = None if widget.index is None else widget.options[widget.index]
        elif kind == "select_slider":
            current = str(widget.format_func(widget.value))
        else:
            current = (list(widget.formatted_values) or [None])[0]
        fresh = [o for o in options if o != current]
        picks = rng.sample(fresh, min(changes, len(fresh)))
        plan = [(o, _choice_setter(widget, o)) for o in picks]
        restore = (lambda w: w.set_value(None)) if current is None else _choice_setter(widget, current)
        return plan + [("restore", restore)]
    if kind in ("toggle", "checkbox"):
        old = widget.value
        return [(not old, lambda w: w.set_value(not old)), ("restore", lambda w: w.set_value(old))]
    if kind == "number_input":
        lo = widget.min if widget.min is not None else 0
        hi = widget.max if widget.max is not None else 1000
        old = widget.value
        if isinstance(old, int):
            picks = [v for v in rng.sample(range(int(lo), int(hi) + 1), changes + 1) if v != old][:changes]
        else:
            picks = [round(rng.uniform(lo, hi), 4) for _ in range(changes)]
        return [(v, lambda w, v=v: w.set_value(v)) for v in picks] + [("restore", lambda w: w.set_value(old))]
    if kind == "text_input":
        old = widget.value
        make = TEXT.get(widget.key, lambda rng: "".join(rng.choice("abcdefghjkmnpqrstuvwxyz") for _ in range(6)))
        picks = [make(rng) for _ in range(changes)]
        return [(v, lambda w, v=v: w.set_value(v)) for v in picks] + [("restore", lambda w: w.set_value(old))]
    if kind == "button":
        return [("click", lambda w: w.click())]
    return []


def _widgets(at, app_keys):
    """(kind, key) of every enabled widget the page drew (app.py's own sidebar widgets left out)."""
    out = []
    for kind in KINDS:
        for w in at.get(kind):
            if w.key is None or w.key in app_keys or w.key in SKIP or getattr(w.proto, "disabled", False):
                continue
            out.append((kind, w.key))
    return out


def _find(at, kind, key):
    for w in at.get(kind):
        if w.key == key:
            return w
    return None


GC_PAUSES = []  # seconds of every garbage collection (Python's cyclic collector) since the last _timed_run


_GC_START = [0.0]  # process time when the collection now running began


def _gc_clock(phase, info):
    if phase == "start":
        _GC_START[0] = time.process_time()
    else:
        GC_PAUSES.append(time.process_time() - _GC_START[0])


def _timed_run(at):
    """(cpu, wall, gc) seconds of one rerun; gc: the part of cpu spent in Python's cyclic garbage collector
    (a full collection of the server's heap lands on whichever rerun happens to trigger it)."""
    GC_PAUSES.clear()
    cpu, wall = time.process_time(), time.perf_counter()
    at.run()
    return time.process_time() - cpu, time.perf_counter() - wall, sum(GC_PAUSES)


def time_page(path, changes, app_keys, seed=0):
    """First render and [(widget key, value, cpu s, wall s)] of every fresh-value change on `path`."""
    import random

    import streamlit as st
    st.cache_data.clear()
    rng = random.Random(f"{path}:{seed}")
    start = time.perf_counter()
    at = open_page(path)
    first_render = time.perf_counter() - start
    rows = []
    widgets = _widgets(at, app_keys)
    if not widgets:
        cpu, wall, gc_s = _timed_run(at)
        return first_render, [("(rerun, no widget)", "", cpu, wall, gc_s)]
    for kind, key in widgets:
        w = _find(at, kind, key)
        if w is None or getattr(w.proto, "disabled", False):  # hidden or disabled by an earlier move
            continue
        for label, setter in _plan(w, rng, changes):
            w = _find(at, kind, key)
            if w is None:
                break
            setter(w)
            cpu, wall, gc_s = _timed_run(at)
            if at.exception:
                print(f"  ! {path} {key}={label!r}: {at.exception[0].value[:200]}", flush=True)
            if label != "restore":
                rows.append((key, label, cpu, wall, gc_s))
    return first_render, rows


def cold_start():
    from tests.browser_utils import chromium, require_browser, streamlit_server, wait_idle
    try:
        require_browser()
    except BaseException as why:  # pytest.skip raises; a benchmark just reports it
        return None, str(why)
    start = time.perf_counter()
    with streamlit_server() as (url, _proc), chromium() as browser:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("h1", timeout=60_000)
        wait_idle(page)
        return time.perf_counter() - start, "streamlit run -> home page drawn in Chromium (includes Chromium start)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--changes", type=int, default=3, help="fresh values per widget")
    ap.add_argument("--page", action="append", help="only pages whose path contains this (repeatable)")
    ap.add_argument("--verbose", action="store_true", help="print every change")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args(argv)
    import tempfile

    import torch
    torch.set_num_threads(1)  # as app.py does
    os.environ.setdefault("CLASSMODE_DB", str(Path(tempfile.mkdtemp(prefix="bench-classmode-")) / "class.sqlite"))
    proc = psutil.Process()
    base = proc.memory_info().rss
    home = open_page("views/home.py")
    app_keys = {w.key for kind in KINDS for w in home.get(kind)}  # app.py's sidebar: on every page
    import gc
    gc.callbacks.append(_gc_clock)
    print(f"{'page':<34}{'changes':>8}{'cpu median':>12}{'cpu max':>10}{'(gc)':>7}{'wall med':>10}{'wall max':>10}"
          "  slowest change")
    worst, worst_page, jobs = 0.0, "", []
    for entry in registry.existing_pages():
        if args.page and not any(p in entry["path"] for p in args.page):
            continue
        first_render, rows = time_page(entry["path"], args.changes, app_keys)
        jobs += [(entry["path"], r) for r in rows if r[0] in JOB_BUTTONS]
        rows = [r for r in rows if r[0] not in JOB_BUTTONS]
        if args.verbose:
            for key, label, cpu, wall, gc_s in rows:
                print(f"    {key:<24}{str(label)[:30]:<32}{1000 * cpu:>8.0f}ms cpu{1000 * wall:>8.0f}ms wall"
                      f"{1000 * gc_s:>8.0f}ms gc")
        cpus, walls = [r[2] for r in rows], [r[3] for r in rows]
        slow = max(rows, key=lambda r: r[2])
        if slow[2] > worst:
            worst, worst_page = slow[2], f"{entry['path']} ({slow[0]} = {slow[1]})"
        flag = "" if slow[2] <= 0.150 else "  > 150 ms"
        print(f"{entry['path']:<34}{len(rows):>8}{1000 * statistics.median(cpus):>10.0f}ms{1000 * slow[2]:>8.0f}ms"
              f"{1000 * slow[4]:>5.0f}ms"
              f"{1000 * statistics.median(walls):>8.0f}ms{1000 * max(walls):>8.0f}ms  {slow[0]} = {str(slow[1])[:28]}"
              f"{flag}", flush=True)
    for path, (key, _label, cpu, wall, _gc) in jobs:
        print(f"job button {key} on {path}: {1000 * cpu:.0f} ms cpu, {1000 * wall:.0f} ms wall ({JOB_BUTTONS[key]})")
    rss = proc.memory_info().rss
    print(f"\nslowest fresh-value widget change: {1000 * worst:.0f} ms cpu on {worst_page} (target <= 150 ms)")
    print(f"RSS after visiting every page: {rss / 2**20:.0f} MB (process start {base / 2**20:.0f} MB; "
          f"target <= 400 MB for one session)")
    if not args.no_browser:
        seconds, what = cold_start()
        print(f"cold start: {seconds:.1f} s ({what}; target <= 5 s)" if seconds
              else f"cold start: not measured ({what})")


if __name__ == "__main__":
    main()
