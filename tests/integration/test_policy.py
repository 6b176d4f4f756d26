"""The phone policy (issue 32, item 1) through real ansible-playbook runs of the phone_bindings role against the
emulator: three tenants with exclusions, a binding overriding a policy key and a phone created between runs; the
default guard; every bad policy refused with no request; --check --diff, a plan applied, a backup restored."""

from __future__ import annotations

import json

import pytest

from harness import api_calls, tenant_world, token_calls
from tests import unsafe_yaml
from tests.reliability.lib import phones, tenant_inventory

POLICY = {"geo_list": ["RU", "by"], "record_enabled": True, "record_format": "wav_mono"}
SET = {"geo_list": "BY RU", "record_enabled": True, "record_format": "wav_mono"}
KEYS = ("geo_list", "record_enabled", "record_format", "incoming_limit")


def with_policy(inventory, policy=None, exclude=None, **group_vars):
    """``inventory`` with the policy in the group's variables (group_vars), as a dealer keeps it."""
    group = inventory["all"]["children"]["telphin_tenants"]["vars"]
    group.update({"phone_policy": policy if policy is not None else POLICY}, **group_vars)
    if exclude is not None:
        group["phone_policy_exclude"] = exclude
    return inventory


def put_bodies(emu):
    return {int(p["path"].split("/")[-3]): p["body"] for p in api_calls(emu.requests(), "PUT")}


def held(emu, ext_id):
    return {k: phones(emu.state())[ext_id][k] for k in KEYS}


def flat(text: str) -> str:
    return " ".join(text.split())


def test_a_policy_over_three_tenants_then_a_phone_created_between_runs(emulator_factory, playbook):
    # Tenant N: phones 100-103 (ids 5N-4 .. 5N-1), a queue. 103 is excluded everywhere; tenant 3's binding gives
    # 101 its own record_format, which wins over the policy's for that key only.
    emu = emulator_factory(tenant_world(tenants=3, phones=4))
    own = [{"extension": "101", "record_format": "wav_stereo"}]
    inv = with_policy(tenant_inventory(emu.url, {1: [], 2: [], 3: own}), exclude=["103"])
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc == 0, run.output
    log = emu.requests()
    assert len(token_calls(log)) == 3
    # tenant 3's binding sets a synchronised key: its bundle list is read, as for any such binding; a policy alone
    # reads none
    assert [r["path"] for r in api_calls(log, "GET", "extensions_bundle")] == \
        ["/api/ver1.0/client/1003/extensions_bundle/"]
    assert sorted(int(r["path"].split("/")[-3]) for r in api_calls(log, "GET", "/phone/")) == [
        1, 2, 3, 6, 7, 8, 11, 12, 13]                                  # 103 of each tenant never read
    assert put_bodies(emu) == {1: SET, 2: SET, 3: SET, 6: SET, 7: SET, 8: SET, 11: SET,
                               12: dict(SET, record_format="wav_stereo"), 13: SET}
    assert len(log) == 3 * (1 + 2 + 3 + 3) + 1
    assert held(emu, 4) == {"geo_list": None, "record_enabled": False, "record_format": "mp3_mono",
                            "incoming_limit": None}                    # excluded: untouched
    assert held(emu, 12)["record_format"] == "wav_stereo"
    out = flat(run.stdout)
    assert 'policy: geo_list null -> "BY RU": 9 phone(s) changed in 3 tenant(s)' in out
    assert 'policy: record_enabled false -> true: 9 phone(s) changed in 3 tenant(s)' in out
    assert 'policy: record_format "mp3_mono" -> "wav_mono": 8 phone(s) changed in 3 tenant(s)' in out

    # A phone created in tenant 2 between the runs gets the policy on the next run; nothing else is written.
    emu.add_extension(1002, {"id": 90, "name": "104", "phone": {"label": "New staff"}})
    emu.requests(clear=True)
    again = playbook("telphin.pbx.rollout_bindings", inv)
    assert again.rc == 0, again.output
    assert put_bodies(emu) == {90: SET}
    assert len(api_calls(emu.requests(), "GET", "/phone/")) == 10
    assert 'policy: record_format "mp3_mono" -> "wav_mono": 1 phone(s) changed in 1 tenant(s)' in \
        flat(again.stdout)
    emu.requests(clear=True)
    assert playbook("telphin.pbx.rollout_bindings", inv).rc == 0 and put_bodies(emu) == {}


def test_the_default_guard_refuses_a_fleet_wide_policy_change(emulator_factory, playbook):
    emu = emulator_factory(tenant_world(tenants=1, phones=6))
    inv = with_policy(tenant_inventory(emu.url, {1: []}))
    del inv["all"]["children"]["telphin_tenants"]["vars"]["phone_bindings_max_changes"]      # the role's 20%
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc != 0
    assert api_calls(emu.requests(), "PUT") == []
    out = flat(run.stdout)
    assert "refused by the blast-radius guard, nothing was written: this run would change 6 phone(s)" in out
    assert "Check phone_bindings and phone_policy" in out and "-e phone_bindings_max_changes=6" in out
    allowed = playbook("telphin.pbx.rollout_bindings", inv, "-e", "phone_bindings_max_changes=100%")
    assert allowed.rc == 0 and len(api_calls(emu.requests(), "PUT")) == 6


