"""Real-browser tests: Chromium opens every page from the sidebar of a running `streamlit run app.py`."""
import pytest

from tests.browser_utils import SCREENSHOTS, chromium, exceptions, require_browser, streamlit_server, wait_idle
from ui import registry

PAGES = registry.existing_pages()


@pytest.fixture(scope="module")
def app_url():
    require_browser()
    with streamlit_server() as (url, _proc):
        yield url


@pytest.fixture(scope="module")
def browser(app_url):
    with chromium() as b:
        yield b


def test_every_page_from_the_sidebar(app_url, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_url)
    wait_idle(page)
    assert not exceptions(page), exceptions(page)
    problems = {}
    for entry in PAGES:
        links = page.locator("[data-testid=stSidebarNav] a", has_text=entry["title"])
        if len(PAGES) > 1:  # Streamlit shows no sidebar navigation for a one-page app
            links.first.click()
        page.wait_for_url(f"**/{'' if entry.get('default') else entry['url']}*", timeout=30_000)
        wait_idle(page)
        page.screenshot(path=str(SCREENSHOTS / f"{entry['url']}.png"), full_page=True)
        errs = exceptions(page)
        if errs:
            problems[entry["path"]] = errs
        assert page.locator("h1").count() >= 1, f"{entry['path']} shows no title"
    assert not problems, problems


def test_link_restores_presenter_mode(app_url, browser):
    page = browser.new_page()
    page.goto(f"{app_url}/?present=true")
    wait_idle(page)
    toggle = page.locator("[data-testid=stSidebar] input[type=checkbox]").first
    assert toggle.is_checked()
