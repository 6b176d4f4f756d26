"""Reliability: a rollout under random faults, a bundle flip-flop on an API without a bundle listing, and the
tenant's request quota running out mid-run.

The chaos round is ``tests/reliability/chaos.py`` (see its docstring for what is injected and checked), at
two levels: 10 % faults with tokens revoked every 5 s, and 20 % with tokens revoked each second. In CI it
runs at a reduced size (5 tenants x 40 bindings); ``TELPHIN_RELIABILITY_FULL=1`` runs the published size
(5 x 200 = 1,000 bindings). Every test writes its figures under
``tests/output/reliability/`` for ``tests/reliability/report.py``.
"""

from __future__ import annotations

import os
import re
import threading
import time

import pytest

from harness import desired_number, tenant_world
from tests.emulator import Emulator
from tests.reliability import bundles, chaos
from tests.reliability.lib import FULL, Ansible, record, tenant_inventory

TENANTS, PER_TENANT = (5, 200) if FULL else (5, 40)
SEED = int(os.environ.get("TELPHIN_RELIABILITY_SEED") or 1)     # the fault draws; the thread timing still varies
QUOTA_RESULTS = {}


# The levels: 10 % faults with every live token revoked every 5 s (issue 13), and 20 % with every token revoked
# each second (issue 25; its 10-seed series: `make reliability SEEDS=1-10`).
LEVELS = [pytest.param(0.10, 5.0, "", id="10pct"), pytest.param(0.20, 1.0, "-20", id="20pct")]


@pytest.mark.parametrize("rate, revoke_every, suffix", LEVELS)
def test_chaos_rollout_reports_honestly_and_converges(tmp_path, rate, revoke_every, suffix):
    figures = chaos.run_chaos(TENANTS, PER_TENANT, rate=rate, seed=SEED, workdir=tmp_path,
                              label=("full" if FULL else "ci") + suffix, token_kill_interval=revoke_every,
                              concurrent=not suffix, log=lambda *a: None)
    assert figures["violations"] == []
    assert figures["items_lost"] == 0 and figures["reported_done_not_applied"] == 0
    runs = figures["runs"]
    assert runs["chaos"]["faults_total"] > 0
    # The target of issues 13 and 25: the first run finishes its work (failed + not processed <= 1 % of the
    # items), and no tenant is lost whole.
    assert runs["chaos"]["not_done"] <= figures["bindings"] // 100, (runs["chaos"]["items"],
                                                                     runs["chaos"]["failed_whole"])
    assert runs["chaos"]["failed_whole"] == {}
    assert runs["converge"]["failed"] == 0 and runs["converge"]["rc"] == 0
    assert runs["idempotent"]["puts"] == 0 and runs["idempotent"]["changed_hosts"] == 0
    if not suffix:
        assert runs["concurrent"]["overlap_seconds"] > 0 and runs["concurrent"]["settle"]["rc"] == 0


def test_bundle_flip_flop_without_a_bundle_listing_fails_and_names_both_members(tmp_path):
    figures = bundles.run_bundles(tmp_path)
    assert figures["violations"] == []
    assert figures["flip_flop"]["read_back"] >= 2 and figures["listing_on"]["puts"] == 0


# -- quota -----------------------------------------------------------------------------------------
PHONES = 40


def one_tenant(emu, phones=PHONES, **host_vars):
    """Host ``tenant1`` (client 1001, app ``tenant1-app``) binding its first ``phones`` extensions; and its bindings."""
    bindings = {1: [{"extension": str(100 + i), "external_number": desired_number(1, i)} for i in range(phones)]}
    return tenant_inventory(emu.url, bindings, **host_vars), bindings


class Crm(threading.Thread):
    """The tenant's CRM: once the rollout has read ``after`` phones, it uses up the rest of the quota."""

    def __init__(self, emu, after: int, reset_in: float) -> None:
        super().__init__(daemon=True)
        self.emu, self.after, self.reset_in = emu, after, reset_in
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.01):
            if sum(1 for r in self.emu.requests() if r["path"].endswith("/phone/")) >= self.after:
                self.emu.set_quota(1001, remaining=0, reset_in=self.reset_in)
                self.done.set()


