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
ALLOWED_TOP_LEVEL = {"MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.md", "CODE_OF_CONDUCT.md",
                     "CONTRIBUTING.md", "requirements.txt",
                     "bindep.txt", "meta", "plugins", "roles", "playbooks", "extensions", "docs", "changelogs",
                     "tests"}
REQUIRED = ["meta/runtime.yml", "meta/execution-environment.yml", "requirements.txt", "bindep.txt",
            "extensions/awx/credential_type.yml", "playbooks/rollout_bindings.yml", "docs/docsite/links.yml",
            "docs/examples/ansible.cfg", "docs/examples/world.yml",
            "roles/phone_bindings/meta/argument_specs.yml", "roles/phone_bindings/README.md",
            "plugins/doc_fragments/connection.py", "CODE_OF_CONDUCT.md", "CONTRIBUTING.md", "docs/releasing.md"]
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
    assert [name for name in members if name.endswith("vault-password.txt")] == []   # build_ignore (issue 20)
    assert manifest["collection_info"]["version"] == galaxy["version"]
    assert manifest["collection_info"]["dependencies"] == {}


def test_the_quick_start_runs_from_the_installed_tarball(release, emulator_factory, tmp_path):
    collections = release[1]
    installed = collections / "ansible_collections" / "telphin" / "pbx"
    examples = installed / "docs" / "examples"
    # The demo vault password does not ship (build_ignore); the quick start's checkout has it.
    shutil.copy(ROOT / "docs" / "examples" / "vault-password.txt", examples)
    emu = emulator_factory(str(examples / "world.yml"))
    env = clean_env(tmp_path, ANSIBLE_COLLECTIONS_PATH=str(collections), TELPHIN_API_URL=emu.url)
    listed = run([str(ANSIBLE_BIN / "ansible-galaxy"), "collection", "list", "telphin.pbx", "--format", "json"],
                 cwd=examples, env=env)
    assert list(json.loads(listed.stdout)) == [str(collections / "ansible_collections")]

    first = run([str(ANSIBLE_BIN / "ansible-playbook"), "telphin.pbx.rollout_bindings",
                 "-e", "phone_bindings_max_changes=100%"], cwd=examples, env=env)     # as the quick start's first run
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
    # the unreleased fragments, and the changes of every release (empty right after a release)
    changes = {path.name: yaml.safe_load(path.read_text()) for path in (ROOT / "changelogs" / "fragments").iterdir()
               if path.suffix in (".yml", ".yaml")}
    releases = yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text())["releases"] or {}
    changes.update(("release %s" % version, release.get("changes")) for version, release in releases.items())
    assert changes
    for name, data in changes.items():
        assert isinstance(data, dict) and data, name
        assert set(data) <= lists | {summary}, "%s: unknown section(s) %s" % (name, set(data) - lists - {summary})
        for section, entries in data.items():
            if section == summary:
                assert isinstance(entries, str) and entries.strip(), name
            else:
                assert isinstance(entries, list) and entries, "%s: %s" % (name, section)
                assert all(isinstance(entry, str) and entry.strip() for entry in entries), name


def test_antsibull_changelog_lint_passes():
    changelog = tool("antsibull-changelog")
    run([changelog, "lint"], cwd=ROOT)
    run([changelog, "lint-changelog-yaml", "changelogs/changelog.yaml"], cwd=ROOT)


