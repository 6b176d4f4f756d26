"""The module flows (converge one phone, bulk, read-only reads), with every HTTP call scripted in order."""

from __future__ import annotations

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils._api import PER_PAGE
from ansible_collections.telphin.pbx.plugins.module_utils._bulk import ONCE, run_extension_phones
from ansible_collections.telphin.pbx.plugins.module_utils._converge import run_extension_phone
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError, RunFailed, TelphinError
from ansible_collections.telphin.pbx.plugins.module_utils._reads import run_extension_info, run_extension_phone_info
from scripted import Call, ScriptedTransport, make_client, quota_headers, token

PHONE = {"external_number": None, "label": "Reception", "record_enabled": False, "auth_type": "digest",
         "dtmf_mode": "rfc2833"}
EXTENSIONS = [{"id": 54, "name": "000*100", "type": "phone"}, {"id": 55, "name": "000*101", "type": "phone"},
              {"id": 56, "name": "000*102", "type": "phone"}, {"id": 57, "name": "000*200", "type": "queue"}]
# The extension list: a page shorter than ours, then the empty page that shows it was the last one.
LIST = (Call("GET", "/client/@me/extension/", reply=EXTENSIONS, params={"page": 1, "per_page": PER_PAGE}),
        Call("GET", "/client/@me/extension/", reply=[], params={"page": 2, "per_page": PER_PAGE}))


class Result(dict):
    """A module result with the client that produced it (for request counts and secrets)."""

    client = None


def single(calls, check_mode=False, **params):
    transport = ScriptedTransport(*calls)
    client = make_client(transport)
    result = Result(run_extension_phone(client, params, check_mode, client.secrets.add))
    transport.assert_done()
    result.client = client
    return result


def test_unchanged_phone_costs_one_token_and_one_get():
    bound = dict(PHONE, external_number="+79991234567")
    result = single([token(), Call("GET", "/extension/54/phone/", reply=bound)],
                    extension_id=54, external_number="+7 999 123-45-67")
    assert result["changed"] is False
    assert result.client.report()["requests"] == {"token": 1, "GET": 1, "total": 2, "retried": 0}


def test_put_carries_only_the_differing_keys_and_result_shows_the_reply():
    reply = dict(PHONE, external_number="+79876543210")
    result = single([token(), Call("GET", "/extension/54/phone/", reply=PHONE),
                     Call("PUT", "/extension/54/phone/", body={"external_number": "+79876543210"}, reply=reply)],
                    extension_id=54, external_number="+7 987 654 32 10", label="Reception", auth_type="digest")
    assert result["changed"] is True
    assert result["phone"] == reply
    assert result["diff"]["before"] == {"external_number": None, "label": "Reception", "auth_type": "digest"}
    assert result["diff"]["after"]["external_number"] == "+79876543210"


def test_check_mode_predicts_without_writing():
    result = single([token(), Call("GET", "/extension/54/phone/", reply=PHONE)], check_mode=True,
                    extension_id=54, external_number="+79876543210")
    assert result["changed"] is True
    assert result["phone"]["external_number"] == "+79876543210"
    assert result["phone"]["dtmf_mode"] == "rfc2833"


def test_unbind_sends_null():
    bound = dict(PHONE, external_number="+79876543210")
    result = single([token(), Call("GET", "/extension/54/phone/", reply=bound),
                     Call("PUT", "/extension/54/phone/", body={"external_number": None}, reply=PHONE)],
                    extension_id=54, external_number="")
    assert result["changed"] and result["diff"]["after"] == {"external_number": None}


def test_extension_by_short_name_reads_the_list_once():
    result = single([token(), *LIST, Call("GET", "/extension/55/phone/", reply=PHONE)],
                    extension_name="101", label="Reception")
    assert result["extension_id"] == 55 and result["extension_name"] == "000*101" and not result["changed"]


def test_non_phone_extension_is_refused_before_any_phone_request():
    with pytest.raises(InputError, match="queue extension, not a phone"):
        single([token(), *LIST], extension_name="000*200", external_number="+79876543210")


def test_bad_input_fails_before_any_request():
    with pytest.raises(InputError, match="external_number"):
        single([], extension_id=54, external_number="call me")
    with pytest.raises(InputError, match="not an extension name"):
        single([], extension_name="../100", external_number="+79876543210")


