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
    """(kind, key) of the widgets a link can set: the ones with a key, quizzes and predictions excepted
    (answers, not settings: ui.predict's radios are not bound to the link)."""
    found = []
    for kind in KINDS:
        for w in getattr(at, kind):
            if w.key and not w.key.startswith(("quiz_", "predict_")):
                found.append((kind, w.key))
    return found


@pytest.mark.parametrize("path", PAGES)
def test_garbage_link_values_fall_back_with_a_notice(path):
    at = open_page(path)
    widgets = [(k, key) for k, key in bound_widgets(at) if k not in ("text_input",)]
    if not widgets or (path != "views/home.py" and {key for _, key in widgets} == {"present"}):
        # app.py's sidebar toggle reads its link on the first run (the home page's), so it is tested there
        pytest.skip(f"{path} has no bound widgets of its own")
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


def _another_value(widget, kind):
    """A valid value of `widget` other than its current one, or None when AppTest cannot name one.

    Choice widgets with a format_func show labels, not the values a link holds: those are skipped here
    (their links are tested on their own pages)."""
    value = widget.value
    if kind == "toggle":
        return not value
    if kind == "slider":
        return widget.max if value != widget.max else widget.min
    if kind == "number_input":
        return value + 1
    options = list(widget.options)
    if str(value) not in [str(o) for o in options]:
        return None  # labels differ from values (format_func)
    others = [o for o in options if str(o) != str(value)]
    return others[-1] if others else None


def _same(a, b):
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


@pytest.mark.parametrize("path", PAGES)
def test_a_link_restores_every_control_it_names(path):
    """Open the page once, pick another valid value for every URL-bound control, open the link holding
    them all: every control shows its value from the link, with no notice and no exception."""
    at = open_page(path)
    wanted = {}
    for kind, key in bound_widgets(at):
        if kind == "text_input":
            continue
        other = _another_value(getattr(at, kind)(key=key), kind)
        if other is not None:
            wanted[key] = (kind, other)
    if not wanted:
        pytest.skip(f"{path} has no control a link can change")
    at = open_page(path, query={key: str(v).lower() if isinstance(v, bool) else str(v)
                                for key, (_, v) in wanted.items()})
    assert_no_exception(at)
    assert not [w.value for w in at.warning if "link asked for" in w.value]
    restored = 0
    for key, (kind, value) in wanted.items():
        if not _present(at, kind, key):
            continue  # hidden by another control the link changed (e.g. the pen width once "MNIST digit" is chosen)
        assert _same(getattr(at, kind)(key=key).value, value), f"{path}: {key} did not take {value!r} from the link"
        restored += 1
    assert restored >= min(len(wanted), 1)

