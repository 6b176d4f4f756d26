"""Regressions of the security and robustness review (issue 12), each reproduced with scripted HTTP calls.

Item numbers refer to the issue. Items 3 and 4 (inventory plugin) and 15 (paging) are tested elsewhere.
"""

from __future__ import annotations

import json
import math

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils import _client as client_mod
from ansible_collections.telphin.pbx.plugins.module_utils import _converge
from ansible_collections.telphin.pbx.plugins.module_utils._api import PER_PAGE
from ansible_collections.telphin.pbx.plugins.module_utils._bulk import run_extension_phones
from ansible_collections.telphin.pbx.plugins.module_utils._converge import run_extension_phone
from ansible_collections.telphin.pbx.plugins.module_utils._errors import (
    InputError, ProtocolError, RunFailed, TelphinError, TransportFailure, ValidationFailed)
from ansible_collections.telphin.pbx.plugins.module_utils._phone import normalize_number
from ansible_collections.telphin.pbx.plugins.module_utils._secrets import is_secret_key, redact, registrable
from ansible_collections.telphin.pbx.plugins.module_utils._settings import ConnectionSettings
from scripted import Call, ScriptedTransport, make_client, quota_headers, token

PHONE = {"external_number": None, "label": "Reception", "auth_type": "digest"}
EXTENSIONS = [{"id": 54, "name": "000*100", "type": "phone"}, {"id": 55, "name": "000*101", "type": "phone"}]
# The extension list: a page shorter than ours, then the empty page that shows it was the last one.
LIST = (Call("GET", "/client/@me/extension/", reply=EXTENSIONS, params={"page": 1, "per_page": PER_PAGE}),
        Call("GET", "/client/@me/extension/", reply=[], params={"page": 2, "per_page": PER_PAGE}))
NUMBER = "+79000000001"
LIVE_TOKEN = "Live-Token-7f3a9c2e11d04b"


def single(calls, check_mode=False, **params):
    transport = ScriptedTransport(*calls)
    client = make_client(transport)
    try:
        return run_extension_phone(client, params, check_mode, client.secrets.add), client
    finally:
        transport.assert_done()


def bulk(calls, check_mode=False, **params):
    transport = ScriptedTransport(*calls)
    client = make_client(transport)
    params.setdefault("parallel", 1)
    try:
        return run_extension_phones(client, params, check_mode, client.secrets.add, lambda w: None), client
    finally:
        transport.assert_done()


def bulk_failure(calls, **params):
    """A bulk run that fails as a whole: its result (the RunFailed's) and the client."""
    transport = ScriptedTransport(*calls)
    client = make_client(transport)
    params.setdefault("parallel", 1)
    with pytest.raises(RunFailed) as err:
        run_extension_phones(client, params, False, client.secrets.add, lambda w: None)
    transport.assert_done()
    return err.value, client


# -- 1. a reply cut short is never quoted with its secrets ----------------------------------------------------
def test_1_a_token_reply_cut_after_the_token_is_not_quoted():
    cut = '{"access_token": "%s", "token_type": "Bea' % LIVE_TOKEN
    transport = ScriptedTransport(Call("POST", "TOKEN", text=cut))
    client = make_client(transport)
    with pytest.raises(ProtocolError) as err:
        client.get("/user/")
    transport.assert_done()
    assert "token endpoint" in str(err.value) and "malformed JSON" in str(err.value)
    assert LIVE_TOKEN[:8] not in str(err.value)


@pytest.mark.parametrize("cut", [
    '{"id": 54, "label": "Desk", "password": "Sip-Cut-Reply-5150", "auth_t',      # whole value, then cut
    '{"id": 54, "label": "Desk", "password": "Sip-Cut-Rep',                          # cut inside the value
    '{"id": 54, "label": "Desk", "sip_secret": "Sip-Cut-Reply-5150", "x": [',
])
def test_1_a_phone_reply_cut_after_the_password_does_not_show_it(cut):
    with pytest.raises(ProtocolError) as err:
        single([token(), Call("GET", "/extension/54/phone/", text=cut)], extension_id=54, label="Desk")
    assert "malformed JSON" in str(err.value) and "Sip-Cut" not in str(err.value)
    assert "Desk" not in str(err.value) and "not quoted" in str(err.value)   # nothing of the reply is quoted


