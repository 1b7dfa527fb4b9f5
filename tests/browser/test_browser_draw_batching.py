"""Pages 0 and 6 in Chromium: the drawing is read after every stroke without pressing anything (page 0), and
Play moves the loader's items through shuffle, then slice, on its own (page 6).

The time from a stroke's mouse-up to the new reading is printed (the component waits 200 ms after a change
before it sends; the fragment's rerun then takes a few ms of server time); it is reported, not asserted:
speed targets belong in benchmarks, not tests."""
import time

from tests.browser_utils import chromium, exceptions, streamlit_server, wait_idle

METRIC = """(label) => {
  const m = [...document.querySelectorAll('[data-testid=stMetric]')]
      .find(e => e.querySelector('[data-testid=stMetricLabel]').innerText.trim() === label);
  return m ? m.querySelector('[data-testid=stMetricValue]').innerText.trim() : null;
}"""


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
        up = stroke(page, box, [(0.3, 0.15), (0.5, 0.15), (0.7, 0.15)])         # a bar across the top
        changed = wait_for(page, lambda: page.evaluate(METRIC, "Confidence") not in (None, first))
        print(f"second stroke: reading changed {1000 * (changed - up):.0f} ms after mouse-up,",
              "prediction", page.evaluate(METRIC, "Prediction"), page.evaluate(METRIC, "Confidence"))
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
        deadline = time.perf_counter() + 20
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
