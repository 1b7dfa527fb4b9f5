"""Page 4's graph on a projector, measured in Chromium: left to right, every text of the graph >= 12 px at
1280x720 in presenter mode (and at 1400x900 on a desk), and stepping redraws the graph in place."""
import pytest

from tests.browser_utils import chromium, exceptions, streamlit_server, wait_idle, wait_text

MIN_PX = 12

# Rendered size of every text of the Graphviz SVG: its font size in SVG units times the SVG's scale on screen.
GRAPH_TEXT = """() => {
  const svg = document.querySelector('[data-testid=stGraphVizChart] svg');
  if (!svg) return null;
  const box = svg.getBoundingClientRect();
  const vb = svg.viewBox.baseVal;
  const scale = box.width / vb.width;
  const sizes = [...svg.querySelectorAll('text')].map(t => parseFloat(t.getAttribute('font-size') ||
      getComputedStyle(t).fontSize));
  return {scale, svgWidth: vb.width, svgHeight: vb.height, shownWidth: box.width, shownHeight: box.height,
          top: box.top + window.scrollY, minPt: Math.min(...sizes), minPx: Math.min(...sizes) * scale,
          texts: sizes.length, mainWidth: document.querySelector('[data-testid=stMainBlockContainer]').clientWidth};
}"""


@pytest.mark.parametrize("size,query", [({"width": 1280, "height": 720}, "?present=true"),
                                         ({"width": 1400, "height": 900}, "")])
def test_graph_text_is_readable_and_steps_in_place(size, query):
    with streamlit_server() as (url, _), chromium() as browser:
        page = browser.new_page(viewport=size)
        page.goto(f"{url}/graph{query}")
        wait_idle(page)
        page.wait_for_selector("[data-testid=stGraphVizChart] svg text", timeout=60_000)
        page.wait_for_timeout(500)
        before = page.evaluate(GRAPH_TEXT)
        print(size, query, before)
        assert before["minPx"] >= MIN_PX, before
        assert before["shownWidth"] > before["shownHeight"]   # left to right: wider than tall
        page.get_by_role("button", name="Step").first.click()
        wait_text(page, "1 / 7")   # the rerun the click started has drawn (a loaded machine may take seconds)
        wait_idle(page)
        after = page.evaluate(GRAPH_TEXT)
        print("after a step", after)
        assert after["minPx"] >= MIN_PX, after
        page.get_by_role("button", name="Run all").first.click()   # every node with its gradient: the widest graph
        wait_text(page, "7 / 7")
        wait_idle(page)
        done = page.evaluate(GRAPH_TEXT)
        print("after Run all", done)
        assert done["minPx"] >= MIN_PX, done
        assert not exceptions(page)
        page.screenshot(path=f"/tmp/graph_{size['width']}.png")
