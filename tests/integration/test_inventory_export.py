"""What AWX stores and shows of the tenants inventory: ``ansible-inventory --list --export``, then a script inventory.

AWX's inventory sync runs ``ansible-inventory --list --export`` on the source and stores the JSON; a job then gets
that JSON back through a script inventory. Every string the plugin sets must stay marked unsafe
(``{"__ansible_unsafe": ...}``) so it is never templated, whatever it holds (issue 30: 1.1.0 left the strings
without braces plain, and trusted them on 2.19+). Runs with each supported ansible-core (the integration suite runs
once per venv).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

from harness import ANSIBLE_BIN, COLLECTIONS_ROOT, play, tenant_world
from tests.inventory_objects import restored

DEALER, DEALER_APP, DEALER_SECRET = 10, "dealer-app", "dealer-secret-Aw19"
CURLY_NAME = "Curly {{ 7 * 6 }} Ltd"          # a tenant name that a template engine would change
CURLY_LABEL = "Desk } half"                  # a lone brace in a nested list item


def world() -> Dict[str, Any]:
    data = tenant_world(tenants=2, phones=2)
    data["dealers"] = [{"id": DEALER, "name": "Example Telecom"}]
    for item in data["clients"]:
        item["dealer_id"] = DEALER
    data["clients"][1]["name"] = CURLY_NAME
    data["clients"][1]["extensions"][0]["label"] = CURLY_LABEL
    data["apps"].append({"app_id": DEALER_APP, "app_secret": DEALER_SECRET, "type": "trusted", "access_level": "all",
                         "user": {"id": 900, "login": "ops@dealer", "access": "full", "dealer_id": DEALER}})
    return data


def environment(work: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELPHIN_", "ANSIBLE_"))}
    env.update({"ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_ROOT), "ANSIBLE_HOME": str(work / "ansible-home"),
                "ANSIBLE_LOCAL_TEMP": str(work / "ansible-tmp"), "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0",
                "TELPHIN_APP_ID": DEALER_APP, "TELPHIN_APP_SECRET": DEALER_SECRET,
                "PATH": str(ANSIBLE_BIN) + os.pathsep + env.get("PATH", "")})
    return env


def strings(value: Any, path: str = "") -> List[Tuple[str, str, bool]]:
    """(path, string, marked unsafe) for every string value in ``--list`` JSON."""
    if isinstance(value, dict) and set(value) == {"__ansible_unsafe"}:
        return [(path, value["__ansible_unsafe"], True)]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in strings(item, "%s.%s" % (path, key))]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in strings(item, "%s[%d]" % (path, i))]
    return [(path, value, False)] if isinstance(value, str) else []


def export(emulator_factory, work: Path) -> Tuple[Dict[str, Any], Any]:
    emu = emulator_factory(world())
    work.mkdir(parents=True, exist_ok=True)
    source = work / "dealer.telphin.yml"
    source.write_text(yaml.safe_dump({
        "plugin": "telphin.pbx.tenants", "source": "dealer", "api_url": emu.url, "with_extensions": True,
        "compose": {"tenant_name": "telphin_client.name", "tenant_prefix": "telphin_client.prefix"}}))
    proc = subprocess.run([str(ANSIBLE_BIN / "ansible-inventory"), "-i", str(source), "--list", "--export"],
                          capture_output=True, text=True, env=environment(work), timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout), emu


def test_export_marks_every_string_unsafe(emulator_factory, tmp_path):
    data = export(emulator_factory, tmp_path)[0]
    hostvars = data["_meta"]["hostvars"]
    assert len(hostvars) == 2
    # The plugin's own variables (telphin_*): every string is marked, whatever it holds.
    found = [item for host in hostvars.values() for key, value in host.items() if key.startswith("telphin_")
             for item in strings(value, key)]
    plain = [(path, text) for path, text, marked in found if not marked]
    assert plain == [] and len(found) > 20
    assert {CURLY_NAME, CURLY_LABEL} <= {text for path, text, marked in found}
    # compose: a copy of a marked string stays marked.
    curly = next(host for host, hv in hostvars.items() if hv["telphin_client_id"] == {"__ansible_unsafe": "1002"})
    other = next(host for host in hostvars if host != curly)
    assert hostvars[curly]["tenant_name"] == {"__ansible_unsafe": CURLY_NAME}
    assert hostvars[other]["tenant_name"] == {"__ansible_unsafe": "Tenant 1"}
    assert hostvars[other]["tenant_prefix"] == {"__ansible_unsafe": "010"}
    assert hostvars[curly]["tenant_prefix"] == {"__ansible_unsafe": "020"}
    # host and group names are never marked: AWX's import takes each for a string (its host name parsing fails
    # on a mapping, community.general issue 8212)
    assert all(isinstance(name, str) for group in data.values() for name in group.get("hosts", []))


def test_exported_json_through_a_script_inventory_into_a_play(emulator_factory, playbook, tmp_path):
    """AWX's round trip: the stored JSON comes back through a script inventory; the play uses the variables."""
    data, emu = export(emulator_factory, tmp_path / "sync")
    script = tmp_path / "awx_inventory.py"
    script.write_text("#!%s\nimport json, sys\nDATA = %r\n"
                      "print(DATA if sys.argv[1:2] == ['--list'] else '{}')\n" % (sys.executable, json.dumps(data)))
    script.chmod(0o755)
    emu.requests(clear=True)
    run = playbook(play("""
        - name: Read the tenant's phones with the synced variables
          telphin.pbx.extension_info:
            api_url: "{{ telphin_api_url }}"
            client_id: "{{ telphin_client_id }}"
            type: phone
          register: phones
        - name: Save what the job saw
          ansible.builtin.copy:
            content: "{{ {'name': telphin_client.name, 'tenant_name': tenant_name,
                          'label': telphin_extensions[0].label | default(''),
                          'phones': phones.extensions | map(attribute='short_name') | list} | to_json }}"
            dest: "{{ results_dir }}/{{ inventory_hostname }}.json"
            mode: "0600"
        """, "A job on the synced inventory", hosts="telphin_tenants"), script,
                   env={"TELPHIN_APP_ID": DEALER_APP, "TELPHIN_APP_SECRET": DEALER_SECRET})
    assert run.rc == 0, run.output
    seen = {result["name"]: result for result in run.results.values()}
    assert set(seen) == {"Tenant 1", CURLY_NAME}                  # not templated: "Curly 42 Ltd" would be a defect
    assert seen[CURLY_NAME]["tenant_name"] == CURLY_NAME and seen["Tenant 1"]["tenant_name"] == "Tenant 1"
    assert seen[CURLY_NAME]["label"] == CURLY_LABEL
    assert all(result["phones"] == ["100", "101"] for result in seen.values())
    # each tenant read with its synced client id, through the dealer's app
    listed = sorted(r["client_id"] for r in emu.requests() if r["method"] == "GET" and "/extension/" in r["path"])
    assert listed == [1001, 1001, 1002, 1002]        # each tenant's list: a short page, then the empty one


