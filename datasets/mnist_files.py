"""MNIST: finding, reading, verifying and downloading the IDX .gz files.

  load_mnist, download_mnist - the MNIST digits, read straight from the IDX .gz files;
  load_mnist_pixels - the same kept as uint8 (core.data.to_float / as_float make them float32 a batch at a time);
  mnist_train_test - the app's split (full MNIST, or the committed test split cut in two).

MNIST's 10,000-image test split is committed in <repo>/datasets/mnist (always there, offline too).
Run `python -m datasets.mnist_files download` to fetch full MNIST (the 60,000 training images as well) into
<repo>/data/mnist.
"""

import errno
import gzip
import hashlib
import http.client
import math
import os
import struct
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import torch

from core.data import to_float


# ---------------------------------------------------------------------------
# 3. MNIST: finding, reading and downloading the IDX .gz files
# ---------------------------------------------------------------------------

MNIST_FILES = {  # split -> (images file, labels file)
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_BYTES = {  # compressed sizes, used only to weight the progress bar
    "train-images-idx3-ubyte.gz": 9_912_422,
    "train-labels-idx1-ubyte.gz": 28_881,
    "t10k-images-idx3-ubyte.gz": 1_648_877,
    "t10k-labels-idx1-ubyte.gz": 4_542,
}
MNIST_MIRRORS = [  # tried in this order
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]
IDX_IMAGES_MAGIC = 2051  # big-endian int32 at the start of an images file
IDX_LABELS_MAGIC = 2049  # ... of a labels file

# <repo>/data/mnist: git-ignored, where download_mnist() puts the files by default.
PROJECT_MNIST_DIR = Path(__file__).resolve().parents[1] / "data" / "mnist"
# <repo>/datasets/mnist: committed, the 10,000-image test split only (the last place load_mnist looks).
EMBEDDED_MNIST_DIR = Path(__file__).resolve().parents[1] / "datasets" / "mnist"
DOWNLOAD_DEADLINE_S = 300.0   # a whole download_mnist call; 11.6 MB needs 300 s only below 40 kB/s
DOWNLOAD_HINT = ("run `python -m datasets.mnist_files download` (or call datasets.mnist_files.download_mnist()) "
                 "to fetch it, or set MNIST_DIR to a folder that holds the .gz files")


class MnistError(Exception):
    """Anything that stops MNIST from loading or downloading; the message says how to fix it."""


class MnistNotFoundError(MnistError, FileNotFoundError):
    """The .gz files are not in any of the folders searched."""


class MnistCorruptError(MnistError, ValueError):
    """A file is there but is not a valid MNIST IDX .gz file."""


class MnistDownloadError(MnistError, OSError):
    """Downloading failed: no network, wrong checksum, cut connection, unwritable folder."""


class MnistDiskFullError(MnistDownloadError):
    """Downloading failed because the disk (or the user's quota) is full."""


def _check_split(split):
    if split not in MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


def mnist_search_dirs(root=None):
    """The folders load_mnist looks in, in order: root, $MNIST_DIR, <repo>/data/mnist (downloads),
    <repo>/datasets/mnist (the committed test split, so "test" is always found)."""
    dirs = []
    if root is not None:
        dirs.append(Path(root))
    if os.environ.get("MNIST_DIR"):
        dirs.append(Path(os.environ["MNIST_DIR"]))
    dirs.append(PROJECT_MNIST_DIR)
    dirs.append(EMBEDDED_MNIST_DIR)
    unique = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def find_mnist_dir(split, root=None):
    """First folder (see mnist_search_dirs) holding both .gz files of split, or None."""
    _check_split(split)
    for d in mnist_search_dirs(root):
        if all((d / f).is_file() for f in MNIST_FILES[split]):
            return d
    return None


def mnist_available(split="test", root=None):
    """True when both files of split were found (they are not read or checked here)."""
    return find_mnist_dir(split, root) is not None


def _read_gz(path):
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise MnistCorruptError(
            f"{path} is not a readable gzip file ({type(e).__name__}: {e}). It is probably "
            f"truncated or damaged: delete it and {DOWNLOAD_HINT}.") from e


def read_idx(path, magic):
    """Parse one IDX file: return (uint8 tensor, dims).

    Layout: int32 magic, int32 count[, int32 rows, int32 cols] (big-endian), then
    count * rows * cols unsigned bytes.  magic 2051 = images (3 dims), 2049 = labels (1 dim).
    """
    raw = _read_gz(path)
    ndim = {IDX_IMAGES_MAGIC: 3, IDX_LABELS_MAGIC: 1}[magic]
    header = 4 + 4 * ndim
    kind = "images" if magic == IDX_IMAGES_MAGIC else "labels"
    fix = f"delete it and {DOWNLOAD_HINT}"
    found_magic = struct.unpack(">i", raw[:4])[0] if len(raw) >= 4 else None
    if found_magic != magic:
        raise MnistCorruptError(
            f"{path} has magic number {found_magic}, expected {magic} for an IDX {kind} file; "
            f"the file is damaged or is not MNIST {kind}: {fix}.")
    if len(raw) < header:
        raise MnistCorruptError(f"{path} is too short ({len(raw)} bytes) to hold an IDX header; {fix}.")
    dims = struct.unpack(f">{ndim}i", raw[4:header])
    expected = math.prod(dims)
    if len(raw) - header != expected:
        raise MnistCorruptError(
            f"{path} header promises {' x '.join(map(str, dims))} = {expected} bytes of {kind} "
            f"but holds {len(raw) - header}; the file is truncated or damaged: {fix}.")
    data = torch.frombuffer(bytearray(raw), dtype=torch.uint8, offset=header)
    return data.reshape(dims), dims


def load_mnist(split="test", root=None):
    """MNIST digits as X [N, 784] float32 in [0, 1] and y [N] int64 in 0..9.

    split "train" (N = 60,000) or "test" (N = 10,000). Looks for the standard IDX
    .gz files in root, then $MNIST_DIR, then <repo>/data/mnist, then <repo>/datasets/mnist (test only).
    """
    X, y = load_mnist_pixels(split, root)   # [N, 784] uint8, [N] int64
    return to_float(X), y                   # [N, 784] float32 in [0, 1]


def load_mnist_pixels(split="test", root=None):
    """MNIST digits as stored in the files: X [N, 784] uint8 pixels 0..255 and y [N] int64 in 0..9.

    A quarter of the memory of load_mnist's float32 (to_float(X) gives exactly load_mnist's X).
    Same files, same search order and same errors as load_mnist.
    """
    _check_split(split)
    folder = find_mnist_dir(split, root)
    if folder is None:
        looked = "; ".join(
            f"{d} (missing {', '.join(f for f in MNIST_FILES[split] if not (d / f).is_file())})"
            for d in mnist_search_dirs(root))
        raise MnistNotFoundError(
            f"MNIST {split} split not found. Looked in: {looked}. To fix: {DOWNLOAD_HINT}.")
    images_file, labels_file = (folder / f for f in MNIST_FILES[split])
    images, (n_img, rows, cols) = read_idx(images_file, IDX_IMAGES_MAGIC)  # [N, 28, 28] uint8
    labels, (n_lab,) = read_idx(labels_file, IDX_LABELS_MAGIC)             # [N] uint8
    if (rows, cols) != (28, 28):
        raise MnistCorruptError(f"{images_file} holds {rows}x{cols} images, MNIST digits are 28x28; "
                                f"delete it and {DOWNLOAD_HINT}.")
    if n_img != n_lab:
        raise MnistCorruptError(
            f"{images_file} holds {n_img} images but {labels_file} holds {n_lab} labels; "
            f"the two files do not belong together: delete them and {DOWNLOAD_HINT}.")
    if n_lab and int(labels.max()) > 9:
        raise MnistCorruptError(f"{labels_file} contains label {int(labels.max())}; MNIST labels "
                                f"are 0-9: delete it and {DOWNLOAD_HINT}.")
    X = images.reshape(n_img, rows * cols)   # [N, 784] uint8, 0 = background, 255 = full ink
    y = labels.long()                        # [N] int64
    return X, y


def _md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fetch(url, dest, md5, size, timeout, deadline, report):
    """Stream url into a temporary file next to dest; rename it to dest only when complete
    and its md5 matches. The temporary file is deleted on any failure.

    size      the file's length in bytes (MNIST_BYTES): a mirror that announces another length, or
              sends more, is cut off at once instead of filling the disk with an endless stream
    deadline  time.monotonic() by which the file must be complete. Every wait on the network
              (connecting, each read) is limited to what is left of it, and each read returns what
              has arrived (read1), so a mirror trickling one byte every few seconds is stopped too.
    """
    def seconds_left():
        left = deadline - time.monotonic()
        if left <= 0:
            raise MnistDownloadError(f"{url} was too slow: {got:,} of {size:,} bytes arrived before the "
                                     "time limit")
        return left

    got = 0
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        h = hashlib.md5()
        with os.fdopen(fd, "wb") as out, \
                urllib.request.urlopen(url, timeout=min(timeout, seconds_left())) as resp:
            length = resp.headers.get("Content-Length")
            length = int(length) if length and length.isdigit() else None
            if length is not None and length != size:
                raise MnistDownloadError(f"{url} offers {length:,} bytes, but the file has {size:,} "
                                         "(a wrong file or an error page)")
            while True:
                seconds_left()
                chunk = resp.read1(1 << 16)      # whatever has arrived, up to 64 kB: never waits for more
                if not chunk:
                    break
                got += len(chunk)
                if got > size:
                    raise MnistDownloadError(f"{url} sent more than the {size:,} bytes the file has; "
                                             "stopped reading")
                out.write(chunk)
                h.update(chunk)
                report(got, length)
        if got != size:
            raise MnistDownloadError(f"connection closed after {got:,} of {size:,} bytes from {url}")
        if h.hexdigest() != md5:
            raise MnistDownloadError(f"checksum mismatch for {url}: md5 {h.hexdigest()}, "
                                     f"expected {md5} (damaged or wrong file)")
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _disk_full(e):
    return getattr(e, "errno", None) in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def _disk_full_error(folder, name, total, e):
    return MnistDiskFullError(
        f"the disk is full: no room left in {folder} for {name} ({MNIST_BYTES[name] / 1e6:.1f} MB; "
        f"{total / 1e6:.1f} MB in all). Free some space, or pass root= a folder on another disk "
        f"and point MNIST_DIR at it ({e.strerror or e}).")


def _writable_folder(folder, first_name, total):
    """Create folder, failing early (MnistDownloadError) when nothing can be written there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = tempfile.TemporaryFile(dir=folder)  # fail early on a read-only folder
        probe.close()
    except OSError as e:
        if _disk_full(e):
            raise _disk_full_error(folder, first_name, total, e) from e
        raise MnistDownloadError(
            f"cannot write to {folder} ({e.strerror or e}); pass root= a writable folder "
            f"(or run `python -m datasets.mnist_files download --root DIR`) and point MNIST_DIR at it.") from e


def _fetch_from_mirror(url, dest, name, folder, total, timeout, stop_at, report):
    """Fetch one file from one mirror: None once it is in place and verified, else why not (one line of the
    final message). A folder we may not write to and a full disk raise at once: another mirror cannot help."""
    try:
        _fetch(url, dest, MNIST_MD5[name], MNIST_BYTES[name], timeout, stop_at, report)
        return None
    except MnistDownloadError as e:
        return str(e)
    except urllib.error.HTTPError as e:
        return f"{url}: HTTP {e.code} {e.reason}"
    except urllib.error.URLError as e:
        return f"{url}: cannot connect ({e.reason})"
    except PermissionError as e:
        raise MnistDownloadError(f"cannot write to {folder}: {e}; pass root= a writable folder.") from e
    except OSError as e:
        if _disk_full(e):
            raise _disk_full_error(folder, name, total, e) from e
        return f"{url}: {type(e).__name__}: {e}"   # timeouts, resets
    except (ValueError, http.client.HTTPException) as e:
        return f"{url}: {type(e).__name__}: {e}"


def _no_mirror_error(name, errors, folder, deadline, stop_at):
    """The MnistDownloadError for a file no mirror delivered: the time limit, or every mirror's reason."""
    tried = "\n  ".join(errors) or "(no mirror was tried)"
    if time.monotonic() >= stop_at:
        return MnistDownloadError(
            f"the download was stopped after the {float(deadline):g} s time limit: the mirrors sent "
            f"{name} too slowly.\n  {tried}\nTry again later, or copy the MNIST .gz files into "
            f"{folder} by hand, or set MNIST_DIR to a folder that holds them.")
    return MnistDownloadError(
        f"could not download {name} from any mirror:\n  {tried}"
        f"\nCheck the internet connection (this machine may have none), or copy the MNIST "
        f".gz files into {folder} by hand, or set MNIST_DIR to a folder that holds them.")


def download_mnist(root=None, splits=("train", "test"), progress=None,
                   base_url=None, timeout=30.0, deadline=DOWNLOAD_DEADLINE_S):
    """Download the MNIST .gz files into root (default <repo>/data/mnist); return that folder.

    base_url   a mirror URL or a list of them, tried in order (default MNIST_MIRRORS)
    progress   optional callback progress(fraction in [0, 1], message)
    timeout    seconds one network wait (connect, one read) may take
    deadline   seconds the whole call may take (DOWNLOAD_DEADLINE_S): a slow or stalled mirror
               is given up when it runs out, however steadily it trickles
    Files already present with the right MD5 are kept. Each file is streamed to a
    temporary file in the same folder and renamed into place only once complete and
    MD5-verified, so a failed download never leaves a partial file behind; no file is read
    past its known size (MNIST_BYTES), so an endless stream cannot fill the disk.
    Raises MnistDownloadError with a readable message when nothing works (the disk being
    full and the time limit are said as such).
    """
    stop_at = time.monotonic() + float(deadline)
    folder = Path(root) if root is not None else PROJECT_MNIST_DIR
    mirrors = MNIST_MIRRORS if base_url is None else (
        [base_url] if isinstance(base_url, str) else list(base_url))
    if isinstance(splits, str):
        splits = (splits,)
    for s in splits:
        _check_split(s)
    names = [f for s in splits for f in MNIST_FILES[s]]
    total = sum(MNIST_BYTES[f] for f in names)
    done = 0  # bytes of finished files, for the progress fraction

    def say(fraction, message):
        if progress is not None:
            progress(min(max(fraction, 0.0), 1.0), message)

    _writable_folder(folder, names[0], total)
    for name in names:
        dest = folder / name
        if dest.is_file() and _md5(dest) == MNIST_MD5[name]:
            done += MNIST_BYTES[name]
            say(done / total, f"{name} already present")
            continue
        errors = []
        fetched = False
        for mirror in mirrors:
            if time.monotonic() >= stop_at:
                break
            url = mirror.rstrip("/") + "/" + name

            def report(got, length, name=name, url=url, done=done):
                part = min(got / MNIST_BYTES[name], 1.0) * MNIST_BYTES[name]
                say((done + part) / total, f"downloading {name} from {url}: {got / 1e6:.1f} MB")

            error = _fetch_from_mirror(url, dest, name, folder, total, timeout, stop_at, report)
            if error is None:
                fetched = True
                break
            errors.append(error)
        if not fetched:
            raise _no_mirror_error(name, errors, folder, deadline, stop_at)
        done += MNIST_BYTES[name]
        say(done / total, f"{name} downloaded and verified")
    say(1.0, f"MNIST files ready in {folder}")
    return folder


def _main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(prog="python -m datasets.mnist_files", description="MNIST helper")
    sub = parser.add_subparsers(dest="command", required=True)
    dl = sub.add_parser("download", help="download and verify the MNIST .gz files")
    dl.add_argument("--root", default=None, help=f"target folder (default {PROJECT_MNIST_DIR})")
    dl.add_argument("--split", choices=["train", "test", "both"], default="both")
    args = parser.parse_args(argv)
    splits = ("train", "test") if args.split == "both" else (args.split,)

    def show(fraction, message):
        print(f"\r[{fraction:6.1%}] {message[:100]:<100}", end="", flush=True)

    try:
        folder = download_mnist(args.root, splits=splits, progress=show)
    except MnistError as e:
        print(f"\nerror: {e}", file=sys.stderr)
        return 1
    print(f"\ndone: {folder}")
    return 0


HELD_OUT = 2000  # with only the 10,000-image test split: train on the first 8,000, test on the last 2,000


def mnist_train_test(root=None, load=None):
    """The app's MNIST split: (X_train, y_train, X_test, y_test, description of where they came from).

    Full MNIST (60,000 training / 10,000 test images) when the training files are present; otherwise
    the 10,000-image test split cut in two, so a model is always measured on images it never trained on.
    `load(split)` reads one split (default: `load_mnist(split, root)`); the app passes a loader that keeps
    one shared copy per server, and the cut below makes views of it, never copies.
    """
    load = load or (lambda split: load_mnist(split, root))
    if mnist_available("train", root):
        X_train, y_train = load("train")
        X_test, y_test = load("test")
        return X_train, y_train, X_test, y_test, "full MNIST: 60,000 training images, 10,000 test images"
    X, y = load("test")
    cut = len(X) - HELD_OUT
    return (X[:cut], y[:cut], X[cut:], y[cut:],
            f"the MNIST test split only: first {cut:,} images to train on, last {HELD_OUT:,} held out")


if __name__ == "__main__":
    sys.exit(_main())
