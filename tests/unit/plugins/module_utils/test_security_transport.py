"""Regressions of the security review (issue 12) in the production transport, against real sockets on loopback:
proxy credentials and a 407 (item 13), a reply trickled byte by byte: its body, and before it the status line,
the headers or the TLS handshake (item 14)."""

from __future__ import annotations

import base64
import gzip
import http.server
import os
import socketserver
import threading
import time
import tracemalloc
from typing import Any, Iterator, List

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._errors import (
    ProtocolError, TelphinError, TransientError, TransportFailure)
from ansible_collections.telphin.pbx.plugins.module_utils._settings import ConnectionSettings
from ansible_collections.telphin.pbx.plugins.module_utils import _deadline, _transport
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


class HeaderTrickle(socketserver.ThreadingTCPServer):
    """Sends ``prefix`` at once, then ``trickle`` one byte every 50 ms, and never ends the headers: each socket
    read of the client gets a byte long before its read timeout."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, prefix: bytes, trickle: bytes, tls: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), HeaderTrickleHandler)
        self.prefix, self.trickle = prefix, trickle
        self.requests = 0
        self.stop = threading.Event()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class HeaderTrickleHandler(socketserver.BaseRequestHandler):
    server: HeaderTrickle

    def handle(self) -> None:
        if self.server.prefix.startswith(b"HTTP"):
            self.request.recv(65536)
            self.server.requests += 1
        try:
            self.request.sendall(self.server.prefix)
            for i in range(len(self.server.trickle)):
                if self.server.stop.wait(0.05):
                    return
                self.request.sendall(self.server.trickle[i:i + 1])
        except OSError:
            pass                # the client gave up: what the test expects


STATUS_LINE = (b"", b"HTTP/1.1 200 OK\r\n" + b"X-Padding: " + b"a" * 400)
HEADERS = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n", b"X-Padding: " + b"a" * 400)
# A TLS record header announcing a 16 000-byte handshake message, whose bytes then trickle in.
TLS_HANDSHAKE = (b"\x16\x03\x03\x3e\x80", b"\x02" * 400)


@pytest.fixture
def trickle() -> Iterator[Any]:
    servers: List[HeaderTrickle] = []

    def start(prefix: bytes, rest: bytes) -> HeaderTrickle:
        srv = HeaderTrickle(prefix, rest)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv
    yield start
    for srv in servers:
        srv.stop.set()
        srv.shutdown()
        srv.server_close()


class Quick(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), QuickHandler)


class QuickHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("scheme, parts", [("http", STATUS_LINE), ("http", HEADERS), ("https", TLS_HANDSHAKE)],
                         ids=["status line", "headers", "TLS handshake"])
def test_14_a_reply_trickled_before_its_body_is_bounded_in_total(trickle, scheme, parts) -> None:
    srv = trickle(*parts)
    url = "%s://127.0.0.1:%d/api/ver1.0/user/" % (scheme, srv.server_address[1])
    transport = Urllib3Transport(validate_certs=False)
    started = time.monotonic()
    with pytest.raises(TransportFailure) as err:
        transport.send("GET", url, headers={}, timeout=0.6)
    elapsed = time.monotonic() - started
    assert str(err.value) == "no complete reply within 0.6 s (timeout)"
    assert 0.55 <= elapsed < 0.6 + 0.5, elapsed


def test_14_the_watchdog_leaves_no_thread_or_descriptor_behind(trickle) -> None:
    transport = Urllib3Transport()
    slow, fine = trickle(*HEADERS), Quick()
    threading.Thread(target=fine.serve_forever, daemon=True).start()
    try:
        transport.send("GET", "http://127.0.0.1:%d/x" % fine.server_address[1], headers={}, timeout=15)  # pooled
        # The baseline: the pooled connection's socket and its server thread (which lives as long as the connection
        # does), without the deadline thread.
        descriptors = open_descriptors()
        threads = threading.active_count() - (_deadline._REAPER.thread is not None)
        for dummy in range(3):
            resp = transport.send("GET", "http://127.0.0.1:%d/x" % fine.server_address[1], headers={}, timeout=15)
            assert resp.status == 200
            with pytest.raises(TransportFailure, match="timeout"):
                transport.send("GET", "http://127.0.0.1:%d/x" % slow.server_address[1], headers={}, timeout=0.3)
        slow.stop.set()
        # The servers' handler threads end once the client's sockets are closed, the deadline thread after a second
        # without requests.
        # Fewer than the baseline is no leak: the pooled connection (its socket and its server thread) may be closed
        # meanwhile.
        deadline = time.monotonic() + _deadline._REAPER.idle + 2
        while ((threading.active_count() > threads or open_descriptors() > descriptors
                or _deadline._REAPER.thread is not None) and time.monotonic() < deadline):
            time.sleep(0.05)
        assert threading.active_count() <= threads and open_descriptors() <= descriptors, \
            (threading.active_count(), open_descriptors(), threads, descriptors)
        assert _deadline._REAPER.thread is None
    finally:
        fine.shutdown()
        fine.server_close()


def test_14_a_get_whose_reply_trickles_is_retried_as_any_timeout(trickle) -> None:
    srv = trickle(*HEADERS)
    settings = ConnectionSettings(api_url="http://127.0.0.1:%d" % srv.server_address[1], access_token="tok-given",
                                  timeout=0.3)
    client = ApiClient(settings, sleep=lambda s: None)
    started = time.monotonic()
    with pytest.raises(TransientError) as err:
        client.get("/user/", {"page": 1})
    assert str(err.value) == "GET /user/ failed after 5 attempt(s): no complete reply within 0.3 s (timeout) " \
                             "(http://127.0.0.1:%d)" % srv.server_address[1]
    assert srv.requests == 5 and client.report()["requests"]["retried"] == 4
    assert time.monotonic() - started < 5 * 0.3 + 1.0


def test_14_requests_at_once_each_end_at_their_own_deadline(trickle) -> None:
    srv = trickle(*HEADERS)
    url = "http://127.0.0.1:%d/x" % srv.server_address[1]
    ended = {}

    def one(timeout: float) -> None:
        started = time.monotonic()
        try:
            Urllib3Transport().send("GET", url, headers={}, timeout=timeout)
        except TransportFailure as exc:
            ended[timeout] = (time.monotonic() - started, str(exc))
    workers = [threading.Thread(target=one, args=(t,)) for t in (0.9, 0.3, 0.6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(5)
    assert sorted(ended) == [0.3, 0.6, 0.9]
    for timeout, (elapsed, message) in ended.items():
        assert timeout - 0.05 <= elapsed < timeout + 0.4 and message == "no complete reply within %s s (timeout)" % timeout


def test_14_deadlines_work_in_a_process_forked_while_the_deadline_thread_ran(trickle) -> None:
    """Ansible forks its workers after the inventory plugin sent requests: the child has no deadline thread."""
    srv = trickle(*HEADERS)
    url = "http://127.0.0.1:%d/x" % srv.server_address[1]
    with pytest.raises(TransportFailure):
        Urllib3Transport().send("GET", url, headers={}, timeout=0.2)
    assert _deadline._REAPER.thread is not None          # still there, idle
    pid = os.fork()
    if pid == 0:                                           # pragma: no cover - the child reports through its status
        code, started = 1, time.monotonic()
        try:
            Urllib3Transport().send("GET", url, headers={}, timeout=0.3)
        except TransportFailure:
            code = 0 if time.monotonic() - started < 1.0 else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 5
    status = 0
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the child's request was not ended at its deadline")
    assert os.waitstatus_to_exitcode(status) == 0


# -- issue 19, item 4: a reply's decoded size is bounded ------------------------------------------------------
class GzipBomb(socketserver.ThreadingTCPServer):
    """Answers every request with a gzip body that decodes to ``size`` bytes of zeros; counts the requests."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, size: int) -> None:
        super().__init__(("127.0.0.1", 0), GzipBombHandler)
        self.body = gzip.compress(b"\0" * size, 9)
        self.requests = 0
        self.heads: List[bytes] = []      # the head (request line and headers) of each request received

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class GzipBombHandler(socketserver.BaseRequestHandler):
    server: GzipBomb

    def handle(self) -> None:
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = self.request.recv(65536)
            if not chunk:
                break
            received += chunk
        self.server.heads.append(received.split(b"\r\n\r\n", 1)[0])
        self.server.requests += 1
        head = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                "Content-Length: %d\r\n\r\n" % len(self.server.body)).encode()
        try:
            self.request.sendall(head + self.server.body)
        except OSError:
            pass


