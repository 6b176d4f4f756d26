"""The inventory plugin telphin.pbx.tenants through real ``ansible-inventory`` and ``ansible-playbook`` runs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import yaml

from ansible.parsing.vault import VaultLib, VaultSecret

from harness import ANSIBLE_BIN, COLLECTIONS_ROOT, api_calls, desired_number, plain, play, tenant_world, token_calls
from tests import unsafe_yaml

DEALER, DEALER_APP, DEALER_SECRET = 10, "dealer-app", "dealer-secret-Zx61"
PHONES, BOUND, WANTED = 4, 1, 3
VAULT_PASSWORD = "vault-pw-for-tests"


def dealer_world(tenants: int, phones: int = PHONES, bound: int = BOUND) -> Dict[str, Any]:
    """``tenant_world`` whose clients belong to one dealer with its own trusted app."""
    world = tenant_world(tenants=tenants, phones=phones, bound=bound)
    world["dealers"] = [{"id": DEALER, "name": "Example Telecom"}]
    for item in world["clients"]:
        item["dealer_id"] = DEALER
    world["apps"].append({"app_id": DEALER_APP, "app_secret": DEALER_SECRET, "type": "trusted", "access_level": "all",
                          "user": {"id": 900, "login": "ops@dealer", "access": "full", "dealer_id": DEALER}})
    return world


def dealer_env() -> Dict[str, str]:
    """The dealer app as AWX injects a credential: environment variables."""
    return {"TELPHIN_APP_ID": DEALER_APP, "TELPHIN_APP_SECRET": DEALER_SECRET}


def ansible_inventory(source: Path, *args: str, env: Dict[str, str]) -> subprocess.CompletedProcess:
    """``ansible-inventory -i source --list`` with the environment of the ``playbook`` fixture."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TELPHIN_", "ANSIBLE_"))}
    work = source.parent
    environment.update({
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_ROOT), "ANSIBLE_HOME": str(work / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(work / "ansible-tmp"), "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
    })
    environment.update(env)
    command = [str(ANSIBLE_BIN / "ansible-inventory"), "-i", str(source), "--list", *args]
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300, check=False)


