"""Numbers that move between tenants (issue 32): the run's index and its refusals, the first call's deferral of a
refused bind, the second call; every HTTP call scripted in order."""

from __future__ import annotations

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils._bulk import run_extension_phones
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError, RunFailed
from ansible_collections.telphin.pbx.plugins.module_utils._moves import CrossTenant, index_numbers, number_of
from ansible_collections.telphin.pbx.plugins.plugin_utils._action import TelphinAction
from ansible_collections.telphin.pbx.plugins.plugin_utils._identity import identity_problem
from ansible_collections.telphin.pbx.plugins.plugin_utils._role import batch_index, cross_tenant

from scripted import Call, ScriptedTransport, make_client, token
from ansible_collections.telphin.pbx.tests.unit.plugins.module_utils.test_bulk_safety import LIST, get, put

MOVED, OTHER = "+79876543210", "+79876543211"
CONFLICT = {"message": "Number is bound to a phone of another client", "status": "number_in_use"}


def refused(ext_id, body):
    return Call("PUT", "/extension/%d/phone/" % ext_id, status=409, body=body, reply=CONFLICT)


def call(calls, cross=None, deferred_of=None, check_mode=False, **params):
    transport = ScriptedTransport(*calls)
    client = make_client(transport)
    params.setdefault("parallel", 1)
    try:
        return run_extension_phones(client, params, check_mode, client.secrets.add, lambda msg: None,
                                    cross=cross, deferred_of=deferred_of)
    finally:
        transport.assert_done()


def test_one_number_in_any_written_form():
    assert {number_of(v, "RU") for v in ("+7 987 654-32-10", "89876543210", "+7 (987) 654 32 10")} == {MOVED}
    assert number_of("", "RU") is None and number_of("12", "RU") is None and number_of(79876543210, "RU") is None


def test_the_index_refuses_a_number_two_tenants_bind_naming_both_and_only_them():
    numbers, clashes = index_numbers([("acme", "1001", "100", MOVED), ("globex", "1002", "101", MOVED),
                                      ("globex", "1002", "102", OTHER), ("initech", "@me", "100", "+79161234567")])
    assert numbers == {MOVED: "acme", OTHER: "globex", "+79161234567": "initech"}
    message = ("external number +79876543210 is bound by two tenants in this run: acme (client 1001) extension 100 "
               "and globex (client 1002) extension 101")
    assert set(clashes) == {"acme", "globex"}
    assert all(len(m) == 1 and m[0].startswith(message) for m in clashes.values())


def test_the_extension_names_of_a_clash_are_shown_escaped():
    # an exported binding's extension is the name the tenant's staff typed: a line break and ESC in it would forge
    # lines of the refusal (issue 30 item 5)
    hostile = "100\x1b[2J\nPLAY RECAP \u202e"
    clashes = index_numbers([("acme", "1001", hostile, MOVED), ("globex", "1002", "101", MOVED)])[1]
    assert "acme (client 1001) extension 100\\x1b[2J\\nPLAY RECAP \\u202e and globex" in clashes["acme"][0]
    assert not any(ch in clashes["acme"][0] for ch in "\x1b\n\u202e")


def test_a_tenant_twice_is_its_own_call_s_refusal_not_the_index_s():
    assert index_numbers([("acme", "1001", "100", MOVED), ("acme", "1001", "101", MOVED)])[1] == {}
    # a tenant is its client id: two hosts of one client are one tenant, while hosts on their own apps are not
    assert index_numbers([("acme", "1001", "100", MOVED), ("acme_hq", "1001", "101", MOVED)])[1] == {}
    assert set(index_numbers([("acme", "@me", "100", MOVED), ("globex", "@me", "101", MOVED)])[1]) == {"acme", "globex"}


