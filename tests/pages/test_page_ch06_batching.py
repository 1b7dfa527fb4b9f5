"""Chapter 6 page (shuffling & batching) and labs.ch06_batching."""
import math

import torch

from core import data, network
from labs import ch06_batching as lab
from tests.apptest_utils import assert_no_exception, metric, open_page, page_output

PAGE = "views/ch06_batching.py"


def test_epoch_order_is_dataloader_order():
    batches = lab.epoch_order(60, 8, True, seed=5)
    # the sampler a DataLoader(shuffle=True) uses: randperm, then groups of batch_size
    sampler = torch.utils.data.BatchSampler(
        torch.utils.data.RandomSampler(range(60), generator=torch.Generator().manual_seed(5)), 8, False)
    assert batches == list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(60))
    assert lab.epoch_order(60, 8, False, seed=5)[0] == list(range(8))


def test_class_mix_and_entropy():
    labels = lab.sorted_labels(6, 10)
    mix = lab.class_mix(labels, lab.epoch_order(60, 10, False, 0), 6)
    assert [r["entropy"] for r in mix] == [0.0] * 6
    assert math.isclose(lab.entropy_bits([1, 1, 1, 1, 1, 1]), math.log2(6))
    assert math.isclose(lab.entropy_bits([2, 2, 0]), 1.0)


def test_sorted_order_trains_worse_than_shuffled():
    X, y = lab.sorted_blobs(6, 50, noise=0.3, seed=0)
    assert torch.equal(y, y.sort().values)
    curves = {o: lab.train_ordering(o, X, y, batch_size=20, lr=0.3, epochs=5, seed=0)
              for o in lab.ORDERINGS}
    assert all(len(c["loss"]) == 1 + 5 * 15 for c in curves.values())
    assert len({c["loss"][0] for c in curves.values()}) == 1  # same start
    sorted_, shuffled = curves["sorted (no shuffle)"], curves["reshuffled every epoch"]
    assert sorted_["loss"][-1] > shuffled["loss"][-1] + 0.1
    # within the last epoch, the sorted run swings far more
    spread = lambda c: max(c["loss"][-15:]) - min(c["loss"][-15:])  # noqa: E731
    assert spread(sorted_) > 2 * spread(shuffled)


def test_page_default_sorted_batches_are_pure():
    at = open_page(PAGE)
    assert_no_exception(at)
    assert metric(at, "Batches per epoch") == str(data.num_batches(60, 8)) == "8"
    assert metric(at, "Size of the last batch") == "4"
    assert metric(at, "Batches holding a single class") == "4"
    table = at.dataframe[0].value
    assert list(table["size"]) == [8] * 7 + [4]


def test_shuffle_mixes_the_batches():
    at = open_page(PAGE)
    at.toggle(key="bat_shuffle").set_value(True).run()
    assert_no_exception(at)
    assert float(metric(at, "Mean class entropy per batch (bits)")) > 1.5
    assert metric(at, "Batches holding a single class") == "0"
    first = lab.epoch_order(60, 8, True, 0)[0]
    assert " ".join(map(str, first)) in at.code[0].value


def test_batch_size_extremes():
    at = open_page(PAGE)
    at.slider(key="bat_b").set_value(1).run()
    assert_no_exception(at)
    assert metric(at, "Batches per epoch") == "60" and metric(at, "Size of the last batch") == "1"
    at.slider(key="bat_b").set_value(60).run()
    assert metric(at, "Batches per epoch") == "1" and metric(at, "Size of the last batch") == "60"
    at.slider(key="bat_b").set_value(7).run()
    assert metric(at, "Batches per epoch") == str((60 + 7 - 1) // 7) and metric(at, "Size of the last batch") == "4"


def test_training_table_and_large_lr_warning():
    at = open_page(PAGE)
    table = at.dataframe[1].value
    final = dict(zip(table["order of examples"], table["final loss"]))
    assert final["sorted (no shuffle)"] > final["reshuffled every epoch"] + 0.1
    at.select_slider(key="bat_lr").set_value(10.0).run()
    assert_no_exception(at)
    at.slider(key="bat_tb").set_value(300).run()  # full batch: one step per epoch
    assert_no_exception(at)
    assert list(at.dataframe[1].value["steps"]) == [5, 5, 5]


def test_link_restores_and_bad_link_warns():
    at = open_page(PAGE, query={"bat_b": "12", "bat_shuffle": "true"})
    assert at.slider(key="bat_b").value == 12 and at.toggle(key="bat_shuffle").value is True
    assert metric(at, "Batches per epoch") == "5"
    at = open_page(PAGE, query={"bat_b": "999"})
    assert at.slider(key="bat_b").value == 8 and at.warning


def test_exported_script_and_weights_reproduce_the_page(downloads, tmp_path):
    import io

    import exports
    from tests.export_utils import run_export

    at = open_page(PAGE, query={"bat_b": "9", "bat_shuffle": "true", "bat_epochs": "2"})
    settings = dict(B=9, shuffle=True, seed=0, train_b=20, lr=0.3, epochs=2)
    assert downloads["bat_download"] == exports.fill("ch06_batching", settings)
    out = run_export("ch06_batching", settings, tmp_path)
    printed = dict(line.split(" ", 1) for line in out.splitlines())
    assert printed["batches_per_epoch"] == metric(at, "Batches per epoch") == "7"
    assert printed["last_batch_size"] == metric(at, "Size of the last batch")
    assert printed["mean_entropy_bits"] == metric(at, "Mean class entropy per batch (bits)")
    table = at.dataframe[1].value
    for ordering, loss in zip(table["order of examples"], table["final loss"]):
        line = next(row for row in out.splitlines() if row.startswith(f"final_loss[{ordering}] "))
        assert line.split("] ")[1].split()[0] == f"{loss:.4f}"

    X, y = lab.sorted_blobs(6, 50, noise=0.3, seed=0)
    curve = lab.train_ordering("reshuffled every epoch", X, y, batch_size=20, lr=0.3, epochs=2, seed=0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 6))
    model.load_state_dict(torch.load(io.BytesIO(network.weights_file(curve["params"]))))
    with torch.no_grad():
        loss = torch.nn.functional.cross_entropy(model(X), y).item()
    assert abs(loss - curve["loss"][-1]) < 1e-5


