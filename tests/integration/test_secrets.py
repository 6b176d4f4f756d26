"""Secrets never leave the API: app secrets, every token issued and every SIP password set are searched for
in everything a user or a CI system keeps of a run, and must be found nowhere.

Searched: the output of ``ansible-playbook -vvvv --diff`` with ``ANSIBLE_CALLBACK_RESULT_FORMAT=json``, the
``ANSIBLE_LOG_PATH`` file, every registered result saved as JSON, failing runs (bad options next to
passwords, an error reply that echoes the SIP password, the token or the app secret back, to the modules and to
the inventory plugin through ``ansible-inventory -vvvv``, a token reply and a phone reply cut short just after
the secret), the artifacts of an ``ansible_runner.run`` of the rollout playbook at verbosity 4, the YAML
written by ``telphin.pbx.export_bindings`` and by backups, and the PBX's labels after two round trips of
labels that template the app secret (export -> rollout of the adopted file, backup -> restore with
``-e @file``, both at ``-vvvv --diff``). A conference PIN is set and read back too, and a check run writes its
plans into a directory where a link to another user's file was planted at the old temporary name.
All of it (the inventory plugin aside) twice: through the controller path of the action plugins (a
local connection: the engine runs in Ansible's worker and masks its result itself) and through the module path
(the module sent to a target, ``remote_stand_in``).

Credentials go to the runs the way the docs recommend (inventory / host_vars, module options), not as
environment variables of ansible-runner: ansible-runner writes its whole environment to
``artifacts/<ident>/command``, so secrets in ``envvars`` would end up there whatever the collection does.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import requests
import yaml

from harness import desired_number, module_play, play, tenant_world
from test_execution_paths import CONNECTION_PLUGINS, PATHS
from tests.emulator import Emulator
from tests.reliability.lib import (
    Ansible, PlaybookRun, ansible_bin, collections_root, phones, record, secret_hits, sign_plan, tenant_inventory)

APP_SECRETS = {1: "secret-tenant1-Xq9", 2: "secret-tenant2-Xq9"}
SIP = {
    "single": "Sip-Pass-Single-4711",     # telphin.pbx.extension_phone password
    "bulk": "Sip-Bulk-A-9931",            # a binding's password (role)
    "numeric": 73519264,                  # a digits-only password: YAML gives a number
    "rotated": "Sip-Rot-5527",            # the same extension again with a new password
    "echoed": "Sip-Echo-3377",            # the API's error reply repeats it
    "refused": "Sip-Fail-8812",           # next to a bad option: the module refuses before any request
    "invalid": "Sip-Bad-Item-6160",       # next to a bad binding (role run that fails)
    "runner": "Sip-Runner-2718",          # rolled out through ansible-runner
    "cut": "Sip-Cut-Reply-5150",          # in a phone reply cut short just after it
    "plan": "Sip-Plan-Tampered-6061",     # in a tampered plan (a file), refused before any request
    "bomb": "Sip-Gzip-Bomb-7072",         # at the start of a gzip bomb's decoded body, never quoted
}
PIN = "80417293"        # a conference_pin (digits only: masked by key, never as a substring)
# Labels a tenant's staff set on tenant 2's phones 12 and 13: templates that would copy the app secret into the
# label and the output if a backup restored with -e @file, or an export adopted as host_vars, were templated.
HOSTILE_LABELS = {12: "{{ telphin_app_secret }}", 13: "{% if true %}{{ telphin_app_secret | upper }}{% endif %}"}
# Tenant 2's client name and time zone (issue 30): a #jinja2: header with << >> delimiters, no brace, that would
# print the plugin's app secret if the inventory plugin's host variables were templated (1.1.0 trusted them).
HOSTILE_NAME = "#jinja2:variable_start_string:'<<', variable_end_string:'>>'\n<< lookup('env', 'TELPHIN_APP_SECRET') >>"


# Plays 2 and 3 of ``modules_play``: the role on every tenant, then every registered result saved.
ROLE_PLAY = play("- role: telphin.pbx.phone_bindings", "The role on every tenant", hosts="telphin_tenants",
                 section="roles")
SAVE_PLAY = play("""
    - name: Save
      ansible.builtin.copy:
        content: "{{ {'single': single, 'info': info, 'echoed': echoed, 'refused': refused, 'token': token,
                      'app_secret': app_secret, 'cut_token': cut_token, 'cut_phone': cut_phone,
                      'tampered_plan': tampered_plan, 'gzip_bomb': gzip_bomb,
                      'role-tenant1': hostvars.tenant1.phone_bindings_result,
                      'role-tenant2': hostvars.tenant2.phone_bindings_result} | to_json }}"
        dest: "{{ results_dir }}/all.json"
        mode: "0600"
    """, "Save every result")
ROLE_AND_SAVE_PLAYS = "\n" + ROLE_PLAY + "\n" + SAVE_PLAY


def modules_play(emu: Emulator, token: str, plan_path: Path) -> str:
    """Play 1: the single module (password set, read back, echoed in an error, refused next to a bad option,
    a static token and the app secret echoed by error replies). Play 2: the role on both tenants."""
    tasks = """\
