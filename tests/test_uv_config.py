"""The install Community Cloud runs first: `uv pip install -r requirements.txt`, with the repository's uv.toml.

requirements.txt adds PyTorch's CPU index (`--extra-index-url`), which also lists a few versions of common
packages such as numpy. Two local "simple" indexes stand in for the real ones: A (PyTorch's) lists fakepkg 1.0
and faketorch 2.0+cpu, B (PyPI) lists fakepkg 1.0 and 2.0. A file that pins fakepkg==2.0 resolves with the
repository's uv configuration and fails without it (uv's default stops at the first index listing a package).
No network: the indexes are folders read through file:// URLs.
"""
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UV = shutil.which("uv")
pytestmark = pytest.mark.skipif(UV is None, reason="uv is not installed (pip install -r requirements-dev.txt)")


def _wheel(folder, name, version):
    """A minimal valid pure-Python wheel of `name` `version`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    files = {f"{name}/__init__.py": f"VERSION = {version!r}\n",
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    def sha256(t):
        return base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b'=').decode()
    record = "".join(f"{p},sha256={sha256(t)},"
                     f"{len(t.encode())}\n" for p, t in files.items()) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as z:
        for p, t in files.items():
            z.writestr(p, t)
        z.writestr(f"{info}/RECORD", record)
    return path


def _simple_index(root, packages):
    """A PEP 503 "simple" index in folder root: root/simple/<name>/index.html links to the wheels."""
    for name, versions in packages.items():
        links = []
        for version in versions:
            wheel = _wheel(root / "files", name, version)
            digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
            links.append(f'<a href="../../files/{wheel.name}#sha256={digest}">{wheel.name}</a>')
        (root / "simple" / name).mkdir(parents=True, exist_ok=True)
        (root / "simple" / name / "index.html").write_text("<html><body>" + "".join(links) + "</body></html>")
    (root / "simple" / "index.html").write_text(
        "<html><body>" + "".join(f'<a href="{n}/">{n}</a>' for n in packages) + "</body></html>")
    return (root / "simple").as_uri()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("uv")
    pytorch_like = _simple_index(tmp / "A", {"fakepkg": ["1.0"], "faketorch": ["2.0+cpu"]})
    pypi_like = _simple_index(tmp / "B", {"fakepkg": ["1.0", "2.0"]})
    requirements = tmp / "requirements.txt"     # shaped like the real one: an extra index, then pins
    requirements.write_text(f"--extra-index-url {pytorch_like}\nfaketorch==2.0+cpu\nfakepkg==2.0\n")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp / "venv")], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}   # no strategy from the environment
    env.update(UV_CACHE_DIR=str(tmp / "cache"), UV_DEFAULT_INDEX=pypi_like, UV_OFFLINE="1", UV_NO_PROGRESS="1")
    return tmp, requirements, env


def _dry_run(cwd, requirements, env, *extra):
    python = requirements.parent / "venv" / "bin" / "python"
    return subprocess.run([UV, "pip", "install", "--dry-run", "--python", str(python), *extra, "-r", str(requirements)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_repo_uv_config_makes_uv_take_a_version_only_the_later_index_has(setup):
    tmp, requirements, env = setup
    out = _dry_run(ROOT, requirements, env)          # run where Cloud's checkout is: uv finds ./uv.toml
    assert out.returncode == 0, out.stderr
    assert "fakepkg==2.0" in out.stderr + out.stdout and "faketorch==2.0+cpu" in out.stderr + out.stdout


def test_without_the_config_uv_stops_at_the_first_index(setup):
    tmp, requirements, env = setup
    out = _dry_run(ROOT, requirements, env, "--no-config")
    assert out.returncode != 0
    assert "fakepkg" in out.stderr and "first index" in out.stderr    # the failure Cloud would log, then use pip


def test_uv_config_sets_the_pip_index_strategy():
    import tomllib
    config = tomllib.loads((ROOT / "uv.toml").read_text())
    assert config["pip"]["index-strategy"] == "unsafe-best-match"
    assert any(line.startswith("uv==") for line in (ROOT / "requirements-dev.txt").read_text().splitlines())
