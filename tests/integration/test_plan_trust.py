"""Issue 19, item 2 through real ``ansible-playbook`` runs against the emulator: a plan is data, not authority.

The plan job (a check run of ``telphin.pbx.rollout_bindings`` with ``phone_bindings_plan_dir``) makes tenant 1's
plan; the apply job gets it as the extra variable ``telphin_plan_1001``, as an AWX workflow passes the plan job's
artifacts, and the role's ``apply_plan`` must refuse every plan below before any write. Tenant 1 is reached through
a dealer's app, which may also write to tenant 2: the attack of the issue."""

from __future__ import annotations

import copy
import datetime
import json
from pathlib import Path

import pytest

from harness import api_calls, tenant_world
from test_safety import runner
from tests.reliability.lib import phones, sign_plan, tenant_vars, tenants_inventory

DEALER_SECRET = "dealer-secret-Zr81"


def dealer_world():
    """Tenants 1 (ids 1-4 phones, 5 queue) and 2 (ids 6-9, 10 queue) of dealer 1, whose app reaches both."""
    world = tenant_world(tenants=2, phones=4)
    world["dealers"] = [{"id": 1}]
    for client in world["clients"]:
        client["dealer_id"] = 1
    world["apps"].append({"app_id": "dealer-app", "app_secret": DEALER_SECRET, "type": "trusted", "access_level": "all",
                          "user": {"id": 700, "login": "ops@dealer", "access": "full", "client_id": None,
                                   "dealer_id": 1}})
    return world


def inventory(url, plan_dir: Path, bindings=None, **host_vars):
    bindings = bindings or [{"extension": "100", "label": "Reception"}]
    host = tenant_vars(1001, url, bindings, "dealer-app", DEALER_SECRET, phone_bindings_plan_dir=str(plan_dir),
                       **host_vars)
    return tenants_inventory({"tenant1": host})


@pytest.fixture
def planned(emulator_factory, playbook, tmp_path):
    """The emulator, tenant 1's plan as the plan job made it, and a function running the apply job with a plan."""
    emu = emulator_factory(dealer_world())
    plan_dir = tmp_path / "plans"
    plan_run = playbook("telphin.pbx.rollout_bindings", inventory(emu.url, plan_dir), "--check")
    assert plan_run.rc == 0, plan_run.output
    plan = json.loads((plan_dir / "tenant1.plan.json").read_text())
    assert [c["extension_id"] for c in plan["changes"]] == [1]

    def apply(telphin_plans, max_changes="100%"):
        emu.requests(clear=True)
        before = phones(emu.state())
        inv = inventory(emu.url, plan_dir, phone_bindings_apply_plan=True, phone_bindings_max_changes=max_changes)
        # tenant 1's artifact (one key per tenant, issue 31); anything else as 1.1.0's telphin_plans (still read)
        given = {"telphin_plan_1001": telphin_plans["tenant1"]} if isinstance(telphin_plans, dict) and \
            list(telphin_plans) == ["tenant1"] else {"telphin_plans": telphin_plans}
        run = playbook("telphin.pbx.rollout_bindings", inv, extra_vars=given)
        return run, api_calls(emu.requests(), "PUT"), before == phones(emu.state())

    return plan, apply


def refused(apply, telphin_plans, max_changes="100%"):
    """The apply job's output (line breaks of its messages unescaped) after it failed without a write."""
    run, puts, unchanged = apply(telphin_plans, max_changes)
    assert run.rc != 0 and puts == [] and unchanged, run.output
    return run.stdout.replace("\\n", "\n"), run.output


def resigned(plan, *changes, **members):
    """The plan with ``changes`` added and ``members`` set, signed with the app's secret: what only someone holding
    the secret could make; the checks of live state must refuse it on their own."""
    out = copy.deepcopy(plan)
    out["changes"] += list(changes)
    out.update(members)
    return sign_plan(out, DEALER_SECRET)


def change(ext_id, name, before, after):
    return {"extension": name.rsplit("*", 1)[-1], "extension_full_name": name, "extension_id": ext_id,
            "before": before, "after": after}


