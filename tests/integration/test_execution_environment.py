"""The execution environment: what ansible-builder reads from the collection, and the build context it makes.

No image is built (no container engine in CI): ``ansible-builder create`` writes the Containerfile and
its context, which is what ``ansible-builder build`` would hand to podman or docker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
import yaml

from harness import ANSIBLE_BIN, COLLECTIONS_ROOT

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    found = shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if found is None:
        pytest.skip("%s is not installed" % name)
    return found


def requirement_lines(path: Path) -> List[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def test_collection_metadata_names_the_requirement_files():
    meta = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    assert meta == {"version": 1, "dependencies": {"python": "requirements.txt", "system": "bindep.txt"}}
    assert requirement_lines(ROOT / "requirements.txt") and requirement_lines(ROOT / "bindep.txt")


def test_introspect_finds_the_collections_python_and_system_requirements():
    proc = subprocess.run([tool("ansible-builder"), "introspect", str(COLLECTIONS_ROOT)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = yaml.safe_load(proc.stdout)
    origin = "  # from collection telphin.pbx"
    assert found["python"] == [line + origin for line in requirement_lines(ROOT / "requirements.txt")]
    assert found["system"] == [line + origin for line in requirement_lines(ROOT / "bindep.txt")]


def test_create_writes_a_containerfile_and_a_context_with_the_collection(tmp_path):
    definition = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    tarball = "telphin-pbx-%s.tar.gz" % galaxy["version"]
    assert definition["version"] == 3
    assert definition["additional_build_files"] == [{"src": "build/" + tarball, "dest": "collections"}]
    assert definition["dependencies"]["galaxy"] == {"collections": [{"name": "collections/" + tarball,
                                                                     "type": "file"}]}

    # The documented steps, in a copy of the files they use.
    work = tmp_path / "ee"
    work.mkdir()
    for name in ("execution-environment.yml", "requirements.txt", "bindep.txt"):
        shutil.copy(ROOT / name, work / name)
    build = subprocess.run([str(ANSIBLE_BIN / "ansible-galaxy"), "collection", "build", str(ROOT),
                            "--output-path", str(work / "build")], capture_output=True, text=True, timeout=120,
                           check=False)
    assert build.returncode == 0 and (work / "build" / tarball).is_file(), build.stdout + build.stderr
    context = tmp_path / "context"
    proc = subprocess.run([tool("ansible-builder"), "create", "--file", str(work / "execution-environment.yml"),
                           "--context", str(context), "--output-filename", "Containerfile"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    containerfile = (context / "Containerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="%s"' % definition["images"]["base_image"]["name"] in containerfile
    assert "ansible-galaxy collection install" in containerfile and "-r requirements.yml" in containerfile
    assert "introspect" in containerfile      # the collection's own requirements are added in the image
    core = definition["dependencies"]["ansible_core"]["package_pip"]
    assert core in containerfile and "ansible-runner>=2.4" in containerfile
    interpreter = definition["dependencies"]["python_interpreter"]
    assert 'PYCMD="%s"' % interpreter["python_path"] in containerfile
    assert interpreter["package_system"] in containerfile
    built = context / "_build"
    assert (built / "collections" / tarball).read_bytes() == (work / "build" / tarball).read_bytes()
    assert yaml.safe_load((built / "requirements.yml").read_text()) == definition["dependencies"]["galaxy"]
    assert requirement_lines(built / "requirements.txt") == requirement_lines(ROOT / "requirements.txt")
    assert requirement_lines(built / "bindep.txt") == requirement_lines(ROOT / "bindep.txt")
