"""Data for the lessons: shuffling and batching, toy 2-D datasets, MNIST.

Everything here returns plain torch tensors:
    X: [N, features] float32      y: [N] int64 class labels

Three parts:
  1. batches / batch_indices   - what torch.utils.data.DataLoader(shuffle=True) does
  2. make_2d, train_test_split - small 2-D classification problems for pictures;
     parse_points_csv, points_csv - a learner's own 2-D points to and from a CSV file;
     fit_standardizer, standardize - rescale coordinates to mean 0, std 1
  3. load_mnist, download_mnist - the MNIST digits, read straight from the IDX .gz files;
     load_mnist_pixels, to_float, as_float - the same kept as uint8, made float32 a batch at a time

MNIST's 10,000-image test split is committed in <repo>/datasets/mnist (always there, offline too).
Run `python -m core.data download` to fetch full MNIST (the 60,000 training images as well) into
<repo>/data/mnist.
"""

import csv
import errno
import gzip
import hashlib
import http.client
import io
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

# ---------------------------------------------------------------------------
# 1. Shuffling and batching
# ---------------------------------------------------------------------------


def num_batches(N, batch_size):
    """Number of mini-batches in one epoch: ceil(N / B). 60000 images, B=64 -> 938."""
    return (N + batch_size - 1) // batch_size


