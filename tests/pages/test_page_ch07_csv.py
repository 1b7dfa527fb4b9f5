"""Page 7 (live training) on the learner's own CSV: upload, refusal, fallback, links, export; AppTest and a browser."""
import io
import json
import subprocess
import sys

import pytest
import streamlit
import torch
import torch.nn.functional as F

from core import data
from datasets import points_csv
from core.network import to_torch_sequential
from tests.apptest_utils import assert_no_exception, metric, open_page, page_output
from tests.browser_utils import ROOT, exceptions, wait_idle

PAGE = "views/ch07_training.py"
CSV = "your CSV"


def _points(n=300, scale=1.0, shift=0.0, names=("A", "B", "C")):
    """A spiral in the units of a real measurement (scale, shift) as CSV bytes, with the tensors behind it."""
    X, y = data.make_2d("spiral", n=n, noise=0.1, seed=0, n_classes=len(names))
    text = points_csv.points_csv(X * scale + shift, y, list(names))
    return text.encode(), points_csv.parse_points_csv(text.encode())


def _upload(at, name, raw):
    at.file_uploader(key="tr_csv").set_value((name, raw, "text/csv")).run()
    assert_no_exception(at)
    return at


def _notices(at, kind):
    return " ".join(e.value for e in getattr(at, kind))


@pytest.fixture(scope="module")
def uploaded():
    """The page with a spiral in large units (x about 50 +- 100) uploaded, 25 steps per frame."""
    at = open_page(PAGE, query={"tr_data": CSV, "tr_spf": "25"})
    raw, _ = _points(scale=100.0, shift=50.0)
    return _upload(at, "lab points.csv", raw)


def test_choosing_csv_without_a_file_explains_and_falls_back():
    at = open_page(PAGE, query={"tr_data": CSV})       # what a shared link does: the file cannot come along
    assert_no_exception(at)
    assert at.selectbox(key="tr_data").value == CSV and not at.warning
    info = _notices(at, "info")
    assert "No usable file yet" in info and "trains on the spiral dataset" in info and "link" in info
    text = page_output(at)
    assert "header row" in text and "`label`, `class` or `target`" in text and "5,000 points" in text
    assert at.get("file_uploader") and at.file_uploader(key="tr_csv").allowed_type == [".csv"]
    assert "2 -> 16 -> 16 -> 3" in text                  # spiral with the Classes slider's 3 classes
    assert not at.slider(key="tr_classes").disabled
    at.button(key="tr_step").click().run()
    assert metric(at, "Step") == "5"


def test_a_good_file_trains_on_its_points(uploaded):
    at = uploaded
    success = _notices(at, "success")
    assert "`lab points.csv`: 300 points, 3 classes." in success
    assert "columns `x` and `y`, labels from `label`" in success and "`A` -> 0 (100)" in success
    text = page_output(at)
    assert "2 -> 16 -> 16 -> 3" in text and "240 training points, 60 held out" in text
    assert "standardised" in text and "do not apply" in text
    assert all(at.slider(key=k).disabled for k in ("tr_classes", "tr_noise", "tr_n"))
    # the decision-boundary plot is drawn in the file's own units, each axis on its own scale
    layout = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    _, (X, _, _, _) = _points(scale=100.0, shift=50.0)
    assert layout["xaxis"]["title"]["text"] == "x" and layout["yaxis"]["scaleanchor"] is False
    for axis, column in (("xaxis", 0), ("yaxis", 1)):
        low, high = layout[axis]["range"]
        assert low < X[:, column].min().item() and X[:, column].max().item() < high < 300
    assert metric(at, "Step") == "0"
    loss0 = float(metric(at, "Train loss"))
    for _ in range(4):
        at.button(key="tr_step").click().run()
    assert_no_exception(at)
    assert metric(at, "Step") == "100"
    assert float(metric(at, "Train loss")) < 0.6 * loss0
    # the printed test loss is the page's network on the file's held-out points, standardised as the page says
    _, (X, y, _, _) = _points(scale=100.0, shift=50.0)
    X_train, X_test, _, y_test = data.train_test_split(X, y, 0.2, seed=0)
    mean, std = data.fit_standardizer(X_train)
    assert X_train.abs().max() > 100 and mean[0].item() == pytest.approx(50, abs=10)
    model = to_torch_sequential(at.session_state["tr_state"]["params"])
    expected = F.cross_entropy(model(data.standardize(X_test, mean, std)), y_test).item()
    assert float(metric(at, "Test loss")) == pytest.approx(expected, abs=6e-5)


