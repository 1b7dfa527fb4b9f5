"""Attacks on a real `streamlit run app.py` server that need no browser: a hand-made canvas message on page 0,
direct PUTs to the upload endpoint, and what an uncaught error shows a visitor. Server memory is read with psutil.

Numbers are printed (pytest -s) for the record; the bounds asserted are far from what the attacks cost before
(a 9000 x 9000 PNG: 471 -> 2,939 MB; four 150 MB PUTs: 404 -> 1,007 MB).
"""
import asyncio
import http.client
import json
import secrets
import urllib.parse
import urllib.request

import psutil
import pytest
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetStates

from bench.st_client import StudentSession
from tests.browser_utils import streamlit_server
from tests.labs.test_lab_ch00_draw_digit_drawing import HOSTILE, digit_png, url as data_url

MB = 2 ** 20


@pytest.fixture(scope="module")
def server():
    with streamlit_server() as (url, proc):
        yield url, psutil.Process(proc.pid)


def rss(process):
    return process.memory_info().rss


# ----------------------------------------------------------------- page 0: the canvas message
def canvas_id(session):
    for fwd in session.messages:
        element = fwd.delta.new_element
        if element.WhichOneof("type") == "bidi_component":
            return element.bidi_component.id
    raise AssertionError("page 0 drew no canvas component")


async def send_canvas(session, cid, state):
    """What the canvas's JavaScript sends on mouse-up, with whatever we like in it."""
    states = WidgetStates()
    widget = states.widgets.add()
    widget.id = cid
    widget.json_value = json.dumps(state)
    await session._rerun(widget_states=states)
    return session.exceptions(), session.texts(), session.metrics()


SHAPES = {   # the message's structure itself, not just the image, is the visitor's
    "drawing is a number": {"drawing": 5},
    "drawing is a list": {"drawing": [1, 2]},
    "data is a number": {"drawing": {"raw": {"objects": []}, "data": 7}},
    "data is a dict": {"drawing": {"raw": None, "data": {"a": 1}}},
    "backgroundFit is a string": {"drawing": {"raw": {}, "data": None}, "backgroundFit": "x"},
}


def test_hostile_canvas_messages_get_a_message_and_cost_no_memory(server):
    url, process = server
    payloads = {name: p for name, p in HOSTILE.items() if isinstance(p, (str, int, list, dict))}

    async def attack():
        async with StudentSession(url) as s:
            await s.open("draw")
            cid = canvas_id(s)
            errors, texts, metrics = await send_canvas(s, cid, {"drawing": {"raw": {"objects": []},
                                                                              "data": data_url(digit_png()[0])}})
            assert errors == [] and "Prediction" in metrics, "a real drawing must still be read"
            before = rss(process)
            handled, peak = {}, before
            for name, payload in list(payloads.items()) + [(n, None) for n in SHAPES]:
                state = SHAPES[name] if name in SHAPES else {"drawing": {"raw": {"objects": []}, "data": payload}}
                errors, texts, metrics = await send_canvas(s, cid, state)
                peak = max(peak, rss(process))
                said = [t for t in texts if "canvas" in t.lower() or "drawing" in t.lower() or "png" in t.lower()]
                handled[name] = not errors and "Prediction" not in metrics and bool(said)
                assert not errors, f"{name}: {errors}"
            return before, peak, rss(process), handled

    before, peak, after, handled = asyncio.run(attack())
    print(f"\ncanvas: {sum(handled.values())} of {len(handled)} hostile messages handled cleanly; server RSS "
          f"{before / MB:.0f} MB before, peak {peak / MB:.0f} MB, {after / MB:.0f} MB after")
    assert all(handled.values()), [name for name, ok in handled.items() if not ok]
    assert (peak - before) / MB < 60, "refusing the hostile drawings made the server grow"


# ----------------------------------------------------------------- the upload endpoint, without the browser
def xsrf_token(url):
    """The XSRF cookie the server hands any visitor (the upload PUT must echo it in a header)."""
    with urllib.request.urlopen(url + "/_stcore/health", timeout=30) as r:
        for header in r.headers.get_all("Set-Cookie") or []:
            if header.startswith("_streamlit_xsrf="):
                return header.split(";", 1)[0].split("=", 1)[1]
    return None


async def _connect(url):
    """Open a session as a browser tab does and let its first run finish: (websocket, session id, exceptions)."""
    ws = await websockets.connect(url.replace("http://", "ws://") + "/_stcore/stream", subprotocols=["streamlit"],
                                  max_size=None, ping_interval=None)
    msg = BackMsg()
    msg.rerun_script.query_string = ""
    await ws.send(msg.SerializeToString())
    session_id, found = None, []
    while True:
        fwd = ForwardMsg()
        fwd.ParseFromString(await asyncio.wait_for(ws.recv(), 120))
        kind = fwd.WhichOneof("type")
        if kind == "new_session":
            session_id = fwd.new_session.initialize.session_id
        elif kind == "delta" and fwd.delta.new_element.WhichOneof("type") == "exception":
            found.append(fwd.delta.new_element.exception)
        elif kind == "script_finished":
            return ws, session_id, found


