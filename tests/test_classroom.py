"""A short version of the classroom load test (bench/classroom.py): several students at once on one
`streamlit run` server, driven over Streamlit's own websocket protocol, plus a few real Chromium tabs.

No timings are asserted here (they belong to the benchmark); what must hold on any machine is that
no page raises, that every student sees only the values it set, and that every page is visited.
"""
import pytest

from bench import classroom
from tests.browser_utils import require_browser
from ui import registry


def test_every_page_has_a_student_action():
    assert classroom.missing_pages() == [], "add an action for these pages to bench/classroom.py ACTIONS"


def test_every_action_names_a_page_of_the_registry():
    urls = classroom.page_urls()
    assert {a[0] for a in classroom.ACTIONS} <= urls


def test_a_small_class_gets_no_exception_and_sees_only_its_own_values():
    r = classroom.measure(students=4, seconds=12.0, think=0.3, seed=1)
    assert r["pages_visited"] == len(registry.existing_pages())
    assert r["warmup_problems"] == {}, r["warmup_problems"]
    assert r["client_failures"] == [], r["client_failures"]
    assert r["exceptions"] == 0, r["first_errors"]
    assert r["widget_changes"] >= 8
    assert r["isolation_checks"] >= 3
    assert r["isolation_failures"] == 0


def test_three_browser_tabs_each_keep_their_own_batch_size():
    require_browser()
    r = classroom.measure_browsers(3)
    assert r["client_failures"] == [], r["client_failures"]
    assert r["exceptions"] == 0
    assert r["isolated"] == 3
