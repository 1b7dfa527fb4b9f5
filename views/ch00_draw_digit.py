"""Chapter 0: the challenge. Draw a digit and watch a 784-128-10 network of four raw tensors read it."""
import logging
from pathlib import Path

import streamlit as st

import exports
import ui
from core import data, metrics, network
from datasets import mnist_files
from labs import ch00_draw_digit as lab
from ui import ch00_figures as figures

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "mnist_784_128_10.pt"
CANVAS = 280   # the canvas is CANVAS x CANVAS pixels, and so is the PNG it sends (labs.ch00_draw_digit checks that)

L = ui.page("0 · Draw a digit", "Draw a digit: a network of four raw tensors reads it after every stroke.")
st.html(figures.PIXELATED_CSS)   # the small pictures scaled up square by square, not blurred


# ------------------------------------------------------------------ shared, read-only resources
@st.cache_resource(show_spinner=False)
def load_model():
    """The trained weights and the note saying how they were made (shared by every session: read-only)."""
    return lab.load_weights(MODEL_PATH), lab.load_model_info(MODEL_PATH)


def held_out_digits(n_test):
    """The MNIST images the model never trained on: (X [N, 784] uint8, y [N]), or None when they cannot be read
    (only on a damaged install: the test split is committed in datasets/mnist)."""
    try:
        X, y = ui.mnist_split("test")   # shared uint8; metrics converts each chunk
    except mnist_files.MnistError as err:
        logging.getLogger(__name__).error("MNIST could not be read: %s", err)
        return None
    return lab.unseen_digits(X, y, n_test, mnist_files.HELD_OUT)


@st.cache_data(show_spinner=False)
def measured_accuracy(n_test):
    """Accuracy of the shipped model on its held-out images, measured now (once per server)."""
    params, _ = load_model()
    held = held_out_digits(n_test)
    if held is None:
        return None
    X, y = held
    return metrics.accuracy(metrics.predictions(params, X), y)


@st.cache_resource(show_spinner=False)
def sequential_weights():
    """The shipped weights as the bytes of an nn.Sequential state_dict (made once per server)."""
    params, _ = load_model()
    return network.weights_file(params)


if not MODEL_PATH.exists():
    st.error(f"The trained model {MODEL_PATH.name} is missing. Create it with "
             "`python scripts/train_digit_model.py` (about a minute).", icon=":material/error:")
    st.stop()

params, info = load_model()
n_test = int(info.get("n_test", mnist_files.HELD_OUT))
held = held_out_digits(n_test)

# ------------------------------------------------------------------ what the network read, drawn
def show_reading(out, label, where):
    """The prediction, its confidence (and the true label of an MNIST digit) and the ten probabilities."""
    cols = st.columns(3 if label is not None else [1, 1.3])   # beside the canvas: two, room for "100.0%" when projected
    cols[0].metric("Prediction", out["prediction"])
    cols[1].metric("Confidence", f"{float(out['probs'][out['prediction']]):.1%}")
    if label is not None:
        right_answer = label == out["prediction"]
        cols[2].metric("True label", label, delta="right" if right_answer else "wrong",
                       delta_color="normal" if right_answer else "inverse", delta_arrow="off")
    st.vega_lite_chart(figures.probability_table(out["probs"], out["prediction"]),
                       figures.probability_spec(big=ui.presenter()), key="draw_probs")
    st.caption(f"Reading {where}: 784 pixels -> 128 hidden units -> 10 scores -> softmax.")


def show_details(params, x, out):
    """What the network sees, its 128 hidden units, and the saliency of the winning score (three small pictures)."""
    k, hidden = out["prediction"], out["hidden"]
    sal = lab.saliency(params, x, k)                           # d logit_k / d x   [784]
    top, bound = float(hidden.max()), float(sal.abs().max()) or 1.0
    shown = [("What the network sees: 28 x 28", figures.grid_picture(x, 28, figures.GRAY, 0, 1),
              "The ink, cropped, shrunk to fit 20 x 20 and centred by its centre of mass."),
             (f"128 hidden units after ReLU ({int((hidden > 0).sum())} on)",
              figures.grid_picture(hidden, 16, figures.BLUES, 0, top),
              "One square per hidden unit (laid out 8 x 16 only to fit). White ones were switched off by ReLU; "
              f"the darkest blue is the largest value, {top:.2f}."),
             (f"Saliency: d logit[{k}] / d pixel",
              figures.grid_picture(sal, 28, figures.DIVERGING, -bound, bound),
              "Orange: more ink here would raise the predicted digit's score. Blue: ink here counts against it "
              f"(the strongest colours: +-{bound:.3g}).")]
    for column, (title, picture, caption) in zip(st.container(key=figures.PIXELATED_KEY).columns(3), shown):
        column.markdown(f"**{title}**")
        column.image(picture, width="stretch")
        column.caption(caption)
    with st.expander(":material/table: All 10 scores", expanded=False):
        ui.stat_table(lab.score_rows(out))


