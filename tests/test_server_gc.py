"""The server's warm-up takes the imported libraries out of the garbage collector's reach (gc.freeze), so a full
collection no longer walks millions of long-lived objects in the middle of somebody's rerun."""
import gc
import time

from tests.apptest_utils import assert_no_exception, open_page


def test_warm_up_freezes_the_imported_heap_and_a_full_collection_is_short():
    at = open_page("views/home.py")  # app.py runs the warm-up (once per process)
    assert_no_exception(at)
    assert gc.get_freeze_count() > 100_000  # torch, plotly, sympy, pandas ...: far more objects than that
    start = time.process_time()
    gc.collect()
    assert time.process_time() - start < 0.1  # 0.2-0.3 s with the libraries in the collected heap
