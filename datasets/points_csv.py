"""A learner's own 2-D points, to and from a CSV file: parse_points_csv (every rejection with a message
that says how to fix the file) and points_csv (the other direction).

Returns plain torch tensors: X [N, 2] float32, y [N] int64 class labels.
"""

import csv
import io
import math

import torch


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


def _check_header(cells, line, delimiter):
    """Raise ValueError unless cells (the first non-blank row) can be a header."""
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


def _coordinate(cells, i, line, header):
    """Column i of a data row as a float, or a ValueError that says what is wrong with it."""
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
        raise ValueError(f"Row {line}, column {_quote(header[i])}: {_quote(cell)} is not a finite number. "
                         "Every coordinate must be an ordinary number (no inf or nan); if it marks a "
                         "missing value, fill it in or delete the row.")
    if abs(value) > CSV_MAX_ABS:
        raise ValueError(
            f"Row {line}, column {_quote(header[i])}: {_quote(cell)} is larger than this page accepts: "
            f"coordinates must lie between -{CSV_MAX_ABS:,.0f} and {CSV_MAX_ABS:,.0f}. The network trains "
            "on standardised coordinates, and their standard deviation squares every value: past about "
            "1e19 that overflows a 32-bit float (largest 3.4e38), and far sooner 32-bit floats keep only "
            "7 digits, so small differences between large numbers are lost. Rescale the column, e.g. "
            "divide it by 1,000.")
    return value


def _data_row(cells, line, header, columns, n_rows, max_rows):
    """(x1, x2 as floats, label text) of one data row, or a ValueError that says what is wrong."""
    if n_rows >= max_rows:
        raise ValueError(f"The file has more than {max_rows:,} points (rows below the header); this page "
                         f"trains on at most {max_rows:,}. Keep a random sample of your rows.")
    if len(cells) > len(header):
        raise ValueError(
            f"Row {line} has {len(cells)} values but the header names {len(header)} columns. A stray "
            "separator? Decimals take a dot (1.5, not 1,5), and a value that contains a comma must be "
            "inside double quotes.")
    i1, i2, il, _ = columns
    point = [_coordinate(cells, i, line, header) for i in (i1, i2)]
    label = cells[il] if il < len(cells) else ""
    if not label:
        raise ValueError(f"Row {line} has no label (column {_quote(header[il])} is empty). Give every point "
                         "a class or delete the row.")
    return point, label


def _class_index(rows, header, il, max_classes):
    """(class names, {label text: class number}): numeric labels in numeric order, else alphabetical."""
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
    return names, index


def _check_class_sizes(counts, names, min_per_class):
    """Raise ValueError when a class has fewer than min_per_class points."""
    for k, count in enumerate(counts.tolist()):
        if count < min_per_class:
            raise ValueError(f"Class {_quote(names[k])} has only {count} point{'s' if count != 1 else ''}; "
                             f"every class needs at least {min_per_class} so that it can appear among both the "
                             "training and the test points. Add points of that class or delete its rows.")


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
                _check_header(cells, line, delimiter)
                header = [c or f"column {i + 1}" for i, c in enumerate(cells)]
                columns = _pick_columns(header)
                continue
            point, label = _data_row(cells, line, header, columns, len(rows), max_rows)
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

    names, index = _class_index(rows, header, il, max_classes)
    y = torch.tensor([index[label] for _, _, label in rows], dtype=torch.int64)         # [N]
    counts = torch.bincount(y, minlength=len(names))                                    # [K]
    _check_class_sizes(counts, names, min_per_class)
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