def test_the_approved_plan_applies(planned):
    plan, apply = planned
    assert plan["signature"] == sign_plan(plan, DEALER_SECRET)["signature"]
    run, puts, unchanged = apply({"tenant1": plan})
    assert run.rc == 0, run.output
    assert [(p["path"], p["body"]) for p in puts] == [("/api/ver1.0/extension/1/phone/", {"label": "Reception"})]


def test_a_plan_edited_after_approval_is_refused_before_any_request(planned):
    plan, apply = planned
    edited = copy.deepcopy(plan)
    edited["changes"].append(change(6, "020*100", {"external_number": None}, {"external_number": "+79161234567"}))
    text, _output = refused(apply, {"tenant1": edited})
    assert "the plan's signature does not match its content" in text


def test_a_plan_writing_to_another_tenants_extension_is_refused(planned):
    plan, apply = planned
    hostile = resigned(plan, change(6, "020*100", {"external_number": None}, {"external_number": "+79161234567"}),
                       change(5, "010*500", {"label": None}, {"label": "Queue"}))
    text, _output = refused(apply, {"tenant1": hostile})
    assert "changes[1] (extension_id 6): extension_id 6 is not an extension of this client" in text
    assert "changes[2] (extension_id 5): extension 010*500 is a queue extension, not a phone" in text


def test_a_plan_with_crlf_an_unknown_key_or_a_sip_password_is_refused(planned):
    plan, apply = planned
    crlf = change(2, "010*101", {"label": "Desk 1"}, {"label": "Desk\r\nX-Injected: 1"})
    hostile = resigned(plan, crlf, change(3, "010*102", {"label": "Desk 2", "evil": None}, {"label": "x", "evil": 1}),
                       change(4, "010*103", {"password": None}, {"password": "Sip-Pass-77x"}))
    text, output = refused(apply, {"tenant1": hostile})
    assert "apply_plan (client 1001 at 127.0.0.1): 2 problem(s) in the plan, nothing was changed" in text
    assert "changes[2] (extension_id 3): unknown key(s) 'evil'" in text
    assert "changes[3] (extension_id 4): password: a secret is never part of a plan" in text
    assert "Sip-Pass-77x" not in output
    text, _output = refused(apply, {"tenant1": resigned(plan, crlf)})
    assert "apply_plan (client 1001 at 127.0.0.1): 1 problem(s) in the plan, nothing was changed" in text
    assert "changes[1] (extension_id 2): label contains control characters" in text


def test_a_plan_claiming_more_phones_does_not_pass_the_guard(planned):
    plan, apply = planned
    hostile = resigned(plan, *[change(2 + i, "010*10%d" % (i + 1), {"label": "Desk %d" % (i + 1)}, {"label": "x"})
                               for i in range(2)], phones=1000)      # 3 of 4 phones (75 %) under a 20 % guard
    text, _output = refused(apply, {"tenant1": hostile}, max_changes="20%")
    # the live count decides: 20 % of 4 phones allows 2 (the floor of a share), the plan's 1000 would allow 200
    assert "would change 3 phone(s), above phone_bindings_max_changes 20% of 4 phone extension(s) = 2" in text


def test_a_tenants_value_in_a_plan_stays_data_from_the_plan_job_to_the_apply_job(emulator_factory, tmp_path):
    """The plan's "before" holds what the tenant's staff stored. Through the workflow's artifacts (ansible-runner,
    as AWX runs the jobs) it reaches the apply job as an extra variable, and is never templated there."""
    marker = tmp_path / "templated"
    world = dealer_world()
    hostile = "{{ lookup('pipe', 'touch %s') }}{%% raw %%}x{%% endraw %%}{# c #}" % marker
    world["clients"][0]["extensions"][0]["phone"]["label"] = hostile
    emu = emulator_factory(world)
    inv = inventory(emu.url, tmp_path / "plan-job" / "plans")
    plan_job = runner(tmp_path / "plan-job", inv, {}, "--check")
    assert (plan_job.status, plan_job.rc) == ("successful", 0), plan_job.stdout.read()
    artifacts = [e for e in plan_job.events if e.get("event") == "playbook_on_stats"][-1]["event_data"]["artifact_data"]
    apply_job = runner(tmp_path / "apply-job", inventory(emu.url, tmp_path / "none", phone_bindings_apply_plan=True),
                       artifacts)
    assert not marker.exists()                                  # the lookup never ran
    assert (apply_job.status, apply_job.rc) == ("successful", 0), apply_job.stdout.read()
    text = artifacts["telphin_plan_1001"]
    assert "{{" not in text and "{%" not in text and "{#" not in text
    assert json.loads(text)["changes"][0]["before"] == {"label": hostile}
    assert phones(emu.state())[1]["label"] == "Reception"


