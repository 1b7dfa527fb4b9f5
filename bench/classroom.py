"""Load test: a class of students on one `streamlit run app.py` server.

    python bench/classroom.py                 # 30 students for 60 s
    python bench/classroom.py --students 10 --seconds 20
    python bench/classroom.py --browsers 3    # the same path end to end, in 3 real Chromium tabs
    python bench/classroom.py --cold-burst 20 --trials 3   # a fresh server, 20 tabs opened at once

Each student is one Streamlit session driven at the protocol level (bench/st_client.py): it walks the
pages (opens one at random, moves its widgets 2-5 times, then opens another), waits a student's think time
(about 2 s, jittered) after every action, and checks that the page it gets back shows *its own* values
(session isolation). On the live-training page it also presses Play and lets the timed fragment tick. Printed: p50 / p95 / max seconds from a widget
change to `script_finished`, exceptions seen, the server's CPU use and peak memory (RSS).
"""
import argparse
import asyncio
import math
import os
import random
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


def _expect_text(fragment):
    return lambda s, value: any(fragment(value) in t for t in s.texts())


def _expect_metric(label, fragment):
    return lambda s, value: s.metrics().get(label) == fragment(value)


# What a student does on each page: (url, widget kind, key, values to pick from, check(session, value) or None).
# Kind "button" clicks. A check proves isolation: the value this student picked (and no other student's)
# shows on its page. Every page of the registry has at least one action (`missing_pages` says which do not).
ACTIONS = [
    ("", "toggle", "present", [True, False], None),  # the home page
    ("class", "text_input", "cm_code_in", ["ACDEFG", "not a code"], None),  # typed, not joined (no Join click)
    ("draw", "segmented_control", "draw_src", ["MNIST test digit", "Draw"], None),
    ("tensors", "slider", "tensors_depth", range(2, 21), _expect_text(lambda d: f"After {d} layers")),
    ("tensors", "toggle", "tensors_trained", [True, False], None),
    ("shapes", "slider", "shape_b", range(1, 513), _expect_metric("Output shape", lambda b: f"[{b}, 10]")),
    ("cross-entropy", "slider", "ce_n", range(2, 11), None),
    ("cross-entropy", "select_slider", "ce_scale", [1.0, 10.0, 100.0, 1000.0], None),
    ("graph", "slider", "g_hid", range(1, 9), _expect_text(lambda h: f"sizes [3, {h}, 3]")),
    ("optimizers", "slider", "opt_steps", [50, 100, 150, 200, 300], None),
    ("optimizers", "selectbox", "opt_surf", ["Ravine", "Rosenbrock", "Saddle", "Himmelblau", "Rastrigin"], None),
    ("batching", "slider", "bat_b", range(1, 61),
     _expect_metric("Batches per epoch", lambda b: str((60 + b - 1) // b))),
    ("batching", "toggle", "bat_shuffle", [True, False], None),
    ("training", "slider", "tr_width", range(2, 65), _expect_text(lambda w: f"2 -> {w} -> {w} -> ")),
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
     _expect_metric("Scale for survivors 1/(1-p)", lambda p: f"{1 / (1 - p):.3f}")),
    ("first-network", "slider", "fn_epochs", [10, 20, 50, 100], None),
    ("linear-regression", "slider", "lr_steps", [20, 50, 100, 200], None),
    ("custom-activation", "slider", "ca_hidden", range(1, 33),
     _expect_text(lambda h: f"this classifier has {4 * h + 1:,} numbers to learn")),
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


async def act(s, action, rng, results):
    """One student action on the open page; records its latency and checks isolation."""
    page, kind, key, values, check = action
    value = rng.choice(list(values))  # two students may pick the same value; each must see its own
    try:
        if kind == "play":
            seconds, _status = await s.click(key)
            frames = await s.play(value)
            results["frames"].extend(frames)
            results["play_seconds"] += value
            if s.auto_rerun is not None:
                await s.click("tr_pause")
        elif kind == "button":
            seconds, _status = await s.click(key)
        else:
            seconds, _status = await s.set_widget(kind, key, value)
    except KeyError:  # the widget is not on screen in this state of the page
        return
    results["latencies"].append(seconds)
    results["by_action"].setdefault(f"{page or 'home'}:{key}", []).append(seconds)
    errors = s.exceptions()
    results["exceptions"] += len(errors)
    results["errors"].extend(errors[:1])
    if check is not None:
        results["checks"] += 1
        if not check(s, value):
            results["isolation_failures"] += 1


async def student(idx, url, stop_at, think, results, rng, per_page=(2, 5)):
    """Walk the pages: open one (from the sidebar), move its widgets a few times, think between actions."""
    by_page = {}
    for action in available_actions():
        by_page.setdefault(action[0], []).append(action)
    pages = sorted(by_page)
    async with StudentSession(url) as s:
        while time.monotonic() < stop_at:
            page = rng.choice(pages)
            start = time.perf_counter()
            await s.open(page)
            results["opens"].append(time.perf_counter() - start)
            results["exceptions"] += len(s.exceptions())
            await asyncio.sleep(max(0.2, rng.gauss(think, think / 4)))
            for _ in range(rng.randint(*per_page)):
                if time.monotonic() >= stop_at:
                    break
                await act(s, rng.choice(by_page[page]), rng, results)
                await asyncio.sleep(max(0.2, rng.gauss(think, think / 4)))


def watch(proc, samples, stop):
    """Sample the server's RSS and CPU time until told to stop."""
    p = psutil.Process(proc.pid)
    while not stop.is_set():
        try:
            samples.append((time.monotonic(), p.memory_info().rss, sum(p.cpu_times()[:2])))
        except psutil.Error:
            break
        time.sleep(0.25)


async def run_class(url, students, seconds, think, seed):
    results = {"latencies": [], "exceptions": 0, "errors": [], "checks": 0, "isolation_failures": 0,
               "frames": [], "play_seconds": 0.0, "by_action": {}, "opens": []}
    stop_at = time.monotonic() + seconds
    rng = random.Random(seed)
    tasks = []
    for i in range(students):
        tasks.append(asyncio.create_task(student(i, url, stop_at, think, results, random.Random(rng.random()))))
        await asyncio.sleep(0.05)  # students do not all click in the same millisecond
    done = await asyncio.gather(*tasks, return_exceptions=True)
    results["client_failures"] = [repr(d) for d in done if isinstance(d, BaseException)]
    return results


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, math.ceil(q * len(values)) - 1)]


async def visit_every_page(url):
    """The teacher's dry run before class: open every page once. Returns {url: exceptions shown}."""
    problems = {}
    async with StudentSession(url) as s:
        for page in sorted(page_urls()):
            await s.open(page)
            if s.exceptions():
                problems[page or "home"] = s.exceptions()
    return problems


def measure(students=30, seconds=60.0, think=2.0, seed=0, warmup=True):
    with streamlit_server(extra_env=MNIST_ENV) as (url, proc):
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
    lat = results["latencies"]
    cpu = (samples[-1][2] - samples[0][2]) / (samples[-1][0] - samples[0][0]) if len(samples) > 1 else float("nan")
    return {
        "students": students, "seconds": round(wall, 1), "widget_changes": len(lat),
        "p50_s": percentile(lat, 0.50), "p95_s": percentile(lat, 0.95), "max_s": max(lat, default=float("nan")),
        "exceptions": results["exceptions"], "first_errors": results["errors"][:3],
        "warmup_problems": warmup_problems, "pages_visited": len(page_urls()) if warmup else 0,
        "isolation_checks": results["checks"], "isolation_failures": results["isolation_failures"],
        "client_failures": results["client_failures"][:3],
        "page_opens": len(results["opens"]), "open_p50_s": percentile(results["opens"], 0.50),
        "open_p95_s": percentile(results["opens"], 0.95),
        "slowest_actions": sorted(((statistics.median(v), len(v), k) for k, v in results["by_action"].items()),
                                  reverse=True)[:6],
        "live_frames": len(results["frames"]),
        "frame_p50_s": percentile(results["frames"], 0.50), "frame_p95_s": percentile(results["frames"], 0.95),
        "fps_while_playing": len(results["frames"]) / results["play_seconds"] if results["play_seconds"] else float("nan"),
        "server_cpu_cores": cpu, "baseline_rss_mb": baseline_rss / 2**20,
        "peak_rss_mb": max((s[1] for s in samples), default=0) / 2**20,
    }


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
        results["isolated"] += (await shape.inner_text()).strip() == f"[{batch + 1}, 10]"
        results["exceptions"] += await page.locator("[data-testid=stException]").count()
    finally:
        await page.close()


async def run_browsers(url, n):
    from playwright.async_api import async_playwright
    results = {"open_s": [], "change_s": [], "isolated": 0, "exceptions": 0}
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
    r = measure(args.students, args.seconds, args.think, args.seed)
    print(f"{'students':<28}{r['students']}")
    print(f"{'duration (s)':<28}{r['seconds']}")
    print(f"{'widget changes':<28}{r['widget_changes']}")
    print(f"{'latency p50 / p95 / max (s)':<28}{r['p50_s']:.3f} / {r['p95_s']:.3f} / {r['max_s']:.3f}"
          f"   (target p95 <= 1 s)")
    print(f"{'page opens p50 / p95 (s)':<28}{r['open_p50_s']:.3f} / {r['open_p95_s']:.3f}   ({r['page_opens']} opens)")
    print(f"{'slowest actions (median s)':<28}"
          + ", ".join(f"{k} {m:.2f} (n={n})" for m, n, k in r["slowest_actions"]))
    print(f"{'live-training frames':<28}{r['live_frames']}: p50 / p95 {r['frame_p50_s']:.3f} / {r['frame_p95_s']:.3f} s,"
          f" {r['fps_while_playing']:.1f} frames/s per playing student   (page asks for 10)")
    print(f"{'pages opened first':<28}{r['pages_visited']}, exceptions on: {r['warmup_problems'] or 'none'}")
    print(f"{'exceptions':<28}{r['exceptions']}   (target 0) {r['first_errors']}")
    print(f"{'isolation checks failed':<28}{r['isolation_failures']} of {r['isolation_checks']}")
    print(f"{'client failures':<28}{r['client_failures']}")
    print(f"{'server CPU (cores busy)':<28}{r['server_cpu_cores']:.2f}")
    print(f"{'server RSS base / peak (MB)':<28}{r['baseline_rss_mb']:.0f} / {r['peak_rss_mb']:.0f}   (target <= 1024)")
    return r


if __name__ == "__main__":
    main()
