"""The phone policy of extension_phones, every HTTP call scripted in order: a policy over a tenant's phones (one
excluded, one binding overriding a key), the exact GETs and PUTs and their bodies, the per-key totals, the guard,
and every bad policy refused before any request (naming the role's variables when the role runs)."""

from __future__ import annotations

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils._api import PER_PAGE
from ansible_collections.telphin.pbx.plugins.module_utils._ansible import masked_params, nested_secrets
from ansible_collections.telphin.pbx.plugins.module_utils._bulk import run_extension_phones
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError
from ansible_collections.telphin.pbx.plugins.module_utils._policy import POLICY_KEYS, check_policy, totals
from ansible_collections.telphin.pbx.plugins.module_utils._results import PhoneOutcome
from ansible_collections.telphin.pbx.plugins.module_utils._words import ROLE
from scripted import Call, ScriptedTransport, make_client, token

PHONE = {"external_number": None, "label": "Desk", "record_enabled": False, "record_format": "mp3_mono",
         "geo_list": None, "incoming_limit": None, "dtmf_mode": "rfc2833"}
EXTENSIONS = [{"id": 54, "name": "000*100", "type": "phone"}, {"id": 55, "name": "000*101", "type": "phone"},
              {"id": 56, "name": "000*102", "type": "phone"}, {"id": 60, "name": "000*200", "type": "queue"}]
LIST = (Call("GET", "/client/@me/extension/", reply=EXTENSIONS, params={"page": 1, "per_page": PER_PAGE}),
        Call("GET", "/client/@me/extension/", reply=[], params={"page": 2, "per_page": PER_PAGE}))
BUNDLES = Call("GET", "/client/@me/extensions_bundle/", reply=[])
POLICY = {"geo_list": ["ru", "BY"], "record_enabled": True, "record_format": "wav_mono"}


def get(ext_id, **values):
    return Call("GET", "/extension/%d/phone/" % ext_id, reply=dict(PHONE, **values))


def put(ext_id, body, **stored):
    return Call("PUT", "/extension/%d/phone/" % ext_id, body=body, reply=dict(PHONE, **dict(body, **stored)))


def run(calls, check_mode=False, words=None, **params):
    """(result, warnings, transport) of ``run_extension_phones``, every call scripted."""
    transport = ScriptedTransport(*calls)
    client = make_client(transport)
    warnings = []
    params.setdefault("parallel", 1)
    extra = {"words": words} if words is not None else {}
    try:
        result = run_extension_phones(client, params, check_mode, client.secrets.add, warnings.append, **extra)
    finally:
        transport.assert_done()
    return result, warnings, transport


def test_a_policy_over_three_phones_one_excluded_one_binding_overriding_a_key():
    # 101's binding sets record_format (a synchronised key): the bundle list is read, as for any binding that does.
    # The binding's phone comes first, then the policy's in list order; 102 is excluded: never read.
    calls = [token(), *LIST, BUNDLES,
             get(55, geo_list="RU BY", record_enabled=True),
             put(55, {"record_format": "mp3_stereo", "external_number": "+79000000001"}, geo_list="RU BY",
                 record_enabled=True),
             get(54),
             put(54, {"geo_list": "BY RU", "record_enabled": True, "record_format": "wav_mono"})]
    result, warnings, transport = run(calls, policy=POLICY, policy_exclude=["102"], bindings=[
        {"extension": "101", "external_number": "+7 900 000-00-01", "record_format": "mp3_stereo"}])
    assert warnings == []
    assert [(c["method"], c["path"], c["body"]) for c in transport.sent if c["method"] == "PUT"] == [
        ("PUT", "/extension/55/phone/", {"record_format": "mp3_stereo", "external_number": "+79000000001"}),
        ("PUT", "/extension/54/phone/", {"geo_list": "BY RU", "record_enabled": True, "record_format": "wav_mono"})]
    assert result["summary"] == {"total": 2, "changed": 2, "unchanged": 0, "failed": 0, "skipped": 0}
    # totals count the keys the policy gave (101's record_format is the binding's, its geo_list already held)
    assert result["policy_changes"] == [
        {"key": "geo_list", "change": 'geo_list null -> "BY RU"', "phones": 1},
        {"key": "record_enabled", "change": "record_enabled false -> true", "phones": 1},
        {"key": "record_format", "change": 'record_format "mp3_mono" -> "wav_mono"', "phones": 1}]