def test_a_reply_that_does_not_show_the_value_fails():
    with pytest.raises(TelphinError, match="still shows external_number"):
        single([token(), Call("GET", "/extension/54/phone/", reply=PHONE),
                Call("PUT", "/extension/54/phone/", reply=PHONE)], extension_id=54, external_number="+79876543210")


def test_a_partial_reply_is_verified_with_one_get():
    after = dict(PHONE, label="Desk")
    result = single([token(), Call("GET", "/extension/54/phone/", reply=PHONE),
                     Call("PUT", "/extension/54/phone/", reply={}),
                     Call("GET", "/extension/54/phone/", reply=after)], extension_id=54, label="Desk")
    assert result["changed"] and result["phone"] == after


def test_secrets_read_back_are_masked_and_registered():
    leaky = dict(PHONE, password="Sip-pass-9")
    result = single([token("tok-X"), Call("GET", "/extension/54/phone/", reply=leaky)], extension_id=54)
    assert result["phone"]["password"] == "********"
    assert {"Sip-pass-9", "tok-X", "s3cret-app"} <= result.client.secrets


def test_extension_info_pages_until_a_short_page():
    page1 = [{"id": i, "name": "000*%d" % i, "type": "phone"} for i in range(PER_PAGE)]
    page2 = [{"id": PER_PAGE + 1, "name": "000*9999", "type": "queue"}]
    transport = ScriptedTransport(
        token(), Call("GET", "/client/1001/extension/", reply=page1, params={"page": 1, "per_page": PER_PAGE}),
        Call("GET", "/client/1001/extension/", reply=page2, params={"page": 2, "per_page": PER_PAGE}))
    result = run_extension_info(make_client(transport), {"client_id": "1001", "name": "9999"})
    transport.assert_done()
    assert [e["short_name"] for e in result["extensions"]] == ["9999"]


# Regression (issue 12 item 15): with a provider that caps per_page at 50 while 500 is asked, the first page of
# 50 was taken as the last one: extension_info, and the whole-tenant read of extension_phone_info that the
# export playbook runs, saw 50 extensions.
CAPPED = [{"id": i, "name": "000*%d" % (100 + i), "type": "phone"} for i in range(1, 121)]   # pages of 50, 50, 20


def capped_pages(path="/client/1001/extension/"):
    return [Call("GET", path, reply=CAPPED[(n - 1) * 50:n * 50], params={"page": n, "per_page": PER_PAGE})
            for n in (1, 2, 3)]


def test_extension_info_reads_every_page_of_a_provider_that_caps_per_page():
    transport = ScriptedTransport(token(), *capped_pages())
    result = run_extension_info(make_client(transport), {"client_id": "1001"})
    transport.assert_done()
    assert [e["id"] for e in result["extensions"]] == list(range(1, 121))


def test_phone_info_of_a_tenant_reads_every_page_of_a_provider_that_caps_per_page():
    transport = ScriptedTransport(token(), *capped_pages("/client/@me/extension/"),
                                  *[Call("GET", "/extension/%d/phone/" % i, reply=PHONE) for i in range(1, 121)])
    result = run_extension_phone_info(make_client(transport), {"parallel": 1}, lambda s: None)
    transport.assert_done()
    assert [p["extension"] for p in result["phones"]] == [str(100 + i) for i in range(1, 121)]


# -- bulk ---------------------------------------------------------------------------------------
def bulk(calls, check_mode=False, **params):
    transport = ScriptedTransport(*calls)
    client = make_client(transport)
    warnings = []
    params.setdefault("parallel", 1)  # sequential, so the scripted order is deterministic
    try:
        result = Result(run_extension_phones(client, params, check_mode, client.secrets.add, warnings.append))
    finally:
        transport.assert_done()
    result.client = client
    return result


FLOOR_CALLS = [
    token(), *LIST,
    Call("GET", "/extension/54/phone/", reply=PHONE),
    Call("PUT", "/extension/54/phone/", body={"external_number": "+79000000001"},
         reply=dict(PHONE, external_number="+79000000001")),
    Call("GET", "/extension/55/phone/", reply=dict(PHONE, external_number="+79000000002")),
]
FLOOR_BINDINGS = [{"extension": "100", "external_number": "+7 900 000-00-01"},
                  {"extension_id": 55, "external_number": "+79000000002"}]


