"""Change safety (issue 14) through real ansible-playbook runs against the emulator: one number one form,
the blast-radius guard, backup and restore, plan and apply."""

from __future__ import annotations

import json
import os
import re
import shutil
import textwrap
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import requests
import yaml

from harness import ANSIBLE_BIN, COLLECTIONS_ROOT, api_calls, desired_number, module_play, save, tenant_world
from tests.reliability.lib import TENANT_SECRET, phones, tenant_inventory
from tests import unsafe_yaml

SECRET = TENANT_SECRET % 1


def national_world(phones_count: int = 6, bound: int = 4):
    """Tenant 1 stores its numbers in national form (8XXXXXXXXXX); its first ``bound`` phones are bound."""
    world = tenant_world(tenants=1, phones=phones_count, bound=bound)
    world["clients"][0]["number_form"] = "national"
    return world


def bulk_task(bindings, register="bulk", **options) -> str:
    task = {"name": "Bulk", "telphin.pbx.extension_phones": dict({"bindings": bindings}, **options),
            "register": register, "ignore_errors": True}
    return yaml.safe_dump([task], sort_keys=False) + save(register, register)


def put_bodies(emu):
    return {int(p["path"].split("/")[-3]): p["body"] for p in api_calls(emu.requests(), "PUT")}


def out_of_band(emu, ext_id: int, **values) -> None:
    """A change through the API, as a CRM or an administrator would make it."""
    form = {"grant_type": "client_credentials", "client_id": "tenant1-app", "client_secret": SECRET}
    token = requests.post(emu.url + "/oauth/token", data=form, timeout=10).json()["access_token"]
    requests.put(emu.url + "/api/ver1.0/extension/%d/phone/" % ext_id, json=values,
                 headers={"Authorization": "Bearer " + token}, timeout=10).raise_for_status()


# -- 4. one number, one form ----------------------------------------------------------------------
def test_numbers_in_any_form_are_one_number_and_cause_no_put(emulator_factory, playbook):
    emu = emulator_factory(national_world())
    assert phones(emu.state())[1]["external_number"] == "89000010000"        # the PBX stores national form
    bindings = [{"extension": "100", "external_number": "8 900 001-00-00"},
                {"extension": "101", "external_number": "+7 900 001 00 01"},
                {"extension": "102", "external_number": "79000010002"},
                {"extension": "103", "external_number": "+7 (900) 001-00-03"},
                {"extension": "104", "external_number": "8 (900) 001-00-99"},
                {"extension": "105", "external_number": "+7 123 456 78 90", "number_check": "possible"}]  # not valid
    run = playbook(module_play(bulk_task(bindings), emu.url, SECRET))
    assert run.rc == 0, run.output
    assert put_bodies(emu) == {5: {"external_number": "+79000010099"}, 6: {"external_number": "+71234567890"}}
    result = run.results["bulk"]
    assert result["summary"] == {"total": 6, "changed": 2, "unchanged": 4, "failed": 0, "skipped": 0}
    assert "'+7 123 456 78 90' (+71234567890) is a possible number but not a valid one" in " ".join(run.output.split())
    assert phones(emu.state())[5]["external_number"] == "89000010099"

    emu.requests(clear=True)
    again = playbook(module_play(bulk_task(bindings), emu.url, SECRET))
    assert again.rc == 0 and api_calls(emu.requests(), "PUT") == []
    assert again.results["bulk"]["changed"] is False


def test_impossible_and_unquoted_numbers_are_refused_before_any_request(emulator_factory, playbook):
    emu = emulator_factory(national_world())
    play = module_play(textwrap.dedent("""\
        - name: Bulk with bad numbers
          telphin.pbx.extension_phones:
            bindings:
              - {extension: "100", external_number: "1234"}
              - {extension: "101", external_number: 79001234567}
              - {extension: "102", external_number: "+7 900 123-45-67 ext 5"}
              - {extension: "103", external_number: "+7 900 123 45 67 890"}
              - {extension: "104", external_number: "+79001234500"}
          register: bulk
          ignore_errors: true
        """) + save("bulk", "bulk"), emu.url, SECRET)
    run = playbook(play)
    msg = run.results["bulk"]["msg"]
    assert run.results["bulk"]["failed"] and "4 problem(s) found before any request" in msg
    assert "bindings[0] (extension 100): external_number '1234' (+71234) is not a possible phone number: too short " \
           "(phonenumbers: TOO_SHORT; default_region RU)" in msg
    assert "external_number 79001234567 is an integer, not a string: quote the number in YAML" in msg
    assert "has an extension (5)" in msg
    assert "(phonenumbers: TOO_LONG; default_region RU)" in msg or "(phonenumbers: INVALID_LENGTH" in msg
    assert "bindings[4]" not in msg
    assert emu.requests() == []                                                # not even a token


