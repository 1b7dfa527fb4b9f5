"""One page layout for every page: the simulation's picture first, its few main controls beside it.

    L = ui.page("3 · Cross-entropy explorer", "Drag the logits; watch softmax, the loss and its gradient.")
    with L.controls: z = ui.slider(...)          # the 2-4 controls a first look needs
    with L.more:     seed = ui.seed(...)         # secondary controls, in a collapsed "More controls" panel
    with L.picture:  ui.plot(fig, key=...)       # the main figure(s): inside the first screen
    with L.below:    ui.explain(...); ui.show_source(...); ui.quiz(...)

The containers can be filled in any order: each one keeps its place on the page (title, lead, then the
picture with the controls beside it (controls="right") or in a row directly above it (controls="top"),
then everything else). No page control lives in the sidebar.
"""
from dataclasses import dataclass

import streamlit as st

# Marks a page that uses this layout: the browser layout test finds "ui.page(" in the view's source.
MARKER = "ui.page("


@dataclass(frozen=True)
class PageLayout:
    picture: object    # st container: the main figure(s)
    controls: object   # st container: the 2-4 main controls
    more: object       # st.expander "More controls" (collapsed) at the end of the controls
    below: object      # st container: explanations, tables, code, exports, quiz


def page(title, lead, *, controls="right", widths=(2.2, 1)):
    """Draw the page's title and one-line lead, and return its PageLayout (see the module docstring).

    controls="right": the picture on the left, the controls in a column beside it (`widths` = their
    relative widths); controls="top": the controls in one row directly above a full-width picture (for
    wide pictures)."""
    if controls not in ("right", "top"):
        raise ValueError(f"controls must be 'right' or 'top', got {controls!r}")
    st.title(title)
    st.caption(lead)
    if controls == "right":
        left, right = st.columns(list(widths), gap="medium")
        picture = left.container()
        ctrl = right.container()
        more = right.expander("More controls", icon=":material/tune:", expanded=False)
    else:
        row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
        ctrl = row.container(horizontal=True, vertical_alignment="bottom", gap="medium")
        more = row.expander("More controls", icon=":material/tune:", expanded=False, width=220)
        picture = st.container()
    below = st.container()
    return PageLayout(picture=picture, controls=ctrl, more=more, below=below)


def chapter_nav(st_pages, url):
    """Previous / next buttons in lesson order (ui.registry.lesson_neighbours) at the bottom of the page
    at `url`; `st_pages` maps a page's url to its st.Page. app.py calls it after the page has run."""
    from ui import registry
    before, after = registry.lesson_neighbours(url)
    if before is None and after is None:
        return
    st.divider()
    left, right = st.columns(2)
    if before is not None:
        left.page_link(st_pages[before["url"]], label=f"Previous: {before['title']}",
                       icon=":material/arrow_back:")
    if after is not None:
        right.container(horizontal_alignment="right").page_link(
            st_pages[after["url"]], label=f"Next: {after['title']}", icon=":material/arrow_forward:")