def test_a_release_bumps_the_version_writes_changelog_md_and_tags(tmp_path):
    """hacking/release.sh (without its import check) in a clone: version, changelog, commit and tag.

    The release tools live in the tools venv (.venv); the run with another ansible-core skips this.
    """
    changelog = Path(sys.executable).parent / "antsibull-changelog"
    if not changelog.exists():
        pytest.skip("antsibull-changelog is not in this venv (the tools venv runs this test)")
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(ROOT), str(clone)])
    for name in committable_files():   # the work tree as it is, committed in the clone
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, clone / name)
    for old in {p.name for p in (clone / "changelogs" / "fragments").iterdir()} - {
            Path(n).name for n in committable_files() if n.startswith("changelogs/fragments/")}:
        (clone / "changelogs" / "fragments" / old).unlink()
    # a change to release (right after a release there is no fragment)
    (clone / "changelogs" / "fragments" / "test-change.yml").write_text("---\nbugfixes:\n  - a fix to release.\n")
    git = ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    run(git + ["add", "-A"])
    run(git + ["commit", "-q", "--allow-empty", "-m", "work tree"])
    fragments = sorted(p.name for p in (clone / "changelogs" / "fragments").glob("*.y*ml"))
    old_version = yaml.safe_load((clone / "galaxy.yml").read_text())["version"]
    major = int(old_version.split(".")[0]) + 1
    version = "%d.0.0" % major
    env = dict(os.environ, PATH=os.pathsep.join([str(changelog.parent), os.environ["PATH"]]),
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.invalid")
    env = {k: v for k, v in env.items() if not k.startswith("ANSIBLE_")}
    run([str(clone / "hacking" / "release.sh"), "--no-check", version, "2030-01-31"], cwd=clone, env=env)

    assert yaml.safe_load((clone / "galaxy.yml").read_text())["version"] == version
    assert 'COLLECTION_VERSION = "%s"' % version in (clone / "plugins/module_utils/_version.py").read_text()
    definition = (clone / "execution-environment.yml").read_text()
    assert "telphin-pbx-%s.tar.gz" % version in definition and "telphin-pbx-%s.tar.gz" % old_version not in definition
    text = (clone / "CHANGELOG.md").read_text()
    assert "v%d\\.0\\.0" % major in text
    released = yaml.safe_load((clone / "changelogs" / "changelog.yaml").read_text())["releases"][version]
    assert released["release_date"] == "2030-01-31" and sorted(released["fragments"]) == fragments
    assert list((clone / "changelogs" / "fragments").glob("*.y*ml")) == []
    assert run(["git", "status", "--porcelain"], cwd=clone).stdout == ""
    tag = run(["git", "rev-parse", version + "^{commit}"], cwd=clone).stdout
    assert tag == run(["git", "rev-parse", "HEAD"], cwd=clone).stdout
    assert run(["git", "log", "-1", "--format=%s"], cwd=clone).stdout.strip() == "Release %s" % version
    # A second release of the same version is refused.
    again = subprocess.run([str(clone / "hacking" / "release.sh"), "--no-check", version], cwd=clone, env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode != 0 and "exists" in again.stderr


# -- support policy --------------------------------------------------------------------------------
def support_table() -> Dict[str, List[str]]:
    """ansible-core minor -> [lowest, highest] controller Python, from the README's support table."""
    section = (ROOT / "README.md").read_text().split("## Support policy", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (2\.\d+) \| (3\.\d+) – (3\.\d+) \|", section, re.M)
    assert rows, "no support table in the README"
    return {core: [low, high] for core, low, high in rows}


def minor(version: str) -> tuple:
    return tuple(int(part) for part in version.split(".")[:2])


def pinned_core(text: str) -> str:
    """The minor of an 'ansible-core>=2.N,<2.N+1' pin found in text."""
    found = re.findall(r"ansible-core>=(2\.\d+)(?:\.0)?,<(2\.\d+)", text)
    assert len(found) == 1, found
    low, high = found[0]
    assert minor(high) == (2, minor(low)[1] + 1), "pin to one ansible-core release: %s" % found
    return low


def test_requires_ansible_and_the_tested_versions_follow_the_support_policy():
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    table = support_table()
    cores = sorted(table, key=minor)
    assert [minor(c) for c in cores] == [(2, n) for n in range(minor(cores[0])[1], minor(cores[-1])[1] + 1)]
    requires = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"]
    assert requires == ">=%s.0" % cores[0]
    assert all(Version(core + ".0") in SpecifierSet(requires) for core in cores)
    role = yaml.safe_load((ROOT / "roles" / "phone_bindings" / "meta" / "main.yml").read_text())
    assert role["galaxy_info"]["min_ansible_version"] == cores[0]

    # .venv (the tools) runs the newest ansible-core for Python 3.11; the matrix of every core: test_matrix.py
    assert pinned_core((ROOT / "requirements-test.txt").read_text()) in table
    # The execution environment runs the newest (maintained) release on a Python it supports.
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())["dependencies"]
    assert pinned_core(ee["ansible_core"]["package_pip"]) == cores[-1]
    ee_python = re.search(r"python(3\.\d+)$", ee["python_interpreter"]["python_path"]).group(1)
    assert minor(table[cores[-1]][0]) <= minor(ee_python) <= minor(table[cores[-1]][1])


def test_the_ansible_core_under_test_is_supported(tmp_path):
    """Whichever venv runs the integration tests: its ansible-core and Python are in the policy."""
    proc = run([str(ANSIBLE_BIN / "ansible"), "--version"], env=clean_env(tmp_path))
    core = re.search(r"^ansible \[core (\d+\.\d+)\.", proc.stdout, re.M).group(1)
    python = re.search(r"^  python version = (\d+\.\d+)", proc.stdout, re.M).group(1)
    table = support_table()
    assert core in table, core
    assert minor(table[core][0]) <= minor(python) <= minor(table[core][1]), (core, python)


def test_galaxy_metadata_passes_the_importers_limits():
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    # the User-Agent's version follows galaxy.yml (hacking/release.sh sets both)
    assert 'COLLECTION_VERSION = "%s"' % galaxy["version"] in (ROOT / "plugins/module_utils/_version.py").read_text()
    assert galaxy["authors"] and all(len(author) <= 64 for author in galaxy["authors"])
    assert len(galaxy["tags"]) <= 20 and all(re.fullmatch(r"[a-z0-9_]{1,64}", tag) for tag in galaxy["tags"])
    assert len(galaxy["description"]) <= 255
    # Automation Hub wants one of its platform tags.
    assert set(galaxy["tags"]) & {"application", "cloud", "database", "infrastructure", "linux", "monitoring",
                                  "networking", "security", "storage", "tools", "windows"}
    # Sanity runs without ignore files; Galaxy flags any it finds.
    assert list((ROOT / "tests" / "sanity").glob("ignore-*.txt")) == []
