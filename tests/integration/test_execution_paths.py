"""Both execution paths of the modules give the same results.

On a local connection the action plugins run the engine in the controller's worker; on any other
connection they send the module (an AnsiballZ payload, a new interpreter). ``remote_stand_in``
(tests/integration/connection_plugins) is the local connection under another name, so the module path
runs on this machine too. The same play runs through each path against a fresh emulator, and every
registered result, the requests the API received and its final state must be the same; ``-vvv``
shows which path ran (a module payload is put and executed only on the module path).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from harness import Run, api_calls, desired_number, play, tenant_world
from tests.emulator import Emulator
from tests.reliability.lib import TENANT_SECRET, phones, tenant_inventory

CONNECTION_PLUGINS = str(Path(__file__).parent / "connection_plugins")
ENV = {"ANSIBLE_CONNECTION_PLUGINS": CONNECTION_PLUGINS}
PATHS = {"controller": "local", "module": "remote_stand_in"}

REGISTERED = ["check", "apply", "again", "single", "info_one", "info_all", "extensions", "engine_refused",
              "spec_refused", "unsupported", "half_pair", "by_alias", "insecure", "probe", "from_environment"]

ENV_PLAY = "Credentials from the task environment (TELPHIN_APP_SECRET)"
TASKS = """\
    - name: Drift report
      telphin.pbx.extension_phones:
        bindings: &bindings
          - extension: "100"
            external_number: "{n0}"
          - extension: "101"
            external_number: "+79000010001"
          - extension: "010*102"
            label: Reception
            password: Sip-Paths-1
      check_mode: true
      register: check
    - name: Apply
      telphin.pbx.extension_phones:
        bindings: *bindings
        update_password: never
      register: apply
    - name: Apply again (nothing to do)
      telphin.pbx.extension_phones:
        bindings: *bindings
        update_password: never
        report_unchanged: true
      register: again
    - name: One phone
      telphin.pbx.extension_phone:
        extension_name: "103"
        external_number: "+7 900 001-00-33"
        password: Sip-Paths-2
      register: single
    - name: One phone read back
      telphin.pbx.extension_phone_info:
        extension_name: "103"
      register: info_one
    - name: Every phone read back
      telphin.pbx.extension_phone_info:
        parallel: 2
      register: info_all
    - name: The phone extensions
      telphin.pbx.extension_info:
        type: phone
      register: extensions
    - name: The engine refuses an item
      telphin.pbx.extension_phones:
        bindings:
          - extension: "100"
            lable: typo
            password: Sip-Paths-3
      register: engine_refused
      ignore_errors: true
    - name: The argument spec refuses a value
      telphin.pbx.extension_phones:
        parallel: many
        bindings: [{{extension: "100", password: Sip-Paths-4}}]
      register: spec_refused
      ignore_errors: true
    - name: An unknown option
      telphin.pbx.extension_info:
        kind: phone
      register: unsupported
      ignore_errors: true
    - name: An app ID without its secret (required together), next to an access token
      telphin.pbx.extension_info:
        app_secret: "{{{{ omit }}}}"
        access_token: tok-Paths-5
      register: half_pair
      ignore_errors: true
    - name: The alias extension of extension_name
      telphin.pbx.extension_phone_info:
        extension: "010*103"
      register: by_alias
    - name: A warning
      telphin.pbx.extension_info:
        validate_certs: false
        name: "100"
      register: insecure
    - name: What this provider does (api_info, in check mode too)
      telphin.pbx.api_info:
      check_mode: true
      register: probe
"""
ENV_TASKS = """\
    - name: Read with the secret from the environment
      telphin.pbx.extension_info:
        extension_id: 1
      environment:
        TELPHIN_APP_SECRET: %s
      register: from_environment
    - name: Save
      ansible.builtin.copy:
        content: "{{ from_environment | to_json }}"
        dest: "{{ results_dir }}/from_environment.json"
        mode: "0600"
