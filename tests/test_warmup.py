"""ui/warmup.py: what the server does before the first page runs (the cold burst itself is in test_classroom)."""
import ast
import threading
import time

from ui import warmup

PAGE_SOURCE = (warmup.ROOT / "views" / "ch06_batching.py").read_text()


class _Finalized:
    def __del__(self):  # Python code run by the garbage collector: lets another thread take over mid-parse
        sum(range(50))


def _parse_in_threads(seconds):
    """Two threads compile a page (as Streamlit does) while four parse formulas (as page t3 does) and make
    garbage with finalizers. Returns the SystemErrors raised."""
    errors, stop = [], time.monotonic() + seconds

    def page():
        while time.monotonic() < stop:
            try:
                compile(ast.parse(PAGE_SOURCE), "page", "exec")
            except SystemError as err:
                errors.append(str(err))

    def formula():
        while time.monotonic() < stop:
            try:
                ast.parse("x * sigmoid(x) + tanh(x) ** 2 - relu(x) / (1 + exp(-x))", mode="eval")
                cycle = [_Finalized() for _ in range(100)]
                cycle.append(cycle)
            except SystemError as err:
                errors.append(str(err))

    threads = [threading.Thread(target=page) for _ in range(2)] + [threading.Thread(target=formula) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_sessions_parsing_python_at_the_same_time_get_no_ast_systemerror():
    """CPython 3.11 keeps one AST recursion counter per interpreter: without the lock this raised
    'AST constructor recursion depth mismatch' 1-5 times a second here."""
    warmup.serialise_ast_parse()
    assert ast.parse is not warmup._ast_parse
    assert _parse_in_threads(3.0) == []
    assert ast.dump(ast.parse("1 + x", mode="eval")) == ast.dump(warmup._ast_parse("1 + x", mode="eval"))