def test_default_region_parses_national_numbers_of_another_country(emulator_factory, playbook):
    emu = emulator_factory(tenant_world())
    play = module_play(textwrap.dedent("""\
        - name: A US number written nationally
          telphin.pbx.extension_phone:
            extension_id: 2
            external_number: "(512) 555-0110"
            default_region: us
          register: us
        - name: An unknown region
          telphin.pbx.extension_phone:
            extension_id: 3
            external_number: "+79001234567"
            default_region: XX
          register: xx
          ignore_errors: true
        """) + save("us", "us") + save("xx", "xx"), emu.url, SECRET)
    run = playbook(play)
    assert run.results["us"]["changed"] is True
    assert put_bodies(emu) == {2: {"external_number": "+15125550110"}}
    assert "default_region 'XX' is not a region phonenumbers knows" in run.results["xx"]["msg"]


def test_a_missing_phonenumbers_is_one_line_not_a_traceback(emulator_factory, playbook, tmp_path):
    fake = tmp_path / "no-phonenumbers" / "phonenumbers"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named phonenumbers (test)')\n")
    emu = emulator_factory(tenant_world())
    play = module_play(bulk_task([{"extension": "100", "external_number": "+79001234567"}]) +
                       bulk_task([{"extension": "101", "label": "Front desk"}], register="labels"),
                       emu.url, SECRET)
    run = playbook(play, None, env={"PYTHONPATH": str(fake.parent)})
    msg = run.results["bulk"]["msg"]
    assert "external_number needs the Python library phonenumbers" in msg and "\n" not in msg
    assert "Traceback" not in run.output
    assert run.results["labels"]["changed"] is True                          # no number, no library needed
    assert put_bodies(emu) == {2: {"label": "Front desk"}}


# -- 1. blast-radius guard ------------------------------------------------------------------------
def test_guard_refuses_before_any_write_and_counts_unbinds(emulator_factory, playbook):
    emu = emulator_factory(tenant_world(tenants=1, phones=10, bound=10))
    keep = [{"extension": str(100 + i), "external_number": desired_number(1, i)} for i in range(2)]
    inv = tenant_inventory(emu.url, {1: keep}, phone_bindings_unbind_unlisted=True, phone_bindings_max_changes="50%")
    for args in ((), ("--check",)):
        emu.requests(clear=True)
        run = playbook("telphin.pbx.rollout_bindings", inv, *args)
        assert run.rc != 0
        assert "this run would change 8 phone(s), above phone_bindings_max_changes 50% of 10 phone extension(s) = 5. " \
            "Check phone_bindings" in run.stdout
        assert "allow it for this run with -e phone_bindings_max_changes=8." in run.stdout
        assert '010*102: external_number "+79000010002" -> null' in run.stdout.replace('\\"', '"')   # 2.16 escapes
        assert "... and 3 more" in run.stdout
        assert api_calls(emu.requests(), "PUT") == []
    assert all(p["external_number"] for p in phones(emu.state()).values())

    inv = tenant_inventory(emu.url, {1: keep}, phone_bindings_unbind_unlisted=True, phone_bindings_max_changes=8)
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc == 0, run.output
    assert len(api_calls(emu.requests(), "PUT")) == 8


def test_guard_default_of_the_role_is_20_percent_rounded_up(emulator_factory, playbook):
    emu = emulator_factory(tenant_world(tenants=1, phones=10))
    wanted = [{"extension": str(100 + i), "external_number": desired_number(1, i)} for i in range(3)]
    inv = tenant_inventory(emu.url, {1: wanted})
    del inv["all"]["children"]["telphin_tenants"]["vars"]["phone_bindings_max_changes"]   # the test suites' lift
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc != 0
    assert "would change 3 phone(s), above phone_bindings_max_changes 20% of 10 phone extension(s) = 2" in run.stdout
    assert api_calls(emu.requests(), "PUT") == []
    inv["all"]["children"]["telphin_tenants"]["hosts"]["tenant1"]["phone_bindings"] = wanted[:2]
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc == 0, run.output
    assert len(api_calls(emu.requests(), "PUT")) == 2


