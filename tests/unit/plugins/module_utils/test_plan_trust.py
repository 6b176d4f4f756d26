"""Issue 19, item 2: a plan is data, not authority. ``apply_plan`` takes a plan only with the signature of a run
with the same credentials, and derives everything again from live state before any write: the tenant's phone
extensions (one list), writable non-secret keys, values checked as ``bindings`` are, the guard's denominator.
Every HTTP call is scripted in order; a refused plan costs at most the token and the extension list."""

from __future__ import annotations

import copy
import datetime
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.telphin.pbx.plugins.module_utils import _safety
from ansible_collections.telphin.pbx.plugins.module_utils._api import PER_PAGE
from ansible_collections.telphin.pbx.plugins.module_utils._bulk import run_extension_phones
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError, RunFailed
from ansible_collections.telphin.pbx.plugins.module_utils._words import ROLE
from scripted import Call, ScriptedTransport, make_client, token
from tests.reliability.lib import sign_plan

APP_SECRET = "s3cret-app"               # make_client's
PHONE = {"external_number": None, "label": "Desk", "record_enabled": False}
PHONES = [{"id": 54 + i, "name": "000*%d" % (100 + i), "type": "phone"} for i in range(4)]
EXTENSIONS = PHONES + [{"id": 60, "name": "000*200", "type": "queue"}]
LIST = (Call("GET", "/client/@me/extension/", reply=EXTENSIONS, params={"page": 1, "per_page": PER_PAGE}),
        Call("GET", "/client/@me/extension/", reply=[], params={"page": 2, "per_page": PER_PAGE}))


WHO = "apply_plan (client @me at api.test)"     # how every plan message starts: the tenant, by id and API host


def ago(**delta):
    """A plan's ``created`` that long before now."""
    when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(**delta)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(plan, secret=APP_SECRET):
    return sign_plan(plan, secret)


def plan_of(*changes, phones=4, signed=True):
    plan = {"format": "telphin.pbx.plan/1", "client_id": "@me", "default_region": "RU", "fingerprint": "sha256:0",
            "created": ago(hours=1), "phones": phones, "changes": list(changes)}
    return sign(plan) if signed else plan


def change(ext_id, before, after, name=None):
    name = name or next((e["name"] for e in EXTENSIONS if e["id"] == ext_id), None)
    return {"extension": (name or "").rsplit("*", 1)[-1], "extension_full_name": name, "extension_id": ext_id,
            "before": before, "after": after}


def apply(calls, plan, **params):
    transport = ScriptedTransport(*calls)
    client = make_client(transport)
    params.setdefault("parallel", 1)
    try:
        return run_extension_phones(client, dict(params, apply_plan=plan), False, client.secrets.add, lambda m: None)
    finally:
        transport.assert_done()       # every call made, none more: nothing was written past the refusal


def get(ext_id, **values):
    return Call("GET", "/extension/%d/phone/" % ext_id, reply=dict(PHONE, **values))


def put(ext_id, body):
    return Call("PUT", "/extension/%d/phone/" % ext_id, body=body, reply=dict(PHONE, **body))


# -- the attacks of the issue, each in a plan whose signature holds: the live checks stand on their own ---------
def test_a_plan_writing_to_another_tenants_extension_is_refused_after_one_list_request():
    plan = plan_of(change(54, {"label": "Desk"}, {"label": "Lobby"}),
                   change(7001, {"external_number": None}, {"external_number": "+79161234567"}, name="999*100"),
                   change(60, {"label": "Q"}, {"label": "Queue"}))
    with pytest.raises(InputError) as err:
        apply([token(), *LIST], plan)
    text = str(err.value)
    assert "2 problem(s) found before any write, nothing was changed" in text
    assert "changes[1] (extension_id 7001): extension_id 7001 is not an extension of this client" in text
    assert "changes[2] (extension_id 60): extension 000*200 is a queue extension, not a phone" in text


def test_a_plan_claiming_more_phones_cannot_pass_the_guard_the_live_count_decides():
    # 3 of the tenant's 4 phones (75 %) under a 20 % guard; the plan claims the tenant has 100 phones.
    plan = plan_of(*[change(54 + i, {"label": "Desk"}, {"label": "Hacked %d" % i}) for i in range(3)], phones=100)
    with pytest.raises(InputError) as err:
        apply([token(), *LIST], plan, max_changes="20%")
    assert "would change 3 phone(s), above max_changes 20% of 4 phone extension(s) = 2 (a share allows at least 2)" \
        in str(err.value)