def write_source(directory: Path, name: str, config: Dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(yaml.safe_dump(dict({"plugin": "telphin.pbx.tenants"}, **config)))
    return path


def bindings(n: int) -> List[Dict[str, str]]:
    return [{"extension": str(100 + i), "external_number": desired_number(n, i)} for i in range(WANTED)]


def numbers(state: Dict[str, Any]) -> Dict[Any, Any]:
    return {(c["id"], e["name"]): e.get("phone", {}).get("external_number")
            for c in state["clients"] for e in c["extensions"] if e["type"] == "phone"}


def test_ansible_inventory_lists_the_dealers_tenants(emulator_factory, tmp_path):
    emu = emulator_factory(dealer_world(3))
    source = write_source(tmp_path / "inv", "dealer.telphin.yml", {
        "source": "dealer", "api_url": emu.url, "with_extensions": True, "extension_type": "phone",
        "keyed_groups": [{"key": "telphin_client.prefix", "prefix": "prefix"}],
        "compose": {"phone_count": "telphin_extensions | length"}})
    run = ansible_inventory(source, env=dealer_env())
    assert run.returncode == 0, run.stdout + run.stderr
    data = plain(json.loads(run.stdout))
    assert sorted(data["telphin_tenants"]["hosts"]) == ["tenant_1", "tenant_2", "tenant_3"]
    assert data["prefix_020"]["hosts"] == ["tenant_2"]
    hv = data["_meta"]["hostvars"]["tenant_2"]
    assert hv["telphin_client_id"] == "1002" and hv["telphin_client"]["name"] == "Tenant 2"
    assert hv["telphin_api_url"] == emu.url
    assert [e["short_name"] for e in hv["telphin_extensions"]] == ["100", "101", "102", "103"]
    assert int(hv["phone_count"]) == PHONES
    assert DEALER_SECRET not in run.stdout + run.stderr and "telphin_app_secret" not in run.stdout
    assert not any(token in run.stdout + run.stderr for token in emu.tokens())
    log = emu.requests()
    # one token, the user, the clients (dealer's bucket), the phones of each tenant (tenant's bucket); each list
    # shorter than 500 is a page and the empty page that ends it
    assert len(token_calls(log)) == 1 and {r["app_id"] for r in log} == {DEALER_APP}
    assert [r["path"] for r in log[1:4]] == ["/api/ver1.0/user/"] + ["/api/ver1.0/dealer/10/client/"] * 2
    assert [r["client_id"] for r in log[4:]] == [1001, 1001, 1002, 1002, 1003, 1003] and len(log) == 10


def test_rollout_playbook_runs_on_the_plugin_inventory(emulator_factory, playbook, tmp_path):
    emu = emulator_factory(dealer_world(3))
    inv_dir = tmp_path / "inv"
    # api_url only in the inventory file: the plugin's host variable telphin_api_url takes the role there too
    source = write_source(inv_dir, "tenants.telphin.yml", {"source": "dealer", "api_url": emu.url})
    (inv_dir / "host_vars").mkdir()
    for n in (1, 2, 3):
        # host names from the tenants' names: the bindings are pinned to their client (issue 30)
        (inv_dir / "host_vars" / ("tenant_%d.yml" % n)).write_text(yaml.safe_dump(
            {"phone_bindings": bindings(n), "phone_bindings_client_id": 1000 + n}))
    run = playbook("telphin.pbx.rollout_bindings", {"all": {"hosts": {}}}, "-i", str(source), env=dealer_env(),
                   extra_vars={"phone_bindings_max_changes": "100%"})      # a first rollout: lift the guard
    assert run.rc == 0, run.output
    for n in (1, 2, 3):
        assert "tenant_%d: %d phones looked at, %d changed" % (n, WANTED, WANTED - BOUND) in run.stdout
    state = numbers(emu.state())
    assert all(state[(1000 + n, "0%d0*%d" % (n, 100 + i))] == desired_number(n, i)
               for n in (1, 2, 3) for i in range(WANTED))
    log = emu.requests()
    assert len(token_calls(log)) == 1 + 3       # the inventory's, then one per tenant
    assert len(api_calls(log, "PUT")) == 3 * (WANTED - BOUND)
    assert DEALER_SECRET not in run.output

    emu.requests(clear=True)
    again = playbook("telphin.pbx.rollout_bindings", {"all": {"hosts": {}}}, "-i", str(source), env=dealer_env())
    assert again.rc == 0 and api_calls(emu.requests(), "PUT") == []
    assert again.stdout.count("changed=0") == 3


# Regression (issue 12 item 15): a page shorter than 500 was taken as the last one, so behind a provider that caps
# per_page below 500 the inventory plugin, the export playbook and extension_info each saw the first page only.
def test_a_provider_capping_per_page_at_50_has_every_page_read_by_inventory_export_and_info(
        emulator_factory, playbook, tmp_path):
    capped = dealer_world(1, phones=120, bound=120)         # 120 phones and a queue: pages of 50, 50 and 21
    capped["defaults"]["per_page_max"] = 50                 # the emulator clamps per_page=500 to 50
    emu = emulator_factory(capped)
    source = write_source(tmp_path / "inv", "dealer.telphin.yml", {
        "source": "dealer", "api_url": emu.url, "with_extensions": True})
    listed = ansible_inventory(source, env=dealer_env())
    assert listed.returncode == 0, listed.stdout + listed.stderr
    extensions = plain(json.loads(listed.stdout))["_meta"]["hostvars"]["tenant_1"]["telphin_extensions"]
    assert len(extensions) == 121 and len({e["id"] for e in extensions}) == 121
    pages = [r for r in emu.requests(clear=True) if r["path"].endswith("/client/1001/extension/")]
    assert [(r["query"]["page"], r["query"]["per_page"]) for r in pages] == [("1", "500"), ("2", "500"), ("3", "500")]

    out = tmp_path / "exported"
    export = playbook("telphin.pbx.export_bindings", {"all": {"hosts": {}}}, "-i", str(source), env=dealer_env(),
                      extra_vars={"telphin_export_dir": str(out)})
    assert export.rc == 0, export.output
    exported = unsafe_yaml.load((out / "tenant_1.yml").read_text())["phone_bindings"]
    assert [b["extension"] for b in exported] == [str(100 + i) for i in range(120)]
    assert all(b["external_number"] == desired_number(1, i) for i, b in enumerate(exported))

    info = playbook(play("""
        - name: List them
          telphin.pbx.extension_info:
            api_url: "{{ telphin_api_url }}"
            client_id: "{{ telphin_client_id }}"
          register: found
        - name: Save them
          ansible.builtin.copy:
            content: "{{ found | to_json }}"
            dest: "{{ results_dir }}/{{ inventory_hostname }}.json"
            mode: "0600"
        """, "The tenant's extensions", hosts="telphin_tenants"), {"all": {"hosts": {}}}, "-i", str(source),
                    env=dealer_env())
    assert info.rc == 0, info.output
    assert sorted(e["id"] for e in info.results["tenant_1"]["extensions"]) == sorted(e["id"] for e in extensions)


def test_list_source_exports_vaulted_credentials_encrypted_and_the_role_uses_them(
        emulator_factory, playbook, tmp_path):
    emu = emulator_factory(tenant_world(tenants=2, phones=PHONES, bound=BOUND))
    vault = VaultLib([("default", VaultSecret(VAULT_PASSWORD.encode()))])
    password_file = tmp_path / "vault-pass.txt"
    password_file.write_text(VAULT_PASSWORD + "\n")
    lines = ["plugin: telphin.pbx.tenants", "source: list", "api_url: %s" % emu.url, "export_credentials: true",
             "tenants:"]
    for n in (1, 2):
        cipher = vault.encrypt("secret-tenant%d-Xq9" % n).decode()
        lines += ["  - name: t%d" % n, "    app_id: tenant%d-app" % n, "    app_secret: !vault |"]
        lines += ["      " + line for line in cipher.splitlines()]
    inv_dir = tmp_path / "inv"
    inv_dir.mkdir()
    source = inv_dir / "telphin.yml"
    source.write_text("\n".join(lines) + "\n")
    (inv_dir / "host_vars").mkdir()
    for n in (1, 2):
        (inv_dir / "host_vars" / ("t%d.yml" % n)).write_text(yaml.safe_dump({"phone_bindings": bindings(n)}))

    listed = ansible_inventory(source, "--vault-password-file", str(password_file), env={})
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "secret-tenant1-Xq9" not in listed.stdout + listed.stderr
    hostvars = json.loads(listed.stdout)["_meta"]["hostvars"]
    assert "__ansible_vault" in hostvars["t1"]["telphin_app_secret"]
    assert plain(hostvars["t2"]["telphin_app_id"]) == "tenant2-app"
    assert {r["app_id"] for r in token_calls(emu.requests(clear=True))} == {"tenant1-app", "tenant2-app"}

    run = playbook("telphin.pbx.rollout_bindings", {"all": {"hosts": {}}}, "-i", str(source),
                   "--vault-password-file", str(password_file), extra_vars={"phone_bindings_max_changes": "100%"})
    assert run.rc == 0, run.output
    log = emu.requests()
    assert sorted(r["app_id"] for r in token_calls(log)) == ["tenant1-app", "tenant1-app", "tenant2-app",
                                                             "tenant2-app"]  # inventory + role, per tenant
    assert all(r["app_id"] == "tenant%d-app" % (r["client_id"] - 1000) for r in log if r["client_id"])
    assert "secret-tenant1-Xq9" not in run.output and "secret-tenant2-Xq9" not in run.output
    state = numbers(emu.state())
    assert all(state[(1000 + n, "0%d0*%d" % (n, 100 + i))] == desired_number(n, i) for n in (1, 2)
               for i in range(WANTED))


def test_inventory_cache_hit_sends_no_request_and_flush_cache_reads_again(emulator_factory, playbook, tmp_path):
    emu = emulator_factory(dealer_world(2))
    cache_dir = tmp_path / "cache"
    source = write_source(tmp_path / "inv", "dealer.telphin.yml", {
        "api_url": emu.url, "dealer_id": DEALER, "with_extensions": True, "cache": True,
        "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(cache_dir), "cache_timeout": 600})
    first = ansible_inventory(source, env=dealer_env())
    assert first.returncode == 0, first.stderr
    assert len(emu.requests(clear=True)) == 1 + 2 + 2 * 2  # token, client list, extensions of each tenant (2 pages)
    cached = "".join(p.read_text() for p in cache_dir.iterdir())
    assert "Tenant 1" in cached and DEALER_SECRET not in cached
    assert not any(token in cached for token in emu.tokens())

    second = ansible_inventory(source, env=dealer_env())
    assert second.returncode == 0, second.stderr
    assert emu.requests() == []
    assert plain(json.loads(second.stdout)) == plain(json.loads(first.stdout))

    # ansible-inventory --flush-cache needs ansible-core 2.17; ansible-playbook has it in every version
    flushed = playbook(play("", "Nothing but the inventory", hosts="telphin_tenants", connection=None,
                            interpreter=False), {"all": {"hosts": {}}}, "-i", str(source), "--flush-cache",
                       env=dealer_env())
    assert flushed.rc == 0, flushed.output
    assert len(emu.requests(clear=True)) == 7
    assert ansible_inventory(source, env=dealer_env()).returncode == 0 and emu.requests() == []


def test_errors_fail_the_source_with_a_clear_message_and_no_secret(emulator_factory, tmp_path):
    emu = emulator_factory(dealer_world(1))
    source = write_source(tmp_path / "inv", "dealer.telphin.yml", {"api_url": emu.url})
    wrong = ansible_inventory(source, env={"TELPHIN_APP_ID": DEALER_APP, "TELPHIN_APP_SECRET": "wrong-Secret-42"})
    text = " ".join(wrong.stderr.split())         # ansible-core 2.16 wraps warnings at 80 columns
    assert wrong.returncode != 0
    assert "telphin.pbx.tenants: reading the app's user (GET /user/): the token endpoint refused app_id " \
           "'dealer-app'" in text
    assert "wrong-Secret-42" not in wrong.stdout + wrong.stderr

    tenant_app = ansible_inventory(source, env={"TELPHIN_APP_ID": "tenant1-app",
                                                "TELPHIN_APP_SECRET": "secret-tenant1-Xq9"})
    text = " ".join(tenant_app.stderr.split())
    assert tenant_app.returncode != 0
    assert "needs a dealer-level trusted app, but the user of app tenant1-app has no dealer_id (it belongs to " \
           "client 1001)" in text
    assert "secret-tenant1-Xq9" not in tenant_app.stdout + tenant_app.stderr


def test_an_error_reply_echoing_the_dealer_secret_is_masked_in_the_output(emulator_factory, tmp_path):
    emu = emulator_factory(dealer_world(1))
    emu.set_faults([{"match": {"path": "^/oauth/token"}, "action": "status", "status": 500,
                     "body": {"error": "server_error",
                              "error_description": "cannot check client_id=%s&client_secret=%s (twice: %s)"
                                                   % (DEALER_APP, DEALER_SECRET, DEALER_SECRET)}}])
    source = write_source(tmp_path / "inv", "dealer.telphin.yml", {"api_url": emu.url})
    run = ansible_inventory(source, "-vvvv", env=dealer_env())
    text = " ".join(run.stderr.split())
    assert run.returncode != 0
    assert "telphin.pbx.tenants: reading the app's user (GET /user/)" in text, text
    assert DEALER_SECRET not in run.stdout + run.stderr
    assert 1 < len(token_calls(emu.requests())) <= 5   # a token endpoint's 500 is retried (issue 25), boundedly


def test_an_entry_on_another_providers_host_without_credentials_is_refused_before_any_request(
        emulator_factory, tmp_path):
    emu, other = emulator_factory(dealer_world(1)), emulator_factory(dealer_world(1))
    source = write_source(tmp_path / "inv", "tenants.telphin.yml", {
        "source": "list", "api_url": emu.url,
        "tenants": [{"name": "near", "client_id": "1001"}, {"name": "far", "client_id": "1001", "api_url": other.url}]})
    run = ansible_inventory(source, env=dealer_env())
    text = " ".join(run.stderr.split())
    assert run.returncode != 0
    assert "tenants[2] (far): the plugin's credentials are sent only to its own API host, and this entry's api_url " \
           "and token_url point elsewhere: give the entry its own app_id and app_secret" in text, text
    assert other.requests() == [] and emu.requests() == []
    assert DEALER_SECRET not in run.stdout + run.stderr


def test_a_host_name_with_a_trailing_newline_is_refused(emulator_factory, tmp_path):
    emu = emulator_factory(dealer_world(1))
    source = write_source(tmp_path / "inv", "tenants.telphin.yml", {
        "source": "list", "api_url": emu.url, "tenants": [{"name": "acme\n", "client_id": "1001"}]})
    run = ansible_inventory(source, env=dealer_env())
    assert run.returncode != 0
    assert "tenants[1]: name 'acme\\n' is not a host name" in " ".join(run.stderr.split()), run.stderr
    assert emu.requests() == []
