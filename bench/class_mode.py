"""Load test of class mode: a class joins one teacher and answers the same quiz within a few seconds.

    python bench/class_mode.py                       # 30 students, answers spread over 5 s
    python bench/class_mode.py --students 10 --restart

Every session speaks Streamlit's websocket protocol (bench/st_client.py) to one `streamlit run app.py`
server with its own throwaway SQLite file. The teacher starts a class on the class page; each student
opens the join link (/class?join=CODE), opens page 3, and answers its quiz at a random moment of the
answer window, as a browser does: a fragment rerun carrying the radio's new value. While they wait,
students' tabs poll like open browser tabs (every timed fragment of the page: the class banner and the
quiz looking for the reveal, every 2 s), and the teacher's tally refreshes every 1.5 s. Three students then
submit a challenge entry from page 7. Printed: join and answer latency (p50 / p95 / max, from sending to
the server's "finished"), exceptions, the teacher's tally as the page shows it and as the database holds
it, and with --restart the same after stopping the server and starting a new one on the same file.
"""
import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetStates  # noqa: E402
from streamlit.testing.v1.element_tree import parse_tree_from_messages  # noqa: E402

from bench.st_client import StudentSession, _Runner  # noqa: E402
from classmode import store  # noqa: E402
from tests.browser_utils import streamlit_server  # noqa: E402

QUIZ_PAGE, QUIZ_KEY, QUIZ_ID = "cross-entropy", "quiz_ch3", "ch3"


class ClassTab(StudentSession):
    """A browser tab that also knows every timed fragment of its page and which fragment holds a widget."""

    def __init__(self, base_url):
        super().__init__(base_url)
        self.timers = {}        # fragment id -> interval (s): st.fragment(run_every=...) on the page
        self.widget_fragment = {}   # widget id -> the fragment it was drawn in ("" when none)
        self.errors = []        # exception messages seen in any run, fragment runs included

    async def _rerun(self, widget_states=None, query_string="", timeout=120.0, fragment_id="", auto=False):
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = query_string
        state.page_name = self.page_name
        state.page_script_hash = self.page_hash
        if fragment_id:
            state.fragment_id = fragment_id
            state.is_auto_rerun = auto
        else:
            self.timers = {}
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
            if kind == "navigation":
                self.page_hash = fwd.navigation.page_script_hash
                self.pages = {p.url_pathname: p.page_script_hash for p in fwd.navigation.app_pages}
            elif kind == "auto_rerun":
                self.timers[fwd.auto_rerun.fragment_id] = fwd.auto_rerun.interval
            elif kind == "delta":
                messages.append(fwd)
                element = fwd.delta.new_element
                which = element.WhichOneof("type")
                if which == "exception":
                    self.errors.append(element.exception.message)
                elif which and hasattr(getattr(element, which), "id"):
                    self.widget_fragment[getattr(element, which).id] = fwd.delta.fragment_id
            elif kind == "script_finished":
                if not fragment_id:
                    self.messages = messages
                    self.tree = parse_tree_from_messages(messages)
                    self.tree._runner = _Runner()
                return fwd.script_finished

    async def answer(self, key, value):
        """Pick `value` in the radio `key` as a browser does inside a fragment; returns seconds taken."""
        widget = self.tree.radio(key=key).set_value(value)
        self.moved[widget.id] = widget._widget_state
        states = WidgetStates()
        states.widgets.extend(self.moved.values())
        start = time.perf_counter()
        await self._rerun(widget_states=states, fragment_id=self.widget_fragment.get(widget.id, ""))
        return time.perf_counter() - start

    async def tick(self, fragment_id):
        states = WidgetStates()
        states.widgets.extend(self.moved.values())
        await self._rerun(widget_states=states, fragment_id=fragment_id, auto=True)

    async def poll_until(self, stop_at, due=None):
        """Let the page's timed fragments tick (each when due) until `stop_at` (time.monotonic())."""
        due = due if due is not None else {f: time.monotonic() + i for f, i in self.timers.items()}
        while time.monotonic() < stop_at and due:
            fragment_id, when = min(due.items(), key=lambda kv: kv[1])
            await asyncio.sleep(max(0.0, min(when, stop_at) - time.monotonic()))
            if time.monotonic() >= stop_at:
                break
            await self.tick(fragment_id)
            due[fragment_id] = time.monotonic() + self.timers.get(fragment_id, 2.0)
        return due


def percentile(values, q):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def answered_caption(tab):
    for text in tab.texts():
        m = re.search(r"(\d+) of (\d+) joined students answered", text)
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


async def student(k, url, code, start_at, window, end_at, results, rng):
    async with ClassTab(url) as tab:
        t0 = time.perf_counter()
        await tab.open("class", query_string=f"join={code}")
        results["join"].append(time.perf_counter() - t0)
        await tab.open(QUIZ_PAGE)
        options = tab.tree.radio(key=QUIZ_KEY).options
        choice = options[k % len(options)]
        results["choices"][k % len(options)] += 1
        answer_at = start_at + rng.uniform(0.0, window)
        due = await tab.poll_until(answer_at)
        await asyncio.sleep(max(0.0, answer_at - time.monotonic()))
        results["answer"].append(await tab.answer(QUIZ_KEY, choice))
        await tab.poll_until(end_at, due)
        results["errors"].extend(tab.errors)
        results["exceptions"] += len(tab.errors)