def test_page_says_how_the_dataloader_order_differs_and_shows_no_false_docstring():
    """Pages 10 and 11 show that the same seed alone does not give DataLoader's order; page 6 must not claim it."""
    at = open_page(PAGE)
    assert_no_exception(at)
    source = "\n".join(c.value for c in at.code)
    assert "def batch_indices" in source
    assert "gives the same order as DataLoader" not in source
    assert "does NOT by itself give DataLoader" in source and "like_dataloader" in source
    prose = "\n".join(m.value for m in at.markdown)
    assert "one int64 from its generator" in prose and "like_dataloader=True" in prose
    # what the page says, measured: seed 0's plain permutation differs from DataLoader's, like_dataloader's does not
    loader = torch.utils.data.DataLoader(range(60), batch_size=8, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    theirs = [b.tolist() for b in loader]
    assert lab.epoch_order(60, 8, True, seed=0) != theirs
    g = torch.Generator().manual_seed(0)
    assert [b.tolist() for b in data.batch_indices(60, 8, generator=g, like_dataloader=True)] == theirs


# ---------------------------------------------------------------- the animation: shuffle, then slice
def _items(at):
    """(x, y) of the 60 item squares as the page drew them."""
    import json
    for chart in at.get("plotly_chart"):
        if "bat_items" in chart.proto.id:
            trace = json.loads(chart.proto.spec)["data"][0]
            return [round(v, 6) for v in trace["x"]], [round(v, 6) for v in trace["y"]]
    raise KeyError("bat_items")


def _run_until_still(at, limit=30):
    """One AppTest run per animation tick, until the animation has stopped."""
    for _ in range(limit):
        at.run()
        if not at.session_state["bat_playing"]:
            return at
    raise AssertionError("the animation never stopped")


def test_step_moves_the_items_shuffle_first_then_slice():
    at = open_page(PAGE, query={"bat_shuffle": "true", "bat_seed": "3"})
    assert_no_exception(at)
    stages = lab.loader_stages(lab.epoch_order(60, 8, True, 3))
    assert _items(at) == (stages[0][0], stages[0][1])            # stored: item i at place i
    assert "**Stored:**" in page_output(at)
    at.button(key="bat_step").click().run()
    assert at.session_state["bat_frame"] == 1                   # the first frame of the move
    middle = _items(at)
    assert middle != (stages[0][0], stages[0][1]) and middle != (stages[1][0], stages[1][1])
    _run_until_still(at)
    assert_no_exception(at)
    assert _items(at) == (stages[1][0], stages[1][1])            # shuffled: item i at its place in randperm
    assert "Step 1 of 2 · Shuffle:** `torch.randperm(60)` with seed 3" in page_output(at)
    at.button(key="bat_step").click().run()
    _run_until_still(at)
    x, y = _items(at)
    assert (x, y) == (stages[2][0], stages[2][1])               # sliced: one row per batch of 8
    first = lab.epoch_order(60, 8, True, 3)[0]
    assert [i for i in range(60) if y[i] == 0] == sorted(first)
    assert "Step 2 of 2 · Slice:** places 0 to 7 become batch 0" in page_output(at)
    assert at.button(key="bat_step").disabled
    at.button(key="bat_reset").click().run()
    assert _items(at) == (stages[0][0], stages[0][1])


def test_play_runs_both_steps_and_again_from_the_end():
    at = open_page(PAGE)
    at.button(key="bat_play").click().run()
    _run_until_still(at)
    assert at.session_state["bat_frame"] == 20
    stages = lab.loader_stages(lab.epoch_order(60, 8, False, 0))
    assert _items(at) == (stages[2][0], stages[2][1])
    assert "Step 1 of 2 · Shuffle is off" not in page_output(at)
    at.button(key="bat_play").click().run()                     # Play at the end starts from the stored order
    assert at.session_state["bat_frame"] == 1


def test_lab_counts_and_rows_the_page_shows():
    labels = lab.sorted_labels(6, 10)
    assert lab.single_class_batches(labels, 10, 0, 6) == {"sorted": 6, "shuffled": 0}
    assert lab.stage_extent(lab.loader_stages(lab.epoch_order(60, 8, False, 0))) == (11, 7)
    nan = float("nan")
    curves = {"a": {"loss": [1.0, nan], "acc": [0.1, 0.1]}, "b": {"loss": [1.0, 0.7, 0.5], "acc": [0.1, 0.5, 0.9]}}
    assert lab.lowest_final_loss(curves) == "b"                       # a run that blew up comes last
    rows = lab.ordering_rows(curves, per_epoch=1)
    assert rows[1] == {"order of examples": "b", "steps": 2, "final loss": 0.5, "final accuracy": "90.0%",
                       "worst loss during the last epoch": 0.5}
