"""Issue 12, item 3 and the standard "a message never quotes a server reply or a header that could carry one":
every message the client raises says what failed in the collection's words (method, path, HTTP status, an
error code of a closed set, what to do), whatever text the server puts in its reply."""

from __future__ import annotations

import socketserver
import threading
from typing import Any, Iterator

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils._ansible import execute
from ansible_collections.telphin.pbx.plugins.module_utils._client import MAX_ATTEMPTS, ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._errors import (
    AccessDenied, AuthenticationError, NotFound, ProtocolError, QuotaExhausted, TelphinError, TransientError,
    TransportFailure, ValidationFailed)
from ansible_collections.telphin.pbx.plugins.module_utils._settings import ConnectionSettings
from ansible_collections.telphin.pbx.plugins.module_utils._transport import Urllib3Transport
from scripted import Call, ScriptedTransport, make_client, token

MARK = "Server-Said-Q7x"                       # in every free-text field of the replies below
TOKEN_WITH_QUERY = "https://api.test/oauth/token?tenant=q-Secret-Query"
REPLY = {"message": "%s message" % MARK, "error_description": "%s description" % MARK, "detail": MARK}


def failure(*calls: Call, request: Any = None, **settings: Any) -> TelphinError:
    """The error of one request (``request``, else the last call), with ``calls`` the HTTP calls expected."""
    transport = ScriptedTransport(*calls)
    client = make_client(transport, **settings)
    call = request or calls[-1]
    with pytest.raises(TelphinError) as err:
        if call.method == "PUT":
            client.put(call.path, {"label": "Desk", "external_number": "+79001234567"})
        else:
            client.get(call.path, {"type": "phone", "page": 1, "per_page": 500})
    transport.assert_done()
    return err.value


@pytest.mark.parametrize("method, status, kind, says", [
    ("PUT", 400, ValidationFailed, "HTTP 400: the API refused the values of external_number, label: check those "
                                   "values against the module's documentation"),
    ("GET", 400, ValidationFailed, "HTTP 400: the API refused the request: check the task's client_id"),
    ("PUT", 422, ValidationFailed, "HTTP 422: the API refused the values of external_number, label"),
    ("GET", 403, AccessDenied, "HTTP 403: the app's user may not do this: check its rights"),
    ("GET", 404, NotFound, "HTTP 404: not found: no such object, or the app's user may not see it"),
    ("PUT", 409, TelphinError, "HTTP 409: conflict: the object was changed or locked by another request"),
    ("GET", 405, TelphinError, "HTTP 405: the API refused the request: check api_url"),
    ("PUT", 500, TelphinError, "HTTP 500: the server failed: try again later"),
    ("GET", 501, TelphinError, "HTTP 501: the server failed: try again later"),
    ("GET", 429, QuotaExhausted, "429 rate_limit_exceeded on GET /client/@me/extension/); not retried: the quota "
                                 "resets"),
])
def test_an_error_reply_is_described_never_quoted(method, status, kind, says):
    path = "/extension/54/phone/" if method == "PUT" else "/client/@me/extension/"
    err = failure(token(), Call(method, path, status=status, reply=dict(REPLY, status="Not a code: %s" % MARK)))
    text = str(err)
    assert isinstance(err, kind) and says in text, text
    assert MARK not in text and "Not a code" not in text
    assert "per_page" not in text and "?" not in text                  # the path without its query
    if status != 429:
        assert text.startswith("%s %s: HTTP %d" % (method, path, status))


def test_an_access_token_refused_is_described_never_quoted():
    err = failure(Call("GET", "/user/", status=401, reply=REPLY), app_id=None, app_secret=None, access_token="given")
    assert str(err).startswith("GET /user/: HTTP 401: access_token is expired, revoked or invalid: supply a new one")
    assert MARK not in str(err)


@pytest.mark.parametrize("code, shown", [
    ("user_blocked", True),                 # a code the API documents: named, with its own advice
    ("access_denied", True),
    ("Blocked-By-Admin-Secret123", False),  # looks like a code, but is not one of the closed set
    ("user blocked: call +7 900", False),
])
def test_only_error_codes_of_a_closed_set_are_named(code, shown):
    err = failure(token(), Call("GET", "/client/@me/extension/", status=403, reply={"status": code, "message": MARK}))
    assert isinstance(err, AccessDenied) and MARK not in str(err)
    assert (code in str(err)) is shown and (err.api_status == code) is shown
    if code == "user_blocked":
        assert "HTTP 403 user_blocked: the API user behind this app is blocked" in str(err)


@pytest.mark.parametrize("status, reply, says", [
    (400, {"error": "invalid_grant", "error_description": MARK}, "(HTTP 400 invalid_grant)"),
    (401, {"error": "invalid_client", "error_description": MARK}, "(HTTP 401 invalid_client)"),
    (401, {"error": "Bad client credentials for %s" % MARK}, "(HTTP 401)"),
    (403, {"error": "access-denied-%s" % MARK}, "(HTTP 403)"),
])
def test_the_token_endpoint_names_only_an_oauth_error_code(status, reply, says):
    err = failure(Call("POST", TOKEN_WITH_QUERY, status=status, reply=reply), request=Call("GET", "/user/"),
                  token_url=TOKEN_WITH_QUERY)
    text = str(err)
    assert isinstance(err, AuthenticationError)
    assert text.startswith("the token endpoint refused app_id 'app-1' %s: check app_id / app_secret" % says), text
    assert MARK not in text and "Bad client" not in text
    assert "token_url (https://api.test/oauth/token)" in text and "q-Secret-Query" not in text


