"""datasets.points_csv.parse_points_csv: a learner's own CSV of 2-D points, every rejection and its message."""
import math
import re
import struct
import zlib

import pytest
import torch

from core import data
from datasets import points_csv


def _csv(rows, header="x,y,label"):
    return (header + "\n" + "\n".join(rows) + "\n").encode()


def _good_rows(n_per_class=5, labels=("a", "b")):
    return [f"{i * 0.1:.1f},{-i * 0.2:.1f},{lab}" for lab in labels for i in range(n_per_class)]


def _png():
    """A real 1x1 PNG file."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def _rejects(raw, *fragments, **limits):
    with pytest.raises(ValueError) as e:
        points_csv.parse_points_csv(raw, **limits)
    message = str(e.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


# ----------------------------------------------------------------- good files
def test_round_trip_of_a_generated_dataset():
    X, y = data.make_2d("spiral", n=300, noise=0.1, seed=0, n_classes=3)
    text = points_csv.points_csv(X, y, ["A", "B", "C"])
    X2, y2, names, columns = points_csv.parse_points_csv(text.encode())
    assert names == ["A", "B", "C"]
    assert columns == {"x1": "x", "x2": "y", "label": "label", "ignored": []}
    assert X2.dtype == torch.float32 and X2.shape == (300, 2)
    assert y2.dtype == torch.int64 and torch.equal(y2, y)           # row order kept
    assert torch.allclose(X2, X, atol=5e-5)                         # rounded to 4 digits, not rescaled


def test_string_labels_are_numbered_in_sorted_order():
    rows = [f"{i},{i % 3},{lab}" for i, lab in enumerate(["dog", "cat", "emu"] * 4)]
    X, y, names, _ = points_csv.parse_points_csv(_csv(rows))
    assert names == ["cat", "dog", "emu"]
    assert y[:3].tolist() == [1, 0, 2]
    assert X[4].tolist() == [4.0, 1.0]


def test_number_labels_sort_numerically_and_equal_numbers_are_one_class():
    rows = [f"{i},{i},{lab}" for i, lab in enumerate(["10", "2", "2.0", "10"] * 3)]
    _, y, names, _ = points_csv.parse_points_csv(_csv(rows))
    assert names == ["2", "10"]                                   # not "10" < "2" as text would sort
    assert y[:4].tolist() == [1, 0, 0, 1]


def test_label_column_by_name_anywhere_and_extra_columns_ignored():
    rows = [f"{lab},{i},{i * 2},{i * 3},note" for i, lab in enumerate(["p", "q"] * 6)]
    X, y, names, columns = points_csv.parse_points_csv(_csv(rows, header="CLASS,id,height,weight,comment"))
    assert columns == {"x1": "id", "x2": "height", "label": "CLASS", "ignored": ["weight", "comment"]}
    assert X[3].tolist() == [3.0, 6.0] and names == ["p", "q"]


def test_without_a_label_name_the_last_column_is_the_label():
    rows = [f"{i},{i},{i % 2}" for i in range(12)]
    _, y, names, columns = points_csv.parse_points_csv(_csv(rows, header="a,b,c"))
    assert columns["label"] == "c" and names == ["0", "1"]


def test_tolerated_variations():
    """BOM, Windows line ends, spaces, blank rows, trailing separators, quotes, semicolons, tabs."""
    rows = _good_rows()
    windows = ("\ufeffx , y , label\r\n" + "\r\n".join(r.replace(",", " , ") + "," for r in rows) + "\r\n\r\n")
    X, y, names, _ = points_csv.parse_points_csv(windows.encode("utf-8"))
    assert X.shape == (10, 2) and names == ["a", "b"]
    quoted = _csv([f'"{r.split(",")[0]}",{r.split(",")[1]},"label, with comma {r[-1]}"' for r in rows])
    assert points_csv.parse_points_csv(quoted)[2] == ["label, with comma a", "label, with comma b"]
    semicolon = _csv([r.replace(",", ";") for r in rows], header="x;y;label")
    tab = _csv([r.replace(",", "\t") for r in rows], header="x\ty\tlabel")
    for raw in (semicolon, tab):
        assert torch.equal(points_csv.parse_points_csv(raw)[0], X)


def test_standardizer_uses_population_std_and_leaves_constant_columns_unscaled():
    X = torch.tensor([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    mean, std = data.fit_standardizer(X)
    assert mean.tolist() == [3.0, 5.0]
    assert std.tolist() == pytest.approx([math.sqrt(8 / 3), 1.0])
    Z = data.standardize(X, mean, std)
    assert Z[:, 0].mean().item() == pytest.approx(0, abs=1e-6) and Z[:, 0].std(correction=0).item() == pytest.approx(1)
    assert Z[:, 1].tolist() == [0.0, 0.0, 0.0]


# ----------------------------------------------------------------- rejections
def test_empty_file():
    _rejects(b"", "empty", "x,y,label")
    _rejects(b"  \n\n ", "empty")


def test_file_too_large():
    _rejects(b"x" * 1_000_001, "1.0 MB", "5,000 points")
    _rejects(_csv(_good_rows()), "more than the 20 bytes", max_bytes=20)


def test_too_many_rows():
    _rejects(_csv(_good_rows(n_per_class=6)), "more than 11 points", "random sample", max_rows=11)


def test_a_png_renamed_to_csv():
    _rejects(_png(), "PNG image", "not a CSV", "renaming")


@pytest.mark.parametrize("raw,fragment", [
    (b"PK\x03\x04\x14\x00\x00\x00", "Excel .xlsx"),
    (b"%PDF-1.4\n", "PDF"),
    ("x,y,label\n1,2,a\n".encode("utf-16"), "UTF-16"),
    (b"x,y,label\n1,2\x00,a\n", "binary file"),
])
def test_other_binary_files(raw, fragment):
    _rejects(raw, fragment)


def test_not_utf8():
    latin1 = _csv(_good_rows(labels=("caf\u00e9", "th\u00e9"))).decode().encode("latin-1")
    _rejects(latin1, "not UTF-8", "0xE9", "CSV UTF-8")


def test_broken_quotes():
    _rejects(b'x,y,label\n1,2,"open\n3,4,a\n', "cannot be read as CSV", "double quotes")
    _rejects(b'x,y,label\n1,2,"a"b\n', "Row 2 cannot be read as CSV")


def test_no_header():
    _rejects(_csv(_good_rows()[1:], header="0.0,-0.0,a"), "Row 1", "looks like data", "x,y,label")


@pytest.mark.parametrize("header,count", [("x,y", "2 columns"), ("points", "1 column")])
def test_fewer_than_three_columns(header, count):
    _rejects(_csv(["1,2"] * 12, header=header), count, "3 are needed", "x,y,label")


def test_two_label_columns():
    _rejects(_csv(["1,2,a,b"] * 12, header="x,y,label,class"), "`label` and `class`", "Rename")


def test_too_many_values_in_a_row():
    rows = _good_rows()
    rows[3] = "1,5,2.5,a"
    _rejects(_csv(rows), "Row 5 has 4 values", "header names 3 columns", "1.5, not 1,5")


def test_non_numeric_coordinate_names_row_and_column():
    rows = _good_rows()
    rows[6] = "0.3,abc,b"
    _rejects(_csv(rows), "Row 8, column `y`: `abc` is not a number")
    rows = [r.replace(",", ";") for r in _good_rows()]
    rows[0] = "0,5;1;a"
    _rejects(_csv(rows, header="x;y;label"), "Row 2, column `x`", "1.5, not 1,5")


@pytest.mark.parametrize("bad_row,fragment", [
    (",1,a", "Row 4 has no value in column `x`"),
    ("1,,a", "Row 4 has no value in column `y`"),
    ("1", "Row 4 has no value in column `y`"),
    ("1,2,", "Row 4 has no label (column `label` is empty)"),
    ("1,2", "Row 4 has no label"),
])
def test_missing_values_name_the_row(bad_row, fragment):
    rows = _good_rows()
    rows[2] = bad_row
    _rejects(_csv(rows), fragment)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "NaN", "1e400"])
def test_non_finite_coordinates(value):
    rows = _good_rows()
    rows[1] = f"{value},0,a"
    _rejects(_csv(rows), f"Row 3, column `x`: `{value}` is not a finite number")


@pytest.mark.parametrize("value", ["1e39", "3.3e38", "-3.3e38", "1000001", "-2e6"])
def test_coordinate_too_large_is_refused_with_the_limit_and_why(value):
    """3.3e38 fits in float32 but standardising it overflows: the page used to blame the learning rate."""
    rows = _good_rows()
    rows[1] = f"{value},0,a"
    _rejects(_csv(rows), "Row 3", f"`{value}` is larger than this page accepts", "-1,000,000 and 1,000,000",
             "standard deviation")


def test_coordinates_up_to_a_million_are_kept_exactly():
    rows = _good_rows()
    rows[1] = "1000000,-1e6,a"
    X, *_ = points_csv.parse_points_csv(_csv(rows))
    assert X[1].tolist() == [1e6, -1e6]


HOSTILE = "a`[x](https://evil.example/l)`\n\n![i](https://evil.example/t.png)\n\n[y](https://evil.example) `"


@pytest.mark.parametrize("where", ["header", "cell", "label"])
def test_file_content_quoted_in_a_message_stays_inside_one_code_span(where):
    """Whatever the file holds, a message quotes it on one line inside one backtick code span: no backtick to
    close the span early, no blank line to end the paragraph (page 7 shows these messages as markdown)."""
    files = {
        "header": f'"{HOSTILE}",y,label\n' + "\n".join(_good_rows() + ["oops,1,a"]) + "\n",  # not a number
        "cell": _csv(_good_rows() + [f'"{HOSTILE}",1,a']).decode(),                          # not a number
        "label": _csv(_good_rows() + [f'1,1,"{HOSTILE}"']).decode(),                         # a 1-point class
    }
    message = _rejects(files[where].encode())
    assert "\n" not in message and "evil.example" in message
    outside_code = re.sub(r"`[^`]*`", "", message)
    assert "evil" not in outside_code and "](" not in outside_code, message


def test_too_few_points():
    _rejects(_csv([]), "no rows below the header", "at least 10")
    _rejects(_csv(["1,2,a", "2,3,b", "3,4,a"]), "only 3 points", "at least 10")


def test_one_class_only():
    _rejects(_csv(_good_rows(n_per_class=12, labels=("same",))), "same label (`same`)", "at least 2 classes")


def test_too_many_classes():
    rows = [f"{i},{i},{i * 0.37:.2f}" for i in range(40)]
    _rejects(_csv(rows, header="x,y,price"), "`price` has 40 different labels", "at most 10",
             "name the class column `label`")


def test_a_class_with_too_few_points():
    rows = _good_rows() + ["9,9,rare", "8,8,rare"]
    _rejects(_csv(rows), "Class `rare` has only 2 points", "at least 3", "training and the test")