"""


def paths_playbook(url: str, secret: str) -> str:
    """Every module through one connection (their results saved), then one with the secret in the environment."""
    defaults = {"api_url": url, "app_id": "tenant1-app"}
    return play(TASKS.format(n0=desired_number(1, 7)) + save_tasks(REGISTERED), "Every module, through one connection",
                hosts="tenant1", connection=None, module_defaults=dict(defaults, app_secret=secret, timeout=10,
                                                                       quota_reserve=5)) + "\n" + \
        play(ENV_TASKS % secret, ENV_PLAY, hosts="tenant1", connection=None, module_defaults=defaults)


def save_tasks(names: List[str]) -> str:
    lines = []
    for name in names:
        if name == "from_environment":
            continue
        lines += ["    - name: Save %s" % name,
                  "      ansible.builtin.copy:",
                  "        content: \"{{ %s | to_json }}\"" % name,
                  "        dest: \"{{ results_dir }}/%s.json\"" % name,
                  "        mode: \"0600\""]
    return "\n".join(lines)


def normalised(result: Any) -> Any:
    """A registered result without what legitimately differs between two runs: the quota window's countdown,
    the order of the extensions a parallel read returns, and ``invocation`` (which ansible-core versions keep
    or strip differently per path; its masking is checked below)."""
    if isinstance(result, dict):
        out = {k: normalised(v) for k, v in result.items() if k not in ("reset", "invocation", "clock", "line")}
        if isinstance(out.get("summary"), list):    # api_info: the clock and the quota window's countdown
            out["summary"] = [s for s in out["summary"] if not s.startswith(("clock:", "quota:"))]
        if isinstance(out.get("phones"), list):
            out["phones"] = sorted(out["phones"], key=lambda p: p["extension_id"])
        return out
    if isinstance(result, list):
        return [normalised(v) for v in result]
    return result


def tasks_with_a_payload(output: str) -> List[str]:
    """Names of the tasks whose ``-vvv`` output shows an AnsiballZ payload being executed."""
    found = []
    for section in output.split("TASK [")[1:]:
        if re.search(r"EXEC .*AnsiballZ_(extension_\w+|api_info)\.py", section):
            found.append(section.split("]", 1)[0])
    return found


def run_path(playbook, path: str) -> Tuple[Dict[str, Any], List[Tuple[str, str]], Dict[int, Any], Run]:
    with Emulator(tenant_world(tenants=1, phones=4, bound=2)) as emu:
        book = paths_playbook(emu.url, TENANT_SECRET % 1)
        inventory = {"all": {"hosts": {"tenant1": {"ansible_connection": PATHS[path]}}}}
        run = playbook(book, inventory, "-vvv", "--diff", env=ENV)
        assert run.rc == 0, run.output[-4000:]
        requests = sorted((r["method"], r["path"]) for r in emu.requests())
        state = phones(emu.state())
        results = json.loads(json.dumps(run.results).replace(emu.url, "<api_url>"))  # each path has its emulator
    assert sorted(results) == sorted(REGISTERED)
    return results, requests, state, run


def test_both_paths_give_the_same_results_requests_and_state(playbook):
    controller, ctl_requests, ctl_state, ctl_run = run_path(playbook, "controller")
    module, mod_requests, mod_state, mod_run = run_path(playbook, "module")
    ctl_output, mod_output = ctl_run.output, mod_run.output

    # which path ran: a payload for every module task on the module path, none on the controller path
    assert tasks_with_a_payload(ctl_output) == []
    assert len(tasks_with_a_payload(mod_output)) == len(REGISTERED)

    for name in REGISTERED:
        assert normalised(controller[name]) == normalised(module[name]), name
    assert ctl_requests == mod_requests and ctl_state == mod_state

    # and the results are the right ones (the same on both paths, as just checked)
    r = controller
    assert r["check"]["changed"] is True and r["check"]["summary"]["changed"] == 2
    assert [d["after"] for d in r["check"]["diff"]][0] == {"external_number": desired_number(1, 7)}
    assert r["apply"]["summary"] == {"total": 3, "changed": 2, "unchanged": 1, "failed": 0, "skipped": 0}
    assert r["apply"]["requests"] == {"token": 1, "GET": 5, "PUT": 2, "total": 8, "retried": 0}   # list: 2 pages
    assert r["apply"]["quota"]["remaining"] is not None
    assert r["again"]["changed"] is False and len(r["again"]["results"]) == 3
    assert r["single"]["changed"] is True and r["single"]["phone"]["external_number"] == "+79000010033"
    assert r["info_one"]["phone"]["external_number"] == "+79000010033"
    assert len(r["info_all"]["phones"]) == 4 and [e["short_name"] for e in r["extensions"]["extensions"]] == \
        ["100", "101", "102", "103"]
    assert r["engine_refused"]["failed"] and "unknown key(s) lable" in r["engine_refused"]["msg"]
    assert r["engine_refused"]["requests"]["total"] == 0
    assert r["spec_refused"]["failed"] and "'parallel' is of type" in r["spec_refused"]["msg"]
    assert r["unsupported"]["msg"].startswith("Unsupported parameters for (telphin.pbx.extension_info) module: kind")
    assert r["half_pair"]["failed"] and r["half_pair"]["msg"] == "parameters are required together: app_id, app_secret"
    assert "requests" not in r["half_pair"]
    assert r["by_alias"]["extension_name"] == "010*103" and r["by_alias"]["phone"] == r["info_one"]["phone"]
    assert any("validate_certs is false" in w for w in r["insecure"]["warnings"])
    assert controller["insecure"]["warnings"][0].startswith("tenant1: validate_certs is false")
    assert r["from_environment"]["extensions"][0]["id"] == 1
    probe = r["probe"]["api_info"]         # run after the writes above: read only, the documented 6 requests
    assert r["probe"]["changed"] is False and probe["requests"] == r["probe"]["requests"]["total"] == 6
    assert probe["tenant"]["by_type"] == {"phone": 4, "queue": 1} and probe["findings"] == ["unmanaged_phone_keys"]
    for side in (controller, module):
        assert re.match(r"^client 1001: app_id/app_secret, token 3600 s \| quota \d+/100000 left \| per_page 500 "
                        r"\(cap not provable\) \| bundles listed \| phone keys \+1 -0 \| clock [+-][01] s \| "
                        r"6 requests, no write \| findings: unmanaged_phone_keys$", side["probe"]["line"])
    # both paths return ``invocation`` or neither (ansible-core 2.21: only with INJECT_INVOCATION on)
    assert ("invocation" in controller["apply"]) is ("invocation" in module["apply"])
    for side in (controller, module):   # where ansible-core keeps ``invocation``, its secrets are masked
        if "invocation" in side["apply"]:
            assert side["apply"]["invocation"]["module_args"]["quota_reserve"] == 5
            assert side["apply"]["invocation"]["module_args"]["app_secret"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    registered = json.dumps([controller, module])
    assert ctl_state[3]["label"] == "Reception" and ctl_state[3].get("password") is None  # update_password: never
    assert ctl_state[4]["password"] == "Sip-Paths-2"

    # the diff and the warning are shown by both, and no secret: stdout up to the play that puts the app secret in
    # a task's environment (on the module path Ansible itself shows it in the command at -vvv), and stderr (where
    # ansible-core 2.16 writes warnings)
    assert TENANT_SECRET % 1 not in ctl_output
    for run in (ctl_run, mod_run):
        output = run.stdout.split(ENV_PLAY)[0] + run.stderr
        assert re.search(r'^\+\s*"external_number": "%s"' % re.escape(desired_number(1, 7)), output, re.M)
        # the warning names its tenant on both paths and every core (ansible-core 2.21 takes a module's warnings out
        # of the result before the action plugin sees them: the module process names them itself)
        assert re.search(r"\[WARNING\]: tenant1: validate_certs is false", output)
        for secret in ("Sip-Paths-1", "Sip-Paths-2", "Sip-Paths-3", "Sip-Paths-4", "tok-Paths-5", TENANT_SECRET % 1):
            assert secret not in output and secret not in registered


DELEGATION_TASKS = """\
- name: Delegated to localhost
  telphin.pbx.extension_info: {extension_id: 1}
  delegate_to: localhost