@st.fragment
def drawing_panel(stroke):
    """The canvas and its reading. A fragment: each stroke the canvas sends (update_streamlit=True: after every
    stroke, 200 ms after the last change) reruns only this, not the page (~ms of work: decode, shape, one forward)."""
    params, _ = load_model()
    left, right = st.columns([1, 1.3])
    canvas, problem = None, None
    with left.container(key=figures.CANVAS_KEY):
        try:
            from streamlit_drawable_canvas import st_canvas
        except Exception as err:  # the component could not be loaded: say so, keep the page usable
            st_canvas = None
            st.warning(f"The drawing canvas could not be loaded ({type(err).__name__}). "
                       "Switch to *MNIST test digit*.", icon=":material/block:")
        if st_canvas is not None:
            try:
                canvas = st_canvas(fill_color=None, stroke_width=stroke, stroke_color="#FFFFFF",
                                   background_color="#000000", height=CANVAS, width=CANVAS, drawing_mode="freedraw",
                                   update_streamlit=True, return_image_data=True, key="draw_canvas")
            except (AttributeError, TypeError, KeyError, ValueError):   # the browser's message has another shape
                problem = "The canvas sent a message this page cannot read."
            st.caption("Draw one digit, large. The bin icon clears the square.")
    # The PNG the canvas sent, as its data URL (CanvasResult keeps it in a slot; its .image_data would hand
    # it to Pillow unchecked). Everything in it is the browser's: labs.ch00_draw_digit.read_canvas checks the
    # type, the length and the size in the PNG header before anything is decoded, on every update.
    data_url = getattr(canvas, "_image_data_url", None) if canvas is not None else None
    x, out = None, None
    if data_url is not None:
        try:
            x, out = lab.read_canvas(params, data_url, CANVAS, CANVAS)   # [784], reading
        except lab.DrawingError as err:
            problem = str(err)
    if problem:
        left.warning(f"{ui.plain(problem, limit=300)} Clear the canvas with the bin icon and draw again.",
                     icon=":material/broken_image:")
    with right:
        if x is None:
            st.info("Nothing drawn yet. Draw a digit from 0 to 9 on the black square: the network reads it "
                    "after every stroke.", icon=":material/draw:")
        else:
            show_reading(out, None, "your drawing")
    if x is not None:
        show_details(params, x, out)


# ------------------------------------------------------------------ input: a drawing or an MNIST digit
SOURCES = ["Draw", "MNIST test digit"]
idx = None
with L.controls:
    source = ui.segmented("Read from", SOURCES, "Draw", key="draw_src",
                          help="Draw your own digit, or pick one of the held-out MNIST images the network never "
                               "trained on.")
    if source != "Draw" and held is not None:
        X_held, y_held = held
        idx = ui.slider("Held-out MNIST digit", 0, len(X_held) - 1, 0, key="draw_idx",
                        help=f"Images the network never saw while training: #0 to #{len(X_held) - 1:,}.")
if source == "Draw":
    with L.more:
        stroke = ui.slider("Pen width", 8, 40, 18, key="draw_pen",
                           help=f"In canvas pixels. Your drawing is shrunk until its longer side is {lab.BOX} "
                                f"pixels, so a stroke ends up pen x {lab.BOX} / (your digit's longer side in "
                                f"canvas pixels) wide: a pen of 18 on a digit {CANVAS * 5 // 7} pixels "
                                f"tall becomes {lab.pen_in_box(18, CANVAS * 5 // 7):.1f} pixels.")

