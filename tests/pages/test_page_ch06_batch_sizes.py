"""Page 6: the batch-size trade-off is a measured sweep (final loss, updates, updates per second), not a claim."""
import json
import math

import pytest

from labs import ch06_batching
from tests.apptest_utils import assert_no_exception, open_page

PAGE = "views/ch06_batching.py"


def test_train_batch_size_keeps_the_data_budget_and_measures_time():
    X, y = ch06_batching.sweep_data(seed=0)
    small = ch06_batching.train_batch_size(X, y, 64, epochs=1, lr=0.3, seed=0)
    large = ch06_batching.train_batch_size(X, y, 4096, epochs=1, lr=0.3, seed=0)
    assert (small["updates"], large["updates"]) == (ch06_batching.SWEEP_POINTS // 64, 2)   # same examples, fewer steps
    assert small["final_loss"] < large["final_loss"]                   # one epoch: 128 updates beat 2
    assert small["loss_spread"] > large["loss_spread"] > 0              # a bigger batch is a steadier view
    for r in (small, large):
        assert r["seconds"] > 0 and r["diverged"] is None
        assert r["steps_per_s"] > 0
        assert math.isclose(r["examples_per_s"], r["steps_per_s"] * r["batch_size"])
    again = ch06_batching.train_batch_size(X, y, 64, epochs=1, lr=0.3, seed=0)
    assert again["final_loss"] == small["final_loss"]                  # deterministic apart from the clock


def _figure(at, key):
    for chart in at.get("plotly_chart"):
        if key in chart.proto.id:
            return json.loads(chart.proto.spec)
    raise KeyError(key)


def test_sweep_on_the_page_equals_a_direct_core_call():
    at = open_page(PAGE)
    at.slider(key="bat_sw_epochs").set_value(1).run()
    at.button(key="bat_sweep").click().run()
    assert_no_exception(at)
    X, y = ch06_batching.sweep_data(seed=0)
    direct = [ch06_batching.train_batch_size(X, y, b, epochs=1, lr=0.3, seed=0)
              for b in ch06_batching.SWEEP_BATCH_SIZES]
    table = next(t.value for t in at.dataframe if "batch size" in t.value.columns)
    assert list(table["batch size"]) == list(ch06_batching.SWEEP_BATCH_SIZES) == [8, 16, 32, 64, 128, 256, 512, 1024,
                                                                             2048, 4096]
    assert list(table["updates"]) == [r["updates"] for r in direct]
    assert list(table["final loss"]) == [round(r["final_loss"], 4) for r in direct]
    assert list(table["loss spread"]) == [round(r["loss_spread"], 4) for r in direct]
    assert all(table["updates per second"] > 0)
    # the curves plot exactly those numbers, over a log axis ticked at the batch sizes themselves
    loss = _figure(at, "bat_sweep_loss")
    assert loss["data"][0]["x"] == list(ch06_batching.SWEEP_BATCH_SIZES)
    assert loss["data"][0]["y"] == pytest.approx([r["final_loss"] for r in direct], abs=1e-6)
    assert loss["layout"]["xaxis"]["type"] == "log"
    assert loss["layout"]["xaxis"]["tickvals"] == list(ch06_batching.SWEEP_BATCH_SIZES)
    speed = _figure(at, "bat_sweep_speed")
    assert speed["data"][0]["y"] == pytest.approx(list(table["updates per second"]), abs=0.51)
    # the caption is derived from the same numbers
    best = ch06_batching.sweep_summary(direct)["best"]
    caption = next(c.value for c in at.caption if c.value.startswith("Lowest final loss"))
    assert caption.startswith(f"Lowest final loss: batch {best['batch_size']:,} ({best['final_loss']:.3f} after "
                              f"{best['updates']:,} updates)")
    assert f"made only {direct[-1]['updates']:,} updates and ended at {direct[-1]['final_loss']:.3f}" in caption
    # a widget change keeps the measured result, and says it is from other settings
    at.select_slider(key="bat_sw_lr").set_value(1.0).run()
    assert_no_exception(at)
    assert any("settings changed since" in c.value for c in at.caption)