def test_bulk_request_floor_one_token_one_list_one_get_each_put_only_differing():
    result = bulk(FLOOR_CALLS, bindings=FLOOR_BINDINGS)
    assert result["summary"] == {"total": 2, "changed": 1, "unchanged": 1, "failed": 0, "skipped": 0}
    assert result.client.report()["requests"] == {"token": 1, "GET": 4, "PUT": 1, "total": 6, "retried": 0}
    assert [(r["extension"], r["status"]) for r in result["results"]] == [("100", "changed")]   # unchanged left out
    assert len(result["diff"]) == 1


def test_bulk_report_unchanged_lists_every_extension_at_the_same_cost():
    result = bulk(FLOOR_CALLS, bindings=FLOOR_BINDINGS, report_unchanged=True)
    assert [(r["extension"], r["status"]) for r in result["results"]] == [("100", "changed"), ("101", "unchanged")]
    assert result["results"][1]["before"] == result["results"][1]["after"] == {"external_number": "+79000000002"}
    assert result.client.report()["requests"]["total"] == 6


def test_bulk_check_mode_sends_no_put():
    result = bulk([token(), *LIST, Call("GET", "/extension/54/phone/", reply=PHONE)], check_mode=True,
                  bindings=[{"extension": "100", "external_number": "+79000000001"}])
    assert result["changed"] and result["results"][0]["after"] == {"external_number": "+79000000001"}


def test_bulk_refuses_every_local_problem_before_any_request():
    with pytest.raises(InputError) as err:
        bulk([], bindings=[{"extension": "100", "external_number": "x"},
                           {"extension": "101", "extension_id": 5, "external_number": "+79000000001"},
                           {"extension": "102", "lable": "typo"},
                           {"extension": "103", "external_number": "+79000000009"},
                           {"extension": "104", "external_number": "+7 900 000 00 09"},
                           "not-a-mapping"], parallel=9)
    text = str(err.value)
    for needle in ("bindings[0] (extension 100)", "exactly one of extension or extension_id", "lable",
                   "+79000000009 is given to 2 extensions", "bindings[5]", "parallel must be between 1 and 6"):
        assert needle in text


def test_bulk_refuses_resolution_problems_after_the_list_and_writes_nothing():
    with pytest.raises(InputError) as err:
        bulk([token(), *LIST], bindings=[{"extension": "100", "external_number": "+79000000001"},
                                         {"extension_id": 54, "label": "dup"},
                                         {"extension": "999", "label": "x"},
                                         {"extension": "200", "label": "queue"}])
    text = str(err.value)
    assert ("- bindings[1] (extension_id 54) names the same extension as bindings[0] (extension 100) (000*100, id 54): "
            + ONCE) in text
    assert "999 does not exist" in text and "queue extension" in text


def test_every_extension_listed_twice_is_refused_in_one_pass_with_both_items_before_any_request():
    # 100 and 000*100 are one extension of the tenant (or 100 is ambiguous): no need to read the list to know
    with pytest.raises(InputError) as err:
        bulk([], bindings=[{"extension": "100", "external_number": "+79000000001"},
                           {"extension": "101", "label": "a"},
                           {"extension": "000*100", "label": "dup"},
                           {"extension": "101", "label": "b"},
                           {"extension": "001*105", "label": "not listed twice"},
                           {"extension_id": 7, "label": "c"}, {"extension_id": "7", "label": "d"},
                           {"extension": 101, "label": "unquoted"}])
    assert str(err.value).splitlines()[1:] == [
        "- bindings[7]: extension 101 is an integer, not a string: quote the name in YAML (for example extension: "
        "\"0101\"), or YAML may change it (a leading 0 makes an octal number: 0101 is read as 65)",
        "- bindings[2] (extension 000*100) names the same extension as bindings[0] (extension 100): " + ONCE,
        "- bindings[3] (extension 101) names the same extension as bindings[1] (extension 101): " + ONCE,
        "- bindings[6] (extension_id 7) names the same extension as bindings[5] (extension_id 7): " + ONCE]