@pytest.mark.parametrize("after, says", [
    ({"label": "Desk\r\nX-Injected: 1"}, "label contains control characters"),
    ({"label": "Desk", "evil_key": "1"}, "unknown key(s) 'evil_key': a plan holds the phone properties"),
    ({"label": "Desk", "extension_id": 7001}, "unknown key(s) 'extension_id'"),
    ({"password": "Sip-Pass-77x"}, "password: a secret is never part of a plan"),
    ({"external_number": "not a number"}, "external_number"),
    ({"record_enabled": "maybe"}, "record_enabled must be a boolean"),
])
def test_a_plan_with_a_value_bindings_would_refuse_is_refused_before_any_request(after, says):
    plan = plan_of(change(55, {"label": "Desk"}, {"label": "Fine"}),
                   change(54, {k: None for k in after}, after))
    with pytest.raises(InputError) as err:
        apply([], plan)
    text = str(err.value)
    assert text.startswith(WHO + ": 1 problem(s) in the plan, nothing was changed:\n- changes[1] (extension_id 54)")
    assert says in text and "Sip-Pass-77x" not in text


def test_a_plan_naming_an_extension_other_than_its_id_is_refused():
    plan = plan_of(change(55, {"label": "Desk"}, {"label": "Boss"}, name="000*100"))
    with pytest.raises(InputError, match=r'changes\[0\] \(extension_id 55\): the plan names it "000\*100", the '
                                         r"tenant's list 000\*101"):
        apply([token(), *LIST], plan)


def test_a_sound_plan_writes_the_normalised_values():
    plan = plan_of(change(54, {"external_number": None}, {"external_number": "8 916 123-45-67"}))
    result = apply([token(), *LIST, get(54), put(54, {"external_number": "+79161234567"})], plan)
    assert result["changed"] and result["results"][0]["extension_id"] == 54


# -- the signature: only a run with the same credentials made the plan ------------------------------------------
def test_an_unsigned_plan_is_refused_before_any_request():
    with pytest.raises(InputError, match=re.escape(WHO) + ": the plan is not signed"):
        apply([], plan_of(change(54, {"label": "Desk"}, {"label": "A"}), signed=False))


@pytest.mark.parametrize("tamper", [
    lambda p: p["changes"][0]["after"].update(label="Edited"),
    lambda p: p["changes"][0].update(extension_id=55),
    lambda p: p.update(phones=1000),
    lambda p: p.update(client_id="1002"),
    lambda p: p.update(signature=sign(p, "another-apps-secret")["signature"]),
])
def test_a_plan_changed_after_it_was_signed_or_signed_by_other_credentials_is_refused(tamper):
    plan = copy.deepcopy(plan_of(change(54, {"label": "Desk"}, {"label": "A"})))
    tamper(plan)
    with pytest.raises(InputError, match=re.escape(WHO).replace("@me", ".*") + ": the plan's signature does not match its content"):
        apply([], plan, client_id=plan["client_id"])


def test_a_check_run_signs_its_plan_and_the_same_credentials_apply_it(tmp_path):
    path = tmp_path / "p.json"
    transport = ScriptedTransport(token(), *LIST, get(54))
    client = make_client(transport)
    run_extension_phones(client, {"bindings": [{"extension": "100", "label": "A"}], "plan_path": str(path),
                                  "parallel": 1}, True, client.secrets.add, lambda m: None)
    transport.assert_done()
    plan = json.loads(path.read_text())
    assert plan["signature"] == sign(plan)["signature"]
    assert apply([token(), *LIST, get(54), put(54, {"label": "A"})], str(path))["changed"]


