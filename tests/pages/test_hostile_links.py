"""Links and widget values a visitor can craft by hand: non-finite and huge numbers, values that only moving
sliders reaches, formulas that overflow, markdown in a link. Each page renders with a notice, never a traceback.
(What such text looks like in a real browser: tests/browser/test_browser_hostile.py.)"""
import math
import re

import pytest

from tests.apptest_utils import assert_no_exception, open_page, page_output
import ui
from ui import registry

PAGES = [p["path"] for p in registry.existing_pages()]
NON_FINITE = ["inf", "-Infinity", "1e400", "9" * 400, "nan", "-1e300"]   # the last is finite, far out of range
# On every page the fast loop sends one non-finite value and one finite value out of range: ui._number_within's
# two reasons to refuse. The other four are refused for the same reason as inf (test_every_hostile_number_is_
# refused_before_a_widget_reads_it checks each); they run on every page in the full suite (marked slow).
ON_EVERY_PAGE_IN_THE_FAST_LOOP = ("inf", "-1e300")
INJECTION = "0.1` [Sign in again](https://evil.example/login) ![x](https://evil.example/t.png) `"


def number_widgets(at):
    """(kind, key, min, max) of the page's link-bound sliders and number inputs."""
    return [(kind, w.key, w.min, w.max) for kind in ("slider", "number_input") for w in getattr(at, kind)
            if w.key and not w.key.startswith("quiz_")]


@pytest.fixture(scope="module")
def widgets_by_page():
    return {}


def test_every_hostile_number_is_refused_before_a_widget_reads_it():
    """The check ui's link-bound number widgets run on a link's value before Streamlit sees it."""
    for value in NON_FINITE:
        assert not ui._number_within(value, (0, 99_999)), value
        assert not ui._number_within(value, (-1.0, 1.0)), value
    assert ui._number_within("42", (0, 99_999)) and ui._number_within("-0.5", (-1.0, 1.0))


@pytest.mark.parametrize("value", [v if v in ON_EVERY_PAGE_IN_THE_FAST_LOOP else pytest.param(v, marks=pytest.mark.slow)
                                   for v in NON_FINITE])
@pytest.mark.parametrize("path", PAGES)
def test_non_finite_and_huge_link_numbers_fall_back_with_a_notice(path, value, widgets_by_page):
    """?seed=inf (or 1e400, or a 400-digit number) raised OverflowError on every page with a seed, and the
    link kept raising it after a reload. Every slider and number input gets the value at once."""
    if path not in widgets_by_page:
        widgets_by_page[path] = number_widgets(open_page(path))
    widgets = widgets_by_page[path]
    if not widgets:
        pytest.skip(f"{path} has no number widgets")
    at = open_page(path, query={key: value for _, key, _, _ in widgets})
    assert_no_exception(at)
    for kind, key, lo, hi in widgets:
        try:
            shown = getattr(at, kind)(key=key).value
        except KeyError:
            continue  # hidden by another control the link changed
        assert math.isfinite(shown) and lo <= shown <= hi, f"{key} took {shown!r}"
        assert str(at.query_params.get(key, "")) != value, f"{key}: the bad value stayed in the link"
    assert any("link asked for" in w.value for w in at.warning), "no notice for the refused values"
    seeds = [key for _, key, _, _ in widgets if key.endswith("_seed")]
    if seeds:
        assert any(f"link asked for {seeds[0]} = " in w.value for w in at.warning), "no notice for the seed"


def test_a_refused_link_value_is_shown_as_plain_text_not_markdown():
    """A backtick in the value used to close the notice's code span, so the rest became a link and an image."""
    at = open_page("views/ch07_training.py", query={"tr_lr": INJECTION})
    assert_no_exception(at)
    notice = next(w.value for w in at.warning if "link asked for" in w.value)
    unescaped = re.sub(r"\\.", "", notice)          # what is left once every backslash escape is taken out
    assert not re.search(r"[\[\]()`!]", unescaped), notice
    assert "evil.example" in notice.replace("\\", "").replace("\u2060", "")   # still shown, as text


def test_present_link_value_is_shown_as_plain_text():
    at = open_page("views/home.py", query={"present": INJECTION})
    assert_no_exception(at)
    notice = next(w.value for w in at.warning if "link asked for" in w.value)
    assert not re.search(r"[\[\]()`!]", re.sub(r"\\.", "", notice)), notice


def test_zero_loss_regression_renders():
    """Moving the sliders to no noise and w = b = 0 gives an MSE of exactly 0: the log-scale chart used to
    raise TypeError (math.isfinite(None))."""
    at = open_page("views/t2_linear_regression.py", query={"lr_noise": "0", "lr_w": "0", "lr_b": "0"})
    assert_no_exception(at)
    assert "exactly 0" in page_output(at)


def test_overflowing_formula_is_refused_on_the_page():
    at = open_page("views/t3_binary_activation.py", query={"ca_f": "1000000**12*x"})
    assert_no_exception(at)
    assert any("not accepted" in e.value and "float32" in e.value for e in at.error)


def test_formula_error_quoting_the_text_is_plain_text():
    """The parser's message quotes a string constant: it used to render as a link."""
    at = open_page("views/t3_binary_activation.py", query={"ca_f": "x + '[Sign in](https://evil.example/login)'"})
    assert_no_exception(at)
    message = next(e.value for e in at.error if "not accepted" in e.value)
    assert "evil" in message and "https\\:\u2060" in message, message      # shown, and no bare-URL autolink
    assert not re.search(r"[\[\]()`]", re.sub(r"\\.", "", message)), message
