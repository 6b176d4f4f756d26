"""The engine under provider faults (issue 13): token churn, HTTP 500, bundles without a bundle listing.

Every HTTP call is scripted in order (tests/unit/scripted.py).
"""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils import _client as client_mod
from ansible_collections.telphin.pbx.plugins.module_utils._api import PER_PAGE
from ansible_collections.telphin.pbx.plugins.module_utils._bulk import run_extension_phones
from ansible_collections.telphin.pbx.plugins.module_utils._errors import (
    AuthenticationError, QuotaExhausted, RunFailed, TelphinError, TransientError, TransportFailure)
from ansible_collections.telphin.pbx.plugins.module_utils._settings import ConnectionSettings
from ansible_collections.telphin.pbx.plugins.module_utils._tokens import FRESH_RENEWALS, FRESH_SECONDS, REQUEST_REFUSALS
from scripted import API, TOKEN_URL, Call, ScriptedTransport, make_client, quota_headers, token

USER = {"id": 1, "client_id": 1001}
REFUSED = {"message": "Access token has been revoked", "status": "invalid_token"}
BOOM = {"message": "Internal server error"}
PHONE = {"external_number": None, "label": "Reception", "record_format": "mp3_mono", "dtmf_mode": "rfc2833"}
EXTENSIONS = [{"id": 54, "name": "000*100", "type": "phone"}, {"id": 55, "name": "000*101", "type": "phone"},
              {"id": 56, "name": "000*102", "type": "phone"}]
# The extension list: a page shorter than ours, then the empty page that shows it was the last one.
LIST = (Call("GET", "/client/@me/extension/", reply=EXTENSIONS, params={"page": 1, "per_page": PER_PAGE}),
        Call("GET", "/client/@me/extension/", reply=[], params={"page": 2, "per_page": PER_PAGE}))
NO_BUNDLES = Call("GET", "/client/@me/extensions_bundle/", status=404, reply={"message": "Not found",
                                                                              "status": "not_found"})
NUMBER = "+79000000001"


def run(*calls, **settings):
    transport = ScriptedTransport(*calls)
    return transport, make_client(transport, **settings)


def refused():
    return Call("GET", "/user/", status=401, reply=REFUSED)


def bulk(calls, check_mode=False, **params):
    """``run_extension_phones`` over a scripted transport, sequential; returns (result or RunFailed, client,
    warnings)."""
    transport = ScriptedTransport(*calls)
    client = make_client(transport)
    warnings = []
    params.setdefault("parallel", 1)
    try:
        outcome = run_extension_phones(client, params, check_mode, client.secrets.add, warnings.append)
    except RunFailed as exc:
        outcome = exc
    transport.assert_done()
    return outcome, client, warnings


def items(outcome):
    result = outcome.result if isinstance(outcome, RunFailed) else outcome
    return {r["extension"]: r for r in result["results"]}


# -- token churn ------------------------------------------------------------------------------------
def fresh_refusals(count, path="/user/"):
    """``count`` fresh tokens, each refused on its first use (the first one is the run's first token)."""
    calls = []
    for n in range(count):
        calls += [token("tok-fresh-%d" % n), Call("GET", path, status=401, reply=REFUSED)]
    return calls


