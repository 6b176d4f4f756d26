"""Chaos rollout: the phone_bindings role against an emulator that fails at random, then the checks.

One round, on a generated world of N tenants with P listed phones each (plus a few unlisted phones
and non-phone extensions that must stay untouched):

1. **chaos**: ``ansible-playbook`` runs the role ``telphin.pbx.phone_bindings`` on every tenant (the
   inventory group ``telphin_tenants``, a play that saves each tenant's ``phone_bindings_result``)
   while the emulator injects seeded faults at ``rate`` (500/502/503, the "concurrent request" 429
   with Retry-After, dropped connections, replies lost after the PUT was applied, slow replies below
   and above the module ``timeout``, tokens revoked or expired on a request) and a background thread
   revokes or expires every live token from time to time. Checked: every binding is reported once,
   as applied or as failed; nothing reported applied differs from the emulator's state; the only
   keys changed anywhere are ``external_number`` of listed extensions.
2. **converge**: ``ansible-playbook telphin.pbx.rollout_bindings`` with the faults cleared: zero
   failures, the state is the desired state.
3. **idempotent**: the same again: zero changes, zero PUTs.
4. **concurrent**: two ``ansible-playbook`` processes roll out new bindings of the same tenant at
   once (the tenant allows 2 requests in flight), then a run shows zero PUTs.

From the command line (full size, as documented in docs/reliability.md)::

    python -m tests.reliability.chaos --tenants 5 --per-tenant 200 --rate 0.10 --seed 1

A series of seeds (steps 1 and 2 each; the 20 % level of docs/reliability.md)::

    python -m tests.reliability.chaos --rate 0.20 --revoke-every 1 --seeds 1-10 --label rate20

The figures go to ``tests/output/reliability/chaos-<label>.json``; the exit code is 1 on any violation.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

if __package__ in (None, ""):  # pragma: no cover - `python tests/reliability/chaos.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.emulator import Emulator, generate_world  # noqa: E402
from tests.integration.harness import play  # noqa: E402
from tests.reliability.lib import (  # noqa: E402
    Ansible, PlaybookRun, phones, print_figures, puts, record, state_changes, tenant_inventory, wait_until_quiet)

UNLISTED = 3            # phones per tenant the bindings do not list (must stay untouched)
NON_PHONE = 2           # queue/ivr extensions per tenant
MODULE_TIMEOUT = 2.0    # the module's `timeout` (seconds): slow replies are injected around it
CONCURRENT_LATENCY_MS = 100
PER_PAGE = 500          # the extension list's page size the modules ask for

# The fault mix: (kind, share of all injected faults, rule). Revocation and expiry hit API paths
# only (a 401 from the token endpoint means bad credentials, which is not a transient event).
FAULT_MIX: List[Tuple[str, float, Dict[str, Any]]] = [
    ("status_500", 0.05, {"action": "status", "status": 500, "body": {"message": "Internal server error"}}),
    ("status_500_after", 0.05, {"action": "status_after", "status": 500, "body": {"message": "Internal server error"}}),
    ("status_502", 0.10, {"action": "status", "status": 502, "body": {"message": "Bad gateway"}}),
    ("status_503", 0.10, {"action": "status", "status": 503, "body": {"message": "Service unavailable"},
                          "headers": {"Retry-After": "1"}}),
    ("concurrent_429", 0.175, {"action": "status", "status": 429,
                               "body": {"message": "Parallel concurrent request not allowed"},
                               "headers": {"Retry-After": "1"}}),
    ("drop", 0.10, {"action": "drop"}),
    ("drop_after", 0.175, {"action": "drop_after"}),
    ("delay_below_timeout", 0.075, {"action": "delay", "seconds": MODULE_TIMEOUT * 0.75}),
    ("delay_above_timeout", 0.075, {"action": "delay", "seconds": MODULE_TIMEOUT * 1.5}),
    ("revoke_token", 0.05, {"action": "revoke_token", "match": {"path": "^/api/ver1.0/"}}),
    ("expire_token", 0.05, {"action": "expire_token", "match": {"path": "^/api/ver1.0/"}}),
]

# The faults that invalidate a token (each costs a renewal and the repeat of the refused request).
TOKEN_FAULTS = ("revoke_token", "expire_token", "tokens_revoked_mid_run", "tokens_expired_mid_run")

SAVE_PLAY = """\
---
# The rollout of telphin.pbx.rollout_bindings (the phone_bindings role on telphin_tenants), plus one
# task that saves each tenant's registered result, also when the role failed.
""" + play("""
    - name: Roll out
      block:
        - name: The phone_bindings role
          ansible.builtin.import_role:
            name: telphin.pbx.phone_bindings
      always:
        - name: Save the tenant's result
          ansible.builtin.copy:
            content: "{{ phone_bindings_result | default({}) | to_json }}"
            dest: "{{ results_dir }}/{{ inventory_hostname }}.json"
            mode: "0600"
          check_mode: false
    """, "Roll out phone bindings and save each tenant's result", hosts="telphin_tenants")


def fault_rules(rate: float) -> List[Dict[str, Any]]:
    """Rules whose first-match draws inject each kind at ``rate * share`` of all requests."""
    rules, left = [], 1.0
    for kind, share, rule in FAULT_MIX:
        p = rate * share
        rules.append(dict(rule, probability=min(1.0, p / left)))
        left -= p
    return rules


def fired_faults(log: List[Dict[str, Any]], where: str) -> Tuple[Counter, List[str]]:
    """How often each FAULT_MIX rule fired, from the request log: an entry's ``fault_rule`` is the index of
    the rule (of ``fault_rules``, i.e. of FAULT_MIX) that fired on it, ``fault`` that rule's action. Also
    returns violations: entries whose two fields disagree."""
    counts: Counter = Counter()
    problems: List[str] = []
    for entry in log:
        index, action = entry["fault_rule"], entry["fault"]
        if index is None and action is None:
            continue
        if index is None or not 0 <= index < len(FAULT_MIX) or FAULT_MIX[index][2]["action"] != action:
            problems.append("%s: request %s logs fault %r from rule %r" % (where, entry["seq"], action, index))
            continue
        counts[FAULT_MIX[index][0]] += 1
    return counts, problems


def number_for(tenant: int, index: int, variant: int) -> str:
    """A distinct mobile number per (tenant, index, variant), written in one of several styles."""
    digits = "9%02d%03d%04d" % (tenant, variant, index)
    return ["+7" + digits, "+7 %s %s-%s-%s" % (digits[:3], digits[3:6], digits[6:8], digits[8:]),
            "+7 (%s) %s.%s.%s" % (digits[:3], digits[3:6], digits[6:8], digits[8:])][index % 3]


def normalised(number: str) -> Optional[str]:
    compact = "".join(ch for ch in number if ch == "+" or ch.isdigit())
    return compact or None


def desired_bindings(world: Dict[str, Any], tenant: int, per_tenant: int, rng: random.Random,
                     variant: int = 0) -> List[Dict[str, Any]]:
    """Bindings of the first ``per_tenant`` phones: about 60 % new numbers, 25 % already right, 15 % unbind."""
    client = world["clients"][tenant - 1]
    listed = [e for e in client["extensions"] if e.get("type", "phone") == "phone"][:per_tenant]
    bindings = []
    for index, ext in enumerate(listed):
        draw = rng.random()
        current = ext.get("phone", {}).get("external_number")
        if draw < 0.25 and current and variant == 0:
            number = "+7 %s %s" % (current[2:5], current[5:])          # the current number, written differently
        elif draw < 0.40:
            number = ""
        else:
            number = number_for(tenant, index, variant)
        key = ("extension", ext["name"]) if index % 5 else ("extension_id", ext["id"])
        item = {key[0]: key[1], "external_number": number}
        if draw < 0.25 and current and variant == 0:
            item["number_check"] = "possible"       # the world's numbers are random: not all are valid numbers
        bindings.append(item)
    return bindings


def inventory(emu: Emulator, world: Dict[str, Any], bindings: Dict[int, List[Dict[str, Any]]],
              **host_vars: Any) -> Dict[str, Any]:
    """The tenants of ``bindings`` with their apps' secrets from ``world``, the module timeout, 4 in parallel,
    every unchanged binding and every tenant's summary line reported; ``host_vars`` win."""
    secrets = {a["app_id"]: a["app_secret"] for a in world["apps"]}
    defaults = {"telphin_timeout": MODULE_TIMEOUT, "phone_bindings_parallel": 4, "phone_bindings_report_unchanged": True,
                "phone_bindings_summary_all": True}     # a summary line per tenant, also in sync (summary_lines)
    return tenant_inventory(emu.url, bindings, {n: secrets["tenant%d-app" % n] for n in bindings},
                            **dict(defaults, **host_vars))


