"""The API client: tokens, retries, quota, errors — every HTTP call scripted in order."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading

import pytest
import urllib3

from ansible_collections.telphin.pbx.plugins.module_utils import _client as client_mod
from ansible_collections.telphin.pbx.plugins.module_utils import _quota, _transport
from ansible_collections.telphin.pbx.plugins.module_utils._settings import API_PREFIX, ConnectionSettings
from ansible_collections.telphin.pbx.plugins.module_utils._errors import (
    AccessDenied, AuthenticationError, InputError, NotFound, ProtocolError, QuotaExhausted, QuotaReserveReached,
    TLSError, TLSFailure, TransientError, TransportFailure, ValidationFailed)
from scripted import Call, ScriptedTransport, make_client, quota_headers, token

USER = {"id": 1, "client_id": 1001}


def run(*calls, **settings):
    transport = ScriptedTransport(*calls)
    client = make_client(transport, **settings)
    return transport, client


def test_one_token_for_many_requests_and_bearer_header():
    transport, client = run(token("tok-A"), Call("GET", "/user/", reply=USER), Call("GET", "/user/", reply=USER))
    assert client.get("/user/") == USER
    assert client.get("/user/") == USER
    transport.assert_done()
    assert transport.sent[0]["form"] == {"grant_type": "client_credentials", "client_id": "app-1",
                                         "client_secret": "s3cret-app"}
    assert transport.sent[1]["headers"]["Authorization"] == "Bearer tok-A"
    assert client.report()["requests"] == {"token": 1, "GET": 2, "total": 3, "retried": 0}
    assert client.tokens_issued == 1 and "tok-A" in client.secrets


def test_401_fetches_one_new_token_and_repeats_the_request():
    transport, client = run(token("tok-A"), Call("GET", "/user/", status=401, reply={"message": "expired"}),
                            token("tok-B"), Call("GET", "/user/", reply=USER))
    assert client.get("/user/") == USER
    transport.assert_done()
    assert transport.sent[3]["headers"]["Authorization"] == "Bearer tok-B"
    assert client.tokens_issued == 2


def test_static_access_token_is_not_refreshed():
    transport, client = run(Call("GET", "/user/", status=401), app_id=None, app_secret=None, access_token="given")
    with pytest.raises(AuthenticationError, match="access_token is expired, revoked or invalid"):
        client.get("/user/")
    transport.assert_done()
    assert transport.sent[0]["headers"]["Authorization"] == "Bearer given"


def test_bad_app_credentials_name_the_app_and_never_the_secret():
    transport, client = run(token(status=401))
    with pytest.raises(AuthenticationError) as err:
        client.get("/user/")
    assert "app-1" in str(err.value) and "s3cret-app" not in str(err.value)
    assert "invalid_client" in str(err.value)
    transport.assert_done()


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried(status):
    transport, client = run(token(), Call("GET", "/user/", status=status, text="<html>busy</html>"),
                            Call("GET", "/user/", reply=USER))
    assert client.get("/user/") == USER
    transport.assert_done()
    assert client.report()["requests"]["retried"] == 1


def test_concurrent_429_is_retried_after_retry_after_clamped():
    waits = []
    transport = ScriptedTransport(
        token(),
        Call("GET", "/user/", status=429, reply={"message": "Parallel concurrent request not allowed"},
             headers={"Retry-After": "2"}),
        Call("GET", "/user/", status=429, reply={"message": "concurrent request not allowed"},
             headers={"Retry-After": "9999"}),
        Call("GET", "/user/", reply=USER))
    client = make_client(transport)
    client._sleep = waits.append
    assert client.get("/user/") == USER
    transport.assert_done()
    assert 2.0 <= waits[0] <= 2.0 + client_mod.BACKOFF_BASE
    assert client_mod.RETRY_AFTER_CAP <= waits[1] <= client_mod.RETRY_AFTER_CAP + 2 * client_mod.BACKOFF_BASE


def test_retry_after_waits_are_jittered_so_workers_do_not_retry_in_lockstep():
    # Regression (chaos suite, two rollouts on one tenant): every worker told "Retry-After: 1" retried
    # exactly 1 s later, collided again, and items failed after 5 attempts of "concurrent request" 429.
    client = make_client(ScriptedTransport())
    waits = [client._backoff(1, 1.0) for draw in range(50)]
    assert all(1.0 <= w <= 1.0 + client_mod.BACKOFF_BASE for w in waits)
    assert len(set(waits)) > 40
    later = [client._backoff(4, 1.0) for draw in range(50)]
    assert max(later) > 1.0 + client_mod.BACKOFF_BASE       # the spread grows with the attempt


def test_retries_are_bounded_in_count():
    calls = [token()] + [Call("GET", "/user/", status=503) for attempt in range(client_mod.MAX_ATTEMPTS)]
    transport, client = run(*calls)
    with pytest.raises(TransientError, match="GET /user/ failed after 5 attempt"):
        client.get("/user/")
    transport.assert_done()


def test_retries_are_bounded_in_time():
    now = [0.0]
    transport = ScriptedTransport(token(), Call("GET", "/user/", status=503, headers={"Retry-After": "25"}),
                                  Call("GET", "/user/", status=503, headers={"Retry-After": "25"}),
                                  Call("GET", "/user/", status=503, headers={"Retry-After": "25"}))
    client = make_client(transport)
    client._clock = lambda: now[0]
    client._sleep = lambda s: now.__setitem__(0, now[0] + s)
    with pytest.raises(TransientError, match="after 3 attempt"):
        client.get("/user/")
    transport.assert_done()


def test_backoff_is_jittered_exponential_and_capped():
    client = make_client(ScriptedTransport())
    for attempt in range(1, 10):
        assert 0 <= client._backoff(attempt, None) <= min(client_mod.BACKOFF_CAP, 0.5 * 2 ** (attempt - 1))


def test_connection_errors_are_retried_then_reported():
    fail = TransportFailure("Connection refused")
    transport, client = run(Call("POST", "TOKEN", raises=fail), token(), Call("GET", "/user/", raises=fail),
                            Call("GET", "/user/", reply=USER))
    assert client.get("/user/") == USER
    transport.assert_done()


def test_tls_failure_is_not_retried_and_explains_ca_path():
    transport, client = run(Call("POST", "TOKEN", raises=TLSFailure("certificate verify failed")))
    with pytest.raises(TLSError, match="ca_path"):
        client.get("/user/")
    transport.assert_done()


def test_quota_429_fails_fast_with_the_reset_time():
    transport, client = run(token(), Call("GET", "/user/", status=429,
                                          reply={"status": "rate_limit_exceeded", "message": "limit"},
                                          headers=quota_headers(0, reset=1234)))
    with pytest.raises(QuotaExhausted, match=r"not retried: the quota resets in 1234 s \(at 20\d\d-"):
        client.get("/user/")
    transport.assert_done()
    assert client.report()["quota"] == {"limit": 1000, "remaining": 0, "reset": 1234}


@pytest.mark.parametrize("reset", [10 ** 12, 2 ** 53, -(10 ** 12)])
def test_quota_429_with_a_reset_no_calendar_holds_still_fails_as_the_quota(reset):
    # X-RateLimit-Reset is the server's: one past year 9999 is said in seconds, not an unexpected OverflowError
    transport, client = run(token(), Call("GET", "/user/", status=429,
                                          reply={"status": "rate_limit_exceeded", "message": "limit"},
                                          headers=quota_headers(0, reset=reset)))
    with pytest.raises(QuotaExhausted, match=r"not retried: the quota resets in %d s$" % reset):
        client.get("/user/")
    transport.assert_done()


def test_quota_reserve_stops_before_the_reserve_is_touched():
    transport, client = run(token(), Call("GET", "/user/", reply=USER, headers=quota_headers(11)),
                            Call("GET", "/user/", reply=USER, headers=quota_headers(10)), quota_reserve=10)
    client.get("/user/")
    client.get("/user/")
    with pytest.raises(QuotaReserveReached, match="X-RateLimit-Remaining is 10 and quota_reserve is 10"):
        client.get("/user/")
    transport.assert_done()
    assert client.report()["requests"] == {"token": 1, "GET": 2, "total": 3, "retried": 0}   # the refused one: not sent


def test_quota_reserve_zero_never_sends_a_request_known_to_fail():
    transport, client = run(token(), Call("GET", "/user/", reply=USER, headers=quota_headers(0)))
    client.get("/user/")
    with pytest.raises(QuotaReserveReached):
        client.get("/user/")
    transport.assert_done()


def test_quota_reserve_forgets_figures_after_the_window_turned():
    now = [0.0]
    transport = ScriptedTransport(token(), Call("GET", "/user/", reply=USER, headers=quota_headers(0, reset=5)),
                                  Call("GET", "/user/", reply=USER, headers=quota_headers(999, reset=3600)))
    client = client_mod.ApiClient(make_client(transport).settings, transport=transport, sleep=lambda s: None,
                                  clock=lambda: now[0])
    client.get("/user/")
    now[0] = 6.0
    client.get("/user/")
    transport.assert_done()


@pytest.mark.parametrize("api_status, exc, hint", [
    ("access_denied", AccessDenied, "belong to the tenant"),
    ("user_blocked", AccessDenied, "blocked"),
    ("user_access_type_deny", AccessDenied, "read-only"),
    ("app_access_type_deny", AccessDenied, "'All' access level"),
])
def test_each_403_has_its_own_advice(api_status, exc, hint):
    transport, client = run(token(), Call("PUT", "/extension/54/phone/", status=403,
                                          reply={"status": api_status, "message": "Forbidden"}))
    with pytest.raises(exc, match=hint):
        client.put("/extension/54/phone/", {"label": "x"})
    transport.assert_done()


def test_validation_and_not_found_say_what_failed_in_our_words():
    transport, client = run(token(), Call("PUT", "/extension/54/phone/", status=400,
                                          reply={"status": "invalid_request", "message": "auth_type is invalid"}),
                            Call("GET", "/extension/9/phone/", status=404, reply={"message": "Extension not found"}))
    with pytest.raises(ValidationFailed, match=r"^PUT /extension/54/phone/: HTTP 400 invalid_request: the API refused "
                                               r"the values of auth_type: check those values"):
        client.put("/extension/54/phone/", {"auth_type": "x"})
    with pytest.raises(NotFound, match=r"^GET /extension/9/phone/: HTTP 404: not found: no such object") as err:
        client.get("/extension/9/phone/")
    assert "Extension not found" not in str(err.value)
    transport.assert_done()


@pytest.mark.parametrize("text, kind", [("<html><body>Welcome to nginx</body></html>", "HTML"),
                                        ('{"external_number": "+7', "malformed JSON")])
def test_malformed_replies_are_reported_not_traced(text, kind):
    transport, client = run(token(), Call("GET", "/extension/54/phone/", text=text))
    with pytest.raises(ProtocolError, match=kind):
        client.get("/extension/54/phone/")
    transport.assert_done()


@pytest.mark.parametrize("settings, message", [
    ({"app_id": None, "app_secret": None}, "no API credentials"),
    ({"api_url": "ftp://x"}, "not an http"),
    ({"api_url": "https://host/with space"}, "not an http"),
    ({"timeout": 0}, "timeout"),
    ({"quota_reserve": -1}, "quota_reserve"),
])
def test_settings_are_checked_before_any_request(settings, message):
    options = {"api_url": "https://api.test", "app_id": "a", "app_secret": "s"}
    options.update(settings)
    with pytest.raises(InputError, match=message):
        ConnectionSettings(**options)


def test_api_url_with_api_prefix_and_slash_is_accepted_and_token_url_derived():
    settings = ConnectionSettings(api_url="https://pbx.example.net/api/ver1.0/", app_id="a", app_secret="s")
    assert settings.api_url == "https://pbx.example.net"
    assert settings.token_url == "https://pbx.example.net/oauth/token"


def test_empty_options_count_as_unset_as_awx_injects_them():
    settings = ConnectionSettings.from_params({"api_url": "https://api.test", "app_id": "a", "app_secret": "s",
                                               "access_token": "", "token_url": "", "ca_path": ""})
    assert settings.access_token is None and settings.ca_path is None
    assert settings.token_url == "https://api.test/oauth/token"


# Regression (chaos suite, quota tests): with parallel workers sharing one client, every worker passed the
# reserve check on the same X-RateLimit-Remaining, so together they took the tenant below quota_reserve
# (150 limit, reserve 30, parallel 4: the emulator ended at 27 remaining).
def test_quota_reserve_counts_the_requests_still_in_flight():
    transport, client = run(token(), Call("GET", "/user/", reply=USER, headers=quota_headers(12)), quota_reserve=10)
    client.get("/user/")
    url = client.settings.api_url + API_PREFIX + "/user/"
    client.meter.take_slot(url)
    client.meter.take_slot(url)                                             # 12 -> 10 left once both are counted
    with pytest.raises(QuotaReserveReached, match="Remaining is 12 with 2 request.s. still in flight"):
        client.meter.take_slot(url)                                         # a third would leave 9
    client.meter.release_slot(charged=False)
    client.meter.release_slot(charged=False)


def test_a_reply_that_overtook_a_later_one_does_not_raise_the_remaining_count():
    transport, client = run(token(), Call("GET", "/user/", reply=USER, headers=quota_headers(20, reset=1000)),
                            Call("GET", "/user/", reply=USER, headers=quota_headers(25, reset=1000)),
                            Call("GET", "/user/", reply=USER, headers=quota_headers(999, reset=3600)))
    client.get("/user/")
    client.get("/user/")
    assert client.quota.remaining == 20
    client.get("/user/")                     # a later window end: a new window, the new figure counts
    assert client.quota.remaining == 999


def test_a_lost_reply_counts_as_a_request_charged():
    fail = TransportFailure("Connection reset by peer")
    transport, client = run(token(), Call("GET", "/user/", reply=USER, headers=quota_headers(11)),
                            Call("GET", "/user/", raises=fail), quota_reserve=10)
    client.get("/user/")
    with pytest.raises(QuotaReserveReached, match="Remaining is 10 and quota_reserve is 10"):
        client.get("/user/")                 # 11, then a lost reply: 10 left at best, so the retry is not sent
    transport.assert_done()


def test_quota_used_up_with_reserve_zero_says_so():
    transport, client = run(token(), Call("GET", "/user/", reply=USER, headers=quota_headers(0, reset=99)))
    client.get("/user/")
    with pytest.raises(QuotaReserveReached, match="quota is used up .X-RateLimit-Remaining is 0.: no further request "
                                                  "sent; the quota resets in 99 s"):
        client.get("/user/")
    transport.assert_done()


def _caused(exc, cause):
    exc.__cause__ = cause
    return exc


def _unverified():
    err = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                          "self-signed certificate (_ssl.c:1006)")
    err.verify_message = "self-signed certificate"
    return err


@pytest.mark.parametrize("exc, reason", [
    (_caused(urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection"),
             ConnectionRefusedError(111, "Connection refused")), "Connection refused"),
    (_caused(urllib3.exceptions.HTTPError("Failed to resolve 'pbx.invalid'"),
             socket.gaierror(-2, "Name or service not known")), "Name or service not known"),
    (urllib3.exceptions.ProtocolError("Connection aborted.",
                                      http.client.RemoteDisconnected("Remote end closed connection without response")),
     "the server closed the connection without a reply"),
    (urllib3.exceptions.SSLError(_unverified()), "certificate verify failed: self-signed certificate"),
])
def test_connection_error_reasons_are_short_and_readable(exc, reason):
    assert _transport._reason(exc) == reason


# Regression (chaos suite, two rollouts of one tenant at once, and one run against a provider that allows
# one request at a time): with a fixed number of workers the requests kept colliding and items failed
# after 5 attempts of "concurrent request" 429. The gate adapts how many requests are sent at once.
def test_concurrency_gate_halves_on_a_concurrent_429_and_recovers_after_calm():
    now = [0.0]
    gate = _quota.ConcurrencyGate(4, clock=lambda: now[0])
    for worker in range(4):
        gate.acquire()
    assert gate.active == 4
    gate.release(refused=True)
    gate.release(refused=True)
    assert gate.limit == 1
    gate.release(refused=False)
    gate.release(refused=False)
    assert gate.limit == 1                       # no recovery right after the 429s
    now[0] = _quota.GATE_RECOVERY + 0.1
    gate.acquire()
    gate.release(refused=False)
    assert gate.limit == 2                       # one more after a calm period, and so on up to the pool size
    for step in range(2, 6):
        now[0] = step * (_quota.GATE_RECOVERY + 0.1)
        gate.acquire()
        gate.release(refused=False)
    assert gate.limit == 4


def test_concurrent_429_narrows_the_gate_of_the_client():
    transport = ScriptedTransport(
        token(), Call("GET", "/user/", status=429, reply={"message": "Parallel concurrent request not allowed"},
                      headers={"Retry-After": "1"}),
        Call("GET", "/user/", reply=USER))
    client = client_mod.ApiClient(make_client(transport).settings, transport=transport, pool_size=4,
                                  sleep=lambda s: None)
    assert client._gate.limit == 4
    assert client.get("/user/") == USER
    assert client._gate.limit == 2 and client._gate.active == 0
    transport.assert_done()


def test_gate_blocks_workers_beyond_the_limit():
    gate = _quota.ConcurrencyGate(2)
    gate.acquire()
    gate.acquire()
    entered = threading.Event()

    def third():
        gate.acquire()
        entered.set()

    worker = threading.Thread(target=third, daemon=True)
    worker.start()
    assert not entered.wait(0.2)
    gate.release(refused=False)
    assert entered.wait(2)
    worker.join(2)


class HookedTransport(ScriptedTransport):
    """Runs ``hooks[n]`` (another worker's progress) just before answering the n-th call."""

    def __init__(self, *calls, hooks=None):
        super().__init__(*calls)
        self.hooks = hooks or {}

    def send(self, method, url, **kwargs):
        hook = self.hooks.get(len(self.sent))
        if hook:
            self.hooks.pop(len(self.sent))
            hook()
        return super().send(method, url, **kwargs)


# Regression (chaos suite): a slow reply came back 401 for token A after another worker had already replaced A
# by B, and B had been revoked meanwhile too. The repeat with B got 401 and the client reported "refused again
# after a fresh one was fetched" - though it had fetched none - which stopped the whole bulk run.
def test_a_stale_token_from_another_worker_refused_too_gets_one_fresh_token():
    transport = HookedTransport(
        token("tok-A"), Call("GET", "/user/", reply=USER),
        # worker 2 meanwhile: 401 with A, fetches B, succeeds
        Call("GET", "/other/", status=401), token("tok-B"), Call("GET", "/other/", reply={}),
        Call("GET", "/user/", status=401),                         # worker 1's slow reply: A refused
        Call("GET", "/user/", status=401),                         # repeat with B: B revoked meanwhile
        token("tok-C"), Call("GET", "/user/", reply=USER))         # one fresh token, and it works
    client = make_client(transport)
    client.get("/user/")
    transport.hooks[2] = lambda: client.get("/other/")
    assert client.get("/user/") == USER
    transport.assert_done()
    assert [c["headers"].get("Authorization") for c in transport.sent if c["path"] == "/user/"] == \
        ["Bearer tok-A", "Bearer tok-A", "Bearer tok-B", "Bearer tok-C"]
    assert client.tokens_issued == 3
