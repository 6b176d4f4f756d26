"""Write ``docs/reliability.md`` from the results the reliability tests saved under ``tests/output/reliability/``.

    python tests/reliability/report.py [--results DIR] [--output docs/reliability.md]

Reads ``chaos-full.json`` (else ``chaos-ci.json``), ``quota.json``, ``bad_input.json``, ``secrets.json``,
``tls.json`` and, when present, ``junit.xml`` (pytest's ``--junitxml``) for the test runtimes. Every figure in
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
    "status_500": "HTTP 500 (not retried by design: the item fails, a re-run converges)",
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
- A SIP `password` inside `bindings` showed in the module invocation at `-vvv` when Ansible refused another
  option of the same task; a digits-only password (a number in YAML) was not registered as a secret and was sent
  as a JSON number; a password of the wrong type reached the API.
- A label with a no-break space (or any space but U+0020) was refused as "control characters".
- `extension_phone_info` requested a token and the extension list before refusing a bad `parallel`.
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
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
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
        "**%.0f %%** of all requests (seed %s), and a background thread revoked or expired every live token every "
        "few seconds." % (chaos["tenants"], chaos["per_tenant"], chaos["bindings"], chaos["module_timeout"],
                          chaos["fault_rate"] * 100, chaos["seed"]),
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
            ["of the failed: applied anyway (reply lost after the PUT) — reported failed, honestly",
             items.get("failed_but_applied", 0)],
            ["tenants whose module failed as a whole (all their items reported failed)",
             items.get("tenant_failed_whole", 0)],
            ["**reported done but not in the API's state**", "**%d**" % chaos["reported_done_not_applied"]],
            ["**lost (neither applied nor reported)**", "**%d**" % chaos["items_lost"]],
        ]),
        "",
        "Faults survived (retried, re-authenticated or harmless): **%d of %d**; the other %d each failed one item, "
        "by design and reported: %s." % (
            injected - item_failures, injected, item_failures,
            ", ".join("%s × %d" % (k, v) for k, v in sorted(failed_by.items())
                      if k != "not processed after the run stopped") or "none"),
        "" if not failed_by.get("not processed after the run stopped") else
        "A \"401 twice in a row\" (the token fetched after a 401 was invalidated too before the repeat got "
        "through, by the background thread or an injected fault) stops the tenant's run on purpose: with "
        "credentials that the token endpoint accepts but the API refuses, every further item would cost two more "
        "requests. Here tokens are invalidated about once per hundred requests and every few seconds, far more often "
        "than in real life. The %d items not processed were listed in the failure message and applied by the next "
        "run." % failed_by["not processed after the run stopped"],
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
    ])


def secrets_section(secrets: Dict[str, Any]) -> str:
    rows = [[k, v] for k, v in sorted(secrets["by_place"].items())]
    return "\n".join([
        "## Secrets",
        "",
        "Searched for **%d** secret values (%d app secrets and SIP passwords, %d tokens issued) in %d texts, "
        "%d kB: `-vvvv --diff` output with `ANSIBLE_CALLBACK_RESULT_FORMAT=json`, the `ANSIBLE_LOG_PATH` file, "
        "registered results, failing runs (a bad option next to a password; error replies that repeat the "
        "password, the token or the app secret), ansible-runner artifacts of the rollout at verbosity 4, and the "
        "YAML of `telphin.pbx.export_bindings`. **Found: %d.**" % (
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
        "(`docs/emulator.md`). Reproduce with `make reliability` (below)." % (
            chaos.get("recorded_at", "?"), git_revision(), ansible_version(), platform.python_version()),
        "",
        "| summary | |",
        "|---|---|",
        "| bindings rolled out under faults | %d (%d tenants) |" % (chaos["bindings"], chaos["tenants"]),
        "| faults injected / survived | %d / %d |" % survived(chaos),
        "| items lost | **%d** |" % chaos["items_lost"],
        "| bad inputs tried / writes | %d / %d |"
        % (load(results, "bad_input")["cases"], load(results, "bad_input")["writes"]),
        "| secrets found | **%d** |" % load(results, "secrets")["hits"],
        "| quota checks passed | %d |" % len(load(results, "quota")["passed"]),
        "",
        chaos_section(chaos),
        "",
        quota_section(load(results, "quota")),
        "",
        bad_input_section(load(results, "bad_input")),
        "",
        secrets_section(load(results, "secrets")),
        "",
        tls_section(load(results, "tls")),
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
        "--junitxml=tests/output/reliability/junit.xml` and `python tests/reliability/report.py`. Without "
        "`TELPHIN_RELIABILITY_FULL`, CI runs the same tests at 5 tenants x 40 bindings. The chaos round alone, "
        "any size: `python -m tests.reliability.chaos --tenants 5 --per-tenant 200 --rate 0.10 --seed 1`.",
        "",
    ]
    return "\n".join(s for s in sections if s is not None)


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
