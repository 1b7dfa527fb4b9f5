"""Shared test setup: the repo root on sys.path; MNIST found the app's way (datasets.mnist_files.find_mnist_dir:
$MNIST_DIR, data/mnist, then the test split committed in datasets/mnist), so a fresh clone needs nothing else."""
import os
import tempfile
from pathlib import Path

import pytest
import torch

# Like app.py: one thread per computation (the test machine has 2 cores shared with a server and a browser).
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent

# The deployment hides tracebacks (.streamlit/config.toml: client.showErrorDetails = "type"); tests want every
# detail, in AppTest and in the servers the browser tests start (they inherit this environment).
os.environ["STREAMLIT_CLIENT_SHOW_ERROR_DETAILS"] = "full"

# Figures written as plain dicts (ui.figspec) skip Plotly's validation in the app; in AppTest and the servers the
# browser tests start, ui.plot validates every one of them (a property Plotly does not know raises).
os.environ["VALIDATE_FIGURES"] = "1"

# Class mode keeps classes in a SQLite file: the tests, and the servers they start, use a throwaway one
# (never the app's data/class.sqlite). Tests that need a database of their own set $CLASSMODE_DB again.
os.environ.setdefault("CLASSMODE_DB", str(Path(tempfile.mkdtemp(prefix="classmode-")) / "class.sqlite"))

def _one_script_cache_like_a_server():
    """AppTest gives every run a new, empty ScriptCache, so each run compiled app.py, its page and (through
    ui.warmup._compile_pages) all of the app's pages again: ~130 ms of every one of the suite's ~1,500 AppTest
    runs, a cost a real server never pays (it keeps one cache for every session and rerun). Share one."""
    import streamlit.testing.v1.app_test as app_test
    import streamlit.testing.v1.local_script_runner as local_script_runner
    real = app_test.ScriptCache
    shared = real()
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared
    return real


_REAL_SCRIPT_CACHE = _one_script_cache_like_a_server()


def _one_component_scan_like_a_server():
    """Each new AppTest also scanned the metadata of every installed distribution for Streamlit v2 components
    (BidiComponentManager.discover_and_register_components: ~1,600 metadata files parsed), the larger part of
    an AppTest page open here. A server scans once, at start: scan once and give every AppTest that manager."""
    import streamlit.testing.v1.app_test as app_test
    real = app_test.BidiComponentManager
    shared = real()
    shared.discover_and_register_components(start_file_watching=False)
    shared.discover_and_register_components = lambda **_kwargs: None   # AppTest asks again for every instance
    app_test.BidiComponentManager = lambda: shared
    return real


_REAL_COMPONENT_MANAGER = _one_component_scan_like_a_server()


@pytest.fixture
def own_script_caches(monkeypatch):
    """Each AppTest run with a cache of its own, as AppTest does by default: for tests that run several AppTests
    in threads at once (AppTest itself is not made for that; sharing one cache between them made 1 in 3 runs of
    the 6-session test fail inside AppTest with a KeyError on a widget id)."""
    import streamlit.testing.v1.app_test as app_test
    import streamlit.testing.v1.local_script_runner as local_script_runner
    monkeypatch.setattr(app_test, "ScriptCache", _REAL_SCRIPT_CACHE)
    monkeypatch.setattr(local_script_runner, "ScriptCache", _REAL_SCRIPT_CACHE)
    monkeypatch.setattr(app_test, "BidiComponentManager", _REAL_COMPONENT_MANAGER)

# Tests must be runnable from any working directory (AppTest resolves app.py against the cwd).
os.chdir(ROOT)


@pytest.fixture
def mnist_dir():
    """The folder the app reads MNIST's 10,000-image test split from ($MNIST_DIR is honoured)."""
    from datasets import mnist_files
    folder = mnist_files.find_mnist_dir("test")
    assert folder is not None, f"no MNIST test split: not even the committed {mnist_files.EMBEDDED_MNIST_DIR}"
    return folder


@pytest.fixture
def downloads(monkeypatch):
    """{key: data} of every st.download_button the page draws: exactly what a visitor would download."""
    import streamlit as st
    got, real = {}, st.download_button

    def capture(label, data, *args, key=None, **kwargs):
        got[key] = data
        return real(label, data, *args, key=key, **kwargs)
    monkeypatch.setattr(st, "download_button", capture)
    return got


@pytest.fixture(scope="module")
def app_url():
    """A `streamlit run app.py` server on a free loopback port, one per test module (browser tests)."""
    from tests.browser_utils import require_browser, streamlit_server
    require_browser()
    with streamlit_server() as (url, _proc):
        yield url


@pytest.fixture(scope="module")
def browser(app_url):
    """Debian's Chromium driven by Playwright, one per test module."""
    from tests.browser_utils import chromium
    with chromium() as b:
        yield b


# ---------------------------------------------------------------- markers: the fast inner loop
# `python -m pytest -m "not browser and not slow"` skips what drives Chromium or starts servers/subprocesses.
_BROWSER_SIGNS = ("require_browser(", "sync_playwright", "chromium")
_SLOW_SIGNS = ("streamlit_server(", "subprocess", "run_script(", "start_server(", "Popen(",
               "classroom.measure", "classroom.cold_burst", "class_mode.measure", "asyncio.run(")


def _source_of(item, _sources={}):  # noqa: B006 - one cache for the session: parametrized items share a function
    import inspect
    function = getattr(item, "function", None)
    if function not in _sources:
        try:
            _sources[function] = inspect.getsource(function)
        except (OSError, TypeError, AttributeError):
            _sources[function] = ""
    return _sources[function]


def pytest_collection_modifyitems(config, items):
    """Mark browser tests (they use the browser / app_url fixtures or start Chromium) and slow ones (they start a
    server or a subprocess), so the fast loop can leave them out. The full suite runs everything."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        source = _source_of(item)
        if fixtures & {"browser", "app_url"} or any(sign in source for sign in _BROWSER_SIGNS):
            item.add_marker(pytest.mark.browser)
        elif any(sign in source for sign in _SLOW_SIGNS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def db(tmp_path, monkeypatch):
    """A fresh class-mode SQLite database for this test, used by the store and by every AppTest session alike."""
    import sqlalchemy as sa

    from classmode import store
    path = tmp_path / "class.sqlite"
    monkeypatch.setenv("CLASSMODE_DB", str(path))
    engine = store.configure(sa.create_engine(f"sqlite:///{path}"))
    yield engine
    engine.dispose()
