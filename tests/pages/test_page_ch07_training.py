"""Page 7 (live training): step / play / pause / reset, divergence, structural resets, extremes, links."""
import pytest
import torch.nn.functional as F

from core import data, network
from core.network import to_torch_sequential
from tests.apptest_utils import assert_no_exception, metric, open_page, page_output

PAGE = "views/ch07_training.py"


def _pct(text):
    return float(text.rstrip("%")) / 100


@pytest.fixture(scope="module")
def moons():
    """The page on the moons dataset, 25 steps per frame."""
    at = open_page(PAGE)
    at.selectbox(key="tr_data").set_value("moons").run()
    at.slider(key="tr_spf").set_value(25).run()
    return at


def test_step_trains_and_the_loss_falls(moons):
    at = moons
    assert_no_exception(at)
    assert metric(at, "Step") == "0"
    loss0 = float(metric(at, "Train loss"))
    at.button(key="tr_step").click().run()
    assert metric(at, "Step") == "25"
    at.button(key="tr_step").click().run()
    assert_no_exception(at)
    assert metric(at, "Step") == "50"
    assert float(metric(at, "Train loss")) < 0.5 * loss0
    assert _pct(metric(at, "Test accuracy")) > 0.9
    # the printed loss is the real loss of the page's weights on the held-out points
    X, y = data.make_2d("moons", n=300, noise=0.1, seed=0, n_classes=2)
    _, X_test, _, y_test = data.train_test_split(X, y, 0.2, seed=0)
    model = to_torch_sequential(at.session_state["tr_state"]["params"])
    assert float(metric(at, "Test loss")) == pytest.approx(F.cross_entropy(model(X_test), y_test).item(), abs=6e-5)


def test_play_advances_each_frame_and_pause_stops(moons):
    at = moons
    start = int(metric(at, "Step"))
    at.button(key="tr_play").click().run()
    assert int(metric(at, "Step")) == start + 25             # the fragment ran one frame
    at.run()
    assert int(metric(at, "Step")) == start + 50
    at.button(key="tr_pause").click().run()
    paused = metric(at, "Step")
    at.run()
    assert metric(at, "Step") == paused


def test_structural_change_and_reset_start_again(moons):
    at = moons
    at.button(key="tr_step").click().run()
    assert metric(at, "Step") != "0"
    at.slider(key="tr_width").set_value(8).run()
    assert metric(at, "Step") == "0"
    at.button(key="tr_step").click().run()
    assert metric(at, "Step") == "25"
    at.select_slider(key="tr_lr").set_value(0.01).run()      # lr is not structural: training goes on
    assert metric(at, "Step") == "25" and metric(at, "Learning rate now") == "0.01"
    at.button(key="tr_reset").click().run()
    assert metric(at, "Step") == "0"
    assert_no_exception(at)


@pytest.mark.parametrize("optimizer,loss", [("SGD", "MSE on logits"), ("Adam", "cross-entropy")])
def test_learning_rate_10_diverges_and_halts(optimizer, loss):
    at = open_page(PAGE, query={"tr_lr": "10.0", "tr_opt": optimizer, "tr_loss": loss})
    assert at.select_slider(key="tr_lr").value == 10.0 and not at.warning
    assert at.segmented_control(key="tr_opt").value == optimizer and at.selectbox(key="tr_loss").value == loss
    at.button(key="tr_play").click().run()
    for _ in range(2):
        at.run()
    assert_no_exception(at)
    errors = " ".join(e.value for e in at.error)
    assert "diverged" in errors and "learning rate" in errors and "Reset" in errors
    assert at.button(key="tr_play").disabled and at.button(key="tr_step").disabled   # halted
    halted = metric(at, "Step")
    at.run()
    assert metric(at, "Step") == halted
    at.button(key="tr_reset_lower").click().run()            # the recovery button
    assert at.select_slider(key="tr_lr").value == 1.0
    assert metric(at, "Step") == "0" and not at.error
    at.button(key="tr_step").click().run()
    assert metric(at, "Step") == "5" and not at.error


