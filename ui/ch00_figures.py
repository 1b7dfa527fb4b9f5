"""Page 0's figures (draw a digit): the ten probabilities, what the network sees, its 128 hidden units and the
saliency of the winning score.

Presentation only, every function takes what it draws as arguments: the numbers come from labs.ch00_draw_digit
(read_digit, saliency). Every stroke on the canvas redraws all four, so they are cheap for the browser: the bars are
a Vega-Lite chart with a fixed spec and a 10-row Arrow table (the browser keeps a Vega-Lite chart whose spec is
unchanged and takes the new table), the three pictures are small PNGs. As Plotly figures (Streamlit names a Plotly
chart by a hash of its whole spec) each stroke destroyed and rebuilt all four: ~270 ms of the browser's main-thread
CPU per stroke instead of ~90, of which ~75 are the canvas's own (measured on the 2-core development machine, see
the commit).
"""
import pyarrow as pa
import torch

import ui
from ui import pictures

GRAY = [(0, 0, 0), (255, 255, 255)]                 # no ink black, full ink white
BLUES = [(247, 251, 255), (222, 235, 247), (198, 219, 239), (158, 202, 225), (107, 174, 214), (66, 146, 198),
         (33, 113, 181), (8, 81, 156), (8, 48, 107)]     # px.colors.sequential.Blues
DIVERGING = [pictures.hex_to_rgb(c) for _, c in ui.DIVERGING]   # blue, white, orange


def _config(big):
    size = 16 if big else 12
    return {"axis": {"labelFontSize": size, "titleFontSize": size}, "title": {"fontSize": size + 2, "anchor": "start"},
            "legend": {"labelFontSize": size, "titleFontSize": size}, "view": {"stroke": None}}


# ------------------------------------------------------------------ the reading: ten probabilities
def probability_table(probs, prediction):
    """probs [10] (softmax of the logits) -> Arrow table (digit, probability, shown, bar): shown = '91%' above the
    bar, bar = 'prediction' for the winner, 'other' for the rest."""
    probs = [float(p) for p in probs]
    return pa.table({"digit": list(range(len(probs))), "probability": probs,
                     "shown": [f"{p:.0%}" for p in probs],
                     "bar": ["prediction" if d == prediction else "other" for d in range(len(probs))]})


def probability_spec(big=False, height=300):
    """Bars of probability_table: every digit 0-9 labelled, the predicted one in the 'correct' colour, its
    percentage above each bar."""
    x = {"field": "digit", "type": "ordinal", "title": "digit", "scale": {"domain": list(range(10))},
         "axis": {"labelAngle": 0}}
    y = {"field": "probability", "type": "quantitative", "title": "probability",
         "scale": {"domain": [0, 1.15]}, "axis": {"values": [0, 0.2, 0.4, 0.6, 0.8, 1.0]}}
    colour = {"field": "bar", "type": "nominal", "legend": None,
              "scale": {"domain": ["prediction", "other"], "range": [ui.COLORS["correct"], ui.COLORS["neutral"]]}}
    tooltip = [{"field": "digit", "type": "ordinal"}, {"field": "probability", "type": "quantitative", "format": ".2%"}]
    return {"height": height, "title": "softmax(logits): one probability per digit", "config": _config(big),
            "encoding": {"x": x, "y": y},
            "layer": [{"mark": {"type": "bar"}, "encoding": {"color": colour, "tooltip": tooltip}},
                      {"mark": {"type": "text", "dy": -8, "fontSize": 15 if big else 12},
                       "encoding": {"text": {"field": "shown"}}}]}


# ------------------------------------------------------------------ the details: three small pictures
def color_ramp(values, stops, lo, hi):
    """values [..] -> uint8 colours [..., 3]: lo gets stops[0], hi stops[-1], evenly spaced stops in between
    (piecewise linear, as Plotly spreads a colour scale); values outside [lo, hi] get the end colours."""
    stops = torch.tensor(stops, dtype=torch.float32)             # [S, 3]
    t = ((values.float() - lo) / ((hi - lo) or 1.0)).clamp(0, 1) * (len(stops) - 1)
    i = t.floor().long().clamp(max=len(stops) - 2)               # the stop below each value
    w = (t - i).unsqueeze(-1)                                    # [..., 1]: how far towards the next stop
    return (stops[i] * (1 - w) + stops[i + 1] * w).round().to(torch.uint8)


def grid_picture(values, cols, stops, lo, hi):
    """values [rows * cols] (row by row) as a PNG data URI of rows x cols pixels, one per value: the browser scales
    it up square by square inside a container keyed PIXELATED_KEY (a 280 x 280 PNG cost ~2 ms each to encode,
    ~6 ms of every stroke's server time for the three; this one ~0.1 ms)."""
    return pictures.png_data_uri(color_ramp(values.reshape(-1, cols), stops, lo, hi))   # [rows, cols, 3]


PIXELATED_KEY = "draw_pictures"
CANVAS_KEY = "draw_canvas_box"   # the canvas's toolbar floats ~40 px above it: room for it below the lead line
PIXELATED_CSS = (f"<style>.st-key-{PIXELATED_KEY} img {{ image-rendering: pixelated; }}"
                 f".st-key-{CANVAS_KEY} {{ padding-top: 2.75rem; }}</style>")


# ------------------------------------------------------------------ the model, in words
def training_note(info, n_test, rechecked):
    """How the shipped model was made, from the JSON note next to its weights (labs.ch00_draw_digit.load_model_info),
    and whether its accuracy could be measured again now."""
    return (f"Trained on {info.get('trained_on', 'unknown data')} with {info.get('optimizer', 'Adam')}, "
            f"{info.get('epochs', '?')} epochs, batch {info.get('batch_size', '?')}, seed {info.get('seed', '?')} "
            f"on {info.get('date', '?')} (`{info.get('command', 'scripts/train_digit_model.py')}`). "
            f"Accuracy written down at training time: {info.get('test_accuracy', float('nan')):.2%} "
            f"on {n_test:,} images it never saw."
            + ("" if rechecked else " The MNIST digits could not be read on this server, so it could not be "
               "re-checked now."))