def put_file(url, session_id, token, size, chunked=False, declared=None):
    """PUT one multipart file of `size` bytes to /_stcore/upload_file/<session>/<file id>, as the browser's
    uploader does; the body is streamed a megabyte at a time. Returns the HTTP status (None: cut off)."""
    boundary = "----hostile" + secrets.token_hex(8)
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"points.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    total = len(head) + size + len(tail)
    parsed = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
    conn.putrequest("PUT", f"/_stcore/upload_file/{session_id}/{secrets.token_hex(8)}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    if token:
        conn.putheader("Cookie", f"_streamlit_xsrf={token}")
        conn.putheader("X-Xsrftoken", token)
    if chunked:
        conn.putheader("Transfer-Encoding", "chunked")
    else:
        conn.putheader("Content-Length", str(declared if declared is not None else total))
    conn.endheaders()

    def pieces():
        yield head
        row = b"1.0,2.0,a\n" * (MB // 10)
        left = size
        while left > 0:
            yield row[:left]
            left -= len(row)
        yield tail
    try:
        for piece in pieces():
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass   # the server stopped reading: what we want
    try:
        return conn.getresponse().status
    except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError):
        return None
    finally:
        conn.close()


def test_oversized_direct_uploads_are_refused_before_they_fill_memory(server):
    url, process = server
    token = xsrf_token(url)
    assert token, "the server sets an XSRF cookie"

    async def attack():
        ws, session_id, _ = await _connect(url)
        try:
            small = await asyncio.to_thread(put_file, url, session_id, token, 20_000)
            before = rss(process)
            statuses, peak = [], before
            for kind in ("length", "chunked", "lying length"):
                for _ in range(2):
                    statuses.append(await asyncio.to_thread(
                        put_file, url, session_id, token, 150 * MB, chunked=(kind == "chunked"),
                        declared=1000 if kind == "lying length" else None))
                    peak = max(peak, rss(process))
            return small, statuses, before, peak
        finally:
            await ws.close()

    small, statuses, before, peak = asyncio.run(attack())
    print(f"\nupload: a 20 KB CSV -> HTTP {small}; six 150 MB PUTs -> {statuses}; server RSS {before / MB:.0f} MB "
          f"before, peak {peak / MB:.0f} MB")
    assert small == 204, "a file of the size the page needs is still accepted"
    assert all(status in (413, 400, None) for status in statuses), statuses
    assert statuses[:2] == [413, 413], "a declared oversized body is refused with 413"
    assert (peak - before) / MB < 40, "the refused bodies were buffered"


# ----------------------------------------------------------------- what an error shows a visitor
BOOM = '''raise RuntimeError("secret detail from the server")\n'''


async def _first_run_exceptions(url):
    ws, _, found = await _connect(url)
    await ws.close()
    return found


def test_the_deployment_shows_no_traceback_but_tests_still_see_one(tmp_path):
    """.streamlit/config.toml sets client.showErrorDetails = "type": a visitor sees that an error happened and
    its type, not its message, traceback or the server's paths. The test environment asks for "full"."""
    script = tmp_path / "boom.py"
    script.write_text(BOOM)
    with streamlit_server(script=script, extra_env={"STREAMLIT_CLIENT_SHOW_ERROR_DETAILS": None}) as (url, _):
        deployed = asyncio.run(_first_run_exceptions(url))
    with streamlit_server(script=script) as (url, _):   # conftest sets STREAMLIT_CLIENT_SHOW_ERROR_DETAILS=full
        developer = asyncio.run(_first_run_exceptions(url))
    assert len(deployed) == 1 and len(developer) == 1
    shown = deployed[0]
    assert shown.type == "RuntimeError"
    assert "secret" not in shown.message and not list(shown.stack_trace)
    assert str(tmp_path) not in str(shown)
    assert "secret detail" in developer[0].message and any("boom.py" in line for line in developer[0].stack_trace)


def test_many_small_uploads_to_one_session_do_not_pile_up(server):
    """Each PUT under the 2 MB limit is accepted, but a session has one uploader: without a cap, 40 of them
    stayed in server memory (about +80 MB) until the session closed. Only the newest few are kept."""
    url, process = server
    token = xsrf_token(url)

    async def attack():
        ws, session_id, _ = await _connect(url)
        try:
            before = rss(process)
            statuses = [await asyncio.to_thread(put_file, url, session_id, token, 2 * MB - 4096) for _ in range(40)]
            return statuses, before, rss(process)
        finally:
            await ws.close()

    statuses, before, after = asyncio.run(attack())
    print(f"\n40 uploads of 2 MB to one session: {statuses.count(204)} accepted, server RSS {before / MB:.0f} MB "
          f"-> {after / MB:.0f} MB")
    assert statuses.count(204) == 40
    assert (after - before) / MB < 30, "the session's old uploads were kept"
