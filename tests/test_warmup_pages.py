"""ui/warmup.py imports what the pages need before the first page runs. A module that a page imports for the
first time while it runs is imported by every session of a cold class at once: the race the warm-up exists to
prevent (a partially initialised module). So after the warm-up, opening every page must import nothing."""
import json
import os
import subprocess
import sys

from ui import warmup

# In a fresh interpreter, as a server starts: the first run (the home page) does the warm-up; then every page
# opens once and the modules it added to sys.modules are recorded. AppTest's own modules do not count.
CODE = """
import json, sys
from streamlit.testing.v1 import AppTest
from ui import registry
app = sys.argv[1]
AppTest.from_file(app, default_timeout=300).run()
seen, new, errors = set(sys.modules), {}, {}
for page in registry.existing_pages():
    at = AppTest.from_file(app, default_timeout=300).run()
    at.switch_page(page["path"]).run()
    added = sorted(m for m in set(sys.modules) - seen if not m.startswith("streamlit.testing"))
    if added:
        new[page["url"]] = added
    if at.exception:
        errors[page["url"]] = [str(e.value)[:200] for e in at.exception]
    seen |= set(sys.modules)
print(json.dumps({"new": new, "errors": errors}))
"""


def test_after_the_warm_up_no_page_imports_a_module():
    env = dict(os.environ, PYTHONPATH=str(warmup.ROOT))
    done = subprocess.run([sys.executable, "-c", CODE, str(warmup.ROOT / "app.py")], cwd=warmup.ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errors"] == {}
    assert result["new"] == {}