def test_the_guard_lets_a_small_tenant_bind_two_new_phones_and_names_the_one_run_override(emulator_factory, playbook):
    # 20% of 3 phones is 1: an hourly run binding two new staff members was refused, naming max_changes
    emu = emulator_factory(tenant_world(tenants=1, phones=3))
    wanted = [{"extension": str(100 + i), "external_number": desired_number(1, i)} for i in range(3)]
    inv = tenant_inventory(emu.url, {1: wanted[:2]})
    del inv["all"]["children"]["telphin_tenants"]["vars"]["phone_bindings_max_changes"]   # the role's default, 20%
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc == 0, run.output
    assert len(api_calls(emu.requests(), "PUT")) == 2

    emu.requests(clear=True)
    inv["all"]["children"]["telphin_tenants"]["hosts"]["tenant1"]["phone_bindings"] = [
        dict(w, external_number=desired_number(1, 10 + i)) for i, w in enumerate(wanted)]     # a bad merge: all 3
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc != 0 and api_calls(emu.requests(), "PUT") == []
    text = " ".join(run.stdout.replace('\\"', '"').split())
    assert "this run would change 3 phone(s), above phone_bindings_max_changes 20% of 3 phone extension(s) = 2 (a " \
        "share allows at least 2). Check phone_bindings (a bad merge or an emptied file changes many phones at " \
        "once); if the change is intended, allow it for this run with -e phone_bindings_max_changes=3." in text
    assert " max_changes" not in text.replace("phone_bindings_max_changes", "")

    run = playbook("telphin.pbx.rollout_bindings", inv, "-e", "phone_bindings_max_changes=3")
    assert run.rc == 0, run.output
    assert len(api_calls(emu.requests(), "PUT")) == 3


def test_max_changes_is_checked(emulator_factory, playbook):
    emu = emulator_factory(tenant_world())
    run = playbook(module_play(bulk_task([{"extension": "100", "label": "x"}], max_changes="lots"), emu.url, SECRET))
    assert run.results["bulk"]["msg"].splitlines()[1] == "- max_changes 'lots' is not a limit: give a number of " \
        "phones (such as 10) or a percentage of the tenant's phone extensions from 0% to 100% (such as \"20%\")"
    assert emu.requests() == []


# -- 2. backup and restore ------------------------------------------------------------------------
MANAGED = ("external_number", "label", "record_enabled")


def managed(state):
    return {ext_id: {k: phone.get(k) for k in MANAGED} for ext_id, phone in phones(state).items()}


def test_backup_then_restore_with_the_role_gives_back_the_original(emulator_factory, playbook, tmp_path):
    world = national_world(phones_count=6, bound=3)
    world["clients"][0]["extensions"][0]["phone"]["record_enabled"] = True
    emu = emulator_factory(world)
    original = managed(emu.state())
    backup_dir = tmp_path / "backups"
    rollout = [{"extension": "100", "external_number": "+79161110000", "record_enabled": False},
               {"extension": "101", "label": "Sales", "password": "Sip-Pass-4711"},
               {"extension": "103", "external_number": "+79161110003"},
               {"extension": "104", "external_number": "+79161110004", "label": None}]
    inv = tenant_inventory(emu.url, {1: rollout}, phone_bindings_max_changes="100%", phone_bindings_backup=True,
                           phone_bindings_backup_dir=str(backup_dir))
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc == 0, run.output
    files = list(backup_dir.iterdir())
    assert len(files) == 1 and files[0].name.startswith("tenant1_phone_bindings.")
    assert oct(files[0].stat().st_mode & 0o777) == "0o600"
    text = files[0].read_text()
    assert "Sip-Pass-4711" not in text and "password" not in text
    saved = unsafe_yaml.load(text)["phone_bindings"]
    assert saved == [
        {"extension": "010*100", "external_number": "89000010000", "record_enabled": True},
        {"extension": "010*101", "label": "Desk 1"},
        {"extension": "010*103", "external_number": ""},
        {"extension": "010*104", "external_number": ""}]
    assert managed(emu.state()) != original

    emu.requests(clear=True)
    restore = playbook("telphin.pbx.rollout_bindings",
                       tenant_inventory(emu.url, {1: []}, phone_bindings_max_changes="100%"), "-e", "@%s" % files[0])
    assert restore.rc == 0, restore.output
    assert managed(emu.state()) == original                   # national forms included, byte for byte
    assert len(api_calls(emu.requests(), "PUT")) == 4