def test_a_policy_alone_reads_no_bundle_list_and_puts_only_what_differs():
    calls = [token(), *LIST, get(54, incoming_limit=2), get(55), put(55, {"incoming_limit": 2}), get(56, incoming_limit="2")]
    result, _warnings, _transport = run(calls, policy={"incoming_limit": 2})
    assert result["summary"]["changed"] == 1
    assert result["policy_changes"] == [{"key": "incoming_limit", "change": "incoming_limit null -> 2", "phones": 1}]


def test_exclusions_by_full_name_and_glob():
    calls = [token(), *LIST, get(55), put(55, {"record_enabled": True})]
    result, _warnings, _transport = run(calls, policy={"record_enabled": True}, policy_exclude=["000*100", "10[2-9]"])
    assert [r["extension"] for r in result["results"]] == ["101"]


def test_in_check_mode_a_policy_predicts_and_totals_without_a_put():
    calls = [token(), *LIST, get(54), get(55), get(56, record_format="wav_mono")]
    result, _warnings, _transport = run(calls, check_mode=True, policy={"record_format": "wav_mono"})
    assert result["summary"]["changed"] == 2
    assert result["policy_changes"] == [
        {"key": "record_format", "change": 'record_format "mp3_mono" -> "wav_mono"', "phones": 2}]
    assert result["diff"][0]["before"] == {"record_format": "mp3_mono"}
    assert result["diff"][0]["after"] == {"record_format": "wav_mono"}


def test_the_guard_refuses_a_fleet_wide_policy_change_after_the_reads_and_names_the_policy():
    calls = [token(), *LIST, get(54), get(55), get(56)]
    with pytest.raises(InputError) as err:
        run(calls, words=ROLE, policy={"record_enabled": True}, max_changes="20%")
    message = str(err.value)
    assert message.startswith("refused by the blast-radius guard, nothing was written: this run would change 3 "
                              "phone(s)")
    assert "Check phone_bindings and phone_policy" in message
    assert "-e phone_bindings_max_changes=3" in message


def test_a_server_value_in_the_totals_is_escaped_and_bounded():
    outcome = PhoneOutcome(54, "000*100", changed=True, status="changed",
                           before={"geo_list": "RU\x1b[31m" + "X" * 100}, after={"geo_list": "RU"})
    [line] = totals([(outcome, ("geo_list",))])
    assert "\x1b" not in line["change"] and "\\u001b" in line["change"] and len(line["change"]) < 150


def test_totals_past_the_bound_are_counted_per_key():
    outcomes = [(PhoneOutcome(i, changed=True, status="changed", before={"incoming_limit": i}, after={"incoming_limit": 0}),
                 ("incoming_limit",)) for i in range(1, 26)]
    lines = totals(outcomes)
    assert len(lines) == 21
    assert lines[-1] == {"key": "incoming_limit", "change": "incoming_limit from other values", "phones": 5}


BAD = [
    (["record_enabled"], "phone_policy must be a mapping of the phone properties every phone gets (such as "
                         "record_enabled: true), got a list"),
    ("record_enabled: true", "phone_policy must be a mapping"),
    ({"external_number": "+79000000001"}, "phone_policy: external_number: a policy holds no phone number and no "
                                          "secret (one value would go to every phone); give them per phone in "
                                          "phone_bindings"),
    ({"password": "Sip-Pass-4711-secret"}, "phone_policy: password: a policy holds no phone number and no secret"),
    ({"conference_pin": "4711"}, "phone_policy: conference_pin: a policy holds no phone number and no secret"),
    ({"record_formt": "wav_mono"}, "phone_policy: unknown key(s) record_formt; a policy sets these phone properties: "),
    ({"record_format": "mp4"}, "phone_policy: record_format must be one of mp3_mono, mp3_stereo, wav_mono, "
                               "wav_stereo, got 'mp4'"),
    ({"incoming_limit": "two"}, "phone_policy: incoming_limit must be an integer, got 'two'"),
    ({"record_enabled": "maybe"}, "phone_policy: record_enabled must be a boolean, got 'maybe'"),
    ({"geo_list": ["RU", "XX"]}, "phone_policy: geo_list item 'XX' is not a country code phonenumbers knows"),
    ({"geo_list": ["RU", "*"]}, "phone_policy: geo_list: * means every country"),
    ({"geo_list": ["RUS"]}, "phone_policy: geo_list item 'RUS' is not a two-letter ISO country code"),
]


