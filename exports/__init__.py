"""Downloadable scripts: real, runnable .py files, one per page that offers one (named like the page's view).

Each file starts with a SETTINGS block, a single dict literal between two marker lines:

    # --- settings: the page fills these in when you download this script ---
    SETTINGS = dict(surface="Ravine", steps=150)
    # --- end of settings ---

and defines `main(settings=SETTINGS)`, which prints the page's numbers. A page offers `fill(name, its values)`:
the same file with the block replaced by `SETTINGS = {repr of the values}`. Widget values are untrusted, so
`fill` accepts only plain literals (int, float, str, bool, None and lists / tuples / dicts of them) whose repr
reads back as the same value; nothing else is ever written into the code.
"""
import ast
import math
import pprint
from pathlib import Path

HERE = Path(__file__).resolve().parent
BEGIN = "# --- settings: the page fills these in when you download this script ---"
END = "# --- end of settings ---"
_SCALARS = (bool, int, str, type(None))


def source(name):
    """The text of exports/<name>.py (name is a module name, e.g. 'ch05_optimizers', never a path)."""
    if not name.isidentifier():
        raise ValueError(f"not an export name: {name!r}")
    return (HERE / f"{name}.py").read_text(encoding="utf-8")


def _split(text):
    """(before, settings block, after) of an export's text; the block excludes the two marker lines."""
    head, begin, rest = text.partition(BEGIN + "\n")
    block, end, tail = rest.partition(END + "\n")
    if not begin or not end:
        raise ValueError("the export has no settings block")
    return head, block, tail


def _literal(node):
    """ast.literal_eval that also reads dict(key=value, ...) (no positional arguments), at any depth."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return {kw.arg: _literal(kw.value) for kw in node.keywords}
    if isinstance(node, ast.List):
        return [_literal(item) for item in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_literal(item) for item in node.elts)
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True)}
    return ast.literal_eval(node)


def defaults(name):
    """The SETTINGS dict written in exports/<name>.py (SETTINGS = dict(...) or {...})."""
    return _literal(ast.parse(_split(source(name))[1]).body[0].value)


def check_literal(value, where="settings"):
    """Raise ValueError unless value is a plain literal: finite numbers, strings, bools, None, containers of them."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value!r} is not a finite number")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_literal(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise ValueError(f"{where}: key {key!r} is not a string or an integer")
            check_literal(item, f"{where}[{key!r}]")
    elif type(value) not in _SCALARS:  # exact types: no subclasses with their own __repr__
        raise ValueError(f"{where}: {type(value).__name__} is not a plain literal")


def _plain(value):
    """Numbers from numpy / torch scalars, exact builtin types: what repr may be trusted with."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value) if type(value) in (list, tuple) else list(map(_plain, value))
    if type(value).__name__ == "bool_" and hasattr(value, "item"):  # numpy's bool
        return bool(value)
    if isinstance(value, int) or type(value).__name__.startswith("int") and hasattr(value, "item"):
        return int(value)
    if isinstance(value, float) or type(value).__name__.startswith("float") and hasattr(value, "item"):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value  # check_literal refuses it


def fill(name, settings):
    """exports/<name>.py with its SETTINGS block set to these values (missing keys keep the file's defaults).

    Raises ValueError for a key the script does not have or a value that is not a plain literal."""
    base = defaults(name)
    unknown = set(settings) - set(base)
    if unknown:
        raise ValueError(f"{name}: unknown settings {sorted(unknown)}")
    values = _plain({**base, **settings})
    check_literal(values)
    literal = pprint.pformat(values, width=110, sort_dicts=False)
    if ast.literal_eval(literal) != values:  # belt and braces: the text reads back as exactly these values
        raise ValueError(f"{name}: settings do not round-trip")
    head, _, tail = _split(source(name))
    return f"{head}{BEGIN}\nSETTINGS = {literal}\n{END}\n{tail}"
