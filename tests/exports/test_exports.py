"""exports/: every downloadable script is a real file with a SETTINGS block; fill() writes only plain literals."""
import ast
import os
import subprocess
import sys

import pytest

import exports
from tests.export_utils import run_export

NAMES = sorted(p.stem for p in exports.HERE.glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("name", NAMES)
def test_every_export_has_settings_and_a_main(name):
    text = exports.source(name)
    tree = ast.parse(text)
    assert isinstance(exports.defaults(name), dict) and exports.defaults(name)
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "main" in functions
    last = tree.body[-1]  # if __name__ == "__main__": ... main()
    assert isinstance(last, ast.If) and ast.unparse(last.test) == "__name__ == '__main__'"
    assert ast.unparse(last.body[-1]) == "main()"
    assert ast.parse(exports.fill(name, {}))  # the defaults fill back in and parse


@pytest.mark.parametrize("name", NAMES)
def test_every_export_calls_a_lab_by_its_module_name(name):
    """A student reading the script finds `labs.ch05_optimizers` from `ch05_optimizers.race(...)`: no aliases."""
    for node in ast.walk(ast.parse(exports.source(name))):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and (getattr(node, "module", None) or "").split(".")[0] in (
                "labs", "core", "datasets"):
            assert all(a.asname is None for a in node.names), ast.unparse(node)


@pytest.mark.parametrize("name", NAMES)
def test_every_export_is_offered_by_the_page_of_the_same_name(name):
    view = (exports.HERE.parent / "views" / f"{name}.py").read_text()
    assert f'exports.fill("{name}"' in view and f'"{name}.py"' in view


def test_numpy_and_tuple_values_become_plain_literals():
    import numpy as np
    filled = exports.fill("ch09_gpu", {"batches": (np.int64(1), 64), "budget_s": np.float32(0.5), "threads": 2})
    assert "'batches': (1, 64)" in filled and "'budget_s': 0.5" in filled and "np." not in filled


@pytest.mark.parametrize("bad", [
    {"lr": float("nan")}, {"lr": float("inf")}, {"lr": object()}, {"lr": b"bytes"},
    {"params": {("tuple", "key"): 1.0}}, {"unknown_key": 1},
])
def test_fill_refuses_anything_but_plain_literals(bad):
    with pytest.raises(ValueError):
        exports.fill("t0_first_network", bad)


def test_hostile_text_stays_a_string(tmp_path):
    text = '"""\nimport os; os.system("echo owned")\n# --- end of settings ---\n'
    filled = exports.fill("t0_first_network", {"params": {"w00": 1.0, text: 2.0}})
    settings = ast.literal_eval(exports._split(filled)[1].split("=", 1)[1])
    assert settings["params"][text] == 2.0  # the text is data inside the dict, nothing else changed
    assert exports._split(filled)[0] == exports._split(exports.source("t0_first_network"))[0]
    assert exports._split(filled)[2] == exports._split(exports.source("t0_first_network"))[2]


def test_a_str_subclass_with_its_own_repr_is_written_as_plain_text():
    sneaky = type("S", (str,), {"__repr__": lambda s: "__import__('os').system('x')"})("x")
    filled = exports.fill("t0_first_network", {"params": {"w00": 1.0, sneaky: 2.0}})
    assert "__import__" not in filled and "'x': 2.0" in filled


def test_names_are_module_names_not_paths():
    with pytest.raises(ValueError):
        exports.source("../app")


def test_t0_first_network_prints_the_tutorials_numbers(tmp_path):
    out = run_export("t0_first_network", {}, tmp_path)
    assert "stop_epoch 34" in out and "final_bias -16.0019" in out


@pytest.mark.slow
def test_a_downloaded_script_runs_standalone_from_the_repo_root(tmp_path):
    """The real thing once: a visitor saves the file in the repository root and runs `python <name>.py`."""
    root = exports.HERE.parent
    script = root / f"_test_download_{os.getpid()}.py"
    script.write_text(exports.fill("t0_first_network", {"lr": 0.1}))
    try:
        out = subprocess.run([sys.executable, script.name], cwd=root, capture_output=True, text=True,
                             timeout=120, check=True).stdout
    finally:
        script.unlink()
    assert "stop_epoch 34" in out and "final_bias -16.0019" in out
