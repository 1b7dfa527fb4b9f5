"""Helpers for AppTest page tests: open a page, read what it printed, run what it lets you download."""
import os
import subprocess
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from ui import registry

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_page(path, query=None, timeout=120):
    """Run app.py on `path` (e.g. 'views/ch03_cross_entropy.py') the way a link to that page opens it, and
    return the AppTest.

    A link's first run is already the page's. AppTest's switch_page() can only name a page with its own
    url_path (ui/registry.py's "url") after a first run, so this used to render the home page first and then
    switch: a whole home page (its network picture) paid by every page open of the suite. Instead the first
    run asks for the page's script hash, which st.Page makes from its url_path (Streamlit 1.67, pinned)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    wanted = calc_hash(_URL_PATHS[path]) if path != "views/home.py" else None
    at._page_hash = wanted
    at.run()
    if wanted is not None:
        ran = at._finished_page_script_hash
        assert ran == wanted == at.switch_page(path)._page_hash, f"asked for {path}, AppTest ran {ran}"
    return at


_URL_PATHS = {page["path"]: page["url"] for page in registry.existing_pages()}


def page_output(at):
    """Everything a page printed that a person reads: metrics, text, tables, messages."""
    out = []
    out += [f"{m.label}={m.value}" for m in at.metric]
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "latex", "code",
                 "success", "info", "warning", "error"):
        out += [str(e.value) for e in getattr(at, kind)]
    out += [e.value.to_string() for e in at.dataframe]
    out += [e.value.to_string() for e in at.table]
    out += [str(e.value) for e in at.json]
    return "\n".join(out)


def metric(at, label):
    """The value of the st.metric whose label is `label`."""
    for m in at.metric:
        if m.label == label:
            return m.value
    raise KeyError(f"no metric {label!r}; have {[m.label for m in at.metric]}")


def assert_no_exception(at):
    assert not at.exception, "\n".join(str(e.value) for e in at.exception)


def press_if_shown(at, key):
    """Press the button `key` when the page shows it (a run estimated over the live budget waits for its Train
    button), then check the page ran cleanly; returns at."""
    if any(b.key == key for b in at.button):
        at.button(key=key).click().run()
    assert_no_exception(at)
    return at


def run_script(code, tmp_path, name):
    """Run an exported script as a visitor would (from the repository root); return what it printed."""
    path = tmp_path / name
    path.write_text(code)
    root = os.getcwd()  # conftest chdirs to the repo root
    out = subprocess.run([sys.executable, str(path)], cwd=root, env=dict(os.environ, PYTHONPATH=root),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout
