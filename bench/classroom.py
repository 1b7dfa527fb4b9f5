"""Load test: a class of students on one `streamlit run app.py` server.

    python bench/classroom.py                 # 30 students for 60 s on a cold server
    python bench/classroom.py --students 10 --seconds 20
    python bench/classroom.py --warm          # the teacher opens every page once before the class
    python bench/classroom.py --play-together 30 --seconds 10   # 30 students press Play on page 7 at once
    python bench/classroom.py --buttons-alone # every page's buttons pressed once by one student alone
    python bench/classroom.py --browsers 3    # the same path end to end, in 3 real Chromium tabs
    python bench/classroom.py --cold-burst 20 --trials 3   # a fresh server, 20 tabs opened at once

Each student is one Streamlit session driven at the protocol level (bench/st_client.py), on a server that
has just started (no session has run before: a cold start). It walks the pages: opens one at random, acts on
it 2-5 times, then opens another, with a student's think time (about 2 s, jittered) after every action. An
action moves one of the page's widgets (any of them, read from the page itself) to a random point of its
whole range (a random slider value, option, toggle state or seed), or, on a page with buttons, one time in
four presses one of them (Train, Step, Play, a preset ...; not the MNIST download or class-mode buttons).
A student who opens page 7 first presses Play, watches 3 s of the timed fragment's frames, then
presses Pause. Half the widget moves on a page with a checked
widget (ACTIONS) move one of those, and the page must then show *this* student's value (session isolation).
Printed: p50 / p95 / max seconds from a widget change
to `script_finished`; the same, separately, for button-started work (to the end of the run it starts);
exceptions; frames/s of each playing student; the server's CPU use and peak memory (RSS).
"""
import argparse
import asyncio
import math
import os
import random
import re
import statistics
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.st_client import StudentSession  # noqa: E402
from tests.browser_utils import CHROMIUM, CHROMIUM_ARGS, IDLE, streamlit_server  # noqa: E402
from ui import registry  # noqa: E402

SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"
# Offline, the pages read the 10,000-image MNIST split beside the checkout (as the tests do).
MNIST_ENV = {"MNIST_DIR": os.environ.get("MNIST_DIR", str(SHARED_MNIST))} if SHARED_MNIST.exists() else {}


def _expect_text(fragment, unless=None):
    """A check that the page shows fragment(value). `unless`: a text meaning the page cannot show the value in its
    present state (a formula the page refused draws no classifier): the check then returns None, not checked."""
    def check(s, value):
        texts = s.texts()
        if unless is not None and any(unless in t for t in texts):
            return None
        return any(fragment(value) in t for t in texts)
    return check


def _expect_match(pattern, unless=None):
    """As _expect_text, with a regular expression pattern(value) (for a value shown among others a student may
    also have moved)."""
    def check(s, value):
        texts = s.texts()
        if unless is not None and any(unless in t for t in texts):
            return None
        return any(re.search(pattern(value), t) for t in texts)
    return check


def _expect_metric(label, fragment):
    return lambda s, value: s.metrics().get(label) == fragment(value)


