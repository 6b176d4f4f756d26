"""The phone_bindings role as an operator meets it: a play of their own, and the output of a drift report over
many tenants (totals first, only what needs a look, whatever the display settings)."""

from __future__ import annotations

import re

from harness import api_calls, desired_number, play, tenant_world
from tests.reliability.lib import tenant_inventory

T, P = 30, 4
DRIFTED = (3, 12, 27)          # a phone changed out of band
REFUSED = 5                    # a binding names an extension the tenant lacks: refused before any write
BROKEN = 10                    # the API refuses one phone's GET: the tenant fails after the others were checked
UNQUOTED = 20                  # an unquoted extension name: refused before any request, so no quota figure
GUARDED = 8                    # 3 of 4 phones drifted: the default guard (20 %, at least 2 phones) refuses it


def world():
    data = tenant_world(tenants=T, phones=P, bound=P)
    for n in DRIFTED:
        data["clients"][n - 1]["extensions"][1]["phone"]["external_number"] = "+7999000%04d" % n
    for i in range(3):
        data["clients"][GUARDED - 1]["extensions"][i]["phone"]["external_number"] = "+7999100%04d" % i
    return data


def inventory(url, **host_vars):
    inv = tenant_inventory(url, {n: [{"extension": str(100 + i), "external_number": desired_number(n, i)}
                                     for i in range(P)] for n in range(1, T + 1)}, **host_vars)
    inv["all"]["children"]["telphin_tenants"]["hosts"]["tenant%d" % REFUSED]["phone_bindings"].append(
        {"extension": "199", "external_number": "+79161234567"})
    inv["all"]["children"]["telphin_tenants"]["hosts"]["tenant%d" % UNQUOTED]["phone_bindings"][0]["extension"] = 100
    inv["all"]["children"]["telphin_tenants"]["hosts"]["tenant%d" % GUARDED]["phone_bindings_max_changes"] = "20%"
    return inv


def summary_lines(stdout: str) -> list:
    """The summary as printed (through the display, not as a task result): its totals line, then the lines
    indented under it."""
    found = re.search(r"^(\d+ tenant\(s\).*)\n((?:  .*\n)*)", stdout, re.M)
    assert found, stdout
    return [found.group(1)] + [line[2:] for line in found.group(2).splitlines()]


def section(stdout: str, task: str) -> str:
    """The output of one task: from its banner to the next banner or the recap."""
    after_banner = stdout.split(" : " + task + "]", 1)[1].split("\n", 1)[1]
    return re.split(r"\n(?:TASK|PLAY RECAP) ", after_banner, maxsplit=1)[0]


def test_a_drift_report_over_many_tenants_leads_with_totals_and_lists_only_what_needs_a_look(
        emulator_factory, playbook):
    emu = emulator_factory(world())
    broken_id = (BROKEN - 1) * (P + 1) + 1
    emu.set_faults([{"match": {"method": "GET", "path": "/extension/%d/phone/" % broken_id}, "action": "status",
                     "status": 400}])
    # AWX users often hide ok results; the summary and the drift must show all the same
    run = playbook("telphin.pbx.rollout_bindings", inventory(emu.url), "--check", "--diff",
                   env={"ANSIBLE_DISPLAY_OK_HOSTS": "false"})
    assert run.rc == 2, run.output
    assert api_calls(emu.requests(), "PUT") == []
    lines = summary_lines(run.stdout)
    # tenants in natural order; the guard's refusal repeats its first changes (the full error is above)
    assert lines == [
        "30 tenant(s) in check mode: 3 to change (3 phone(s)), 23 in sync, 4 failed; %d requests"
        % ((T - 2) * 7 + 3),          # a token, 2 list pages, 4 phones; the refused tenant stops after the list
        "tenant3: 4 phones looked at, 1 to change, 3 unchanged, 0 failed, 0 not processed; 7 requests, quota left 99994",
        "tenant5: failed before any change (its error is above); 3 requests, quota left 99998",
        "tenant8: refused by the blast-radius guard, nothing was written: 3 phone(s) would change: "
        '080*100: external_number "+79991000000" -> "+79000080000"; '
        '080*101: external_number "+79991000001" -> "+79000080001"; '
        '080*102: external_number "+79991000002" -> "+79000080002"; 7 requests, quota left 99994',
        "tenant10: 4 phones looked at, 0 to change, 3 unchanged, 1 failed, 0 not processed; 7 requests, quota left 99995",
        "tenant12: 4 phones looked at, 1 to change, 3 unchanged, 0 failed, 0 not processed; 7 requests, quota left 99994",
        "tenant20: failed before any change (its error is above); 0 requests, quota left unknown",
        "tenant27: 4 phones looked at, 1 to change, 3 unchanged, 0 failed, 0 not processed; 7 requests, quota left 99994",
        "23 tenant(s) in sync not listed (-e phone_bindings_summary_all=true lists every tenant)"]
    summary = "\n".join(lines)
    # the summary is no change: the recap counts only the tenants' own (tenant1 is in sync and runs the summary and
    # the index of the batch's numbers)
    assert re.search(r"^tenant1 +: ok=3 +changed=0 +unreachable=0 +failed=0", run.stdout, re.M), run.stdout
    assert len(re.findall(r"^tenant\d+ +: ok=\d+ +changed=1 ", run.stdout, re.M)) == 3
    # ansible-core 2.19+ quotes the task file around a failing task ("Origin"): none of the role's own comments
    assert not re.search(r"^\d+ +#", run.stdout, re.M)
    # each failure is told where it happened, not again in the summary
    assert "extension 199 does not exist" in run.stdout and "extension 199" not in summary
    assert "HTTP 400" in run.stdout and "HTTP 400" not in summary
    # each drift names its tenant in the diff headers; no line for the plans task of an ordinary run
    for n in DRIFTED:
        assert "--- before: tenant%d: extension 0%d0*101 (id %d) phone" % (n, n, (n - 1) * (P + 1) + 2) in run.stdout
    assert "skipping" not in run.stdout and "ok: [" not in run.stdout

    emu.clear_faults()
    everyone = playbook("telphin.pbx.rollout_bindings", inventory(emu.url, phone_bindings_summary_all=True),
                        "--check")
    lines = [line.split(":")[0] for line in summary_lines(everyone.stdout)[1:]]
    assert lines == ["tenant%d" % n for n in range(1, T + 1)]


