"""Every link in the documentation resolves: to a file (and heading) inside the repository, or to a public URL.

Checked in every Markdown and reStructuredText file git would commit: Markdown links and autolinks, bare URLs
in prose, reStructuredText hyperlinks, and documents named by path in inline code (`docs/emulator.md`). Code
blocks are skipped (their URLs are examples). No network: a public URL is an http(s) URL of a public host name
(not loopback, a private address or a name reserved for examples, RFC 2606 / RFC 6761).
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
from pathlib import Path
from typing import Iterator, List, Tuple
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESERVED_SUFFIXES = (".example", ".test", ".invalid", ".localhost", ".local", ".internal")
RESERVED_NAMES = {"example.com", "example.net", "example.org", "localhost"}
MD_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
BARE_URL = re.compile(r"(?<![<(`\"'])\bhttps?://[^\s)>\]`\"']+")
RST_LINK = re.compile(r"`[^`<]*<([^>]+)>`__?")
RST_TARGET = re.compile(r"^\.\. _[^:]+:\s+(\S+)\s*$", re.M)
CODE_DOC = re.compile(r"`{1,2}([^`\s<>*]+\.(?:md|rst))(#[^`\s]*)?`{1,2}")


def doc_files() -> List[Path]:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "*.md", "*.rst"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout.split("\0")
    return [ROOT / name for name in listed if name and (ROOT / name).is_file()]


def prose(path: Path) -> str:
    """The text without code blocks (Markdown fences, reStructuredText literal and code blocks)."""
    text = path.read_text()
    if path.suffix == ".md":
        return re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.M | re.S)
    kept, block_indent = [], None
    lines = text.split("\n")
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if block_indent is not None:
            if not line.strip() or indent > block_indent:
                continue
            block_indent = None
        kept.append(line)
        starts_block = line.rstrip().endswith("::") or re.match(r"\s*\.\. (code-block|code|literalinclude)::", line)
        if starts_block and not re.match(r"\s*\.\. _", line):
            block_indent = indent
    return "\n".join(kept)


def links(path: Path) -> Iterator[Tuple[str, str]]:
    """(kind, target) of every link in the prose of path."""
    text = prose(path)
    if path.suffix == ".md":
        # antsibull-changelog's Markdown escapes punctuation in URLs (https\://github\.com/...)
        without_code = re.sub(r"\\([^\w\s])", r"\1", re.sub(r"`[^`\n]*`|<code>.*?</code>", "", text, flags=re.S))
        yield from (("link", m) for m in MD_LINK.findall(without_code))
        yield from (("link", m) for m in AUTOLINK.findall(without_code))
        yield from (("link", m) for m in BARE_URL.findall(re.sub(r"\]\([^)]*\)|<https?://[^>]*>", "", without_code)))
    else:
        without_literals = re.sub(r"``[^`\n]*``", "", text)
        yield from (("link", m) for m in RST_LINK.findall(without_literals))
        yield from (("link", m) for m in RST_TARGET.findall(without_literals))
        yield from (("link", m) for m in BARE_URL.findall(RST_LINK.sub("", without_literals)))
    yield from (("document", name + (anchor or "")) for name, anchor in CODE_DOC.findall(text))


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[`*_\[\]()]|<[^>]*>", "", heading.strip()).lower()
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def anchors(path: Path) -> set:
    text = re.sub(r"^```.*?^```[^\n]*$", "", path.read_text(), flags=re.M | re.S)
    return {slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M)}


def public_url_problem(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return "not an http(s) URL"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if "." not in host or host in RESERVED_NAMES or host.endswith(RESERVED_SUFFIXES) \
                or any(host.endswith("." + name) for name in RESERVED_NAMES):
            return "not a public host name"
        return ""
    return "" if address.is_global else "not a public address"


def problem(path: Path, kind: str, target: str) -> str:
    if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):
        if target.startswith("mailto:"):
            return ""
        return public_url_problem(target)
    name, anchor = (target.split("#", 1) + [""])[:2]
    if not name:
        resolved = path
    else:
        candidates = [(path.parent / name).resolve()]
        if kind == "document":  # inline code names files from the repository root as often as relative ones
            candidates.append((ROOT / name).resolve())
        existing = [c for c in candidates if c.exists()]
        if not existing:
            return "no such file"
        resolved = existing[0]
        if ROOT not in resolved.parents and resolved != ROOT:
            return "outside the repository"
    if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
        return "no heading #%s in %s" % (anchor, resolved.relative_to(ROOT))
    return ""


def test_every_link_in_the_docs_resolves_inside_the_repository_or_to_a_public_url():
    found, broken = 0, []
    for path in doc_files():
        for kind, target in links(path):
            found += 1
            why = problem(path, kind, target)
            if why:
                broken.append("%s: %s (%s)" % (path.relative_to(ROOT), target, why))
    assert broken == []
    assert found > 20  # the docs do link: the extraction found them


@pytest.mark.parametrize("text, suffix, target, expected", [
    ("See `/nonexistent/shared/api/telphin-api.md`.", ".md", "/nonexistent/shared/api/telphin-api.md", "no such file"),
    ("See [the API](../../no-such-dir/telphin-api.md).", ".md", "../../no-such-dir/telphin-api.md", "no such file"),
    ("See `{outside}`.", ".md", "{outside}", "outside the repository"),
    ("See [notes]({outside}).", ".md", "{outside}", "outside the repository"),
    ("See [policy](../README.md#no-such-heading).", ".md", "../README.md#no-such-heading", "no heading"),
    ("Served at http://127.0.0.1:8080 here.", ".md", "http://127.0.0.1:8080", "not a public address"),
    ("See `AWX <https://awx.example.net/>`_.", ".rst", "https://awx.example.net/", "not a public host name"),
])
def test_a_broken_link_is_found(tmp_path, text, suffix, target, expected):
    """Each kind of bad link, in a file inside the repository's docs/ (removed afterwards)."""
    if not (ROOT / "docs").is_dir():
        pytest.skip("no docs/")
    outside = tmp_path / "notes.md"
    outside.write_text("# Notes\n")
    text, target = text.replace("{outside}", str(outside)), target.replace("{outside}", str(outside))
    path = ROOT / "docs" / ("_link_probe_%s%s" % (tmp_path.name, suffix))
    path.write_text("Probe\n=====\n\n" + text + "\n")
    try:
        found = list(links(path))
        assert [link[1] for link in found] == [target]
        assert expected in problem(path, *found[0])
    finally:
        path.unlink()