# One widget or more of every page: (url, widget kind, key, values, check(session, value) or None). Students act
# on every widget a page shows (page_controls) with values drawn from its own range (random_value); this list
# gives the checks (a check proves isolation: the value this student picked, and no other student's, shows
# on its page), the values typed into text boxes, and every page of the registry at least one entry
# (`missing_pages` says which have none). The values of other kinds are what the bench drew before.
ACTIONS = [
    ("", "toggle", "present", [True, False], None),  # the home page
    ("class", "text_input", "cm_code_in", ["ACDEFG", "not a code"], None),  # typed, not joined (no Join click)
    ("draw", "segmented_control", "draw_src", ["MNIST test digit", "Draw"], None),
    ("tensors", "slider", "tensors_depth", range(2, 21), _expect_text(lambda d: f"After {d} layers")),
    ("tensors", "toggle", "tensors_trained", [True, False], None),
    ("shapes", "slider", "shape_b", range(1, 513), _expect_metric("Output shape", lambda b: f"[{b}, 10]")),
    ("cross-entropy", "slider", "ce_n", range(2, 11), None),
    ("cross-entropy", "select_slider", "ce_scale", [1.0, 10.0, 100.0, 1000.0], None),
    ("graph", "slider", "g_hid", range(1, 9),   # inputs and classes are sliders too; MNIST size ignores g_hid
     _expect_match(lambda h: rf"sizes \[\d+, {h}, \d+\]", unless="sizes [784, 128, 10]")),
    ("optimizers", "slider", "opt_steps", [50, 100, 150, 200, 300], None),
    ("optimizers", "selectbox", "opt_surf", ["Ravine", "Rosenbrock", "Saddle", "Himmelblau", "Rastrigin"], None),
    ("batching", "slider", "bat_b", range(1, 61),
     _expect_metric("Batches per epoch", lambda b: str((60 + b - 1) // b))),
    ("batching", "toggle", "bat_shuffle", [True, False], None),
    ("training", "slider", "tr_width", range(2, 65),   # the first hidden layer (depth and inputs may vary)
     _expect_match(lambda w: rf"Network \d+ -> {w} -> ")),
    ("training", "button", "tr_step", [None], None),
    ("training", "play", "tr_play", [3.0], None),  # press Play, watch 3 s of live frames, press Pause
    ("mnist", "slider", "mnist_epochs", [1, 2, 3], None),
    ("scratch-vs-nn", "slider", "sv_steps", [50, 100, 150, 200], None),
    ("scratch-vs-nn", "segmented_control", "sv_opt", ["SGD", "Adam"], None),
    ("gpu", "segmented_control", "gpu_op", ["train step", "matmul"],
     _expect_text(lambda op: f"Throughput of one {op}, by batch size")),
    ("torch-nn", "selectbox", "tn_part", ["nn.Linear", "nn.ReLU", "F.cross_entropy", "optim.SGD", "nn.Dropout"],
     lambda s, part: f"max |scratch - {part}|" in s.metrics()),
    ("mastery", "slider", "ms_p", [round(0.05 * i, 2) for i in range(1, 19)],
     None),  # no check: the page shows nothing that follows p until the learner answers its design challenge
    ("first-network", "slider", "fn_epochs", [10, 20, 50, 100], None),
    ("linear-regression", "slider", "lr_steps", [20, 50, 100, 200], None),
    ("custom-activation", "slider", "ca_hidden", range(1, 33),
     _expect_text(lambda h: f"this classifier has {4 * h + 1:,} numbers to learn",
                  unless="That formula was not accepted")),   # after a student typed a refused formula
    ("custom-activation", "text_input", "ca_f", ["tanh(x)", "relu(x)", "x*sigmoid(x)", "__import__('os')"], None),
    ("deeper-mlp", "select_slider", "dm_n", [100, 250, 500], None),
]


def page_urls():
    return {"" if p.get("default") else p["url"] for p in registry.existing_pages()}


def missing_pages():
    """Pages of the registry that no student action visits (a new page must get one here)."""
    return sorted(page_urls() - {a[0] for a in ACTIONS})


def available_actions():
    urls = page_urls()
    return [a for a in ACTIONS if a[0] in urls]


# Buttons a student does not press: fetching MNIST from the internet (this bench runs offline), starting or
# joining a class (the teacher's, and they write to the class database), and Pause (pressed after Play).
NOT_PRESSED = {"mnist_download", "cm_start", "cm_join", "tr_pause"}
MOVED = ("slider", "select_slider", "selectbox", "toggle", "checkbox", "radio", "number_input",
         "segmented_control", "pills", "text_input")
BUTTON_SHARE = 0.25  # of a student's actions on a page that has buttons: press one (else move a widget)
CHECKED_SHARE = 0.5  # of widget moves on a page with a checked widget (ACTIONS): move one of those
WIDGET_TIMEOUT_S, BUTTON_TIMEOUT_S = 120.0, 300.0


def random_value(kind, widget, rng):
    """A random point of the widget's whole range, as a student drags a slider or picks an option.
    None for a widget with no range (a text box: its values come from ACTIONS)."""
    if kind in ("slider", "number_input"):
        lo, hi, step = float(widget.min), float(widget.max), float(widget.step or 1)
        if not math.isfinite(hi) or hi - lo > 1e6:
            hi = lo + 99_999 * step
        n = int(round((hi - lo) / step))
        is_int = widget.proto.data_type == type(widget.proto).INT

        def pick():
            v = lo + rng.randint(0, n) * step
            return int(round(v)) if is_int else round(v, 10)

        if kind == "slider" and len(widget.proto.default) == 2:  # a range slider: two ends
            return tuple(sorted((pick(), pick())))
        return pick()
    if kind in ("toggle", "checkbox"):
        return rng.random() < 0.5
    if kind in ("select_slider", "selectbox", "radio", "segmented_control", "pills"):
        options = list(widget.options)
        return rng.choice(options) if options else None
    return None


def page_controls(s, page):
    """What a student can do on the open page: [(kind, key, widget)] of every enabled widget outside a form
    (Play is kind "play", other buttons kind "button")."""
    texts = {a[2] for a in ACTIONS if a[0] == page and a[1] == "text_input"}
    found = []
    for kind in MOVED + ("button",):
        try:
            widgets = list(getattr(s.tree, kind))
        except Exception:  # noqa: BLE001 - an element kind this page's tree cannot list
            continue
        for w in widgets:
            key = getattr(w, "key", None)
            if not key or getattr(w.proto, "disabled", False) or getattr(w, "form_id", ""):
                continue
            if kind == "text_input" and key not in texts:
                continue
            if kind == "button" and key in NOT_PRESSED:
                continue
            found.append(("play" if key == "tr_play" else kind, key, w))
    return found


async def act(s, page, control, rng, results):
    """One student action on the open page: a widget moved to a random value of its range, or a button
    pressed; records its latency (widget changes and button-started work apart) and checks isolation."""
    kind, key, widget = control
    results["in_flight"][id(s)] = f"{page or 'home'}:{key}"  # what a student still waiting at the end waits for
    checks = {(a[0], a[2]): a[4] for a in ACTIONS}
    texts = {(a[0], a[2]): a[3] for a in ACTIONS if a[1] == "text_input"}
    try:
        if kind == "play":
            seconds, _status = await s.click(key, timeout=BUTTON_TIMEOUT_S)
            play_s = 3.0  # watch 3 s of live frames, then press Pause
            start = time.perf_counter()
            frames = await s.play(play_s)
            watched = time.perf_counter() - start
            results["frames"].extend(frames)
            results["play_seconds"] += watched
            if frames:
                results["fps_per_play"].append(len(frames) / watched)
            if s.auto_rerun is not None:
                results["asked_fps"] = 1 / s.auto_rerun[0]
                await s.click("tr_pause", timeout=WIDGET_TIMEOUT_S)
            value = None
        elif kind == "button":
            seconds, _status = await s.click(key, timeout=BUTTON_TIMEOUT_S)
            value = None
        else:
            value = rng.choice(list(texts[(page, key)])) if kind == "text_input" else random_value(kind, widget, rng)
            if value is None:
                return
            results["in_flight"][id(s)] += f"={value!r}"
            seconds, status = await s.set_widget(kind, key, value, timeout=WIDGET_TIMEOUT_S)
    except (KeyError, ValueError, IndexError):  # the widget is not on screen in this state of the page
        results["in_flight"].pop(id(s), None)
        return
    results["in_flight"].pop(id(s), None)
    group = "button_latencies" if kind in ("button", "play") else "latencies"
    results[group].append(seconds)
    results["by_action"].setdefault(f"{page or 'home'}:{key}", []).append(seconds)
    if seconds > results["slowest"][0]:
        results["slowest"] = (seconds, f"{page or 'home'}:{key}={value!r}")
    errors = s.exceptions()
    results["exceptions"] += len(errors)
    results["errors"].extend(f"{page or 'home'}:{key}={value!r}: {str(e)[:160]}" for e in errors[:1])
    check = checks.get((page, key))
    verdict = check(s, value) if check is not None and value is not None else None
    if verdict is not None:
        results["checks"] += 1
        if not verdict:
            results["isolation_failures"] += 1
            results.setdefault("isolation_failed", []).append(f"{page or 'home'}:{key}={value!r} ({shown(s)})")


def shown(s):
    """What a session's page shows after a failed check, for the report: its metrics and first texts."""
    try:
        titles = [t.value for t in s.tree.title][:1]
        return f"page {titles}, metrics {s.metrics()}, {len(s.messages)} deltas, texts {s.texts()[:3]}"
    except Exception as e:  # noqa: BLE001 - a report of what went wrong must not be what goes wrong
        return f"page unreadable: {e!r}"


async def student(idx, url, stop_at, think, results, rng, per_page=(2, 5)):
    """Walk the pages: open one (from the sidebar), act on it a few times, think between actions."""
    pages = sorted({a[0] for a in available_actions()})
    checks = {(a[0], a[2]): a[4] for a in ACTIONS}
    async with StudentSession(url) as s:
        try:
            while time.monotonic() < stop_at:
                page = rng.choice(pages)
                start = time.perf_counter()
                await s.open(page)
                results["opens"].append(time.perf_counter() - start)
                results["exceptions"] += len(s.exceptions())
                await asyncio.sleep(max(0.2, rng.gauss(think, think / 4)))
                for turn in range(rng.randint(*per_page)):
                    if time.monotonic() >= stop_at:
                        break
                    controls = page_controls(s, page)
                    play = [c for c in controls if c[0] == "play"]
                    if play and turn == 0:  # what page 7 is for: every student who opens it presses Play first
                        await act(s, page, play[0], rng, results)
                        await asyncio.sleep(max(0.2, rng.gauss(think, think / 4)))
                        continue
                    buttons = [c for c in controls if c[0] in ("button", "play")]
                    widgets = [c for c in controls if c[0] not in ("button", "play")]
                    checked = [c for c in widgets if checks.get((page, c[1])) is not None]
                    pool = buttons if buttons and (not widgets or rng.random() < BUTTON_SHARE) else \
                        checked if checked and rng.random() < CHECKED_SHARE else widgets
                    if pool:
                        await act(s, page, rng.choice(pool), rng, results)
                    await asyncio.sleep(max(0.2, rng.gauss(think, think / 4)))
        except asyncio.TimeoutError:  # the server did not finish this student's rerun in time: it gives up
            results["timeouts"] += 1


def watch(proc, samples, stop):
    """Sample the server's RSS and CPU time until told to stop."""
    p = psutil.Process(proc.pid)
    while not stop.is_set():
        try:
            samples.append((time.monotonic(), p.memory_info().rss, sum(p.cpu_times()[:2])))
        except psutil.Error:
            break
        time.sleep(0.25)


async def run_class(url, students, seconds, think, seed, grace=120.0):
    """`students` students for `seconds`; an action started before the end may run `grace` seconds more, then
    the students still waiting are stopped (counted as `unfinished`)."""
    results = {"latencies": [], "button_latencies": [], "exceptions": 0, "errors": [], "checks": 0,
               "isolation_failures": 0, "frames": [], "fps_per_play": [], "play_seconds": 0.0, "by_action": {},
               "opens": [], "timeouts": 0, "slowest": (0.0, ""), "asked_fps": float("nan"),
               "in_flight": {}}
    stop_at = time.monotonic() + seconds
    rng = random.Random(seed)
    tasks = []
    for i in range(students):
        tasks.append(asyncio.create_task(student(i, url, stop_at, think, results, random.Random(rng.random()))))
        await asyncio.sleep(0.05)  # students do not all click in the same millisecond
    done, pending = await asyncio.wait(tasks, timeout=seconds + grace)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    results["unfinished"] = len(pending)
    results["left_waiting"] = sorted(results["in_flight"].values())
    results["client_failures"] = [repr(t.exception()) for t in done if t.exception() is not None]
    return results


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, math.ceil(q * len(values)) - 1)]


async def visit_every_page(url, timeout=60.0):
    """The teacher's dry run: open every page once. Returns {url: exceptions shown} (a page that does not
    finish within `timeout` seconds is listed too, and ends the visit)."""
    problems = {}
    async with StudentSession(url) as s:
        for page in sorted(page_urls()):
            try:
                await asyncio.wait_for(s.open(page), timeout)
            except asyncio.TimeoutError:
                problems[page or "home"] = [f"not finished in {timeout:.0f} s"]
                break
            if s.exceptions():
                problems[page or "home"] = s.exceptions()
    return problems


async def _same_moment_student(url, i, opened, go, results):
    async with StudentSession(url) as s:
        await s.open("shapes")
        opened.release()
        await go.wait()
        value = 1 + (37 * i + 10) % 512  # a batch size of its own (distinct for up to 512 students)
        await s.set_widget("slider", "shape_b", value, timeout=WIDGET_TIMEOUT_S)
        check = {(a[0], a[2]): a[4] for a in ACTIONS}[("shapes", "shape_b")]
        results["checks"] += 1
        results["exceptions"] += len(s.exceptions())
        if not check(s, value):
            results["isolation_failures"] += 1
            results.setdefault("isolation_failed", []).append(f"same moment: shapes:shape_b={value} ({shown(s)})")


async def same_moment_round(url, n, results):
    """n students on page 2 move the batch-size slider to n different values at the same instant; each must
    then see its own. (The class's own checks depend on which actions its students draw and on how many fit in
    its time; this round always checks n.)"""
    opened, go = asyncio.Semaphore(0), asyncio.Event()
    tasks = [asyncio.create_task(_same_moment_student(url, i, opened, go, results)) for i in range(n)]
    for _ in range(n):
        await asyncio.wait_for(opened.acquire(), WIDGET_TIMEOUT_S)
    go.set()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    results["client_failures"] += [repr(d) for d in done if isinstance(d, BaseException)]


def measure(students=30, seconds=60.0, think=2.0, seed=0, warmup=False):
    """The class on a freshly started server. Cold by default: no session has run before the students
    arrive; every page is then opened once more after the class (the teacher's check that nothing broke).
    With warmup=True the teacher opens every page once before the class instead."""
    env = dict(MNIST_ENV, STREAMLIT_CLIENT_SHOW_ERROR_DETAILS="full")  # the error's own message, not "redacted"
    with streamlit_server(extra_env=env) as (url, proc):
        warmup_problems = asyncio.run(visit_every_page(url)) if warmup else {}
        samples, stop = [], threading.Event()
        watcher = threading.Thread(target=watch, args=(proc, samples, stop), daemon=True)
        watcher.start()
        baseline_rss = psutil.Process(proc.pid).memory_info().rss
        start = time.monotonic()
        results = asyncio.run(run_class(url, students, seconds, think, seed))
        wall = time.monotonic() - start
        stop.set()
        watcher.join()
        class_checks = results["checks"]
        asyncio.run(same_moment_round(url, min(students, 8), results))
        if not warmup:  # after the class: runs the students left behind may still hold the server a while
            warmup_problems = asyncio.run(visit_every_page(url, timeout=WIDGET_TIMEOUT_S))
    lat, btn, fps = results["latencies"], results["button_latencies"], results["fps_per_play"]
    cpu = (samples[-1][2] - samples[0][2]) / (samples[-1][0] - samples[0][0]) if len(samples) > 1 else float("nan")
    return {
        "students": students, "cold": not warmup, "seconds": round(wall, 1), "widget_changes": len(lat),
        "p50_s": percentile(lat, 0.50), "p95_s": percentile(lat, 0.95), "max_s": max(lat, default=float("nan")),
        "button_presses": len(btn), "button_p50_s": percentile(btn, 0.50), "button_p95_s": percentile(btn, 0.95),
        "button_max_s": max(btn, default=float("nan")), "slowest": results["slowest"],
        "timeouts": results["timeouts"], "unfinished": results["unfinished"],
        "left_waiting": results["left_waiting"],
        "exceptions": results["exceptions"], "first_errors": results["errors"][:3],
        "warmup_problems": warmup_problems, "pages_visited": len(page_urls()),
        "isolation_checks": results["checks"], "isolation_failures": results["isolation_failures"],
        "same_moment_checks": results["checks"] - class_checks,
        "isolation_failed": results.get("isolation_failed", [])[:20],
        "client_failures": results["client_failures"][:3],
        "page_opens": len(results["opens"]), "open_p50_s": percentile(results["opens"], 0.50),
        "open_p95_s": percentile(results["opens"], 0.95),
        "slowest_actions": sorted(((statistics.median(v), len(v), k) for k, v in results["by_action"].items()),
                                  reverse=True)[:6],
        "live_frames": len(results["frames"]), "plays": len(fps),
        "frame_p50_s": percentile(results["frames"], 0.50), "frame_p95_s": percentile(results["frames"], 0.95),
        "fps_while_playing": (len(results["frames"]) / results["play_seconds"] if results["play_seconds"]
                              else float("nan")),
        "fps_per_play_p50": percentile(fps, 0.50), "asked_fps": results["asked_fps"],
        "fps_per_play_min": min(fps, default=float("nan")),
        "server_cpu_cores": cpu, "baseline_rss_mb": baseline_rss / 2**20,
        "peak_rss_mb": max((s[1] for s in samples), default=0) / 2**20,
    }


# ------------------------------------------------------------------------------------- buttons alone
async def _press_every_button(url):
    """One student alone on a warm server: every page's buttons pressed once at the page's defaults (each on a
    freshly opened page). Returns {"page:key": seconds to the end of the run it starts}."""
    times = {}
    async with StudentSession(url) as s:
        for page in sorted(page_urls()):
            await s.open(page)
            for kind, key, _w in page_controls(s, page):
                if kind != "button":
                    continue
                await s.open(page)  # each button on the page as it opens, not after the one before
                if s.tree.button(key=key).proto.disabled:   # e.g. Step while the page's Play still runs
                    continue
                seconds, _status = await s.click(key, timeout=BUTTON_TIMEOUT_S)
                times[f"{page or 'home'}:{key}"] = seconds
    return times


def buttons_alone():
    """What button-started work takes with no one else on the server (the reference for 'under the class
    load, at most 3x its time alone'): {"page:key": seconds}, the teacher's dry run first."""
    with streamlit_server(extra_env=MNIST_ENV) as (url, _proc):
        asyncio.run(visit_every_page(url))
        return asyncio.run(_press_every_button(url))


# ------------------------------------------------------------------------------------- everyone presses Play
async def _player(url, seconds, opened, go, pressed, play, results):
    async with StudentSession(url) as s:
        await s.open("training")
        opened.release()
        await go.wait()
        await s.click("tr_play", timeout=BUTTON_TIMEOUT_S)
        asked = 1 / s.auto_rerun[0] if s.auto_rerun else float("nan")  # the page's run_every, as the server sent it
        pressed.release()
        await play.wait()  # frames are timed once every student has pressed Play (each press reruns the page)
        start = time.perf_counter()
        frames = await s.play(seconds)
        results.append((len(frames), time.perf_counter() - start, len(s.exceptions()), asked))


async def _open_once(url, page):
    async with StudentSession(url) as s:
        await s.open(page)


async def _play_together(url, n, seconds, on_play=None):
    opened, pressed, go, play, results = (asyncio.Semaphore(0), asyncio.Semaphore(0), asyncio.Event(), asyncio.Event(),
                                          [])
    tasks = [asyncio.create_task(_player(url, seconds, opened, go, pressed, play, results)) for _ in range(n)]
    for _ in range(n):
        await asyncio.wait_for(opened.acquire(), 300)
    go.set()
    for _ in range(n):
        await asyncio.wait_for(pressed.acquire(), 300)
    if on_play is not None:
        on_play()
    play.set()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    return results, [repr(d) for d in done if isinstance(d, BaseException)]


def play_together(n=30, seconds=10.0):
    """n students on the live-training page (its defaults) press Play at the same instant and watch for
    `seconds`: frames/s each one gets (and how many the page asks for), and the server's CPU use."""
    with streamlit_server(extra_env=MNIST_ENV) as (url, proc):
        server = psutil.Process(proc.pid)
        asyncio.run(_open_once(url, "training"))  # the server's first run imports every library: not a frame's cost
        clock = []
        results, failures = asyncio.run(_play_together(
            url, n, seconds, on_play=lambda: clock.append((sum(server.cpu_times()[:2]), time.monotonic()))))
        cpu_s = sum(server.cpu_times()[:2]) - clock[0][0]
        cpu = cpu_s / (time.monotonic() - clock[0][1])
    fps = [frames / took for frames, took, *_ in results if took > 0]
    frames = sum(f for f, *_ in results)
    return {"players": n, "seconds": seconds, "fps_p50": percentile(fps, 0.5),
            "fps_min": min(fps, default=float("nan")),
            "asked_fps": max((r[3] for r in results), default=float("nan")),
            "exceptions": sum(r[2] for r in results), "client_failures": failures, "server_cpu_cores": cpu,
            "cpu_ms_per_frame": 1000 * cpu_s / frames if frames else float("nan")}


async def browser_student(browser, url, batch, results):
    """One real Chromium tab: open a shared link with its own batch size, then nudge the slider once."""
    page = await browser.new_page(viewport={"width": 1300, "height": 900})
    try:
        shape = page.locator("[data-testid=stMetric]", has_text="Output shape").locator("[data-testid=stMetricValue]")
        start = time.perf_counter()
        await page.goto(f"{url}/shapes?shape_b={batch}")
        await page.wait_for_selector(IDLE, timeout=90_000)
        await shape.filter(has_text=f"[{batch}, 10]").wait_for(timeout=90_000)
        results["open_s"].append(time.perf_counter() - start)
        thumb = page.locator('input[type=range][aria-label="Batch size B (images)"]')
        await thumb.focus()
        start = time.perf_counter()
        await page.keyboard.press("ArrowRight")
        await shape.filter(has_text=f"[{batch + 1}, 10]").wait_for(timeout=90_000)
        await page.wait_for_selector(IDLE, timeout=90_000)
        results["change_s"].append(time.perf_counter() - start)
        # then read the value the idle page shows, for a while if need be (a busy machine may still be
        # finishing a rerun): isolation holds when this tab ends on its own value and never shows another
        want, seen = f"[{batch + 1}, 10]", []
        for _ in range(20):
            await page.wait_for_selector(IDLE, timeout=90_000)
            seen.append((await shape.inner_text()).strip())
            if seen[-1] == want:
                break
            await page.wait_for_timeout(500)
        results["seen"].append((want, seen))
        results["isolated"] += seen[-1] == want and set(seen) <= {want, f"[{batch}, 10]"}
        results["exceptions"] += await page.locator("[data-testid=stException]").count()
    finally:
        await page.close()


async def run_browsers(url, n):
    from playwright.async_api import async_playwright
    results = {"open_s": [], "change_s": [], "isolated": 0, "exceptions": 0, "seen": []}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            done = await asyncio.gather(*(browser_student(browser, url, 10 + 37 * i, results) for i in range(n)),
                                        return_exceptions=True)
        finally:
            await browser.close()
    results["client_failures"] = [repr(d) for d in done if isinstance(d, BaseException)]
    return results


def measure_browsers(n=3):
    """The end-to-end path with real browsers: n Chromium tabs, each in its own session, at the same time."""
    with streamlit_server(extra_env=MNIST_ENV) as (url, _proc):
        asyncio.run(visit_every_page(url))  # the teacher's dry run before class, as in measure()
        r = asyncio.run(run_browsers(url, n))
    r["browsers"] = n
    return r


# --------------------------------------------------------------------------------------------- cold burst
# The first minute of a class: the server has just started (or woken up) and every student opens their
# link at the same instant, before any session has run. Nothing is warmed up first.
async def _cold_student(url, page, connected, go, timeout):
    async with StudentSession(url) as s:
        connected.release()
        await go.wait()  # every tab sends its first request at the same instant
        await s.open_link(page, timeout=timeout)
        return page, s.exceptions()


async def _cold_burst(url, n, timeout):
    pages = sorted(page_urls())
    connected, go = asyncio.Semaphore(0), asyncio.Event()
    tasks = [asyncio.create_task(_cold_student(url, pages[i % len(pages)], connected, go, timeout))
             for i in range(n)]
    for _ in range(n):
        await asyncio.wait_for(connected.acquire(), timeout)
    go.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


def cold_burst(n=20, timeout=240.0):
    """Start a fresh server and open n sessions at once, spread over every page, with no warm-up.

    Returns {"sessions", "exceptions" (st.exception elements over all sessions), "sessions_with_exceptions",
    "first_errors", "client_failures", "seconds" (from the burst to the last page finished)}.
    """
    env = dict(MNIST_ENV, STREAMLIT_CLIENT_SHOW_ERROR_DETAILS="full")  # the error's own message, not "redacted"
    with streamlit_server(extra_env=env) as (url, _proc):
        start = time.monotonic()
        done = asyncio.run(_cold_burst(url, n, timeout))
        wall = time.monotonic() - start
    pages = [d for d in done if not isinstance(d, BaseException)]
    errors = [(page or "home", e) for page, errs in pages for e in errs]
    return {"sessions": n, "exceptions": len(errors), "sessions_with_exceptions": sum(bool(e) for _, e in pages),
            "first_errors": [f"{p}: {str(e)[:160]}" for p, e in errors[:3]],
            "client_failures": [repr(d) for d in done if isinstance(d, BaseException)], "seconds": round(wall, 1)}


def main_cold_burst(n, trials):
    """`--cold-burst N [--trials T]`: T fresh servers, each hit by N sessions at once; exceptions per trial."""
    runs = []
    for t in range(trials):
        r = cold_burst(n)
        runs.append(r)
        print(f"trial {t + 1}: {r['exceptions']} exceptions in {r['sessions_with_exceptions']} of {r['sessions']} "
              f"sessions, {len(r['client_failures'])} client failures, {r['seconds']} s   {r['first_errors'][:1]}")
    print(f"{'cold bursts':<28}{trials} x {n} sessions")
    print(f"{'exceptions, total':<28}{sum(r['exceptions'] for r in runs)}   (target 0)")
    print(f"{'client failures, total':<28}{sum(len(r['client_failures']) for r in runs)}")
    return runs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cold-burst", type=int, default=0, metavar="N",
                    help="instead, start a fresh server and open N sessions at the same instant (no warm-up)")
    ap.add_argument("--trials", type=int, default=3, help="with --cold-burst: how many fresh servers")
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--think", type=float, default=2.0, help="mean think time between actions, seconds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--warm", action="store_true",
                    help="open every page once before the class (default: the class starts on a cold server)")
    ap.add_argument("--buttons-alone", action="store_true",
                    help="instead, one student alone presses every page's buttons once at their defaults")
    ap.add_argument("--play-together", type=int, default=0, metavar="N",
                    help="instead, N students on page 7 press Play at the same instant for --seconds")
    ap.add_argument("--browsers", type=int, default=0,
                    help="instead, run this many real Chromium tabs at once (3-5; each costs ~200 MB)")
    args = ap.parse_args(argv)
    if args.cold_burst:
        return main_cold_burst(args.cold_burst, args.trials)
    if args.browsers:
        b = measure_browsers(args.browsers)
        print(f"{'browser tabs':<28}{b['browsers']}")
        print(f"{'open link, max (s)':<28}{max(b['open_s'], default=float('nan')):.2f}")
        print(f"{'slider change, max (s)':<28}{max(b['change_s'], default=float('nan')):.2f}")
        print(f"{'tabs seeing only their own':<28}{b['isolated']} of {b['browsers']}")
        print(f"{'exceptions':<28}{b['exceptions']}")
        print(f"{'client failures':<28}{b['client_failures']}")
        return b
    if args.buttons_alone:
        times = buttons_alone()
        for name, seconds in sorted(times.items(), key=lambda kv: -kv[1]):
            print(f"{name:<40}{seconds:7.2f} s")
        return times
    if args.play_together:
        p = play_together(args.play_together, args.seconds)
        print(f"{'students pressing Play':<28}{p['players']} at once, {p['seconds']:.0f} s")
        print(f"{'frames/s per student':<28}p50 {p['fps_p50']:.1f}, slowest {p['fps_min']:.1f}"
              f"   (page asks for {p['asked_fps']:.1f}; target >= 5 for 30, >= 12 for one)")
        print(f"{'exceptions':<28}{p['exceptions']}   client failures {p['client_failures'][:2]}")
        print(f"{'server CPU (cores busy)':<28}{p['server_cpu_cores']:.2f}, {p['cpu_ms_per_frame']:.1f} ms per frame "
              "(from the moment all have pressed Play)")
        return p
    r = measure(args.students, args.seconds, args.think, args.seed, warmup=args.warm)
    print(f"{'students':<28}{r['students']} on a {'cold' if r['cold'] else 'warmed-up'} server")
    print(f"{'duration (s)':<28}{r['seconds']}")
    print(f"{'widget changes':<28}{r['widget_changes']} (each to a random value of the widget's range)")
    print(f"{'latency p50 / p95 / max (s)':<28}{r['p50_s']:.3f} / {r['p95_s']:.3f} / {r['max_s']:.3f}"
          f"   (target p95 <= 0.5 s, max <= 2 s)")
    print(f"{'buttons pressed':<28}{r['button_presses']}: p50 / p95 / max {r['button_p50_s']:.3f} / "
          f"{r['button_p95_s']:.3f} / {r['button_max_s']:.3f} s to the run's end")
    print(f"{'slowest single action':<28}{r['slowest'][0]:.2f} s: {r['slowest'][1]}")
    print(f"{'gave up waiting':<28}{r['timeouts']} reruns over {WIDGET_TIMEOUT_S:.0f} s (widget) / "
          f"{BUTTON_TIMEOUT_S:.0f} s (button); {r['unfinished']} students still waiting at the end "
          f"{r['left_waiting'][:4]}")
    print(f"{'page opens p50 / p95 (s)':<28}{r['open_p50_s']:.3f} / {r['open_p95_s']:.3f}   ({r['page_opens']} opens)")
    print(f"{'slowest actions (median s)':<28}"
          + ", ".join(f"{k} {m:.2f} (n={n})" for m, n, k in r["slowest_actions"]))
    print(f"{'live-training frames':<28}{r['live_frames']} in {r['plays']} plays of 3 s: frame p50 / p95 "
          f"{r['frame_p50_s']:.3f} / {r['frame_p95_s']:.3f} s; frames/s per playing student p50 "
          f"{r['fps_per_play_p50']:.1f}, slowest {r['fps_per_play_min']:.1f}   (page asks for {r['asked_fps']:.1f}; "
          "target >= 5)")
    print(f"{'pages opened ' + ('after' if r['cold'] else 'before'):<28}{r['pages_visited']}, exceptions on: "
          f"{r['warmup_problems'] or 'none'}")
    print(f"{'exceptions':<28}{r['exceptions']}   (target 0) {r['first_errors']}")
    print(f"{'isolation checks failed':<28}{r['isolation_failures']} of {r['isolation_checks']} "
          f"({r['same_moment_checks']} of them at the same instant after the class) {r['isolation_failed']}")
    print(f"{'client failures':<28}{r['client_failures']}")
    print(f"{'server CPU (cores busy)':<28}{r['server_cpu_cores']:.2f}")
    print(f"{'server RSS start / peak (MB)':<29}{r['baseline_rss_mb']:.0f} / {r['peak_rss_mb']:.0f}   (target <= 1024)")
    return r


if __name__ == "__main__":
    main()
