"""The production transport against a real HTTP server on loopback: encoding, proxies, CA choice, errors."""

from __future__ import annotations

import gzip
import http.server
import json
import socket
import threading
import time
from typing import Any, Dict, Iterator, List

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils import _transport as client_mod
from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._settings import ConnectionSettings
from ansible_collections.telphin.pbx.plugins.module_utils._errors import RUN_STOPPERS, HostUnknown, TLSError, TransportFailure
from ansible_collections.telphin.pbx.plugins.module_utils._transport import Urllib3Transport


class Recorder(http.server.ThreadingHTTPServer):
    """Records each request (request line target, headers, body) and answers with ``reply``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: List[Dict[str, Any]] = []
        self.reply: Dict[str, Any] = {"status": 200, "json": {"ok": True}, "gzip": False, "delay": 0.0}

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (the timeout test) is expected: no traceback on stderr."""

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.server_address[1]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Recorder

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append({"method": self.command, "target": self.path, "headers": dict(self.headers),
                                 "body": self.rfile.read(length).decode()})
        reply = self.server.reply
        time.sleep(reply["delay"])
        body = json.dumps(reply["json"]).encode()
        self.send_response(reply["status"])
        self.send_header("Content-Type", "application/json")
        self.send_header("X-RateLimit-Remaining", "99")
        if reply["gzip"]:
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Recorder]:
    srv = Recorder()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_json_form_and_query_are_encoded_and_headers_sent(server: Recorder) -> None:
    transport = Urllib3Transport()
    put = transport.send("PUT", server.url + "/api/ver1.0/extension/5/phone/", headers={"Authorization": "Bearer t"},
                         json_body={"external_number": "+79990001122", "label": "Приёмная"})
    transport.send("POST", server.url + "/oauth/token", headers={}, form={"grant_type": "client_credentials",
                                                                          "client_secret": "a&b=c"})
    transport.send("GET", server.url + "/api/ver1.0/client/@me/extension/", headers={}, params={"page": 2})
    assert put.status == 200 and json.loads(put.text) == {"ok": True} and put.headers["x-ratelimit-remaining"] == "99"
    first, second, third = server.seen
    assert first["headers"]["Authorization"] == "Bearer t"
    assert first["headers"]["Content-Type"] == "application/json"
    assert json.loads(first["body"]) == {"external_number": "+79990001122", "label": "Приёмная"}
    assert second["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert second["body"] == "grant_type=client_credentials&client_secret=a%26b%3Dc"
    assert third["target"] == "/api/ver1.0/client/@me/extension/?page=2"


def test_connections_are_reused(server: Recorder) -> None:
    transport = Urllib3Transport()
    for path in ("/a", "/b", "/c"):
        transport.send("GET", server.url + path, headers={})
    pool = transport.manager(server.url + "/x").connection_from_url(server.url + "/x")
    assert pool.num_connections == 1 and pool.num_requests == 3


def test_gzip_replies_are_decoded(server: Recorder) -> None:
    server.reply["gzip"] = True
    resp = Urllib3Transport().send("GET", server.url + "/x", headers={})
    assert json.loads(resp.text) == {"ok": True}
    assert "gzip" in server.seen[0]["headers"]["Accept-Encoding"]


# Regression: with requests, a ~/.netrc entry for the API host replaced "Authorization: Bearer" with Basic
# credentials on every request (the token request included).
def test_a_netrc_entry_for_the_api_host_does_not_replace_the_bearer_token(server: Recorder, tmp_path: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password netrc-pass\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc))
    client = ApiClient(ConnectionSettings(api_url=server.url, access_token="tok-from-awx"))
    client.get("/user/")
    assert server.seen[0]["headers"]["Authorization"] == "Bearer tok-from-awx"