def test_the_plans_text_holds_no_template_markup_and_decodes_to_the_plan():
    hostile = "{{ lookup('pipe', 'id') }} {%raw%} {#c#} {{{x}}} {\"{"
    plan = plan_of(change(54, {"label": hostile}, {"label": "{{ also }}"}))
    text = _safety.plan_text(plan)
    assert "{{" not in text and "{%" not in text and "{#" not in text
    assert json.loads(text) == plan
    result = apply([token(), *LIST, get(54, label=hostile), put(54, {"label": "{{ also }}"})], text)
    assert result["changed"]


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.text(), lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                    max_leaves=8))
def test_no_string_of_a_plan_shows_a_brace_percent_or_hash_whatever_it_holds(value):
    # by structure, not by a list of triggers: the only braces left are JSON's own, each followed by '"' or '}'
    doc = {"client_id": "1001", "changes": [{"before": {"label": value}, value if isinstance(value, str) else "k": 1}]}
    text = _safety.plan_text(doc)
    assert json.loads(text) == doc
    assert "%" not in text and "#" not in text and text.startswith("{")
    assert all(text[i + 1] in '"}' for i, char in enumerate(text) if char == "{")


# -- a number the check run accepted as not valid (number_check: possible) ---------------------------------------
def test_a_plan_with_an_accepted_not_valid_number_applies_when_the_apply_run_accepts_such_numbers_too():
    plan = plan_of(change(54, {"external_number": None}, {"external_number": "+71234567890"}))
    with pytest.raises(InputError) as refused:
        apply([], plan)       # refused before any request
    assert "is not a valid number" in str(refused.value)
    assert "on the item" not in str(refused.value)      # a plan's entry cannot carry number_check
    assert "number_check: possible in the task" in str(refused.value)
    result = apply([token(), *LIST, get(54), put(54, {"external_number": "+71234567890"})], plan,
                   number_check="possible")
    assert result["changed"] and result["results"][0]["extension_id"] == 54


# -- bundle_listing: false (a provider known not to list bundles) holds for an apply run too ----------------------
def test_an_apply_run_told_bundle_listing_false_sends_no_bundle_request_and_reads_back_as_a_normal_run_does():
    plan = plan_of(change(54, {"record_enabled": False}, {"record_enabled": True}))     # a synchronised key
    warnings = []
    transport = ScriptedTransport(token(), *LIST, get(54), put(54, {"record_enabled": True}),
                                  get(54, record_enabled=True))      # the read-back that looks for bundle conflicts
    client = make_client(transport)
    result = run_extension_phones(client, {"apply_plan": plan, "parallel": 1, "bundle_listing": False}, False,
                                  client.secrets.add, warnings.append)
    transport.assert_done()
    assert result["changed"] and warnings == []


def test_an_apply_run_on_an_api_that_lists_no_bundles_reads_back_as_its_warning_says():
    plan = plan_of(change(54, {"record_enabled": False}, {"record_enabled": True}),
                   change(55, {"record_enabled": False}, {"record_enabled": True}))
    warnings = []
    transport = ScriptedTransport(token(), *LIST, Call("GET", "/client/@me/extensions_bundle/", status=404, reply={}),
                                  get(54), get(55), put(54, {"record_enabled": True}), put(55, {"record_enabled": True}),
                                  get(54, record_enabled=True), get(55, record_enabled=False))   # 55 lost it again
    client = make_client(transport)
    with pytest.raises(RunFailed) as failed:
        run_extension_phones(client, {"apply_plan": plan, "parallel": 1}, False, client.secrets.add, warnings.append)
    transport.assert_done()
    assert any("read back after the writes instead" in w for w in warnings)
    assert "after this run's writes the phone shows record_enabled=False, not True" in str(failed.value)


# -- issue 30, item 6: a signed plan expires, and is tied to the bindings it was made from -----------------------
def test_a_plan_older_than_the_default_72_hours_is_refused_before_any_request():
    plan = plan_of(change(54, {"label": "Desk"}, {"label": "A"}))
    plan = sign(dict(plan, created=ago(hours=72, minutes=5)))
    with pytest.raises(InputError) as err:
        apply([], plan)         # zero requests: not even the token
    assert str(err.value) == "%s: the plan was made %s, 72.1 h ago" % (WHO, plan["created"]) + \
        ", longer ago than plan_max_age 72h allows; nothing was changed: make and approve a new plan with a check " \
        "run (an older plan is applied only with a longer plan_max_age)"


