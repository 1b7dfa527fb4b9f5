"""Home: what the app is, the chapter map, and the quiz score of this session."""
import streamlit as st

import ui
from ui import registry

ui.header(
    "Neural networks from scratch",
    "Build the whole PyTorch training pipeline out of raw tensors, one idea per page, "
    "and then watch `torch.nn` produce exactly the same numbers. Every number and picture "
    "here is computed live by the project's own `core` package, and every page can show "
    "you the code that computed it.",
)

pages = registry.existing_pages()
st.markdown(
    "**The goal:** a network of four tensors, `W1 [784, 128]`, `b1 [128]`, `W2 [128, 10]` and "
    "`b2 [10]` (101,770 numbers), that reads handwritten digits. No `torch.nn`, no `torch.optim`: "
    "forward pass, loss, backward pass, optimizer and data loader are written by hand and checked "
    "against PyTorch."
)

st.header("Chapter map")
for section in registry.SECTIONS:
    entries = [p for p in pages if p["section"] == section and not p.get("default")]
    if not entries:
        continue
    st.subheader(section)
    for p in entries:
        st.page_link(p["path"], label=p["title"], icon=p["icon"])
        st.caption(p["blurb"])

st.header("Your quiz score")
quiz_pages = [p for p in pages if p["chapter"] is not None]
scores = ui.quiz_scores()
answered = len(scores)
correct = sum(scores.values())
c1, c2, c3 = st.columns(3)
c1.metric("Questions in this app", len(quiz_pages))
c2.metric("Answered", answered)
c3.metric("Right first time", correct)
if answered == 0:
    st.caption("Each chapter ends with one question. Your first answer to each is counted here "
               "for this browser session only.")

st.header("Run it yourself")
st.code("pip install -r requirements.txt && streamlit run app.py", language="bash")
st.caption("The app works offline: MNIST's 10,000 test digits come with it. Full MNIST (60,000 more "
           "training images) is an optional download; the README says how.")