- name: Delegated to the jump host
  telphin.pbx.extension_info: {extension_id: 1}
  delegate_to: jump
- name: On the tenant host itself
  telphin.pbx.extension_info: {extension_id: 1}
"""


def delegation_playbook(url: str, secret: str) -> str:
    defaults = {"api_url": url, "app_id": "tenant1-app", "app_secret": secret}
    return play(DELEGATION_TASKS, "Delegation decides the path", hosts="tenant1", connection=None,
                module_defaults=defaults) + "\n" + \
        play("- name: Implicit localhost\n  telphin.pbx.extension_info: {extension_id: 1}\n", "The implicit localhost",
             connection=None, interpreter=False, module_defaults=defaults)


@pytest.mark.parametrize("tenant_connection", ["remote_stand_in", "local"])
def test_delegation_and_the_implicit_localhost_pick_the_path(playbook, tenant_connection):
    with Emulator(tenant_world(tenants=1, phones=2)) as emu:
        inventory = {"all": {"hosts": {"tenant1": {"ansible_connection": tenant_connection},
                                       "jump": {"ansible_connection": "remote_stand_in",
                                                "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}
        run = playbook(delegation_playbook(emu.url, TENANT_SECRET % 1), inventory, "-vvv", env=ENV)
        assert run.rc == 0, run.output[-3000:]
        assert len(api_calls(emu.requests(), "GET", "/extension/")) == 4 * 2     # 4 tasks, each list a page + the empty one
    on_module_path = ["Delegated to the jump host"]
    if tenant_connection == "remote_stand_in":
        on_module_path.append("On the tenant host itself")
    assert tasks_with_a_payload(run.output) == on_module_path


def run_role(playbook, path: str, tmp_path: Path
             ) -> Tuple[Run, Run, List[Tuple[str, str]], Dict[Any, Any], List[str]]:
    """``rollout_bindings`` for two tenants through ``path``: a check run that writes plans, then an apply run with
    backups; the role's task holds no template, its action plugin reads the tenants' variables."""
    with Emulator(tenant_world(tenants=2, phones=4, bound=2)) as emu:
        bindings = {n: [{"extension": str(100 + i), "external_number": desired_number(n, i)} for i in range(3)]
                    + [{"extension": "103", "label": "Desk %d" % n, "password": "Sip-Role-%d" % n}] for n in (1, 2)}
        inventory = tenant_inventory(emu.url, bindings, telphin_timeout=10, telphin_quota_reserve=5,
                                     phone_bindings_update_password="never", phone_bindings_max_changes="100%",
                                     phone_bindings_plan_dir=str(tmp_path / path / "plans"),
                                     phone_bindings_backup_dir=str(tmp_path / path / "backup"))
        extra = {"ansible_connection": PATHS[path]}
        check = playbook("telphin.pbx.rollout_bindings", inventory, "--check", "-vvv", env=ENV, extra_vars=extra)
        assert check.rc == 0, check.output[-4000:]
        apply = playbook("telphin.pbx.rollout_bindings", inventory, "-vvv", env=ENV,
                         extra_vars=dict(extra, phone_bindings_backup=True))
        assert apply.rc == 0, apply.output[-4000:]
        requests = sorted((r["method"], r["path"]) for r in emu.requests())
        state = {(c["id"], e["name"].rsplit("*", 1)[-1]): e["phone"] for c in emu.state()["clients"]
                 for e in c["extensions"] if "phone" in e}
    files = sorted(str(p.relative_to(tmp_path / path)).split("_phone_bindings.", maxsplit=1)[0]
                   for p in (tmp_path / path).rglob("*") if p.is_file())
    return check, apply, requests, state, files


def test_the_role_reads_its_variables_on_both_paths(playbook, tmp_path):
    ctl_check, ctl_apply, ctl_requests, ctl_state, ctl_files = run_role(playbook, "controller", tmp_path)
    mod_check, mod_apply, mod_requests, mod_state, mod_files = run_role(playbook, "module", tmp_path)
    assert tasks_with_a_payload(ctl_check.output + ctl_apply.output) == []
    assert tasks_with_a_payload(mod_check.output) and tasks_with_a_payload(mod_apply.output)
    assert ctl_requests == mod_requests and ctl_state == mod_state
    assert ctl_files == mod_files == ["backup/tenant1", "backup/tenant2", "plans/tenant1.plan.json",
                                      "plans/tenant2.plan.json"]
    for n in (1, 2):
        assert [ctl_state[(1000 + n, str(100 + i))]["external_number"] for i in range(3)] == \
            [desired_number(n, i) for i in range(3)]
        assert ctl_state[(1000 + n, "103")]["label"] == "Desk %d" % n       # the password is not sent: never
        assert ctl_state[(1000 + n, "103")].get("password") is None
    for run in (ctl_check, ctl_apply, mod_check, mod_apply):
        summary = [line for line in run.stdout.splitlines() if "phones looked at" in line]
        assert len(summary) == 2 and all("4 phones looked at" in line for line in summary), run.stdout[-3000:]
        assert "Sip-Role-" not in run.output and TENANT_SECRET % 1 not in run.stdout