def test_1_every_secret_the_client_knows_is_stripped_from_its_messages():
    echo = {"message": "password Sip-Echo-3377 rejected for app s3cret-app with token %s" % LIVE_TOKEN,
            "status": "invalid_request"}
    transport = ScriptedTransport(token(LIVE_TOKEN), Call("GET", "/extension/54/phone/", reply=PHONE),
                                  Call("PUT", "/extension/54/phone/", status=400, reply=echo))
    client = make_client(transport)
    with pytest.raises(ValidationFailed) as err:
        run_extension_phone(client, {"extension_id": 54, "password": "Sip-Echo-3377"}, False, client.secrets.add)
    transport.assert_done()
    text = str(err.value)
    assert "rejected" not in text and "the API refused the values of password" in text    # our words, not the reply's
    for secret in ("Sip-Echo-3377", "s3cret-app", LIVE_TOKEN):
        assert secret not in text


# -- 5. plain http is refused except on loopback -------------------------------------------------------------
@pytest.mark.parametrize("url", ["http://apiproxy.telphin.ru", "http://10.0.0.5:8080"])
def test_5_plain_http_is_refused_off_loopback(url):
    with pytest.raises(InputError, match="plain http"):
        ConnectionSettings(api_url=url, app_id="a", app_secret="s")
    with pytest.raises(InputError, match="plain http"):
        ConnectionSettings(token_url=url + "/oauth/token", app_id="a", app_secret="s")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:3000", "http://[::1]:8080",
                                 "http://127.1.2.3"])
def test_5_plain_http_on_loopback_is_accepted(url):
    assert ConnectionSettings(api_url=url, app_id="a", app_secret="s").api_url == url


def test_5_plain_http_off_loopback_needs_an_explicit_opt_in():
    settings = ConnectionSettings(api_url="http://pbx.lan", app_id="a", app_secret="s", allow_plain_http=True)
    assert settings.api_url == "http://pbx.lan" and settings.plain_http


# -- 6. hostile replies never crash a run ---------------------------------------------------------------------
def test_6_retry_after_nan_or_infinite_is_ignored():
    for value in ("nan", "inf", "-inf", "1e999"):
        transport = ScriptedTransport(token(), Call("GET", "/user/", status=503, headers={"Retry-After": value}),
                                      Call("GET", "/user/", reply={"id": 1}))
        waits = []
        client = make_client(transport)
        client._sleep = waits.append
        assert client.get("/user/") == {"id": 1}
        transport.assert_done()
        assert len(waits) == 1 and math.isfinite(waits[0]) and 0 <= waits[0] <= client_mod.BACKOFF_CAP


def test_6_a_rate_limit_header_of_1e999_is_ignored_and_leaks_no_slot():
    transport = ScriptedTransport(
        token(), Call("GET", "/user/", headers=quota_headers(40)),
        Call("GET", "/user/", headers={"X-RateLimit-Remaining": "1e999", "X-RateLimit-Limit": "nan"}),
        Call("GET", "/user/", headers=quota_headers(38)))
    client = make_client(transport, quota_reserve=10)
    replies = [client.get("/user/") for dummy in range(3)]
    transport.assert_done()
    assert len(replies) == 3 and client.meter.in_flight == 0
    assert client.report()["quota"]["remaining"] == 38


def test_6_deeply_nested_json_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="malformed JSON"):
        single([token(), Call("GET", "/extension/54/phone/", text="[" * 100000 + "]" * 100000)],
               extension_id=54, label="x")


def test_6_a_superscript_extension_id_is_refused_before_any_request():
    with pytest.raises(InputError, match=r"extension_id '\\xb2' is not a positive integer|extension_id '²'"):
        bulk([], bindings=[{"extension_id": "\u00b2", "label": "x"}])


def test_6_a_bulk_run_returns_its_results_whatever_the_server_sends_after_writes():
    failure, client = bulk_failure(
        [token(), *LIST,
         Call("GET", "/extension/54/phone/", reply=PHONE),
         Call("PUT", "/extension/54/phone/", body={"label": "A"}, reply=dict(PHONE, label="A")),
         Call("GET", "/extension/55/phone/", text="[" * 100000)],
        bindings=[{"extension": "100", "label": "A"}, {"extension": "101", "label": "B"}])
    assert failure.result["summary"] == {"total": 2, "changed": 1, "unchanged": 0, "failed": 1, "skipped": 0}
    assert [r["status"] for r in failure.result["results"]] == ["changed", "failed"]
    assert client.report()["requests"]["PUT"] == 1


