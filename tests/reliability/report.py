"""Write ``docs/reliability.md`` from the results the reliability tests saved under ``tests/output/reliability/``.

    python tests/reliability/report.py [--results DIR] [--output docs/reliability.md]

Reads ``chaos-full.json`` (else ``chaos-ci.json``), when present ``chaos-full-20.json`` (else ``chaos-ci-20.json``)
and ``chaos-series-*.json``, ``quota.json``, ``bad_input.json``, ``secrets.json``,
``tls.json`` and, when present, ``bundles.json`` and ``junit.xml`` (pytest's ``--junitxml``) for the test runtimes. Every figure in
the page comes from those files; the script fails if one of them is missing.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Dict, List, Optional

REPO = Path(__file__).resolve().parents[2]
DEFAULT_RESULTS = REPO / "tests" / "output" / "reliability"
DEFAULT_OUTPUT = REPO / "docs" / "reliability.md"

FAULT_NAMES = {
    "status_500": "HTTP 500, request not processed (a GET is retried; after a PUT the phone is read to decide)",
    "status_500_after": "HTTP 500 after the request was processed (a PUT applied)",
    "status_502": "HTTP 502",
    "status_503": "HTTP 503 with Retry-After",
    "concurrent_429": "HTTP 429 \"concurrent request not allowed\" with Retry-After",
    "drop": "connection dropped, request not processed",
    "drop_after": "request processed (PUT applied), reply lost",
    "delay_below_timeout": "reply delayed to 75 % of the module timeout",
    "delay_above_timeout": "reply delayed to 150 % of the module timeout",
    "revoke_token": "token revoked on a request (401)",
    "expire_token": "token expired on a request (401)",
    "tokens_revoked_mid_run": "every live token revoked mid-run (background)",
    "tokens_expired_mid_run": "every live token expired mid-run (background)",
}


FOUND = """\
## What this suite found (fixed, each with a regression unit test)

- Parallel workers each passed the `quota_reserve` check on the same `X-RateLimit-Remaining` and together took
  the tenant below the reserve (150 limit, reserve 30, `parallel` 4: 27 left). The check now counts the
  requests in flight, a reply that overtook a later one cannot raise the figure, and a lost reply counts as
  charged.
- Workers told the same `Retry-After` retried at the same moment and collided again; with two rollouts on one
  tenant, or a provider allowing one request at a time, items failed after 5 attempts. `Retry-After` waits are
  jittered now, and each "concurrent request" 429 halves the requests sent at once (back up by one after 5 quiet
  seconds).
- A slow reply refused the token another worker had already replaced, and that newer token had been invalidated
  too: the client reported "refused again after a fresh one was fetched" without having fetched one, and stopped
  the tenant's run (668 of 1,000 bindings not processed in one full-size run). It now fetches the fresh token it
  promised.
- Under token churn (tokens revoked or expired every few seconds), a token revoked again before the request
  repeated with it got through was taken for credentials the API refuses: the tenant's run stopped, and 610 of
  1,000 bindings were not processed. A token that served requests is now renewed whenever it is refused; only
  renewed tokens refused before serving anything were bounded (10 per run), and before any request of the run
  succeeded the second refused token still stopped it at once (replaced in issue 25, below).
- At 20 % faults with every token revoked each second (issue 25), one of nine runs lost a whole tenant (200
  items, no result per item): the run's first token was revoked before its first use, and "a fresh token refused
  before any success" was taken for credentials the API refuses. The token endpoint refusing the credentials
  still stops a run at once; a fresh token the API refuses is renewed now, at most 4 in a row and within 30 s
  (a request that gets through ends the count), and one request refused 7 times fails alone. Runs of that
  level then showed two more causes: a renewal whose token request got an HTTP 500 failed its item (1 to 5
  items per run) or, on the run's first token, the whole tenant (1 run of 5); and a worker kept waiting by the
  concurrency gate sent the token it had picked before waiting, already replaced (61 to 95 of 369 refused
  requests in one run), which put the requests at 1.024 to 1.029 times the limit. A token request's 500 is
  retried now, and the token is picked when the request passes the gate.
- An HTTP 500 failed its item without a second try, and a 500 on the extension list failed a whole tenant
  (200 items). A GET's 500 is retried now; after a PUT's 500 the phone is read: applied, it is reported changed;
  not applied, the PUT is repeated once.
- On an API that lists no bundles, two members of one bundle given different `record_format` values overwrote
  each other on every run, and both were reported `changed` for ever. The phones whose synchronised keys were
  written are read back after the writes, and the overwritten one fails as a bundle conflict naming both.
- A SIP `password` inside `bindings` showed in the module invocation at `-vvv` when Ansible refused another
  option of the same task; a digits-only password (a number in YAML) was not registered as a secret and was sent
  as a JSON number; a password of the wrong type reached the API.
