"""Page 2's tensor boxes in Chromium (issue 9): no operator label (@, =, +, relu, softmax) overlaps a box, on a
desk (1400x900) and on a projector (1280x720, ?present=true), at the default sizes and the largest ones."""
import pytest

from tests.browser_utils import chromium, exceptions, streamlit_server, wait_idle

pytestmark = pytest.mark.browser

# Screen boxes of the first chart's rectangles (layout shapes) and of its texts.
BOXES = """() => {
  const chart = document.querySelector('[data-testid=stPlotlyChart]');
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  return {shapes: [...chart.querySelectorAll('.shapelayer path')].map(box),
          texts: [...chart.querySelectorAll('.textpoint text')].map(t => [t.textContent, ...box(t)])};
}"""
OPERATORS = {"@", "=", "+", "relu", "softmax"}


def _overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("size,query", [({"width": 1400, "height": 900}, "?"),
                                         ({"width": 1280, "height": 720}, "?present=true&")])
def test_operator_labels_do_not_overlap_the_boxes(size, query):
    with streamlit_server() as (url, _), chromium() as browser:
        page = browser.new_page(viewport=size)
        for sizes in ("", "shape_b=512&shape_h=512"):
            page.goto(f"{url}/shapes{query}{sizes}")
            wait_idle(page)
            page.wait_for_selector("[data-testid=stPlotlyChart] .textpoint text", timeout=60_000)
            page.wait_for_timeout(500)
            assert not exceptions(page)
            found = page.evaluate(BOXES)
            labels = [t for t in found["texts"] if t[0] in OPERATORS]
            assert {t[0] for t in labels} == OPERATORS and len(found["shapes"]) == 12
            hits = [(t[0], s) for t in labels for s in found["shapes"] if _overlaps(t[1:], s)]
            assert not hits, (size, query, sizes, hits)
