"""Bindings composed of several lists (issue 32, item 2): the collection's filter merges them by extension, a
role variable that resolves to ``omit`` is unset, and every templating error names its variable."""

from __future__ import annotations

import re

from harness import api_calls, tenant_world
from tests.reliability.lib import phones, tenant_inventory

ROLLOUT = "telphin.pbx.rollout_bindings"


def composed_inventory(url, phone_bindings, **host_vars):
    """Tenants 1 and 2: the dealer's common bindings in the group, each site's own in its host variables."""
    sites = {1: [{"extension": "010*100", "external_number": "+79161110001", "label": "Front desk"},
                 {"extension": "101", "external_number": "+79161110002"}],
             2: [{"extension": "100", "label": "Reception"}]}
    inv = tenant_inventory(url, {n: phone_bindings for n in (1, 2)}, **host_vars)
    group = inv["all"]["children"]["telphin_tenants"]
    group["vars"]["common_bindings"] = [{"extension": "100", "label": "Reception", "record_enabled": True},
                                        {"extension": "102", "record_enabled": True}]
    for n, site in sites.items():
        group["hosts"]["tenant%d" % n]["site_bindings"] = site
    return inv


def test_lists_composed_with_the_filter_roll_out_and_the_concatenation_points_at_it(emulator_factory, playbook):
    emu = emulator_factory(tenant_world(tenants=2, phones=4))
    plus = playbook(ROLLOUT, composed_inventory(emu.url, "{{ common_bindings + site_bindings }}"))
    assert plus.rc == 2 and api_calls(emu.requests(clear=True), "PUT") == []
    assert ("phone_bindings[2] (extension 010*100) names the same extension as phone_bindings[0] (extension 100): "
            "list it once (to compose lists, merge them by extension with telphin.pbx.merge_bindings)") in plus.stdout

    merged = composed_inventory(emu.url, "{{ common_bindings | telphin.pbx.merge_bindings(site_bindings) }}")
    run = playbook(ROLLOUT, merged)
    assert run.rc == 0, run.output
    state = phones(emu.state())
    # tenant 1 (ids 1-4): 100 has the common key and the site's label and number; tenant 2 (ids 6-9) the common
    assert state[1]["label"] == "Front desk" and state[1]["record_enabled"] is True
    assert state[1]["external_number"] == "+79161110001" and state[2]["external_number"] == "+79161110002"
    assert state[3]["record_enabled"] is True and state[6]["label"] == "Reception" and state[8]["record_enabled"]
    puts = {int(p["path"].split("/")[-3]): p["body"] for p in api_calls(emu.requests(clear=True), "PUT")}
    assert puts == {1: {"external_number": "+79161110001", "label": "Front desk", "record_enabled": True},
                    2: {"external_number": "+79161110002"}, 3: {"record_enabled": True},
                    6: {"label": "Reception", "record_enabled": True}, 8: {"record_enabled": True}}
    again = playbook(ROLLOUT, merged)
    assert again.rc == 0 and api_calls(emu.requests(), "PUT") == []


OMITTED = "{{ not_set_anywhere | default(omit) }}"


def test_a_role_variable_that_resolves_to_omit_is_unset(emulator_factory, playbook):
    # the pattern of the collection's own playbooks; each of these would be refused or fail the tenant if taken as
    # a value: the connection, a setting with a role default, one without, an item's key, an item, the list itself
    emu = emulator_factory(tenant_world(tenants=1, phones=4))
    inv = tenant_inventory(emu.url, {1: [{"extension": "100", "external_number": "+79161110001", "label": OMITTED},
                                         OMITTED]},
                           telphin_timeout=OMITTED, telphin_ca_path=OMITTED, phone_bindings_parallel=OMITTED,
                           phone_bindings_number_check=OMITTED, phone_bindings_backup=OMITTED,
                           phone_bindings_unbind_unlisted=OMITTED)
    run = playbook(ROLLOUT, inv)
    assert run.rc == 0, run.output
    assert "Omit" not in run.output and "omit_place_holder" not in run.output
    assert [p["body"] for p in api_calls(emu.requests(clear=True), "PUT")] == [{"external_number": "+79161110001"}]
    # phone_bindings itself omitted: an empty list, as when it is not set (nothing to do, no request)
    run = playbook(ROLLOUT, tenant_inventory(emu.url, {1: OMITTED}))
    assert run.rc == 0, run.output
    assert emu.requests() == []
    assert "1 tenant(s): 0 changed (0 phone(s)), 1 in sync, 0 failed; 0 requests" in run.stdout


def test_every_templating_error_names_the_variable(emulator_factory, playbook):
    emu = emulator_factory(tenant_world(tenants=2, phones=4))
    inv = tenant_inventory(emu.url, {1: "{{ common_bindings + missing_site_bindings }}",
                                     2: [{"extension": "100", "external_number": "+79161110001"}]})
    inv["all"]["children"]["telphin_tenants"]["hosts"]["tenant2"]["phone_bindings_parallel"] = "{{ 2 + undefined_n }}"
    run = playbook(ROLLOUT, inv)
    assert run.rc == 2 and emu.requests() == []
    failures = dict(re.findall(r"^fatal: \[(tenant\d)\]: FAILED! => (.*)$", run.stdout, re.M))
    assert sorted(failures) == ["tenant1", "tenant2"], run.output
    assert "phone_bindings: " in failures["tenant1"] and "common_bindings" in failures["tenant1"]
    assert "phone_bindings_parallel: " in failures["tenant2"] and "undefined_n" in failures["tenant2"]
    assert "2 tenant(s): 0 changed (0 phone(s)), 0 in sync, 2 failed; 0 requests" in run.stdout