- name: Set a SIP password and bind a number
  telphin.pbx.extension_phone:
    extension_id: 2
    external_number: "{number}"
    password: {single}
    conference_pin: "{pin}"
  register: single
- name: Read it back
  telphin.pbx.extension_phone_info:
    extension_id: 2
  register: info
- name: A password the API refuses, repeating it in its error message
  telphin.pbx.extension_phone:
    extension_id: 3
    password: {echoed}
  register: echoed
  ignore_errors: true
- name: A bad option next to a password (refused before any request)
  telphin.pbx.extension_phones:
    bindings:
      - extension: "104"
        password: {refused}
    parallel: many
  register: refused
  ignore_errors: true
- name: A static access token that an error reply repeats
  telphin.pbx.extension_phone:
    extension_id: 5
    label: Desk
    app_id: "{{{{ omit }}}}"
    app_secret: "{{{{ omit }}}}"
    access_token: {token}
  register: token
  ignore_errors: true
- name: A token endpoint whose error repeats the app secret
  telphin.pbx.extension_phone:
    extension_id: 6
    label: Desk
    token_url: {url}/api/ver1.0/oauth/token
  register: app_secret
  ignore_errors: true
- name: A token reply cut short just after the token
  telphin.pbx.extension_phone:
    extension_id: 6
    label: Desk
    token_url: {url}/oauth/token/
  register: cut_token
  ignore_errors: true
- name: A phone reply cut short just after the SIP password
  telphin.pbx.extension_phone:
    extension_id: 6
    label: Desk
  register: cut_phone
  ignore_errors: true
