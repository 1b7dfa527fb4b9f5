"""ui.page (the one page layout), ui.predict ("predict, then try"), the axis helpers and the palette's contrast."""
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

import ui
from classmode import store
from tests.apptest_utils import assert_no_exception


# ------------------------------------------------------------------------------------------- ui.page
def _page_script(controls):
    import streamlit as st

    import ui
    L = ui.page("A title", "One short lead.", controls=controls)
    with L.below:
        st.markdown("below text")
    with L.picture:
        st.markdown("picture text")
    with L.more:
        st.slider("secondary", 0, 10, 3, key="sec")
    with L.controls:
        st.slider("main", 0, 10, 5, key="main")


@pytest.mark.parametrize("controls", ["right", "top"])
def test_page_places_picture_controls_more_below_in_order(controls):
    at = AppTest.from_function(_page_script, args=(controls,)).run()
    assert_no_exception(at)
    assert at.title[0].value == "A title"
    assert at.caption[0].value == "One short lead."
    main = at.main
    # the page's order follows the layout, not the order the containers were filled in
    texts = [m.value for m in at.markdown if m.value in ("picture text", "below text")]
    assert texts == ["picture text", "below text"]
    assert {s.key for s in at.slider} == {"main", "sec"}
    exp = at.expander
    assert [e.label for e in exp] == ["More controls"]
    assert [s.key for s in exp[0].slider] == ["sec"]      # the secondary control is in the panel
    if controls == "right":
        cols = main.columns
        assert len(cols) == 2
        assert [m.value for m in cols[0].markdown] == ["picture text"]
        assert [s.key for s in cols[1].slider] == ["main", "sec"]   # main control above the panel
    assert not at.sidebar.slider


def test_page_refuses_an_unknown_placement():
    with pytest.raises(ValueError, match="controls must be"):
        ui.page("t", "l", controls="left")


# ------------------------------------------------------------------------------------------- ui.predict
def _predict_script():
    import streamlit as st

    import ui
    total = sum(range(5))   # the page's own number
    ui.predict("sum5", "What is 0+1+2+3+4?", ["5", "10", "15"], 1, why=f"The sum is {total}.",
               try_it=lambda: st.markdown(f"tried: {total}"))


def _feedback(at):
    return [m.value for m in at.success] + [m.value for m in at.error]


def test_predict_shows_nothing_before_a_pick_then_right_or_wrong_with_why():
    at = AppTest.from_function(_predict_script).run()
    assert_no_exception(at)
    radio = at.radio(key="predict_sum5")
    assert radio.value is None                      # no default prediction
    assert _feedback(at) == []
    assert not [m for m in at.markdown if m.value.startswith("tried")]

    radio.set_value("15").run()
    assert_no_exception(at)
    assert at.error and "Not this time" in at.error[0].value and "**10**" in at.error[0].value
    assert "The sum is 10." in at.error[0].value
    assert [m.value for m in at.markdown if m.value.startswith("tried")] == ["tried: 10"]
    assert not at.success

    at.radio(key="predict_sum5").set_value("10").run()
    assert at.success and at.success[0].value == "Your prediction was right. The sum is 10."
    assert not at.error


def _lazy_predict_script():
    import streamlit as st

    import ui
    st.session_state.setdefault("reveals", 0)

    def reveal():   # a costly computation: runs only once a prediction is picked
        st.session_state["reveals"] += 1
        return 2, "It is 15."
    ui.predict("lazy", "What is 0+1+2+3+4+5?", ["5", "10", "15"], reveal=reveal)


def test_predict_with_reveal_computes_the_answer_only_after_a_pick():
    at = AppTest.from_function(_lazy_predict_script).run()
    at.run()                                          # reruns before a pick compute nothing
    assert at.session_state["reveals"] == 0 and _feedback(at) == []
    at.radio(key="predict_lazy").set_value("15").run()
    assert_no_exception(at)
    assert at.session_state["reveals"] == 1
    assert at.success and at.success[0].value == "Your prediction was right. It is 15."


def test_predict_refuses_an_answer_out_of_range():
    with pytest.raises(ValueError):
        ui.predict("x", "q", ["a", "b"], 2, "why")


