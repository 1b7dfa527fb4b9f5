"""Server memory with full MNIST, as on Streamlit Community Cloud after the first download.

    python bench/memory.py                  # full MNIST from core.data's folders, else a stand-in
    python bench/memory.py --test-split     # only the 10,000-image test split (the offline case)

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

from bench.classroom import MNIST_ENV, visit_every_page  # noqa: E402
from bench.st_client import StudentSession  # noqa: E402
from core import data  # noqa: E402
from tests.browser_utils import streamlit_server  # noqa: E402

CLOUD_MB = 690


def stand_in_full_mnist(folder):
    """Write train files of 60,000 images (the test split six times) next to a copy of the test split."""
    test_dir = data.find_mnist_dir("test", os.environ.get("MNIST_DIR") or MNIST_ENV.get("MNIST_DIR"))
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
        problems = asyncio.run(visit_every_page(url))
        rows.append(("every page opened once", server.memory_info().rss))
        errors = asyncio.run(train_both(url))
        rows.append(("after Train on 7b and on the deep MLP", server.memory_info().rss))
    return rows, problems, errors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--test-split", action="store_true", help="only the 10,000-image test split")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.test_split:
            folder, what = MNIST_ENV.get("MNIST_DIR") or os.environ.get("MNIST_DIR"), "MNIST test split only"
        elif data.mnist_available("train"):
            folder, what = data.find_mnist_dir("train"), "full MNIST"
        else:
            folder, what = stand_in_full_mnist(tmp), "a 60,000-image stand-in for full MNIST (test split x 6)"
        rows, problems, errors = measure(folder)
    print(f"data: {what}")
    for label, rss in rows:
        print(f"{label:<40}{rss / 2**20:>6.0f} MB")
    peak = max(rss for _, rss in rows) / 2**20
    print(f"{'largest':<40}{peak:>6.0f} MB   (Community Cloud gives at least {CLOUD_MB} MB: "
          f"{'fits' if peak <= CLOUD_MB else 'DOES NOT FIT'})")
    print(f"exceptions: {sum(len(v) for v in problems.values()) + len(errors)}")


if __name__ == "__main__":
    main()
