"""Shared Streamlit helpers, so that every page is thin and looks alike.

A page reads its widgets through the wrappers below (each widget is bound to
the URL, so a link restores it), calls one or two `core` functions, draws its
figures with `plot`, and shows the `core` source it ran with `show_source`.
"""
import functools
import inspect
import logging
import math
import re
from urllib.parse import urlencode

import plotly.graph_objects as go
import streamlit as st

from core import data
from datasets import mnist_files
from ui import figspec
from ui.layout import PageLayout, chapter_nav, page  # noqa: F401 - ui.page, the one page layout
from ui.predict import predict  # noqa: F401 - ui.predict, "predict, then try"

# Okabe-Ito, a palette that colour-blind viewers can tell apart, with its three light hues darkened so that
# every line has >= 3:1 contrast on white (WCAG's bar for graphics; tests/pages/test_ui_layout.py computes it):
# orange #E69F00 (2.25:1) -> #B07A00 (3.73), sky blue #56B4E9 (2.31) -> #3B8CC4 (3.66), yellow #F0E442 (1.32)
# -> olive #8F8500 (3.80).
ORANGE, SKY_BLUE, OLIVE = "#B07A00", "#3B8CC4", "#8F8500"
PALETTE = ["#0072B2", ORANGE, "#009E73", "#D55E00", "#CC79A7", SKY_BLUE, OLIVE, "#000000"]
COLORS = {
    "forward": "#0072B2",   # values flowing forward: blue
    "backward": ORANGE,     # gradients flowing backward: orange
    "correct": "#009E73",   # the correct class: teal
    "wrong": "#D55E00",     # mistakes, divergence: vermilion
    "scratch": ORANGE,      # our from-scratch code
    "torch": "#009E73",     # the torch.nn version
    "sgd": "#D55E00",
    "momentum": ORANGE,
    "nesterov": "#CC79A7",
    "adam": "#009E73",
    "rmsprop": SKY_BLUE,
    "neutral": "#737B8C",   # grey, 4.25:1 (was #8A94A6, 3.06)
}
# Diverging colour scale for weights, gradients and decision boundaries (blue < 0 < orange).
DIVERGING = [[0.0, "#0072B2"], [0.5, "#F7F7F7"], [1.0, "#E69F00"]]


# ---------------------------------------------------------------- presenter mode
def presenter():
    """True when the projector-friendly presenter mode is on (toggle in the sidebar, or ?present=true)."""
    return bool(st.session_state.get("present", False))


def presenter_requested():
    """Presenter mode as the page opens: the toggle's value, or ?present=true on a first load (before the
    sidebar toggle has read the link). app.py uses it to start with the sidebar collapsed."""
    if "present" in st.session_state:
        return bool(st.session_state["present"])
    return str(st.query_params.get("present", "")).lower() in ("true", "1")


# Less empty space above the title, so the picture of a ui.page starts in the first screen.
LAYOUT_CSS = "[data-testid='stMainBlockContainer'] { padding-top: 4rem; }"   # just below the 3.75rem header
# Presenter mode, for a 1280x720 projector: larger type; metric values 2.6rem of 21px = 1.52x the desk's
# 2.25rem of 16px; labels of buttons, metrics, segmented controls and tabs wrap instead of being cut short.
PRESENTER_CSS = (
    "html { font-size: 21px; }"
    "[data-testid='stMarkdownContainer'] p, [data-testid='stMarkdownContainer'] li { font-size: 1.15rem; }"
    "[data-testid='stMetricValue'], [data-testid='stMetricValue'] [data-testid='stMarkdownContainer'] p"
    " { font-size: 2.6rem; }"
    "[data-testid='stMetricLabel'] p, [data-testid='stMetricLabel'] div { white-space: normal !important;"
    " overflow: visible !important; text-overflow: clip !important; }"
    "button p, [data-baseweb='tab'] p { white-space: normal !important; overflow-wrap: anywhere; }"
    "h1 { font-size: 2.2rem !important; padding-top: 0 !important; }"
)


def presenter_css():
    """The shared layout CSS, and larger type and wrapping labels when presenting; called once per run by app.py."""
    st.html("<style>" + LAYOUT_CSS + (PRESENTER_CSS if presenter() else "") + "</style>")