- A label with a no-break space (or any space but U+0020) was refused as "control characters".
- `extension_phone_info` requested a token and the extension list before refusing a bad `parallel`.
- A token reply cut short after the token printed the live token in the task's `msg`; a phone reply cut after the
  SIP password printed the password. No reply is quoted now: error messages say what failed in the collection's
  words (method, path, HTTP status, an error code of a closed set, what to do), never the API's `message`, the
  token endpoint's `error_description`, an excerpt of a malformed body or the server's bytes in a broken HTTP
  reply; every secret the client knows is masked in its messages all the same (issue 12).
- A server sending its status line, headers or TLS handshake a byte at a time held a request for ever: the read
  timeout bounds each socket read only. Each attempt now ends `timeout` seconds after it started, whatever
  the server sends (issue 12).
- SIP passwords inside `bindings` reached syslog / journald through `AnsibleModule`'s "Invoked with" entry. They
  are masked by key before it is logged; the secret scan captures syslog now.
- `Retry-After: nan`, `X-RateLimit-Remaining: 1e999` and JSON nested 100,000 deep crashed `extension_phones` with
  a Python exception and no results (after its writes); `extension_id: "²"` crashed the item checks.
- A PUT the API applied was reported failed when its reply was cut short; it is read back and reported `changed`.
- After `ansible-playbook` alone was killed at the 61st of 400 PUTs (`kill -9`, the OOM killer, a lost terminal's
  SIGHUP), its workers sent the other 336 PUTs, results nobody saw, and lingered; from ansible-core 2.19 on the
  workers run in sessions of their own, so an AWX cancel (ansible-runner's SIGKILL to the process group) left them
  running too. A worker, and a module process on the same machine, now checks before each request that its
  controller still runs, and otherwise ends at once without reporting (issue 31; "Stopped mid-rollout" above).
  The series then found, on ansible-core 2.16, workers that were reporting when the controller died blocked for
  ever on the full pipe of the result queue (7 of 16 late stops of the main process alone); a thread of the
  worker waiting on the controller's end ends it now.
- An unquoted number (a YAML integer: `0201234567` is the octal 33896823) and a number with a trailing newline
  were bound; a dealer app asked for one client with `extension_id` rewrote another client's extension; plain
  `http://` API URLs off loopback were accepted silently. Each is refused now, before any write.
"""


def load(results: Path, name: str) -> Dict[str, Any]:
    path = results / ("%s.json" % name)
    if not path.exists():
        raise SystemExit("missing %s: run the reliability tests first (see docs/reliability.md)" % path)
    return json.loads(path.read_text())


def junit_times(results: Path) -> Dict[str, float]:
    """Seconds per test file from pytest's junit XML, if the run wrote one."""
    path = results / "junit.xml"
    if not path.exists():
        return {}
    times: Dict[str, float] = {}
    for case in ET.parse(str(path)).getroot().iter("testcase"):
        module = (case.get("classname") or "").split(".")[-1] or "?"
        times[module] = times.get(module, 0.0) + float(case.get("time") or 0)
    return times


def table(header: List[str], rows: List[List[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def git_revision() -> str:
    """The commit measured, marked when the work tree had changes on top of it."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)docs/reliability.md"],    # not the page a previous report wrote
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return "`%s`%s" % (head, " plus uncommitted changes" if dirty else "")


def ansible_version() -> str:
    try:
        from ansible.release import __version__
        return __version__
    except ImportError:  # pragma: no cover
        return "unknown"


def chaos_section(chaos: Dict[str, Any]) -> str:
    runs = chaos["runs"]
    run = runs["chaos"]
    items = run["items"]
    faults = run["faults"]
    failed_by = {k.split(":", 1)[1]: v for k, v in items.items() if k.startswith("failure:")}
    rows = []
    for kind in FAULT_NAMES:
        if kind not in faults:
            continue
        rows.append([FAULT_NAMES[kind], faults[kind]])
    injected, survived_count = survived(chaos)
    item_failures = injected - survived_count
    applied = items.get("reported_changed", 0) + items.get("reported_unchanged", 0)
    reported_failed = items.get("reported_failed", 0) + items.get("reported_skipped", 0)
    concurrent = runs.get("concurrent", {})
    lines = [
        "## Chaos rollout",
        "",
        "`%d` tenants × `%d` bindings = **%d bindings**, rolled out by `ansible-playbook` with the role "
        "`telphin.pbx.phone_bindings` (module `timeout` %.0f s, `parallel` 4) while the emulator injected faults into "
        "**%.0f %%** of all requests (seed %s), and a background thread revoked or expired every live token %s."
        % (chaos["tenants"], chaos["per_tenant"], chaos["bindings"], chaos["module_timeout"],
           chaos["fault_rate"] * 100, chaos["seed"], every(chaos.get("token_kill_interval"))),
        "",
        table(["fault injected", "count"], rows + [["**total**", "**%d**" % injected]]),
        "",
        "Outcome of the run under faults (%d requests, %d PUTs, %.0f s):"
        % (run["requests"], run["puts"], run["seconds"]),
        "",
        table(["", "bindings"], [
            ["applied and reported changed / unchanged", applied],
            ["reported failed (error per item)", items.get("reported_failed", 0)],
            ["reported not processed (the run stopped; listed)", items.get("reported_skipped", 0)],
            ["**applied but reported failed or unchanged**",
             "**%d**" % (items.get("failed_but_applied", 0) + items.get("applied_reported_unchanged", 0))],
            ["tenants whose module failed as a whole (all their items reported failed)",
             items.get("tenant_failed_whole", 0)],
            ["**reported done but not in the API's state**", "**%d**" % chaos["reported_done_not_applied"]],
            ["**lost (neither applied nor reported)**", "**%d**" % chaos["items_lost"]],
        ]),
        "",
        "First run: **%d of %d items (%.1f %%) failed or not processed** (target: at most 1 %%)."
        % (reported_failed, chaos["bindings"], 100.0 * reported_failed / chaos["bindings"]),
        "Faults survived (retried, re-authenticated, decided by a read or harmless): **%d of %d**%s." % (
            injected - item_failures, injected, "" if not item_failures else
            "; the other %d each failed one item, reported: %s" % (item_failures, ", ".join(
                "%s × %d" % (k, v) for k, v in sorted(failed_by.items())
                if k != "not processed after the run stopped"))),
        "" if not failed_by.get("not processed after the run stopped") else
        "%d items were not processed after a run-stopping error; they were listed in the failure message and "
        "applied by the next run." % failed_by["not processed after the run stopped"],
        cost_text(run.get("cost")),
        "",
        "Checks after the run (whole emulator state before/after): every binding appears once in the module's "
        "`results`; every item reported `changed`/`unchanged` shows the desired number in the API; the only keys "
        "that changed anywhere are `external_number` of listed extensions. Violations: **%d**." % len(
            chaos["violations"]),
        "",
        table(["then", "result"], [
            ["re-run with faults cleared (`telphin.pbx.rollout_bindings`)",
             "rc %d, **%d failed**, %d changed, %d PUTs, %.0f s" % (
                 runs["converge"]["rc"], runs["converge"]["failed"], runs["converge"].get("changed", 0),
                 runs["converge"]["puts"], runs["converge"]["seconds"])],
            ["third run", "rc %d, **%d changed, %d PUTs**, %d requests, %.0f s" % (
                runs["idempotent"]["rc"], runs["idempotent"]["changed_hosts"], runs["idempotent"]["puts"],
                runs["idempotent"]["requests"], runs["idempotent"]["seconds"])],
        ] + ([["two rollouts of new bindings on one tenant at once (2 requests in flight allowed)",
               concurrent_text(concurrent)]] if concurrent else [])),
    ]
    if chaos["violations"]:
        lines += ["", "Violations:", ""] + ["- %s" % v for v in chaos["violations"]]
    return "\n".join(lines)


def every(interval: Optional[float]) -> str:
    """The background thread's revocation interval, in words."""
    if interval is None:
        return "every few seconds"
    return "each second" if interval == 1 else "every %g s" % interval


def cost_text(cost: Optional[Dict[str, Any]]) -> str:
    """What retries and token renewals cost, in requests per item (the modules' own counts), and against the
    limit of issue 25 (when the figures have it)."""
    if not cost:
        return ""
    limit = [] if "limit" not in cost else [
        ["the limit: the floor, one request per fault (%d), two per token revoked or expired (%d)"
         % (cost["faults"], cost["revocations"]), cost["limit"], "%.2f" % (cost["limit"] / cost["items"])],
        ["**sent / limit** (target: at most 1.02)", "**%.3f**" % cost["ratio"], ""]]
    rows = [["the same work without faults (one token and the list's pages per tenant, a GET per item, a PUT "
             "per item that differed)", cost["floor"], "%.2f" % cost["floor_per_item"]],
            ["sent under faults", cost["sent"], "%.2f" % cost["per_item"]],
            ["of which retries (502/503/504, a GET's 500, \"concurrent\" 429, no reply)", cost["retried"], ""],
            ["of which token renewals", cost["token_renewals"], ""],
            ["of which requests refused with a 401 (repeated with the renewed token)", cost["refused_401"], ""],
            ["of which reads after a PUT's 500 and repeated PUTs", cost["other_extra"], ""]] + limit
    return "\n".join(["What the faults cost in requests (counted by the modules, %d items):" % cost["items"], "",
                      table(["requests", "count", "per item"], rows)])


def level_section(chaos: Optional[Dict[str, Any]]) -> str:
    """The chaos round at the second level (20 % faults, tokens revoked each second), in short."""
    if not chaos:
        return ""
    runs = chaos["runs"]
    run, items, cost = runs["chaos"], runs["chaos"]["items"], runs["chaos"]["cost"]
    lies = chaos["reported_done_not_applied"] + chaos["items_lost"] + items.get("failed_but_applied", 0) + \
        items.get("applied_reported_unchanged", 0)
    rows = [["faults injected (of which tokens revoked or expired)",
             "%d (%d)" % (run["faults_total"], cost.get("revocations", 0))],
            ["first run: failed / not processed / tenants failed as a whole", "%d / %d / %d" % (
                items.get("reported_failed", 0), items.get("reported_skipped", 0), items.get("tenant_failed_whole", 0))],
            ["**reported done but not so, applied but reported failed or unchanged, lost**", "**%d**" % lies],
            ["requests sent / the limit (floor %d + faults + 2 × revocations)" % cost["floor"],
             "%d / %d = %.3f" % (cost["sent"], cost["limit"], cost["ratio"])],
            ["re-run with faults cleared", "rc %d, %d failed, %d changed" % (
                runs["converge"]["rc"], runs["converge"]["failed"], runs["converge"].get("changed", 0))],
            ["third run", "rc %d, %d changed, %d PUTs" % (
                runs["idempotent"]["rc"], runs["idempotent"]["changed_hosts"], runs["idempotent"]["puts"])],
            ["violations", len(chaos["violations"])]]
    return "\n".join([
        "## Chaos rollout at %.0f %% faults, tokens revoked %s" % (chaos["fault_rate"] * 100,
                                                                   every(chaos.get("token_kill_interval"))),
        "",
        "The same round (`%d` × `%d` bindings, seed %s) with twice the faults and every live token revoked or expired "
        "%s (issue 25):" % (chaos["tenants"], chaos["per_tenant"], chaos["seed"], every(chaos.get("token_kill_interval"))),
        "",
        table(["", "result"], rows),
    ] + (["", "Violations:", ""] + ["- %s" % v for v in chaos["violations"]] if chaos["violations"] else []))


def series_section(results: Path) -> str:
    """The seed series (``chaos-series-*.json``, one file per series or per seed), one table per level."""
    levels: Dict[Any, List[Dict[str, Any]]] = {}
    for path in sorted(results.glob("chaos-series-*.json")):
        series = json.loads(path.read_text())
        key = (series["fault_rate"], series["token_kill_interval"], series["tenants"], series["per_tenant"])
        levels.setdefault(key, []).extend(dict(row, commit=series.get("commit", "?")) for row in series["rows"])
    if not levels:
        return ""
    counts = sorted({len(rows) for rows in levels.values()})
    lines = ["## Chaos series: %s seeds per level" % " or ".join(str(n) for n in counts), "",
             "Steps 1 and 2 of the chaos round (the rollout under faults, then a re-run with the faults cleared) once "
             "per seed, tokens revoked or expired by the background thread as stated. *finished*: items the first run "
             "reported changed or unchanged; *lies*: items reported done but not so in the API, applied but reported "
             "failed or unchanged, or lost; *limit*: the fault-free floor plus one request per fault plus two per "
             "token revoked or expired (a renewal and the repeat). Targets (issue 25): at least 99 % finished in "
             "every run, 0 lies, nothing changed unasked, the re-run converges, requests at most 1.02 × the limit."]
    for (rate, interval, tenants, per_tenant), rows in sorted(levels.items()):
        rows = sorted(rows, key=lambda r: r["seed"])
        items = rows[0]["items"]
        lines += ["", "### %.0f %% faults, tokens revoked %s, %d × %d bindings" % (
            rate * 100, every(interval), tenants, per_tenant), ""]
        lines.append(table(
            ["seed", "finished", "failed", "not processed", "tenants lost whole", "lies", "unasked changes",
             "re-run converged", "requests", "floor", "faults", "revocations", "limit", "ratio"],
            [[r["seed"], "%d (%.1f %%)" % (r["finished"], 100.0 * r["finished"] / r["items"]), r["failed"],
              r["not_processed"], r["tenants_failed_whole"], r["lies"], r["unasked_changes"],
              "yes" if r["converged"] else "**no**", r["requests"], r["floor"], r["faults"], r["revocations"],
              r["limit"], "%.3f" % r["ratio"]] for r in rows]))
        worst = min(r["finished"] for r in rows)
        causes: Dict[str, int] = {}
        for row in rows:
            for cause, count in row["failure_causes"].items():
                causes[cause] = causes.get(cause, 0) + count
        met = [worst * 100 >= 99 * items, all(r["lies"] == 0 for r in rows),
               all(r["unasked_changes"] == 0 for r in rows), all(r["converged"] for r in rows),
               all(r["ratio"] <= 1.02 for r in rows)]
        lines += ["", "%d runs (commit %s): fewest finished %d of %d (%.1f %%); ratio %.3f to %.3f; targets %s.%s" % (
            len(rows), ", ".join(sorted(set(r["commit"] for r in rows))), worst, items, 100.0 * worst / items,
            min(r["ratio"] for r in rows), max(r["ratio"] for r in rows),
            "**all met**" if all(met) else "**not all met** (%s)" % ", ".join(
                name for name, ok in zip(["99 % finished", "0 lies", "nothing unasked", "converged", "ratio"], met)
                if not ok),
            "" if not causes else " Items failed or not processed, by cause: %s." % ", ".join(
                "%s × %d" % kv for kv in sorted(causes.items())))]
    return "\n".join(lines)


def bundles_section(bundles: Optional[Dict[str, Any]]) -> str:
    if not bundles:
        return ""
    flip, again = bundles["flip_flop"], bundles["again"]
    agree, listed = bundles["agreeing"], bundles["listing_on"]
    rows = [
        ["members 100 and 101 given `mp3_stereo` and `wav_mono`", "rc %d; %s reported failed as a bundle conflict "
         "naming both, %s applied; %d read-back GET(s) (only phones whose synchronised keys were written); %d PUTs"
         % (flip["rc"], flip["overwritten"], flip["kept"], flip["read_back"], flip["puts"])],
        ["the same again", "rc %d; %s reported failed as a bundle conflict; %d read-back GET(s)"
         % (again["rc"], again["overwritten"], again["read_back"])],
        ["both given `wav_mono`", "rc %d (%d read-back GETs); then a run: rc %d, %d PUTs"
         % (agree["rc"], agree["read_back"], agree["again_rc"], agree["again_puts"])],
        ["the conflicting values with the bundle listing served", "rc %d, refused before any write (%d PUTs)"
         % (listed["rc"], listed["puts"])],
    ]
    return "\n".join([
        "## Bundles without a bundle listing",
        "",
        "A bundle's members share their synchronised keys (`record_format`, `hold_music`, ...): a PUT on one sets "
        "them on all. With the emulator's bundle listing switched off (an API that lists no bundles), the run "
        "reads back, after its writes, the phones whose synchronised keys it wrote, and reports a value overwritten "
        "by a write to another listed extension. Violations: **%d**." % len(bundles["violations"]),
        "",
        table(["case (the phone_bindings role; phones 100 and 101 form one bundle)", "result"], rows),
    ] + (["", "Violations:", ""] + ["- %s" % v for v in bundles["violations"]] if bundles["violations"] else []))


def concurrent_text(concurrent: Dict[str, Any]) -> str:
    runs = list(concurrent["items"].values())
    done = sum(r.get("reported_changed", 0) + r.get("reported_unchanged", 0) for r in runs)
    failed = sum(r.get("reported_failed", 0) + r.get("reported_skipped", 0) for r in runs)
    causes = {}
    for counts in runs:
        for key, value in counts.items():
            if key.startswith("failure:"):
                causes[key.split(":", 1)[1]] = causes.get(key.split(":", 1)[1], 0) + value
    return ("overlapping %.1f s, %d \"concurrent\" 429s; of %d items (both runs) %d reported done, %d reported "
            "failed%s; then a run: rc %d, %d PUTs" % (
                concurrent["overlap_seconds"], concurrent["concurrent_429"], done + failed, done, failed,
                " (%s)" % ", ".join("%s × %d" % kv for kv in sorted(causes.items())) if causes else "",
                concurrent["settle"]["rc"], concurrent["settle"]["puts"]))


def quota_section(quota: Dict[str, Any]) -> str:
    checks = quota["checks"]
    rows = []
    for parallel in (1, 4):
        check = checks.get("exhausted_parallel_%d" % parallel)
        if check:
            rows.append(["quota used up mid-run by another client, `parallel` %d" % parallel,
                         "failed at once with the reset time; %d item(s) done, %d listed as not processed; %d quota "
                         "429(s) received in all (the requests in flight), nothing sent after; re-run after the "
                         "reset: rc %d" % (check["items_done_before"], check["items_not_processed"],
                                           check["quota_429s"], check["rerun_rc"])])
    reserve = checks.get("reserve")
    if reserve:
        rows.append(["`quota_reserve` %d of %d, `parallel` 4" % (reserve["reserve"], reserve["limit"]),
                     "stopped with **%d** remaining (never below the reserve), %d item(s) listed as not processed; "
                     "after the reset a run completed with %d remaining" % (
                         reserve["remaining_after_stop"], reserve["items_not_processed"],
                         reserve["remaining_after_rerun"])])
    return "\n".join(["## Request quota", "", table(["scenario", "result"], rows)])


def bad_input_section(bad: Dict[str, Any]) -> str:
    rows = [[cat, n] for cat, n in sorted(bad["by_category"].items())]
    return "\n".join([
        "## Bad input",
        "",
        "**%d** distinct bad inputs (%d through the modules, %d through the role), each with a message that names "
        "the offending item (a specific substring is asserted per case): **%d** passed; writes: **%d**; state "
        "changes: **%d**; Python tracebacks: **%d**." % (bad["cases"], bad["module_cases"], bad["role_cases"],
                                                         len(bad["passed"]), bad["writes"], bad["state_changes"],
                                                         bad["tracebacks"]),
        "",
        table(["kind", "cases"], rows),
        "",
        "Malformed replies and hostile headers (`Retry-After: nan`, `X-RateLimit-Remaining: 1e999`, JSON nested "
        "100,000 deep) fail the item with a message, and a server that trickles its headers a byte at a time fails "
        "it at the module's `timeout`; `telphin.pbx.extension_phones` still returns `results`, "
        "`summary`, `requests` and `quota`. A gzip reply that decodes to 64 MiB (about 64 KB on the wire) fails "
        "its request at 8 MiB decoded, without retries; tampered plans (edited after signing, another tenant's "
        "extension, a SIP password, a label with a line break, an unknown key) are refused before any write, "
        "naming the entry. Not a failure: a PUT the API applied while its reply was cut short is "
        "read back and reported `changed` (%s)." % (
            "%d case(s), passed" % len(bad["applied_despite_bad_reply"]) if bad.get("applied_despite_bad_reply")
            else "not passed"),
        "",
        "Hostile data: a link to another user's file planted where a plan or a backup is written is "
        "refused at the file's own path and ignored at the old temporary name, the other file untouched (%s); "
        "labels a tenant's staff typed as templates (`{{ lookup(\"pipe\", ...) }}`, `{%% ... %%}`, `{# ... #}`) "
        "come back as the exact strings, with no command run, also in `--check`, through backup -> restore "
        "(`-e @file`) and export -> adopted `host_vars` -> rollout (%s)." % (
            "%d case(s), passed" % len(bad["planted_links"]) if bad.get("planted_links") else "not passed",
            ", ".join(bad["round_trips"]) + ": passed" if bad.get("round_trips") else "not passed"),
    ])


def secrets_section(secrets: Dict[str, Any]) -> str:
    rows = [[k, v] for k, v in sorted(secrets["by_place"].items())]
    return "\n".join([
        "## Secrets",
        "",
        "Searched for **%d** secret values (%d app secrets and SIP passwords, %d tokens issued) in %d texts, "
        "%d kB: `-vvvv --diff` output with `ANSIBLE_CALLBACK_RESULT_FORMAT=json`, the `ANSIBLE_LOG_PATH` file, "
        "registered results, failing runs (a bad option next to a password; error replies that repeat the "
        "password, the token or the app secret; a token reply and a phone reply cut short just after the token "
        "and the SIP password; a tampered plan file carrying a SIP password; a gzip bomb whose decoded body starts "
        "with the token, the app secret and a SIP password), ansible-runner artifacts of the rollout at verbosity "
        "4, the YAML of `telphin.pbx.export_bindings` and of backups, plans written past a link planted at the old "
        "temporary name, a conference PIN set and read back, and the PBX's labels after labels that template the "
        "app secret went through export -> rollout and backup -> restore (`-e @file`). **Found: %d.**" % (
            secrets["secrets_searched"], secrets["secrets_searched"] - secrets["tokens_issued"],
            secrets["tokens_issued"], secrets["places_searched"], secrets["bytes_searched"] // 1024, secrets["hits"]),
        "",
        table(["searched", "texts"], rows),
        "",
        "Note: ansible-runner writes its whole environment to `artifacts/<ident>/command`; give credentials through "
        "the inventory (Vault) or an AWX credential, not through ansible-runner `envvars`.",
    ])


def tls_section(tls: Dict[str, Any]) -> str:
    rows = [[name.replace("_", " "), outcome] for name, outcome in sorted(tls["cases"].items())]
    return "\n".join([
        "## TLS",
        "",
        "The emulator over HTTPS with a self-signed certificate. Refused cases fail on the token request with a "
        "message naming `ca_path` and `validate_certs`, not retried; `validate_certs: false` warns. The "
        "`REQUESTS_CA_BUNDLE` cases check that an environment bundle does not override the module's settings.",
        "",
        table(["case", "outcome"], rows),
    ])


WAY_NAMES = {
    "awx-cancel": "AWX cancel: SIGKILL to the process group",
    "tree-kill": "SIGKILL to every descendant, then the main process",
    "ctrl-c": "Ctrl-C: SIGINT to the foreground process group",
    "kill-9": "SIGKILL to the main process alone",
    "sighup": "SIGHUP to the main process alone",
}


def killpoints_section(results: Path) -> Optional[str]:
    """The kill-point series (tests/reliability/killpoints.py): ``killpoints-full.json``, else ``-ci``, else None;
    then each ``killpoints-full-<core>.json`` (the same series on another ansible-core) as a subsection."""
    name = next((n for n in ("killpoints-full", "killpoints-ci") if (results / ("%s.json" % n)).exists()), None)
    if name is None:
        return None
    kills = load(results, name)
    lines = [
        "## Stopped mid-rollout",
        "",
        "A rollout with backups (`phone_bindings_backup: true`), %d tenants × %d phones, every number changing, "
        "stopped at a point counted in the emulator's request log (`before-writes`: at the first read of a phone; "
        "`early`: at 15 %% of the PUTs; `late`: at 85 %%), the ways a controller stops. AWX's cancel is ansible-runner's "
        "`Runner.handle_termination`: `os.killpg(os.getpgid(pid), SIGKILL)` on `ansible-playbook`, which pexpect "
        "started as the leader of its own session; from ansible-core 2.19 on the workers call `setsid()` and are not "
        "in that group, so for them it is the main process dying alone. Path `controller`: the engine in the worker "
        "(a local connection); `module`: a module process (the local connection under another name). After each: "
        "the phones changed must all be in a backup file that parses, holding the value they had; the backups "
        "restored (the role with each tenant's file as `phone_bindings`) must give back every original value "
        "exactly; a normal run must then converge; once `ansible-playbook` has ended (seen through a pidfd), at "
        "most the requests in flight (one per request thread: tenants × `parallel` %d) may reach the server, and "
        "no process of the run may be left %d s later (a `/proc` scan for the run's marker variable). Between the "
        "signal and the end the main process is still there (a SIGKILL's teardown; a SIGINT or SIGHUP handled: "
        "`ansible-playbook` ended at most %.1f s after the signal here), and its workers cannot tell yet."
        % (kills["tenants"], kills["per_tenant"], kills["parallel"], kills["linger"],
           max(p.get("main_exit_seconds", 0) for p in kills["points"])),
        "",
    ] + killpoints_table(kills, "" if name.endswith("full") else " Reduced (CI) size, not the published 4 × 100.")
    for extra in sorted(results.glob("killpoints-full-*.json")):
        other = load(results, extra.stem)
        lines += ["", "### The same on ansible-core %s" % other["ansible_core"], ""] + killpoints_table(other, "")
    return "\n".join(lines)


def killpoints_table(kills: Dict[str, Any], note: str) -> List[str]:
    """When and how one kill-point series was measured, its table and its violations."""
    rows = []
    for point in kills["points"]:
        ctrl_c = ""
        if point.get("ctrl_c_presses", 1) > 1 or point.get("ctrl_c_hung"):
            ctrl_c = " (Ctrl-C pressed %d times%s)" % (point["ctrl_c_presses"],
                                                       ", then SIGKILL: ansible-playbook hung" if point["ctrl_c_hung"]
                                                       else "")
        rows.append([point["path"], WAY_NAMES.get(point["way"], point["way"]) + ctrl_c, point["point"],
                     "%d / %d" % (point.get("puts_when_stopped", 0), kills["tenants"] * kills["per_tenant"]),
                     point.get("puts_after_signal", 0),
                     "**%d** (%d)" % (point.get("puts_after_exit", 0), point.get("in_flight_bound", 0)),
                     point.get("processes_left", "?"),
                     "%d / %d" % (point.get("changed", 0), point.get("changed_in_backup", 0)),
                     "yes" if point.get("restored_exactly") else "**no**",
                     "yes" if point.get("converge_rc") == 0 else "**no**"])
    return [
        "Measured %s, ansible-core %s, load average %.1f (2 shared cores), %d s. Violations: **%d**."
        % (kills.get("recorded_at", "?"), kills["ansible_core"], kills["load_average"][0], kills["seconds"],
           len(kills["violations"])) + note,
        "",
        table(["path", "stopped by", "at", "PUTs when stopped", "PUTs after the signal",
               "PUTs after the end (in flight at most)",
               "processes left", "phones changed / in a backup", "restored exactly", "then converges"], rows),
    ] + (["", "Violations:", ""] + ["- %s" % v for v in kills["violations"]] if kills["violations"] else [])


def killpoints_summary(results: Path) -> Optional[str]:
    """The summary table's line for the kill-point series, if it ran."""
    name = next((n for n in ("killpoints-full", "killpoints-ci") if (results / ("%s.json" % n)).exists()), None)
    if name is None:
        return None
    points = load(results, name)["points"]
    return ("| rollouts stopped mid-way: changed phones not in a backup / not restored / PUTs after the end beyond "
            "those in flight / processes left | %d points: **%d** / **%d** / **%d** / **%d** |" % (
                len(points), sum(p.get("changed", 0) - p.get("changed_in_backup", 0) for p in points),
                sum(1 for p in points if not p.get("restored_exactly")),
                sum(max(0, p.get("puts_after_exit", 0) - p.get("in_flight_bound", 0)) for p in points),
                sum(p.get("processes_left", 0) for p in points)))


def runtimes_section(times: Dict[str, float]) -> str:
    if not times:
        return ""
    rows = [[name, "%.0f s" % seconds] for name, seconds in sorted(times.items())]
    return "\n".join(["## Runtimes", "", table(["test file", "time"], rows)])


def render(results: Path) -> str:
    chaos_path = results / "chaos-full.json"
    chaos = load(results, "chaos-full" if chaos_path.exists() else "chaos-ci")
    sections = [
        "# Reliability and security evidence",
        "",
        "<!-- Generated by tests/reliability/report.py from tests/output/reliability/*.json; do not edit. -->",
        "",
        "Measured on %s (commit %s, ansible-core %s, Python %s) against the local API emulator "
        "(`docs/emulator.md`). Reproduce with `make reliability` (below).%s" % (
            chaos.get("recorded_at", "?"), git_revision(), ansible_version(), platform.python_version(),
            "" if chaos_path.exists() else " This page comes from the reduced (CI) size of the chaos round, %d "
            "tenants x %d bindings, not the full size: the full run was too slow on the shared machine it was "
            "generated on." % (chaos["tenants"], chaos["per_tenant"])),
        "",
        "| summary | |",
        "|---|---|",
        "| bindings rolled out under faults | %d (%d tenants) |" % (chaos["bindings"], chaos["tenants"]),
        "| faults injected / survived | %d / %d |" % survived(chaos),
        "| first run under faults: failed or not processed | %d of %d |" % (
            chaos["runs"]["chaos"]["items"].get("reported_failed", 0)
            + chaos["runs"]["chaos"]["items"].get("reported_skipped", 0), chaos["bindings"]),
        "| items lost | **%d** |" % chaos["items_lost"],
        level_summary(second_level(results)),
        "| bad inputs tried / writes | %d / %d |"
        % (load(results, "bad_input")["cases"], load(results, "bad_input")["writes"]),
        "| secrets found | **%d** |" % load(results, "secrets")["hits"],
        "| quota checks passed | %d |" % len(load(results, "quota")["passed"]),
        killpoints_summary(results),
        "",
        chaos_section(chaos),
        "",
        level_section(second_level(results)),
        "",
        series_section(results),
        "",
        bundles_section(load(results, "bundles") if (results / "bundles.json").exists() else None),
        "",
        quota_section(load(results, "quota")),
        "",
        bad_input_section(load(results, "bad_input")),
        "",
        secrets_section(load(results, "secrets")),
        "",
        tls_section(load(results, "tls")),
        "",
        killpoints_section(results),
        "",
        runtimes_section(junit_times(results)),
        "",
        FOUND,
        "",
        "## Reproduce",
        "",
        "```console",
        "make reliability      # full size: 5 tenants x 200 bindings, then this page",
        "```",
        "",
        "which runs `TELPHIN_RELIABILITY_FULL=1 pytest tests/integration/test_chaos.py "
        "tests/integration/test_bad_input.py tests/integration/test_secrets.py tests/integration/test_tls.py "
        "tests/integration/test_kill_points.py --junitxml=tests/output/reliability/junit.xml` and "
        "`python tests/reliability/report.py`. Without "
        "`TELPHIN_RELIABILITY_FULL`, CI runs the same tests at 5 tenants x 40 bindings. The chaos round alone, "
        "any size: `python -m tests.reliability.chaos --tenants 5 --per-tenant 200 --rate 0.10 --seed 1`. "
        "`make reliability SEEDS=1-10` adds the 20 % series (`python -m tests.reliability.chaos --rate 0.20 "
        "--revoke-every 1 --seeds 1-10 --label rate20`; the 10 % series: `--rate 0.10 --label rate10`). The kill "
        "points alone: `python -m tests.reliability.killpoints --tenants 4 --per-tenant 100 --label full` (CI: 2 "
        "tenants x 40 phones, every way at the early point on the controller path, the main process's deaths on "
        "both paths).",
        "",
    ]
    return "\n".join(s for s in sections if s is not None)


def level_summary(chaos: Optional[Dict[str, Any]]) -> Optional[str]:
    """The summary table's line for the second level, if it ran."""
    if not chaos:
        return None
    items = chaos["runs"]["chaos"]["items"]
    return "| at %.0f %% faults, tokens revoked %s: failed or not processed / lost | %d of %d / **%d** |" % (
        chaos["fault_rate"] * 100, every(chaos.get("token_kill_interval")),
        items.get("reported_failed", 0) + items.get("reported_skipped", 0), chaos["bindings"], chaos["items_lost"])


def second_level(results: Path) -> Optional[Dict[str, Any]]:
    """The chaos round at 20 %: ``chaos-full-20.json``, else ``chaos-ci-20.json``, else None."""
    for name in ("chaos-full-20", "chaos-ci-20"):
        if (results / ("%s.json" % name)).exists():
            return load(results, name)
    return None


def survived(chaos: Dict[str, Any]) -> "tuple[int, int]":
    """(faults injected, faults survived): a fault is not survived when it made an item (or a whole tenant's
    run) fail; items not processed after a run-stopping error are counted once, through that error."""
    run = chaos["runs"]["chaos"]
    injected = sum(run["faults"].values())
    failed = sum(v for k, v in run["items"].items()
                 if k.startswith("failure:") and k != "failure:not processed after the run stopped")
    failed += run["items"].get("tenant_failed_whole", 0)
    return injected, injected - failed


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    text = render(args.results)
    args.output.write_text(text)
    print("wrote %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