- name: A tampered plan that sets a SIP password (signed with the app's secret, so only its entries refuse it)
  telphin.pbx.extension_phones:
    apply_plan: {plan_path}
  register: tampered_plan
  ignore_errors: true
- name: A token endpoint that answers a gzip bomb starting with the token, the app secret and a SIP password
  telphin.pbx.extension_phone:
    extension_id: 6
    label: Desk
    token_url: {url}/oauth/bomb
  register: gzip_bomb
  ignore_errors: true
""".format(url=emu.url, number=desired_number(1, 1), token=token, pin=PIN, plan_path=plan_path,
           **{k: v for k, v in SIP.items() if k != "numeric"})
    return module_play(tasks, emu.url, APP_SECRETS[1], name="Modules") + ROLE_AND_SAVE_PLAYS


FAULTS = [
    {"match": {"method": "PUT", "path": "/extension/3/phone/"}, "action": "status", "status": 400,
     "body": {"message": "Invalid value for 'password': '%s' is too weak" % SIP["echoed"],
              "status": "invalid_request"}},
    {"match": {"path": "/extension/5/phone/"}, "action": "status", "status": 501,      # not retried: its message shows
     "body": {"message": "token %s is not valid for this node", "status": "server_error"}},
    {"match": {"path": "^/api/ver1.0/oauth/token"}, "action": "status", "status": 500,
     "body": {"error": "server_error", "error_description": "could not check client_secret %s" % APP_SECRETS[1]}},
    {"match": {"path": "^/api/ver1.0/client/1002/$"}, "action": "status", "status": 501,     # not retried either
     "body": {"message": "token %s is not valid for this node", "status": "server_error"}},
    {"match": {"path": "^/oauth/token/$"}, "action": "truncated_json"},
    {"match": {"method": "GET", "path": "^/api/ver1.0/extension/6/phone/$"}, "action": "status", "status": 200,
     "text": '{"external_number": null, "label": "Desk 5", "password": "%s", "auth_ty' % SIP["cut"]},
    {"match": {"path": "^/oauth/bomb$"}, "action": "gzip_bomb",
     "text": '{"access_token": "token %%s", "client_secret": "%s", "password": "%s", "x": "' % (
         APP_SECRETS[1], SIP["bomb"])},
]


# What AnsibleModule logs to syslog (journald when python-systemd is installed): captured to a file through a
# sitecustomize on PYTHONPATH, which the module processes of a local connection import too.
SYSLOG_CAPTURE = """\
import os
import syslog

if os.environ.get("TELPHIN_TEST_SYSLOG"):
    def _capture(*args):
        with open(os.environ["TELPHIN_TEST_SYSLOG"], "a") as log:
            log.write(str(args[-1]) + "\\n")

    syslog.syslog = _capture
"""


def places(texts: List[Tuple[str, str]]) -> Dict[str, int]:
    """How many texts of each kind were searched."""
    kinds: Dict[str, int] = {}
    for where, _text in texts:
        kind = ("ansible-runner artifacts" if "/artifacts/" in where else "backup YAML" if "/backup/" in where
                else "plans" if "/plans/" in where else "exported YAML" if where.endswith(".yml")
                else "PBX state" if where.startswith("PBX") else "planted link's target" if "victim" in where
                else "playbook output" if where.endswith(" output") else "registered results" if " result " in where
                else "syslog" if where.startswith("syslog") else "log file")
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def files_text(root: Path) -> List[Tuple[str, str]]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            found.append((str(path), path.read_text(errors="replace")))
    return found


def test_no_secret_anywhere(tmp_path):
    """Every run below goes through both execution paths: the engine in the controller's worker (a local
    connection) and the module sent to a target (``remote_stand_in``, see test_execution_paths)."""
    texts: List[Tuple[str, str]] = []
    secrets: List[str] = []
    tokens: List[str] = []
    statuses = {}
    for path in PATHS:
        found = search_one_path(tmp_path / path, path)
        texts += [("%s (%s path)" % (where, path), text) for where, text in found["texts"]]
        secrets += found["secrets"]
        tokens += found["tokens"]
        statuses[path] = found["runner_status"]
    hits = secret_hits(texts, secrets)
    by_place = {"%s, %s path" % (kind, path): count for path in PATHS
                for kind, count in places([(w[: -len(" (%s path)" % path)], t) for w, t in texts
                                           if w.endswith(" (%s path)" % path)]).items()}
    record("secrets", {"secrets_searched": len(set(secrets)), "tokens_issued": len(set(tokens)),
                       "sip_passwords": len(SIP), "places_searched": len(texts),
                       "bytes_searched": sum(len(text) for where, text in texts), "hits": len(hits),
                       "runner_status": statuses, "by_place": by_place})
    assert hits == []
    assert set(statuses.values()) <= {"successful", "not installed"}


ENVIRONMENT_TASKS = """\
- name: Read a phone
  telphin.pbx.extension_phone_info:
    extension_id: 1
    api_url: %s
    app_id: tenant1-app
  environment:
    TELPHIN_APP_SECRET: %s