def batch_indices(N, batch_size, shuffle=True, generator=None, like_dataloader=False):
    """The row indices of every mini-batch of one epoch, as a list of int64 tensors.

    shuffle=True draws one random permutation of 0..N-1 (torch.randperm) and cuts it into
    pieces of batch_size. Every index appears exactly once; the last batch holds the
    N % batch_size leftovers, if any.

    The same generator seed does NOT by itself give DataLoader(shuffle=True, generator=g)'s
    order. Each epoch of such a DataLoader takes three things from g:
      1. one int64, the base seed of its worker processes
         (torch.empty((), dtype=torch.int64).random_(generator=g)), before the first batch;
      2. torch.randperm(N, generator=g), the order its RandomSampler hands out;
      3. once that order is used up, a second randperm(N) of which RandomSampler keeps the
         first N % N = 0 entries: nothing, but the generator has moved on.
    like_dataloader=True takes the same three (with shuffle=False only the int64, as a
    DataLoader with a SequentialSampler does), so with the same generator the batches equal
    the DataLoader's, epoch after epoch, when each of its epochs is run to the end.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if N < 0:
        raise ValueError(f"N must be >= 0, got {N}")
    if like_dataloader:
        if generator is None:
            raise ValueError("like_dataloader=True needs the generator the DataLoader is given")
        torch.empty((), dtype=torch.int64).random_(generator=generator)  # DataLoader's worker base seed, unused
    if shuffle:
        order = torch.randperm(N, generator=generator)  # [N], each index once
        if like_dataloader:
            torch.randperm(N, generator=generator)  # RandomSampler's second permutation, of which it uses none
    else:
        order = torch.arange(N)  # [N], 0, 1, 2, ...
    if N == 0:
        return []
    return list(torch.split(order, batch_size))  # [B], [B], ..., [N % B]


def batches(X, y, batch_size, shuffle=True, generator=None):
    """Yield (xb, yb) mini-batches covering the whole dataset once (one epoch).

    X: [N, ...]  y: [N]   ->   xb: [B, ...]  yb: [B]   (last batch may be shorter)
    uint8 pixels in X come out as float32 in [0, 1] (as_float), one batch at a time.
    """
    N = X.shape[0]
    if y.shape[0] != N:
        raise ValueError(f"X has {N} rows but y has {y.shape[0]} labels")
    if not shuffle:  # slices are views: no copying needed
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        for start in range(0, N, batch_size):
            yield as_float(X[start:start + batch_size]), y[start:start + batch_size]
        return
    for idx in batch_indices(N, batch_size, shuffle=True, generator=generator):
        yield as_float(X[idx]), y[idx]  # fancy indexing gathers rows: [B, ...], [B]


# ---------------------------------------------------------------------------
# 2. Toy 2-D datasets
# ---------------------------------------------------------------------------

DATASETS_2D = ["spiral", "moons", "circles", "xor", "blobs"]

# (fewest, most) classes each dataset can have; the default is in DEFAULT_CLASSES_2D.
CLASSES_2D = {"spiral": (2, 10), "moons": (2, 2), "circles": (2, 2),
              "xor": (2, 2), "blobs": (2, 10)}
DEFAULT_CLASSES_2D = {"spiral": 3, "moons": 2, "circles": 2, "xor": 2, "blobs": 3}

MAX_POINTS_2D = 1_000_000


def _class_sizes(n, k):
    """Split n points over k classes as evenly as possible: 10 over 3 -> [4, 3, 3]."""
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _spiral(sizes, g):
    parts = []
    k = len(sizes)
    for c, m in enumerate(sizes):
        r = torch.linspace(0.05, 1.0, m)                  # [m] radius grows along the arm
        t = 2 * math.pi * c / k + 4.0 * r                 # [m] angle: arm c starts at 2*pi*c/k
        parts.append(torch.stack([r * torch.cos(t), r * torch.sin(t)], dim=1))
    return parts


def _moons(sizes, g):
    t0 = torch.rand(sizes[0], generator=g) * math.pi     # upper half circle
    t1 = torch.rand(sizes[1], generator=g) * math.pi     # lower half circle, shifted
    upper = torch.stack([torch.cos(t0), torch.sin(t0)], dim=1)
    lower = torch.stack([1 - torch.cos(t1), 0.5 - torch.sin(t1)], dim=1)
    shift = torch.tensor([0.5, 0.25])                     # centre the pair on (0, 0)
    return [upper - shift, lower - shift]


def _circles(sizes, g):
    parts = []
    for c, radius in enumerate([1.0, 0.5]):               # class 0 outside, class 1 inside
        t = torch.rand(sizes[c], generator=g) * 2 * math.pi
        parts.append(radius * torch.stack([torch.cos(t), torch.sin(t)], dim=1))
    return parts


def _xor(sizes, g):
    # label = (x > 0) XOR (y > 0): class 0 in quadrants I and III, class 1 in II and IV
    parts = []
    for c, m in enumerate(sizes):
        p = torch.rand(m, 2, generator=g) * 0.9 + 0.05    # [m, 2] in the first quadrant
        flip = torch.randint(0, 2, (m,), generator=g) * 2 - 1   # +1 or -1 per point
        if c == 0:
            p = p * flip[:, None]                         # (+,+) or (-,-)
        else:
            p = p * torch.stack([flip, -flip], dim=1)     # (+,-) or (-,+)
        parts.append(p)
    return parts


def _blobs(sizes, g):
    k = len(sizes)
    parts = []
    for c, m in enumerate(sizes):
        angle = 2 * math.pi * c / k                       # centres evenly on the unit circle
        centre = torch.tensor([math.cos(angle), math.sin(angle)])
        parts.append(centre.expand(m, 2).clone())
    return parts


_MAKERS_2D = {"spiral": _spiral, "moons": _moons, "circles": _circles,
              "xor": _xor, "blobs": _blobs}


def make_2d(name, n=300, noise=0.1, seed=0, n_classes=None):
    """A 2-D classification dataset: X [n, 2] float32, y [n] int64 in 0..n_classes-1.

    name       one of DATASETS_2D:
               "spiral"  n_classes interleaved spiral arms (2..10, default 3)
               "moons"   two interleaving half circles (exactly 2 classes)
               "circles" a ring around a smaller ring (exactly 2 classes)
               "xor"     opposite quadrants share a class (exactly 2 classes)
               "blobs"   n_classes round clusters around the unit circle (2..10, default 3)
    n          total number of points, shared as evenly as possible by the classes
    noise      standard deviation of Gaussian noise added to each coordinate
               (for blobs it is the spread of each cluster; 0 puts every point on its centre)
    seed       same seed -> same points
    Points are shuffled (classes mixed); coordinates lie roughly in [-1.5, 1.5].
    """
    key = str(name).lower()
    if key not in _MAKERS_2D:
        raise ValueError(f"unknown 2-D dataset {name!r}; choose one of {', '.join(DATASETS_2D)}")
    lo, hi = CLASSES_2D[key]
    k = DEFAULT_CLASSES_2D[key] if n_classes is None else n_classes
    if isinstance(k, bool) or not isinstance(k, int) or not lo <= k <= hi:
        allowed = f"exactly {lo}" if lo == hi else f"{lo} to {hi}"
        raise ValueError(f"{key} supports {allowed} classes, got n_classes={n_classes!r}")
    if isinstance(n, bool) or not isinstance(n, int) or not k <= n <= MAX_POINTS_2D:
        raise ValueError(f"n must be a whole number from {k} (one point per class) "
                         f"to {MAX_POINTS_2D:,}, got {n!r}")
    noise = float(noise)
    if not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")

    g = torch.Generator().manual_seed(int(seed))
    sizes = _class_sizes(n, k)
    parts = _MAKERS_2D[key](sizes, g)                                  # k tensors [m_c, 2]
    X = torch.cat(parts).float()                                       # [n, 2]
    y = torch.cat([torch.full((m,), c, dtype=torch.int64) for c, m in enumerate(sizes)])
    X = X + noise * torch.randn(n, 2, generator=g)                     # [n, 2]
    order = torch.randperm(n, generator=g)                             # mix the classes
    return X[order].contiguous(), y[order].contiguous()


def train_test_split(X, y, test_fraction=0.2, seed=0):
    """Shuffle rows, keep round(N * test_fraction) for testing (at least one row each side).

    Returns X_train, X_test, y_train, y_test (the order scikit-learn uses).
    """
    N = X.shape[0]
    if y.shape[0] != N:
        raise ValueError(f"X has {N} rows but y has {y.shape[0]} labels")
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must be strictly between 0 and 1, got {test_fraction!r}")
    if N < 2:
        raise ValueError(f"need at least 2 rows to split, got {N}")
    n_test = min(max(round(N * float(test_fraction)), 1), N - 1)
    order = torch.randperm(N, generator=torch.Generator().manual_seed(int(seed)))
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


# ---------------------------------------------------------------------------
# 2b. Your own 2-D points, from a CSV file
# ---------------------------------------------------------------------------

CSV_MAX_BYTES = 1_000_000     # 1 MB: far more than 5,000 rows of three short numbers need
CSV_MAX_ROWS = 5_000          # points (data rows below the header)
CSV_MIN_POINTS = 10           # enough to hold some out for testing
CSV_MIN_PER_CLASS = 3         # a class needs a few points to appear on both sides of the split
CSV_MAX_CLASSES = 10
CSV_LABEL_NAMES = ("label", "class", "target")   # header names that mark the label column (any case)
CSV_RULE = ("The first row is a header that names the columns. The label is the column named "
            "`label`, `class` or `target` (any capitals); if there is none, the last column. The two "
            "coordinates are the first two other columns, from the left; any further columns are ignored. "
            "Labels may be words or numbers: the classes are numbered 0, 1, 2, ... in sorted order.")
FLOAT32_MAX = torch.finfo(torch.float32).max      # about 3.4e38
CSV_MAX_ABS = 1e6      # largest coordinate (in size) a file may hold; see parse_points_csv

# what the first bytes of common non-text files look like -> what to call them
_BINARY_SIGNATURES = [
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx or LibreOffice .ods workbook is one)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook"),
    (b"\x1f\x8b", "a gzip-compressed file"),
]
_SAVE_AS_CSV = ("Export your points as plain text instead: in a spreadsheet, File > Save As (or Download) "
                "> \"CSV UTF-8 (comma-separated)\"; renaming a file to .csv does not change what is inside.")


def _quote(text, limit=40):
    """A piece of the visitor's file (a cell, a column name, a label) for an error message: one line, at most
    `limit` characters, backticks made quotes, inside backticks, so that a page showing the message as
    markdown shows it as code, exactly as written, never as a link, an image or formatting."""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in str(text)).split())
    text = text if len(text) <= limit else text[:limit - 3] + "..."
    return "`" + text.replace("`", "'") + "`"


def _size(n_bytes):
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes:,} bytes"


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def _decode_csv_bytes(raw, max_bytes):
    """Bytes of an uploaded file -> its text, or ValueError saying why it is not a usable text file."""
    if len(raw) == 0 or not raw.strip():
        raise ValueError("The file is empty. A CSV file for this page is text: a header row such as "
                         "`x,y,label`, then one point per row, e.g. `0.5,-1.2,cat`.")
    if len(raw) > max_bytes:
        raise ValueError(f"The file is {_size(len(raw))}, more than the {_size(max_bytes)} this page accepts. "
                         f"Keep at most {CSV_MAX_ROWS:,} points (a random sample of your rows is fine) "
                         "and upload the smaller file.")
    for signature, kind in _BINARY_SIGNATURES:
        if raw.startswith(signature):
            raise ValueError(f"This is {kind}, not a CSV text file. {_SAVE_AS_CSV}")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError("The file is saved as UTF-16 text (Excel calls it \"Unicode Text\"), which this page "
                         "cannot read. Save it again as \"CSV UTF-8 (comma-separated)\".")
    if b"\x00" in raw:
        raise ValueError(f"The file contains zero bytes, so it is a binary file, not text. {_SAVE_AS_CSV}")
    try:
        return raw.decode("utf-8-sig")          # -sig: drop the byte-order mark Excel puts in front
    except UnicodeDecodeError as e:
        raise ValueError(
            f"The file is not UTF-8 text: byte 0x{raw[e.start]:02X} at position {e.start:,} is not valid "
            "UTF-8. If it comes from a spreadsheet, save it as \"CSV UTF-8 (comma-separated)\"; "
            "if it is not a text file, export your points as CSV first.") from None


def _pick_columns(header):
    """(index of x1, index of x2, index of the label, indices ignored) for a header row (see CSV_RULE)."""
    labels = [i for i, name in enumerate(header) if name.lower() in CSV_LABEL_NAMES]
    if len(labels) > 1:
        names = " and ".join(_quote(header[i]) for i in labels)
        raise ValueError(f"Columns {names} could both be the label column. Rename or delete all but one.")
    label = labels[0] if labels else len(header) - 1
    others = [i for i in range(len(header)) if i != label]
    return others[0], others[1], label, others[2:]


def parse_points_csv(raw, max_bytes=CSV_MAX_BYTES, max_rows=CSV_MAX_ROWS, min_points=CSV_MIN_POINTS,
                     min_per_class=CSV_MIN_PER_CLASS, max_classes=CSV_MAX_CLASSES):
    """Read a learner's CSV of labelled 2-D points.

    raw: the file's bytes (or str). Returns (X, y, class_names, columns):
        X            [N, 2] float32, the two coordinates exactly as written in the file
        y            [N] int64 in 0..K-1
        class_names  [K] str: class k is class_names[k] (labels sorted: numerically if they
                     are all numbers, else alphabetically)
        columns      {"x1": name, "x2": name, "label": name, "ignored": [names]} as in the header
    Which column is which: see CSV_RULE. The separator is a comma, or a semicolon / tab when the
    header row holds no comma. Blank rows are skipped; rows are numbered like a spreadsheet's
    (the header is row 1).
    Raises ValueError, with a message that says what is wrong and how to fix it, for: an empty,
    too large or non-text file; broken CSV quoting; a missing header or fewer than 3 columns;
    more than max_rows rows; a missing, non-numeric or non-finite coordinate; a missing label;
    fewer than min_points points; fewer than 2 or more than max_classes classes; a class with
    fewer than min_per_class points.
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    text = _decode_csv_bytes(bytes(raw), max_bytes)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "," if "," in first_line else ";" if ";" in first_line else "\t" if "\t" in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)

    header, columns, rows = None, None, []          # rows: (row number, [x1, x2], label text)
    try:
        for cells in reader:
            cells = [c.strip() for c in cells]
            while cells and not cells[-1]:          # trailing separators (some spreadsheets add them)
                cells.pop()
            if not cells:                           # blank row
                continue
            line = reader.line_num
            if header is None:
                if sum(_is_number(c) for c in cells) >= 2:
                    raise ValueError(
                        f"Row {line} ({_quote(delimiter.join(cells), 60)}) looks like data, not a header. Add a first "
                        "row that names the columns, e.g. `x,y,label`.")
                if len(cells) < 3:
                    shown = ", ".join(_quote(c) for c in cells)
                    raise ValueError(
                        f"The header row has {len(cells)} column{'s' if len(cells) != 1 else ''} ({shown}); "
                        "3 are needed: two coordinates and a label, e.g. `x,y,label`. Separate the columns "
                        "with commas.")
                header = [c or f"column {i + 1}" for i, c in enumerate(cells)]
                columns = _pick_columns(header)
                continue
            if len(rows) >= max_rows:
                raise ValueError(f"The file has more than {max_rows:,} points (rows below the header); this page "
                                 f"trains on at most {max_rows:,}. Keep a random sample of your rows.")
            if len(cells) > len(header):
                raise ValueError(
                    f"Row {line} has {len(cells)} values but the header names {len(header)} columns. A stray "
                    "separator? Decimals take a dot (1.5, not 1,5), and a value that contains a comma must be "
                    "inside double quotes.")
            i1, i2, il, _ = columns
            point = []
            for i in (i1, i2):
                cell = cells[i] if i < len(cells) else ""
                if not cell:
                    raise ValueError(f"Row {line} has no value in column {_quote(header[i])} (a missing value). "
                                     "Fill it in or delete the row.")
                try:
                    value = float(cell)
                except ValueError:
                    hint = " Decimals take a dot: 1.5, not 1,5." if "," in cell else ""
                    raise ValueError(f"Row {line}, column {_quote(header[i])}: {_quote(cell)} is not a number. "
                                     f"Coordinates must be plain numbers such as 0.5, -2 or 1e-3.{hint}") from None
                if not math.isfinite(value):
                    raise ValueError(f"Row {line}, column {_quote(header[i])}: {_quote(cell)} is not a finite number. Every "
                                     "coordinate must be an ordinary number (no inf or nan); if it marks a "
                                     "missing value, fill it in or delete the row.")
                if abs(value) > CSV_MAX_ABS:
                    raise ValueError(
                        f"Row {line}, column {_quote(header[i])}: {_quote(cell)} is larger than this page accepts: "
                        f"coordinates must lie between -{CSV_MAX_ABS:,.0f} and {CSV_MAX_ABS:,.0f}. The network trains "
                        "on standardised coordinates, and their standard deviation squares every value: past about "
                        "1e19 that overflows a 32-bit float (largest 3.4e38), and far sooner 32-bit floats keep only "
                        "7 digits, so small differences between large numbers are lost. Rescale the column, e.g. "
                        "divide it by 1,000.")
                point.append(value)
            label = cells[il] if il < len(cells) else ""
            if not label:
                raise ValueError(f"Row {line} has no label (column {_quote(header[il])} is empty). Give every point "
                                 "a class or delete the row.")
            rows.append((line, point, label))
    except csv.Error as e:
        raise ValueError(f"Row {reader.line_num} cannot be read as CSV ({e}). Check the double quotes: a quote "
                         "must open and close a whole value, like \"a, b\".") from None

    if header is None:   # cannot happen after _decode_csv_bytes, but say something sensible if it does
        raise ValueError("The file holds no rows. Start with a header row such as `x,y,label`.")
    i1, i2, il, ignored = columns
    if len(rows) < min_points:
        found = "no rows below the header" if not rows else f"only {len(rows)} point{'s' if len(rows) != 1 else ''}"
        raise ValueError(f"The file has {found}; at least {min_points} points are needed so that some can be "
                         "held out for testing. Add more rows.")

    texts = sorted({label for _, _, label in rows})
    if all(_is_number(t) and math.isfinite(float(t)) for t in texts):
        key = {t: float(t) for t in texts}                       # "1", "1.0" and "01" are one class
        values = sorted(set(key.values()))
        names = [str(int(v)) if v.is_integer() else f"{v:g}" for v in values]
        index = {t: values.index(v) for t, v in key.items()}
    else:
        names = texts
        index = {t: k for k, t in enumerate(texts)}
    if len(names) < 2:
        raise ValueError(f"Every point has the same label ({_quote(names[0])}): with one class there is nothing to "
                         f"tell apart. Use at least 2 classes in column {_quote(header[il])}.")
    if len(names) > max_classes:
        raise ValueError(f"Column {_quote(header[il])} has {len(names)} different labels; this page handles at most "
                         f"{max_classes} classes. If {_quote(header[il])} is a measurement rather than a class, name "
                         "the class column `label`.")
    y = torch.tensor([index[label] for _, _, label in rows], dtype=torch.int64)         # [N]
    counts = torch.bincount(y, minlength=len(names))                                    # [K]
    for k, count in enumerate(counts.tolist()):
        if count < min_per_class:
            raise ValueError(f"Class {_quote(names[k])} has only {count} point{'s' if count != 1 else ''}; every class needs "
                             f"at least {min_per_class} so that it can appear among both the training and the test "
                             "points. Add points of that class or delete its rows.")
    X = torch.tensor([point for _, point, _ in rows], dtype=torch.float32)             # [N, 2]
    return X, y, names, {"x1": header[i1], "x2": header[i2], "label": header[il],
                         "ignored": [header[i] for i in ignored]}