def test_an_empty_external_number_says_that_an_empty_string_unbinds():
    with pytest.raises(InputError) as err:
        bulk([], bindings=[{"extension": "100", "external_number": None}])
    assert str(err.value).splitlines()[1] == (
        "- bindings[0] (extension 100): sets no phone property: external_number is empty (null), which leaves the "
        "number as it is; to unbind it give external_number: \"\"")


def test_bulk_bundle_conflict_reads_the_bundle_list_once_and_refuses():
    with pytest.raises(InputError, match="bundle conflict on synchronised key record_enabled"):
        bulk([token(), *LIST, Call("GET", "/client/@me/extensions_bundle/",
                                   reply=[{"bundle_id": 54, "bundle_list": [54, 55]}])],
             bindings=[{"extension": "100", "record_enabled": True}, {"extension": "101", "record_enabled": False}])


def test_bulk_a_failing_item_does_not_stop_the_others():
    with pytest.raises(RunFailed) as err:
        bulk([token(), *LIST,
              Call("GET", "/extension/54/phone/", status=404, reply={"message": "gone", "status": "extension_not_found"}),
              Call("GET", "/extension/55/phone/", reply=PHONE),
              Call("PUT", "/extension/55/phone/", body={"label": "B"}, reply=dict(PHONE, label="B"))],
             bindings=[{"extension": "100", "label": "A"}, {"extension": "101", "label": "B"}])
    assert "1 of 2 extension(s) failed" in str(err.value) and "000*100 (id 54)" in str(err.value)
    assert err.value.result["summary"] == {"total": 2, "changed": 1, "unchanged": 0, "failed": 1, "skipped": 0}


def test_bulk_quota_exhaustion_stops_and_lists_what_was_not_processed():
    with pytest.raises(RunFailed) as err:
        bulk([token(), *LIST,
              Call("GET", "/extension/54/phone/", status=429, headers=quota_headers(0, reset=600),
                   reply={"status": "rate_limit_exceeded", "message": "limit"})],
             bindings=[{"extension": "100", "label": "A"}, {"extension": "101", "label": "B"},
                       {"extension": "102", "label": "C"}])
    summary = err.value.result["summary"]
    assert summary["failed"] == 1 and summary["skipped"] == 2
    assert "resets in 600 s" in str(err.value) and "000*102 (id 56): not processed" in str(err.value)


def test_bulk_unbind_unlisted_reads_and_clears_only_unlisted_phones():
    result = bulk([token(), *LIST,
                   Call("GET", "/extension/54/phone/", reply=dict(PHONE, external_number="+79000000001")),
                   Call("GET", "/extension/55/phone/", reply=dict(PHONE, external_number="+79000000002")),
                   Call("PUT", "/extension/55/phone/", body={"external_number": None}, reply=PHONE),
                   Call("GET", "/extension/56/phone/", reply=PHONE)],
                  bindings=[{"extension": "100", "external_number": "+79000000001"}], unbind_unlisted=True,
                  report_unchanged=True)
    assert [r["status"] for r in result["results"]] == ["unchanged", "changed", "unchanged"]


def test_bulk_empty_list_with_prune_is_refused():
    with pytest.raises(InputError, match="would unbind every phone extension"):
        bulk([], bindings=[], unbind_unlisted=True)


def test_paging_skips_a_row_shifted_onto_the_next_page_but_refuses_ignored_paging():
    page1 = [{"id": i, "name": "000*%d" % i, "type": "phone"} for i in range(PER_PAGE)]
    shifted = [page1[-1], {"id": PER_PAGE, "name": "000*new", "type": "phone"}]
    transport = ScriptedTransport(
        token(), Call("GET", "/client/@me/extension/", reply=page1), Call("GET", "/client/@me/extension/", reply=shifted))
    result = run_extension_info(make_client(transport), {})
    transport.assert_done()
    assert len(result["extensions"]) == PER_PAGE + 1
    transport = ScriptedTransport(
        token(), Call("GET", "/client/@me/extension/", reply=page1), Call("GET", "/client/@me/extension/", reply=page1))
    with pytest.raises(TelphinError, match="ignores paging"):
        run_extension_info(make_client(transport), {})
    transport.assert_done()


