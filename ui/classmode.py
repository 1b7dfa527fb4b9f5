"""Class mode on screen: the teacher's panel, the students' join form, live quiz answers, "follow me"
and the challenge's submit box. The class logic and storage live in `classmode` (UI-free).

Who is who is kept in st.session_state, on the server (a browser cannot set it):
    cm_student  a random id for this browser tab (no account, no personal data)
    cm_class    the code of the class this tab has joined as a student
    cm_teacher  (code, token) of the class this tab started; the token alone can reveal, follow, close

A session in no class touches no database: every hook below returns at once when cm_class and
cm_teacher are missing.
"""
import io
import math
import os
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import streamlit as st

import ui
from classmode import challenge, store
from ui import figspec, registry

DB_ENV = "CLASSMODE_DB"            # a SQLAlchemy URL or a file path; overrides secrets (the tests use it)
DEFAULT_DB = registry.ROOT / "data" / "class.sqlite"
CONNECTION = "class_db"            # [connections.class_db] url = "postgresql+psycopg://..." in secrets.toml
STUDENT, CLASS, TEACHER, SENT = "cm_student", "cm_class", "cm_teacher", "cm_sent"
POLL_S = 2.0                       # students' pages look for reveals and "follow me" this often
TALLY_S = 1.5                      # the teacher's tally refreshes this often
SUBMIT_GAP_S = 5.0                 # one challenge submission per tab per 5 s (each is a training run)
PAGE_URL = "class"


# ------------------------------------------------------------------------------------- database
def _configured_in_secrets():
    try:
        return CONNECTION in st.secrets.get("connections", {})
    except Exception:  # no secrets.toml at all: the SQLite default
        return False


def db_url():
    """$CLASSMODE_DB, else None when secrets.toml configures the connection, else the SQLite file."""
    env = os.environ.get(DB_ENV, "").strip()
    if env:
        return env if "://" in env else f"sqlite:///{Path(env).resolve()}"
    if _configured_in_secrets():
        return None
    return f"sqlite:///{DEFAULT_DB}"


@st.cache_resource(show_spinner=False)
def _engine(url):
    """One Engine per database for the whole server, through st.connection (type "sql")."""
    if url is None:
        conn = st.connection(CONNECTION, type="sql")
    else:
        kwargs = {}
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)   # created on first use
            kwargs["connect_args"] = {"timeout": store.BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        conn = st.connection(CONNECTION, type="sql", url=url, **kwargs)
    return store.configure(conn.engine)


_purged = {"at": 0.0}
PURGE_EVERY_S = 600


def engine():
    """The class database's Engine; every PURGE_EVERY_S it also deletes the classes older than 24 hours
    (opening a class does too), so expired data goes even on a server where nobody starts a new class."""
    eng = _engine(db_url())
    now = time.time()
    if now - _purged["at"] > PURGE_EVERY_S:
        _purged["at"] = now
        store.purge_expired(eng, now)
    return eng


@st.cache_data(ttl=1.0, show_spinner=False, max_entries=256)
def _class_state(url, code):
    """The class's public state, shared by every student for up to a second (30 polling tabs cost one query)."""
    return store.class_state(_engine(url), code)


def class_state(code):
    return _class_state(db_url(), code)


def _changed():
    """A teacher's action: students' cached view of the class must not wait for its second to pass."""
    _class_state.clear()


# ------------------------------------------------------------------------------------- who am I
def student_id():
    if STUDENT not in st.session_state:
        st.session_state[STUDENT] = secrets.token_hex(12)
    return st.session_state[STUDENT]


def current_class():
    """The code of the class this tab joined as a student, or None (no database query)."""
    return st.session_state.get(CLASS)


def teaching():
    """(code, token) of the class this tab teaches, or None (no database query)."""
    return st.session_state.get(TEACHER)


def join_link(code):
    """<app address>/class?join=CODE, from the address the browser used (st.context.url)."""
    here = st.context.url or ""
    parts = urlsplit(here)
    if parts.scheme and parts.netloc:
        path = parts.path.rstrip("/")
        for url in [p["url"] for p in registry.existing_pages()]:
            if path.endswith("/" + url):
                path = path[: -len(url) - 1]
                break
        base = f"{parts.scheme}://{parts.netloc}{path}"
    else:
        base = "http://localhost:8501"  # AppTest: no browser has said where the app lives
    return f"{base}/{PAGE_URL}?{urlencode({'join': code})}"


@st.cache_data(max_entries=64, show_spinner=False)
def qr_png(text, scale=12):
    """The QR code of `text` as PNG bytes (segno: pure Python), big modules so a back row can scan it."""
    import segno
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=scale, border=3)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------- joining
def join(code_text, nickname=""):
    """Join as a student; returns None or the message saying why not."""
    try:
        code, nickname = store.join(engine(), code_text, student_id(), nickname)
    except store.ClassError as err:
        return str(err)
    st.session_state[CLASS] = code
    st.session_state.pop(SENT, None)
    return None


