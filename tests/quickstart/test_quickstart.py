"""`make quickstart` from a fresh copy of the checkout, as a newcomer runs it (README "Try it in one command").

Only one Python is on PATH (a directory of pythonX.Y symlinks, no pyenv, no venv active), HOME is empty: the
quick start must build its one venv with that Python, run the demo, print none of Python's warnings, and write
nothing outside the copy. Slow (a venv and a pip install per Python, about 30 s each): `-m "not slow"` skips it.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import List, Set

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Python's own warnings ("...Warning: text" from the warnings module); pip's "WARNING: ..." lines are not these.
PYTHON_WARNING = re.compile(r"\b[A-Z]\w*Warning: ")
# The README promises these; the oldest and the default one are run (the others only differ in their pin).
PYTHONS = ["3.11", "3.10"]

pytestmark = pytest.mark.slow


def committable_files() -> List[str]:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    proc = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return [name for name in proc.stdout.split("\0") if name and (ROOT / name).is_file()]


def real_python(version: str) -> str:
    """The interpreter itself (not a pyenv shim) of Python `version`, or skip."""
    found = subprocess.run([str(ROOT / "hacking" / "find-python"), version], capture_output=True, text=True,
                           check=False)
    if found.returncode != 0:
        pytest.skip("no Python %s on this machine" % version)
    return subprocess.run([found.stdout.strip(), "-c", "import os, sys; print(os.path.realpath(sys.executable))"],
                          capture_output=True, text=True, check=True).stdout.strip()


def one_python_path(tmp: Path, python: str, version: str) -> str:
    """PATH: a directory with python, python3 and pythonX.Y, then the system's tools without any other Python."""
    pybin = tmp / "python-bin"
    pybin.mkdir()
    for name in ("python", "python3", "python" + version):
        (pybin / name).symlink_to(python)
    tools = tmp / "tools"
    tools.mkdir()
    for directory in ("/usr/local/bin", "/usr/bin", "/bin"):
        if not os.path.isdir(directory):
            continue
        for name in sorted(os.listdir(directory)):
            if re.match(r"(python|pip|pyenv|pydoc|idle|2to3)", name) or (tools / name).exists():
                continue
            (tools / name).symlink_to(os.path.join(directory, name))
    return os.pathsep.join([str(pybin), str(tools)])


def files_under(path: Path) -> Set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*") if not p.is_dir()}


@pytest.mark.parametrize("version", PYTHONS)
def test_make_quickstart_with_only_one_python(tmp_path, version):
    python = real_python(version)
    clone = tmp_path / "clone"
    for name in committable_files():
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / name).read_bytes())
        target.chmod((ROOT / name).stat().st_mode)
    before = files_under(clone)
    home, tmpdir, pip_cache = tmp_path / "home", tmp_path / "tmp", tmp_path / "pip-cache"
    for directory in (home, tmpdir):
        directory.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYENV", "PYTHON", "VIRTUAL_ENV", "ANSIBLE_", "TELPHIN_", "XDG_", "MAKE", "CONDA"))
           and k not in ("MFLAGS", "PIP_CACHE_DIR", "PIP_NO_CACHE_DIR")}
    env.update(PATH=one_python_path(tmp_path, python, version), HOME=str(home), TMPDIR=str(tmpdir),
               PIP_CACHE_DIR=str(pip_cache))

    proc = subprocess.run(["make", "quickstart"], cwd=clone, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=900, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]

    for step in range(1, 7):
        assert "==> %d. " % step in out
    assert "Refused as expected" in out and "Done. The quick start used only the local emulator" in out
    assert PYTHON_WARNING.findall(out) == [], [line for line in out.splitlines() if PYTHON_WARNING.search(line)]
    # one venv, of the Python on PATH, with the ansible-core requirements-quickstart.txt names for it
    assert sorted(p.name for p in clone.glob(".venv*")) == [".venv-quickstart"]
    venv_python = clone / ".venv-quickstart" / "bin" / "python"
    probe = subprocess.run([str(venv_python), "-c", "import sys, ansible.release as r; "
                            "print('%d.%d' % sys.version_info[:2], r.__version__)"],
                           capture_output=True, text=True, check=True, env=env).stdout.split()
    assert probe[0] == version
    core = {"3.10": "2.17", "3.11": "2.19"}[version]
    assert probe[1].startswith(core + "."), probe
    # nothing written outside the copy (pip's download cache was pointed at pip-cache by this test)
    assert files_under(home) == set() and files_under(tmpdir) == set()
    written = files_under(clone) - before
    assert [f for f in written if not f.startswith(".venv-quickstart/") and "__pycache__" not in f] == []
    assert not (clone / ".tmp").exists()
