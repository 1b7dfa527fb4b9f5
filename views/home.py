"""Home: the network this app builds, drawn from its own tensors, a way in, the chapter map and the quiz score."""
from pathlib import Path

import streamlit as st

import ui
from core import network
from labs import ch00_draw_digit
from ui import registry
from ui.network_picture import network_figure

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "mnist_784_128_10.pt"


WEIGHTS = ["Trained", "Fresh"]


@st.cache_resource(show_spinner=False)
def home_network(which):
    """The trained 784-128-10 the Draw-a-digit page uses (read-only, shared), or fresh Kaiming weights."""
    if which == "Trained" and MODEL_PATH.exists():
        return ch00_draw_digit.load_weights(MODEL_PATH), "the trained weights that read your digit on page 0"
    return network.init_mlp([784, 128, 10], seed=0), "fresh Kaiming weights (seed 0), before any training"


pages = registry.existing_pages()
first = next(p for p in pages if p["chapter"] == 0)

L = ui.page("Neural networks from scratch",
            "Build PyTorch's training pipeline out of raw tensors, one idea per page, then watch torch.nn "
            "give the same numbers.")

with L.controls:
    st.page_link(first["path"], label="Start here: draw a digit", icon=":material/play_arrow:")
    st.caption(first["blurb"])
    which = ui.segmented("Weights", WEIGHTS, WEIGHTS[0], key="home_weights",
                         help="The weights after training, or the random ones training starts from.")
params, origin = home_network(which)
sizes = network.layer_sizes(params)
n_params, n_bytes = network.count_params(params), network.count_bytes(params)
shapes = ", ".join(f"`{name} {list(t.shape)}`" for name, t in network.named_tensors(params))

with L.picture:
    ui.plot(network_figure(params), key="home_network")
    st.caption(f"The {'-'.join(map(str, sizes))} network: each line is one of its real weights, read from "
               f"{origin} (blue negative, orange positive, thick = large). It learns {n_params:,} numbers, "
               f"{n_bytes:,} bytes as float32.")

with L.controls:
    st.page_link(registry.page_by_path("views/class_mode.py")["path"], label="Teach a class",
                 icon=":material/groups:")
    st.caption("Students join with a code; answers tally live.")
    scores = ui.quiz_scores()
    quiz_pages = [p for p in pages if p["chapter"] is not None]
    c1, c2 = st.columns(2)
    c1.metric("Answered", len(scores), help=f"of the {len(quiz_pages)} chapter questions in this app")
    c2.metric("Right first time", sum(scores.values()))

with L.more:
    st.metric("Questions in this app", len(quiz_pages))
    st.caption("Each chapter ends with one question. Your first answer to each is counted here, for this "
               "browser session only.")

with L.below:
    st.markdown(
        f"**The goal:** a network of {len(params) * 2} tensors, {shapes} ({n_params:,} numbers), that reads "
        "handwritten digits. No `torch.nn`, no `torch.optim`: forward pass, loss, backward pass, optimizer "
        "and data loader are written by hand and checked against PyTorch. Every number and picture here is "
        "computed live by the project's own `core` package, and every page can show you the code behind it."
    )
    st.header("Chapter map")
    sections = [s for s in registry.SECTIONS
                if any(p["section"] == s and not p.get("default") for p in pages)]
    for section, col in zip(sections, st.columns(len(sections))):
        col.subheader(section)
        for p in pages:
            if p["section"] == section and not p.get("default"):
                col.page_link(p["path"], label=p["title"], icon=p["icon"])
                col.caption(p["blurb"])

    st.header("Run it yourself")
    st.code("pip install -r requirements.txt && streamlit run app.py", language="bash")
    st.caption("The app works offline: MNIST's 10,000 test digits come with it. Full MNIST (60,000 more "
               "training images) is an optional download; the README says how.")