def test_code_blocks_are_not_links(tmp_path):
    path = tmp_path / "x.md"
    path.write_text("Text.\n\n```console\ncurl http://127.0.0.1:8080/x\n```\n\n`http://127.0.0.1:1` too.\n")
    assert list(links(path)) == []
    rst = tmp_path / "x.rst"
    rst.write_text("Text::\n\n    http://127.0.0.1:8080\n\n.. code-block:: yaml\n\n    url: http://10.0.0.1\n\nEnd.\n")
    assert list(links(rst)) == []


def test_the_readme_and_the_docsite_say_where_to_get_help():
    """The community package's rule: a README "Communication" section and links.yml's `communication`."""
    import yaml

    section = (ROOT / "README.md").read_text().split("\n## Communication\n", 1)[1].split("\n## ", 1)[0]
    links_yml = yaml.safe_load((ROOT / "docs" / "docsite" / "links.yml").read_text())
    forums = [forum["url"] for forum in links_yml["communication"]["forums"]]
    tag = [url for url in forums if "/tag/" in url]
    assert tag and tag[0] in section  # the same forum tag in both
    rooms = [room["room"] for room in links_yml["communication"]["matrix_rooms"]]
    assert rooms and all(room in section for room in rooms)
    for what in ("maintainers", "security advisory", links_yml["issue_tracker"]):
        assert what in section, what
