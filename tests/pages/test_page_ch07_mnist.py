"""Page 7b · Training on MNIST: Train runs core.train and prints the same numbers core computes."""
import io

import pytest

from core import data
from labs import ch07_mnist as lab
from datasets import mnist_files
from tests.apptest_utils import assert_no_exception, metric, open_page, page_output

PAGE = "views/ch07_mnist.py"


@pytest.fixture(scope="module")
def split():
    return mnist_files.mnist_train_test()


def test_nothing_trains_until_the_button_and_settings_show_the_step_count(mnist_dir):
    at = open_page(PAGE)
    assert_no_exception(at)
    assert "Press **Train**" in page_output(at)
    assert "first 8,000 of the 10,000 MNIST test images" in page_output(at)   # says which data it uses
    assert "125 steps per epoch, 250 in all" in page_output(at)     # 8,000 images / 64
    at.slider(key="mnist_epochs").set_value(10).run()                # slider max
    assert "1,250 in all" in page_output(at)
    at.select_slider(key="mnist_bs").set_value(8000).run()
    assert "1 steps per epoch" in page_output(at)


def test_train_prints_the_history_core_computes(mnist_dir, split):
    X, y, Xt, yt, _ = split
    at = open_page(PAGE, query={"mnist_epochs": "1", "mnist_hidden": "32", "mnist_seed": "3"})
    at.button(key="mnist_train").click().run()
    assert_no_exception(at)
    ref = lab.train_with_history(X, y, Xt, yt, hidden=32, optimizer="adam", lr=1e-3,
                                        batch_size=64, epochs=1, seed=3)
    last = ref["history"][-1]
    assert metric(at, "Test accuracy") == f"{last['test_acc']:.2%}"
    assert metric(at, "Train accuracy") == f"{last['train_acc']:.2%}"
    assert last["test_acc"] > 0.85
    cm = lab.confusion(ref["params"], Xt, yt)
    assert int(cm.sum()) == len(yt)
    wrong, preds = lab.misclassified(ref["params"], Xt, yt)
    assert f"true {int(yt[wrong[0]])}, said {preds[0]}" in page_output(at)
    # the offered weights load into the matching nn.Sequential and give the same test accuracy
    import io
    import torch
    blob = at.session_state["mnist_result"]["weights"]
    model = torch.nn.Sequential(torch.nn.Linear(784, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    model.load_state_dict(torch.load(io.BytesIO(blob), weights_only=True))
    acc = (model(Xt).argmax(1) == yt).float().mean().item()
    assert metric(at, "Test accuracy") == f"{acc:.2%}"
    # the result stays after another rerun (kept in session_state) and says when settings changed
    at.slider(key="mnist_epochs").set_value(3).run()
    assert metric(at, "Test accuracy") == f"{last['test_acc']:.2%}"
    assert "settings changed" in page_output(at)


def test_huge_learning_rate_gives_a_message_not_an_exception(mnist_dir):
    at = open_page(PAGE, query={"mnist_epochs": "1", "mnist_opt": "sgd", "mnist_lr": "10.0", "mnist_hidden": "16"})
    at.button(key="mnist_train").click().run()
    assert_no_exception(at)
    assert at.warning or at.error


def test_race_uses_same_batches_and_matches_core(mnist_dir, split):
    X, y, *_ = split
    at = open_page(PAGE, query={"mnist_race_steps": "50", "mnist_hidden": "16"})
    at.button(key="mnist_race").click().run()
    assert_no_exception(at)
    table = next(df.value for df in at.dataframe if "optimizer" in df.value.columns)
    curves = lab.race(X, y, hidden=16, batch_size=64, steps=50, seed=0)
    assert list(table["steps run"]) == [50, 50, 50]
    assert len(set(table["first loss"])) == 1                          # same start weights, same first batch
    for losses, got in zip(curves.values(), table["mean loss, last 20 steps"]):
        assert got == pytest.approx(round(sum(losses[-20:]) / 20, 4), abs=1e-4)


def test_bad_link_falls_back(mnist_dir):
    at = open_page(PAGE, query={"mnist_epochs": "0", "mnist_lr": "banana"})
    assert_no_exception(at)
    assert at.slider(key="mnist_epochs").value == 2
    assert len(at.warning) >= 2


def test_unreadable_mnist_says_so_in_plain_words(tmp_path, monkeypatch):
    import streamlit as st

    import ui
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    monkeypatch.setattr(mnist_files, "PROJECT_MNIST_DIR", tmp_path / "none")
    monkeypatch.setattr(mnist_files, "EMBEDDED_MNIST_DIR", tmp_path / "deleted")   # a damaged install
    st.cache_resource.clear()                   # the page caches the data it found earlier
    try:
        at = open_page(PAGE)
    finally:
        st.cache_resource.clear()
    assert_no_exception(at)
    assert [e.value for e in at.error] == [ui.MNIST_UNREADABLE]
    assert "MNIST_DIR" not in page_output(at) and "python -m" not in page_output(at)


def test_full_mnist_is_an_optional_download_whose_failure_is_said_plainly(tmp_path, monkeypatch):
    import streamlit as st
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setattr(mnist_files, "PROJECT_MNIST_DIR", tmp_path / "none")
    monkeypatch.setattr(mnist_files, "MNIST_MIRRORS", ["http://127.0.0.1:9/"])   # nothing listens there: offline
    st.cache_resource.clear()
    try:
        at = open_page(PAGE)
        assert "Full MNIST is not on this server" in page_output(at)
        at.button(key="mnist_download").click().run()
    finally:
        st.cache_resource.clear()
    assert_no_exception(at)
    assert "could not be downloaded now" in at.error[0].value and "127.0.0.1" not in page_output(at)
    assert "125 steps per epoch" in page_output(at)               # still trains on the 8,000 it has


def test_shared_mnist_is_uint8_and_as_float_is_load_mnist(mnist_dir):
    import torch

    import ui
    from core import data
    X, y = ui.mnist_split("test")
    assert X.dtype == torch.uint8 and X.shape == (10000, 784)       # a quarter of float32's memory
    Xl, yl = mnist_files.load_mnist("test")
    assert torch.equal(data.to_float(X), Xl) and torch.equal(y, yl)  # the float32 numbers the pages compute on
    X_train, *_ = ui.mnist_train_test()
    assert X_train.dtype == torch.uint8


def test_exported_script_prints_the_page_table(mnist_dir, downloads, tmp_path):
    at = open_page(PAGE, query={"mnist_epochs": "2", "mnist_hidden": "16", "mnist_seed": "4", "mnist_opt": "momentum",
                                "mnist_lr": "0.01"})
    at.button(key="mnist_train").click().run()
    assert_no_exception(at)
    from tests.export_utils import run_download
    out = run_download(downloads["mnist_script"], tmp_path, "ch07_mnist.py")
    rows = [line for line in out.splitlines() if line.startswith("epoch ")]
    table = at.dataframe[0].value
    assert len(rows) == len(table) == 2
    for line, (_, row) in zip(rows, table.iterrows()):
        words = line.split()
        got = dict(zip(words[0::2], words[1::2]))
        assert int(got["epoch"]) == row["epoch"]
        assert float(got["mean_batch_loss"]) == row["mean batch loss"]
        assert float(got["train_loss"]) == row["train loss"]
        assert got["train_accuracy"] == row["train accuracy"]
        assert float(got["test_loss"]) == row["test loss"]
        assert got["test_accuracy"] == row["test accuracy"]
    import torch
    saved = torch.load(tmp_path / "mnist_mlp_state_dict.pt", weights_only=True)
    model = torch.nn.Sequential(torch.nn.Linear(784, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    model.load_state_dict(saved)
    page_weights = torch.load(io.BytesIO(at.session_state["mnist_result"]["weights"]), weights_only=True)
    assert all(torch.equal(saved[k], page_weights[k]) for k in page_weights)


def _chance_warning(at):
    found = [w.value for w in at.warning if "near chance" in w.value]
    assert len(found) == 1, [w.value for w in at.warning]
    return found[0]


def test_chance_accuracy_from_tiny_steps_says_too_small_not_too_large(mnist_dir, split):
    """SGD at lr 1e-4, one batch of 8,000, one epoch: one tiny step, the loss barely moves."""
    X, y, Xt, yt, _ = split
    at = open_page(PAGE, query={"mnist_epochs": "1", "mnist_lr": "0.0001", "mnist_bs": "8000"})
    at.selectbox(key="mnist_opt").set_value("sgd").run()
    at.button(key="mnist_train").click().run()
    assert_no_exception(at)
    ref = lab.train_with_history(X, y, Xt, yt, optimizer="sgd", lr=1e-4, batch_size=8000, epochs=1, seed=0)
    d = lab.diagnose(ref)
    assert d["kind"] == "barely_moved" and d["steps"] == 1
    text = _chance_warning(at)
    assert f"{ref['history'][-1]['test_acc']:.2%}" in text
    assert "too small" in text and "Raise the learning rate" in text
    assert "Lower the learning rate" not in text
    assert f"from {d['start_loss']:.4f} to only {d['end_loss']:.4f}" in text
    assert "too large" not in text


def test_chance_accuracy_from_huge_steps_counts_the_dead_units(mnist_dir, split):
    """Plain SGD at lr 10: the loss jumps, most hidden ReLUs die, but not all of them (126 of 128 here)."""
    X, y, Xt, yt, _ = split
    at = open_page(PAGE, query={"mnist_epochs": "1", "mnist_lr": "10.0"})
    at.selectbox(key="mnist_opt").set_value("sgd").run()
    at.button(key="mnist_train").click().run()
    assert_no_exception(at)
    ref = lab.train_with_history(X, y, Xt, yt, optimizer="sgd", lr=10.0, batch_size=64, epochs=1, seed=0)
    d = lab.diagnose(ref)
    assert d["kind"] == "too_large" and 0 < d["dead_units"] < 128
    # the count is what the weights say: units whose ReLU input is <= 0 for every training image
    z = data.as_float(X) @ ref["params"][0]["W"] + ref["params"][0]["b"]  # [N, 128], the ReLU inputs
    assert d["dead_units"] == int((z <= 0).all(dim=0).sum())
    text = _chance_warning(at)
    assert f"{d['dead_units']} of the 128 hidden ReLUs" in text and "All 128" not in text
    assert f"to {d['peak_loss']:.4g} at step {d['peak_step']:,}" in text and "Lower the learning rate" in text
