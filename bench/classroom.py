"""Load test: a class of students on one `streamlit run app.py` server.

    python bench/classroom.py                 # 30 students for 60 s
    python bench/classroom.py --students 10 --seconds 20

Each student is one Streamlit session driven at the protocol level (bench/st_client.py): it opens
pages, moves widgets, waits a student's think time (about 2 s, jittered) and checks that the page it
gets back shows *its own* values (session isolation). Printed: p50 / p95 / max seconds from a widget
change to `script_finished`, exceptions seen, the server's CPU use and peak memory (RSS).
"""
import argparse
import asyncio
import math
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
from tests.browser_utils import streamlit_server  # noqa: E402
from ui import registry  # noqa: E402


def _expect_text(fragment):
    return lambda s, value: any(fragment(value) in t for t in s.texts())


# What a student does on each page: (url, widget kind, key, values to pick from, check(session, value) or None).
# A check proves isolation: the value this student picked (and no other student's) shows on its page.
ACTIONS = [
    ("custom-activation", "slider", "ca_hidden", range(1, 33),
     _expect_text(lambda h: f"this classifier has {4 * h + 1:,} numbers to learn")),
    ("custom-activation", "text_input", "ca_f", ["tanh(x)", "relu(x)", "x*sigmoid(x)", "__import__('os')"], None),
    ("deeper-mlp", "select_slider", "dm_n", [100, 250, 500], None),
    ("", "toggle", "present", [True, False], None),  # the home page
]


def available_actions():
    urls = {"" if p.get("default") else p["url"] for p in registry.existing_pages()}
    return [a for a in ACTIONS if a[0] in urls]


async def student(idx, url, stop_at, think, results, rng):
    actions = available_actions()
    async with StudentSession(url) as s:
        current = None
        while time.monotonic() < stop_at:
            page, kind, key, values, check = rng.choice(actions)
            if page != current:
                await s.open(page)
                current = page
                results["exceptions"] += len(s.exceptions())
            values = list(values)
            value = values[(idx + rng.randrange(len(values))) % len(values)] if check is None else values[idx % len(values)]
            try:
                seconds, _status = await s.set_widget(kind, key, value)
            except KeyError:  # the widget is not on screen in this state of the page
                continue
            results["latencies"].append(seconds)
            errors = s.exceptions()
            results["exceptions"] += len(errors)
            results["errors"].extend(errors[:1])
            if check is not None:
                results["checks"] += 1
                if not check(s, value):
                    results["isolation_failures"] += 1
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
    results = {"latencies": [], "exceptions": 0, "errors": [], "checks": 0, "isolation_failures": 0}
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


def measure(students=30, seconds=60.0, think=2.0, seed=0, warmup=True):
    with streamlit_server() as (url, proc):
        if warmup:  # one student visits each page first, as the teacher would before class
            asyncio.run(run_class(url, 1, 3.0, 0.1, seed))
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
        "isolation_checks": results["checks"], "isolation_failures": results["isolation_failures"],
        "client_failures": results["client_failures"][:3],
        "server_cpu_cores": cpu, "baseline_rss_mb": baseline_rss / 2**20,
        "peak_rss_mb": max((s[1] for s in samples), default=0) / 2**20,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--think", type=float, default=2.0, help="mean think time between actions, seconds")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    r = measure(args.students, args.seconds, args.think, args.seed)
    print(f"{'students':<28}{r['students']}")
    print(f"{'duration (s)':<28}{r['seconds']}")
    print(f"{'widget changes':<28}{r['widget_changes']}")
    print(f"{'latency p50 / p95 / max (s)':<28}{r['p50_s']:.3f} / {r['p95_s']:.3f} / {r['max_s']:.3f}"
          f"   (target p95 <= 1 s)")
    print(f"{'exceptions':<28}{r['exceptions']}   (target 0) {r['first_errors']}")
    print(f"{'isolation checks failed':<28}{r['isolation_failures']} of {r['isolation_checks']}")
    print(f"{'client failures':<28}{r['client_failures']}")
    print(f"{'server CPU (cores busy)':<28}{r['server_cpu_cores']:.2f}")
    print(f"{'server RSS base / peak (MB)':<28}{r['baseline_rss_mb']:.0f} / {r['peak_rss_mb']:.0f}   (target <= 1024)")
    return r


if __name__ == "__main__":
    main()