@pytest.mark.parametrize("max_age, old, applies", [
    ("36h", dict(hours=35, minutes=59), True), ("36h", dict(hours=36, minutes=1), False),
    ("90m", dict(minutes=89), True), ("90m", dict(minutes=91), False),
    ("2d", dict(days=1, hours=23), True), ("2d", dict(days=2, minutes=1), False),
    (3600, dict(minutes=59), True), ("3600", dict(minutes=61), False), ("45s", dict(minutes=1), False),
    ("7d", dict(days=3), True),
])
def test_plan_max_age_takes_seconds_or_one_number_with_a_unit(max_age, old, applies):
    plan = sign(dict(plan_of(change(54, {"label": "Desk"}, {"label": "A"})), created=ago(**old)))
    if applies:
        assert apply([token(), *LIST, get(54), put(54, {"label": "A"})], plan, plan_max_age=max_age)["changed"]
    else:
        with pytest.raises(InputError, match="longer ago than plan_max_age"):
            apply([], plan, plan_max_age=max_age)


@pytest.mark.parametrize("value", ["36 h", " 36h", "1.5h", "-1", "0", "0h", "1d12h", "36H", "36hours", "367d",
                                   True, 1.5, [], "1e3", "٣٦h"])
def test_a_bad_plan_max_age_is_refused_before_any_request_also_without_a_plan(value):
    with pytest.raises(InputError, match="plan_max_age .* is not a duration: give seconds"):
        apply([], plan_of(change(54, {"label": "Desk"}, {"label": "A"})), plan_max_age=value)
    transport = ScriptedTransport()
    client = make_client(transport)
    with pytest.raises(InputError, match="plan_max_age .* is not a duration: give seconds"):
        run_extension_phones(client, {"bindings": [{"extension": "100", "label": "A"}], "plan_max_age": value,
                                      "parallel": 1}, False, client.secrets.add, lambda m: None)
    transport.assert_done()


@pytest.mark.parametrize("ahead, applies", [(dict(minutes=4), True), (dict(minutes=6), False), (dict(days=1), False)])
def test_a_plan_from_the_future_beyond_a_small_clock_skew_is_refused(ahead, applies):
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(**ahead)
    plan = sign(dict(plan_of(change(54, {"label": "Desk"}, {"label": "A"})),
                     created=when.strftime("%Y-%m-%dT%H:%M:%SZ")))
    if applies:
        assert apply([token(), *LIST, get(54), put(54, {"label": "A"})], plan)["changed"]
    else:
        future = r": the plan was made .*, \d+ s after this run's clock .*: a plan from the future is refused \(a clock"
        with pytest.raises(InputError, match=re.escape(WHO) + future + r" skew up to 300 s"):
            apply([], plan)


@pytest.mark.parametrize("created", [None, "", "2026-12-06 01:00:00", "yesterday", 1765000000])
def test_a_signed_plan_without_a_readable_creation_time_is_refused(created):
    plan = plan_of(change(54, {"label": "Desk"}, {"label": "A"}), signed=False)
    plan = sign(dict(plan, created=created) if created is not None else {k: v for k, v in plan.items()
                                                                         if k != "created"})
    with pytest.raises(InputError, match="the plan carries no time it was made"):
        apply([], plan)


def test_the_roles_words_name_its_variables_in_the_age_and_bindings_refusals():
    plan = sign(dict(plan_of(change(54, {"label": "Desk"}, {"label": "A"})), created=ago(days=4)))
    transport = ScriptedTransport()
    client = make_client(transport)
    with pytest.raises(InputError) as err:
        run_extension_phones(client, {"apply_plan": plan, "parallel": 1}, False, client.secrets.add, lambda m: None,
                             ROLE)
    assert "longer ago than phone_bindings_plan_max_age 72h allows" in str(err.value)
    with pytest.raises(InputError) as err:
        run_extension_phones(client, {"apply_plan": plan_of(change(54, {"label": "Desk"}, {"label": "A"})),
                                      "bindings": [{"extension": "100", "label": "B"}], "parallel": 1}, False,
                             client.secrets.add, lambda m: None, ROLE)
    assert "-e phone_bindings_plan_allow_changed_bindings=true" in str(err.value)
    assert "phone_bindings, phone_bindings_unbind_unlisted" in str(err.value)
    transport.assert_done()


def test_every_message_of_a_stale_apply_names_the_tenant():
    plan = plan_of(change(54, {"label": "Desk"}, {"label": "A"}))
    with pytest.raises(RunFailed) as err:
        apply([token(), *LIST, get(54, label="Moved")], plan)
    assert str(err.value).startswith(WHO + ": 1 of 1 planned extension(s) are stale")