def test_predict_is_recorded_in_the_class_a_tab_joined(db):
    code, _token = store.open_class(db)
    at = AppTest.from_function(_predict_script)
    at.session_state["cm_student"] = "student-1"
    store.join(db, code, "student-1")
    at.session_state["cm_class"] = code
    at.run()
    assert store.tally(db, code)[1] == []            # nothing sent before a pick
    at.radio(key="predict_sum5").set_value("15").run()
    assert_no_exception(at)
    qs = store.tally(db, code)[1]
    assert [(q["qid"], q["answer"], q["counts"]) for q in qs] == [("sum5", 1, [0, 0, 1])]
    assert qs[0]["question"] == "What is 0+1+2+3+4?"


def test_predict_outside_a_class_touches_no_database(monkeypatch):
    from ui import classmode
    monkeypatch.setattr(classmode, "engine", lambda: pytest.fail("no class: no database"))
    at = AppTest.from_function(_predict_script).run()
    at.radio(key="predict_sum5").set_value("10").run()
    assert_no_exception(at)


# ------------------------------------------------------------------------------------------- axes
def test_log_axis_ticks_only_powers_of_ten():
    from ui import figspec
    fig = go.Figure(figspec.figure([dict(type="scatter", x=[0.01, 1, 300], y=[1, 2, 3])],
                                   xaxis=figspec.log_axis(title=dict(text="x"))))
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis.dtick == 1 and fig.layout.xaxis.title.text == "x"
    fig = go.Figure(figspec.figure([dict(type="scatter", x=[1, 2], y=[1, 1e4])], yaxis=figspec.log_axis()))
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.dtick == 1 and fig.layout.xaxis.type is None
    assert fig.layout.yaxis.minor.showgrid is False


def test_digit_axis_labels_every_digit():
    from ui import figspec
    fig = go.Figure(figspec.figure([dict(type="bar", x=list(range(10)), y=[1] * 10)], xaxis=figspec.digit_axis()))
    assert (fig.layout.xaxis.tickmode, fig.layout.xaxis.tick0, fig.layout.xaxis.dtick) == ("linear", 0, 1)


# ------------------------------------------------------------------------------------------- colours
def relative_luminance(hex_colour):
    """WCAG 2.x relative luminance of an sRGB colour '#RRGGBB'."""
    h = hex_colour.lstrip("#")
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_on_white(hex_colour):
    return 1.05 / (relative_luminance(hex_colour) + 0.05)


def test_contrast_formula_matches_wcag_examples():
    assert contrast_on_white("#000000") == pytest.approx(21.0)
    assert contrast_on_white("#E69F00") == pytest.approx(2.25, abs=0.01)   # Okabe-Ito orange fails
    assert contrast_on_white("#F0E442") == pytest.approx(1.32, abs=0.01)   # Okabe-Ito yellow fails


@pytest.mark.parametrize("colour", sorted(set(ui.PALETTE) | set(ui.COLORS.values())))
def test_every_line_colour_has_3_to_1_contrast_on_white(colour):
    assert contrast_on_white(colour) >= 3.0, f"{colour}: {contrast_on_white(colour):.2f}:1"


# ------------------------------------------------------------------------------------------- chapter navigation
def test_lesson_neighbours_walk_every_page_in_registry_order():
    from ui import registry
    lesson = [p for p in registry.existing_pages() if p["url"] != "class"]
    walked, url = [], lesson[0]["url"]
    while url is not None:
        walked.append(url)
        before, after = registry.lesson_neighbours(url)
        assert (before["url"] if before else None) == (walked[-2] if len(walked) > 1 else None)
        url = after["url"] if after else None
    assert walked == [p["url"] for p in lesson]
    assert registry.lesson_neighbours("class") == (None, registry.page_by_path("views/ch00_draw_digit.py"))


def _page_links(at):
    return [(p.proto.label, p.proto.page) for p in at.get("page_link")]


def test_previous_and_next_chapter_links_on_a_page():
    from tests.apptest_utils import open_page
    at = open_page("views/ch02_shapes.py")
    assert_no_exception(at)
    assert _page_links(at)[-2:] == [("Previous: 1 · Raw tensors", "tensors"),
                                    ("Next: 3 · Cross-entropy explorer", "cross-entropy")]
    at = open_page("views/home.py")
    assert _page_links(at)[-1] == ("Next: 0 · Draw a digit", "draw")
    assert not [label for label, _ in _page_links(at) if label.startswith("Previous")]