class Clock:
    """A monotonic clock the test moves on."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_token_that_served_requests_is_renewed_whenever_it_is_refused_later():
    rounds = 2 * FRESH_RENEWALS + 10
    calls = [token("tok-0"), Call("GET", "/user/", reply=USER)]
    for n in range(1, rounds + 1):
        calls += [refused(), token("tok-%d" % n), Call("GET", "/user/", reply=USER)]
    transport, client = run(*calls)
    for n in range(rounds + 1):
        assert client.get("/user/") == USER
    transport.assert_done()
    assert client.tokens_issued == rounds + 1
    assert client.report()["requests"]["token"] == rounds + 1


def test_the_token_endpoint_refusing_the_credentials_stops_at_once():
    transport, client = run(token(status=401))
    with pytest.raises(AuthenticationError, match="the token endpoint refused app_id 'app-1'") as err:
        client.get("/user/")
    transport.assert_done()                                   # one call: no retry, no API request
    assert err.value.http_status == 401 and client.tokens_issued == 0


def test_the_token_endpoint_refusing_a_renewal_stops_at_once():
    transport, client = run(token("tok-A"), Call("GET", "/user/", reply=USER), refused(), token(status=400))
    client.get("/user/")
    with pytest.raises(AuthenticationError, match="the token endpoint refused app_id 'app-1' .HTTP 400"):
        client.get("/user/")
    transport.assert_done()


# Regression (issue 25): under churn the run's first token was revoked before its first use; the client took
# that for credentials the API refuses and stopped the tenant before it read its extension list (200 items,
# no per-item results).
def test_a_fresh_token_revoked_before_any_success_of_the_run_is_renewed():
    transport, client = run(token("tok-A"), refused(), token("tok-B"), refused(), token("tok-C"),
                            Call("GET", "/user/", reply=USER))
    assert client.get("/user/") == USER
    transport.assert_done()
    assert [c["headers"].get("Authorization") for c in transport.sent if c["path"] == "/user/"] == \
        ["Bearer tok-A", "Bearer tok-B", "Bearer tok-C"]


def test_fresh_tokens_refused_before_any_success_stop_the_run_after_the_bound():
    # The token endpoint accepts the app, the API refuses every token it issues (a blocked user): each
    # fresh token costs one refused request; the one past the bound stops the run without a further token.
    transport, client = run(*fresh_refusals(FRESH_RENEWALS + 1))
    with pytest.raises(AuthenticationError) as err:
        client.get("/user/")
    transport.assert_done()
    assert str(err.value).startswith("GET /user/: HTTP 401: %d fresh tokens in a row were refused before they served "
                                     "a request" % (FRESH_RENEWALS + 1))
    assert "no request of this run got through" in str(err.value) and "is the app's user blocked" in str(err.value)
    assert client.tokens_issued == FRESH_RENEWALS + 1


def test_a_renewed_token_refused_before_its_first_use_is_renewed_again_once_the_credentials_have_worked():
    # Regression (chaos suite): the background revoked the fresh token before the repeat got through; the
    # client took that for bad credentials and stopped the tenant's run (61 % of the items not processed).
    transport, client = run(token("tok-A"), Call("GET", "/user/", reply=USER),
                            refused(), token("tok-B"), refused(), token("tok-C"), Call("GET", "/user/", reply=USER))
    client.get("/user/")
    assert client.get("/user/") == USER
    transport.assert_done()
    assert [c["headers"].get("Authorization") for c in transport.sent if c["path"] == "/user/"] == \
        ["Bearer tok-A", "Bearer tok-A", "Bearer tok-B", "Bearer tok-C"]


def test_streaks_of_fresh_tokens_refused_are_bounded_each_not_per_run():
    # Each round: the working token is refused, then FRESH_RENEWALS fresh ones in a row before one works; a
    # request that gets through ends the streak. Twenty such rounds (the former rule stopped after 10 per run).
    calls = [token("tok-0"), Call("GET", "/user/", reply=USER)]
    for n in range(20):
        calls += [refused()] + fresh_refusals(FRESH_RENEWALS) + [token("tok-ok-%d" % n), Call("GET", "/user/", reply=USER)]
    transport, client = run(*calls)
    for n in range(21):
        assert client.get("/user/") == USER
    transport.assert_done()
    assert client.tokens_issued == 1 + 20 * (FRESH_RENEWALS + 1)
    # ... and the streak past the bound stops the run, saying why, without a further token
    transport.script += [refused()] + fresh_refusals(FRESH_RENEWALS + 1)
    with pytest.raises(AuthenticationError, match=r"^GET /user/: HTTP 401: %d fresh tokens in a row were refused "
                       r"before they served a request \(0 s\): tokens are revoked as fast as they are issued; the run "
                       r"stopped to spare the tenant's quota, try later$" % (FRESH_RENEWALS + 1)):
        client.get("/user/")
    transport.assert_done()
    assert client.tokens_issued == 1 + 20 * (FRESH_RENEWALS + 1) + FRESH_RENEWALS + 1


class ClockedTransport(ScriptedTransport):
    """Moves ``clock`` on by ``step`` seconds before each API request sent with a token other than the first."""

    def __init__(self, clock, step, *calls):
        super().__init__(*calls)
        self.clock, self.step = clock, step

    def send(self, method, url, **kwargs):
        if url != TOKEN_URL and kwargs["headers"].get("Authorization") != "Bearer tok-A":
            self.clock.now += self.step
        return super().send(method, url, **kwargs)


def test_fresh_tokens_refused_are_renewed_only_within_the_time_bound():
    clock = Clock()
    transport = ClockedTransport(clock, FRESH_SECONDS + 1, token("tok-A"), Call("GET", "/user/", reply=USER),
                                 refused(), token("tok-B"), refused(), token("tok-C"), refused())
    client = client_mod.ApiClient(ConnectionSettings(api_url=API, app_id="app-1", app_secret="s3cret-app"),
                                  transport=transport, sleep=lambda s: None, clock=clock)
    client.get("/user/")
    with pytest.raises(AuthenticationError, match=r"2 fresh tokens in a row were refused before they served a request "
                       r"\(%d s\): tokens are revoked as fast" % (FRESH_SECONDS + 1)):
        client.get("/user/")
    transport.assert_done()
    assert client.tokens_issued == 3


def test_one_request_refused_again_and_again_fails_after_its_attempts_not_the_run():
    calls = [token("tok-0"), Call("GET", "/user/", reply=USER), Call("GET", "/other/", reply={})]
    transport = HookedTransport(*calls)
    client = make_client(transport)
    client.get("/user/")
    client.get("/other/")
    # every renewed token serves another worker's request, then this request's repeat is refused again
    for n in range(1, REQUEST_REFUSALS):
        transport.script += [refused(), token("tok-%d" % n), Call("GET", "/other/", reply={})]
        transport.hooks[len(transport.sent) + 3 * (n - 1) + 2] = lambda: client.get("/other/")
    transport.script.append(refused())
    with pytest.raises(TransientError, match="HTTP 401 %d times, with a renewed token each time" % REQUEST_REFUSALS):
        client.get("/user/")
    transport.assert_done()
    transport.script.append(Call("GET", "/other/", reply={}))       # the token works: the run goes on
    assert client.get("/other/") == {}
    transport.assert_done()


# Regression (issue 25, the 20 % chaos round): a worker picked its token, then waited at the concurrency gate
# (halved by a "concurrent" 429) while another worker renewed it, and sent the refused token: one 401 more.
def test_a_request_waiting_at_the_gate_sends_the_token_renewed_meanwhile():
    transport, client = run(token("tok-A"), Call("GET", "/user/", reply=USER), token("tok-B"),
                            Call("GET", "/user/", reply=USER))
    client.get("/user/")
    gate = client._gate                                 # pylint: disable=protected-access
    for _slot in range(gate.limit):                     # every slot taken by other workers' requests
        gate.acquire()
    waiting = threading.Thread(target=client.get, args=("/user/",))
    waiting.start()
    time.sleep(0.2)                                     # it waits at the gate
    client.tokens.renew("tok-A", "GET /other/", "invalid_token")      # another worker's request was refused
    for _slot in range(gate.limit):
        gate.release(False)
    waiting.join(5)
    transport.assert_done()
    assert [c["headers"].get("Authorization") for c in transport.sent if c["path"] == "/user/"] == \
        ["Bearer tok-A", "Bearer tok-B"]


def test_a_run_whose_first_tokens_are_revoked_before_the_extension_list_is_read_processes_every_item():
    outcome, client, _warnings = bulk([
        token("tok-A"), Call("GET", "/client/@me/extension/", status=401, reply=REFUSED,
                             params={"page": 1, "per_page": PER_PAGE}),
        token("tok-B"), Call("GET", "/client/@me/extension/", status=401, reply=REFUSED,
                             params={"page": 1, "per_page": PER_PAGE}),
        token("tok-C"), *LIST, Call("GET", "/extension/54/phone/", reply=PHONE),
        Call("PUT", "/extension/54/phone/", body={"external_number": NUMBER},
             reply=dict(PHONE, external_number=NUMBER))],
        bindings=[{"extension": "100", "external_number": NUMBER}])
    assert outcome["summary"]["changed"] == 1 and client.tokens_issued == 3


def test_fresh_tokens_refused_past_the_bound_mid_run_stop_it_with_a_result_per_item():
    outcome, client, _warnings = bulk([
        token("tok-A"), *LIST, Call("GET", "/extension/54/phone/", reply=PHONE),
        Call("PUT", "/extension/54/phone/", body={"external_number": NUMBER},
             reply=dict(PHONE, external_number=NUMBER)),
        Call("GET", "/extension/55/phone/", status=401, reply=REFUSED),
        *fresh_refusals(FRESH_RENEWALS + 1, "/extension/55/phone/")],
        bindings=[{"extension": "100", "external_number": NUMBER}, {"extension": "101", "label": "Lobby"},
                  {"extension": "102", "label": "Hall"}])
    assert isinstance(outcome, RunFailed)
    by_name = items(outcome)
    assert by_name["100"]["status"] == "changed"
    stop = "GET /extension/55/phone/: HTTP 401: %d fresh tokens in a row were refused" % (FRESH_RENEWALS + 1)
    assert by_name["101"]["status"] == "failed" and by_name["101"]["error"].startswith(stop)
    assert by_name["102"]["status"] == "skipped" and by_name["102"]["error"].startswith("not processed: " + stop)
    assert "2 of 3 extension(s) failed or were not processed" in str(outcome)
    assert stop in str(outcome) and "tokens are revoked as fast as they are issued" in str(outcome)
    assert client.tokens_issued == FRESH_RENEWALS + 2


def test_a_stale_token_from_another_worker_refused_too_gets_one_fresh_token_and_more_if_needed():
    transport = HookedTransport(
        token("tok-A"), Call("GET", "/user/", reply=USER),
        Call("GET", "/other/", status=401), token("tok-B"), Call("GET", "/other/", reply={}),
        Call("GET", "/user/", status=401),                         # worker 1's slow reply: A refused
        Call("GET", "/user/", status=401),                         # repeat with B: B revoked meanwhile
        token("tok-C"), Call("GET", "/user/", status=401),         # C revoked before its first use
        token("tok-D"), Call("GET", "/user/", reply=USER))         # D works
    client = make_client(transport)
    client.get("/user/")
    transport.hooks[2] = lambda: client.get("/other/")
    assert client.get("/user/") == USER
    transport.assert_done()
    assert client.tokens_issued == 4


class HookedTransport(ScriptedTransport):
    """Runs ``hooks[n]`` (another worker's progress) just before answering the n-th call."""

    def __init__(self, *calls):
        super().__init__(*calls)
        self.hooks = {}

    def send(self, method, url, **kwargs):
        hook = self.hooks.pop(len(self.sent), None)
        if hook:
            hook()
        return super().send(method, url, **kwargs)


def test_a_request_in_flight_when_another_worker_renewed_the_token_is_repeated_with_the_new_token():
    transport = HookedTransport(
        token("tok-A"), Call("GET", "/user/", reply=USER),
        Call("GET", "/other/", status=401, reply=REFUSED), token("tok-B"), Call("GET", "/other/", reply={}),
        Call("GET", "/user/", status=401, reply=REFUSED),             # the slow reply: A refused
        Call("GET", "/user/", reply=USER))                            # repeated with B, no third token
    client = make_client(transport)
    client.get("/user/")
    transport.hooks[2] = lambda: client.get("/other/")
    assert client.get("/user/") == USER
    transport.assert_done()
    assert client.tokens_issued == 2


def test_a_put_refused_with_an_expired_token_is_repeated_with_a_renewed_one_and_the_item_applied():
    outcome, client, _warnings = bulk([
        token("tok-A"), *LIST, Call("GET", "/extension/54/phone/", reply=PHONE),
        Call("PUT", "/extension/54/phone/", status=401, reply=REFUSED), token("tok-B"),
        Call("PUT", "/extension/54/phone/", body={"external_number": NUMBER},
             reply=dict(PHONE, external_number=NUMBER))],
        bindings=[{"extension": "100", "external_number": NUMBER}])
    assert outcome["summary"]["changed"] == 1 and client.tokens_issued == 2


# -- HTTP 500 ------------------------------------------------------------------------------------------
def test_a_get_that_gets_a_500_is_retried_and_counted():
    transport, client = run(token(), Call("GET", "/user/", status=500, reply=BOOM), Call("GET", "/user/", reply=USER))
    assert client.get("/user/") == USER
    transport.assert_done()
    assert client.report()["requests"] == {"token": 1, "GET": 2, "total": 3, "retried": 1}


def test_a_500_of_the_token_endpoint_is_retried():
    # Regression (issue 25, the 20 % chaos round): a renewal that got a 500 failed the item it was made for.
    transport, client = run(token(status=500), token("tok-A"), Call("GET", "/user/", reply=USER))
    assert client.get("/user/") == USER
    transport.assert_done()
    assert client.report()["requests"] == {"token": 2, "GET": 1, "total": 3, "retried": 1}


def test_500s_on_a_get_are_bounded_like_every_retry():
    calls = [token()] + [Call("GET", "/user/", status=500, reply=BOOM) for n in range(client_mod.MAX_ATTEMPTS)]
    transport, client = run(*calls)
    with pytest.raises(TransientError, match="GET /user/ failed after 5 attempt.*HTTP 500"):
        client.get("/user/")
    transport.assert_done()


def test_a_put_that_gets_a_500_is_not_repeated_by_the_client():
    transport, client = run(token(), Call("PUT", "/extension/54/phone/", status=500, reply=BOOM))
    with pytest.raises(TelphinError) as err:
        client.put("/extension/54/phone/", {"label": "x"})
    transport.assert_done()
    assert err.value.http_status == 500


def test_a_quota_429_is_still_never_retried():
    transport, client = run(token(), Call("GET", "/user/", status=429, headers=quota_headers(0),
                                          reply={"status": "rate_limit_exceeded", "message": "limit"}))
    with pytest.raises(QuotaExhausted):
        client.get("/user/")
    transport.assert_done()


def test_a_500_on_a_page_of_the_extension_list_is_retried_and_the_run_goes_on():
    outcome, client, _warnings = bulk([
        token(), Call("GET", "/client/@me/extension/", status=500, reply=BOOM), *LIST,
        Call("GET", "/extension/54/phone/", reply=dict(PHONE, external_number=NUMBER))],
        bindings=[{"extension": "100", "external_number": NUMBER}])
    assert outcome["summary"]["unchanged"] == 1 and client.report()["requests"]["retried"] == 1


def test_a_put_500_then_a_read_showing_the_change_reports_it_changed():
    outcome, client, _warnings = bulk([
        token(), *LIST, Call("GET", "/extension/54/phone/", reply=PHONE),
        Call("PUT", "/extension/54/phone/", status=500, reply=BOOM),
        Call("GET", "/extension/54/phone/", reply=dict(PHONE, external_number=NUMBER))],
        bindings=[{"extension": "100", "external_number": NUMBER}], report_unchanged=True)
    item = items(outcome)["100"]
    assert item["status"] == "changed" and item["after"] == {"external_number": NUMBER}
    assert client.report()["requests"]["PUT"] == 1


def test_a_put_500_then_a_read_without_the_change_repeats_the_put_once():
    outcome, client, _warnings = bulk([
        token(), *LIST, Call("GET", "/extension/54/phone/", reply=PHONE),
        Call("PUT", "/extension/54/phone/", status=500, reply=BOOM),
        Call("GET", "/extension/54/phone/", reply=PHONE),
        Call("PUT", "/extension/54/phone/", body={"external_number": NUMBER},
             reply=dict(PHONE, external_number=NUMBER))],
        bindings=[{"extension": "100", "external_number": NUMBER}])
    assert items(outcome)["100"]["status"] == "changed"
    assert client.report()["requests"]["PUT"] == 2


def test_a_repeated_put_that_gets_a_500_again_is_decided_by_one_more_read():
    outcome, _client, _warnings = bulk([
        token(), *LIST, Call("GET", "/extension/54/phone/", reply=PHONE),
        Call("PUT", "/extension/54/phone/", status=500, reply=BOOM),
        Call("GET", "/extension/54/phone/", reply=PHONE),
        Call("PUT", "/extension/54/phone/", status=500, reply=BOOM),
        Call("GET", "/extension/54/phone/", reply=dict(PHONE, external_number=NUMBER))],
        bindings=[{"extension": "100", "external_number": NUMBER}])
    assert items(outcome)["100"]["status"] == "changed"


def test_a_put_that_fails_twice_with_500_fails_the_item_reporting_what_the_api_holds():
    outcome, client, _warnings = bulk([
        token(), *LIST, Call("GET", "/extension/54/phone/", reply=PHONE),
        Call("PUT", "/extension/54/phone/", status=500, reply=BOOM),
        Call("GET", "/extension/54/phone/", reply=PHONE),
        Call("PUT", "/extension/54/phone/", status=500, reply=BOOM),
        Call("GET", "/extension/54/phone/", reply=PHONE),
        Call("GET", "/extension/55/phone/", reply=PHONE)],
        bindings=[{"extension": "100", "external_number": NUMBER}, {"extension": "101", "label": "Reception"}])
    assert isinstance(outcome, RunFailed)
    item = items(outcome)["100"]
    assert item["status"] == "failed" and "HTTP 500" in item["error"]
    assert item["after"] == {"external_number": None}             # what the API holds, read after the PUTs
    assert client.report()["requests"]["PUT"] == 2                 # repeated once, not more


# -- bundles without a bundle listing ------------------------------------------------------------------
def put_format(ext_id, value, reply=None):
    return Call("PUT", "/extension/%d/phone/" % ext_id, body={"record_format": value},
                reply=reply or dict(PHONE, record_format=value))


def test_without_a_bundle_listing_a_value_overwritten_by_another_listed_member_is_a_bundle_conflict():
    outcome, client, warnings = bulk([
        token(), *LIST, NO_BUNDLES,
        Call("GET", "/extension/54/phone/", reply=PHONE), put_format(54, "mp3_stereo"),
        Call("GET", "/extension/55/phone/", reply=dict(PHONE, record_format="mp3_stereo")),   # synchronised
        put_format(55, "wav_mono"),                                                           # ... and back
        Call("GET", "/extension/56/phone/", reply=PHONE),
        Call("PUT", "/extension/56/phone/", body={"label": "Hall"}, reply=dict(PHONE, label="Hall")),
        # after the writes: only the phones whose synchronised keys were written (not 56: label only)
        Call("GET", "/extension/54/phone/", reply=dict(PHONE, record_format="wav_mono")),
        Call("GET", "/extension/55/phone/", reply=dict(PHONE, record_format="wav_mono"))],
        bindings=[{"extension": "100", "record_format": "mp3_stereo"},
                  {"extension": "101", "record_format": "wav_mono"}, {"extension": "102", "label": "Hall"}])
    assert isinstance(outcome, RunFailed)
    found = items(outcome)
    assert found["101"]["status"] == "changed" and found["102"]["status"] == "changed"
    loser = found["100"]
    assert loser["status"] == "failed" and loser["after"] == {"record_format": "wav_mono"}
    for needle in ("bundle conflict", "record_format", "000*100", "000*101", "mp3_stereo", "wav_mono"):
        assert needle in loser["error"] and needle in str(outcome)
    assert outcome.result["summary"]["failed"] == 1
    assert len(warnings) == 1 and "read back" in warnings[0]


def test_without_a_bundle_listing_agreeing_members_pass_after_the_read_back():
    outcome, client, _warnings = bulk([
        token(), *LIST, NO_BUNDLES,
        Call("GET", "/extension/54/phone/", reply=PHONE), put_format(54, "wav_mono"),
        Call("GET", "/extension/55/phone/", reply=dict(PHONE, record_format="wav_mono")),
        Call("GET", "/extension/54/phone/", reply=dict(PHONE, record_format="wav_mono"))],
        bindings=[{"extension": "100", "record_format": "wav_mono"}, {"extension": "101", "record_format": "wav_mono"}])
    assert not isinstance(outcome, RunFailed)
    assert outcome["summary"] == {"total": 2, "changed": 1, "unchanged": 1, "failed": 0, "skipped": 0}


def test_bundle_listing_false_skips_the_request_and_its_warning_and_still_reads_back():
    # issue 23: a provider known (api_info's no_bundle_listing) not to list bundles; said in the result, not warned
    outcome, client, warnings = bulk([
        token(), *LIST,
        Call("GET", "/extension/54/phone/", reply=PHONE), put_format(54, "wav_mono"),
        Call("GET", "/extension/55/phone/", reply=dict(PHONE, record_format="wav_mono")),
        Call("GET", "/extension/54/phone/", reply=dict(PHONE, record_format="wav_mono"))],
        bindings=[{"extension": "100", "record_format": "wav_mono"}, {"extension": "101", "record_format": "wav_mono"}],
        bundle_listing=False)
    assert not isinstance(outcome, RunFailed) and warnings == []
    assert outcome["bundle_listing"] == "not asked (bundle_listing: false): bundle conflicts are looked for after " \
        "the writes" and client.report()["requests"]["GET"] == 5
    outcome, client, warnings = bulk([token(), *LIST, Call("GET", "/extension/56/phone/", reply=PHONE)],
                                     bindings=[{"extension": "102", "label": "Reception"}], bundle_listing=False)
    assert "bundle_listing" not in outcome and warnings == []     # no synchronised key: nothing to say


def test_an_apply_run_with_bundle_listing_false_says_so_in_its_result_too(tmp_path):
    """issue 31 item 8: the result of an apply_plan run lacked the key a normal run has."""
    said = "not asked (bundle_listing: false): bundle conflicts are looked for after the writes"
    path = tmp_path / "plan.json"
    bindings = [{"extension": "100", "record_format": "wav_mono"}]
    planned, client, warnings = bulk([token(), *LIST, Call("GET", "/extension/54/phone/", reply=PHONE)], True,
                                     bindings=bindings, plan_path=str(path), bundle_listing=False)
    assert planned["bundle_listing"] == said and path.exists()
    applied, client, warnings = bulk([
        token(), *LIST,
        Call("GET", "/extension/54/phone/", reply=PHONE), put_format(54, "wav_mono"),
        Call("GET", "/extension/54/phone/", reply=dict(PHONE, record_format="wav_mono"))],      # the read-back
        apply_plan=str(path), bundle_listing=False)
    assert not isinstance(applied, RunFailed) and warnings == [] and applied["summary"]["changed"] == 1
    assert applied["bundle_listing"] == said
    applied, client, warnings = bulk([token(), *LIST, Call("GET", "/extension/54/phone/",
                                                           reply=dict(PHONE, record_format="wav_mono"))],
                                     apply_plan=str(path), bundle_listing=False)
    assert applied["bundle_listing"] == said and applied["summary"]["changed"] == 0     # said whether or not it wrote


def test_a_member_read_unchanged_before_another_member_wrote_a_different_value_is_read_back_too():
    # 101 is read first and already holds its value; then 100's write sets mp3_stereo on both. Reading back
    # only 100 would report 101 "unchanged" while the API holds another value.
    outcome, _client, _warnings = bulk([
        token(), *LIST, NO_BUNDLES,
        Call("GET", "/extension/55/phone/", reply=dict(PHONE, record_format="wav_mono")),
        Call("GET", "/extension/54/phone/", reply=dict(PHONE, record_format="wav_mono")),
        put_format(54, "mp3_stereo"),
        Call("GET", "/extension/55/phone/", reply=dict(PHONE, record_format="mp3_stereo")),
        Call("GET", "/extension/54/phone/", reply=dict(PHONE, record_format="mp3_stereo"))],
        bindings=[{"extension": "101", "record_format": "wav_mono"},
                  {"extension": "100", "record_format": "mp3_stereo"}])
    assert isinstance(outcome, RunFailed)
    found = items(outcome)
    assert found["101"]["status"] == "failed" and "000*100" in found["101"]["error"]
    assert found["100"]["status"] == "changed"


def test_the_read_back_is_skipped_in_check_mode_and_when_the_api_lists_bundles():
    outcome, _client, _warnings = bulk(
        [token(), *LIST, NO_BUNDLES, Call("GET", "/extension/54/phone/", reply=PHONE)],
        check_mode=True, bindings=[{"extension": "100", "record_format": "wav_mono"}])
    assert outcome["summary"]["changed"] == 1
    outcome, _client, warnings = bulk([
        token(), *LIST, Call("GET", "/client/@me/extensions_bundle/", reply=[{"bundle_id": 54, "bundle_list": [54]}]),
        Call("GET", "/extension/54/phone/", reply=PHONE), put_format(54, "wav_mono")],
        bindings=[{"extension": "100", "record_format": "wav_mono"}])
    assert outcome["summary"]["changed"] == 1 and warnings == []


# -- the same decision point after other errors that may follow an applied PUT (issue 12 item 7) -----------
@pytest.mark.parametrize("put_calls", [
    [Call("PUT", "/extension/54/phone/", text='{"external_number": "+7900')],                     # reply cut
    [Call("PUT", "/extension/54/phone/", raises=TransportFailure("Connection aborted"))] * 5,     # retries ran out
], ids=["cut", "lost"])
def test_a_put_whose_reply_is_lost_or_cut_is_decided_by_a_read_and_never_repeated(put_calls):
    applied, client, _warnings = bulk(
        [token(), *LIST, Call("GET", "/extension/54/phone/", reply=PHONE)] + put_calls +
        [Call("GET", "/extension/54/phone/", reply=dict(PHONE, external_number=NUMBER))],
        bindings=[{"extension": "100", "external_number": NUMBER}])
    assert applied["summary"]["changed"] == 1
    not_applied, client, _warnings = bulk(
        [token(), *LIST, Call("GET", "/extension/54/phone/", reply=PHONE)] + put_calls +
        [Call("GET", "/extension/54/phone/", reply=PHONE)],
        bindings=[{"extension": "100", "external_number": NUMBER}])
    item = items(not_applied)["100"]
    assert item["status"] == "failed" and "the phone shows external_number=None" in item["error"]
    assert client.report()["requests"]["PUT"] == len(put_calls)          # only a 500's PUT is repeated


def test_a_refused_put_is_not_read_again():
    outcome, client, _warnings = bulk(
        [token(), *LIST, Call("GET", "/extension/54/phone/", reply=PHONE),
         Call("PUT", "/extension/54/phone/", status=400, reply={"message": "no", "status": "invalid_request"})],
        bindings=[{"extension": "100", "external_number": NUMBER}])
    assert items(outcome)["100"]["status"] == "failed" and client.report()["requests"]["GET"] == 3  # 2 list pages, 1 phone


def test_a_password_alone_cannot_be_read_back_so_the_puts_error_stands():
    outcome, client, _warnings = bulk(
        [token(), *LIST, Call("GET", "/extension/54/phone/", reply=PHONE),
         Call("PUT", "/extension/54/phone/", status=500, reply=BOOM)],
        bindings=[{"extension": "100", "password": "Sip-Pass-4711"}])
    item = items(outcome)["100"]
    assert item["status"] == "failed" and "HTTP 500" in item["error"] and "Sip-Pass-4711" not in str(outcome)
    assert client.report()["requests"] == {"token": 1, "GET": 3, "PUT": 1, "total": 5, "retried": 0}


def test_the_connection_docs_state_the_renewal_bounds():
    # the option texts say what the user needs; the troubleshooting guide has the bounds
    from pathlib import Path
    guide = Path(__file__).resolve().parents[4] / "docs" / "docsite" / "rst" / "troubleshooting.rst"
    text = " ".join(guide.read_text().split())
    assert "at most %d times in a row and within %d seconds" % (FRESH_RENEWALS, FRESH_SECONDS) in text
    assert "one request was refused %d times" % REQUEST_REFUSALS in text