def points_csv(X, y, class_names=None, header=("x", "y", "label"), digits=4):
    """The other direction: X [N, 2] and y [N] as CSV text that parse_points_csv reads back.

    class_names[k] is written for class k (default: the number k); coordinates are rounded to `digits`.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for (a, b), k in zip(X.tolist(), y.tolist()):
        writer.writerow([round(a, digits), round(b, digits), k if class_names is None else class_names[k]])
    return out.getvalue()


def fit_standardizer(X):
    """Per-column mean [F] and standard deviation [F] of X [N, F] (float32, computed in float64).

    The population std (divide by N), as sklearn's StandardScaler; a constant column gets std 1,
    so standardising only shifts it.
    """
    X64 = X.double()
    mean = X64.mean(dim=0)                                  # [F]
    std = X64.std(dim=0, correction=0)                      # [F]
    std = torch.where(std > 0, std, torch.ones_like(std))
    return mean.float(), std.float()


def standardize(X, mean, std):
    """(X - mean) / std column by column: [N, F] -> [N, F]; with the training points' mean and std
    every column of the training set ends up with mean 0 and std 1."""
    return (X - mean) / std


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
DOWNLOAD_HINT = ("run `python -m core.data download` (or call core.data.download_mnist()) "
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


def to_float(pixels):
    """uint8 pixels 0..255 -> float32 in [0, 1], the numbers load_mnist returns: [..., 784] -> [..., 784].

    Exactly pixels.float() / 255.0; dividing in place (div_) makes one new tensor instead of two.
    """
    return pixels.float().div_(255.0)


def as_float(rows):
    """Rows ready for the network: uint8 pixels become float32 in [0, 1] (to_float), anything else is returned
    as it is. batches() and core.metrics call it on each mini-batch or chunk, the job a DataLoader's
    transform does, so a dataset can stay in memory as bytes (60,000 MNIST images: 47 MB, not 188 MB)."""
    return to_float(rows) if rows.dtype == torch.uint8 else rows


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

    def disk_full(name, e):
        return MnistDiskFullError(
            f"the disk is full: no room left in {folder} for {name} ({MNIST_BYTES[name] / 1e6:.1f} MB; "
            f"{total / 1e6:.1f} MB in all). Free some space, or pass root= a folder on another disk "
            f"and point MNIST_DIR at it ({e.strerror or e}).")

    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = tempfile.TemporaryFile(dir=folder)  # fail early on a read-only folder
        probe.close()
    except OSError as e:
        if _disk_full(e):
            raise disk_full(names[0], e) from e
        raise MnistDownloadError(
            f"cannot write to {folder} ({e.strerror or e}); pass root= a writable folder "
            f"(or run `python -m core.data download --root DIR`) and point MNIST_DIR at it.") from e

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

            def report(got, length, name=name, url=url):
                part = min(got / MNIST_BYTES[name], 1.0) * MNIST_BYTES[name]
                say((done + part) / total, f"downloading {name} from {url}: {got / 1e6:.1f} MB")

            try:
                _fetch(url, dest, MNIST_MD5[name], MNIST_BYTES[name], timeout, stop_at, report)
                fetched = True
                break
            except MnistDownloadError as e:
                errors.append(str(e))
            except urllib.error.HTTPError as e:
                errors.append(f"{url}: HTTP {e.code} {e.reason}")
            except urllib.error.URLError as e:
                errors.append(f"{url}: cannot connect ({e.reason})")
            except PermissionError as e:
                raise MnistDownloadError(f"cannot write to {folder}: {e}; pass root= a writable folder.") from e
            except OSError as e:
                if _disk_full(e):
                    raise disk_full(name, e) from e
                errors.append(f"{url}: {type(e).__name__}: {e}")   # timeouts, resets
            except (ValueError, http.client.HTTPException) as e:
                errors.append(f"{url}: {type(e).__name__}: {e}")
        if fetched:
            done += MNIST_BYTES[name]
            say(done / total, f"{name} downloaded and verified")
            continue
        tried = "\n  ".join(errors) or "(no mirror was tried)"
        if time.monotonic() >= stop_at:
            raise MnistDownloadError(
                f"the download was stopped after the {float(deadline):g} s time limit: the mirrors sent "
                f"{name} too slowly.\n  {tried}\nTry again later, or copy the MNIST .gz files into "
                f"{folder} by hand, or set MNIST_DIR to a folder that holds them.")
        raise MnistDownloadError(
            f"could not download {name} from any mirror:\n  {tried}"
            f"\nCheck the internet connection (this machine may have none), or copy the MNIST "
            f".gz files into {folder} by hand, or set MNIST_DIR to a folder that holds them.")
    say(1.0, f"MNIST files ready in {folder}")
    return folder


def _main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(prog="python -m core.data", description="MNIST helper")
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


if __name__ == "__main__":
    sys.exit(_main())


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