# Regression (secrets suite): a digits-only SIP password (YAML gives it as a number) was not registered
# as a secret, so it showed in the module's invocation at -vvv, and it was sent as a JSON number.
# Masking of item passwords in the module's output: test_module.py (TelphinModule, nested_secrets).
def test_bulk_numeric_password_is_sent_as_a_string_and_masked_in_results():
    result = bulk([token(), *LIST, Call("GET", "/extension/54/phone/", reply=PHONE),
                   Call("PUT", "/extension/54/phone/", body={"password": "73519264"}, reply=PHONE)],
                  bindings=[{"extension": "100", "password": 73519264}])
    assert result["results"][0]["after"] == {"password": "********"}


# Regression (bad input catalogue): a password of the wrong type went to the API (a PUT refused with 400).
def test_bulk_password_of_the_wrong_type_is_refused_before_any_request_without_showing_it():
    with pytest.raises(InputError) as err:
        bulk([], bindings=[{"extension": "100", "password": ["Sip-pass-7"]}])
    assert "bindings[0] (extension 100): password must be a string, got a list (the value is not shown)" \
        in str(err.value)
    assert "Sip-pass-7" not in str(err.value)


# Regression (bad input catalogue): a bad `parallel` of extension_phone_info was refused only after the
# token and the extension list had been requested.
def test_phone_info_of_a_tenant_checks_parallel_before_any_request():
    transport = ScriptedTransport()
    with pytest.raises(InputError, match="parallel must be between 1 and 6"):
        run_extension_phone_info(make_client(transport), {"parallel": 0}, lambda s: None)
    assert transport.sent == []


# -- read-only reads: their own path, never a PUT ------------------------------------------------
def phone_info(calls, **params):
    transport = ScriptedTransport(*calls)
    client = make_client(transport)
    try:
        result = Result(run_extension_phone_info(client, dict({"parallel": 1}, **params), client.secrets.add))
    finally:
        transport.assert_done()
    result.client = client
    return result


def test_phone_info_by_id_is_one_get_with_secrets_masked():
    result = phone_info([token(), Call("GET", "/extension/54/phone/", reply=dict(PHONE, password="Sip-1"))],
                        extension_id=54, external_number="+79990000000")     # a phone key is not a change to make
    assert result == {"changed": False, "extension_id": 54, "extension_name": None,
                      "phone": dict(PHONE, password="********")}
    assert "Sip-1" in result.client.secrets
    assert result.client.report()["requests"] == {"token": 1, "GET": 1, "total": 2, "retried": 0}


def test_phone_info_by_name_reads_the_list_then_the_phone():
    result = phone_info([token(), *LIST, Call("GET", "/extension/55/phone/", reply=PHONE)], extension_name="101")
    assert (result["extension_id"], result["extension_name"], result["phone"]) == (55, "000*101", PHONE)


def test_phone_info_of_a_missing_phone_names_the_extension():
    with pytest.raises(TelphinError, match=r"extension id 54: GET /extension/54/phone/: HTTP 404"):
        phone_info([token(), Call("GET", "/extension/54/phone/", status=404, reply={"message": "no phone"})],
                   extension_id=54)


def test_phone_info_of_a_tenant_reads_every_phone_extension_once_and_reports_the_unreadable():
    with pytest.raises(RunFailed) as err:
        phone_info([token(), *LIST, Call("GET", "/extension/54/phone/", reply=PHONE),
                    Call("GET", "/extension/55/phone/", status=404, reply={"message": "gone"}),
                    Call("GET", "/extension/56/phone/", reply=dict(PHONE, label="C"))])
    assert "could not read 1 of 3 phone(s)" in str(err.value) and "000*101 (id 55)" in str(err.value)
    phones = err.value.result["phones"]
    assert [(p["extension"], p["phone"].get("label")) for p in phones] == [("100", "Reception"), ("101", None),
                                                                           ("102", "C")]


def test_phone_info_of_a_tenant_stops_at_an_exhausted_quota():
    with pytest.raises(RunFailed) as err:
        phone_info([token(), *LIST, Call("GET", "/extension/54/phone/", status=429, headers=quota_headers(0),
                                         reply={"status": "rate_limit_exceeded", "message": "limit"})])
    assert "could not read 3 of 3 phone(s)" in str(err.value) and "not processed" in str(err.value)