class TokenKiller(threading.Thread):
    """Revokes, then expires, every live token every ``interval`` seconds until stopped."""

    def __init__(self, emu: Emulator, interval: float) -> None:
        super().__init__(daemon=True)
        self.emu, self.interval = emu, interval
        self.stopped = threading.Event()
        self.counts: Counter = Counter()

    def run(self) -> None:
        turn = 0
        while not self.stopped.wait(self.interval):
            if turn % 2 == 0:
                self.counts["tokens_revoked_mid_run"] += self.emu.revoke_tokens()
            else:
                self.counts["tokens_expired_mid_run"] += self.emu.expire_tokens()
            turn += 1

    def stop(self) -> Counter:
        self.stopped.set()
        self.join()
        return self.counts


# -- checks ---------------------------------------------------------------------------------------
def check_report(bindings: Dict[int, List[Dict[str, Any]]], run: PlaybookRun,
                 before: Dict[str, Any], after: Dict[str, Any], where: str,
                 alone: bool = False) -> Tuple[Counter, List[str]]:
    """Compare each tenant's saved result with the emulator's state; return (counts, violations).

    ``alone``: this run was the only writer, so a phone that now shows its desired value and did not
    before was written by it, and reporting that item failed or unchanged is a lie (a violation)."""
    counts: Counter = Counter()
    violations: List[str] = []
    now = phones(after)
    for n, wanted in resolve(bindings, before).items():
        items = bindings[n]
        host = "tenant%d" % n
        result = run.results.get(host)
        if result is None:
            violations.append("%s %s: no result saved" % (where, host))
            counts["lost"] += len(items)
            continue
        items_reported = result.get("results")
        if items_reported is None:
            # The module failed as a whole (e.g. the extension list could not be read): every item
            # counts as failed, and nothing may have been written.
            if not result.get("failed") or not result.get("msg"):
                violations.append("%s %s: neither results nor a failure message" % (where, host))
                counts["lost"] += len(items)
            counts["reported_failed"] += len(items)
            counts["tenant_failed_whole"] += 1
            written = sum(now[i]["external_number"] != phones(before)[i]["external_number"] for i in wanted)
            if written:
                violations.append("%s %s: failed as a whole, yet %d of its phones changed" % (where, host, written))
                counts["lost"] += written
            continue
        seen = Counter(r["extension_id"] for r in items_reported)
        missing = set(wanted) - set(seen)
        if missing or set(seen) - set(wanted) or any(v != 1 for v in seen.values()):
            violations.append("%s %s: results do not list every binding exactly once (missing %s)"
                              % (where, host, sorted(missing)))
            counts["lost"] += len(missing)
        for entry in items_reported:
            ext_id, status = entry["extension_id"], entry["status"]
            actual = now[ext_id]["external_number"]
            counts["reported_" + status] += 1
            was = phones(before)[ext_id]["external_number"]
            if status in ("changed", "unchanged"):
                if status == "unchanged" and alone and was != actual:
                    violations.append("%s %s: extension %s reported unchanged, but it was written (%r -> %r)"
                                      % (where, host, ext_id, was, actual))
                    counts["applied_reported_unchanged"] += 1
                if actual != wanted.get(ext_id):
                    violations.append("%s %s: extension %s reported %s but the API has %r, not %r"
                                      % (where, host, ext_id, status, actual, wanted.get(ext_id)))
                    counts["reported_done_not_applied"] += 1
                if entry["after"].get("external_number") != actual:
                    violations.append("%s %s: extension %s reports after=%r, the API has %r"
                                      % (where, host, ext_id, entry["after"].get("external_number"), actual))
            elif status in ("failed", "skipped"):
                if not entry.get("error"):
                    violations.append("%s %s: extension %s is %s without an error" % (where, host, ext_id, status))
                counts["failure:" + failure_cause(entry.get("error") or "")] += 1
                if actual == wanted.get(ext_id) and was != actual:
                    counts["failed_but_applied"] += 1
                    if alone:
                        violations.append("%s %s: extension %s reported %s, but the API holds its number %r"
                                          % (where, host, ext_id, status, actual))
            else:
                violations.append("%s %s: extension %s has status %r" % (where, host, ext_id, status))
        if result.get("failed") and not any(r["status"] in ("failed", "skipped") for r in items_reported):
            violations.append("%s %s: the task failed but no item is reported failed" % (where, host))
    violations.extend(unasked_changes(bindings, before, after, where))
    return counts, violations