def test_backup_is_not_written_in_check_mode_or_without_changes(emulator_factory, playbook, tmp_path):
    emu = emulator_factory(tenant_world(tenants=1, phones=4, bound=2))
    opts = {"backup": True, "backup_options": {"dir_path": str(tmp_path / "b"), "filename": "t1.yml"}}
    play = module_play(bulk_task([{"extension": "100", "external_number": desired_number(1, 0)}], **opts),
                       emu.url, SECRET)
    run = playbook(play)
    assert run.rc == 0 and run.results["bulk"]["backup_path"] is None
    check = playbook(module_play(bulk_task([{"extension": "102", "label": "x"}], **opts), emu.url, SECRET), None,
                     "--check")
    assert check.results["bulk"]["backup_path"] is None and not (tmp_path / "b").exists()
    write = playbook(module_play(bulk_task([{"extension": "102", "label": "x"}], **opts), emu.url, SECRET))
    assert write.results["bulk"]["backup_path"] == str(tmp_path / "b" / "t1.yml")
    assert unsafe_yaml.load((tmp_path / "b" / "t1.yml").read_text()) == {
        "phone_bindings": [{"extension": "010*102", "label": "Desk 2"}]}


def test_a_backup_never_replaces_a_file(emulator_factory, playbook, tmp_path):
    """Issue 19 item 7: a fixed filename (or two runs within one second) used to overwrite the earlier backup, and
    the values it held were lost."""
    emu = emulator_factory(tenant_world(tenants=1, phones=4))
    opts = {"backup": True, "backup_options": {"dir_path": str(tmp_path / "b"), "filename": "t1.yml"}}
    paths = []
    for label in ("First", "Second"):
        run = playbook(module_play(bulk_task([{"extension": "102", "label": label}], **opts), emu.url, SECRET))
        assert run.rc == 0 and run.results["bulk"]["changed"], run.output
        paths.append(run.results["bulk"]["backup_path"])
    assert paths == [str(tmp_path / "b" / "t1.yml"), str(tmp_path / "b" / "t1.2.yml")]
    assert [unsafe_yaml.load(Path(p).read_text())["phone_bindings"] for p in paths] == [
        [{"extension": "010*102", "label": "Desk 2"}], [{"extension": "010*102", "label": "First"}]]


STRACE = shutil.which("strace")
CONNECTION_PLUGINS = str(Path(__file__).parent / "connection_plugins")
# one line of ``strace -f -y``: the pid, the call, its arguments (fds with their paths) and the rest
SYSCALL = re.compile(r"^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()(.*)$")
PUT_SENT = re.compile(r'\d+<(?:socket|TCP)[^>]*>, "PUT /api/')     # a PUT's request line sent on a socket


def traced(trace: Path, directory: Path) -> Tuple[Dict[str, int], List[Tuple[int, str]], int]:
    """From a trace: {path: index of the line where its fsync returned} for the files and the directory under
    ``directory``; (index, new name) of each link or rename into it; the index of the first PUT sent to the API."""
    lines = trace.read_text().splitlines()
    synced: Dict[str, int] = {}
    placed: List[Tuple[int, str]] = []
    pending: Dict[Tuple[str, str], str] = {}       # (pid, call) -> its first line, while unfinished
    first_put = -1
    for index, line in enumerate(lines):
        match = SYSCALL.match(line)
        if not match:
            continue
        pid, resumed, call, rest = match.groups()
        if call and rest.endswith("<unfinished ...>"):
            pending[(pid, call)] = rest
            continue
        if resumed:
            call, rest = resumed, pending.pop((pid, resumed), "") + rest
        if call in ("fsync", "fdatasync") and rest.endswith("= 0"):
            path = re.match(r"\d+<([^>]*)>", rest)
            if path and path.group(1).startswith(str(directory)):
                synced.setdefault(path.group(1), index)
        elif call in ("link", "linkat", "rename", "renameat", "renameat2") and rest.endswith("= 0"):
            names = re.findall(r'"([^"]*)"', rest)
            if names and names[-1].startswith(str(directory)):
                placed.append((index, names[-1]))
        elif call in ("sendto", "write", "sendmsg") and first_put < 0 and PUT_SENT.match(rest):
            first_put = index
    return synced, placed, first_put