# A server object whose key is one a JSON decoder of ansible-core interprets: AnsibleJSONDecoder (2.16 to 2.18) made
# any object holding "__ansible_vault" a vaulted value and any holding "__ansible_unsafe" that key's string (its other
# keys lost); the legacy profiles of 2.19+ fail the whole inventory on it ("__ansible_vault is ... not str").
CIPHER = "$ANSIBLE_VAULT;1.1;AES256\n6162636465\n"
KEYED_CLIENT = {"__ansible_unsafe": "swallows the client", "__ansible_type": "not a type"}
KEYED_PARAMS = {"__ansible_vault": CIPHER, "note": "kept"}


def keyed_world() -> Dict[str, Any]:
    data = world()
    data["clients"][0].update(KEYED_CLIENT)
    data["clients"][0]["extensions"][0]["extra_params"] = KEYED_PARAMS
    return data


def test_server_keys_the_json_decoder_interprets_come_back_as_data_through_awx(emulator_factory, playbook, tmp_path):
    """AWX's round trip (``--list --export`` stored, given back by a script inventory) with a client whose own keys
    and an extension's ``extra_params`` keys are ``__ansible_unsafe`` / ``__ansible_vault`` / ``__ansible_type``:
    the job reads every object exactly as the tenant stored it, on every core."""
    emu = emulator_factory(keyed_world())
    work = tmp_path / "sync"
    work.mkdir()
    source = work / "dealer.telphin.yml"
    source.write_text(yaml.safe_dump({"plugin": "telphin.pbx.tenants", "source": "dealer", "api_url": emu.url,
                                      "with_extensions": True}))
    proc = subprocess.run([str(ANSIBLE_BIN / "ansible-inventory"), "-i", str(source), "--list", "--export"],
                          capture_output=True, text=True, env=environment(work), timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    script = tmp_path / "awx_inventory.py"
    script.write_text("#!%s\nimport sys\nDATA = %r\nprint(DATA if sys.argv[1:2] == ['--list'] else '{}')\n"
                      % (sys.executable, proc.stdout))
    script.chmod(0o755)
    run = playbook(play("""
        - name: Save the client and its first extension as the job sees them
          ansible.builtin.copy:
            content: "{{ {'client': telphin_client, 'extension': telphin_extensions[0]} | to_json }}"
            dest: "{{ results_dir }}/{{ telphin_client_id }}.json"
            mode: "0600"
        """, "A job on the synced inventory", hosts="telphin_tenants", connection="local"), script)
    assert run.rc == 0, run.output
    state = {str(c["id"]): c for c in emu.state()["clients"]}
    assert set(run.results) == {"1001", "1002"}
    for client_id, seen in run.results.items():
        served = {k: v for k, v in state[client_id].items() if k not in ("extensions", "bundles")}
        assert restored(seen["client"]) == served, client_id
        served_extension = {k: v for k, v in state[client_id]["extensions"][0].items() if k != "phone"}
        assert restored(seen["extension"]) == dict(served_extension, short_name="100"), client_id
    assert restored(run.results["1001"]["extension"])["extra_params"] == KEYED_PARAMS
    assert {k: restored(run.results["1001"]["client"])[k] for k in KEYED_CLIENT} == KEYED_CLIENT