def test_6_an_unexpected_exception_in_one_item_fails_that_item_only(monkeypatch):
    real = _converge.plan_patch

    def broken(current, desired, *rest):
        if desired.get("label") == "B":
            raise OverflowError(SERVER_VALUE)     # an exception's text may hold what a server sent
        return real(current, desired, *rest)

    monkeypatch.setattr(_converge, "plan_patch", broken)
    failure, _client = bulk_failure(
        [token(), *LIST,
         Call("GET", "/extension/54/phone/", reply=PHONE),
         Call("PUT", "/extension/54/phone/", body={"label": "A"}, reply=dict(PHONE, label="A")),
         Call("GET", "/extension/55/phone/", reply=PHONE)],
        bindings=[{"extension": "100", "label": "A"}, {"extension": "101", "label": "B"}])
    assert [r["status"] for r in failure.result["results"]] == ["changed", "failed"]
    error = failure.result["results"][1]["error"]
    assert error.startswith("unexpected error (OverflowError at test_security.py line ") and SERVER_VALUE not in error


SERVER_VALUE = "a value from the server: 1e999"


# -- 7. a PUT that went through is reported changed, whatever happened to its reply ----------------------------
BOUND = dict(PHONE, external_number=NUMBER)


@pytest.mark.parametrize("put_calls", [
    [Call("PUT", "/extension/54/phone/", text='{"external_number": "+7900')],                   # reply cut
    [Call("PUT", "/extension/54/phone/", raises=TransportFailure("Connection aborted"))] * 5,   # retries ran out
    [Call("PUT", "/extension/54/phone/", status=502)] * 5,
], ids=["cut", "lost", "gateway"])
def test_7_an_applied_put_whose_reply_is_lost_is_reported_changed(put_calls):
    result, client = single([token(), Call("GET", "/extension/54/phone/", reply=PHONE)] + put_calls +
                            [Call("GET", "/extension/54/phone/", reply=BOUND)],
                            extension_id=54, external_number=NUMBER)
    assert result["changed"] is True and result["phone"]["external_number"] == NUMBER
    assert result["diff"]["after"] == {"external_number": NUMBER}


def test_7_a_put_that_did_not_go_through_is_reported_failed_with_its_error():
    with pytest.raises(ProtocolError, match="malformed JSON"):
        single([token(), Call("GET", "/extension/54/phone/", reply=PHONE),
                Call("PUT", "/extension/54/phone/", text='{"external_n'),
                Call("GET", "/extension/54/phone/", reply=PHONE)],
               extension_id=54, external_number=NUMBER)


def test_7_a_password_alone_cannot_be_confirmed_by_a_read_so_its_error_stands_without_one():
    with pytest.raises(ProtocolError, match="malformed JSON") as err:
        single([token(), Call("GET", "/extension/54/phone/", reply=PHONE),
                Call("PUT", "/extension/54/phone/", body={"password": "Sip-New-Pass-1"}, text='{"external_n')],
               extension_id=54, password="Sip-New-Pass-1")
    assert "Sip-New-Pass-1" not in str(err.value)


def test_7_a_refused_put_is_not_read_again():
    with pytest.raises(ValidationFailed):
        single([token(), Call("GET", "/extension/54/phone/", reply=PHONE),
                Call("PUT", "/extension/54/phone/", status=400, reply={"message": "no", "status": "invalid_request"})],
               extension_id=54, external_number=NUMBER)


def test_7_bulk_reports_an_applied_put_with_a_lost_reply_as_changed():
    result, _client = bulk([token(), *LIST, Call("GET", "/extension/54/phone/", reply=PHONE),
                            Call("PUT", "/extension/54/phone/", text='{"ext'),
                            Call("GET", "/extension/54/phone/", reply=BOUND)],
                           bindings=[{"extension": "100", "external_number": NUMBER}])
    assert result["summary"]["changed"] == 1 and result["results"][0]["after"] == {"external_number": NUMBER}


# -- 8. external_number: integers refused, no trailing newline ------------------------------------------------
@pytest.mark.parametrize("value", [33896823, 79876543210])
def test_8_an_integer_number_is_refused_with_a_hint_to_quote_it(value):
    with pytest.raises(InputError, match="quote"):
        normalize_number(value)


def test_8_an_integer_number_in_bindings_is_refused_before_any_request():
    with pytest.raises(InputError, match=r"bindings\[0\] \(extension 100\): external_number 33896823 .*quote"):
        bulk([], bindings=[{"extension": "100", "external_number": 33896823}])