def join_from_link():
    """A ?join=CODE link puts this tab into the class (the code is validated; wrong ones are rate-limited)."""
    raw = st.query_params.get("join")
    if raw is None:
        return
    code = store.valid_code(raw)
    if code is None:
        st.warning(f"This link's class code is not valid: a code is {store.CODE_LENGTH} capital letters "
                   f"({' '.join(store.CODE_ALPHABET)}). Type the code from your teacher's screen below.",
                   icon=":material/link_off:")
    elif current_class() != code:
        problem = join(code)
        if problem:
            st.warning(problem, icon=":material/group_off:")
        else:
            st.toast(f"You joined class {code}.", icon=":material/group:")
    del st.query_params["join"]   # the address bar (and any shared link) no longer carries the code


def teacher_link(code, token):
    """The teacher's way back after a server restart or on another device: <app>/class?teach=CODE.TOKEN.
    Secret: whoever has it can reveal, send and close. Shown only on the teacher's own page."""
    return join_link(code).split("?")[0] + "?" + urlencode({"teach": f"{code}.{token}"})


def teach_from_link():
    """A ?teach=CODE.TOKEN link makes this tab the class's teacher, if the token is the class's."""
    raw = st.query_params.get("teach")
    if raw is None:
        return
    del st.query_params["teach"]   # the secret leaves the address bar at once
    code_text, _, token = str(raw)[:100].partition(".")
    code = store.valid_code(code_text)
    if code and 20 <= len(token) <= 64 and store.is_teacher(engine(), code, token):
        st.session_state[TEACHER] = (code, token)
        st.session_state.pop(CLASS, None)
    else:
        st.warning("This teacher link is not valid (or its class has expired).", icon=":material/link_off:")


def leave():
    code = current_class()
    if code:
        try:
            store.leave(engine(), code, student_id())
        except Exception:  # the class may be gone already; leaving still works on this side
            pass
    st.session_state.pop(CLASS, None)
    st.session_state.pop(SENT, None)


# ------------------------------------------------------------------------------------- quizzes
def record(qid, question, options, correct, choice):
    """Send this tab's answer `choice` (option index) to its class; returns None or a message to show.

    For any question a page asks (quizzes, "predict, then try" prompts). Recorded once per student and
    question: a later answer replaces the earlier one, at most one per second (a refused one is sent
    again by the next poll)."""
    code = current_class()
    if not code:
        return None
    sent = st.session_state.setdefault(SENT, {})
    if sent.get(qid) == choice:
        return None
    try:
        if store.answer(engine(), code, student_id(), qid, question, options, correct, choice):
            sent[qid] = choice
            return None
        return "One answer per second: this one reaches your class in a moment."
    except store.Revealed as err:
        sent[qid] = choice   # final: not sent again by every poll
        return str(err)
    except store.ClassError as err:
        return str(err)


