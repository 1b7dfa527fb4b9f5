"""Pages 7 and 7b as a class sees them (issue 9): one live view whether playing or paused, the untrained network at
step 0, the previous run kept as a ghost after Reset, a measured prediction; 7b's sample digits before training and
its accuracy curve growing epoch by epoch."""
import json

import pyarrow as pa
import pytest

import ui
from core import data
from datasets import mnist_files
from labs import ch07_mnist
from labs import ch07_training
from tests.apptest_utils import assert_no_exception, metric, open_page, page_output

PAGE = "views/ch07_training.py"
MNIST_PAGE = "views/ch07_mnist.py"


def _curves(at):
    """{chart: {line: [(step, value), ...]}} from the live view's Vega-Lite charts (loss first, then accuracy)."""
    out = []
    for chart in at.get("vega_lite_chart"):
        table = pa.ipc.open_stream(chart.proto.data.data).read_all().to_pydict()
        lines = {}
        for step, value, line in zip(table["step"], table["value"], table["line"]):
            lines.setdefault(line, []).append((step, value))
        out.append(lines)
    return out


def _view(at):
    """What the live view draws: (number of images, number of Vega-Lite charts)."""
    return len(at.get("image")), len(at.get("vega_lite_chart"))


def test_step_0_shows_the_untrained_network_and_its_starting_loss():
    at = open_page(PAGE, query={"tr_data": "moons"})
    assert_no_exception(at)
    assert metric(at, "Step") == "0"
    assert at.get("image")[0].proto.imgs[0].url.startswith("data:image/jpeg")   # the boundary, before any step
    loss, acc = _curves(at)
    assert loss["train"] == [(0, pytest.approx(float(metric(at, "Train loss")), abs=5e-5))]
    assert "Step 0: the untrained network" in page_output(at)
    assert f"ln 2 = {0.6931:.4f}" in page_output(at)          # moons: 2 classes, cross-entropy


def test_play_advances_frames_in_the_same_view_as_paused():
    at = open_page(PAGE, query={"tr_data": "moons", "tr_spf": "10"})
    paused = _view(at)
    at.button(key="tr_play").click().run()
    assert metric(at, "Step") == "10"
    playing = _view(at)
    at.run()                                                   # the next frame
    assert metric(at, "Step") == "20"
    assert [len(c["train"]) for c in _curves(at)] == [3, 3]   # steps 0, 10, 20
    at.button(key="tr_pause").click().run()
    assert paused == playing == _view(at) == (2, 2)           # boundary + units, loss + accuracy: one view
    assert_no_exception(at)


def test_reset_keeps_the_previous_run_as_a_faint_ghost():
    at = open_page(PAGE, query={"tr_data": "moons", "tr_spf": "25"})
    at.button(key="tr_step").click().run()
    at.button(key="tr_step").click().run()
    before = _curves(at)[0]["train"]                          # steps 0, 25, 50
    at.button(key="tr_reset").click().run()
    assert metric(at, "Step") == "0"
    loss, acc = _curves(at)
    assert loss["previous run: train"] == before and len(loss["previous run: test"]) == 3
    assert len(acc["previous run: train"]) == 3 and loss["train"] == [before[0]]   # same start: same weights
    assert "previous run (Adam, lr 0.03, 2 -> 16 -> 16 -> 2)" in page_output(at)
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert spec["encoding"]["strokeDash"]["scale"]["range"][2] != [1, 0]      # dashed
    assert spec["encoding"]["opacity"]["scale"]["range"][2] < 1              # faint
    at.select_slider(key="tr_lr").set_value(0.3).run()        # a new setting, compared with the ghost
    at.button(key="tr_step").click().run()
    assert len(_curves(at)[0]["previous run: train"]) == 3
    assert_no_exception(at)