@pytest.mark.parametrize("value", ["+79001234567\n", "+79001234567\r\n", "79001234567\n"])
def test_8_a_trailing_newline_is_refused(value):
    with pytest.raises(InputError, match="is not a phone number"):
        normalize_number(value)


# -- 9. tenant isolation: extension_id must belong to the client_id given -------------------------------------
OTHER = [{"id": 60, "name": "002*100", "type": "phone"}]


def test_9_an_extension_id_of_another_client_is_refused_before_any_write():
    with pytest.raises(InputError, match=r"extension_id 54 is not an extension of this client \(client_id 1002\)"):
        single([token(), Call("GET", "/client/1002/extension/", reply=OTHER,
                              params={"page": 1, "per_page": PER_PAGE}),
                Call("GET", "/client/1002/extension/", reply=[], params={"page": 2, "per_page": PER_PAGE})],
               extension_id=54, client_id="1002", external_number=NUMBER)


def test_9_an_extension_id_of_the_client_given_is_converged():
    result, _client = single([token(), Call("GET", "/client/1002/extension/", reply=OTHER,
                                            params={"page": 1, "per_page": PER_PAGE}),
                              Call("GET", "/client/1002/extension/", reply=[], params={"page": 2, "per_page": PER_PAGE}),
                              Call("GET", "/extension/60/phone/", reply=BOUND)],
                             extension_id=60, client_id="1002", external_number=NUMBER)
    assert result["changed"] is False and result["extension_name"] == "002*100"


def test_9_extension_id_with_the_default_client_costs_no_list():
    result, _client = single([token(), Call("GET", "/extension/54/phone/", reply=BOUND)],
                             extension_id=54, client_id="@me", external_number=NUMBER)
    assert result["changed"] is False


# -- 10. secret keys anchored; short or numeric values never registered ----------------------------------------
@pytest.mark.parametrize("key,secret", [
    ("password", True), ("sip_password", True), ("app_secret", True), ("client_secret", True), ("secret", True),
    ("access_token", True), ("token", True), ("bypass_mode", False), ("passive_ftp", False), ("token_ttl", False),
    ("secretary", False), ("passwords_allowed", False), ("external_number", False)])
def test_10_secret_keys_are_matched_whole(key, secret):
    assert is_secret_key(key) is secret


def test_10_short_or_numeric_secrets_read_back_are_masked_by_key_but_not_registered():
    reply = dict(PHONE, external_number="+79161234567", sip_password="123456", passive_mode="on")
    result, client = single([token(), Call("GET", "/extension/54/phone/", reply=reply)], True,
                            extension_id=54, label="Reception")
    assert result["phone"]["sip_password"] == "********" and result["phone"]["passive_mode"] == "on"
    assert result["phone"]["external_number"] == "+79161234567"
    assert "123456" in client.secrets and not registrable("123456")


# -- 11. update_password: never with an item that sets only a password -----------------------------------------
def test_11_an_item_with_only_a_password_is_listed_with_nothing_to_change():
    result, client = bulk([token(), *LIST, Call("GET", "/extension/55/phone/", reply=BOUND),
                           Call("PUT", "/extension/55/phone/", body={"external_number": None}, reply=PHONE)],
                          bindings=[{"extension": "100", "password": "Sip-Kept-1"}], update_password="never",
                          unbind_unlisted=True, report_unchanged=True)
    assert [(r["extension"], r["status"]) for r in result["results"]] == [("100", "unchanged"), ("101", "changed")]
    assert client.report()["requests"]["GET"] == 3       # the list (2 pages) and the unlisted phone: nothing for 100


# -- 12. the token endpoint's rate-limit headers are not the tenant's quota ------------------------------------
def test_12_rate_limit_headers_of_the_token_reply_are_not_recorded():
    transport = ScriptedTransport(token(headers=quota_headers(19)), Call("GET", "/user/", headers=quota_headers(900)))
    client = make_client(transport, quota_reserve=50)
    client.get("/user/")
    transport.assert_done()
    assert client.report()["quota"]["remaining"] == 900


def test_12_without_api_replies_no_quota_is_reported():
    transport = ScriptedTransport(token(headers=quota_headers(19)), Call("GET", "/user/", status=404, reply={}))
    client = make_client(transport, quota_reserve=50)
    with pytest.raises(TelphinError):
        client.get("/user/")
    assert client.report()["quota"] == {"limit": None, "remaining": None, "reset": None}