@st.fragment(run_every=POLL_S)
def class_quiz(qid, question, options, answer, why):
    """ui.quiz for a tab in a class: the answer goes to the class's tally, the feedback waits for the
    teacher's reveal (this fragment looks for it every POLL_S seconds)."""
    code = current_class()
    choice = st.radio(question, options, index=None, key=f"quiz_{qid}")
    if choice is None:
        st.caption(f"Pick an answer: it goes to class {code}'s tally (your teacher sees how many chose "
                   "each option, never who).")
        return
    k = options.index(choice)
    ui.record_quiz_score(qid, k == answer)
    problem = record(qid, question, options, answer, k) if code else None
    if problem:
        st.warning(problem, icon=":material/schedule:")
    state = class_state(code) if code else None
    if state is not None and qid in state["revealed"]:
        ui.quiz_feedback(options, answer, why, k)
    elif code:
        st.info(f"Your answer went to class {code}. Your teacher will reveal the right one; you can "
                "still change your mind until then.", icon=":material/how_to_vote:")


# ------------------------------------------------------------------------------------- follow me
def banner():
    """For a student: a non-blocking banner when the teacher opened a page ("follow"), or the class ended.
    Called by app.py on every page; no database query and no timer for a tab in no class."""
    if current_class():
        _banner()


def _follow(path, params):
    for key in params:   # the target page's controls take their values from the link, not this tab's past
        st.session_state.pop(key, None)
    st.switch_page(path, query_params=params)


@st.fragment(run_every=POLL_S)
def _banner():
    code = current_class()
    if not code:
        return
    state = class_state(code)
    if state is None or state["expired"] or state["closed"]:
        c = st.columns([5, 1])
        c[0].warning(f"Class {code} has ended.", icon=":material/group_off:")
        c[1].button("Leave", key="cm_leave_ended", width="stretch", on_click=leave)
        return
    follow = state["follow"]
    if follow is None:
        return
    url, query, _title, sent_at = follow
    pages = {p["url"]: p for p in registry.existing_pages()}
    if url not in pages:
        return
    params = {k: v for k, v in parse_qsl(query)[:50] if not k.startswith(("quiz_", "cm_")) and k != "join"}
    here = st.session_state.get("cm_here")
    if here == (url, params) or st.session_state.get("cm_followed") == sent_at:
        return
    c = st.columns([5, 1])
    c[0].info(f"Your teacher opened **{pages[url]['title']}**"
              + (" with their settings." if params else "."), icon=":material/campaign:")
    if c[1].button("Follow", key="cm_follow", icon=":material/arrow_forward:", type="primary", width="stretch"):
        st.session_state["cm_followed"] = sent_at
        _follow(pages[url]["path"], params)


def where_am_i(url_path):
    """app.py tells class mode which page this tab shows (so a banner for it is not shown again)."""
    if current_class():
        params = {k: v for k, v in st.query_params.to_dict().items()
                  if not k.startswith(("quiz_", "cm_")) and k != "join"}
        st.session_state["cm_here"] = (url_path, params)


def teacher_sidebar(url_path):
    """In the teacher's sidebar: send the class to the page shown now, with its current settings."""
    held = teaching()
    if not held:
        return
    code, token = held
    pages = {p["url"]: p for p in registry.existing_pages()}
    url = url_path or next(p["url"] for p in registry.existing_pages() if p.get("default"))
    if url not in pages or url == PAGE_URL:
        st.caption(f"Class {code}: open a page and send your class to it from here.")
        return
    if st.button("Send my class here", key="cm_send", icon=":material/campaign:", width="stretch",
                 help=f"Every student of class {code} gets a banner that opens this page with these settings."):
        params = {k: v for k, v in st.query_params.to_dict().items()
                  if not k.startswith(("quiz_", "cm_")) and k != "join"}
        try:
            store.follow(engine(), code, token, url, urlencode(params), pages[url]["title"])
            _changed()
            st.toast(f"Class {code} was sent to {pages[url]['title']}.", icon=":material/campaign:")
        except store.ClassError as err:
            st.error(str(err), icon=":material/block:")


# ------------------------------------------------------------------------------------- the class page
def start_class():
    """Open a class with this tab as its teacher; returns None or why not."""
    try:
        code, token = store.open_class(engine())
    except store.ClassError as err:
        return str(err)
    st.session_state[TEACHER] = (code, token)
    return None


