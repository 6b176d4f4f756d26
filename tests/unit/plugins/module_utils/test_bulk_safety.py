"""Change safety in the bulk flow, every HTTP call scripted in order: numbers in another form, the guard
(reads, then refuses before any PUT), the backup, the plan of a check run and apply_plan with a stale phone."""

from __future__ import annotations

import json

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils._api import PER_PAGE
from ansible_collections.telphin.pbx.plugins.module_utils._bulk import run_extension_phones
from ansible_collections.telphin.pbx.plugins.module_utils._converge import run_extension_phone
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError, ProtocolError, RunFailed
from scripted import Call, ScriptedTransport, make_client, token
from tests import unsafe_yaml

PHONE = {"external_number": None, "label": "Desk", "record_enabled": False, "dtmf_mode": "rfc2833"}
EXTENSIONS = [{"id": 54 + i, "name": "000*%d" % (100 + i), "type": "phone"} for i in range(5)] + \
    [{"id": 60, "name": "000*200", "type": "queue"}]
# The extension list: a page shorter than ours, then the empty page that shows it was the last one.
LIST = (Call("GET", "/client/@me/extension/", reply=EXTENSIONS, params={"page": 1, "per_page": PER_PAGE}),
        Call("GET", "/client/@me/extension/", reply=[], params={"page": 2, "per_page": PER_PAGE}))


def get(ext_id, **values):
    return Call("GET", "/extension/%d/phone/" % ext_id, reply=dict(PHONE, **values))


def put(ext_id, body, **stored):
    return Call("PUT", "/extension/%d/phone/" % ext_id, body=body, reply=dict(PHONE, **dict(body, **stored)))


def run(calls, check_mode=False, **params):
    """(result, warnings) of ``run_extension_phones``, every call scripted."""
    transport = ScriptedTransport(*calls)
    client = make_client(transport)
    warnings = []
    params.setdefault("parallel", 1)
    try:
        result = run_extension_phones(client, params, check_mode, client.secrets.add, warnings.append)
    finally:
        transport.assert_done()
    return result, warnings


def bulk(calls, check_mode=False, **params):
    """The result only."""
    return run(calls, check_mode, **params)[0]


def test_a_number_stored_in_national_form_is_the_same_number():
    result, warnings = run([token(), *LIST, get(54, external_number="89000000001"),
                           get(55, external_number="89000000002"),
                           put(55, {"external_number": "+79000000099"}, external_number="89000000099")],
                           bindings=[{"extension": "100", "external_number": "+7 900 000-00-01"},
                           {"extension": "101", "external_number": "8 900 000 00 99"}])
    assert result["summary"]["changed"] == 1 and warnings == []
    assert result["results"][0]["before"] == {"external_number": "+79000000002"}          # shown in E.164


def test_a_number_not_valid_where_it_is_read_is_refused_before_any_request():
    with pytest.raises(InputError) as refused:
        run([], bindings=[{"extension": "100", "external_number": "(512) 555-0110"},
                          {"extension": "101", "external_number": "+7 123 456 78 90"}])
    assert str(refused.value).splitlines()[1:] == [
        "- bindings[0] (extension 100): external_number '(512) 555-0110' is not a valid number of region RU (read "
        "there as +75125550110): write it in E.164, with + and its country code, such as +15125550110 if it is a "
        "number of US or +435125550110 if it is a number of AT; if the number is right as written, accept it with number_check: possible on the item, or "
        "number_check: possible in the task",
        "- bindings[1] (extension 101): external_number '+7 123 456 78 90' (+71234567890) is not a valid number: no "
        "operator of country code +7 has been assigned it; if the number is right as written, accept it with "
        "number_check: possible on the item, or number_check: possible in the task"]


@pytest.mark.parametrize("per_item", [True, False])
def test_a_not_valid_number_is_written_with_a_warning_when_accepted(per_item):
    item = {"extension": "100", "external_number": "+7 123 456 78 90"}
    options = {"number_check": "possible"}
    result, warnings = run([token(), *LIST, get(54), put(54, {"external_number": "+71234567890"})],
                           bindings=[dict(item, **options) if per_item else item], **({} if per_item else options))
    assert result["changed"]
    assert warnings == ["bindings[0] (extension 100): external_number '+7 123 456 78 90' (+71234567890) is a "
                        "possible number but not a valid one: no operator of country code +7 has been assigned "
                        "it; check it"]


def test_default_region_reads_both_sides():
    result = bulk([token(), *LIST, get(54, external_number="(512) 555-0110")],
                  bindings=[{"extension": "100", "external_number": "+1 512 555 0110"}], default_region="US")
    assert result["changed"] is False