@pytest.mark.skipif(not STRACE, reason="strace is not installed (.ci/run installs it; apt-get install strace)")
@pytest.mark.parametrize("path", ["controller", "module"])
def test_the_backup_and_its_directory_are_on_the_disk_before_the_first_put(emulator_factory, playbook, tmp_path, path):
    """Issue 31 item 2, in the system calls of a real run: the backup file is flushed (fsync), linked into place, and
    its directory flushed, all before the first PUT leaves the process, on both execution paths (the module path
    runs the module in its own process: strace -f follows it)."""
    emu = emulator_factory(tenant_world(tenants=1, phones=4))
    backups = tmp_path / "b"
    opts = {"backup": True, "backup_options": {"dir_path": str(backups), "filename": "t1.yml"}}
    trace = tmp_path / "trace.txt"
    bindings = [{"extension": "102", "label": "First"}, {"extension": "103", "label": "Second"}]
    run = playbook(module_play(bulk_task(bindings, **opts), emu.url, SECRET), None,
                   *(["-e", "ansible_connection=remote_stand_in"] if path == "module" else []),
                   env={"ANSIBLE_CONNECTION_PLUGINS": CONNECTION_PLUGINS},
                   wrap=[STRACE, "-f", "-y", "-s", "24", "-o", str(trace),
                         "-e", "trace=fsync,fdatasync,link,linkat,rename,renameat,renameat2,sendto,sendmsg,write"])
    assert run.rc == 0 and run.results["bulk"]["summary"]["changed"] == 2, run.output
    assert len(api_calls(emu.requests(), "PUT")) == 2
    backup = run.results["bulk"]["backup_path"]
    assert backup == str(backups / "t1.yml") and "Desk 2" in Path(backup).read_text()
    synced, placed, first_put = traced(trace, backups)
    assert first_put > 0, "no PUT in the trace"
    [(linked, name)] = placed
    assert name == backup
    [temp] = [p for p in synced if p not in (backup, str(backups))]     # the temporary file, flushed before the link
    assert os.path.basename(temp).startswith(".t1.yml.") and not os.path.exists(temp)
    assert synced[temp] < linked < synced[str(backups)] < first_put


# -- 3. plan and apply ----------------------------------------------------------------------------
def test_plan_then_apply_writes_only_what_still_holds_the_before_value(emulator_factory, playbook, tmp_path):
    emu = emulator_factory(tenant_world(tenants=1, phones=6, bound=1))
    wanted = [{"extension": str(100 + i), "external_number": desired_number(1, i) if i else "+79161110000"}
              for i in range(4)]
    plan_dir = tmp_path / "plans"
    inv = tenant_inventory(emu.url, {1: wanted}, phone_bindings_max_changes="100%",
                           phone_bindings_plan_dir=str(plan_dir))
    plan_run = playbook("telphin.pbx.rollout_bindings", inv, "--check")
    assert plan_run.rc == 0, plan_run.output
    assert api_calls(emu.requests(), "PUT") == []
    plan = json.loads((plan_dir / "tenant1.plan.json").read_text())
    assert plan["format"] == "telphin.pbx.plan/1" and plan["client_id"] == "1001"
    assert plan["fingerprint"].startswith("sha256:") and plan["created"].endswith("Z")
    assert [(c["extension_id"], c["before"], c["after"]) for c in plan["changes"]] == [
        (1, {"external_number": desired_number(1, 0)}, {"external_number": "+79161110000"}),
        (2, {"external_number": None}, {"external_number": desired_number(1, 1)}),
        (3, {"external_number": None}, {"external_number": desired_number(1, 2)}),
        (4, {"external_number": None}, {"external_number": desired_number(1, 3)})]

    out_of_band(emu, 3, external_number="+79990000000")        # moved since the plan
    emu.requests(clear=True)
    # Git moved on too: a plan made from other bindings is refused before any request (issue 30) ...
    inv = tenant_inventory(emu.url, {1: wanted + [{"extension": "105", "label": "new"}]},
                           phone_bindings_max_changes="100%", phone_bindings_plan_dir=str(plan_dir),
                           phone_bindings_apply_plan=True)
    refused = playbook("telphin.pbx.rollout_bindings", inv)
    assert refused.rc != 0 and emu.requests() == [], refused.output
    assert "apply_plan (client 1001 at 127.0.0.1): the bindings changed since the plan was made" in refused.stdout
    # ... unless the run says so: then the apply job applies the approved plan, not the new bindings.
    apply = playbook("telphin.pbx.rollout_bindings", inv, "-e", "phone_bindings_plan_allow_changed_bindings=true")
    assert apply.rc != 0
    assert "010*102 (id 3): stale" in apply.stdout
    assert put_bodies(emu) == {1: {"external_number": "+79161110000"}, 2: {"external_number": desired_number(1, 1)},
                               4: {"external_number": desired_number(1, 3)}}
    assert phones(emu.state())[3]["external_number"] == "+79990000000"
    assert phones(emu.state())[6]["label"] == "Desk 5"
    # a warning: ansible-core wraps it at the terminal's width
    assert "the bindings changed since the plan was made" in " ".join(apply.output.split())