def test_the_batch_index_reads_each_tenant_once_and_skips_what_does_not_read():
    variables = {
        "acme": {"phone_bindings": [{"extension": "100", "external_number": "8 987 654-32-10"},
                                    {"extension": "101", "external_number": ""}, "not a mapping"],
                 "telphin_client_id": "1001"},
        "globex": {"phone_bindings": [{"extension_id": 7, "external_number": "+7 987 654-32-10"}],
                   "telphin_client_id": "1002", "phone_bindings_default_region": "ru"},
        "broken": {"phone_bindings": "{{ undefined }}"},
        # not a client id: its own call refuses it, so its numbers clash with no one
        "path": {"phone_bindings": [{"extension": "101", "external_number": MOVED}], "telphin_client_id": "../1002"},
    }
    read = []

    def lookup_of(host):
        def lookup(name, default):
            read.append((host, name))
            if variables[host].get(name) == "{{ undefined }}":
                raise ValueError("does not template")
            return variables[host].get(name, default)
        return lookup

    index = batch_index(["acme", "globex", "broken", "path"], lookup_of)
    assert index["tenants"] == 4 and index["numbers"] == {MOVED: "acme"}
    assert set(index["clashes"]) == {"acme", "globex"}
    assert "globex (client 1002) extension id 7" in index["clashes"]["acme"][0]
    assert len(read) == len(set(read))           # each variable of each tenant once
    cross = cross_tenant(index, "globex")
    assert cross.defer and cross.clashes == index["clashes"]["globex"] and cross.bound_elsewhere(MOVED)
    assert cross_tenant(None, "acme") is None and cross_tenant({"numbers": {}, "tenants": 1}, "acme").defer is False


def test_the_index_computes_each_tenant_s_variables_once():
    # hostvars[host] computes every variable of the host again (VariableManager.get_vars); the identity checks and
    # the index read several variables of each tenant: one computation per tenant, not one per variable read
    class HostVars(dict):
        computed = []

        def __getitem__(self, host):
            self.computed.append(host)
            return super().__getitem__(host)

    hostvars = HostVars(acme={"phone_bindings": [{"extension": "100", "external_number": MOVED}],
                              "telphin_client_id": "1001"},
                        globex={"phone_bindings": [{"extension": "101", "external_number": OTHER}],
                                "telphin_client_id": "1002", "phone_bindings_client_id": "1002"})
    index = batch_index(["acme", "globex"], lambda host: TelphinAction._host_variable(None, hostvars, host),
                        identity_problem)
    assert index["numbers"] == {MOVED: "acme", OTHER: "globex"} and index["clashes"] == {}
    assert HostVars.computed == ["acme", "globex"]


def test_a_clash_is_refused_before_any_request():
    cross = CrossTenant("acme", ["external number +79876543210 is bound by two tenants in this run: ..."], True, {})
    with pytest.raises(InputError, match="(?s)1 problem.*before any request.*bound by two tenants"):
        call([], cross, bindings=[{"extension": "100", "external_number": MOVED}])


def test_a_refused_bind_in_a_run_of_several_tenants_is_deferred_not_failed():
    cross = CrossTenant("acme", [], True, {MOVED: "acme"})
    result = call([token(), *LIST, get(54), refused(54, {"external_number": MOVED}), get(55),
                   put(55, {"label": "B"})], cross,
                  bindings=[{"extension": "100", "external_number": MOVED}, {"extension": "101", "label": "B"}])
    assert result["deferred"] == [{"extension_id": 54, "extension": "000*100", "index": 0}]
    assert result["summary"] == {"total": 2, "changed": 1, "unchanged": 0, "failed": 0, "skipped": 0, "deferred": 1}


def test_a_deferred_phone_gives_up_its_number_when_another_tenant_binds_it():
    cross = CrossTenant("acme", [], True, {MOVED: "globex", OTHER: "acme"})      # a swap: acme binds OTHER
    result = call([token(), *LIST, get(54, external_number=MOVED), refused(54, {"external_number": OTHER}),
                   put(54, {"external_number": None})], cross, bindings=[{"extension": "100", "external_number": OTHER}])
    assert result["summary"]["deferred"] == 1 and not result["changed"]


@pytest.mark.parametrize("cross", [None, CrossTenant("acme", [], False, {})], ids=["no-index", "one-tenant"])
def test_alone_a_refused_bind_fails_as_before(cross):
    with pytest.raises(RunFailed, match="1 of 1 extension"):
        call([token(), *LIST, get(54), refused(54, {"external_number": MOVED})], cross,
             bindings=[{"extension": "100", "external_number": MOVED}])


