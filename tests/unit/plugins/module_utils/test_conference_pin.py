"""The conference PIN is a secret (issue 19 item 8): compared like any readable key, never shown or saved.

Every HTTP call is scripted. The PIN is searched for in everything a run returns or writes.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils._ansible import masked_params, nested_secrets
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError, RunFailed
from ansible_collections.telphin.pbx.plugins.module_utils._phone import MASK, phone_argspec
from ansible_collections.telphin.pbx.plugins.module_utils._safety import inputs_fingerprint
from scripted import Call, token
from tests import unsafe_yaml
from ansible_collections.telphin.pbx.tests.unit.plugins.module_utils.test_bulk_safety import LIST, get, put, run
from ansible_collections.telphin.pbx.tests.unit.plugins.module_utils.test_security import single

# long: a short PIN can occur inside a signature, a fingerprint or a time the run prints
OLD, NEW = "4711830265", "9305718264"


def no_pin(*texts):
    assert min(len(OLD), len(NEW)) >= 10     # a shorter PIN can match by chance and make this test flaky
    for text in texts:
        assert OLD not in text and NEW not in text, text


def test_a_pin_change_is_written_and_shown_masked():
    result, client = single([token(),
                             get(54, conference_pin=OLD), put(54, {"conference_pin": NEW})],
                            extension_id=54, conference_pin=NEW)
    assert result["changed"] is True
    assert result["diff"]["before"] == {"conference_pin": MASK} and result["diff"]["after"] == {"conference_pin": MASK}
    assert result["phone"]["conference_pin"] == MASK
    no_pin(json.dumps(result))


def test_the_same_pin_is_no_change():
    result = single([token(),
                     get(54, conference_pin=OLD)], extension_id=54, conference_pin=OLD)[0]
    assert result["changed"] is False
    no_pin(json.dumps(result))


def test_backups_and_plans_never_hold_a_pin(tmp_path):
    bindings = [{"extension": "100", "label": "Sales", "conference_pin": NEW},
                {"extension": "101", "conference_pin": NEW}]
    calls = [token(), *LIST, Call("GET", "/client/@me/extensions_bundle/", reply=[]),
             get(54, conference_pin=OLD), get(55, conference_pin=OLD),
             put(54, {"label": "Sales", "conference_pin": NEW}), put(55, {"conference_pin": NEW})]
    result, warnings = run(calls, backup=True, backup_options={"dir_path": str(tmp_path), "filename": "b.yml"},
                           bindings=bindings, max_changes=2)      # the PIN-only change counts too
    assert result["summary"]["changed"] == 2
    backup = (tmp_path / "b.yml").read_text()
    # the PIN-only phone has nothing else to back up
    assert unsafe_yaml.load(backup)["phone_bindings"] == [{"extension": "000*100", "label": "Desk"}]
    assert "conference_pin" not in backup and "000*101" not in backup
    no_pin(json.dumps(result), backup)

    plan_calls = [token(), *LIST, Call("GET", "/client/@me/extensions_bundle/", reply=[]),
                  get(54, conference_pin=OLD), get(55, conference_pin=OLD)]
    planned, warnings = run(plan_calls, check_mode=True, bindings=bindings, plan_path=str(tmp_path / "p.json"))
    plan = (tmp_path / "p.json").read_text()
    assert [c["after"] for c in json.loads(plan)["changes"]] == [{"label": "Sales"}]
    assert any("conference PINs are not part of the plan" in w for w in warnings)
    no_pin(plan, json.dumps(planned))
    assert inputs_fingerprint({"bindings": [{"extension": "100", "conference_pin": OLD}]}, "1") == \
        inputs_fingerprint({"bindings": [{"extension": "100", "conference_pin": NEW}]}, "1")


def test_a_pin_only_change_counts_against_the_guard_masked():
    """A phone whose only change is its PIN gets a PUT: max_changes counts it, and the refusal shows it masked."""
    bindings = [{"extension": "100", "label": "Sales"}, {"extension": "101", "conference_pin": NEW}]
    calls = [token(), *LIST, Call("GET", "/client/@me/extensions_bundle/", reply=[]),
             get(54), get(55, conference_pin=OLD)]
    with pytest.raises(InputError) as err:
        run(calls, bindings=bindings, max_changes=1)
    message = str(err.value)
    assert "this run would change 2 phone(s), above max_changes 1" in message
    assert '- 000*101: conference_pin "%s" -> "%s"' % (MASK, MASK) in message
    no_pin(message)
    # unset before, the PIN is counted too, shown as null -> masked
    calls = [token(), *LIST, Call("GET", "/client/@me/extensions_bundle/", reply=[]), get(54), get(55)]
    with pytest.raises(InputError) as err:
        run(calls, bindings=bindings, max_changes=1)
    assert '- 000*101: conference_pin null -> "%s"' % MASK in str(err.value)
    no_pin(str(err.value))


def test_bad_pins_and_bundle_conflicts_are_reported_without_the_pin():
    with pytest.raises(InputError) as err:
        run([], bindings=[{"extension": "100", "conference_pin": OLD + "\x07"}])
    assert "conference_pin contains control characters (the value is not shown)" in str(err.value)
    no_pin(str(err.value))
    bundle = Call("GET", "/client/@me/extensions_bundle/", reply=[{"bundle_list": [54, 55]}])
    with pytest.raises(InputError) as err:
        run([token(), *LIST, bundle], bindings=[{"extension": "100", "conference_pin": OLD},
                                                {"extension": "101", "conference_pin": NEW}])
    assert "bundle conflict on synchronised key conference_pin" in str(err.value)
    assert "(secret value 1)" in str(err.value)
    no_pin(str(err.value))


def test_the_pin_is_a_no_log_option_and_masked_inside_bindings():
    assert phone_argspec()["conference_pin"]["no_log"] is True
    params = {"bindings": [{"extension": "100", "conference_pin": OLD}]}
    assert masked_params(params)["bindings"][0]["conference_pin"] != OLD
    assert nested_secrets(params) == {OLD}


def test_a_pin_read_back_after_the_writes_is_not_shown():
    # a provider that lists no bundles: the phones whose synchronised keys were written are read back; the PIN
    # found there (changed by another client meanwhile) fails the item without quoting either PIN
    calls = [token(), *LIST, Call("GET", "/client/@me/extensions_bundle/", status=404, reply={}),
             get(54, conference_pin=OLD), put(54, {"conference_pin": NEW}), get(54, conference_pin="7777031955")]
    with pytest.raises(RunFailed) as failed:
        run(calls, bindings=[{"extension": "100", "conference_pin": NEW}])
    error = failed.value.result["results"][0]["error"]
    assert error.startswith("after this run's writes the phone shows conference_pin=%s, not %s" % (MASK, MASK))
    no_pin(str(failed.value), json.dumps(failed.value.result))
    assert "7777031955" not in str(failed.value) + json.dumps(failed.value.result)