def test_step_schedule_changes_the_printed_learning_rate():
    at = open_page(PAGE, query={"tr_sched": "step", "tr_T": "100", "tr_spf": "30"})
    at.button(key="tr_step").click().run()
    # lr of the next update (index 30) = 0.03 * 0.5 ** (30 // 25)
    assert metric(at, "Learning rate now") == "0.015"


def test_widget_extremes_show_messages_not_exceptions():
    at = open_page(PAGE)
    for kind, key, value in [("slider", "tr_classes", 6), ("slider", "tr_noise", 0.5), ("slider", "tr_n", 50),
                             ("slider", "tr_test", 0.5), ("slider", "tr_depth", 3), ("slider", "tr_width", 64),
                             ("slider", "tr_batch", 512), ("slider", "tr_spf", 50), ("slider", "tr_T", 50),
                             ("selectbox", "tr_sched", "cosine"), ("segmented_control", "tr_act", "sigmoid"),
                             ("segmented_control", "tr_opt", "Momentum"),
                             ("selectbox", "tr_loss", "MSE on probabilities")]:
        getattr(at, kind)(key=key).set_value(value).run()
        assert_no_exception(at)
    assert any("larger than the 25 training points" in i.value for i in at.info)
    at.button(key="tr_step").click().run()
    assert_no_exception(at)
    assert metric(at, "Step") == "50" and metric(at, "Learning rate now") == "0"   # cosine ran to its end
    for kind, key, value in [("slider", "tr_width", 2), ("slider", "tr_depth", 1), ("slider", "tr_batch", 1),
                             ("select_slider", "tr_lr", 0.0001), ("slider", "tr_n", 1000),
                             ("selectbox", "tr_data", "circles"), ("slider", "tr_noise", 0.0)]:
        getattr(at, kind)(key=key).set_value(value).run()
        assert_no_exception(at)
    at.button(key="tr_step").click().run()
    assert_no_exception(at)
    assert "circles dataset always has 2 classes" in page_output(at)


def test_links_restore_values_and_bad_links_warn():
    at = open_page(PAGE, query={"tr_width": "5", "tr_data": "xor"})
    assert at.slider(key="tr_width").value == 5 and at.selectbox(key="tr_data").value == "xor"
    assert "2 -> 5 -> 5 -> 2" in page_output(at)
    bad = open_page(PAGE, query={"tr_width": "abc"})
    assert bad.slider(key="tr_width").value == 16
    assert bad.warning


def test_exported_script_and_weights_reproduce_the_page(downloads, tmp_path):
    import io

    import torch

    import exports
    from labs import ch07_training as lab
    from tests.export_utils import run_download
    at = open_page(PAGE, query={"tr_data": "moons", "tr_spf": "20", "tr_opt": "Momentum", "tr_sched": "cosine",
                                "tr_T": "100", "tr_act": "tanh"})
    assert not at.get("download_button")                    # nothing to export before training
    at.button(key="tr_step").click().run()
    at.button(key="tr_step").click().run()
    assert len(at.get("download_button")) == 2
    config = lab.make_live_config("momentum", 0.03, "cross_entropy", 32, "tanh", "cosine", 100, 25, 0.5)
    settings = dict(dataset="moons", n_classes=2, noise=0.1, n_points=300, test_fraction=0.2, sizes=[2, 16, 16, 2],
                    activation="tanh", seed=0, config=config, steps=40)
    assert downloads["tr_dl_script"] == exports.fill("ch07_training", settings)
    out = run_download(downloads["tr_dl_script"], tmp_path, "ch07_training.py")
    printed = dict(line.split(": ", 1) for line in out.strip().splitlines())
    for label in ("Step", "Train loss", "Test loss", "Train accuracy", "Test accuracy"):
        assert printed[label] == metric(at, label), label
    params = at.session_state["tr_state"]["params"]
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
                                torch.nn.Linear(16, 2))
    model.load_state_dict(torch.load(io.BytesIO(network.weights_file(params, "tanh"))))
    X = torch.randn(5, 2)
    from core.network import forward
    assert torch.allclose(model(X), forward(params, X, "tanh")[0], atol=1e-6)