def test_the_guard_reads_everything_then_refuses_before_any_put():
    calls = [token(), *LIST] + [get(54 + i, external_number="+7900000000%d" % i) for i in range(5)]
    with pytest.raises(InputError) as err:
        bulk(calls, bindings=[{"extension": "100", "external_number": "+79000000000"}], unbind_unlisted=True,
             max_changes="50%")
    assert str(err.value).startswith("refused by the blast-radius guard, nothing was written: this run would change "
                                     "4 phone(s), above max_changes 50% of 5 phone extension(s) = 3.")
    assert '- 000*101: external_number "+79000000001" -> null' in str(err.value)


def test_within_the_guard_reads_come_first_then_the_puts():
    calls = [token(), *LIST, get(54), get(55, external_number="+79000000001"), get(56),
             put(54, {"external_number": "+79000000000"}), put(56, {"label": "Sales"})]
    result = bulk(calls, max_changes=2, bindings=[{"extension": "100", "external_number": "+79000000000"},
                  {"extension": "101", "external_number": "+79000000001"},
                  {"extension": "102", "label": "Sales"}])
    assert result["summary"] == {"total": 3, "changed": 2, "unchanged": 1, "failed": 0, "skipped": 0}


def test_a_password_only_change_does_not_count_against_the_guard():
    calls = [token(), *LIST, get(54), put(54, {"password": "Sip-Pass-4711"})]
    result = bulk(calls, max_changes=0, bindings=[{"extension": "100", "password": "Sip-Pass-4711"}])
    assert result["changed"]


def test_backup_saves_the_phones_about_to_change_as_the_api_returned_them(tmp_path):
    calls = [token(), *LIST, Call("GET", "/client/@me/extensions_bundle/", reply=[]),   # record_enabled is synced
             get(54, external_number="89000000001", record_enabled=True), get(55),
             put(54, {"external_number": "+79000000009", "record_enabled": False}, external_number="89000000009")]
    result = bulk(calls, backup=True, backup_options={"dir_path": str(tmp_path), "filename": "b.yml"},
                  bindings=[{"extension": "100", "external_number": "+79000000009", "record_enabled": False,
                            "password": "Sip-Pass-4711"}, {"extension": "101", "label": "Desk"}],
                  update_password="never")
    assert result["backup_path"] == str(tmp_path / "b.yml")
    assert unsafe_yaml.load((tmp_path / "b.yml").read_text()) == {"phone_bindings": [
        {"extension": "000*100", "external_number": "89000000001", "record_enabled": True}]}


def test_a_check_run_writes_the_plan_and_apply_plan_writes_only_what_did_not_move(tmp_path):
    bindings = [{"extension": "100", "external_number": "+79000000001"},
                {"extension": "101", "external_number": "+79000000002"},
                {"extension": "102", "label": "Sales"}]
    path = tmp_path / "p.json"
    planned = bulk([token(), *LIST, get(54), get(55), get(56)], check_mode=True, bindings=bindings,
                   plan_path=str(path))
    plan = json.loads(path.read_text())
    assert planned["plan"] == plan and planned["plan_path"] == str(path)
    assert [(c["extension_id"], c["before"], c["after"]) for c in plan["changes"]] == [
        (54, {"external_number": None}, {"external_number": "+79000000001"}),
        (55, {"external_number": None}, {"external_number": "+79000000002"}),
        (56, {"label": "Desk"}, {"label": "Sales"})]
    assert plan["client_id"] == "@me" and plan["phones"] == 5 and plan["default_region"] == "RU"

    # 54 moved since the plan, 55 was already applied, 56 still holds "before": only 56 is written.
    calls = [token(), *LIST, get(54, external_number="+79990000000"), get(55, external_number="+79000000002"),
             get(56), put(56, {"label": "Sales"})]
    with pytest.raises(RunFailed) as err:
        bulk(calls, apply_plan=str(path), bindings=bindings)
    result = err.value.result
    assert result["summary"] == {"total": 3, "changed": 1, "unchanged": 1, "failed": 0, "skipped": 0, "stale": 1}
    assert "1 of 3 planned extension(s) are stale" in str(err.value)
    assert '000*100 (id 54): stale: the phone holds external_number "+79990000000" since the plan was made ' \
           '(planned from external_number null); not written' in str(err.value)