def test_the_learning_rate_10_prediction_quotes_a_measured_run():
    at = open_page(PAGE, query={"tr_data": "moons"})
    X, y = data.make_2d("moons", n=300, noise=0.1, seed=0, n_classes=2)
    d = ch07_training.split_and_grids(X, y, 0.2, 0)
    config = ch07_training.make_live_config("adam", 10.0, "cross_entropy", 32, "relu", "constant", 1000, 250, 0.5)
    hot = ch07_training.short_run([2, 16, 16, 2], d["X_train"], d["y_train"], d["X_test"], d["y_test"], config, 50)
    radio = at.radio(key="predict_ch7_lr10")
    assert radio.value is None
    radio.set_value(radio.options[2]).run()
    text = page_output(at)
    assert (hot["diverged"] or f"{hot['end']:.4f}") in text and f"{hot['start']:.4f}" in text


# ---------------------------------------------------------------- 7b
def test_mnist_shows_sample_digits_with_their_labels_before_training(mnist_dir):
    at = open_page(MNIST_PAGE)
    assert_no_exception(at)
    X, y, *_ = mnist_files.mnist_train_test()
    idx = ch07_mnist.samples_per_digit(y, per_digit=2)
    assert [int(y[i]) for i in idx] == list(range(10)) * 2
    assert "20 of the training images with their labels, row by row: 0 1 2 3 4 5 6 7 8 9 / 0 1 2" in page_output(at)
    assert len(at.get("image")) == 1 and "Press **Train**" in page_output(at)   # the strip, before any training
    assert not at.sidebar.get("slider") and not at.sidebar.get("selectbox")   # no control in the sidebar


def test_mnist_accuracy_curve_grows_one_point_per_epoch(mnist_dir, monkeypatch):
    drawn = []
    original = ui.plot

    def recording(fig, key=None, height=None):
        drawn.append((key, fig["layout"]["title"]["text"], [len(t["x"]) for t in fig["data"]]))
        return original(fig, key=key, height=height)

    monkeypatch.setattr(ui, "plot", recording)
    at = open_page(MNIST_PAGE, query={"mnist_epochs": "3", "mnist_hidden": "16"})
    drawn.clear()
    at.button(key="mnist_train").click().run()
    assert_no_exception(at)
    progress = [d for d in drawn if d[0] and d[0].startswith("mnist_progress_")]
    assert progress == [(f"mnist_progress_{k}", f"Accuracy after each epoch: {k} of 3 done", [k, k]) for k in (1, 2, 3)]
    final = next(d for d in drawn if d[0] == "mnist_curve")
    assert final[1:] == ("Accuracy after each epoch: 3 of 3 done", [3, 3])
    history = at.session_state["mnist_result"]["history"]
    assert metric(at, "Test accuracy") == f"{history[-1]['test_acc']:.2%}"


def test_mnist_confusion_matrix_labels_every_digit(mnist_dir):
    at = open_page(MNIST_PAGE, query={"mnist_epochs": "1", "mnist_hidden": "16"})
    at.button(key="mnist_train").click().run()
    fig = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
               if "Confusion" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    for axis in ("xaxis", "yaxis"):
        assert fig["layout"][axis]["dtick"] == 1 and fig["layout"][axis]["tickmode"] == "linear"


# ---------------------------------------------------------------- in a real browser
LOADED = """() => [...document.querySelectorAll('[data-testid=stMain] [data-testid=stImage] img')]
    .map(e => e.complete && e.naturalWidth > 0)"""


def test_the_live_pictures_show_while_playing(app_url, browser):
    """The boundary and the unit sheet are real pictures on every sampled frame (they were broken images on 4 of 5
    samples while st.image served them from its media store: the next frame deleted the file before it was fetched)."""
    from tests.browser_utils import exceptions, wait_idle
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{app_url}/training")
    page.wait_for_selector("[data-testid=stMain] h1", timeout=120_000)
    wait_idle(page)
    page.get_by_role("button", name="Play").first.click()
    page.wait_for_timeout(800)
    samples = []
    for _ in range(5):
        page.wait_for_timeout(500)
        samples.append(page.evaluate(LOADED))
    width = page.evaluate("() => document.querySelector('[data-testid=stMain] [data-testid=stImage] img')"
                          ".getBoundingClientRect().width")
    page.get_by_role("button", name="Pause").first.click()
    assert not exceptions(page)
    page.close()
    assert all(len(s) == 2 and all(s) for s in samples), samples
    assert width >= 360
