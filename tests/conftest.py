"""Shared test setup: the repo root on sys.path, MNIST from ../shared/data/mnist."""
import os
from pathlib import Path

import pytest
import torch

# Like app.py: one thread per computation (the test machine has 2 cores shared with a server and a browser).
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"

# Pages and core read MNIST from $MNIST_DIR first (the real 10,000-image test split).
if SHARED_MNIST.exists():
    os.environ.setdefault("MNIST_DIR", str(SHARED_MNIST))

# Tests must be runnable from any working directory (AppTest resolves app.py against the cwd).
os.chdir(ROOT)


@pytest.fixture
def mnist_dir():
    if not SHARED_MNIST.exists():
        pytest.skip(f"MNIST test split not found at {SHARED_MNIST}")
    return SHARED_MNIST


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