def test_the_file_survives_switching_dataset_and_back(uploaded):
    at = uploaded
    at.selectbox(key="tr_data").set_value("moons").run()
    assert not at.get("file_uploader") and "2 -> 16 -> 16 -> 2" in page_output(at)
    at.selectbox(key="tr_data").set_value(CSV).run()
    assert_no_exception(at)
    assert "300 points, 3 classes" in _notices(at, "success")
    assert "2 -> 16 -> 16 -> 3" in page_output(at) and "uploaded earlier in this session" in page_output(at)


def test_a_refused_file_shows_why_and_the_page_falls_back(uploaded):
    at = uploaded
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    _upload(at, "photo.csv", png)
    error = _notices(at, "error")
    assert "`photo.csv` cannot be used." in error and "PNG image" in error
    assert "trains on the spiral dataset" in _notices(at, "info") and not at.success
    assert not at.slider(key="tr_classes").disabled
    assert metric(at, "Step") == "0"                    # new data: training starts again
    at.button(key="tr_step").click().run()
    assert_no_exception(at)
    assert metric(at, "Step") == "25"
    bad_row = b"x,y,label\n" + b"1,2,a\n" * 6 + b"1,oops,b\n" + b"2,3,b\n" * 6
    _upload(at, "typo.csv", bad_row)
    assert "Row 8, column `y`: `oops` is not a number" in _notices(at, "error")


def test_removing_the_file_returns_to_the_fallback():
    at = open_page(PAGE, query={"tr_data": CSV})
    raw, _ = _points(n=60)
    _upload(at, "p.csv", raw)
    assert "60 points" in _notices(at, "success")
    at.file_uploader(key="tr_csv").set_value(None).run()
    assert_no_exception(at)
    assert not at.success and "No usable file yet" in _notices(at, "info")
    at.selectbox(key="tr_data").set_value("xor").run()
    at.selectbox(key="tr_data").set_value(CSV).run()
    assert "No usable file yet" in _notices(at, "info")     # it was forgotten, not just hidden


def test_words_as_labels_ten_classes_and_extra_columns():
    rows = ["id,height,weight,colour,class"]
    rows += [f"{i},{(i % 10) * 3 + 0.1 * (i // 10)},{(i % 7) * 0.5},red,{'c' + str(i % 10)}" for i in range(200)]
    at = open_page(PAGE, query={"tr_data": CSV})
    _upload(at, "ten.csv", ("\n".join(rows) + "\n").encode())
    success = _notices(at, "success")
    assert "200 points, 10 classes" in success and "columns `id` and `height`, labels from `class`" in success
    assert "ignored: `weight`, `colour`" in success and "`c9` -> 9 (20)" in success
    assert "2 -> 16 -> 16 -> 10" in page_output(at)
    at.button(key="tr_step").click().run()
    assert_no_exception(at)
    assert metric(at, "Step") == "5"


def test_a_split_that_leaves_a_class_out_of_training_warns():
    rows = "x,y,label\n" + "".join(f"{i},{i},a\n" for i in range(20)) + "0,1,b\n1,0,b\n2,2,b\n"
    found = None
    for seed in range(40):                      # find a seed whose split puts all three b's in the test part
        X, y, _, _ = points_csv.parse_points_csv(rows.encode())
        _, _, y_train, _ = data.train_test_split(X, y, 0.5, seed=seed)
        if not (y_train == 1).any():
            found = seed
            break
    assert found is not None
    at = open_page(PAGE, query={"tr_data": CSV, "tr_test": "0.5", "tr_seed": str(found)})
    _upload(at, "rare.csv", rows.encode())
    assert "No training point belongs to b (class 1)" in _notices(at, "warning")