# ---------------------------------------------------------------- shared data
@st.cache_resource(show_spinner="Reading the MNIST files...", max_entries=2)
def mnist_split(split):
    """One MNIST split as uint8 pixels, (X [N, 784] uint8 0..255, y [N] int64), read once per server process.

    Every page and every session gets these same tensors, read-only: one copy in memory instead of one
    per page. Kept as uint8, a quarter of float32: the 60,000 training images are 47 MB instead of 188 MB
    (the server must fit in 690 MB). Pages make float32 (core.data.to_float / as_float: exactly
    load_mnist's numbers) only of the rows they use: a mini-batch, a chunk being evaluated, one digit. No float
    copy of a whole split is kept: the test split's would be 31 MB. Raises datasets.mnist_files.MnistError when
    the files are missing or damaged (errors are not cached: the next call looks again).
    """
    return mnist_files.load_mnist_pixels(split)


# The test split is committed (datasets/mnist), so this shows only on a damaged install; the details
# (paths, commands) go to the server log for whoever runs the app, not to the student.
MNIST_UNREADABLE = ("The MNIST digits could not be read on this server, so this page cannot run. "
                    "Please tell whoever runs this app; the server log says what is wrong.")


def mnist_unreadable(err):
    """Say on the page, in a student's words, that MNIST could not be read; log the technical reason."""
    logging.getLogger(__name__).error("MNIST could not be read: %s", err)
    st.error(MNIST_UNREADABLE, icon=":material/error:")


def require_mnist_test():
    """The shared uint8 test split (mnist_split), or the plain-words error above and the page stops there."""
    try:
        return mnist_split("test")
    except mnist_files.MnistError as err:
        mnist_unreadable(err)
        st.stop()


def mnist_test_batch(batch_size, seed, pick):
    """`pick(X, y, batch_size, seed)` on the shared MNIST test split (the page calls require_mnist_test first,
    so it is there), the picked rows as float32: the numbers of the float split, without keeping a float copy
    of all 10,000 images (31 MB) in memory."""
    X, y = mnist_split("test")
    xb, yb = pick(X, y, batch_size, seed)
    return data.to_float(xb), yb


def mnist_train_test():
    """datasets.mnist_files.mnist_train_test over the shared uint8 copies:
    (X_train, y_train, X_test, y_test, description).

    X_train and X_test are uint8 pixels (views of mnist_split, never copies); labs.ch07_mnist and
    labs.t1_custom_layer_mlp accept them as they are, anything else wants core.data.to_float of the rows it uses.
    """
    return mnist_files.mnist_train_test(load=mnist_split)


def mnist_data_sentence(n_train, n_test):
    """One plain sentence saying which MNIST images a page trains and tests on."""
    if n_train + n_test > 10_000:
        return f"Data: full MNIST, {n_train:,} training images and {n_test:,} test images."
    return (f"Full MNIST is not on this server, so training images come from the first {n_train:,} of the "
            f"{n_train + n_test:,} MNIST test images and testing uses the last {n_test:,}.")


# ---------------------------------------------------------------- uploads
UPLOADS_KEPT = 2   # files a session keeps on the server: page 7's one uploader needs its current file


@st.cache_resource  # once per server process
def keep_few_uploads_per_session(kept=UPLOADS_KEPT):
    """Keep only a session's `kept` newest uploaded files in server memory; True once in place.

    server.maxUploadSize (.streamlit/config.toml) caps each PUT to /_stcore/upload_file at 2 MB, but the
    endpoint takes any number of them, and Streamlit keeps every file until the session ends: 40 PUTs of
    2 MB to one session grew the server by 80 MB. The app has one uploader, so older files are dropped as
    a new one arrives (Streamlit's in-memory upload manager, pinned in requirements.txt).
    """
    from streamlit import runtime
    if not runtime.exists():
        return False
    manager = runtime.get_instance().uploaded_file_mgr
    storage = getattr(manager, "file_storage", None)    # {session id: {file id: file}}, oldest first
    if storage is None:
        return False
    add_file = manager.add_file

    def add_file_keeping_few(session_id, file):
        add_file(session_id, file)
        for file_id in list(storage.get(session_id, {}))[:-kept]:
            manager.remove_file(session_id, file_id)

    manager.add_file = add_file_keeping_few
    return True


# ---------------------------------------------------------------- page furniture
def header(title, lead):
    """Page title and a one-paragraph lead (shortened to nothing when presenting)."""
    st.title(title)
    if not presenter():
        st.markdown(lead)


def explain(markdown, title="What is going on", expanded=True):
    """An explanation in plain words; collapsed in presenter mode so the picture gets the screen."""
    with st.expander(f":material/lightbulb: {title}", expanded=expanded and not presenter()):
        st.markdown(markdown)


def more_controls(label="More controls"):
    """A container for the controls a first look does not need (collapsed in presenter mode)."""
    return st.expander(f":material/tune: {label}", expanded=not presenter())


