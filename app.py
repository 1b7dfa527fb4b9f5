"""Entry point: `streamlit run app.py`. Builds the navigation from ui/registry.py."""
import os

# Streamlit runs every rerun in a new thread, and torch.set_num_threads(1) below holds only for the thread
# that calls it: a fragment's run (page 7's Play, 14 frames a second) does not run this file, so each of its
# matrix products started a team of 2 OpenMP threads (50 small matmuls in a new thread: 18 ms of CPU, 0.3 ms
# on one). OpenMP reads this variable when torch loads, so it is set before the first `import torch`.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import streamlit as st  # noqa: E402
import torch  # noqa: E402

import ui
from ui import registry, warmup

# The first minute of a class: 20 students open a just-started server at once. Import every library the
# pages use before any page runs, under one lock, so that no session sees a half-imported module
# (ui/warmup.py says why). The first session pays ~the import time; every later rerun returns at once.
warmup.import_libraries()
from ui import classmode  # noqa: E402 - after the warm-up, which imports it (and SQLAlchemy) under its lock

# One server process serves a whole class. Each computation runs on one thread, so sessions that
# compute at the same time share the cores instead of spinning against each other (measured on
# 2 busy cores: a 784-128-64-10 training step took 1.4 ms on 1 thread, 56-125 ms on 2).
torch.set_num_threads(1)


@st.cache_resource  # a setting of the server process: once is enough, not on every rerun
def return_freed_memory_to_the_system():
    """Ask glibc to hand large freed blocks (>= 1 MB, e.g. a 25 MB evaluation chunk) straight back to the OS.

    By default glibc raises that threshold after the first large free and then keeps later ones inside
    the process: measured on full MNIST, server memory after the training pages was 626 MB instead of
    542 MB, too close to Community Cloud's 690 MB. Linux/glibc only; elsewhere this does nothing.
    """
    try:
        import ctypes
        M_MMAP_THRESHOLD = -3
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, 1 << 20)
    except (OSError, AttributeError):
        pass


return_freed_memory_to_the_system()
ui.keep_few_uploads_per_session()   # a session's older uploads leave server memory when a new one arrives

st.set_page_config(
    page_title="Neural networks from scratch",
    page_icon=":material/neurology:",
    layout="wide",
    # presenter mode is for a projector: the page gets the whole width; the sidebar's arrow still opens it
    initial_sidebar_state="collapsed" if ui.presenter_requested() else "auto",
)

sections, st_pages = {}, {}
for page in registry.existing_pages():
    st_pages[page["url"]] = st.Page(page["path"], title=page["title"], icon=page["icon"],
                                    url_path=page["url"], default=page.get("default", False))
    sections.setdefault(page["section"], []).append(st_pages[page["url"]])
navigation = st.navigation(sections, expanded=True)

with st.sidebar:
    ui.toggle("Presenter mode", key="present",
              help="For a projector: larger type, explanations collapsed, secondary controls tucked away.")
    share = st.container()
ui.presenter_css()
classmode.where_am_i(navigation.url_path)
classmode.banner()  # a student in a class: "your teacher opened ... - follow" (no query for anyone else)

navigation.run()
ui.chapter_nav(st_pages, navigation.url_path or "home")  # Previous / Next, in lesson order

with share:  # drawn after the page, so the link holds the values its controls have now
    ui.share_link(navigation.url_path)
    classmode.teacher_sidebar(navigation.url_path)  # a teacher: send the class to this page
