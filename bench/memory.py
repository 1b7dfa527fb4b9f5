"""Server memory with full MNIST, as on Streamlit Community Cloud after the first download.

    python bench/memory.py                  # full MNIST from datasets.mnist_files' folders, else a stand-in
    python bench/memory.py --test-split     # only the 10,000-image test split (the offline case)
    python bench/memory.py --libraries      # what each library adds to a fresh Python (no server)

Starts `streamlit run app.py`, opens every page once in one session, then presses Train on the two
pages that train on MNIST (7b with its defaults, and the deep MLP with its defaults), and prints the
server's resident memory (RSS) after each stage. Community Cloud gives an app at least 690 MB.

Without the real 60,000-image training files (this machine has no internet) a stand-in is built in a
temporary folder: the test split's images and labels repeated six times, in the same IDX format. It has
the real size and dtype, which is all memory depends on; its accuracy figures mean nothing.
"""
import argparse
import asyncio
import gzip
import os
import struct
import sys
import tempfile
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.classroom import MNIST_ENV, page_urls  # noqa: E402
from bench.st_client import StudentSession  # noqa: E402
from datasets import mnist_files  # noqa: E402
from tests.browser_utils import streamlit_server  # noqa: E402

CLOUD_MB = 690


def stand_in_full_mnist(folder):
    """Write train files of 60,000 images (the test split six times) next to a copy of the test split."""
    test_dir = mnist_files.find_mnist_dir("test", os.environ.get("MNIST_DIR") or MNIST_ENV.get("MNIST_DIR"))
    if test_dir is None:
        raise SystemExit("No MNIST test split found: set MNIST_DIR (see README, Data).")
    images = gzip.open(Path(test_dir) / "t10k-images-idx3-ubyte.gz").read()
    labels = gzip.open(Path(test_dir) / "t10k-labels-idx1-ubyte.gz").read()
    n = 6 * struct.unpack(">I", images[4:8])[0]
    with gzip.open(Path(folder) / "train-images-idx3-ubyte.gz", "wb", compresslevel=1) as f:
        f.write(struct.pack(">IIII", 2051, n, 28, 28) + images[16:] * 6)
    with gzip.open(Path(folder) / "train-labels-idx1-ubyte.gz", "wb", compresslevel=1) as f:
        f.write(struct.pack(">II", 2049, n) + labels[8:] * 6)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (Path(folder) / name).write_bytes((Path(test_dir) / name).read_bytes())
    return folder


# What the server imports before its first page runs (ui/warmup.py); each step's statements run in one fresh
# interpreter, in this order, and the RSS it adds is printed.
LIBRARY_STEPS = [
    ("torch", "import torch"),
    ("Streamlit", "import streamlit"),
    ("Plotly (graph_objects, express)", "import plotly.graph_objects, plotly.express"),
    ("sympy: the custom-activation page's formulas", "import sympy"),
    # Optimizer.__init__ calls add_param_group, which torch wraps in torch._disable_dynamo: its first call imports
    # torch._dynamo (no setting avoids it; step() imports it again for a graph break). The functional
    # torch.optim.sgd.sgd / adam.adam do not, nor does anything else the pages call.
    ("torch._dynamo: constructing any torch.optim optimizer",
     "w = torch.nn.Parameter(torch.ones(2)); o = torch.optim.SGD([w], lr=0.1); (w * w).sum().backward(); o.step()"),
    # pandas 3 imports pyarrow, and pyarrow imports pandas on its first pa.array / pa.table, even from lists.
    ("pandas + pyarrow: the first st.dataframe / vega-lite chart", "import pandas, pyarrow"),
    ("SQLAlchemy + segno: class mode (every page)", "import sqlalchemy, sqlalchemy.dialects.sqlite, segno"),
    ("PIL, simpleeval, every core, labs and datasets module",
     "import PIL.Image, PIL.PngImagePlugin, simpleeval, pkgutil, importlib, core, labs, datasets; "
     "[importlib.import_module(p.__name__ + '.' + m.name) for p in (core, labs, datasets) "
     "for m in pkgutil.iter_modules(p.__path__)]"),
]