def runner(private_data_dir: Path, inventory, extravars, *cmdline: str):
    ansible_runner = pytest.importorskip("ansible_runner")
    project = private_data_dir / "project"
    project.mkdir(parents=True, exist_ok=True)
    (project / "rollout.yml").write_text("---\n- name: Roll out\n"
                                         "  ansible.builtin.import_playbook: telphin.pbx.rollout_bindings\n")
    envvars = dict(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_ROOT),
                   ANSIBLE_HOME=str(private_data_dir.parent / "ansible-home"),
                   ANSIBLE_LOCAL_TEMP=str(private_data_dir.parent / "ansible-tmp"),
                   PATH=str(ANSIBLE_BIN) + os.pathsep + os.environ.get("PATH", ""))
    return ansible_runner.run(private_data_dir=str(private_data_dir), playbook="rollout.yml", inventory=inventory,
                              extravars=extravars, envvars=envvars, suppress_env_files=True, quiet=True,
                              cmdline=" ".join(cmdline) or None, timeout=300)


def test_awx_workflow_plan_approve_apply_with_ansible_runner(emulator_factory, tmp_path):
    """Plan job (check, publishes the plans with set_stats) -> approval -> apply job (gets the plans as extra vars,
    as a workflow passes artifacts to the next node); each job in its own private data directory."""
    emu = emulator_factory(tenant_world(tenants=2, phones=4))
    wanted = {n: [{"extension": str(100 + i), "external_number": desired_number(n, i)} for i in range(3)]
              for n in (1, 2)}
    inv = tenant_inventory(emu.url, wanted, phone_bindings_max_changes="100%")
    plan_job = runner(tmp_path / "plan-job", inv, {"phone_bindings_plan_dir": str(tmp_path / "plan-job" / "plans")},
                      "--check")
    assert (plan_job.status, plan_job.rc) == ("successful", 0), plan_job.stdout.read()
    stats = [e for e in plan_job.events if e.get("event") == "playbook_on_stats"][-1]["event_data"]
    artifacts = stats["artifact_data"]
    assert sorted(artifacts) == ["telphin_plan_1001", "telphin_plan_1002"]       # one key per tenant, by client id
    assert len(json.loads(artifacts["telphin_plan_1002"])["changes"]) == 3     # the plan's text
    assert api_calls(emu.requests(), "PUT") == []

    out_of_band(emu, 2, external_number="+79990000000")       # tenant1 010*101, between approval and apply
    emu.requests(clear=True)
    apply_job = runner(tmp_path / "apply-job", inv, dict(artifacts, phone_bindings_apply_plan=True))
    assert apply_job.status == "failed"
    log = emu.requests()
    assert sorted(int(p["path"].split("/")[-3]) for p in api_calls(log, "PUT")) == [1, 3, 6, 7, 8]
    state = phones(emu.state())
    assert state[2]["external_number"] == "+79990000000"
    assert [state[i]["external_number"] for i in (6, 7, 8)] == [desired_number(2, i) for i in range(3)]
    events = [e for e in apply_job.events if e.get("event") == "runner_on_failed"]
    assert len(events) == 1 and events[0]["event_data"]["host"] == "tenant1"
    assert "stale" in json.dumps(events[0]["event_data"]["res"])