def test_in_sync_the_summary_is_ok_and_only_counts(emulator_factory, playbook):
    emu = emulator_factory(tenant_world(tenants=3, phones=P, bound=P))
    inv = tenant_inventory(emu.url, {n: [{"extension": str(100 + i), "external_number": desired_number(n, i)}
                                         for i in range(P)] for n in (1, 2, 3)})
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc == 0, run.output
    summary = section(run.stdout, "Summarise the tenants")
    assert summary.lstrip().startswith("3 tenant(s)") and "ok: [tenant1]" in summary
    assert summary_lines(run.stdout) == [
        "3 tenant(s): 0 changed (0 phone(s)), 3 in sync, 0 failed; 21 requests",
        "3 tenant(s) in sync not listed (-e phone_bindings_summary_all=true lists every tenant)"]
    assert "changed=0" in run.stdout and "changed=1" not in run.stdout


PLAY_WITHOUT_CONNECTION = play("- role: telphin.pbx.phone_bindings", "My own play, without connection local",
                               hosts="telphin_tenants", connection=None, interpreter=False, section="roles")


def test_the_role_runs_on_the_controller_in_a_play_that_does_not_say_connection_local(emulator_factory, playbook):
    # Such a play tried SSH to every tenant host: UNREACHABLE, and no summary.
    emu = emulator_factory(tenant_world(tenants=2, phones=P))
    inv = tenant_inventory(emu.url, {n: [{"extension": "100", "external_number": desired_number(n, 0)}]
                                     for n in (1, 2)})
    run = playbook(PLAY_WITHOUT_CONNECTION, inv, env={"ANSIBLE_SSH_EXECUTABLE": "/bin/false"})
    assert run.rc == 0, run.output
    assert "UNREACHABLE" not in run.output
    assert len(api_calls(emu.requests(), "PUT")) == 2
    assert "tenant1: 1 phones looked at, 1 changed" in run.stdout


def test_every_warning_names_its_tenant(emulator_factory, playbook):
    # many tenants accept a number that is not valid: a warning each run, which said nothing of the tenant
    emu = emulator_factory(tenant_world(tenants=3, phones=P))
    inv = tenant_inventory(emu.url, {n: [{"extension": "100", "external_number": "+7123456789%d" % n,
                                          "number_check": "possible"}] for n in (1, 2, 3)})
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc == 0, run.output
    warnings = re.findall(r"^\[WARNING\]: (.*)$", run.output, re.M)
    assert sorted(w.split(":", 1)[0] for w in warnings) == ["tenant1", "tenant2", "tenant3"], run.output
    # (ansible-core 2.16 wraps a warning's text at the terminal's width)
    assert all(re.match(r"tenant\d: phone_bindings\[0\]", w) for w in warnings)
