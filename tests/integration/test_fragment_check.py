"""hacking/fragment-check (`make fragment-check`): a change to plugins/, roles/, playbooks/ or meta/ since the
last release commit needs a changelog fragment."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "hacking" / "fragment-check"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=repo,
                          capture_output=True, text=True, check=True).stdout


def check(repo: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHECK), str(repo)], capture_output=True, text=True, check=False, timeout=60)


def write(repo: Path, name: str, text: str) -> None:
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_text(text)


@pytest.fixture
def repo(tmp_path) -> Path:
    """A collection just after its release 1.2.0 (1.1.0 before it), with commits after the release."""
    git(tmp_path, "init", "-q")
    write(tmp_path, "plugins/modules/x.py", "# x\n")
    write(tmp_path, "changelogs/fragments/.keep", "")
    write(tmp_path, "changelogs/changelog.yaml", "---\nancestor: null\nreleases:\n  1.1.0:\n    changes: {}\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "Release 1.1.0")
    write(tmp_path, "plugins/modules/x.py", "# x, fixed\n")
    git(tmp_path, "commit", "-qam", "A fix")
    write(tmp_path, "changelogs/changelog.yaml",
          "---\nancestor: null\nreleases:\n  1.1.0:\n    changes: {}\n  1.2.0:\n    changes: {}\n")
    git(tmp_path, "commit", "-qam", "Release 1.2.0")
    write(tmp_path, "docs/guide.md", "a guide\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "Docs only: no fragment needed")
    return tmp_path


def test_no_change_to_the_content_since_the_release_passes(repo):
    proc = check(repo)
    assert proc.returncode == 0, proc.stderr
    assert "0 file(s) changed since release 1.2.0" in proc.stdout


@pytest.mark.parametrize("how", ["committed", "unstaged", "untracked"])
def test_a_change_without_a_fragment_fails_naming_the_files(repo, how):
    name = "roles/r/tasks/main.yml" if how == "untracked" else "plugins/modules/x.py"
    write(repo, name, "changed\n")
    if how == "committed":
        git(repo, "commit", "-qam", "Change")
    proc = check(repo)
    assert proc.returncode == 1
    assert "since release 1.2.0" in proc.stderr and "  %s\n" % name in proc.stderr


def test_a_change_with_a_fragment_passes(repo):
    write(repo, "meta/runtime.yml", "---\nrequires_ansible: '>=2.16.0'\n")
    write(repo, "changelogs/fragments/1-x.yml", "---\ntrivial:\n  - x.\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Change with fragment")
    proc = check(repo)
    assert proc.returncode == 0, proc.stderr
    assert "1 file(s) changed since release 1.2.0, 1 fragment(s)" in proc.stdout


def test_the_release_tag_wins_over_the_commit_message(repo):
    # the tag 1.2.0 on the docs commit: a change made before it is released, whatever the message says
    write(repo, "plugins/modules/x.py", "# x, changed before the tag\n")
    git(repo, "commit", "-qam", "Change")
    git(repo, "tag", "-a", "1.2.0", "-m", "1.2.0")
    assert check(repo).returncode == 0


def test_no_release_commit_fails(repo):
    write(repo, "changelogs/changelog.yaml", "---\nancestor: null\nreleases:\n  1.3.0:\n    changes: {}\n")
    proc = check(repo)
    assert proc.returncode == 1 and "no tag 1.3.0 and no commit 'Release 1.3.0'" in proc.stderr


def test_this_checkout_passes():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    proc = check(ROOT)
    assert proc.returncode == 0, proc.stderr
