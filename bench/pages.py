"""Time and memory per page.

    python bench/pages.py            # every page in ui/registry.py
    python bench/pages.py --repeats 7 --no-browser

For every page: the server time of a rerun after its main widget moves (AppTest; the first change,
which may miss the caches, and the median of the following changes back and forth), then the
process's memory (RSS) after visiting all pages, and the cold start from `streamlit run` to the first
page drawn in Chromium. Targets: <= 150 ms per widget change, cold start <= 5 s, one session <= 400 MB.
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
from tests.test_pages_smoke import MAIN_WIDGET  # noqa: E402
from ui import registry  # noqa: E402


# Pages whose main control starts a training run (with a progress bar) rather than redrawing the page:
# timed like the others, but reported as a job, not held to the 150 ms widget-change target.
TRAINING_BUTTONS = {"views/t1_custom_layer_mlp.py"}


def move(at, probe, value):
    kind, key, _ = probe
    if kind == "button":
        at.button(key=key).click()
    else:
        getattr(at, kind)(key=key).set_value(value)
    start = time.perf_counter()
    at.run()
    return time.perf_counter() - start


def time_page(path, repeats):
    start = time.perf_counter()
    at = open_page(path)
    first_render = time.perf_counter() - start
    probe = MAIN_WIDGET.get(path)
    if probe is None:
        start = time.perf_counter()
        at.run()
        return first_render, time.perf_counter() - start, None, "rerun (no widget)"
    kind, key, new = probe
    old = None if kind == "button" else getattr(at, kind)(key=key).value
    first_change = move(at, probe, new)
    later = []
    for i in range(repeats):
        value = old if i % 2 == 0 else new
        try:
            later.append(move(at, probe, value))
        except KeyError:  # AppTest drops app.py's sidebar on a rerun of the default page: open it again
            at = open_page(path)
            later.append(move(at, probe, value))
    return first_render, first_change, statistics.median(later), f"{kind} {key}"


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
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)  # as app.py does
    proc = psutil.Process()
    base = proc.memory_info().rss
    print(f"{'page':<36}{'first render':>14}{'1st change':>12}{'median':>10}  widget")
    worst, worst_page = 0.0, ""
    for entry in registry.existing_pages():
        first_render, first_change, median, what = time_page(entry["path"], args.repeats)
        shown = median if median is not None else first_change
        if entry["path"] in TRAINING_BUTTONS:
            flag = "  (a training run with a progress bar)"
        else:
            if shown > worst:
                worst, worst_page = shown, entry["path"]
            flag = "" if shown <= 0.150 else "  > 150 ms"
        med = f"{1000 * median:>8.0f}ms" if median is not None else f"{'':>10}"
        print(f"{entry['path']:<36}{1000 * first_render:>12.0f}ms{1000 * first_change:>10.0f}ms{med}  {what}{flag}")
    rss = proc.memory_info().rss
    print(f"\nslowest median widget change: {1000 * worst:.0f} ms on {worst_page} (target <= 150 ms)")
    print(f"RSS after visiting every page: {rss / 2**20:.0f} MB (process start {base / 2**20:.0f} MB; "
          f"target <= 400 MB for one session)")
    if not args.no_browser:
        seconds, what = cold_start()
        print(f"cold start: {seconds:.1f} s ({what}; target <= 5 s)" if seconds else f"cold start: not measured ({what})")


if __name__ == "__main__":
    main()
