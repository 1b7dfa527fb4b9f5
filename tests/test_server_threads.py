"""Streamlit runs every rerun in a new thread, and a fragment's timed run (page 7's Play) does not run app.py,
so app.py's torch.set_num_threads(1) does not hold there. OpenMP's own setting must: app.py sets
OMP_NUM_THREADS=1 before torch loads, and a thread started later computes on one thread (measured: 50 small
matmuls in a new thread cost 18 ms of CPU with a team of 2, 0.3 ms on one; page 7 went from 24.7 to 13.4 ms
of server CPU per frame)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import ctypes, os, sys, threading
os.environ.pop("OMP_NUM_THREADS", None)
from streamlit.testing.v1 import AppTest
assert "torch" not in sys.modules        # as under `streamlit run`: app.py is the first to load torch
at = AppTest.from_file(sys.argv[1], default_timeout=240).run()
assert not at.exception, at.exception
openmp = ctypes.CDLL(sorted(line.split()[-1] for line in open("/proc/self/maps") if "libgomp" in line)[0])
seen = []
t = threading.Thread(target=lambda: seen.append(openmp.omp_get_max_threads()))   # what a new rerun thread gets
t.start(); t.join()
print(seen[0])
"""


def test_a_thread_the_server_starts_later_computes_on_one_thread():
    done = subprocess.run([sys.executable, "-c", PROBE, "app.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "1", "a new thread would start a team of OpenMP threads"