@pytest.fixture
def bomb() -> Iterator[GzipBomb]:
    srv = GzipBomb(200 << 20)             # about 200 KB on the wire, 200 MiB decoded
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_19_a_gzip_bomb_fails_its_request_with_memory_bounded(bomb: GzipBomb) -> None:
    url = "http://127.0.0.1:%d/api/ver1.0/extension/7/phone/?token=q-Secret-Query" % bomb.server_address[1]
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError) as err:
            Urllib3Transport().send("GET", url, headers={"Accept": "application/json"}, timeout=30)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(err.value) == ("GET /extension/7/phone/: the reply is larger than 8 MiB once decoded; not "
                              "read further (a phone or a page of a list is a few KB)")
    assert peak < 3 * _transport.MAX_REPLY_BYTES, peak        # the whole reply would be 200 MiB


def test_19_a_gzip_bomb_is_not_retried_and_names_no_secret(bomb: GzipBomb) -> None:
    settings = ConnectionSettings(api_url="http://127.0.0.1:%d" % bomb.server_address[1], access_token="tok-given-77")
    client = ApiClient(settings)
    with pytest.raises(ProtocolError) as err:
        client.get("/extension/7/phone/")
    assert bomb.requests == 1 and "tok-given-77" not in str(err.value)


def test_19_gzip_is_asked_for_and_a_reply_below_the_bound_is_decoded() -> None:
    srv = GzipBomb(1 << 20)
    srv.body = gzip.compress(b'{"label": "' + b"x" * (1 << 20) + b'"}')
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        resp = Urllib3Transport().send("GET", "http://127.0.0.1:%d/api/ver1.0/user/" % srv.server_address[1],
                                       headers={}, timeout=30)
    finally:
        srv.shutdown()
        srv.server_close()
    assert len(resp.text) == (1 << 20) + 13
    # the header the request carried on the wire, not the constant it is made from
    [head] = srv.heads
    fields = [line.split(b":", 1) for line in head.split(b"\r\n")[1:]]
    assert [value.strip() for name, value in fields if name.strip().lower() == b"accept-encoding"] == [b"gzip"]