def test_a_failing_token_endpoint_is_described_never_quoted():
    # A 500 of the token endpoint is retried (issue 25): the attempts run out, and still nothing is quoted.
    transport = ScriptedTransport(*[Call("POST", "TOKEN", status=500, reply={
        "error": "server_error", "error_description": "%s client_secret" % MARK})] * MAX_ATTEMPTS)
    client = make_client(transport)
    with pytest.raises(TelphinError) as err:
        client.get("/user/")
    transport.assert_done()
    assert str(err.value).startswith("POST /oauth/token failed after %d attempt(s): HTTP 500" % MAX_ATTEMPTS)
    assert MARK not in str(err.value) and "server_error" not in str(err.value)


@pytest.mark.parametrize("text", ["<html><body><h1>%s</h1></body></html>" % MARK,
                                  '{"label": "%s", "note": "cut' % MARK, "%s plain text" % MARK])
def test_a_reply_that_is_not_json_is_described_never_quoted(text):
    err = failure(token(), Call("GET", "/client/@me/extension/", text=text))
    assert isinstance(err, ProtocolError) and MARK not in str(err)
    assert "GET /client/@me/extension/: the server replied HTTP 200 with" in str(err)
    assert "(%d characters, not quoted): is api_url the provider's API host?" % len(text) in str(err)


def test_a_transient_failure_names_the_path_without_its_query():
    err = failure(token(), *[Call("GET", "/client/@me/extension/", status=503, reply=REPLY)] * 5)
    assert isinstance(err, TransientError)
    assert str(err) == "GET /client/@me/extension/ failed after 5 attempt(s): HTTP 503"


# -- the production transport: what urllib3 says of a broken reply can hold the server's bytes ------------------
class RawServer(socketserver.ThreadingTCPServer):
    """Answers every connection with ``reply`` (bytes), then closes it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, reply: bytes) -> None:
        super().__init__(("127.0.0.1", 0), RawHandler)
        self.reply = reply

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class RawHandler(socketserver.BaseRequestHandler):
    server: RawServer

    def handle(self) -> None:
        self.request.recv(65536)
        self.request.sendall(self.server.reply)


@pytest.fixture
def raw() -> Iterator[Any]:
    servers = []

    def start(reply: bytes) -> str:
        srv = RawServer(reply)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return "http://127.0.0.1:%d" % srv.server_address[1]
    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


@pytest.mark.parametrize("reply, reason", [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + MARK.encode() + b"\r\n",
     "the reply was cut short"),                 # (read1 reports a bad chunk size so)
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"" + MARK.encode(), "the reply was cut short"),
    (MARK.encode() + b" [Errno 5] " + MARK.encode() + b"\r\n\r\n", "the reply is not HTTP (bad status line)"),
    (b"", "the server closed the connection without a reply"),
])
def test_a_broken_reply_is_described_in_our_words(raw, reply, reason):
    url = raw(reply)
    with pytest.raises(TransportFailure) as err:
        Urllib3Transport().send("GET", url + "/api/ver1.0/user/", headers={}, timeout=5)
    assert str(err.value) == reason


class ProxyFailing(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), RawHandler)
        self.reply = ("HTTP/1.1 502 %s upstream refused\r\nContent-Length: 0\r\n\r\n" % MARK).encode()


def test_a_proxy_failure_names_its_status_not_its_words(monkeypatch):
    srv = ProxyFailing()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:%d" % srv.server_address[1])
        with pytest.raises(TransportFailure) as err:
            Urllib3Transport().send("GET", "https://pbx.example.net/api/ver1.0/user/", headers={}, timeout=5)
        assert str(err.value) == "the proxy failed the connection (CONNECT answered HTTP 502)"
    finally:
        srv.shutdown()
        srv.server_close()


# -- issue 19, item 6: a token goes into a header only if RFC 6750 allows it there ------------------------------
def test_a_token_endpoint_reply_that_is_not_a_bearer_token_is_refused_and_never_sent():
    transport = ScriptedTransport(token("tok-issued-77\r\nX-Injected: yes"))
    client = make_client(transport)
    with pytest.raises(ProtocolError) as err:
        client.get("/user/")
    transport.assert_done()          # nothing was sent with it
    assert str(err.value) == ("the token endpoint https://api.test/oauth/token replied with an access_token that is "
                              "not a bearer token (RFC 6750 characters; not quoted)")


def test_a_token_with_a_line_break_from_a_real_token_endpoint_fails_as_a_protocol_error_not_a_header_error(raw):
    # What the issue saw: http.client refused the header, and its ValueError quoted "Bearer <token>\n".
    body = b'{"access_token": "tok-issued-77\\n", "token_type": "Bearer"}'
    url = raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    client = ApiClient(ConnectionSettings(api_url=url, app_id="app-1", app_secret="s3cret-app"))
    with pytest.raises(ProtocolError) as err:
        client.get("/user/")
    assert "not a bearer token" in str(err.value) and "tok-issued-77" not in str(err.value)
    assert client.report()["requests"] == {"token": 1, "total": 1, "retried": 0}


@pytest.mark.parametrize("given", ["tok-given-77\n", "tok given 77", "tok-given-77\r\nX-Injected: yes", "tök-77"])
def test_an_access_token_option_that_is_not_a_bearer_token_fails_the_module_before_any_request(given):
    params = {"api_url": "https://api.test", "access_token": given}
    result, secrets = execute("extension_info", params, False, print)
    assert result["failed"] and result["msg"].startswith("access_token is not a bearer token (RFC 6750 allows only")
    assert "requests" not in result and "tok" not in result["msg"].replace("token", "")


@pytest.mark.parametrize("token_", ["tok-1", "mF_9.B5f-4.1JqM", "a+b/c~d==", "A" * 40 + "="])
def test_bearer_tokens_of_rfc_6750_are_accepted(token_):
    assert ConnectionSettings(access_token=token_).access_token == token_
