"""Release hygiene: what the collection tarball holds, that the quick start works from it, the changelog.

The tarball is built from a copy of the files git would commit (tracked, and untracked but not ignored),
with the usual clutter of a working checkout added, so the check does not depend on how clean the
checkout running the tests happens to be.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from harness import ANSIBLE_BIN, api_calls

ROOT = Path(__file__).resolve().parents[2]
# Everything the tarball may hold at its top level.
ALLOWED_TOP_LEVEL = {"MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.rst", "requirements.txt",
                     "bindep.txt", "meta", "plugins", "roles", "playbooks", "extensions", "docs", "changelogs",
                     "tests"}
REQUIRED = ["meta/runtime.yml", "meta/execution-environment.yml", "requirements.txt", "bindep.txt",
            "extensions/awx/credential_type.yml", "playbooks/rollout_bindings.yml", "docs/docsite/links.yml",
            "docs/examples/ansible.cfg", "docs/examples/world.yml", "docs/examples/vault-password.txt",
            "roles/phone_bindings/meta/argument_specs.yml", "plugins/doc_fragments/connection.py"]
# What a working checkout accumulates; none of it may ship.
CLUTTER = [".git/HEAD", ".venv/bin/python", ".venv-2.16/pyvenv.cfg", "venv/lib/x.py", ".tmp/x", ".ansible/x",
           "tests/output/junit.xml", ".pytest_cache/v/x", ".hypothesis/examples/x", ".mypy_cache/x", ".ruff_cache/x",
           ".benchmarks/x.json", "benchmarks/results/run.json", "plugins/modules/__pycache__/x.cpython-311.pyc",
           "tests/unit/x.pyc", "build/telphin-pbx-0.0.1.tar.gz", ".coverage", "htmlcov/index.html",
           "notes.local.md", "docs/examples/inventory.local.yml", ".env", ".idea/x.xml", ".vscode/settings.json",
           "roles/phone_bindings/tasks/.main.yml.swp", "changelogs/.plugin-cache.yaml", "x.egg-info/PKG-INFO"]
FORBIDDEN_ANYWHERE = re.compile(r"(^|/)(__pycache__|\.git|\.venv[^/]*|tests/output|\.pytest_cache|\.hypothesis)(/|$)"
                                r"|\.pyc$|\.swp$|\.local\.|\.tar\.gz$")


def tool(name: str) -> str:
    found = shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if found is None:
        pytest.skip("%s is not installed" % name)
    return found


def run(command: List[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, **kwargs)
    assert proc.returncode == 0, "%s\n%s%s" % (" ".join(command), proc.stdout, proc.stderr)
    return proc


def committable_files() -> List[str]:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    proc = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT)
    return [name for name in proc.stdout.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """(tarball, installed collections path) built from a cluttered copy of the checkout."""
    work = tmp_path_factory.mktemp("release")
    source = work / "source"
    for name in committable_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    for name in CLUTTER:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("clutter\n")
    run([str(ANSIBLE_BIN / "ansible-galaxy"), "collection", "build", str(source), "--output-path", str(work / "dist")])
    tarballs = list((work / "dist").glob("telphin-pbx-*.tar.gz"))
    assert len(tarballs) == 1
    collections = work / "collections"
    run([str(ANSIBLE_BIN / "ansible-galaxy"), "collection", "install", "--offline", str(tarballs[0]),
         "-p", str(collections)], env=clean_env(work))
    return tarballs[0], collections


def clean_env(work: Path, **extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELPHIN_", "ANSIBLE_"))}
    env.update(ANSIBLE_HOME=str(work / "ansible-home"), ANSIBLE_LOCAL_TEMP=str(work / "ansible-tmp"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               PATH=str(ANSIBLE_BIN) + os.pathsep + os.environ.get("PATH", ""))
    env.update(extra)
    return env


def test_the_tarball_holds_the_content_and_nothing_else(release):
    tarball = release[0]
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert tarball.name == "telphin-pbx-%s.tar.gz" % galaxy["version"]
    with tarfile.open(tarball) as archive:
        members = [m.name for m in archive.getmembers()]
        manifest = json.load(archive.extractfile("MANIFEST.json"))
    assert {name.split("/")[0] for name in members} <= ALLOWED_TOP_LEVEL
    assert [name for name in members if FORBIDDEN_ANYWHERE.search(name)] == []
    assert [name for name in REQUIRED if name not in members] == []
    assert manifest["collection_info"]["version"] == galaxy["version"]
    assert manifest["collection_info"]["dependencies"] == {}


def test_the_quick_start_runs_from_the_installed_tarball(release, emulator_factory, tmp_path):
    collections = release[1]
    installed = collections / "ansible_collections" / "telphin" / "pbx"
    examples = installed / "docs" / "examples"
    emu = emulator_factory(str(examples / "world.yml"))
    env = clean_env(tmp_path, ANSIBLE_COLLECTIONS_PATH=str(collections), TELPHIN_API_URL=emu.url)
    listed = run([str(ANSIBLE_BIN / "ansible-galaxy"), "collection", "list", "telphin.pbx", "--format", "json"],
                 cwd=examples, env=env)
    assert list(json.loads(listed.stdout)) == [str(collections / "ansible_collections")]

    first = run([str(ANSIBLE_BIN / "ansible-playbook"), "telphin.pbx.rollout_bindings"], cwd=examples, env=env)
    assert "changed=1" in first.stdout and "failed=0" in first.stdout
    assert api_calls(emu.requests(clear=True), "PUT")
    second = run([str(ANSIBLE_BIN / "ansible-playbook"), "telphin.pbx.rollout_bindings"], cwd=examples, env=env)
    hosts = yaml.safe_load((examples / "inventory" / "hosts.yml").read_text())
    tenants = hosts["all"]["children"]["telphin_tenants"]["hosts"]
    assert second.stdout.count("changed=0") == len(tenants) and "failed=0" in second.stdout
    assert api_calls(emu.requests(), "PUT") == []


# -- changelog -------------------------------------------------------------------------------------
def test_changelog_fragments_are_yaml_with_known_sections():
    config = yaml.safe_load((ROOT / "changelogs" / "config.yaml").read_text())
    lists = {section[0] for section in config["sections"]} | {config.get("trivial_section_name", "trivial")}
    summary = config.get("prelude_section_name", "release_summary")
    fragments = sorted(p for p in (ROOT / "changelogs" / "fragments").iterdir() if p.suffix in (".yml", ".yaml"))
    assert fragments
    for path in fragments:
        data = yaml.safe_load(path.read_text())
        assert isinstance(data, dict) and data, path.name
        assert set(data) <= lists | {summary}, "%s: unknown section(s) %s" % (path.name, set(data) - lists - {summary})
        for section, entries in data.items():
            if section == summary:
                assert isinstance(entries, str) and entries.strip(), path.name
            else:
                assert isinstance(entries, list) and entries, "%s: %s" % (path.name, section)
                assert all(isinstance(entry, str) and entry.strip() for entry in entries), path.name


def test_antsibull_changelog_lint_passes():
    changelog = tool("antsibull-changelog")
    run([changelog, "lint"], cwd=ROOT)
    run([changelog, "lint-changelog-yaml", "changelogs/changelog.yaml"], cwd=ROOT)