@functools.lru_cache(maxsize=256)
def _source(func):
    return inspect.getsource(func)


def show_source(*funcs, title="The `core` code that computed this", expanded=False):
    """Show, verbatim, the source of the `core` functions this page just ran."""
    with st.expander(f":material/code: {title}", expanded=expanded):
        for func in funcs:
            st.caption(f"`{func.__module__}.{func.__qualname__}`")
            st.code(_source(func), language="python")


class PlainFigure(go.Figure):
    """A figure already written out as Plotly's plain dicts ({"data": [...], "layout": {...}}), handed to
    st.plotly_chart as it is. Streamlit turns any go.Figure into that dict with to_dict() (a deep copy), and
    a dict into a go.Figure and back (validating every property again); this one returns the dict it holds.
    go.Figure.__init__ is skipped on purpose: nothing is validated or copied, so a figure costs only its JSON."""

    def __init__(self, spec):  # noqa: D107 - not calling super().__init__ is the point
        self._spec = spec

    def to_dict(self):
        return self._spec


def styled_spec(spec, big, height=None):
    """The app's look written into a copy of a figure's dicts: palette, type size, margins, and in presenter
    mode (big) scatter lines 1.6x as wide (4 px where the figure left the width to Plotly). `spec` itself is
    left as it was (it may be cached); only the dicts that change are copied."""
    layout = dict(spec.get("layout") or {})
    layout["colorway"] = PALETTE
    layout["font"] = {**layout.get("font", {}), "size": 20 if big else 14}
    titled = bool((layout.get("title") or {}).get("text"))
    layout["margin"] = {**layout.get("margin", {}), "l": 10, "r": 10, "t": 50 if titled else 20, "b": 10}
    if height:
        layout["height"] = height
    data = spec.get("data") or []
    if big:
        data = [{**trace, "line": _wider(trace.get("line") or {})} if trace.get("type", "scatter") == "scatter"
                else trace for trace in data]
    return {**spec, "data": data, "layout": layout}


def _wider(line):
    """A scatter trace's line 1.6x as wide for a projector; 4 px where the figure left the width to Plotly."""
    return {**line, "width": 4 if line.get("width") is None else line["width"] * 1.6}


def plot(fig, key=None, height=None):
    """Draw a Plotly figure (a go.Figure or its plain dicts) with the app's palette (bigger type and lines when
    presenting).

    The look comes from Streamlit's own chart theme, applied in the browser: setting a Plotly template here
    would cost ~50 ms of server time per chart on every rerun. The figure is styled as plain dicts and sent
    without a second validation (PlainFigure): go.Figure.update_layout alone cost 0.65 ms per chart.
    """
    if isinstance(fig, go.Figure):
        spec = fig.to_dict()  # what Streamlit would send
    else:
        if figspec.VALIDATE:
            go.Figure(fig)  # the tests' check of a dict figure: raises on any property Plotly does not know
        spec = figspec.typed_arrays(fig)  # numpy arrays as base64, as to_dict() sends them
    st.plotly_chart(PlainFigure(styled_spec(spec, presenter(), height)), key=key, config={"displaylogo": False})


def imshow(z, *, colorscale, zmin, zmax, title, labels=None, aspect=None, hide_ticks=False):
    """The figure px.imshow(z, color_continuous_scale=colorscale, zmin=zmin, zmax=zmax, title=title, labels=labels,
    aspect=aspect) draws, as plain dicts (ui.figspec): px.imshow spends ~12 ms of server time per heatmap working
    that out on every rerun, go.Figure of the same dicts ~0.5 ms, the dicts ~0.01 ms (tests/pages/test_ui_figures.py
    checks it is the same figure). hide_ticks: no tick labels on either axis."""
    labels = labels or {}
    x_label, y_label, c_label = labels.get("x"), labels.get("y"), labels.get("color")
    xaxis, yaxis = dict(anchor="y", domain=[0.0, 1.0]), dict(anchor="x", domain=[0.0, 1.0], autorange="reversed")
    if aspect != "auto":
        xaxis.update(scaleanchor="y", constrain="domain")
        yaxis.update(constrain="domain")
    if x_label:
        xaxis["title"] = dict(text=x_label)
    if y_label:
        yaxis["title"] = dict(text=y_label)
    if hide_ticks:
        xaxis["showticklabels"] = yaxis["showticklabels"] = False
    if all(isinstance(c, str) for c in colorscale):  # plain colours, evenly spaced (as px spaces them)
        colorscale = [[i / (len(colorscale) - 1), c] for i, c in enumerate(colorscale)]
    coloraxis = dict(colorscale=[list(pair) for pair in colorscale], cmin=zmin, cmax=zmax, autocolorscale=False)
    if c_label:
        coloraxis["colorbar"] = dict(title=dict(text=c_label))
    hover = f"{x_label or 'x'}: %{{x}}<br>{y_label or 'y'}: %{{y}}<br>{c_label or 'color'}: %{{z}}<extra></extra>"
    trace = dict(type="heatmap", z=z, coloraxis="coloraxis", name="0", xaxis="x", yaxis="y", hovertemplate=hover)
    return figspec.figure([trace], xaxis=xaxis, yaxis=yaxis, coloraxis=coloraxis, title=dict(text=title))


