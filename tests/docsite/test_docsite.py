"""The built docsite as a person opens it: headless Chromium from the index, link by link (``make docsite-check``).

The site is served on loopback; each page is rendered by Chromium (scripts run) and its DOM read back. From the
index, every module, plugin, role and guide page of the collection must be reachable, every link inside the site
must lead to a page that exists and to an anchor that page has, no file the pages load may be missing, and the
search page must find a module by one of its options.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import tempfile
import threading
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("TELPHIN_DOCSITE", ROOT / "build" / "docsite" / "build" / "html"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Page(HTMLParser):
    """The links, element ids and first-level headings of a rendered page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: List[str] = []
        self.ids: Set[str] = set()
        self.headings: List[str] = []
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, str]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(found["id"])
        if tag == "a" and found.get("name"):
            self.ids.add(found["name"])
        if tag == "a" and found.get("href"):
            self.links.append(found["href"])
        if tag == "h1":
            self._in_h1 = True
            self.headings.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.headings[-1] += data


class Served(http.server.ThreadingHTTPServer):
    """The site on loopback, with the status of every request it answered."""

    def __init__(self, directory: Path) -> None:
        self.statuses: List[Tuple[str, int]] = []
        handler = functools.partial(Handler, directory=str(directory))
        super().__init__(("127.0.0.1", 0), handler)


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        self.server.statuses.append((self.path, int(code)))

    def log_message(self, *args) -> None:      # quiet
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    if not (SITE / "index.html").is_file():
        pytest.fail("no built docsite at %s: run make docsite first" % SITE)
    server = Served(SITE)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d/" % server.server_address[1]
    server.shutdown()
    server.server_close()
    missing = [(path, code) for path, code in server.statuses if code >= 400]
    assert not missing, missing


@pytest.fixture(scope="module")
def browser() -> Iterator[List[str]]:
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.fail("Chromium is needed (Debian: apt-get install chromium; or CHROMIUM=/path/to/chrome)")
    with tempfile.TemporaryDirectory() as profile:
        yield [chromium, *CHROMIUM_FLAGS, "--user-data-dir=%s" % profile]


def render(browser: List[str], url: str, wait_for_scripts: bool = False) -> Page:
    """The page's DOM once loaded (``wait_for_scripts``: also after its scripts' timers, as the search needs)."""
    wait = ["--virtual-time-budget=5000"] if wait_for_scripts else []
    dom = subprocess.run([*browser, *wait, "--dump-dom", url], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    page = Page()
    page.feed(dom)
    return page


@pytest.fixture(scope="module")
def crawl(site: str, browser: List[str]) -> Dict[str, Page]:
    """Every page of the site reachable from the index, by path relative to the site."""
    pages: Dict[str, Page] = {}
    queue = ["index.html"]
    while queue:
        path = queue.pop(0)
        if path in pages:
            continue
        pages[path] = render(browser, site + path)
        for href in pages[path].links:
            target = urldefrag(urljoin(site + path, href))[0]
            if target.startswith(site) and target[len(site):].endswith(".html"):
                queue.append(target[len(site):])
    return pages


def expected_pages() -> Dict[str, str]:
    """The page of each module, plugin, role and guide of the checkout, with the name its heading shows."""
    pages = {}
    for kind, folder in (("module", "modules"), ("inventory", "inventory"), ("filter", "filter")):
        for source in sorted((ROOT / "plugins" / folder).glob("*.py")):
            if source.name != "__init__.py" and "DOCUMENTATION" in source.read_text(encoding="utf-8"):
                pages["%s_%s.html" % (source.stem, kind)] = "telphin.pbx.%s" % source.stem
        for source in sorted((ROOT / "plugins" / folder).glob("*.yml")):
            pages["%s_%s.html" % (source.stem, kind)] = "telphin.pbx.%s" % source.stem
    for role in sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir()):
        pages["%s_role.html" % role] = "telphin.pbx.%s" % role
    extra = yaml.safe_load((ROOT / "docs" / "docsite" / "extra-docs.yml").read_text(encoding="utf-8"))
    for section in extra["sections"]:
        for guide in section["toctree"]:
            pages["docsite/%s.html" % guide] = ""
    return pages


def test_every_module_plugin_role_and_guide_page_is_reachable_from_the_index(crawl):
    expected = expected_pages()
    assert len(expected) >= 15
    assert sorted(set(expected) - set(crawl)) == []
    for path, name in expected.items():
        assert len(crawl[path].headings) == 1, path     # one title: a page, not an error page or an empty one
        assert name in crawl[path].headings[0], (path, crawl[path].headings)


def test_no_internal_link_is_broken(site, crawl):
    broken = []
    for path, page in crawl.items():
        for href in page.links:
            url, fragment = urldefrag(urljoin(site + path, href))
            if not url.startswith(site) or urlparse(href).scheme in ("mailto", "javascript"):
                continue
            target = url[len(site):] or "index.html"
            if target.endswith("/"):
                target += "index.html"
            if not (SITE / target).is_file():
                broken.append((path, href))
            elif fragment and target in crawl and fragment not in crawl[target].ids:
                broken.append((path, href))
    assert broken == []


def test_the_search_finds_a_module_by_its_option(site, browser):
    page = render(browser, site + "search.html?q=external_number", wait_for_scripts=True)
    assert "extension_phone_module.html" in page.links
    assert "extension_phones_module.html" in page.links
