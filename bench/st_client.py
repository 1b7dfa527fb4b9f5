"""A minimal Streamlit client that speaks the browser's websocket protocol, for load tests.

A real browser costs ~200 MB and a core; this costs a socket. Each `StudentSession` opens
`/_stcore/stream`, asks for a page (BackMsg.rerun_script with a ClientState), reads ForwardMsgs
until `script_finished`, and rebuilds the page with Streamlit's own testing parser
(`parse_tree_from_messages`), so widgets can be found by key and moved exactly as AppTest does.
"""
import asyncio
import collections
import time

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.testing.v1.element_tree import parse_tree_from_messages

def _block_replaces_element(messages):
    """The deltas as a browser ends up showing them: where a place held an element and, later in the run, a block
    (a `st.empty()` that first held an element, then became a container, or got children), only the block is kept.
    AppTest's tree builder would otherwise try to give the element children and fail (AttributeError: children,
    or its `isinstance(child, Block)` assertion)."""
    def path(m):
        return tuple(m.metadata.delta_path)

    blocks = {path(m) for m in messages if m.delta.WhichOneof("type") == "add_block"}
    blocks |= {path(m)[:n] for m in messages for n in range(1, len(path(m)))}   # every ancestor is a block
    return [m for m in messages if m.delta.WhichOneof("type") == "add_block" or path(m) not in blocks]


class _ClientSideState(dict):
    """Stands in for AppTest's session state when the parser asks a widget for its formatting function:
    a browser shows options with str(), and that is what the widget state of a selection carries."""

    def __missing__(self, key):
        return collections.defaultdict(lambda: str)


class _Runner:
    _session_state = _ClientSideState()


FINISHED_OK = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


class StudentSession:
    """One browser tab's worth of protocol: connect, open pages, move widgets, read what came back."""

    def __init__(self, base_url):
        self.ws_url = base_url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.ws = None
        self.tree = None
        self.messages = []
        self.page_name = ""
        self.page_hash = ""
        self.moved = {}  # widget id -> WidgetState the user set (a browser sends these back on every rerun)
        self.pages = {}  # url path -> page script hash, from the app's st.navigation
        self.auto_rerun = None  # (interval s, fragment id) of a st.fragment(run_every=...) on the page

    async def __aenter__(self):
        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                                           open_timeout=30, ping_interval=None)
        return self

    async def __aexit__(self, *exc):
        await self.ws.close()

    async def _rerun(self, widget_states=None, query_string="", timeout=60.0, fragment_id=""):
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = query_string
        state.page_name = self.page_name
        state.page_script_hash = self.page_hash
        if fragment_id:  # what a browser sends on each tick of a fragment's timer
            state.fragment_id = fragment_id
            state.is_auto_rerun = True
        else:
            self.auto_rerun = None  # a full run says again whether the page wants timed fragment runs
        if widget_states is not None:
            state.widget_states.CopyFrom(widget_states)
        await self.ws.send(msg.SerializeToString())
        messages = []
        deadline = time.monotonic() + timeout
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout=max(0.1, deadline - time.monotonic()))
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "navigation":  # st.navigation says which page it ran, and lists them all
                self.page_hash = fwd.navigation.page_script_hash
                self.pages = {p.url_pathname: p.page_script_hash for p in fwd.navigation.app_pages}
            elif kind == "auto_rerun":
                self.auto_rerun = (fwd.auto_rerun.interval, fwd.auto_rerun.fragment_id)
            elif kind == "stop_auto_rerun":
                self.auto_rerun = None
            elif kind == "script_finished":
                if fwd.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    # the script called st.rerun() (Play, Step, Reset ...): a full run of the page follows on
                    # this socket. Wait for it, or its messages would be read as the answer to the next action
                    # (its navigation message even switched the page the next action asked for).
                    messages, fragment_id = [], ""
                    continue
                if fragment_id:  # a fragment run only redraws its own part of the page
                    return fwd.script_finished
                self.messages = messages
                self.tree = parse_tree_from_messages(_block_replaces_element(messages))
                self.tree._runner = _Runner()
                return fwd.script_finished
            if kind == "delta":
                messages.append(fwd)

    async def open(self, url_path="", query_string=""):
        """Go to a page by its address (`st.Page(url_path=...)`), as a click in the sidebar does.

        The first run loads the app's entry script, whose st.navigation lists every page with its
        script hash; pages are then asked for by hash (a page name alone would let Streamlit run a
        file from views/ on its own, without app.py around it).
        """
        if not self.pages:
            self.page_name, self.page_hash = "", ""
            await self._rerun(query_string=query_string)
        self.page_hash, self.moved = self.pages[url_path], {}
        return await self._rerun(query_string=query_string)

    async def open_link(self, url_path="", query_string="", timeout=60.0):
        """A new tab opened on a link to one page (`http://host/<url_path>?<query>`): the browser's very first
        rerun already names the page by its address (no script hash yet), and st.navigation picks it."""
        self.page_name, self.page_hash, self.moved = url_path, "", {}
        return await self._rerun(query_string=query_string, timeout=timeout)

    async def set_widget(self, kind, key, value, timeout=60.0):
        """Move one widget (AppTest's kind name: "slider", "selectbox", ...) and rerun; returns seconds taken."""
        widget = getattr(self.tree, kind)(key=key).set_value(value)
        self.moved[widget.id] = widget._widget_state
        return await self._timed_rerun(timeout=timeout)

    async def click(self, key, timeout=60.0):
        button = self.tree.button(key=key).click()
        return await self._timed_rerun(extra=button._widget_state, timeout=timeout)  # a one-off trigger

    async def play(self, seconds):
        """Let the page's timed fragment tick for `seconds`, as an open browser tab does (each tick is sent
        once the previous one has finished, as the browser's timer does). Returns the seconds each frame took."""
        frames = []
        stop_at = time.monotonic() + seconds
        while self.auto_rerun is not None and time.monotonic() < stop_at:
            interval, fragment_id = self.auto_rerun
            start = time.perf_counter()
            await self._rerun(fragment_id=fragment_id)
            took = time.perf_counter() - start
            frames.append(took)
            await asyncio.sleep(max(0.0, interval - took))
        return frames

    async def click_and_leave(self, key, after_s=1.0):
        """Press a button, then close the tab `after_s` seconds into the run it starts (a student leaving
        mid-training)."""
        button = self.tree.button(key=key).click()
        states = WidgetStates()
        states.widgets.extend(list(self.moved.values()) + [button._widget_state])
        msg = BackMsg()
        msg.rerun_script.page_name = self.page_name
        msg.rerun_script.page_script_hash = self.page_hash
        msg.rerun_script.widget_states.CopyFrom(states)
        await self.ws.send(msg.SerializeToString())
        deadline = time.monotonic() + after_s
        try:
            while time.monotonic() < deadline:
                await asyncio.wait_for(self.ws.recv(), timeout=max(0.05, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            pass
        await self.ws.close()

    async def _timed_rerun(self, extra=None, timeout=60.0):
        states = WidgetStates()
        states.widgets.extend(list(self.moved.values()) + ([extra] if extra is not None else []))
        start = time.perf_counter()
        status = await self._rerun(widget_states=states, timeout=timeout)
        return time.perf_counter() - start, status

    # --- reading the page -------------------------------------------------------------------------------
    def exceptions(self):
        return [e.value for e in self.tree.exception]

    def metrics(self):
        return {m.label: m.value for m in self.tree.metric}

    def texts(self):
        return [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "text",
                                         "error", "warning", "info", "success")
                for e in getattr(self.tree, kind)]
