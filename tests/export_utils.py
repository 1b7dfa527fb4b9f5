"""Run a downloadable script in-process: fill exports/<name>.py with a page's settings, write it where a visitor
would put it, and run it as __main__ (runpy), returning what it printed."""
import contextlib
import io
import runpy

import torch

import exports


def run_export(name, settings, tmp_path):
    """stdout of the filled exports/<name>.py run as a script from tmp_path/<name>.py (the repo root is on sys.path)."""
    path = tmp_path / f"{name}.py"
    path.write_text(exports.fill(name, settings), encoding="utf-8")
    threads, out = torch.get_num_threads(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(str(path), run_name="__main__")
    finally:
        torch.set_num_threads(threads)  # a script may pin torch to one thread, as a standalone run does
    return out.getvalue()


def printed_pairs(text):
    """{name: value} of a script's "name value" lines."""
    return dict(line.split(" ", 1) for line in text.splitlines() if " " in line)