def test_http_proxy_from_the_environment_is_used_and_no_proxy_bypasses_it(server: Recorder,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", server.url)            # the recorder plays the proxy
    target = "http://pbx.example.net/api/ver1.0/user/"
    Urllib3Transport().send("GET", target, headers={})
    assert server.seen[0]["target"] == target              # absolute URI: sent through the proxy
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    Urllib3Transport().send("GET", server.url + "/direct", headers={})
    assert server.seen[1]["target"] == "/direct"


def test_a_socks_proxy_is_refused_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://proxy.example.net:1080")
    with pytest.raises(TransportFailure, match="proxy socks5 is not supported"):
        Urllib3Transport().send("GET", "https://pbx.example.net/x", headers={})


def test_refused_connection_and_slow_reply_are_told_apart(server: Recorder) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with pytest.raises(TransportFailure, match="^Connection refused$"):
        Urllib3Transport().send("GET", "http://127.0.0.1:%d/x" % closed_port, headers={}, timeout=2)
    server.reply["delay"] = 1.0
    with pytest.raises(TransportFailure, match=r"^no complete reply within 0.2 s \(timeout\)$"):
        Urllib3Transport().send("GET", server.url + "/slow", headers={}, timeout=0.2)


def test_ca_choice_follows_requests_order(monkeypatch: pytest.MonkeyPatch) -> None:
    def ca_of(transport: Urllib3Transport) -> Any:
        pool = transport.manager("https://pbx.example.net/").connection_pool_kw
        # a bundle that loads is in the process's TLS context; one that does not goes to urllib3 (which reports it)
        assert pool.get("ca_certs") in (None, transport.ca_certs)
        assert (pool.get("ssl_context") is None) == (pool.get("ca_certs") is not None)
        return transport.ca_certs

    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/curl.pem")
    assert ca_of(Urllib3Transport()) == "/etc/ssl/curl.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corp.pem")
    assert ca_of(Urllib3Transport()) == "/etc/ssl/corp.pem"
    assert ca_of(Urllib3Transport(ca_path="/tmp/private-ca.pem")) == "/tmp/private-ca.pem"   # the option wins
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE")
    certifi = pytest.importorskip("certifi")
    assert ca_of(Urllib3Transport()) == certifi.where()
    unverified = Urllib3Transport(validate_certs=False).manager("https://pbx.example.net/").connection_pool_kw
    assert unverified["cert_reqs"] == "CERT_NONE"


def test_the_client_uses_this_transport_by_default() -> None:
    client = ApiClient(ConnectionSettings(api_url="https://pbx.example.net", access_token="t"))
    assert isinstance(client.transport, client_mod.Urllib3Transport)


@pytest.mark.parametrize("validate_certs", [True, False])
def test_https_against_a_plain_http_server_says_it_does_not_speak_tls(server: Recorder, validate_certs: bool) -> None:
    # It advised validate_certs: false, even when it was false already.
    url = server.url.replace("http://", "https://")
    client = ApiClient(ConnectionSettings(api_url=url, access_token="t", validate_certs=validate_certs))
    with pytest.raises(TLSError) as err:
        client.request("GET", "/client/@me/extension/")
    message = str(err.value)
    assert message.startswith("%s does not speak TLS (TLS error " % url)
    assert message.endswith(": an https:// URL on a port that serves plain HTTP?: give the provider's https:// address "
                            "and port, or http:// for a test server on this machine (allow_plain_http for one "
                            "elsewhere)")
    assert "validate_certs" not in message
    assert client.report()["requests"]["retried"] == 0 and server.seen == []


def test_a_host_name_that_does_not_resolve_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    # A typo in api_url was retried 5 times (4 s per tenant): a name that does not exist stays so.
    lookups: List[str] = []

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    client = ApiClient(ConnectionSettings(api_url="https://apiproxy.telphin.ru.invalid", access_token="t"))
    with pytest.raises(HostUnknown) as err:
        client.request("GET", "/client/@me/extension/")
    assert str(err.value) == ("GET /client/@me/extension/: the host name https://apiproxy.telphin.ru.invalid does not "
                              "resolve (Name or service not known): check the host name in api_url (and token_url)")
    assert lookups == ["apiproxy.telphin.ru.invalid"] and client.report()["requests"]["retried"] == 0
    assert isinstance(err.value, RUN_STOPPERS)


def test_a_name_server_that_does_not_answer_in_time_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(TransportFailure, match="^Temporary failure in name resolution$"):
        Urllib3Transport().send("GET", "https://pbx.example.net/x", headers={}, timeout=2)