def test_apply_plan_refuses_a_plan_of_other_bindings_unless_told_and_checks_the_tenant(tmp_path):
    """Issue 30, item 6: the plan's fingerprint of its bindings is compared with the run's, before any request."""
    path = tmp_path / "p.json"
    bulk([token(), *LIST, get(54)], check_mode=True, bindings=[{"extension": "100", "label": "A"}], plan_path=str(path))
    plan = json.loads(path.read_text())
    for changed in ({"bindings": [{"extension": "100", "label": "B"}]},
                    {"bindings": [{"extension": "100", "label": "A"}], "unbind_unlisted": True}):
        with pytest.raises(InputError) as err:
            bulk([], apply_plan=plan, **changed)      # no request: not even the token
        assert str(err.value).startswith("apply_plan (client @me at api.test): the bindings changed since the plan "
                                         "was made (%s)" % plan["created"])
        assert "plan_allow_changed_bindings: true in the task" in str(err.value)
    result, warnings = run([token(), *LIST, get(54), put(54, {"label": "A"})], apply_plan=plan,
                           bindings=[{"extension": "100", "label": "B"}], plan_allow_changed_bindings=True)
    assert result["changed"] and "the bindings changed since the plan was made" in warnings[0]
    assert "as plan_allow_changed_bindings is true" in warnings[0]
    result, warnings = run([token(), *LIST, get(54, label="A")], apply_plan=plan,
                           bindings=[{"extension": "100", "label": "A"}])    # the same bindings: no warning
    assert not result["changed"] and warnings == []
    with pytest.raises(InputError, match="the plan is for client @me, not 1001"):
        bulk([], apply_plan=str(path), client_id="1001")
    with pytest.raises(InputError, match="no plan for this tenant"):
        bulk([], apply_plan="")


def test_apply_plan_is_guarded_too(tmp_path):
    path = tmp_path / "p.json"
    bulk([token(), *LIST, get(54), get(55)], check_mode=True, plan_path=str(path),
         bindings=[{"extension": "100", "label": "A"}, {"extension": "101", "label": "B"}])
    with pytest.raises(InputError, match="would change 2 phone.s., above max_changes 1"):
        bulk([token(), *LIST], apply_plan=str(path), max_changes=1)


def test_a_missing_phonenumbers_is_one_line(monkeypatch):
    from ansible_collections.telphin.pbx.plugins.module_utils import _numbers
    monkeypatch.setattr(_numbers, "phonenumbers", None)
    with pytest.raises(InputError) as err:
        bulk([], bindings=[{"extension": "100", "external_number": "+79000000001"},
                           {"extension": "101", "external_number": "+79000000002"}])
    assert "\n" not in str(err.value) and "needs the Python library phonenumbers" in str(err.value)
    transport = ScriptedTransport()
    with pytest.raises(InputError, match="needs the Python library phonenumbers"):
        run_extension_phone(make_client(transport), {"extension_id": 54, "external_number": "+79000000001"}, False,
                            lambda s: None)


def test_a_limit_that_cannot_refuse_keeps_each_phone_read_then_written_in_turn():
    calls = [token(), *LIST, get(54), put(54, {"label": "A"}), get(55), put(55, {"label": "B"})]
    result = bulk(calls, max_changes="100%", bindings=[{"extension": "100", "label": "A"},
                                                       {"extension": "101", "label": "B"}])
    assert result["summary"]["changed"] == 2


@pytest.mark.parametrize("bad_id", ["54a", "", None, True, 5.5, "1234567890123"])
@pytest.mark.parametrize("flow", ["bulk", "single"])
def test_an_extension_id_that_is_not_a_number_is_a_protocol_error_naming_the_path(flow, bad_id):
    """A server listing an extension whose id is not a number: a ProtocolError naming the API path (it ended as
    "unexpected error (a bug)" in the lookup by name), not quoting the value; no phone is read or written."""
    listed = [dict(EXTENSIONS[0], id=bad_id)] + EXTENSIONS[1:]
    calls = [token(), Call("GET", "/client/@me/extension/", reply=listed, params={"page": 1, "per_page": PER_PAGE})]
    transport = ScriptedTransport(*calls)
    client = make_client(transport)
    with pytest.raises(ProtocolError) as err:
        if flow == "bulk":
            run_extension_phones(client, {"bindings": [{"extension": "101", "label": "A"}], "parallel": 1}, False,
                                 client.secrets.add, lambda w: None)
        else:
            run_extension_phone(client, {"extension_name": "101", "label": "A"}, False, client.secrets.add)
    transport.assert_done()
    assert str(err.value) == ("GET /client/@me/extension/ page 1: expected a JSON array of extensions with a "
                              "numeric id")