"""
ENVIRONMENT_PLAY = play(ENVIRONMENT_TASKS, "Credentials through a task's environment keyword (what the troubleshooting guide "
                        "warns against)", hosts="tenant1", connection=None)


def test_a_task_environment_is_printed_at_vvv_on_the_module_path_and_the_guide_says_so(tmp_path):
    """ansible-core prints the module's command line at -vvv on the module path, with the task's ``environment:``
    in it; the controller path prints nothing. The troubleshooting guide says where secrets may and may not go."""
    shown = {}
    with Emulator(tenant_world(tenants=1, phones=2)) as emu:
        for path, connection in PATHS.items():
            inventory = {"all": {"hosts": {"tenant1": {"ansible_connection": connection}}}}
            ansible = Ansible(tmp_path / path)
            run = ansible.run(str(ansible.write("env.yml", ENVIRONMENT_PLAY % (emu.url, APP_SECRETS[1]))), inventory,
                              "-vvv", env={"ANSIBLE_CONNECTION_PLUGINS": CONNECTION_PLUGINS})
            assert run.rc == 0, run.output[-2000:]
            shown[path] = [line for line in run.output.splitlines() if APP_SECRETS[1] in line]
    assert shown["controller"] == []
    assert len(shown["module"]) == 1 and "EXEC" in shown["module"][0] and "TELPHIN_APP_SECRET=" in shown["module"][0]
    guide = (Path(__file__).parents[2] / "docs" / "docsite" / "rst" / "troubleshooting.rst").read_text()
    section = guide[guide.index("Where secrets may go"):guide.index("Partial failures")]
    assert "``environment:``" in section and "``-vvv``" in section and "EXEC /bin/sh -c 'TELPHIN_APP_SECRET=" in section
    assert "**May go**" in section and "**May not go**" in section


def search_one_path(workdir: Path, path: str) -> Dict[str, Any]:
    """Run everything through one execution path; return the texts to search and the secrets to look for."""
    ansible = Ansible(workdir)
    log_path = workdir / "ansible.log"
    syslog_path = workdir / "syslog.txt"
    (workdir / "syslog-capture").mkdir()
    (workdir / "syslog-capture" / "sitecustomize.py").write_text(SYSLOG_CAPTURE)
    env = {"ANSIBLE_CALLBACK_RESULT_FORMAT": "json", "ANSIBLE_LOG_PATH": str(log_path),
           "PYTHONPATH": str(workdir / "syslog-capture"), "TELPHIN_TEST_SYSLOG": str(syslog_path),
           "ANSIBLE_CONNECTION_PLUGINS": CONNECTION_PLUGINS}
    world = tenant_world(tenants=2, phones=6, bound=2)
    for ext in world["clients"][1]["extensions"]:
        if ext["id"] in HOSTILE_LABELS:
            ext["phone"]["label"] = HOSTILE_LABELS[ext["id"]]
    world["clients"][1].update(name=HOSTILE_NAME, timezone=HOSTILE_NAME)
    with Emulator(world) as emu:
        form = {"grant_type": "client_credentials", "client_id": "tenant1-app", "client_secret": APP_SECRETS[1]}
        token = requests.post(emu.url + "/oauth/token", data=form, timeout=10).json()["access_token"]
        faults = json.loads(json.dumps(FAULTS).replace("token %s", "token " + token))
        emu.set_faults(faults)
        bindings = {1: [{"extension": "100", "external_number": desired_number(1, 0), "password": SIP["bulk"]},
                        {"extension": "103", "password": SIP["numeric"], "conference_pin": PIN}],
                    2: [{"extension_id": 9, "external_number": desired_number(2, 1), "password": SIP["rotated"]}]}
        inv = on_path(tenant_inventory(emu.url, bindings, APP_SECRETS, localhost=True), path)
        runs = {}

        # 1. everything at -vvvv --diff, JSON result format, log file
        plan_path = workdir / "tampered.plan.json"
        plan_path.write_text(json.dumps(sign_plan(
            {"format": "telphin.pbx.plan/1", "client_id": "@me", "default_region": "RU", "fingerprint": "sha256:0",
             "created": "2026-12-06T00:00:00Z", "phones": 6,
             "changes": [{"extension": "101", "extension_full_name": "010*101", "extension_id": 2,
                          "before": {"password": None}, "after": {"password": SIP["plan"]}}]}, APP_SECRETS[1])))
        runs["vvvv"] = ansible.run(str(ansible.write("secrets.yml", modules_play(emu, token, plan_path))), inv,
                                   "-vvvv", "--diff", env=env)
        assert runs["vvvv"].rc == 0, runs["vvvv"].output[-3000:]
        results = runs["vvvv"].results["all"]
        assert results["single"]["changed"] is True and results["role-tenant1"]["summary"]["changed"] == 2
        # Error replies are described in the collection's words, never quoted (their text repeats the secrets).
        assert results["echoed"]["failed"] and "PUT /extension/3/phone/: HTTP 400 invalid_request: the API refused " \
            "the values of password" in results["echoed"]["msg"] and "too weak" not in results["echoed"]["msg"]
        assert results["refused"]["failed"] and "parallel" in results["refused"]["msg"]
        assert results["token"]["failed"] and "GET /extension/5/phone/: HTTP 501: the server failed" in \
            results["token"]["msg"] and "not valid for this node" not in results["token"]["msg"]
        assert results["app_secret"]["failed"] and "POST /oauth/token failed after 5 attempt(s): HTTP 500" in \
            results["app_secret"]["msg"] and "could not check" not in results["app_secret"]["msg"]     # retried
        assert results["cut_token"]["failed"] and "token endpoint" in results["cut_token"]["msg"]
        assert results["cut_phone"]["failed"] and "GET /extension/6/phone/" in results["cut_phone"]["msg"]
        assert "malformed JSON" in results["cut_token"]["msg"] and "malformed JSON" in results["cut_phone"]["msg"]
        assert results["tampered_plan"]["failed"] and "changes[0] (extension_id 2): password: a secret is never " \
            "part of a plan" in results["tampered_plan"]["msg"]
        assert results["gzip_bomb"]["failed"] and "POST /oauth/bomb: the reply is larger than 8 MiB once decoded" \
            in results["gzip_bomb"]["msg"]
        assert runs["vvvv"].rc == 0, runs["vvvv"].output[-3000:]
        assert ("AnsiballZ_extension_phone.py" in runs["vvvv"].output) is (path == "module")

        # 2. a role run that fails on a bad binding next to a password (also at -vvvv)
        bad = on_path(tenant_inventory(emu.url, {1: [{"extension": "103", "password": SIP["invalid"]},
                                                     {"extension": "104", "lable": "typo"}]}, APP_SECRETS,
                                       localhost=True), path)
        runs["failing"] = ansible.run("telphin.pbx.rollout_bindings", bad, "-vvvv", "--diff", env=env)
        assert runs["failing"].rc != 0 and "unknown key(s) lable" in runs["failing"].stdout

        # 3. the inventory plugin (ansible-inventory at -vvvv; it has no execution path, so once) with error replies
        #    that echo the app secret (token endpoint) and the bearer token (GET /client/1002/)
        for name, entry in (() if path != "controller" else (
                ("secret", {"client_id": "1001", "app_id": "tenant1-app", "app_secret": APP_SECRETS[1]}),
                ("token", {"client_id": "1002", "access_token": token}))):
            runs["inventory-" + name] = inventory_run(ansible, env, name, {
                "plugin": "telphin.pbx.tenants", "source": "list", "api_url": emu.url,
                "token_url": emu.url + "/api/ver1.0/oauth/token", "tenants": [entry]})
            assert runs["inventory-" + name].rc != 0
            assert "telphin.pbx.tenants: tenants[1] (%s): reading client %s" % ((entry["client_id"],) * 2) \
                in " ".join(runs["inventory-" + name].stderr.split()), runs["inventory-" + name].output[-2000:]

        # 4. the export playbook (YAML to adopt a PBX into Git), asked for the password key too
        emu.clear_faults()
        if path == "controller":
            # 3b. tenant 2 through the plugin with its app in TELPHIN_*, the EXAMPLES' keyed_groups on the time zone
            #     and a composed copy of the name: both hold a header that would print that app's secret
            tenant2_env = dict(env, TELPHIN_APP_ID="tenant2-app", TELPHIN_APP_SECRET=APP_SECRETS[2])
            runs["inventory-hostile"] = inventory_run(ansible, tenant2_env, "hostile", {
                "plugin": "telphin.pbx.tenants", "source": "list", "api_url": emu.url, "with_extensions": True,
                "tenants": [{"name": "tenant2", "client_id": "1002"}],
                "keyed_groups": [{"key": "telphin_client.timezone | default('unknown') | replace('/', '_')",
                                  "prefix": "tz"}],
                "compose": {"shown": "telphin_client.name"}})
            assert runs["inventory-hostile"].rc == 0, runs["inventory-hostile"].output[-2000:]
            listed = runs["inventory-hostile"].stdout
            assert listed.count('"__ansible_unsafe": %s' % json.dumps(HOSTILE_NAME)) >= 3     # name, zone, shown
        export_dir = workdir / "export"
        runs["export"] = ansible.run("telphin.pbx.export_bindings", inv, "-e",
                                     "telphin_export_dir=%s" % export_dir, "-e",
                                     '{"telphin_export_keys": ["external_number", "label", "password", '
                                     '"conference_pin"]}', env=env)
        assert runs["export"].rc == 0, runs["export"].output[-2000:]
        exported = files_text(export_dir)
        assert len(exported) == 2 and "phone_bindings" in exported[0][1]

        # 4b. hostile labels (templates of the app secret) through export -> rollout and backup -> restore
        runs.update(hostile_round_trips(ansible, emu, env, path, export_dir / "tenant2.yml"))
        exported += files_text(workdir / "backup")
        assert HOSTILE_LABELS == {i: phones(emu.state())[i]["label"] for i in HOSTILE_LABELS}

        # 4c. plans written where another user planted a link at the old temporary name
        victim = workdir / "victim.txt"
        victim.write_text("")
        (workdir / "plans").mkdir()
        (workdir / "plans" / "tenant1.plan.json.tmp").symlink_to(victim)
        runs["plan"] = ansible.run("telphin.pbx.rollout_bindings", on_path(tenant_inventory(
            emu.url, {1: [{"extension": "105", "label": "Planned", "conference_pin": PIN}]}, APP_SECRETS,
            localhost=True, phone_bindings_plan_dir=str(workdir / "plans")), path), "--check", "-vvvv", env=env)
        assert runs["plan"].rc == 0, runs["plan"].output[-2000:]
        assert victim.read_text() == "" and "Planned" in (workdir / "plans" / "tenant1.plan.json").read_text()
        exported += files_text(workdir / "plans") + [(str(victim), victim.read_text())]

        # 4d. the check_api playbook (its output is meant for support requests), with every finding in words
        runs["check_api"] = ansible.run("telphin.pbx.check_api", inv, "-vvvv", env=env)
        assert runs["check_api"].rc == 0, runs["check_api"].output[-2000:]
        for n in (1, 2):    # the line printed (and, at -vvvv, in the module's result too)
            assert "tenant%d: client %d: app_id/app_secret, token 3600 s" % (n, 1000 + n) in runs["check_api"].stdout
        assert "6 requests, no write | findings: unmanaged_phone_keys" in runs["check_api"].stdout

        # 5. the rollout through ansible-runner, artifacts kept
        runner_dir, runner_status = run_with_ansible_runner(workdir, emu, path)

        state = emu.state()
        stored = [e["phone"]["password"] for c in state["clients"] for e in c["extensions"]
                  if e.get("phone", {}).get("password")]
        assert phones(state)[2]["conference_pin"] == PIN and phones(state)[4]["conference_pin"] == PIN
        labels = [("PBX labels", json.dumps([p.get("label") for p in phones(state).values()]))]
        tokens = emu.tokens()

    # The passwords that reached the API, and those that must not have.
    applied = {SIP[k] for k in ("single", "bulk", "rotated")} | {str(SIP["numeric"])}
    if runner_status != "not installed":
        applied.add(SIP["runner"])
    assert applied <= set(stored)
    assert SIP["refused"] not in stored and SIP["invalid"] not in stored and SIP["plan"] not in stored

    texts = [("%s output" % name, run.output) for name, run in runs.items()]
    texts += [("%s result %s" % (name, key), json.dumps(value)) for name, run in runs.items()
              for key, value in run.results.items()]
    texts += [("ANSIBLE_LOG_PATH", log_path.read_text())]
    syslog = syslog_path.read_text()
    assert "Invoked with" in syslog           # the capture works: module invocations were logged
    texts += [("syslog (module invocations)", syslog)]
    texts += exported + labels
    texts += files_text(runner_dir)
    return {"texts": texts, "secrets": list(APP_SECRETS.values()) + [APP_SECRETS[2].upper()] + tokens
            + [str(v) for v in SIP.values()] + stored + [PIN],
            "tokens": tokens, "runner_status": runner_status}


def hostile_round_trips(ansible: Ansible, emu: Emulator, env: Dict[str, str], path: str,
                        exported: Path) -> Dict[str, PlaybookRun]:
    """Tenant 2's hostile labels: its export adopted as host_vars and rolled out, then a run that changes them with
    a backup, and the backup restored with ``-e @file``; every run at ``-vvvv --diff``."""
    runs = {}
    adopted = ansible.workdir / "adopted"
    (adopted / "host_vars").mkdir(parents=True)
    inv = on_path(tenant_inventory(emu.url, {2: []}, APP_SECRETS), path)
    del inv["all"]["children"]["telphin_tenants"]["hosts"]["tenant2"]["phone_bindings"]
    (adopted / "hosts.yml").write_text(yaml.safe_dump(inv))
    (adopted / "host_vars" / "tenant2.yml").write_text(exported.read_text())
    runs["adopted"] = ansible.run("telphin.pbx.rollout_bindings", adopted / "hosts.yml", "-vvvv", "--diff",
                                  env=env)
    assert runs["adopted"].rc == 0 and "changed=0" in runs["adopted"].stdout, runs["adopted"].output[-2000:]
    changes = [{"extension_id": ext_id, "label": "Desk"} for ext_id in HOSTILE_LABELS]
    runs["backup"] = ansible.run("telphin.pbx.rollout_bindings", on_path(tenant_inventory(
        emu.url, {2: changes}, APP_SECRETS, phone_bindings_backup=True,
        phone_bindings_backup_dir=str(ansible.workdir / "backup")), path), "-vvvv", "--diff", env=env)
    assert runs["backup"].rc == 0, runs["backup"].output[-2000:]
    (backup,) = list((ansible.workdir / "backup").iterdir())
    restore_inv = on_path(tenant_inventory(emu.url, {2: []}, APP_SECRETS), path)
    runs["restore"] = ansible.run("telphin.pbx.rollout_bindings", restore_inv, "-e", "@%s" % backup, "-vvvv", "--diff",
                                  env=env)
    assert runs["restore"].rc == 0, runs["restore"].output[-2000:]
    return runs


def inventory_run(ansible: Ansible, env: Dict[str, str], name: str, source: Dict[str, Any]) -> PlaybookRun:
    """``ansible-inventory --list -vvvv`` of an inventory plugin source (a failure fails the run)."""
    path = ansible.write("inventory-%s/%s.telphin.yml" % (name, name), source)
    command = [str(ansible_bin() / "ansible-inventory"), "-i", str(path), "--list", "-vvvv"]
    started = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, cwd=str(ansible.workdir),
                          env=ansible.environment(dict(env, ANSIBLE_INVENTORY_UNPARSED_FAILED="1")))
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started, {})


def on_path(inventory: Dict[str, Any], path: str) -> Dict[str, Any]:
    """``inventory`` with every host on the connection of ``path`` (a host variable beats a play's
    ``connection: local``)."""
    if path == "module":
        for group in [inventory["all"]] + list(inventory["all"].get("children", {}).values()):
            for host_vars in group.get("hosts", {}).values():
                host_vars.update(ansible_connection="remote_stand_in",
                                 ansible_python_interpreter="{{ ansible_playbook_python }}")
    return inventory


def run_with_ansible_runner(tmp_path: Path, emu: Emulator, path: str) -> Tuple[Path, str]:
    private = tmp_path / "runner"
    (private / "artifacts").mkdir(parents=True)
    try:
        import ansible_runner
    except ImportError:          # a test venv made before `make venv` installed ansible-runner in each
        return private / "artifacts", "not installed"
    (private / "project").mkdir()
    inv = tmp_path / "runner-inventory.yml"
    inv.write_text(yaml.safe_dump(on_path(tenant_inventory(emu.url, {1: [{"extension": "105", "password": SIP["runner"],
                                                                          "external_number": desired_number(1, 5)}]},
                                                           APP_SECRETS, localhost=True), path)))
    envvars = {"ANSIBLE_COLLECTIONS_PATH": collections_root(), "ANSIBLE_HOME": str(tmp_path / "runner-home"),
               "ANSIBLE_NOCOLOR": "1", "ANSIBLE_CONNECTION_PLUGINS": CONNECTION_PLUGINS,
               "PATH": str(ansible_bin()) + os.pathsep + os.environ.get("PATH", "")}
    result = ansible_runner.run(private_data_dir=str(private), playbook="telphin.pbx.rollout_bindings",
                                inventory=str(inv), envvars=envvars, verbosity=4, quiet=True, ident="rollout")
    return private / "artifacts", result.status