# Buttons of the class page act in callbacks (before the page is drawn again, no second run); a refusal
# waits in PROBLEM for show_problem() to print it.
PROBLEM = "cm_problem"


def _refused(problem):
    if problem:
        st.session_state[PROBLEM] = problem


def show_problem():
    if st.session_state.get(PROBLEM):
        st.error(st.session_state.pop(PROBLEM), icon=":material/block:")


def on_start():
    _refused(start_class())


def on_join():
    _refused(join(st.session_state.get("cm_code_in", ""), st.session_state.get("cm_nick_new", "")))


def on_save_nickname():
    code = current_class()
    if code:
        store.set_nickname(engine(), code, student_id(), st.session_state.get("cm_nick_in", ""))


def on_close():
    _refused(teacher_action(store.close_class))


def on_new_class():
    st.session_state.pop(TEACHER, None)


def teacher_action(action, *args):
    """reveal / follow / close with this tab's token; returns None or the refusal to show."""
    held = teaching()
    code, token = held if held else (current_class() or "", None)
    try:
        action(engine(), code, token, *args)
    except store.ClassError as err:
        return str(err)
    _changed()
    return None


def tally_figure(q):
    """One question's answers as horizontal bars, one per option (the right one green once revealed). Plain dicts
    (ui.figspec): built with go.Figure and update_layout it cost ~2 ms per question on every tally refresh."""
    colors = [ui.COLORS["correct"] if (q["revealed"] and k == q["answer"]) else ui.COLORS["neutral"]
              for k in range(len(q["options"]))]
    labels = [o if len(o) <= 60 else o[:57] + "..." for o in q["options"]]
    bars = dict(type="bar", x=list(q["counts"]), y=labels, orientation="h", marker=dict(color=colors),
                text=[str(n) for n in q["counts"]], textposition="auto", hoverinfo="skip")   # go.Bar sent strings
    return figspec.figure([bars], yaxis=dict(autorange="reversed", type="category"),
                          xaxis=dict(title=dict(text="answers"), rangemode="tozero",
                                     dtick=max(1, math.ceil(max(q["counts"] + [1]) / 8))),
                          height=90 + 45 * len(labels), showlegend=False)


def leaderboard_table(code):
    rows = store.leaderboard(engine(), code)
    if not rows:
        st.caption("No challenge results yet (page 7, *Class challenge*).")
        return
    ui.stat_table([{"rank": r["rank"], "nickname": r["nickname"] or "(no nickname)",
                    "test loss": round(r["test_loss"], 4), "test accuracy": f"{r['test_acc']:.1%}",
                    "weights": r["weights"], "steps": r["steps"]} for r in rows])


def _reveal(qid):
    problem = teacher_action(store.reveal, qid)
    if problem:
        st.session_state["cm_refused"] = problem


@st.fragment(run_every=TALLY_S)
def teacher_live():
    """The projector view: who joined, a bar chart per question, reveal buttons, the leaderboard."""
    held = teaching()
    if not held:
        return
    code, _token = held
    n_students, qs = store.tally(engine(), code)
    st.metric("Students joined", n_students)
    if not qs:
        st.caption("No answers yet. When a student in this class answers a quiz on any page, its question "
                   "appears here with a live count of each option.")
    for q in qs:
        with st.container(border=True):
            st.markdown(f"**{q['question']}**")
            ui.plot(tally_figure(q), key=f"cm_tally_{q['qid']}")
            c = st.columns([2, 1])
            c[0].caption(f"{q['answered']} of {n_students} joined students answered.")
            if q["revealed"]:
                c[1].success(f"Revealed: {q['options'][q['answer']]}", icon=":material/visibility:")
            else:
                c[1].button("Reveal", key=f"cm_reveal_{q['qid']}", icon=":material/visibility:",
                            width="stretch", on_click=_reveal, args=(q["qid"],),
                            help="Show the right answer on every student's page.")
            if st.session_state.get("cm_refused"):
                st.error(st.session_state.pop("cm_refused"), icon=":material/block:")
    st.subheader(":material/leaderboard: Challenge leaderboard (top 10)")
    st.caption(challenge.DESCRIPTION)
    leaderboard_table(code)