@pytest.mark.parametrize("parallel", [1, 4])
def test_quota_exhausted_mid_run_fails_fast_lists_the_rest_and_a_rerun_after_the_reset_completes(tmp_path, parallel):
    ansible = Ansible(tmp_path)
    book = str(ansible.write("rollout.yml", chaos.SAVE_PLAY))
    with Emulator(tenant_world(tenants=1, phones=PHONES), latency_ms=15) as emu:
        inv, bindings = one_tenant(emu, phone_bindings_parallel=parallel)
        before = emu.state()
        crm = Crm(emu, after=20, reset_in=1800)
        crm.start()
        run = ansible.run(book, inv)
        crm.done.set()
        log = emu.requests(clear=True)
        result = run.results["tenant1"]

        assert run.rc != 0 and "Traceback" not in run.output
        assert result["requests"]["total"] == len(log)          # what the module counted is what the API saw
        quota_429s = [i for i, r in enumerate(log) if r["status"] == 429]
        # No retry storm: once the first quota 429 is in, nothing more is sent. The log is in order of
        # replies, so requests already in flight at that moment may land after it: each worker had at most
        # one, and a request sent after the quota ran out would have been a 429 too.
        assert 1 <= len(quota_429s) <= parallel
        if parallel == 1:
            assert quota_429s == [len(log) - 1]
        assert re.search(r"quota is exhausted \(429 rate_limit_exceeded on \w+ \S+\); not retried: the quota resets "
                         r"in 1[78]\d\d s \(at 20\d\d-\d\d-\d\d", result["msg"])
        skipped = [r for r in result["results"] if r["status"] == "skipped"]
        assert skipped and all(r["error"].startswith("not processed: ") for r in skipped)
        for item in skipped:                                          # the message lists every item left
            assert "%s (id %d): not processed" % (item["extension_full_name"], item["extension_id"]) in result["msg"]
        summary = result["summary"]
        assert summary["changed"] + summary["failed"] + summary["skipped"] == PHONES
        counts, violations = chaos.check_report(bindings, run, before, emu.state(), "quota run")
        assert violations == []

        emu.set_quota(1001, reset_in=0.5)                              # the hour turns
        time.sleep(0.7)
        rerun = ansible.run("telphin.pbx.rollout_bindings", inv)
        assert rerun.rc == 0, rerun.output
        assert chaos.check_converged(bindings, emu.state(), "rerun") == []
        QUOTA_RESULTS["exhausted_parallel_%d" % parallel] = {
            "quota_429s": len(quota_429s), "items_not_processed": len(skipped),
            "items_done_before": summary["changed"], "rerun_rc": rerun.rc}
    record_quota()


def test_quota_reserve_is_never_touched_and_a_run_after_the_reset_completes(tmp_path):
    reserve, limit = 30, 120
    world = tenant_world(tenants=1, phones=PHONES + 20)
    world["clients"][0]["quota"] = {"limit": limit}
    ansible = Ansible(tmp_path)
    book = str(ansible.write("rollout.yml", chaos.SAVE_PLAY))
    with Emulator(world, latency_ms=15) as emu:
        inv, bindings = one_tenant(emu, PHONES + 20, phone_bindings_parallel=4, telphin_quota_reserve=reserve)
        before = emu.state()
        run = ansible.run(book, inv)
        log = emu.requests(clear=True)
        remaining = emu.state()["quotas"]["1001"]["remaining"]
        result = run.results["tenant1"]
        # 1 list + 60 GET + 60 PUT do not fit in 120 - 30: the run stops at the reserve, never below it.
        assert run.rc != 0 and "Traceback" not in run.output
        assert remaining >= reserve, "the run took the tenant to %d, below the reserve %d" % (remaining, reserve)
        assert all(r["status"] != 429 for r in log)
        assert "quota_reserve is %d" % reserve in result["msg"] and "resets in" in result["msg"]
        assert result["summary"]["skipped"] > 0
        assert chaos.check_report(bindings, run, before, emu.state(), "reserve run")[1] == []

        emu.set_quota(1001, reset_in=0.5)
        time.sleep(0.7)
        rerun = ansible.run(book, inv)
        assert rerun.rc == 0, rerun.output
        assert emu.state()["quotas"]["1001"]["remaining"] >= reserve
        assert chaos.check_converged(bindings, emu.state(), "rerun") == []
        QUOTA_RESULTS["reserve"] = {"reserve": reserve, "limit": limit, "remaining_after_stop": remaining,
                                    "remaining_after_rerun": emu.state()["quotas"]["1001"]["remaining"],
                                    "items_not_processed": result["summary"]["skipped"], "rerun_rc": rerun.rc}
    record_quota()


def record_quota():
    record("quota", {"checks": QUOTA_RESULTS,
                     "passed": sorted(QUOTA_RESULTS)})