def test_messages_never_hold_json_of_secret_keys():
    """The helper behind item 1, directly: secret-looking keys lose their values, whole or cut."""
    text = json.dumps({"access_token": "abcdefgh12345678", "label": "ok"})[:-3]
    assert "abcdefgh" not in redact(text) and '"label": "o' in redact(text)


# -- 2. SIP passwords in bindings never reach syslog / journald ------------------------------------------------
def start_module(monkeypatch, args, spec):
    """Build the real TelphinModule from ``args``; return what it logged (message and log_args)."""
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    from ansible_collections.telphin.pbx.plugins.module_utils import _ansible as glue

    logged = []
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    monkeypatch.setattr(basic.AnsibleModule, "log", lambda self, msg, log_args=None: logged.append((msg, log_args)))
    module = glue.telphin_module(spec)
    return module, json.dumps([[m, {k: str(v) for k, v in (a or {}).items()}] for m, a in logged])


BULK_SPEC = "extension_phones"   # the module whose argument spec (connection options included) is used


def test_2_passwords_inside_bindings_are_not_logged(monkeypatch):
    args = {"bindings": [{"extension": "100", "password": "Sip-Syslog-4711"},
                         {"extension": "101", "password": 73519264}, {"extension": "102", "password": "abc"}],
            "parallel": 2, "app_id": "app", "app_secret": "s3cret-app-long"}
    module, logged = start_module(monkeypatch, args, BULK_SPEC)
    assert "Invoked with" in logged and "bindings" in logged
    for secret in ("Sip-Syslog-4711", "73519264", "'abc'", "s3cret-app-long"):
        assert secret not in logged
    assert module.params["bindings"][1]["password"] == 73519264      # the module itself still gets the values


def test_10_short_or_numeric_secrets_are_not_registered_as_no_log_values(monkeypatch):
    args = {"bindings": [{"extension": "100", "password": "123456", "external_number": "+79161234567"},
                         {"extension": "101", "password": "Sip-Long-Enough-1"}],
            "app_id": "app", "app_secret": "s3cret-app-long"}
    module, _logged = start_module(monkeypatch, args, BULK_SPEC)
    assert "123456" not in module.no_log_values and "Sip-Long-Enough-1" in module.no_log_values


# -- issue 19, item 6: a secret quoted escaped, and a bearer credential, are masked too ---------------------------
@pytest.mark.parametrize("text", ["Invalid header value b'Bearer tok-issued-77\\n'",
                                  "Invalid header value %r" % "Bearer tok-issued-77\n",
                                  '{"note": %s}' % json.dumps("tok-issued-77\n")])
def test_19_a_secret_quoted_escaped_is_masked(text):
    masked = redact(text, ["tok-issued-77\n"])
    assert "tok-issued-77" not in masked and "********" in masked


def test_19_a_bearer_credential_is_masked_without_knowing_it():
    assert redact("header Authorization: Bearer abc.DEF-123== refused") == \
        "header Authorization: Bearer ******** refused"
    assert redact("not a bearer token (RFC 6750)") == "not a bearer token (RFC 6750)"


# -- issue 32: a word of prose after "token:" is not a secret; values still are -----------------------------------
@pytest.mark.parametrize("text", ["the API refused the token: the app's user may be blocked",
                                  "app_id/app_secret: tokens from https://api.example.net/oauth/token",
                                  "check the password: it is (sent) only when update_password is always"])
def test_32_prose_after_a_secret_key_is_left_as_it_is(text):
    assert redact(text) == text


@pytest.mark.parametrize("text, masked", [
    ("invalid token: abc123 refused", "invalid token: ******** refused"),
    ("invalid token: eyJhbGciOiJIUzI1NiJ9", "invalid token: ********"),
    ("password: hunter", "password: ********"),                  # a word at the end: a value
    ("password: Hunter refused", "password: ******** refused"),   # not lowercase: a value
    ("password: abcdefgh refused", "password: ******** refused"),  # 8 letters or more: a value
    ("access_token=the&x=1", "access_token=********&x=1"),       # a form field: always a value
    ('{"token": "the x"}', '{"token": ********}'),                # a quoted key: always a value
    ('"token": the x', '"token": ******** x'),
])
def test_32_values_after_a_secret_key_are_still_masked(text, masked):
    assert redact(text) == masked
