"""Regressions of the security review (issue 12) in the production transport, against real sockets on loopback:
proxy credentials and a 407 (item 13), a reply trickled byte by byte (item 14)."""

from __future__ import annotations

import base64
import http.server
import threading
import time
from typing import Any, Iterator, List

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._errors import TelphinError, TransportFailure
from ansible_collections.telphin.pbx.plugins.module_utils._settings import ConnectionSettings
from ansible_collections.telphin.pbx.plugins.module_utils._transport import Urllib3Transport

PROXY_USER, PROXY_PASSWORD = "corp\\ansible", "Proxy-Pass:w0rd@1"


class Proxy(http.server.ThreadingHTTPServer):
    """An HTTP proxy that wants Basic credentials; it records what it got and answers 200 or 407."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.seen: List[Any] = []
        self.expected = "Basic " + base64.b64encode(("%s:%s" % (PROXY_USER, PROXY_PASSWORD)).encode()).decode()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Proxy

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        given = self.headers.get("Proxy-Authorization")
        self.server.seen.append((self.command, self.path, given))
        ok = given == self.server.expected and self.command != "CONNECT"
        body = b'{"id": 1}' if ok else b'{"message": "proxy authentication required"}'
        self.send_response(200 if ok else 407)
        if not ok:
            self.send_header("Proxy-Authenticate", 'Basic realm="corp"')
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_CONNECT = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    srv = Proxy()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def proxy_url(proxy: Proxy, user: str = PROXY_USER, password: str = PROXY_PASSWORD) -> str:
    from urllib.parse import quote
    return "http://%s:%s@127.0.0.1:%d" % (quote(user, safe=""), quote(password, safe=""), proxy.server_address[1])


def test_13_proxy_credentials_from_the_environment_are_sent(proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy_url(proxy))
    resp = Urllib3Transport().send("GET", "http://pbx.example.net/api/ver1.0/user/", headers={})
    assert resp.status == 200
    assert proxy.seen == [("GET", "http://pbx.example.net/api/ver1.0/user/", proxy.expected)]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_13_a_407_is_fatal_at_once_and_names_no_credential(proxy: Proxy, monkeypatch: pytest.MonkeyPatch,
                                                           scheme: str) -> None:
    monkeypatch.setenv("%s_PROXY" % scheme.upper(), proxy_url(proxy, password="wrong-Proxy-Pass"))
    settings = ConnectionSettings(api_url="%s://pbx.example.net" % scheme, app_id="a", app_secret="s",
                                  allow_plain_http=True)
    client = ApiClient(settings, sleep=lambda s: None)
    with pytest.raises(TelphinError) as err:
        client.get("/user/")
    text = str(err.value)
    assert "407" in text and "proxy" in text and "HTTP" in text and "_PROXY" in text
    assert "wrong-Proxy-Pass" not in text and "ansible" not in text
    assert len(proxy.seen) == 1 and client.retries == 0


class Trickle(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), TrickleHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class TrickleHandler(http.server.BaseHTTPRequestHandler):
    """Headers at once, then a 34-byte body one byte every 0.1 s: no single read ever waits long."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b'{"id": 1, "padding": "' + b"x" * 10 + b'"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.flush()
        try:
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass

    def log_message(self, *args: Any) -> None:
        pass


def test_14_a_trickled_reply_is_bounded_by_the_timeout_in_total() -> None:
    srv = Trickle()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(TransportFailure, match=r"timeout"):
            Urllib3Transport().send("GET", "http://127.0.0.1:%d/x" % srv.server_address[1], headers={}, timeout=1)
        assert time.monotonic() - started < 2.0
    finally:
        srv.shutdown()
        srv.server_close()


def test_14_a_normal_reply_within_the_timeout_still_arrives() -> None:
    srv = Trickle()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        resp = Urllib3Transport().send("GET", "http://127.0.0.1:%d/x" % srv.server_address[1], headers={}, timeout=15)
        assert resp.status == 200 and resp.text.endswith('"}')
    finally:
        srv.shutdown()
        srv.server_close()
