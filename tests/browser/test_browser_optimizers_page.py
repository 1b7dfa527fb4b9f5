"""Page 5's race in Chromium: the map takes at least half the content width (desk and projector), and Play
moves the balls on its own (the Step scrubber advances without a click) until the race ends."""
import pytest

from tests.browser_utils import chromium, exceptions, streamlit_server, wait_idle

MAP_SHARE = """() => {
  const main = document.querySelector('[data-testid=stMainBlockContainer]');
  const map = document.querySelector('[data-testid=stPlotlyChart]');
  return {map: map.getBoundingClientRect().width, content: main.clientWidth -
          parseFloat(getComputedStyle(main).paddingLeft) - parseFloat(getComputedStyle(main).paddingRight),
          top: map.getBoundingClientRect().top};
}"""
STEP = """() => {
  const s = [...document.querySelectorAll('[data-testid=stSlider]')]
      .find(e => e.querySelector('label') && e.querySelector('label').innerText.trim() === 'Step');
  return parseInt(s.querySelector('[data-testid=stSliderThumbValue]').innerText);
}"""


@pytest.mark.parametrize("size,query", [({"width": 1280, "height": 720}, "?present=true"),
                                         ({"width": 1400, "height": 900}, "")])
def test_map_is_half_the_width_and_play_moves_the_balls(size, query):
    with streamlit_server() as (url, _), chromium() as browser:
        page = browser.new_page(viewport=size)
        page.goto(f"{url}/optimizers{query}")
        wait_idle(page)
        page.wait_for_selector("[data-testid=stPlotlyChart] .main-svg", timeout=60_000)
        share = page.evaluate(MAP_SHARE)
        print(size, query, share, share["map"] / share["content"])
        assert share["map"] >= 0.5 * share["content"], share
        assert page.evaluate(STEP) == 150
        page.locator(".st-key-opt_play button[data-testid^=stBaseButton]").first.click()
        page.locator(".st-key-opt_pause button[data-testid^=stBaseButton]").first.wait_for(timeout=30_000)   # playing
        page.wait_for_timeout(1000)
        during = page.evaluate(STEP)
        print("step 1 s into Play", during)
        assert 0 < during < 150
        for _ in range(120):   # a busy machine draws fewer frames a second: wait for the end, up to 60 s
            if page.evaluate(STEP) == 150:
                break
            page.wait_for_timeout(500)
        wait_idle(page)
        assert page.evaluate(STEP) == 150   # played to the end and stopped there
        page.wait_for_timeout(1500)
        assert page.evaluate(STEP) == 150
        assert page.locator(".st-key-opt_play button[data-testid^=stBaseButton]").count() >= 1
        assert not exceptions(page)
        page.screenshot(path=f"/tmp/optimizers_{size['width']}.png")
