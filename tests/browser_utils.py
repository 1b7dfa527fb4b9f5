"""Start `streamlit run app.py` on a free loopback port and drive Debian's Chromium with Playwright."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def require_browser():
    """Skip locally when Chromium or Playwright is missing; in CI (CI=true) they must be there."""
    problem = None
    if not Path(CHROMIUM).exists():
        problem = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed (pip install -r requirements-dev.txt)"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests must run in CI: {problem}")
        pytest.skip(problem)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(extra_env=None, timeout=60, script=None):
    """Run the app (or `script`, from the repository root so that .streamlit/config.toml applies) headless on
    127.0.0.1:<free port>; yields its base URL. An `extra_env` value of None removes that variable."""
    port = free_port()
    env = dict(os.environ, **(extra_env or {}))
    env = {k: v for k, v in env.items() if v is not None}
    cmd = [sys.executable, "-m", "streamlit", "run", str(script or ROOT / "app.py"),
           "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
           "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                out = proc.stdout.read().decode(errors="replace") if proc.poll() is not None else ""
                raise RuntimeError(f"streamlit did not start on {url}: {out[-2000:]}")
            time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_idle(page, timeout=90_000):
    """Wait until the script has started (if it will) and finished running."""
    page.wait_for_selector("[data-testid=stApp]", timeout=timeout)
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_timeout(200)
    page.wait_for_selector(IDLE, timeout=timeout)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    try:  # best effort: charts mount after the run and push what is below them down (see wait_settled)
        page.wait_for_function(SETTLED, timeout=10_000, polling=100)
    except PlaywrightTimeout:  # a page that keeps changing size (a playing animation) still counts as idle
        pass


CHARTS_MOUNTED = """() => [...document.querySelectorAll('[data-testid=stPlotlyChart]')]
    .every(c => c.querySelector('.main-svg'))"""

SETTLED = """() => {
  const mounted = (""" + CHARTS_MOUNTED + """)();
  const h = document.querySelector('[data-testid=stMain]')?.scrollHeight ?? 0;
  const same = window.__lastHeight === h;
  window.__lastHeight = h;
  return mounted && same;
}"""


def wait_settled(page, timeout=30_000):
    """wait_idle, then until every Plotly chart has mounted and the page's height has stopped changing.

    Charts mount after the script finishes and push what is below them down; a click aimed at a widget under
    them while they mount can land on whatever moved into its place (a lost click, seen on a loaded CI machine).
    """
    wait_idle(page)
    page.wait_for_function(SETTLED, timeout=timeout, polling=100)


def wait_text(page, text, timeout=60_000):
    """Wait until the page's main area shows `text` (what a click's rerun draws), instead of asserting at once."""
    page.wait_for_function("t => (document.querySelector('[data-testid=stMain]')?.innerText ?? '').includes(t)",
                           arg=text, timeout=timeout)


def exceptions(page):
    return [e.inner_text() for e in page.query_selector_all("[data-testid=stException]")]