def stat_table(rows, **kwargs):
    """A read-only table of computed numbers (AppTest can read it back)."""
    st.dataframe(rows, hide_index=True, **kwargs)


# ---------------------------------------------------------------- untrusted text
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")   # every ASCII punctuation character
_JOINER = "\u2060"   # WORD JOINER: zero width, not a space


def plain(text, limit=None):
    """`text` from a visitor (a link value, a formula, a file name, a cell of a CSV) made safe to put in
    markdown: shown exactly as typed, never as a link, an image, code or formatting.

    Markdown lets any ASCII punctuation be escaped with a backslash, so every one is; line breaks and other
    control characters become spaces (a blank line would end the paragraph); `limit` shortens it to that
    many characters. Escapes do not stop GitHub-style autolinks (Streamlit turns a bare https://..., www.
    or name@host.example in the text into a link after parsing), so an invisible word joiner (U+2060) goes
    after every ':' and '@' and before every '.', which those patterns cannot match across.
    """
    text = "".join(ch if ch.isprintable() else " " for ch in str(text))
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[:limit - 3] + "..."
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    return text.replace("\\:", "\\:" + _JOINER).replace("\\@", "\\@" + _JOINER).replace("\\.", _JOINER + "\\.")


def plotly_plain(text):
    """`text` from a visitor for a Plotly title, legend or label: Plotly reads some HTML there (<a href>,
    <b>, <br>), so the characters that make tags and entities are written as entities."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------- widgets bound to the URL
def _matches(raw, value):
    """Does the text `raw` from a link describe `value`?"""
    if isinstance(value, bool):
        return raw.lower() in (str(value).lower(), "1" if value else "0")
    if isinstance(value, (int, float)):
        try:
            return math.isclose(float(raw), float(value), rel_tol=1e-9, abs_tol=1e-12)
        except ValueError:
            return False
    return raw == str(value)


def _number_within(raw, bounds):
    """Is the text `raw` a finite number from bounds[0] to bounds[1]?"""
    try:
        number = float(raw)
    except (ValueError, OverflowError):
        return False
    return math.isfinite(number) and bounds[0] <= number <= bounds[1]


def _forget_link_value(key):
    """Take ?key=... out of the URL, and out of the copy Streamlit seeds widgets from.

    Streamlit 1.67 seeds a bound widget from the query string the page was opened with (a private copy
    that `del st.query_params[key]` does not touch) and its whole-number deserializer raises OverflowError
    on inf or 1e400 instead of falling back to the default. Pinned in requirements.txt; the link tests
    (tests/pages/test_hostile_links.py) fail if this stops working.
    """
    from streamlit.runtime.state.session_state_proxy import get_session_state
    with get_session_state().query_params() as qp:
        qp._initial_query_params.pop(key, None)
        qp.remove_param(key)


def _bound(widget, *args, key, bounds=None, **kwargs):
    """Create a widget whose value lives in the URL (?key=value) and say so when a link's value was refused.

    `bounds` (min, max) of a number widget: a link's value outside them is taken out of the URL before the
    widget reads it (Streamlit raises OverflowError on inf, 1e400 or a 400-digit number for a whole-number
    widget, and the link would raise it again on every reload).
    """
    opened_from_link = key not in st.session_state  # a link applies when the widget first appears
    raw = st.query_params.get(key) if opened_from_link else None
    if raw is not None and bounds is not None and not _number_within(raw, bounds):
        _forget_link_value(key)
    value = widget(*args, key=key, bind="query-params", **kwargs)
    shown = kwargs.get("format_func")  # a browser writes a choice's label into the link, not its value
    if raw is not None and not _matches(raw, value) and not (shown and raw == str(shown(value))):
        st.warning(  # the link's text is the visitor's: shown as plain text, never as markdown
            f"The link asked for {key} = {plain(raw, limit=60)}, which this control cannot take; "
            f"using {plain(shown(value) if shown else value, limit=60)} instead.",
            icon=":material/link_off:",
        )
    return value


def _numbers(*values):
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def slider(label, min_value, max_value, value, *, key, **kwargs):
    bounds = (min_value, max_value) if _numbers(min_value, max_value) else None
    return _bound(st.slider, label, min_value, max_value, value, key=key, bounds=bounds, **kwargs)


def select_slider(label, options, value, *, key, **kwargs):
    return _bound(st.select_slider, label, options=options, value=value, key=key, **kwargs)


def selectbox(label, options, index=0, *, key, **kwargs):
    return _bound(st.selectbox, label, options, index=index, key=key, **kwargs)


def radio(label, options, index=0, *, key, **kwargs):
    return _bound(st.radio, label, options, index=index, key=key, **kwargs)


def segmented(label, options, default, *, key, **kwargs):
    """A one-of-few choice shown as buttons; never empty (falls back to the default)."""
    value = _bound(st.segmented_control, label, options, default=default, key=key, **kwargs)
    return default if value is None else value


def toggle(label, value=False, *, key, **kwargs):
    return _bound(st.toggle, label, value=value, key=key, **kwargs)


def number_input(label, min_value, max_value, value, *, key, **kwargs):
    bounds = (min_value, max_value) if _numbers(min_value, max_value) else None
    return _bound(st.number_input, label, min_value=min_value, max_value=max_value, value=value, key=key,
                  bounds=bounds, **kwargs)


def text_input(label, value, *, key, max_chars=200, **kwargs):
    return _bound(st.text_input, label, value=value, key=key, max_chars=max_chars, **kwargs)


def seed(key, value=0, label="Seed"):
    """The random seed of a simulation: same seed, same picture."""
    return number_input(label, 0, 99_999, value, key=key, step=1,
                        help="Every random choice on this page is drawn from this seed.")


def share_link(url_path):
    """A "Share this page" box: the page's address with every control's current value, ready to copy.

    Bound widgets keep their values in the URL's query string, so this link reopens the page as it is now.
    """
    base = st.context.url or f"http://localhost:8501/{url_path}"  # None until a browser has said (AppTest)
    base = base.split("?")[0]
    params = {k: v for k, v in st.query_params.to_dict().items() if not k.startswith("quiz_")}
    link = f"{base}?{urlencode(params)}" if params else base
    with st.popover("Share this page", icon=":material/link:", width="stretch"):
        st.caption("Copy this link with the button in the box's corner. It opens this page with every "
                   "control set as it is now (uploaded files and training progress stay with you).")
        st.code(link, language=None, wrap_lines=True)
    return link


# ---------------------------------------------------------------- quizzes
QUIZ_STATE = "quiz_scores"  # {quiz id: True/False for the first answer given}


def quiz(qid, question, options, answer, why):
    """One multiple-choice question with feedback; the first answer counts towards the home-page score.

    The question is a fragment: answering it reruns only the question, not the page's simulation
    (in a class of thirty, every answer would otherwise recompute the whole page).
    """
    st.subheader(":material/quiz: Check yourself")
    from ui import classmode  # a tab that joined a class sends its answer to the class's live tally
    if classmode.current_class():
        classmode.class_quiz(qid, question, tuple(options), answer, why)
    else:
        _quiz_question(qid, question, tuple(options), answer, why)


@st.fragment
def _quiz_question(qid, question, options, answer, why):
    choice = st.radio(question, options, index=None, key=f"quiz_{qid}")
    if choice is None:
        st.caption("Pick an answer to see the explanation.")
        return
    record_quiz_score(qid, options.index(choice) == answer)
    quiz_feedback(options, answer, why, options.index(choice))


def record_quiz_score(qid, correct):
    """The first answer to a quiz counts towards the home-page score."""
    st.session_state.setdefault(QUIZ_STATE, {}).setdefault(qid, correct)


def quiz_feedback(options, answer, why, choice):
    """Right / not quite, with the explanation, for the option index `choice`."""
    if choice == answer:
        st.success(f"Right. {why}", icon=":material/check_circle:")
    else:
        st.error(f"Not quite: the answer is **{options[answer]}**. {why}", icon=":material/cancel:")


def quiz_scores():
    """{quiz id: first answer correct?} for this session."""
    return dict(st.session_state.get(QUIZ_STATE, {}))


# ---------------------------------------------------------------- export
def download_script(code, file_name, label="Download as a Python script", key=None):
    """Offer a standalone script that reproduces this page's numbers."""
    st.download_button(label, code, file_name=file_name, mime="text/x-python",
                       icon=":material/download:", key=key)
