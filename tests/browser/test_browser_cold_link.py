"""A shared deep link opened first on a freshly started server (the first student on a cold server).

Each case starts its own server, so the browser session under test is the server's very first session.

Known upstream behaviour (Streamlit 1.67): `PagesManager.uses_pages_directory` is a process-wide flag
set from `Path(<dir of app.py>, "pages").exists()` when the first session is created, and cleared only
when some run calls `st.navigation`. While it is set, the script runner runs `_mpa_v1` instead of
app.py: it builds the navigation from the files in pages/ (url paths from the file names,
e.g. `ch02_shapes`), finds no page `/shapes`, sends `page_not_found` (the "Page not found" dialog) and
then runs app.py as the main page, whose `st.navigation` clears the flag and runs the right page. This
happens before any line of app.py runs, so neither app.py nor .streamlit/config.toml can prevent it.
That is why this app keeps its page files in views/, not pages/: this test fails if a pages/ folder
comes back or the notice appears for any other reason.
"""
import pytest

from tests.browser_utils import ROOT, chromium, exceptions, require_browser, streamlit_server, wait_idle
from ui import registry

PAGES = {p["url"]: p for p in registry.existing_pages()}


@pytest.mark.parametrize("url_path", ["shapes", "cross-entropy"])
def test_deep_link_as_first_session_on_a_fresh_server(url_path):
    require_browser()
    if url_path not in PAGES:
        pytest.skip(f"no page /{url_path} in the registry")
    entry = PAGES[url_path]
    with streamlit_server() as (url, _proc), chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/{url_path}")
        wait_idle(page)
        assert page.url.split("?")[0].rstrip("/").endswith(f"/{url_path}"), page.url
        assert page.locator("h1").first.inner_text().strip() == entry["title"]
        assert not exceptions(page), exceptions(page)
        dialogs = [d.inner_text() for d in page.query_selector_all("[role=dialog]")]
        assert not dialogs, dialogs


def test_no_pages_folder_next_to_app_py():
    assert not (ROOT / "pages").exists(), (
        "a pages/ folder next to app.py switches on Streamlit's old multipage mode for the first session of "
        "every server, which greets a shared deep link with a spurious 'Page not found' (keep pages in views/)")
