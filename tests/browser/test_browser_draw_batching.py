"""Pages 0 and 6 in Chromium: the drawing is read after every stroke without pressing anything (page 0), and
Play moves the loader's items through shuffle, then slice, on its own (page 6).

The time from a stroke's mouse-up to the new reading is printed, with where it went (timed inside the page, on one
clock): when the canvas sent the drawing (the component waits 200 ms after a change), the first and last websocket
message of the rerun (the server's fragment run), the new Confidence in the DOM and the next frame painted after it.
It is reported, not asserted: speed targets belong in benchmarks, not tests."""
import time

from tests.browser_utils import chromium, exceptions, streamlit_server, wait_idle

METRIC = """(label) => {
  const m = [...document.querySelectorAll('[data-testid=stMetric]')]
      .find(e => e.querySelector('[data-testid=stMetricLabel]').innerText.trim() === label);
  return m ? m.querySelector('[data-testid=stMetricValue]').innerText.trim() : null;
}"""


TIMELINE = """
window.__ev = [];
const PageWebSocket = window.WebSocket;
window.WebSocket = function(...args) {
  const ws = new PageWebSocket(...args);
  ws.addEventListener('message', () => window.__ev.push(['reply', performance.now()]));
  const send = ws.send.bind(ws);
  ws.send = (data) => { window.__ev.push(['send', performance.now()]); return send(data); };
  return ws;
};
window.WebSocket.prototype = PageWebSocket.prototype;
Object.assign(window.WebSocket, PageWebSocket);
document.addEventListener('mouseup', () => { window.__ev = [['up', performance.now()]]; }, true);
new MutationObserver(() => {
  const m = [...document.querySelectorAll('[data-testid=stMetric]')]
      .find(e => e.querySelector('[data-testid=stMetricLabel]').innerText.trim() === 'Confidence');
  const v = m ? m.querySelector('[data-testid=stMetricValue]').innerText.trim() : null;
  if (v !== window.__shown) {
    window.__shown = v;
    window.__ev.push(['dom', performance.now()]);
    requestAnimationFrame(() => setTimeout(() => window.__ev.push(['painted', performance.now()]), 0));
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def timeline(page):
    """ms after mouse-up: the canvas sent, the server's first and last reply, the reading in the DOM, painted."""
    ev = page.evaluate("() => window.__ev")
    up = ev[0][1]
    sent = next((t for e, t in ev if e == "send"), None)
    replies = [t for e, t in ev if e == "reply" and sent is not None and t > sent]
    at = {"sent": sent, "first reply": replies[0] if replies else None, "last reply": replies[-1] if replies else None,
          "in the DOM": next((t for e, t in ev if e == "dom"), None),
          "painted": next((t for e, t in ev if e == "painted"), None)}
    return ", ".join(f"{name} +{t - up:.0f}" for name, t in at.items() if t is not None)


def stroke(page, box, points):
    """Drag the mouse through `points` (fractions of the canvas box), like a pen."""
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()
    return time.perf_counter()


def wait_for(page, predicate, timeout_s=15.0):
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        value = predicate()
        if value:
            return time.perf_counter()
        page.wait_for_timeout(10)
    raise AssertionError("timed out")


def test_the_reading_follows_every_stroke():
    with streamlit_server() as (url, _), chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.add_init_script(TIMELINE)
        page.goto(f"{url}/draw")
        wait_idle(page)
        canvas = page.locator("canvas.upper-canvas").first
        canvas.wait_for(timeout=60_000)
        box = canvas.bounding_box()
        assert page.evaluate(METRIC, "Prediction") is None
        up = stroke(page, box, [(0.5, 0.15), (0.5, 0.5), (0.5, 0.85)])          # a "1"
        shown = wait_for(page, lambda: page.evaluate(METRIC, "Prediction"))
        first = page.evaluate(METRIC, "Confidence")
        print(f"first stroke: reading shown {1000 * (shown - up):.0f} ms after mouse-up,",
              "prediction", page.evaluate(METRIC, "Prediction"), first)
        assert page.evaluate(METRIC, "Prediction") == "1"
        wait_idle(page)
        print("   where it went (ms after mouse-up):", timeline(page))
        up = stroke(page, box, [(0.3, 0.15), (0.5, 0.15), (0.7, 0.15)])         # a bar across the top
        changed = wait_for(page, lambda: page.evaluate(METRIC, "Confidence") not in (None, first))
        print(f"second stroke: reading changed {1000 * (changed - up):.0f} ms after mouse-up,",
              "prediction", page.evaluate(METRIC, "Prediction"), page.evaluate(METRIC, "Confidence"))
        wait_idle(page)
        print("   where it went (ms after mouse-up):", timeline(page))
        assert not exceptions(page)


STAGE = """() => [...document.querySelectorAll('[data-testid=stMarkdownContainer]')]
    .map(e => e.innerText).find(t => /^(Stored|Step [12] of 2)/.test(t)) || null"""


def test_play_shuffles_then_slices_on_its_own():
    with streamlit_server() as (url, _), chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{url}/batching?present=true&bat_shuffle=true")
        wait_idle(page)
        assert page.evaluate(STAGE).startswith("Stored")
        page.get_by_role("button", name="Play").first.click()
        seen = set()
        deadline = time.perf_counter() + 60   # a loaded machine draws fewer frames a second
        while time.perf_counter() < deadline:
            text = page.evaluate(STAGE) or ""
            seen.add(text.split(":")[0])
            if text.startswith("Step 2 of 2") and page.get_by_role("button", name="Play").first.is_enabled():
                break
            page.wait_for_timeout(50)
        print("stages seen", seen)
        assert "Step 1 of 2 · Shuffle" in seen and "Step 2 of 2 · Slice" in seen
        assert page.get_by_role("button", name="Play").first.is_enabled()       # stopped at the end
        assert not exceptions(page)


LEAD_BOTTOM = """() => [...document.querySelectorAll('[data-testid=stMain] [data-testid=stCaptionContainer]')]
    .find(e => e.innerText.trim().startsWith('Draw a digit:')).getBoundingClientRect().bottom"""


def test_after_a_stroke_on_a_projector_nothing_is_cut_and_the_toolbar_clears_the_lead():
    """At 1280x720 in presenter mode the reading beside the canvas shows whole (it read "99..." in three columns),
    and the canvas leaves room above it for its floating toolbar (~40 px), which covered the lead line."""
    from tests.browser.test_browser_layout import CUT_LABELS
    with streamlit_server() as (url, _), chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{url}/draw?present=true")
        wait_idle(page)
        canvas = page.locator("canvas.upper-canvas").first
        canvas.wait_for(timeout=60_000)
        stroke(page, canvas.bounding_box(), [(0.5, 0.15), (0.5, 0.5), (0.5, 0.85)])
        wait_for(page, lambda: page.evaluate(METRIC, "Confidence"))
        wait_idle(page)
        assert page.evaluate(CUT_LABELS) == []
        lead, top = page.evaluate(LEAD_BOTTOM), canvas.bounding_box()["y"]   # the canvas is in a shadow root
        assert top - lead >= 40, (lead, top)
        assert not exceptions(page)
