"""Shareable links: every bound widget of every page takes its value from the URL, and a garbage,
out-of-range or wrongly typed value falls back to the default with a notice instead of breaking the page."""
import pytest

from tests.apptest_utils import assert_no_exception, open_page
from ui import registry

PAGES = [p["path"] for p in registry.existing_pages()]
KINDS = ("slider", "select_slider", "selectbox", "radio", "toggle", "number_input", "text_input",
         "segmented_control")
GARBAGE = "<script>alert(1)</script>%00;DROP TABLE"


def bound_widgets(at):
    """(kind, key) of the widgets a link can set: the ones with a key, quizzes excepted."""
    found = []
    for kind in KINDS:
        for w in getattr(at, kind):
            if w.key and not w.key.startswith("quiz_"):
                found.append((kind, w.key))
    return found


@pytest.mark.parametrize("path", PAGES)
def test_garbage_link_values_fall_back_with_a_notice(path):
    at = open_page(path)
    widgets = [(k, key) for k, key in bound_widgets(at) if k not in ("text_input",)]
    if not widgets:
        pytest.skip(f"{path} has no bound widgets")
    defaults = {key: getattr(at, kind)(key=key).value for kind, key in widgets}
    at = open_page(path, query={key: GARBAGE for _, key in widgets})
    assert_no_exception(at)
    shown = {key: getattr(at, kind)(key=key).value for kind, key in widgets if _present(at, kind, key)}
    for key, value in shown.items():
        assert value == defaults[key], f"{key} took a garbage link value: {value!r}"
    notices = " ".join(w.value for w in at.warning)
    assert "link asked for" in notices, f"{path}: no notice for refused link values"


def _present(at, kind, key):
    try:
        getattr(at, kind)(key=key)
        return True
    except KeyError:
        return False
