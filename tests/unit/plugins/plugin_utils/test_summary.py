"""The phone_bindings role's summary: totals, natural order, the guard's refusals, the plans and backups it publishes."""

from __future__ import annotations

from ansible_collections.telphin.pbx.plugins.action.phone_bindings_summary import _written
from ansible_collections.telphin.pbx.plugins.plugin_utils._deferred import has_deferred
from ansible_collections.telphin.pbx.plugins.plugin_utils._summary import natural_key, summarise

FOUR = {"total": 4, "changed": 1, "unchanged": 3, "failed": 0, "skipped": 0}
SYNC = {"total": 4, "changed": 0, "unchanged": 4, "failed": 0, "skipped": 0}
REQUESTS = {"requests": {"total": 7}, "quota": {"remaining": 99}}


def test_natural_order_compares_digit_runs_as_numbers():
    names = ["tenant_42", "tenant_7", "Acme", "tenant_7b", "tenant_100", "acme2", "acme10"]
    assert sorted(names, key=natural_key) == ["Acme", "acme2", "acme10", "tenant_7", "tenant_7b", "tenant_42",
                                              "tenant_100"]


def test_totals_first_then_the_tenants_that_need_a_look_in_natural_order():
    results = {"tenant_42": dict(REQUESTS, summary=FOUR), "tenant_7": dict(REQUESTS, summary=FOUR),
               "tenant_8": dict(REQUESTS, summary=SYNC), "tenant_9": None}
    got = summarise(results, ["tenant_9"], check_mode=False, list_all=False)
    assert got.lines == [
        "4 tenant(s): 2 changed (2 phone(s)), 1 in sync, 1 failed; 21 requests",
        "tenant_7: 4 phones looked at, 1 changed, 3 unchanged, 0 failed, 0 not processed; 7 requests, quota left 99",
        "tenant_9: failed before any change (its error is above); 0 requests, quota left unknown",
        "tenant_42: 4 phones looked at, 1 changed, 3 unchanged, 0 failed, 0 not processed; 7 requests, quota left 99",
        "1 tenant(s) in sync not listed (-e phone_bindings_summary_all=true lists every tenant)"]
    assert got.totals == {"changed": 2, "sync": 1, "failed": 1, "phones": 2, "requests": 21}
    assert got.text.splitlines()[1].startswith("  tenant_7: ")
    every = summarise(results, ["tenant_9"], check_mode=True, list_all=True)
    assert [line.split(":")[0] for line in every.lines[1:]] == ["tenant_7", "tenant_8", "tenant_9", "tenant_42"]
    assert every.lines[0].startswith("4 tenant(s) in check mode: 2 to change (2 phone(s))")


def test_a_refused_tenant_repeats_the_guards_first_changes():
    first = ['100: external_number null -> "+7"', '101: label "a" -> "b"']
    refused = dict(REQUESTS, failed=True, refused={"changes": 7, "first": first})
    got = summarise({"t1": refused}, [], check_mode=False, list_all=False)
    assert got.lines[1] == ('t1: refused by the blast-radius guard, nothing was written: 7 phone(s) would change: '
                            '100: external_number null -> "+7"; 101: label "a" -> "b"; ... and 5 more; '
                            '7 requests, quota left 99')
    assert got.totals["failed"] == 1 and got.totals["phones"] == 0


def test_the_plans_and_backups_of_the_batch_are_collected_one_key_per_tenant():
    """Issue 31: one artifact per tenant (by client id), also the backup of a tenant that failed after writing."""
    got = summarise({"t1": dict(REQUESTS, summary=FOUR, artifacts={"telphin_plan_1001": '{"changes": []}'}),
                     "t2": dict(REQUESTS, summary=SYNC),
                     "t3": dict(REQUESTS, failed=True, artifacts={"telphin_backup_1003": '{"b": 3}'})},
                    ["t3"], check_mode=False, list_all=False)
    assert got.artifacts == {"telphin_plan_1001": '{"changes": []}', "telphin_backup_1003": '{"b": 3}'}
    assert summarise({"t1": dict(REQUESTS, summary=FOUR, plan_text="{}")}, [], True, False).artifacts == {}


def test_a_key_two_tenants_publish_is_published_for_neither_and_said():
    """Two tenants each on its own app (client_id @me) both publish telphin_backup_me: keeping the last one lost the
    other tenant's backup without a word (an Undo of that tenant then had none of its own)."""
    got = summarise({"a": dict(REQUESTS, summary=FOUR, artifacts={"telphin_backup_me": '{"a": 1}'}),
                     "b": dict(REQUESTS, summary=FOUR, artifacts={"telphin_backup_me": '{"b": 2}',
                                                                  "telphin_plan_1002": "{}"})},
                    [], check_mode=False, list_all=False)
    assert got.artifacts == {"telphin_plan_1002": "{}"}
    assert got.lines[-1] == ("telphin_backup_me not published: tenants a, b publish it (a tenant is its client id; "
                             "set telphin_client_id of each, or run them in separate jobs); the file each wrote is "
                             "the only copy")


def test_the_policys_changes_are_totalled_over_the_tenants_after_the_totals_line():
    wav = 'record_format "mp3_mono" -> "wav_mono"'
    geo = 'geo_list null -> "RU"'
    t1 = [{"key": "record_format", "change": wav, "phones": 36}, {"key": "geo_list", "change": geo, "phones": 2}]
    results = {"t1": dict(REQUESTS, summary=FOUR, policy_changes=t1),
               "t2": dict(REQUESTS, summary=FOUR, policy_changes=[{"key": "record_format", "change": wav, "phones": 72}]),
               "t3": dict(REQUESTS, summary=SYNC, policy_changes=[]), "t4": None,
               "t5": dict(REQUESTS, summary=FOUR, policy_changes="not a list")}
    got = summarise(results, ["t4"], check_mode=False, list_all=False)
    assert got.lines[1:3] == ['policy: record_format "mp3_mono" -> "wav_mono": 108 phone(s) changed in 2 tenant(s)',
                              'policy: geo_list null -> "RU": 2 phone(s) changed in 1 tenant(s)']
    assert got.lines[3].startswith("t1: ")
    many = {"t%d" % n: {"policy_changes": [{"change": "incoming_limit %d -> 2" % n, "phones": n}]} for n in range(25)}
    lines = summarise(many, [], check_mode=True, list_all=False).lines
    assert lines[1] == "policy: incoming_limit 24 -> 2: 24 phone(s) to change in 1 tenant(s)"
    assert lines[21] == "policy: 5 more kind(s) of change"


def test_the_deferred_binds_written_by_the_summary_task_show_under_it_and_a_failure_names_its_tenant():
    diff = {"before_header": "tenant2: extension 020*101 (id 5) phone", "before": {}, "after": {}}
    written = {"tenant2": {"changed": True, "diff": [diff], "warnings": ["tenant2: plain http"]},
               "tenant7": {"failed": True, "changed": False, "msg": "1 of 1 deferred bind(s) failed"}}
    out = _written(written)
    assert out["changed"] is True and out["diff"] == [diff] and out["warnings"] == ["tenant2: plain http"]
    assert out["failed"] is True and out["msg"].endswith("\ntenant7: 1 of 1 deferred bind(s) failed")
    assert "tenant2" not in out["msg"]
    assert _written({"tenant2": {"changed": False}}) == {"changed": False}      # nothing failed, nothing to show
    assert has_deferred({"deferred": [{"extension_id": 5}]}) and not has_deferred({"deferred": []})
    assert not has_deferred({"deferred": [{"extension_id": 5}], "failed": True}) and not has_deferred(None)