async def teacher_start(url):
    tab = ClassTab(url)
    await tab.__aenter__()
    await tab.open("class")
    await tab.click("cm_start")
    code = tab.metrics()["Class code"]
    teach = next(c.value for c in tab.tree.code if "teach=" in c.value)
    return tab, code, teach


async def submit_challenge(url, code, nickname, width, results):
    async with ClassTab(url) as tab:
        await tab.open("class", query_string=f"join={code}")
        await tab.set_widget("text_input", "cm_nick_in", nickname)
        await tab.click("cm_nick_save")
        await tab.open("training")
        await tab.set_widget("slider", "tr_width", width)
        await tab.click("tr_step")
        await tab.click("cm_submit")
        results["errors"].extend(tab.errors)
        results["exceptions"] += len(tab.errors)


async def run_class(url, n, window, seed):
    rng = random.Random(seed)
    results = {"join": [], "answer": [], "errors": [], "exceptions": 0, "choices": [0, 0, 0, 0]}
    teacher, code, teach = await teacher_start(url)
    start_at = time.monotonic() + 3.0 + 0.15 * n       # everyone has joined and opened the page by then
    end_at = start_at + window + 2.5
    tasks = [student(k, url, code, start_at, window, end_at, results, rng) for k in range(n)]
    teacher_poll = teacher.poll_until(end_at)
    t0 = time.perf_counter()
    await asyncio.gather(teacher_poll, *tasks)
    results["wall_s"] = time.perf_counter() - t0
    await teacher.open("class")
    results["teacher_tally"] = answered_caption(teacher)
    results["code"], results["teach"] = code, teach
    results["errors"].extend(teacher.errors)
    results["exceptions"] += len(teacher.errors)
    for k, width in enumerate((4, 8, 12)):
        await submit_challenge(url, code, f"team {k}", width, results)
    await teacher.open("class")
    results["leaderboard_rows"] = len(teacher.tree.dataframe[-1].value) if len(teacher.tree.dataframe) else 0
    await teacher.__aexit__()
    return results


async def after_restart(url, teach):
    """A new server on the same file: the teacher's link opens the class again with its tally and board."""
    async with ClassTab(url) as tab:
        path_query = teach.split("/class?", 1)[1]
        await tab.open("class", query_string=path_query)
        return dict(teacher_tally=answered_caption(tab),
                    leaderboard_rows=len(tab.tree.dataframe[-1].value) if len(tab.tree.dataframe) else 0,
                    exceptions=len(tab.errors), errors=tab.errors[:1])


def db_tally(db, code):
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        n, qs = store.tally(engine, code)
        q = next((q for q in qs if q["qid"] == QUIZ_ID), None)
        return n, (q["counts"] if q else None), len(store.leaderboard(engine, code))
    finally:
        engine.dispose()


def measure(students=30, window=5.0, seed=0, restart=False):
    db = Path(tempfile.mkdtemp(prefix="class-bench-")) / "class.sqlite"
    env = {"CLASSMODE_DB": str(db)}
    with streamlit_server(extra_env=env) as (url, _proc):
        r = asyncio.run(run_class(url, students, window, seed))
    n_db, counts, board = db_tally(db, r["code"])
    out = dict(students=students, window_s=window, joined_in_db=n_db, counts_in_db=counts,
               answers_in_db=sum(counts or []), expected_counts=r["choices"], teacher_tally=r["teacher_tally"],
               leaderboard_rows=r["leaderboard_rows"], exceptions=r["exceptions"], first_errors=r["errors"][:2],
               answers_timed=len(r["answer"]),
               answer_p50_s=statistics.median(r["answer"]) if r["answer"] else float("nan"),
               answer_p95_s=percentile(r["answer"], 95), answer_max_s=max(r["answer"], default=float("nan")),
               join_p50_s=statistics.median(r["join"]) if r["join"] else float("nan"),
               join_p95_s=percentile(r["join"], 95))
    if restart:
        with streamlit_server(extra_env=env) as (url, _proc):
            out["after_restart"] = asyncio.run(after_restart(url, r["teach"]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--window", type=float, default=5.0, help="seconds over which the answers arrive")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--restart", action="store_true", help="then restart the server on the same SQLite file")
    a = ap.parse_args()
    r = measure(a.students, a.window, a.seed, a.restart)
    print(f"{r['students']} students answered one quiz within {r['window_s']:g} s")
    print(f"  teacher's page: {r['teacher_tally'][0]} of {r['teacher_tally'][1]} joined students answered"
          if r["teacher_tally"] else "  teacher's page: no tally shown")
    print(f"  database: {r['joined_in_db']} joined, counts per option {r['counts_in_db']} "
          f"(expected {r['expected_counts']}), {r['answers_in_db']} answers")
    print(f"  answer latency: p50 {r['answer_p50_s']:.3f} s, p95 {r['answer_p95_s']:.3f} s, "
          f"max {r['answer_max_s']:.3f} s ({r['answers_timed']} answers)")
    print(f"  join latency:   p50 {r['join_p50_s']:.3f} s, p95 {r['join_p95_s']:.3f} s")
    print(f"  challenge leaderboard rows: {r['leaderboard_rows']}; exceptions: {r['exceptions']} {r['first_errors']}")
    if "after_restart" in r:
        a2 = r["after_restart"]
        print(f"  after a restart: tally {a2['teacher_tally']}, leaderboard rows {a2['leaderboard_rows']}, "
              f"exceptions {a2['exceptions']} {a2['errors']}")


if __name__ == "__main__":
    main()