def challenge_block(settings, page_data):
    """On the live-training page: the class challenge. A student submits the page's settings; the server
    trains them again with core (classmode.challenge.run) and ranks the test loss it measured itself."""
    code = current_class()
    held = teaching()
    if not code and not held:
        return
    with st.container(border=True):
        st.subheader(":material/emoji_events: Class challenge")
        st.markdown(challenge.DESCRIPTION)
        if held:
            _teacher_board(held[0])
            return
        want = dict(dataset=challenge.CHALLENGE["dataset"], n_classes=challenge.CHALLENGE["n_classes"],
                    noise=challenge.CHALLENGE["noise"], n_points=challenge.CHALLENGE["n_points"],
                    test_fraction=challenge.CHALLENGE["test_fraction"], seed=challenge.CHALLENGE["data_seed"])
        differ = [f"{k} {page_data.get(k)!r} (challenge: {v!r})" for k, v in want.items()
                  if not _same(page_data.get(k), v)]
        if differ:
            st.caption("Your page's data differs from the challenge's: " + "; ".join(differ) +
                       ". The server always trains on the challenge's data, "
                       "so its numbers will differ from your page's.")
        steps = int(settings.get("steps", 0))
        if steps > challenge.CHALLENGE["max_steps"]:
            st.caption(f"Your run is at step {steps}; the server trains your settings for "
                       f"{challenge.CHALLENGE['max_steps']} steps, the challenge's limit.")
        sent = dict(settings, steps=min(max(steps, 1), challenge.CHALLENGE["max_steps"]))
        weights = challenge.n_weights(int(settings.get("depth", 1)), int(settings.get("width", 2)))
        too_big = weights > challenge.CHALLENGE["max_weights"]
        if too_big:
            st.warning(f"Your network has {weights} weights, more than the challenge's "
                       f"{challenge.CHALLENGE['max_weights']}: make it narrower or shallower "
                       "(*Data, network and schedule*).", icon=":material/straighten:")
        else:
            st.caption(f"Your entry: {weights} weights, {sent['steps']} steps (the steps your run has taken "
                       "so far; train first with Step or Play).")
        if st.button("Submit my settings", key="cm_submit", icon=":material/send:", type="primary",
                     disabled=too_big):
            _submit(code, sent)
        last = st.session_state.get("cm_last_result")
        if last:
            st.success(last, icon=":material/check_circle:")


def _same(a, b):
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    except (TypeError, ValueError):
        return a == b


def _submit(code, settings):
    last = st.session_state.get("cm_last_submit", 0.0)
    if time.monotonic() - last < SUBMIT_GAP_S:
        st.warning(f"One submission every {SUBMIT_GAP_S:g} seconds: the server trains each one.",
                   icon=":material/schedule:")
        return
    st.session_state["cm_last_submit"] = time.monotonic()
    try:
        checked = challenge.check_settings(settings)
    except ValueError as err:
        st.error(f"Not a valid entry: {err}.", icon=":material/block:")
        return
    with st.spinner("The server trains your settings..."):
        result = challenge.run(checked)
    if result["diverged"]:
        st.error(f"Training diverged on the server, so this entry is not ranked: {result['diverged']}",
                 icon=":material/warning:")
        return
    try:
        best = store.submit_result(engine(), code, student_id(), result, checked)
    except store.ClassError as err:
        st.error(str(err), icon=":material/block:")
        return
    board = store.leaderboard(engine(), code, top=store.MAX_STUDENTS)
    rank = next((r["rank"] for r in board if r["student"] == student_id()), None)
    st.session_state["cm_last_result"] = (
        f"The server trained your settings for {result['steps']} steps ({result['weights']} weights): test loss "
        f"**{result['test_loss']:.4f}**, test accuracy {result['test_acc']:.1%}. "
        + ("This is your best so far" if best else "Your earlier entry was better and stays")
        + (f"; you are number {rank} of {len(board)} in class {code}." if rank else "."))


@st.fragment(run_every=TALLY_S)
def _teacher_board(code):
    leaderboard_table(code)