@pytest.mark.parametrize("policy, message", BAD)
def test_a_bad_policy_is_refused_before_any_request_naming_the_role_variable(policy, message):
    with pytest.raises(InputError) as err:
        run([], words=ROLE, policy=policy, bindings=[{"extension": "100", "label": "A"}])
    assert message in str(err.value)
    assert "Sip-Pass-4711-secret" not in str(err.value) and "4711" not in str(err.value)


@pytest.mark.parametrize("exclude, message", [
    ("100", "phone_policy_exclude must be a list of extension names or globs"),
    ([100], "phone_policy_exclude[0]: 100 is an integer, not a string: quote it in YAML"),
    (["10/0"], "phone_policy_exclude[0]: 10/0 is not an extension name or a glob"),
    (["1[0-9"], "phone_policy_exclude[0]: 1[0-9 is not an extension name or a glob"),
    ([""], "phone_policy_exclude[0]:  is not an extension name or a glob"),
    ([None], "phone_policy_exclude[0]: a NoneType is not an extension name or a glob"),
])
def test_bad_exclusions_are_refused_before_any_request(exclude, message):
    with pytest.raises(InputError) as err:
        run([], words=ROLE, policy={"record_enabled": True}, policy_exclude=exclude)
    assert message in str(err.value)


def test_the_module_names_its_own_options():
    with pytest.raises(InputError, match=r"- policy: unknown key\(s\) colour"):
        run([], policy={"colour": "red"})


def test_policy_keys_are_the_field_table_less_number_and_secrets():
    assert "external_number" not in POLICY_KEYS and "password" not in POLICY_KEYS
    assert "conference_pin" not in POLICY_KEYS
    assert {"geo_list", "record_enabled", "record_format", "incoming_limit"} <= set(POLICY_KEYS)
    assert check_policy({}, None) == (None, [])
    assert check_policy({"record_format": None}, None) == (None, [])      # a null key is not set, as in bindings


def test_a_secret_put_in_a_policy_is_masked_in_the_invocation():
    params = {"policy": {"password": "Sip-Pass-4711-secret", "record_enabled": True}}
    assert masked_params(params)["policy"] == {"password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER",
                                               "record_enabled": True}
    assert nested_secrets(params) == {"Sip-Pass-4711-secret"}


def test_a_plan_carries_the_policy_changes_and_belongs_to_its_policy(tmp_path):
    path = tmp_path / "p.json"
    planned, _warnings, _transport = run([token(), *LIST, get(54), get(55, record_enabled=True), get(56)],
                                         check_mode=True, policy={"record_enabled": True}, plan_path=str(path))
    plan = planned["plan"]
    assert [(c["extension_id"], c["before"], c["after"]) for c in plan["changes"]] == [
        (54, {"record_enabled": False}, {"record_enabled": True}), (56, {"record_enabled": False},
                                                                    {"record_enabled": True})]
    with pytest.raises(InputError, match="the bindings changed since the plan was made"):
        run([], apply_plan=plan, policy={"record_enabled": False})        # another policy: no request
    # a plan's changes are items: one that sets a synchronised key reads the bundle list, as any such item does
    result, warnings, transport = run([token(), *LIST, BUNDLES, get(54), get(56), put(54, {"record_enabled": True}),
                                       put(56, {"record_enabled": True})], apply_plan=plan,
                                      policy={"record_enabled": True})
    assert result["summary"]["changed"] == 2 and warnings == []
    assert [c["body"] for c in transport.sent if c["method"] == "PUT"] == [{"record_enabled": True}] * 2