with L.picture:
    if source == "Draw":
        drawing_panel(stroke)
    elif held is None:
        st.warning("The MNIST digits could not be read on this server, so there is nothing to pick from. "
                   "Drawing your own digit still works.", icon=":material/folder_off:")
    else:
        x, label = data.to_float(X_held[idx]), int(y_held[idx])   # one image, float32 in [0, 1]
        out = lab.read_digit(params, x)                     # logits [10], probs [10], hidden [128]
        show_reading(out, label, f"held-out MNIST digit #{idx}")
        show_details(params, x, out)

# ------------------------------------------------------------------ the model itself
st.subheader("The network")
acc_now = measured_accuracy(n_test)
if acc_now is not None:
    with L.below:
        bands = ["About half of them", "About 9 in 10", "More than 95 in 100"]
        ui.predict("ch00_accuracy", f"This network never saw {n_test:,} of the MNIST digits. How many of those does it "
                   "read correctly?", bands, answer=0 if acc_now < 0.75 else 1 if acc_now <= 0.95 else 2,
                   why=f"Measured now on those {n_test:,} images: {acc_now:.2%}, about "
                       f"{round(acc_now * n_test):,} of them.")
m1, m2, m3 = st.columns(3)
m1.metric("Parameters", f"{lab.n_parameters(params):,}")
m2.metric("Held-out accuracy (measured now)", "not available" if acc_now is None else f"{acc_now:.2%}")
m3.metric("Images it trained on", f"{info.get('n_train', 0):,}")
st.caption(figures.training_note(info, n_test, rechecked=acc_now is not None))
d1, d2 = st.columns(2)
with d1:
    ui.download_script(exports.fill("ch00_draw_digit", dict(index=idx, n_test=n_test, model_file=MODEL_PATH.name)),
                       "ch00_draw_digit.py", key="draw_dl_script")
with d2:
    st.download_button("Download the weights (nn.Sequential state_dict)", sequential_weights(),
                       file_name="mnist_784_128_10_sequential.pt", icon=":material/download:", key="draw_dl_weights")
st.caption("The script loads the same weights with the `core` package (run it from the repository root) and prints "
           + (f"its reading of held-out digit #{idx} above and the held-out accuracy." if idx is not None else
              "the held-out accuracy (a drawing is not put in the script: pick *MNIST test digit* for a digit it "
              "can replay).")
           + " The weights file is a state_dict for `nn.Sequential(nn.Linear(784, 128), nn.ReLU(), "
           "nn.Linear(128, 10))`: `model.load_state_dict(torch.load('mnist_784_128_10_sequential.pt'))`.")

ui.explain(
    """
**How your drawing becomes 784 numbers.** MNIST digits were made in a particular way, and the network
only knows digits made that way, so your drawing goes through the same steps:

1. cut out the smallest box that holds all the ink,
2. shrink it, keeping its proportions, until its longer side is 20 pixels,
3. place it in a 28 x 28 square so that its centre of mass (the ink-weighted average position) sits
   at the middle, pixel (14, 14),
4. flatten the square row by row into a vector `x` of shape `[784]`, values from 0 (no ink) to 1.

**How the network reads it.** `h = relu(x @ W1 + b1)` turns `[784]` into 128 hidden numbers,
`logits = h @ W2 + b2` turns those into 10 scores, and softmax turns scores into probabilities.
The biggest wins.

**Saliency.** The chain rule tells us how the winning score would change if one pixel got a bit more ink:
`d logit_k / d x = (W2[:, k] * relu'(z)) @ W1.T`, a `[128] @ [128, 784]` product. Only hidden units that
are switched on (`z > 0`) pass the gradient back. The tests check this hand-derived formula against
`torch.autograd`.

The network never saw your handwriting: drawings that are thin, off-centre or unlike the 1980s US
census forms MNIST came from are harder. Everything on this page, from the pixels to the weights, is
ordinary tensors and matrix products.
""")
ui.show_source(lab.preprocess, lab.read_digit, lab.saliency)

ui.quiz(
    "ch0",
    "This course builds a digit reader 'from scratch'. What does that mean here?",
    [
        "We write our own tensor library in C before starting",
        "Layers, loss, gradients, optimizer and training loop are written by hand with plain tensors; "
        "torch.nn and torch.optim are only used afterwards to check our numbers",
        "The network is trained without any labelled examples",
        "All weights start at exactly zero",
    ],
    answer=1,
    why="We keep PyTorch's tensors (and use autograd only as a checker), but every piece that "
        "torch.nn and torch.optim would normally hide is code we write and can read line by line. "
        "The whole network is just four tensors holding 101,770 numbers.",
)
