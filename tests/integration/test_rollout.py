"""Multi-tenant rollout: the phone_bindings role, the rollout and export playbooks, request counts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
import yaml

from harness import api_calls, desired_number, tenant_world, token_calls
from tests.reliability.lib import tenant_inventory
from tests import unsafe_yaml

T, E, PHONES = 3, 4, 6


def numbers(state):
    return {(c["id"], e["name"]): e.get("phone", {}).get("external_number")
            for c in state["clients"] for e in c["extensions"] if e["type"] == "phone"}


def wanted(n, count=E):
    return [{"extension": str(100 + i), "external_number": desired_number(n, i)} for i in range(count)]


def test_rollout_costs_the_request_floor_and_converges(emulator_factory, playbook):
    # Each tenant has its first 2 phones bound already: k = 2 per tenant differ of E = 4 listed.
    emu = emulator_factory(tenant_world(tenants=T, phones=PHONES, bound=2))
    inv = tenant_inventory(emu.url, {n: wanted(n) for n in range(1, T + 1)})
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc == 0, run.output
    log = emu.requests()
    assert len(token_calls(log)) == T
    assert len(api_calls(log, "GET", "/extension/")) - len(api_calls(log, "GET", "/phone/")) == 2 * T  # list pages
    assert len(api_calls(log, "GET", "/phone/")) == T * E
    puts = api_calls(log, "PUT")
    assert len(puts) == T * 2 and all(list(p["body"]) == ["external_number"] for p in puts)
    assert len(log) == T + 2 * T + T * E + T * 2
    for n in range(1, T + 1):
        assert "tenant%d: 4 phones looked at, 2 changed, 2 unchanged, 0 failed" % n in run.stdout
    # One task per tenant, the bulk call (a task per tenant costs a worker process each): the role's argument
    # validation is off in the playbook, and the index of the batch's numbers and the summary (which writes any
    # deferred binds and publishes the plans of check runs) are one task for the batch; no line for the plans in an
    # ordinary run.
    assert re.findall(r"^TASK \[(?:telphin\.pbx\.phone_bindings : )?(.+?)\]", run.stdout, re.M) == [
        "Index the numbers the batch's tenants bind", "Apply the bindings of the tenant in one bulk call",
        "Summarise the tenants"]
    assert "skipping: [" not in run.stdout
    state = numbers(emu.state())
    assert all(state[(1000 + n, "0%d0*%d" % (n, 100 + i))] == desired_number(n, i)
               for n in range(1, T + 1) for i in range(E))
    assert state[(1001, "010*105")] is None     # unlisted: untouched

    emu.requests(clear=True)
    again = playbook("telphin.pbx.rollout_bindings", inv)
    assert again.rc == 0 and api_calls(emu.requests(), "PUT") == []
    assert again.stdout.count("changed=0") == T


def test_check_diff_is_a_drift_report_that_writes_nothing(emulator_factory, playbook):
    emu = emulator_factory(tenant_world(tenants=2, phones=PHONES))
    inv = tenant_inventory(emu.url, {n: wanted(n) for n in (1, 2)})
    assert playbook("telphin.pbx.rollout_bindings", inv).rc == 0
    # An out-of-band change through the API, as the CRM or an admin would make it.
    emu.requests(clear=True)
    form = {"grant_type": "client_credentials", "client_id": "tenant2-app", "client_secret": "secret-tenant2-Xq9"}
    token = requests.post(emu.url + "/oauth/token", data=form, timeout=10).json()
    requests.put(emu.url + "/api/ver1.0/extension/%d/phone/" % (PHONES + 2 + 1),
                 json={"external_number": "+79990000000"},
                 headers={"Authorization": "Bearer " + token["access_token"]}, timeout=10).raise_for_status()
    emu.requests(clear=True)
    run = playbook("telphin.pbx.rollout_bindings", inv, "--check", "--diff")
    assert run.rc == 0, run.output
    assert api_calls(emu.requests(), "PUT") == []
    assert "tenant2: 4 phones looked at, 1 to change" in run.stdout
    assert "tenant1: 4 phones looked at" not in run.stdout       # in sync: counted, not listed
    assert "2 tenant(s) in check mode: 1 to change (1 phone(s)), 1 in sync, 0 failed; 14 requests" in run.stdout
    assert '"external_number": "+79990000000"' in run.stdout
    assert "--- before: tenant2: extension 020*101 (id %d) phone" % (PHONES + 2 + 1) in run.stdout


def test_prune_only_with_unbind_unlisted(emulator_factory, playbook):
    emu = emulator_factory(tenant_world(tenants=1, phones=PHONES, bound=PHONES))
    inv = tenant_inventory(emu.url, {1: wanted(1, 2)})
    assert playbook("telphin.pbx.rollout_bindings", inv).rc == 0
    assert sum(v is not None for v in numbers(emu.state()).values()) == PHONES
    inv = tenant_inventory(emu.url, {1: wanted(1, 2)}, phone_bindings_unbind_unlisted=True)
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc == 0, run.output
    state = numbers(emu.state())
    assert [state[(1001, "010*%d" % (100 + i))] for i in range(PHONES)] == \
        [desired_number(1, 0), desired_number(1, 1)] + [None] * (PHONES - 2)


def test_bundle_conflict_is_refused_and_nothing_is_written(emulator_factory, playbook):
    world = tenant_world(tenants=1, phones=4)
    world["clients"][0]["bundles"] = [{"main": 1, "members": [1, 2]}]
    emu = emulator_factory(world)
    inv = tenant_inventory(emu.url, {1: [{"extension": "100", "record_enabled": True, "external_number": "+79000000001"},
                                         {"extension": "101", "record_enabled": False}]})
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc != 0
    assert "bundle conflict on synchronised key record_enabled" in run.stdout
    assert api_calls(emu.requests(), "PUT") == []


def test_a_failing_item_does_not_stop_the_others_and_a_rerun_converges(emulator_factory, playbook):
    emu = emulator_factory(tenant_world(tenants=1, phones=PHONES))
    # Two 500s in a row on one phone's PUT: after each the phone is read; not applied, the PUT is repeated once.
    emu.set_faults([{"match": {"method": "PUT", "path": "/extension/2/phone/"}, "action": "status", "status": 500,
                     "body": {"message": "internal error"}, "times": 2}])
    inv = tenant_inventory(emu.url, {1: wanted(1, PHONES)})
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc != 0
    assert "1 of 6 extension(s) failed" in run.stdout and "010*101 (id 2)" in run.stdout
    on_phone_2 = [r["method"] for r in emu.requests() if r["path"] == "/api/ver1.0/extension/2/phone/"]
    assert on_phone_2 == ["GET", "PUT", "GET", "PUT", "GET"]
    state = numbers(emu.state())
    assert sum(v is not None for v in state.values()) == PHONES - 1
    rerun = playbook("telphin.pbx.rollout_bindings", inv)
    assert rerun.rc == 0 and "1 changed, 5 unchanged" in rerun.stdout


def test_a_put_500_is_decided_by_a_read_applied_or_repeated_once(emulator_factory, playbook):
    emu = emulator_factory(tenant_world(tenants=1, phones=PHONES))
    emu.set_faults([{"match": {"method": "PUT", "path": "/extension/2/phone/"}, "action": "status_after",
                     "status": 500, "times": 1},                           # applied, then a 500
                    {"match": {"method": "PUT", "path": "/extension/3/phone/"}, "action": "status", "status": 500,
                     "times": 1},                                          # not applied
                    {"match": {"method": "GET", "path": "/extension/4/phone/"}, "action": "status", "status": 500,
                     "times": 1}])                                         # a read: retried
    inv = tenant_inventory(emu.url, {1: wanted(1, PHONES)})
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc == 0, run.output
    assert "6 changed, 0 unchanged, 0 failed" in run.stdout
    calls = {n: [r["method"] for r in emu.requests() if r["path"] == "/api/ver1.0/extension/%d/phone/" % n]
             for n in (2, 3, 4)}
    assert calls == {2: ["GET", "PUT", "GET"], 3: ["GET", "PUT", "GET", "PUT"], 4: ["GET", "GET", "PUT"]}
    assert numbers(emu.state()) == {(1001, "010*%d" % (100 + i)): desired_number(1, i) for i in range(PHONES)}


def test_export_then_rollout_is_a_no_op(emulator_factory, playbook, tmp_path):
    emu = emulator_factory(tenant_world(tenants=2, phones=PHONES, bound=3))
    export_dir = tmp_path / "host_vars"
    inv = tenant_inventory(emu.url, {1: [], 2: []})
    run = playbook("telphin.pbx.export_bindings", inv, extra_vars={"telphin_export_dir": str(export_dir)})
    assert run.rc == 0, run.output
    exported = {n: unsafe_yaml.load((export_dir / ("tenant%d.yml" % n)).read_text())["phone_bindings"] for n in (1, 2)}
    assert exported[1][0] == {"extension": "100", "external_number": desired_number(1, 0)}
    assert exported[1][5] == {"extension": "105", "external_number": ""}
    for n in (1, 2):
        assert "secret" not in (export_dir / ("tenant%d.yml" % n)).read_text()
    emu.requests(clear=True)
    rollout = playbook("telphin.pbx.rollout_bindings",
                       tenant_inventory(emu.url, exported, phone_bindings_unbind_unlisted=True))
    assert rollout.rc == 0, rollout.output
    assert api_calls(emu.requests(), "PUT") == []
    assert rollout.stdout.count("changed=0") == 2


@pytest.mark.parametrize("book", ["telphin.pbx.export_bindings", "telphin.pbx.rollout_bindings"])
def test_playbooks_pass_timeout_and_quota_reserve_from_the_host_variables(emulator_factory, playbook, tmp_path, book):
    """The playbooks pass every connection variable through module_defaults (export once lacked these two; the
    role's are one template)."""
    emu = emulator_factory(tenant_world(tenants=1, phones=PHONES, quota=1000))
    extra = {"telphin_export_dir": str(tmp_path / "out")}
    bindings = {1: wanted(1, count=1)}
    reserved = playbook(book, tenant_inventory(emu.url, bindings, telphin_quota_reserve=999), extra_vars=extra)
    assert reserved.rc != 0 and "quota_reserve is 999" in reserved.output, reserved.output
    # the token and the first page of the extension list; then the reserve stops the next request
    assert [r["path"] for r in emu.requests(clear=True)] == ["/oauth/token", "/api/ver1.0/client/1001/extension/"]
    timed = playbook(book, tenant_inventory(emu.url, bindings, telphin_timeout=0), extra_vars=extra)
    assert timed.rc != 0 and "timeout must be a positive number" in timed.output, timed.output
    assert emu.requests() == []


def test_dealer_app_rolls_out_every_tenant_of_the_example(emulator_factory, playbook):
    """docs/examples/inventory-dealer: one dealer app from the environment, one token per tenant."""
    examples = Path(__file__).resolve().parents[2] / "docs" / "examples"
    emu = emulator_factory(yaml.safe_load((examples / "world.yml").read_text()))
    env = {"TELPHIN_API_URL": emu.url, "TELPHIN_APP_ID": "dealer-app", "TELPHIN_APP_SECRET": "dealer-demo-secret-1Zx6"}
    run = playbook("telphin.pbx.rollout_bindings", examples / "inventory-dealer" / "hosts.yml", env=env,
                   extra_vars={"phone_bindings_max_changes": "100%"})   # a first rollout onto new PBXs
    assert run.rc == 0, run.output
    log = emu.requests()
    assert len(token_calls(log)) == 3 and {r["app_id"] for r in log} == {"dealer-app"}
    assert "initech: 3 phones looked at, 3 changed" in run.stdout
    again = playbook("telphin.pbx.rollout_bindings", examples / "inventory-dealer" / "hosts.yml", env=env)
    assert again.rc == 0 and again.stdout.count("changed=0") == 3