# -- issue 30, item 6: an approved plan expires, and belongs to the bindings it was made from ---------------------
def made(plan, **ago):
    """The plan as if its check run had made it that long ago: what the plan job left in a workflow's artifacts."""
    when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(**ago)
    return resigned(plan, created=when.strftime("%Y-%m-%dT%H:%M:%SZ"))


def label_of(emu, ext_id=1):
    return phones(emu.state())[ext_id]["label"]


def test_a_day_old_plan_replayed_after_a_later_change_is_refused(emulator_factory, playbook, tmp_path):
    """Monday's approved plan (Desk 0 -> Reception) is applied; Tuesday a commit sets the label back and a normal run
    applies it; the plan, replayed from Monday's artifacts, still finds its "before" value and would undo Tuesday's
    change. It was made from other bindings than the tenant's now: refused before any request."""
    emu = emulator_factory(dealer_world())
    plan_dir = tmp_path / "plans"
    assert playbook("telphin.pbx.rollout_bindings", inventory(emu.url, plan_dir), "--check").rc == 0
    plan = json.loads((plan_dir / "tenant1.plan.json").read_text())
    monday = inventory(emu.url, plan_dir, phone_bindings_apply_plan=True)
    run = playbook("telphin.pbx.rollout_bindings", monday, extra_vars={"telphin_plans": {"tenant1": plan}})
    assert run.rc == 0 and label_of(emu) == "Reception", run.output
    later = [{"extension": "100", "label": "Desk 0"}]
    run = playbook("telphin.pbx.rollout_bindings", inventory(emu.url, plan_dir, later))
    assert run.rc == 0 and label_of(emu) == "Desk 0", run.output

    emu.requests(clear=True)
    replay = inventory(emu.url, plan_dir, later, phone_bindings_apply_plan=True)
    run = playbook("telphin.pbx.rollout_bindings", replay, extra_vars={"telphin_plans": {"tenant1": made(plan, days=1)}})
    text = run.stdout.replace("\\n", "\n")
    assert run.rc != 0 and emu.requests() == [] and label_of(emu) == "Desk 0", run.output
    assert "apply_plan (client 1001 at 127.0.0.1): the bindings changed since the plan was made" in text
    assert "-e phone_bindings_plan_allow_changed_bindings=true" in text

    # said explicitly for one run, the approved plan applies as it is (and says so)
    run = playbook("telphin.pbx.rollout_bindings", replay, extra_vars={
        "telphin_plans": {"tenant1": made(plan, days=1)}, "phone_bindings_plan_allow_changed_bindings": True})
    assert run.rc == 0 and label_of(emu) == "Reception", run.output
    # a warning: ansible-core wraps it at the terminal's width
    assert ("the plan is applied as approved, as phone_bindings_plan_allow_changed_bindings is true"
            in " ".join(run.output.split()))


def test_a_plan_older_than_its_max_age_is_refused_before_any_request_with_the_same_bindings(planned):
    plan, apply = planned
    run, puts, unchanged = apply({"tenant1": made(plan, days=3, hours=1)})
    text = run.stdout.replace("\\n", "\n")
    assert run.rc != 0 and puts == [] and unchanged, run.output
    assert "apply_plan (client 1001 at 127.0.0.1): the plan was made " in text
    assert "73.0 h ago, longer ago than phone_bindings_plan_max_age 72h allows; nothing was changed" in text


def test_a_plan_from_the_future_is_refused(planned):
    plan, apply = planned
    run, puts, unchanged = apply({"tenant1": made(plan, hours=-2)})
    assert run.rc != 0 and puts == [] and unchanged, run.output
    assert "a plan from the future is refused" in run.stdout