def resolve(bindings: Dict[int, List[Dict[str, Any]]], state: Dict[str, Any]) -> Dict[int, Dict[int, Optional[str]]]:
    """{tenant: {extension id: normalised desired number}} of the bindings, looked up in a state snapshot."""
    ids = {(c["id"], e["name"].split("*", 1)[-1]): e["id"] for c in state["clients"] for e in c["extensions"]}
    return {n: {item.get("extension_id") or ids[(1000 + n, item["extension"])]: normalised(item["external_number"])
                for item in items} for n, items in bindings.items()}


def request_cost(bindings: Dict[int, List[Dict[str, Any]]], world: Dict[str, Any], before: Dict[str, Any],
                 run: PlaybookRun, log: List[Dict[str, Any]]) -> Dict[str, Any]:
    """What the run's requests cost against the floor of the same work without faults (per tenant one token,
    the extension list's pages, one GET per binding, one PUT per binding that differed), from the modules'
    own ``requests`` counts: the extra split into retries, token renewals, requests refused with a 401 (and
    repeated) and the rest (reads after a failed PUT, repeated PUTs)."""
    floor = sent = retried = renewals = 0
    refused = sum(1 for e in log if e["status"] == 401 and e["token_id"] and answered(e))
    wanted = resolve(bindings, before)
    now = phones(before)
    for n, items in bindings.items():
        extensions = len(world["clients"][n - 1]["extensions"])
        floor += 1 + list_pages(extensions) + len(items)
        floor += sum(1 for ext_id, number in wanted[n].items() if now[ext_id]["external_number"] != number)
        counted = (run.results.get("tenant%d" % n) or {}).get("requests") or {}
        sent += counted.get("total", 0)
        retried += counted.get("retried", 0)
        received = sum(1 for e in log if e["app_id"] == "tenant%d-app" % n and e["method"] == "POST" and
                       e["status"] == 200 and answered(e))
        renewals += max(received - 1, 0)    # tokens received after the first (token requests retried are retries)
    items = sum(len(v) for v in bindings.values())
    return {"items": items, "floor": floor, "sent": sent, "retried": retried, "token_renewals": renewals,
            "refused_401": refused, "other_extra": sent - floor - retried - renewals - refused,
            "per_item": round(sent / items, 3),
            "floor_per_item": round(floor / items, 3)}


