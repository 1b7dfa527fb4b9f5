"""ui.ch00_figures (page 0) and ui.ch06_figures (page 6): the pictures and charts show the numbers given."""
import base64
import io

import numpy as np
import pyarrow as pa
import torch
from PIL import Image

from labs import ch06_batching as lab
from ui import ch06_figures, ch00_figures


def _pixels(uri):
    return torch.from_numpy(np.array(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))))


def test_color_ramp_spreads_the_stops_over_the_range():
    ramp = ch00_figures.color_ramp(torch.tensor([-1.0, 0.0, 0.5, 1.0, 2.0]), ch00_figures.DIVERGING, -1, 1)
    assert ramp[0].tolist() == list(ch00_figures.DIVERGING[0])             # lo: the first stop (blue)
    assert ramp[1].tolist() == list(ch00_figures.DIVERGING[1])             # the middle: white
    assert ramp[3].tolist() == ramp[4].tolist() == list(ch00_figures.DIVERGING[2])   # hi and beyond: orange
    half = [round((a + b) / 2) for a, b in zip(ch00_figures.DIVERGING[1], ch00_figures.DIVERGING[2])]
    assert all(abs(a - b) <= 1 for a, b in zip(ramp[2].tolist(), half))
    flat = ch00_figures.color_ramp(torch.zeros(3), ch00_figures.BLUES, 0, 0)   # every unit off: no division by 0
    assert flat.tolist() == [list(ch00_figures.BLUES[0])] * 3


def test_grid_picture_draws_one_square_per_value_row_by_row():
    values = torch.zeros(8 * 16)
    values[17] = 1.0                                                        # row 1, column 1
    img = _pixels(ch00_figures.grid_picture(values, 16, ch00_figures.GRAY, 0, 1))
    assert img.shape[:2] == (8, 16)
    assert img[1, 1, :3].tolist() == [255, 255, 255] and img[1, 2, :3].tolist() == [0, 0, 0]


def test_probability_table_marks_the_prediction_and_the_spec_labels_every_digit():
    probs = torch.softmax(torch.arange(10.0), 0)
    table = ch00_figures.probability_table(probs, 9)
    assert isinstance(table, pa.Table)
    assert table.column("bar").to_pylist() == ["other"] * 9 + ["prediction"]
    assert table.column("shown").to_pylist()[9] == f"{probs[9].item():.0%}"
    spec = ch00_figures.probability_spec()
    assert spec["encoding"]["x"]["scale"]["domain"] == list(range(10))     # 0-9, every tick
    assert ch00_figures.probability_spec() == spec                          # the same for every reading


def test_loader_figure_puts_each_item_where_the_lab_says():
    batches = lab.epoch_order(60, 8, True, 3)
    stages = lab.loader_stages(batches)
    labels = lab.sorted_labels(6, 10).tolist()
    for t in (0, 0.5, 2):
        fig = ch06_figures.loader_figure(lab.stage_positions(stages, t), t, labels, batches,
                                             lab.stage_extent(stages))
        x, y = lab.stage_positions(stages, t)
        assert list(fig["data"][0]["x"]) == x and list(fig["data"][0]["y"]) == y
        assert [trace["name"] for trace in fig["data"][1:]] == [f"class {c}" for c in range(6)]
        assert len(fig["layout"].get("shapes", [])) == (len(batches) if t > 1.5 else 0)   # frames only when sliced
    assert ch06_figures.stage_text(2, 60, 3, True, batches).startswith(
        "**Step 2 of 2 · Slice:** places 0 to 7 become batch 0, the next 8 batch 1, and so on: 8 batches, "
        "the last one 4 items.")