def test_a_failed_first_call_reports_its_deferred_phones_not_processed():
    cross = CrossTenant("acme", [], True, {})
    with pytest.raises(RunFailed) as failed:
        call([token(), *LIST, get(54), refused(54, {"external_number": MOVED}), get(55),
              Call("PUT", "/extension/55/phone/", status=400, body={"label": "B"}, reply={"status": "invalid_request"})],
             cross, bindings=[{"extension": "100", "external_number": MOVED}, {"extension": "101", "label": "B"}])
    result = failed.value.result
    assert "deferred" not in result and result["summary"]["skipped"] == 1
    assert "waited for every tenant's unbinds, but this tenant's call failed" in str(failed.value)


def test_the_second_call_reads_each_deferred_phone_again_and_writes_it():
    first = {"changed": True, "deferred": [{"extension_id": 54, "extension": "000*100", "index": 1}],
             "summary": {"total": 2, "changed": 1, "unchanged": 0, "failed": 0, "skipped": 0, "deferred": 1},
             "results": [{"extension_id": 55, "status": "changed"}], "diff": [{"before": {}}], "warnings": ["w"]}
    result = call([token(), get(54), put(54, {"external_number": MOVED})], deferred_of=first,
                  bindings=[{"extension": "101", "label": "B"}, {"extension": "100", "external_number": MOVED}])
    assert result["changed"] and result["summary"] == {"total": 2, "changed": 2, "unchanged": 0, "failed": 0,
                                                       "skipped": 0}
    assert [r["extension_id"] for r in result["results"]] == [55, 54] and "warnings" not in result
    assert [d["before_header"] for d in result["diff"]] == ["extension 000*100 (id 54) phone"]


def test_a_bind_refused_again_says_what_may_hold_the_number():
    first = {"deferred": [{"extension_id": 54, "extension": "000*100", "index": 0}], "summary": {"total": 1}}
    with pytest.raises(RunFailed, match="may still be bound on another tenant") as failed:
        call([token(), get(54), refused(54, {"external_number": MOVED})], deferred_of=first,
             bindings=[{"extension": "100", "external_number": MOVED}])
    assert failed.value.result["summary"]["failed"] == 1


def test_no_deferral_in_check_mode_and_no_request_for_nothing_deferred():
    cross = CrossTenant("acme", [], True, {})
    result = call([token(), *LIST, get(54)], cross, check_mode=True,
                  bindings=[{"extension": "100", "external_number": MOVED}])
    assert result["summary"]["changed"] == 1 and "deferred" not in result
    assert call([], deferred_of={"deferred": [], "summary": {"total": 0}},
                bindings=[{"extension": "100", "external_number": MOVED}])["changed"] is False


def test_a_refused_read_is_a_failure_not_a_deferred_bind():
    cross = CrossTenant("acme", [], True, {})
    with pytest.raises(RunFailed, match="HTTP 400") as failed:
        call([token(), *LIST, Call("GET", "/extension/54/phone/", status=400, reply={"status": "invalid_request"})],
             cross, bindings=[{"extension": "100", "external_number": MOVED}])
    assert failed.value.result["summary"]["failed"] == 1 and "deferred" not in failed.value.result
    first = {"deferred": [{"extension_id": 54, "extension": "000*100", "index": 0}], "summary": {"total": 1}}
    with pytest.raises(RunFailed) as again:
        call([token(), Call("GET", "/extension/54/phone/", status=400, reply={"status": "invalid_request"})],
             deferred_of=first, bindings=[{"extension": "100", "external_number": MOVED}])
    assert "may still be bound" not in str(again.value)


def test_the_second_call_writes_the_policy_keys_the_first_call_would_have():
    first = {"deferred": [{"extension_id": 54, "extension": "000*100", "index": 0}], "summary": {"total": 1}}
    result = call([token(), get(54), put(54, {"external_number": MOVED, "record_enabled": True})], deferred_of=first,
                  bindings=[{"extension": "100", "external_number": MOVED}], policy={"record_enabled": True})
    assert result["summary"]["changed"] == 1


def test_a_tenant_its_own_call_refuses_is_left_out_of_the_index():
    # a backup restored with -e @file reaches every host: the tenant it is not pinned to is refused by its own call,
    # so its copy of the numbers is no clash with the tenant the backup is of
    same = {"phone_bindings": [{"extension": "100", "external_number": MOVED}]}
    index = batch_index(["acme", "globex"], lambda host: same.get,
                        lambda lookup, host: "pinned to another client" if host == "globex" else None)
    assert index == {"tenants": 2, "numbers": {MOVED: "acme"}, "clashes": {}}