@pytest.mark.slow
def test_exported_script_and_weights_reproduce_the_page(monkeypatch, tmp_path):
    """The one real run of a download in its own Python: `python ch07_training.py <your csv>` from the repo root."""
    offered = {}
    original = streamlit.download_button

    def recording(label, data, *args, **kwargs):          # keep what each download button would send
        offered[kwargs.get("key")] = data
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", recording)
    at = open_page(PAGE, query={"tr_data": CSV, "tr_spf": "20", "tr_opt": "Momentum", "tr_act": "tanh"})
    assert points_csv.parse_points_csv(offered["tr_csv_example"])[2] == ["A", "B", "C"]   # the example is a good file
    raw, _ = _points(scale=3.0, shift=-7.0)
    _upload(at, "my data (v2).csv", raw)
    assert "tr_dl_script" not in offered
    at.button(key="tr_step").click().run()
    at.button(key="tr_step").click().run()
    script = offered["tr_dl_script"]
    assert "my_data__v2_.csv" in script and "parse_points_csv" in script and "standardize" in script
    assert "'csv_file': 'my_data__v2_.csv'" in script
    assert "python ch07_training.py my_data__v2_.csv" in page_output(at)
    (tmp_path / "ch07_training.py").write_text(script)
    (tmp_path / "points.csv").write_bytes(raw)
    out = subprocess.run([sys.executable, str(tmp_path / "ch07_training.py"), str(tmp_path / "points.csv")],
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    printed = dict(line.split(": ", 1) for line in out.stdout.strip().splitlines())
    for label in ("Step", "Train loss", "Test loss", "Train accuracy", "Test accuracy"):
        assert printed[label] == metric(at, label), label
    # the weights: an nn.Sequential that gives the page's outputs on standardised inputs
    help_text = at.get("download_button")[-1].help
    assert "standardised inputs" in help_text
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
                                torch.nn.Linear(16, 3))
    model.load_state_dict(torch.load(io.BytesIO(offered["tr_dl_weights"])))
    X_train = data.train_test_split(*points_csv.parse_points_csv(raw)[:2], 0.2, seed=0)[0]
    mean, std = data.fit_standardizer(X_train)
    assert f"mean ({mean[0].item():.6g}, {mean[1].item():.6g})" in help_text
    Z = data.standardize(X_train[:5], mean, std)
    expected = to_torch_sequential(at.session_state["tr_state"]["params"], "tanh")(Z)
    assert torch.allclose(model(Z), expected, atol=1e-6)


# ----------------------------------------------------------------- in a real browser
def _metric_value(page, label):
    box = page.locator("[data-testid=stMetric]", has=page.locator("[data-testid=stMetricLabel]", has_text=label))
    return box.first.locator("[data-testid=stMetricValue]").inner_text().strip()


def _upload_in_browser(page, name, raw):
    page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": raw})
    wait_idle(page)


def test_upload_in_the_browser_trains_and_a_bad_file_is_refused(app_url, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_url)           # a fresh server can answer a first deep link with "Page not found"
    wait_idle(page)
    page.goto(f"{app_url}/training?tr_data=your+CSV&tr_spf=25")
    wait_idle(page)
    assert "No usable file yet" in page.locator("[data-testid=stAlert]").first.inner_text()
    raw, _ = _points(scale=100.0, shift=50.0)
    _upload_in_browser(page, "lab points.csv", raw)
    page.get_by_text("lab points.csv: 300 points, 3 classes.").wait_for(timeout=30_000)
    page.get_by_text("240 training points, 60 held out", exact=False).first.wait_for(timeout=30_000)
    assert _metric_value(page, "Step") == "0"
    loss0 = float(_metric_value(page, "Train loss"))
    for expected in ("25", "50"):
        # .first: Streamlit 1.67 also keeps a hidden copy of a button that has a shortcut, to measure its width
        page.locator(".st-key-tr_step button").first.click()
        wait_idle(page)
        page.locator("[data-testid=stMetricValue]", has_text=expected).first.wait_for(timeout=30_000)
        assert _metric_value(page, "Step") == expected
    assert float(_metric_value(page, "Train loss")) < loss0
    assert not exceptions(page), exceptions(page)

    _upload_in_browser(page, "photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    error = page.locator("[data-testid=stAlert]", has_text="cannot be used")
    error.wait_for(timeout=30_000)
    assert "PNG image" in error.inner_text()
    assert page.get_by_text("trains on the spiral dataset", exact=False).count() >= 1
    assert _metric_value(page, "Step") == "0"
    assert not exceptions(page), exceptions(page)
