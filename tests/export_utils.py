"""Run a downloadable script in-process: fill exports/<name>.py with a page's settings, write it where a visitor
would put it, and run it as __main__ (runpy), returning what it printed."""
import contextlib
import io
import runpy

import torch

import exports


def run_export(name, settings, tmp_path):
    """stdout of the filled exports/<name>.py run as a script from tmp_path/<name>.py (the repo root is on sys.path)."""
    return run_download(exports.fill(name, settings), tmp_path, f"{name}.py")


def run_download(script, tmp_path, file_name, argv=()):
    """stdout of a downloaded script's text saved as tmp_path/file_name and run in-process as __main__."""
    import sys
    path = tmp_path / file_name
    path.write_text(script, encoding="utf-8")
    old_argv, sys.argv = sys.argv, [str(path), *argv]
    threads, out = torch.get_num_threads(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.argv = old_argv
        torch.set_num_threads(threads)  # a script may pin torch to one thread, as a standalone run does
    return out.getvalue()


def printed_pairs(text):
    """{name: value} of a script's "name value" lines."""
    return dict(line.split(" ", 1) for line in text.splitlines() if " " in line)