def library_breakdown():
    """[(what, MB it adds)] measured in one fresh interpreter, the steps of LIBRARY_STEPS in order."""
    import json
    import subprocess
    code = ("import json, sys, psutil; sys.path.insert(0, sys.argv[1]); p = psutil.Process(); out = []\n"
            "rss = lambda: p.memory_info().rss / 2**20\nlast = rss(); out.append(('Python itself', last))\n"
            "for what, stmt in json.loads(sys.argv[2]):\n"
            "    exec(stmt)\n    now = rss(); out.append((what, now - last)); last = now\n"
            "print(json.dumps(out))")
    done = subprocess.run([sys.executable, "-c", code, str(ROOT), json.dumps(LIBRARY_STEPS)], capture_output=True,
                          text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


async def visit_every_page(url, server):
    """Open every page once in one session: [(page, RSS in bytes after it)] and {page: exceptions}."""
    rows, problems = [], {}
    async with StudentSession(url) as s:
        for page in sorted(page_urls()):
            await s.open(page)
            rows.append((page or "home", server.memory_info().rss))
            if s.exceptions():
                problems[page or "home"] = s.exceptions()
    return rows, problems


async def train_both(url):
    async with StudentSession(url) as s:
        await s.open("mnist")
        await s.click("mnist_train")
        errors = s.exceptions()
        await s.open("deeper-mlp")
        await s.click("dm_train")
        return errors + s.exceptions()


def measure(mnist_dir):
    with streamlit_server(extra_env={"MNIST_DIR": str(mnist_dir)}) as (url, proc):
        server = psutil.Process(proc.pid)
        rows = [("server started", server.memory_info().rss)]
        pages, problems = asyncio.run(visit_every_page(url, server))
        rows.append((f"first page ({pages[0][0]}): every library imported", pages[0][1]))
        rows.append(("every page opened once", server.memory_info().rss))
        rows.append(("  largest after a page", max(rss for _, rss in pages)))
        errors = asyncio.run(train_both(url))
        rows.append(("after Train on 7b and on the deep MLP", server.memory_info().rss))
    growth = [(page, now - before) for (_, before), (page, now) in zip(pages, pages[1:])]
    return rows, problems, errors, growth


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--test-split", action="store_true", help="only the 10,000-image test split")
    ap.add_argument("--libraries", action="store_true", help="instead, what each library adds to a fresh Python")
    args = ap.parse_args(argv)
    if args.libraries:
        total = 0.0
        for what, mb in library_breakdown():
            total += mb
            print(f"{what:<62}{mb:>+6.0f} MB  = {total:4.0f} MB")
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.test_split:
            folder, what = MNIST_ENV.get("MNIST_DIR") or os.environ.get("MNIST_DIR"), "MNIST test split only"
        elif mnist_files.mnist_available("train"):
            folder, what = mnist_files.find_mnist_dir("train"), "full MNIST"
        else:
            folder, what = stand_in_full_mnist(tmp), "a 60,000-image stand-in for full MNIST (test split x 6)"
        rows, problems, errors, growth = measure(folder)
    print(f"data: {what}")
    for label, rss in rows:
        print(f"{label:<40}{rss / 2**20:>6.0f} MB")
    print("what each page added after the first (in the order opened): "
          + ", ".join(f"{page} {mb / 2**20:+.0f}" for page, mb in growth) + " MB")
    peak = max(rss for _, rss in rows) / 2**20
    print(f"{'largest':<40}{peak:>6.0f} MB   (Community Cloud gives at least {CLOUD_MB} MB: "
          f"{'fits' if peak <= CLOUD_MB else 'DOES NOT FIT'})")
    print(f"exceptions: {sum(len(v) for v in problems.values()) + len(errors)}")


if __name__ == "__main__":
    main()
