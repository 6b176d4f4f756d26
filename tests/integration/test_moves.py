"""Numbers that move between the tenants of one run (issue 32, item 3), against a provider that refuses a number
bound on another client (the emulator's ``number-bound-elsewhere-refused`` variant).

With ``--forks 1`` the tenants run in inventory order, so a move from tenant2 to tenant1 meets tenant1's bind
before tenant2's unbind: the role defers the refused bind to its summary task, which runs once for the batch after
every tenant's bulk call and writes each tenant's deferred binds with that tenant's own variables. Every test reads
the emulator's request log and state.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest

from harness import api_calls, desired_number, play, tenant_world, token_calls
from tests.reliability.lib import TENANT_SECRET, tenant_inventory, tenant_vars, tenants_inventory

REFUSING = "number-bound-elsewhere-refused"
MOVED = "+79876543210"        # the issue's +7 987 654-32-10
OTHER = "+79876543211"


def world(numbers: Dict[int, Optional[str]], tenants: int = 2) -> Dict[str, Any]:
    """Tenants of two phones each (ids 1, 2 and 4, 5, then 7, 8); ``numbers``: extension id -> its number."""
    data = tenant_world(tenants=tenants, phones=2)
    for client in data["clients"]:
        for ext in client["extensions"]:
            if ext["id"] in numbers:
                ext["phone"]["external_number"] = numbers[ext["id"]]
    return data


def bound(emu: Any) -> Dict[int, Optional[str]]:
    return {e["id"]: e["phone"].get("external_number") for c in emu.state()["clients"] for e in c["extensions"]
            if e["type"] == "phone"}


def refused(log: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [r for r in log if r["method"] == "PUT" and r["status"] == 409]


@pytest.mark.parametrize("source, target", [(1, 2), (2, 1)], ids=["tenant1-to-tenant2", "tenant2-to-tenant1"])
def test_a_move_between_tenants_binds_after_the_unbind(emulator_factory, playbook, source, target):
    # The number is on the source tenant's 100; it moves to the target tenant's 101, written as people do.
    ids = {1: (1, 2), 2: (4, 5)}
    emu = emulator_factory(world({ids[source][0]: MOVED}), variant=REFUSING)
    bindings = {source: [{"extension": "100", "external_number": ""}],
                target: [{"extension": "101", "external_number": "+7 987 654-32-10"}]}
    run = playbook("telphin.pbx.rollout_bindings", tenant_inventory(emu.url, bindings), "--forks", "1")
    assert run.rc == 0, run.output
    state = bound(emu)
    assert state[ids[source][0]] is None and state[ids[target][1]] == MOVED
    log = emu.requests()
    if source == 1:      # the unbind came first: nothing deferred, the request floor
        assert refused(log) == [] and len(token_calls(log)) == 2 and len(api_calls(log, "PUT")) == 2
    else:                # tenant1's bind was refused, then written after the unbinds: one token, one GET, one PUT more
        assert len(refused(log)) == 1 and len(token_calls(log)) == 3
        phone = "/extension/%d/phone" % ids[target][1]
        assert [r["status"] for r in api_calls(log, "PUT", phone)] == [409, 200]
        assert len(api_calls(log, "GET", phone)) == 2
    assert "tenant%d: 1 phones looked at, 1 changed" % target in run.stdout


def test_a_swap_between_tenants(emulator_factory, playbook):
    # tenant1's 100 and tenant2's 100 swap numbers: each bind is refused while the other holds the number, so each
    # tenant gives its own up at once and binds the other's in the second call.
    emu = emulator_factory(world({1: MOVED, 4: OTHER}), variant=REFUSING)
    bindings = {1: [{"extension": "100", "external_number": OTHER}],
                2: [{"extension": "100", "external_number": MOVED}]}
    run = playbook("telphin.pbx.rollout_bindings", tenant_inventory(emu.url, bindings), "--forks", "1")
    assert run.rc == 0, run.output
    assert bound(emu) == {1: OTHER, 2: None, 4: MOVED, 5: None}
    log = emu.requests()
    assert len(token_calls(log)) == 3       # tenant2's bind was accepted: tenant1 gave the number up first
    assert len(refused(log)) == 1
    again = playbook("telphin.pbx.rollout_bindings", tenant_inventory(emu.url, bindings), "--forks", "1")
    assert again.rc == 0 and again.stdout.count("changed=0") == 2, again.output


def test_a_tenant_failing_validation_keeps_the_number_on_one_tenant(emulator_factory, playbook):
    # tenant2 gives the number up, but its bindings fail validation: it writes nothing, tenant1's bind is refused
    # twice (its first call, then its second), and the number stays where it was, on one tenant only.
    emu = emulator_factory(world({4: MOVED}), variant=REFUSING)
    bindings = {1: [{"extension": "101", "external_number": MOVED}],
                2: [{"extension": "100", "external_number": ""}, {"extension": "101", "external_number": "12"}]}
    run = playbook("telphin.pbx.rollout_bindings", tenant_inventory(emu.url, bindings), "--forks", "1")
    assert run.rc != 0
    assert bound(emu) == {1: None, 2: None, 4: MOVED, 5: None}
    assert [r["status"] for r in api_calls(emu.requests(), "PUT")] == [409, 409]
    assert "refused again after every tenant of the run had written its unbinds" in run.stdout
    assert "tenant1: 1 phones looked at, 0 changed, 0 unchanged, 1 failed" in run.stdout


def test_a_number_two_tenants_bind_is_refused_before_any_request(emulator_factory, playbook):
    emu = emulator_factory(world({}), variant=REFUSING)
    bindings = {1: [{"extension": "100", "external_number": "89876543210"}],
                2: [{"extension": "101", "external_number": "+7 987 654-32-10"},
                    {"extension": "100", "external_number": OTHER}]}
    run = playbook("telphin.pbx.rollout_bindings", tenant_inventory(emu.url, bindings))
    assert run.rc != 0
    assert emu.requests() == []
    message = ("external number +79876543210 is bound by two tenants in this run: tenant1 (client 1001) extension 100 "
               "and tenant2 (client 1002) extension 101")
    fatal = [line for line in run.stdout.splitlines() if line.startswith("fatal: [")]
    assert len(fatal) == 2 and all(message in line for line in fatal), run.stdout      # each tenant's refusal
    assert OTHER not in run.stdout


def test_a_run_without_moves_costs_no_request_more(emulator_factory, playbook):
    # Fresh numbers on 3 tenants (2 of 4 listed phones differ each), on the refusing provider: the request floor.
    emu = emulator_factory(tenant_world(tenants=3, phones=4, bound=2), variant=REFUSING)
    bindings = {n: [{"extension": str(100 + i), "external_number": desired_number(n, 10 + i) if i >= 2 else
                     desired_number(n, i)} for i in range(4)] for n in (1, 2, 3)}
    run = playbook("telphin.pbx.rollout_bindings", tenant_inventory(emu.url, bindings))
    assert run.rc == 0, run.output
    log = emu.requests()
    assert len(token_calls(log)) == 3
    assert len(api_calls(log, "GET", "/phone")) == 12 and len(api_calls(log, "PUT")) == 6
    assert len(api_calls(log, "GET", "/extension/")) - 12 == 6       # the extension list: 2 pages each
    assert len(log) == 3 + 6 + 12 + 6


def test_a_tenant_s_deferred_binds_use_its_own_variables_and_module_defaults(emulator_factory, playbook):
    # tenant2's bind waits for tenant3's unbind; the summary that writes it runs on tenant1. Each tenant's app secret
    # comes only from the play's module_defaults, templated per tenant ("{{ my_secret }}"): written with tenant1's,
    # tenant2's deferred bind would be refused (401) and fail.
    emu = emulator_factory(world({7: MOVED}, tenants=3), variant=REFUSING)
    bindings = {1: [{"extension": "100", "external_number": OTHER}],
                2: [{"extension": "101", "external_number": MOVED}],
                3: [{"extension": "100", "external_number": ""}]}
    hosts = {"tenant%d" % n: tenant_vars(1000 + n, emu.url, items, "tenant%d-app" % n, my_secret=TENANT_SECRET % n)
             for n, items in bindings.items()}
    book = play("- ansible.builtin.import_role:\n    name: telphin.pbx.phone_bindings\n    rolespec_validate: false\n",
                "Rollout", hosts="telphin_tenants", module_defaults={"app_secret": "{{ my_secret }}"})
    run = playbook(book, tenants_inventory(hosts), "--forks", "1", "--diff")
    assert run.rc == 0, run.output
    assert bound(emu) == {1: OTHER, 2: None, 4: None, 5: MOVED, 7: None, 8: None}
    log = emu.requests()
    assert len(refused(log)) == 1 and len(token_calls(log)) == 4      # tenant2's second token: its deferred bind
    assert [r["status"] for r in api_calls(log, "PUT", "/extension/5/phone")] == [409, 200]
    assert "tenant2: 1 phones looked at, 1 changed, 0 unchanged, 0 failed" in run.stdout
    assert "+++ after: tenant2: extension 020*101 (id 5) phone" in run.stdout      # the deferred bind's diff