# ------------------------------------------------------------------------------------------- home and pages 1-3
def test_network_picture_draws_the_real_weights_and_counts():
    import torch

    from core import network
    from ui.network_picture import SHOWN, network_figure
    params = network.init_mlp([784, 128, 10], seed=3)
    fig = network_figure(params)
    text = " ".join(a["text"] for a in fig["layout"]["annotations"])
    assert "W1 [784, 128] + b1 [128]: <b>100,480</b>" in text and "W2 [128, 10] + b2 [10]: <b>1,290</b>" in text
    assert "<b>784</b>" in text and "<b>128</b>" in text and "<b>10</b>" in text
    # every drawn line between inputs and hidden units has the colour of its weight's sign
    n_in, n_hid = SHOWN[0], SHOWN[1]
    W = params[0]["W"][:n_in, :n_hid]
    negative = sum(len(t["x"]) // 3 for t in fig["data"]
                   if t["mode"] == "lines" and t["line"]["color"] == ui.COLORS["forward"] and t["x"][0] == 0)
    assert negative == int((W < 0).sum()) and 0 < negative < n_in * n_hid
    flipped = network_figure([{"W": -p["W"], "b": p["b"]} for p in params])
    assert sum(len(t["x"]) // 3 for t in flipped["data"] if t["mode"] == "lines"
               and t["line"]["color"] == ui.COLORS["forward"] and t["x"][0] == 0) == int((W > 0).sum())
    assert torch.equal(params[0]["W"], network.init_mlp([784, 128, 10], seed=3)[0]["W"])   # not modified


def test_home_opens_with_the_network_and_a_start_here_link():
    from tests.apptest_utils import open_page, page_output
    at = open_page("views/home.py")
    assert_no_exception(at)
    links = _page_links(at)
    assert links[0] == ("Start here: draw a digit", "draw")
    assert at.get("plotly_chart"), "no picture on the home page"
    assert "trained weights" in page_output(at) and "101,770 numbers" in page_output(at)
    at.segmented_control(key="home_weights").set_value("Fresh").run()
    assert "fresh Kaiming weights (seed 0)" in page_output(at)
    assert not at.sidebar.segmented_control


@pytest.mark.parametrize("path, qid", [("views/ch01_raw_tensors.py", "ch1_randn"),
                                       ("views/ch01_raw_tensors.py", "ch1_xavier"),
                                       ("views/ch02_shapes.py", "ch2_batch"), ("views/ch02_shapes.py", "ch2_width"),
                                       ("views/ch03_cross_entropy.py", "ch3_naive"),
                                       ("views/ch03_cross_entropy.py", "ch3_mse")])
def test_chapter_predictions_answer_after_a_pick(path, qid):
    from tests.apptest_utils import open_page
    at = open_page(path)
    radio = at.radio(key=f"predict_{qid}")
    assert radio.value is None
    before = len(at.success) + len(at.error)
    radio.set_value(radio.options[0]).run()
    assert_no_exception(at)
    shown = [m.value for m in at.success] + [m.value for m in at.error]
    assert len(shown) == before + 1
    assert any(("Your prediction was right" in m or "Not this time" in m) and "just now" in m for m in shown)
    assert not at.sidebar.slider and not at.sidebar.selectbox and not at.sidebar.number_input


def test_page1_randn_prediction_quotes_the_spread_the_page_measured():
    from labs import ch01_raw_tensors
    from tests.apptest_utils import open_page
    at = open_page("views/ch01_raw_tensors.py")
    at.radio(key="predict_ch1_randn").set_value(at.radio(key="predict_ch1_randn").options[2]).run()
    std = ch01_raw_tensors.compare_inits(["normal"], depth=20, width=128, n_samples=128, seed=0)["normal"][-1]["std"]
    assert at.success and f"Measured just now (seed 0): {std:.3g}." in at.success[0].value   # explodes: right


def test_page2_batch_prediction_is_right_for_unchanged_w1():
    from tests.apptest_utils import open_page
    at = open_page("views/ch02_shapes.py")
    at.radio(key="predict_ch2_batch").set_value("[784, 128]: unchanged").run()
    assert at.success and "W1 is [784, 128] at B = 64 and [784, 128] at B = 128" in at.success[0].value
