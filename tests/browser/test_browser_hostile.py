"""Untrusted text in a real browser: a link value, a formula and a CSV file crafted to smuggle a link and a
remote image into the page. Chromium must show them as text: no <a> or <img> pointing at evil.example and no
request to it. Plus: with the deployment's client.showErrorDetails, an error still shows, without a traceback."""
import urllib.parse

import pytest

from tests.browser_utils import exceptions, streamlit_server, wait_idle

INJECTION = "0.1` [Sign in again](https://evil.example/login) ![x](https://evil.example/t.png) `"
EVIL = 'a[href*="evil.example"], img[src*="evil.example"]'


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requests = []
    page.on("request", lambda r: requests.append(r.url)
            if (urllib.parse.urlparse(r.url).hostname or "").endswith("evil.example") else None)
    page.goto(url)
    wait_idle(page)
    return page, requests


def _assert_shown_as_text(page, requests):
    assert not exceptions(page), exceptions(page)
    assert page.locator(EVIL).count() == 0, page.locator(EVIL).evaluate_all("els => els.map(e => e.outerHTML)")
    assert not requests, requests
    assert "evil.example" in _alerts(page), "the refused text is still shown (as text)"


def _alerts(page):
    """The text of the page's notices, as a reader sees it (the invisible word joiners ui.plain adds removed)."""
    return " ".join(page.locator("[data-testid=stAlert]").all_inner_texts()).replace("\u2060", "")


@pytest.mark.parametrize("where", ["training?tr_lr=", "home?present=", "linear-regression?present="])
def test_a_markdown_link_in_a_link_value_is_shown_as_text(app_url, browser, where):
    page, requests = _open(browser, f"{app_url}/{where}{urllib.parse.quote(INJECTION)}")
    _assert_shown_as_text(page, requests)
    assert "[Sign in again](https://evil.example/login)" in _alerts(page)


def test_a_formula_error_quoting_markdown_is_shown_as_text(app_url, browser):
    formula = "x + '[Sign in](https://evil.example/login) ![x](https://evil.example/t.png)'"
    page, requests = _open(browser, f"{app_url}/custom-activation?ca_f={urllib.parse.quote(formula)}")
    _assert_shown_as_text(page, requests)


def test_a_csv_file_carrying_markdown_is_shown_as_text(app_url, browser):
    """A file name and a header cell that each try to close a code span and open a link and an image."""
    page, requests = _open(browser, f"{app_url}/training?tr_data={urllib.parse.quote('your CSV')}")
    bad = "a` [x](https://evil.example/l) ![i](https://evil.example/t.png) `"
    rows = "\n".join(f"{i},{i % 3},{'ab'[i % 2]}" for i in range(20))
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(
        {"name": f"{bad}.csv", "mimeType": "text/csv", "buffer": f'"{bad}",y,label\n{rows}\noops,1,a\n'.encode()})
    page.locator("[data-testid=stAlert]", has_text="cannot be used").wait_for(timeout=60_000)
    wait_idle(page)
    _assert_shown_as_text(page, requests)


def test_errors_still_show_with_the_deployment_setting_but_without_a_traceback(browser, tmp_path):
    """client.showErrorDetails = "type" (.streamlit/config.toml): Chromium still shows the error element
    (what the browser tests look for), but not the message, the traceback or a server path."""
    script = tmp_path / "boom.py"
    script.write_text('raise RuntimeError("secret detail from the server")\n')
    with streamlit_server(script=script, extra_env={"STREAMLIT_CLIENT_SHOW_ERROR_DETAILS": None}) as (url, _):
        page = browser.new_page()
        page.goto(url)
        wait_idle(page)
        shown = exceptions(page)
    assert len(shown) == 1, shown
    assert "RuntimeError" in shown[0]
    assert "secret" not in shown[0] and str(tmp_path) not in shown[0] and "boom.py" not in shown[0], shown[0]