BAD = {
    1: (["record_enabled"], {}, "phone_policy must be a mapping of the phone properties every phone gets"),
    2: ({"external_number": "+79161234567"}, {},
        "phone_policy: external_number: a policy holds no phone number and no secret"),
    3: ({"password": "Sip-Pass-4711-policy"}, {}, "phone_policy: password: a policy holds no phone number"),
    4: ({"conference_pin": "9021055512"}, {}, "phone_policy: conference_pin: a policy holds no phone number"),
    5: ({"record_formats": "wav_mono"}, {}, "phone_policy: unknown key(s) record_formats"),
    6: ({"record_format": "flac"}, {},
        "phone_policy: record_format must be one of mp3_mono, mp3_stereo, wav_mono, wav_stereo, got 'flac'"),
    7: ({"geo_list": ["RU", "XK", "QQ"]}, {}, "phone_policy: geo_list item 'QQ' is not a country code phonenumbers knows"),
    8: ({"record_enabled": True}, {"phone_policy_exclude": [101]},
        "phone_policy_exclude[0]: 101 is an integer, not a string"),
}


def test_each_bad_policy_fails_its_tenant_before_any_request(emulator_factory, playbook):
    emu = emulator_factory(tenant_world(tenants=len(BAD), phones=2))
    inv = tenant_inventory(emu.url, {n: [] for n in BAD})
    for n, (policy, more, _message) in BAD.items():
        inv["all"]["children"]["telphin_tenants"]["hosts"]["tenant%d" % n].update(dict(more, phone_policy=policy))
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc != 0
    assert emu.requests() == []                                        # not even a token
    out = flat(run.stdout)
    for n, (_policy, _more, message) in BAD.items():
        assert message in out, (n, message)
    assert "%d failed" % len(BAD) in out
    assert "Sip-Pass-4711-policy" not in run.output and "9021055512" not in run.output


def test_check_diff_plan_apply_backup_and_restore_carry_the_policy(emulator_factory, playbook, tmp_path):
    world = tenant_world(tenants=1, phones=4)
    world["clients"][0]["extensions"][1]["phone"].update(geo_list="RU", record_format="wav_mono")   # 101 holds it
    emu = emulator_factory(world)
    original = {i: held(emu, i) for i in range(1, 5)}
    plan_dir, backup_dir = tmp_path / "plans", tmp_path / "backups"
    policy = {"geo_list": "ru", "record_format": "wav_mono"}
    inv = with_policy(tenant_inventory(emu.url, {1: []}), policy, phone_bindings_plan_dir=str(plan_dir),
                      phone_bindings_backup=True, phone_bindings_backup_dir=str(backup_dir))
    check = playbook("telphin.pbx.rollout_bindings", inv, "--check", "--diff")
    assert check.rc == 0, check.output
    assert api_calls(emu.requests(), "PUT") == [] and not backup_dir.exists()
    assert '"record_format": "mp3_mono"' in check.stdout and '"record_format": "wav_mono"' in check.stdout
    assert 'policy: geo_list null -> "RU": 3 phone(s) to change in 1 tenant(s)' in flat(check.stdout)
    plan = json.loads((plan_dir / "tenant1.plan.json").read_text())
    assert [(c["extension_id"], c["before"], c["after"]) for c in plan["changes"]] == [
        (i, {"geo_list": None, "record_format": "mp3_mono"}, {"geo_list": "RU", "record_format": "wav_mono"})
        for i in (1, 3, 4)]

    emu.requests(clear=True)
    apply = playbook("telphin.pbx.rollout_bindings", inv, "-e", "phone_bindings_apply_plan=true")
    assert apply.rc == 0, apply.output
    assert put_bodies(emu) == {i: {"geo_list": "RU", "record_format": "wav_mono"} for i in (1, 3, 4)}
    [backup] = list(backup_dir.iterdir())
    assert unsafe_yaml.load(backup.read_text())["phone_bindings"] == [
        {"extension": "010*%d" % (100 + i), "geo_list": "", "record_format": "mp3_mono"} for i in (0, 2, 3)]

    # Restore with the policy still in group_vars: the backup's bindings win for their keys.
    emu.requests(clear=True)
    restore = playbook("telphin.pbx.rollout_bindings", inv, "-e", "@%s" % backup)
    assert restore.rc == 0, restore.output
    assert {i: held(emu, i) for i in range(1, 5)} == original
    assert sorted(put_bodies(emu)) == [1, 3, 4]


@pytest.mark.parametrize("exclude", [["10[0-2]"], ["010*100", "101", "102"]])
def test_exclusions_by_glob_and_by_name(emulator_factory, playbook, exclude):
    emu = emulator_factory(tenant_world(tenants=1, phones=4))
    run = playbook("telphin.pbx.rollout_bindings", with_policy(tenant_inventory(emu.url, {1: []}), exclude=exclude))
    assert run.rc == 0, run.output
    assert put_bodies(emu) == {4: SET}