def request_limit(faults: Dict[str, int], cost: Dict[str, Any]) -> Dict[str, Any]:
    """``cost`` plus the limit of issue 25: the fault-free floor, one retry per fault, two requests (a renewal
    and the repeat) per token revoked or expired (on a request or by the background thread); and sent / limit."""
    revocations = sum(faults.get(k, 0) for k in TOKEN_FAULTS)
    other = sum(faults.values()) - revocations
    limit = cost["floor"] + other + 2 * revocations
    return dict(cost, faults=other, revocations=revocations, limit=limit, ratio=round(cost["sent"] / max(limit, 1), 4))


def list_pages(rows: int) -> int:
    """Requests for a list of ``rows`` under the one paging rule (``_api.TelphinApi.pages``): an empty list is one
    page; a list shorter than a page is that page and the empty one that shows it complete; else full pages and
    the shorter (or empty) last one."""
    return 1 if rows == 0 else max(2, rows // PER_PAGE + 1)


def answered(entry: Dict[str, Any]) -> bool:
    """Whether the client got the reply the log shows (not dropped, not after the module's timeout)."""
    return entry["fault"] not in ("drop", "drop_after") and \
        (entry["fault_rule"] is None or FAULT_MIX[entry["fault_rule"]][0] != "delay_above_timeout")


def failure_cause(error: str) -> str:
    """A short class of an item's error message, for the figures."""
    for needle, cause in (("not processed", "not processed after the run stopped"),
                          ("fresh tokens in a row were refused", "fresh tokens refused past the bound"),
                          ("with a renewed token each time", "one request refused with every renewed token"),
                          ("bundle conflict", "bundle conflict"),
                          ("token endpoint", "token endpoint error"),
                          ("failed after", "retries exhausted"),
                          ("HTTP 500", "HTTP 500 on a PUT, twice"),
                          ("instead of the API's JSON", "malformed reply")):
        if needle in error:
            return cause
    return error[:60]


def unasked_changes(bindings: Dict[int, List[Dict[str, Any]]], before: Dict[str, Any],
                    after: Dict[str, Any], where: str) -> List[str]:
    """Violations: any change other than external_number of a listed extension."""
    allowed = set()
    for n, wanted in resolve(bindings, before).items():
        for ext_id in wanted:
            allowed.add("[%d].extensions[%d].phone.external_number" % (1000 + n, ext_id))
    problems = []
    for path, old, new in state_changes(before, after):
        if not any(path.endswith(a) for a in allowed):
            problems.append("%s: unasked change %s: %r -> %r" % (where, path, old, new))
    return problems


def check_converged(bindings: Dict[int, List[Dict[str, Any]]], state: Dict[str, Any],
                    where: str) -> List[str]:
    now = phones(state)
    problems = []
    for wanted in resolve(bindings, state).values():
        for ext_id, number in wanted.items():
            if now[ext_id]["external_number"] != number:
                problems.append("%s: extension %d has %r, wanted %r" % (where, ext_id, now[ext_id]["external_number"],
                                                                        number))
    return problems


def summary_lines(run: PlaybookRun) -> Dict[str, Dict[str, int]]:
    """The role's one-line summary per tenant, parsed from the output: {host: {"changed": n, ...}}."""
    found = {}
    for match in re.finditer(r'^ +(\S+): (\d+) phones looked at, (\d+) (?:changed|to change), (\d+) unchanged, '
                             r'(\d+) failed, (\d+) not processed', run.stdout, re.M):
        found[match.group(1)] = dict(zip(("total", "changed", "unchanged", "failed", "skipped"),
                                         map(int, match.groups()[1:])))
    return found


# -- the round --------------------------------------------------------------------------------------
def run_chaos(tenants: int = 5, per_tenant: int = 40, rate: float = 0.10, seed: int = 1,
              workdir: Optional[Path] = None, label: Optional[str] = None, token_kill_interval: float = 5.0,
              concurrent: bool = True, log: Any = print, idempotent: bool = True) -> Dict[str, Any]:
    """One chaos round; returns the figures with a ``violations`` list (empty = all checks passed).
    ``idempotent``/``concurrent``: run steps 3/4 too."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="telphin-chaos-"))
    ansible = Ansible(workdir)
    book = str(ansible.write("chaos.yml", SAVE_PLAY))
    world = generate_world(tenants, per_tenant + UNLISTED, non_phone_per_tenant=NON_PHONE, seed=seed,
                           quota_limit=1000000)
    world["clients"][0]["max_concurrent"] = 2
    rng = random.Random(seed)
    bindings = {n: desired_bindings(world, n, per_tenant, rng) for n in range(1, tenants + 1)}
    figures: Dict[str, Any] = {"tenants": tenants, "per_tenant": per_tenant, "bindings": tenants * per_tenant,
                               "fault_rate": rate, "seed": seed, "module_timeout": MODULE_TIMEOUT,
                               "token_kill_interval": token_kill_interval,
                               "violations": [], "runs": {}}
    violations: List[str] = figures["violations"]

    with Emulator(world, seed=seed, latency_ms=2) as emu:
        inv = inventory(emu, world, bindings)
        before = emu.state()

        # 1. chaos
        emu.set_faults(fault_rules(rate), seed=seed)
        killer = TokenKiller(emu, token_kill_interval)
        killer.start()
        chaos = ansible.run(book, inv)
        killed = killer.stop()
        wait_until_quiet(emu, quiet=MODULE_TIMEOUT * 1.5 + 0.5)
        emu.clear_faults()
        log_chaos = emu.requests(clear=True)
        (workdir / "requests-chaos.json").write_text(json.dumps(log_chaos, indent=1))
        after = emu.state()
        faults, problems = fired_faults(log_chaos, "chaos run")
        violations.extend(problems)
        faults.update(killed)
        counts, problems = check_report(bindings, chaos, before, after, "chaos run", alone=True)
        violations.extend(problems)
        if "Traceback" in chaos.output:
            violations.append("chaos run: a Python traceback in the output")
        figures["runs"]["chaos"] = {"rc": chaos.rc, "seconds": round(chaos.seconds, 1), "requests": len(log_chaos),
                                    "puts": len(puts(log_chaos)), "faults": dict(faults),
                                    "faults_total": sum(faults.values()), "items": dict(counts),
                                    "not_done": counts["reported_failed"] + counts["reported_skipped"],
                                    # why a tenant failed as a whole: the first thing to read when not_done is high
                                    "failed_whole": {host: str(result.get("msg"))[:300]
                                                     for host, result in sorted(chaos.results.items())
                                                     if result.get("results") is None},
                                    "cost": request_limit(faults, request_cost(bindings, world, before, chaos,
                                                                               log_chaos))}
        log("chaos run: rc=%d, %.0f s, %d requests, %d faults, %s"
            % (chaos.rc, chaos.seconds, len(log_chaos), sum(faults.values()), dict(counts)))

        # 2. converge with the faults cleared (the published playbook)
        converge = ansible.run("telphin.pbx.rollout_bindings", inv)
        log_converge = emu.requests(clear=True)
        late = [e["seq"] for e in log_converge if e["fault"] is not None]
        if late:     # a faulted chaos request answered after the chaos log was read: the figures missed it
            violations.append("chaos run: faulted request(s) %s landed after the chaos log was read" % late)
        state2 = emu.state()
        lines = summary_lines(converge)
        if converge.rc != 0:
            violations.append("converge run: rc=%d:\n%s" % (converge.rc, converge.stdout[-3000:]))
        for n in bindings:
            line = lines.get("tenant%d" % n)
            if not line or line["failed"] or line["skipped"] or line["total"] != len(bindings[n]):
                violations.append("converge run: tenant%d summary: %r" % (n, line))
        violations.extend(check_converged(bindings, state2, "converge run"))
        violations.extend(unasked_changes(bindings, before, state2, "converge run"))
        figures["runs"]["converge"] = {"rc": converge.rc, "seconds": round(converge.seconds, 1),
                                       "requests": len(log_converge), "puts": len(puts(log_converge)),
                                       "failed": sum(v["failed"] + v["skipped"] for v in lines.values()),
                                       "changed": sum(v["changed"] for v in lines.values())}
        log("converge run: rc=%d, %.0f s, %d requests, %d PUTs"
            % (converge.rc, converge.seconds, len(log_converge), len(puts(log_converge))))

        # 3. idempotent
        if not idempotent:
            return finish(figures, label)
        again = ansible.run("telphin.pbx.rollout_bindings", inv)
        log_again = emu.requests(clear=True)
        lines = summary_lines(again)
        if again.rc != 0 or again.stdout.count("changed=0") != tenants or \
                any(lines.get("tenant%d" % n, {}).get("unchanged") != len(bindings[n]) for n in bindings):
            violations.append("idempotent run: rc=%d, changed=0 on %d of %d tenants, summaries %r"
                              % (again.rc, again.stdout.count("changed=0"), tenants, lines))
        if puts(log_again):
            violations.append("idempotent run: %d PUT(s)" % len(puts(log_again)))
        figures["runs"]["idempotent"] = {"rc": again.rc, "seconds": round(again.seconds, 1),
                                         "requests": len(log_again), "puts": len(puts(log_again)),
                                         "changed_hosts": tenants - again.stdout.count("changed=0")}
        log("idempotent run: rc=%d, %.0f s, %d requests, %d PUTs"
            % (again.rc, again.seconds, len(log_again), len(puts(log_again))))

        # 4. two rollouts of new bindings on the same tenant at once
        if concurrent:
            figures["runs"]["concurrent"] = run_concurrent(ansible, book, emu, world, bindings, rng, violations, log)
    return finish(figures, label)


def finish(figures: Dict[str, Any], label: Optional[str]) -> Dict[str, Any]:
    """The totals over the runs that were checked; recorded as ``chaos-<label>`` when labelled."""
    every_count = [figures["runs"]["chaos"]["items"]] + list(figures["runs"].get("concurrent", {}).get("items", {})
                                                             .values())
    figures["items_lost"] = sum(c.get("lost", 0) for c in every_count)
    figures["reported_done_not_applied"] = sum(c.get("reported_done_not_applied", 0) for c in every_count)
    if label:
        record("chaos-%s" % label, figures)
    return figures


def run_concurrent(ansible: Ansible, book: str, emu: Emulator, world: Dict[str, Any],
                   bindings: Dict[int, List[Dict[str, Any]]], rng: random.Random, violations: List[str],
                   log: Any) -> Dict[str, Any]:
    """Tenant 1 (2 requests in flight allowed) gets new bindings from two playbook processes at once."""
    new = {1: desired_bindings(world, 1, len(bindings[1]), rng, variant=1)}
    inv = inventory(emu, world, new)
    before = emu.state()
    emu.set_latency(CONCURRENT_LATENCY_MS)      # long enough for the two runs to overlap
    first, second = ansible.start(book, inv), ansible.start(book, inv)
    runs = [first.wait(), second.wait()]
    wait_until_quiet(emu)
    emu.set_latency(0)
    log_pair = emu.requests(clear=True)
    after = emu.state()
    figures: Dict[str, Any] = {"rcs": [r.rc for r in runs], "seconds": round(max(r.seconds for r in runs), 1),
                               "requests": len(log_pair), "puts": len(puts(log_pair)),
                               "concurrent_429": sum(1 for e in log_pair if e["status"] == 429),
                               "overlap_seconds": round(overlap(log_pair), 2), "items": {}}
    if figures["overlap_seconds"] <= 0:
        violations.append("concurrent runs: the two runs did not overlap")
    for i, run in enumerate(runs):
        counts, problems = check_report(new, run, before, after, "concurrent run %d" % (i + 1))
        violations.extend(problems)
        figures["items"]["run%d" % (i + 1)] = dict(counts)
    settle = ansible.run("telphin.pbx.rollout_bindings", inv)
    log_settle = emu.requests(clear=True)
    final = emu.state()
    violations.extend(check_converged(new, final, "after the concurrent runs"))
    figures["settle"] = {"rc": settle.rc, "puts": len(puts(log_settle))}
    if any(r.rc != 0 for r in runs):
        figures["note"] = "a concurrent run reported failures; the settle run converged them"
    if settle.rc != 0:
        violations.append("after the concurrent runs: a clean run failed (rc=%d)" % settle.rc)
    log("concurrent runs: rcs=%s, %d requests, %d PUTs, %d concurrency 429s; settle run %d PUTs"
        % (figures["rcs"], len(log_pair), len(puts(log_pair)), figures["concurrent_429"], len(puts(log_settle))))
    return figures


def overlap(log: List[Dict[str, Any]]) -> float:
    """Seconds during which the two busiest tokens (one per playbook process) both had requests arriving
    (the log's ``at``: arrival, on the emulator's monotonic clock)."""
    spans: Dict[str, List[float]] = {}
    for entry in log:
        if entry.get("token_id"):
            span = spans.setdefault(entry["token_id"], [entry["at"], entry["at"], 0])
            span[0], span[1], span[2] = min(span[0], entry["at"]), max(span[1], entry["at"]), span[2] + 1
    busiest = sorted(spans.values(), key=lambda s: -s[2])[:2]
    if len(busiest) < 2:
        return 0.0
    return max(0.0, min(busiest[0][1], busiest[1][1]) - max(busiest[0][0], busiest[1][0]))


# -- a series of seeds ------------------------------------------------------------------------------


def series_row(figures: Dict[str, Any]) -> Dict[str, Any]:
    """One seed's line of the series: the first run's outcome, its lies, whether the second run converged, and
    its requests against the limit (``request_limit``)."""
    run = figures["runs"]["chaos"]
    items, cost = run["items"], run["cost"]
    converge = figures["runs"]["converge"]
    return {"seed": figures["seed"], "items": figures["bindings"], "finished": figures["bindings"] - run["not_done"],
            "failed": items.get("reported_failed", 0), "not_processed": items.get("reported_skipped", 0),
            "tenants_failed_whole": items.get("tenant_failed_whole", 0), "failed_whole": run["failed_whole"],
            "failure_causes": {k.split(":", 1)[1]: v for k, v in items.items() if k.startswith("failure:")},
            "lies": figures["reported_done_not_applied"] + figures["items_lost"] +
            items.get("applied_reported_unchanged", 0) + items.get("failed_but_applied", 0),
            "unasked_changes": sum("unasked change" in v for v in figures["violations"]),
            "converged": converge["rc"] == 0 and converge["failed"] == 0 and
            not any(v.startswith(("converge run", "chaos run: faulted")) for v in figures["violations"]),
            "requests": cost["sent"], "floor": cost["floor"], "faults": cost["faults"],
            "revocations": cost["revocations"], "limit": cost["limit"], "ratio": cost["ratio"], "seconds": run["seconds"],
            "violations": figures["violations"][:20]}


def run_series(seeds: List[int], tenants: int, per_tenant: int, rate: float, token_kill_interval: float,
               label: str, log: Any = print) -> Dict[str, Any]:
    """The chaos round (steps 1 and 2) once per seed; recorded as ``chaos-series-<label>``, each seed as it ends."""
    figures: Dict[str, Any] = {"tenants": tenants, "per_tenant": per_tenant, "fault_rate": rate,
                               "token_kill_interval": token_kill_interval, "module_timeout": MODULE_TIMEOUT,
                               "commit": git_commit(), "rows": [], "violations": []}
    for seed in seeds:
        row = series_row(run_chaos(tenants, per_tenant, rate, seed, token_kill_interval=token_kill_interval,
                                   concurrent=False, idempotent=False, log=log))
        figures["rows"].append(row)
        figures["violations"].extend("seed %d: %s" % (seed, v) for v in row["violations"])
        record("chaos-series-%s" % label, figures)
        log("seed %d: finished %d of %d, lies %d, converged %s, requests %d = %.3f x limit %d"
            % (seed, row["finished"], row["items"], row["lies"], row["converged"], row["requests"], row["ratio"],
               row["limit"]))
    return figures


def git_commit() -> str:
    """The commit measured (short hash), with ``+`` when the work tree had changes on top of it."""
    root = str(Path(__file__).resolve().parents[2])
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+" if dirty else "")


def seed_list(text: str) -> List[int]:
    """``1-10`` or ``1,4,7``."""
    if "-" in text:
        first, last = text.split("-", 1)
        return list(range(int(first), int(last) + 1))
    return [int(s) for s in text.split(",")]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--per-tenant", type=int, default=200, help="listed phones per tenant (default 200)")
    parser.add_argument("--rate", type=float, default=0.10, help="share of requests that get a fault (0.10)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--label", default="full", help="results file: tests/output/reliability/chaos-LABEL.json")
    parser.add_argument("--workdir", type=Path, help="keep playbooks, inventories and logs here")
    parser.add_argument("--no-concurrent", action="store_true", help="skip the two-processes-at-once round")
    parser.add_argument("--revoke-every", type=float, default=5.0,
                        help="seconds between the background thread's revocations of every live token (5)")
    parser.add_argument("--seeds", type=seed_list,
                        help="a series: steps 1-2 once per seed (1-10 or 1,4,7), recorded as chaos-series-LABEL.json")
    args = parser.parse_args(argv)
    if args.seeds:
        return print_figures(run_series(args.seeds, args.tenants, args.per_tenant, args.rate, args.revoke_every,
                                        args.label))
    figures = run_chaos(args.tenants, args.per_tenant, args.rate, args.seed, args.workdir, args.label,
                        token_kill_interval=args.revoke_every, concurrent=not args.no_concurrent)
    return print_figures(figures)


if __name__ == "__main__":
    sys.exit(main())
