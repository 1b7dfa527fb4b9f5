"""Real-browser tests: Chromium opens every page from the sidebar of a running `streamlit run app.py`."""
import pytest

from tests.browser_utils import SCREENSHOTS, exceptions, wait_idle, wait_settled
from ui import registry

PAGES = registry.existing_pages()


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


def _metric(page, label):
    return page.locator("[data-testid=stMetric]", has_text=label).locator("[data-testid=stMetricValue]")


def test_a_link_restores_the_page_and_its_values_and_the_share_box_gives_the_new_link(app_url, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{app_url}/shapes?shape_b=37&shape_h=64")
    wait_idle(page)
    assert not exceptions(page), exceptions(page)
    assert page.locator("[role=dialog]").count() == 0
    assert _metric(page, "Output shape").inner_text().strip() == "[37, 10]"
    assert page.locator('input[type=range][aria-label="Hidden width H"]').get_attribute("value") == "64"

    page.locator('input[type=range][aria-label="Batch size B (images)"]').focus()
    page.keyboard.press("ArrowRight")
    _metric(page, "Output shape").filter(has_text="[38, 10]").wait_for(timeout=60_000)
    wait_idle(page)
    assert "shape_b=38" in page.url

    page.get_by_role("button", name="Share this page").click()
    link = page.locator("[data-testid=stPopoverBody] code").inner_text().strip()
    assert link.startswith(f"{app_url}/shapes?") and "shape_b=38" in link and "shape_h=64" in link, link

    other = browser.new_page(viewport={"width": 1400, "height": 1000})
    other.goto(link)
    wait_idle(other)
    assert _metric(other, "Output shape").inner_text().strip() == "[38, 10]"
    assert not exceptions(other)


@pytest.mark.parametrize("entry", PAGES, ids=[p["url"] for p in PAGES])
def test_presenter_mode_from_a_link_on_every_page(app_url, browser, entry):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    address = "" if entry.get("default") else entry["url"]
    page.goto(f"{app_url}/{address}?present=true")
    wait_idle(page)
    assert not exceptions(page), exceptions(page)
    assert page.locator("[data-testid=stSidebar] input[type=checkbox]").first.is_checked()
    big_type = "() => getComputedStyle(document.documentElement).fontSize === '21px'"
    try:
        page.wait_for_function(big_type, timeout=30_000)
    except Exception:
        font = page.evaluate("() => getComputedStyle(document.documentElement).fontSize")
        pytest.fail(f"{entry['path']}: presenter type not applied (font size {font})")
    wait_idle(page)
    assert not exceptions(page), exceptions(page)
    page.screenshot(path=str(SCREENSHOTS / f"present-{entry['url']}.png"))
    page.close()


def test_a_choice_picked_in_the_browser_survives_its_link_without_a_notice(app_url, browser):
    """Streamlit writes a choice's label (not its value) into the link when a format_func is used:
    reopening that link must restore the choice quietly."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{app_url}/tensors")
    wait_idle(page)
    box = page.locator("[data-testid=stSelectbox]", has_text="Initialisation").first
    box.locator("input").first.click()
    page.keyboard.type("Xavier")
    page.keyboard.press("Enter")
    page.wait_for_url("**tensors_init=*", timeout=30_000)
    wait_idle(page)
    link = page.url
    other = browser.new_page(viewport={"width": 1400, "height": 1000})
    other.goto(link)
    wait_idle(other)
    shown = other.locator("[data-testid=stSelectbox]", has_text="Initialisation").first.locator("input").first
    assert shown.input_value().startswith("Xavier"), shown.input_value()
    notices = [t for t in other.locator("[data-testid=stAlert]").all_inner_texts() if "link asked for" in t]
    assert not notices, notices
    assert not exceptions(other)


def test_answering_a_quiz_shows_feedback_and_the_home_page_counts_it(app_url, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{app_url}/cross-entropy")
    wait_settled(page)
    question = page.locator("[data-testid=stRadio]").last
    question.locator("[data-testid=stRadioOption]").first.click()
    question.locator("input:checked").first.wait_for(state="attached", timeout=30_000)   # the click landed
    page.locator("[data-testid=stAlert]", has_text="Right.").or_(
        page.locator("[data-testid=stAlert]", has_text="Not quite")).first.wait_for(timeout=30_000)
    assert not exceptions(page), exceptions(page)
    page.locator("[data-testid=stSidebarNav] a", has_text="Home").first.click()
    page.wait_for_url(f"{app_url}/", timeout=30_000)
    wait_idle(page)
    answered = page.locator("[data-testid=stMetric]", has_text="Answered").locator("[data-testid=stMetricValue]")
    assert answered.inner_text().strip() == "1"
