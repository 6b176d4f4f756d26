"""A tenant is its client id (issue 30 items 3 and 4): a rename, a look-alike name, creation order or a reserved
name never moves bindings to another tenant or replaces the implicit localhost; every refusal is loud."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import yaml

from harness import api_calls, desired_number, play, save, tenant_world
from test_inventory import ansible_inventory, dealer_env, dealer_world, write_source
from tests import unsafe_yaml
from tests.reliability.lib import tenant_inventory

HOSTILE, ACME = 999, 1001


def world(names: Dict[int, str]) -> Dict[str, Any]:
    """``dealer_world`` whose clients have the ids and names of ``names`` (in that order), 4 phones each."""
    data = dealer_world(len(names))
    for (client_id, name), client, app in zip(names.items(), data["clients"], data["apps"]):
        client["id"], client["name"] = client_id, name
        app["user"]["client_id"] = client_id
    return data


def acme_bindings() -> List[Dict[str, str]]:
    return [{"extension": str(100 + i), "external_number": desired_number(1, i), "label": "Acme desk %d" % i}
            for i in range(3)]


def dealer_layout(tmp_path: Path, url: str, files: Dict[str, Dict[str, Any]], **options: Any) -> Path:
    """The documented dealer layout: the plugin's source and host_vars/<host name>/bindings.yml per host."""
    inv = tmp_path / "inventory"
    source = write_source(inv, "dealer.telphin.yml", dict({"source": "dealer", "api_url": url}, **options))
    for host, content in files.items():
        (inv / "host_vars" / host).mkdir(parents=True, exist_ok=True)
        (inv / "host_vars" / host / "bindings.yml").write_text(yaml.safe_dump(content))
    return source


def rollout(playbook, source: Path, *args: str):
    return playbook("telphin.pbx.rollout_bindings", {"all": {"hosts": {}}}, "-i", str(source), *args,
                    env=dealer_env(), extra_vars={"phone_bindings_max_changes": "100%"})


def flat(text: str) -> str:
    return " ".join(text.split())        # ansible-core 2.16 wraps warnings at 80 columns


def labels(state: Dict[str, Any], client_id: int) -> Dict[str, Any]:
    client = next(c for c in state["clients"] if c["id"] == client_id)
    return {e["name"].split("*")[-1]: (e["phone"].get("external_number"), e["phone"].get("label"))
            for e in client["extensions"] if e["type"] == "phone"}


# Regression (issue 30 item 3): client 999 renamed itself ＡＣＭＥ, became host acme (lowest id wins) and the rollout
# wrote Acme's numbers and labels to it, while the real Acme became acme_1001, silently unmanaged.
def test_a_look_alike_name_gets_no_other_tenants_bindings_and_the_refusal_names_both(
        emulator_factory, playbook, tmp_path):
    emu = emulator_factory(world({HOSTILE: "ＡＣＭＥ", ACME: "Acme"}))
    before = emu.state()
    source = dealer_layout(tmp_path, emu.url, {"acme": {"phone_bindings": acme_bindings()}})
    run = rollout(playbook, source)
    assert run.rc != 0
    text = flat(run.output)
    assert "the host name acme is the host name of clients 999 and 1001 alike, so no tenant gets it: client 999 " \
           "as acme_999, client 1001 as acme_1001" in text, text
    assert "tenant acme_999 (client 999): its name gives the host name 'acme', as the name of client 1001 does" in text
    assert "tenant acme_1001 (client 1001): its name gives the host name 'acme', as the name of client 999 does" in text
    assert "Nothing was sent" in text
    log = emu.requests()
    assert api_calls(log, "PUT") == [] and not [r for r in log if r["client_id"] in (HOSTILE, ACME)]
    assert labels(emu.state(), HOSTILE) == labels(before, HOSTILE)
    assert labels(emu.state(), ACME) == labels(before, ACME)


# Regression (issue 30 item 3): a new tenant named as a deleted one took its host name, and its host_vars with it.
def test_exported_bindings_are_pinned_and_a_new_tenant_taking_a_deleted_ones_name_is_refused(
        emulator_factory, playbook, tmp_path):
    old = emulator_factory(world({ACME: "Acme", 1002: "Globex"}))
    source = dealer_layout(tmp_path, old.url, {})
    out = tmp_path / "exported"
    export = playbook("telphin.pbx.export_bindings", {"all": {"hosts": {}}}, "-i", str(source), env=dealer_env(),
                      extra_vars={"telphin_export_dir": str(out)})
    assert export.rc == 0, export.output
    exported = unsafe_yaml.load((out / "acme.yml").read_text())
    assert exported["phone_bindings_client_id"] == ACME
    exported["phone_bindings"] = acme_bindings()        # the dealer edits the adopted file
    (source.parent / "host_vars" / "acme").mkdir(parents=True)
    (source.parent / "host_vars" / "acme" / "bindings.yml").write_text(yaml.safe_dump(exported))
    assert rollout(playbook, source).rc == 0
    assert labels(old.state(), ACME)["100"] == (desired_number(1, 0), "Acme desk 0")

    # Acme leaves; a new client is named Acme and gets host acme
    new = emulator_factory(world({1050: "Acme", 1002: "Globex"}))
    before = new.state()
    write_source(source.parent, source.name, {"source": "dealer", "api_url": new.url})
    run = rollout(playbook, source)
    assert run.rc != 0
    assert "tenant acme: the bindings are pinned to client 1001 (phone_bindings_client_id), but this host is " \
           "client 1050 (telphin_client_id). Nothing was sent" in flat(run.output), run.output
    assert not [r for r in new.requests() if r["client_id"] == 1050]
    assert labels(new.state(), 1050) == labels(before, 1050)


# Regression (issue 30 item 3): host_vars/<name> without a pin on a host named after an editable name were applied to
# whichever tenant had that name.
def test_unpinned_bindings_on_a_host_named_after_the_tenants_name_are_refused_with_the_migration(
        emulator_factory, playbook, tmp_path):
    emu = emulator_factory(world({ACME: "Acme"}))
    source = dealer_layout(tmp_path, emu.url, {"acme": {"phone_bindings": acme_bindings()}})
    run = rollout(playbook, source)
    assert run.rc != 0
    assert "tenant acme (client 1001): its host name comes from the tenant's name, which the tenant can edit, and " \
           "its phone_bindings carry no phone_bindings_client_id, so they could be another tenant's. Nothing was " \
           "sent. Check that they are client 1001's and add the line phone_bindings_client_id: 1001" \
           in flat(run.output), run.output
    assert not [r for r in emu.requests() if r["client_id"] == ACME]
    # the migration: the pin next to the bindings (or hostname: id, below)
    (source.parent / "host_vars" / "acme" / "pin.yml").write_text("phone_bindings_client_id: 1001\n")
    assert rollout(playbook, source).rc == 0
    assert labels(emu.state(), ACME)["102"] == (desired_number(1, 2), "Acme desk 2")


def test_a_static_telphin_client_id_in_host_vars_that_is_not_the_hosts_client_is_refused(
        emulator_factory, playbook, tmp_path):
    """host_vars override the plugin's host variables: a telphin_client_id there must still be the host's client."""
    emu = emulator_factory(world({1050: "Acme", ACME: "Acme Old"}))
    source = dealer_layout(tmp_path, emu.url, {"acme": {"phone_bindings": acme_bindings(),
                                                        "telphin_client_id": str(ACME)}})
    run = rollout(playbook, source)
    assert run.rc != 0
    assert "tenant acme: telphin_client_id is 1001, but the inventory (telphin.pbx.tenants) gives host acme client " \
           "1050" in flat(run.output), run.output
    assert api_calls(emu.requests(), "PUT") == []


def test_with_hostname_id_a_rename_keeps_the_bindings_with_their_tenant(emulator_factory, playbook, tmp_path):
    emu = emulator_factory(world({HOSTILE: "ＡＣＭＥ", ACME: "Acme Corp (renamed)"}))
    source = dealer_layout(tmp_path, emu.url, {str(ACME): {"phone_bindings": acme_bindings()}}, hostname="id")
    run = rollout(playbook, source)
    assert run.rc == 0, run.output
    assert labels(emu.state(), ACME)["101"] == (desired_number(1, 1), "Acme desk 1")
    assert api_calls([r for r in emu.requests() if r["client_id"] == HOSTILE], "PUT") == []


# Regression (issue 30 item 4): a tenant named localhost replaced the implicit localhost; a hosts: localhost play went
# over SSH with the tenant's variables.
def test_a_tenant_named_localhost_does_not_replace_the_implicit_localhost(emulator_factory, playbook, tmp_path):
    emu = emulator_factory(world({ACME: "Localhost", 1002: "All", 1003: "Telphin Tenants"}))
    source = dealer_layout(tmp_path, emu.url, {})
    listed = ansible_inventory(source, env=dealer_env())
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert sorted(data["telphin_tenants"]["hosts"]) == ["all_1002", "localhost_1001", "telphin_tenants_1003"]
    assert "the host name localhost is a name Ansible reserves" in flat(listed.stderr), listed.stderr
    where = "{{ {'host': inventory_hostname, 'tenant': telphin_client_id | default('none'), " \
            "'connection': ansible_connection | default('') } }}"
    local = playbook(play(save("where", "where"), "The controller itself", hosts="localhost", connection=None,
                          interpreter=False, play_vars={"where": where}),
                     {"all": {"hosts": {}}}, "-i", str(source), env=dealer_env())
    assert local.rc == 0, local.output
    assert local.results["where"] == {"host": "localhost", "tenant": "none", "connection": "local"}
    run = rollout(playbook, source)
    assert run.rc != 0
    assert "tenant localhost_1001 (client 1001): the host name its name gives, 'localhost', is one Ansible reserves" \
           in flat(run.output), run.output
    assert not [r for r in emu.requests() if r["client_id"] in (ACME, 1002, 1003)]


# Regression (issue 30 item 9): the default backup directory was backup/ inside the inventory directory, so every
# later run parsed the backups as inventory ("Skipping 'phone_bindings' ...").
def test_the_default_backup_directory_is_never_read_as_inventory(emulator_factory, playbook, tmp_path):
    emu = emulator_factory(tenant_world(tenants=1, phones=4, bound=0))
    inv = tmp_path / "inventory"
    inv.mkdir()
    (inv / "hosts.yml").write_text(yaml.safe_dump(tenant_inventory(emu.url, {1: [
        {"extension": "100", "external_number": desired_number(1, 0)}]})))
    first = playbook("telphin.pbx.rollout_bindings", inv, extra_vars={"phone_bindings_backup": True})
    assert first.rc == 0, first.output
    (backup,) = list(inv.rglob("*_phone_bindings.*.yml"))
    assert backup.parent == inv / ".phone_bindings_backup"
    again = playbook("telphin.pbx.rollout_bindings", inv, extra_vars={"phone_bindings_backup": True},
                     env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"})
    assert again.rc == 0, again.output
    assert "Skipping" not in again.output and "phone_bindings." not in flat(again.stderr), again.stderr


# Regression (issue 30 item 3): a backup restored with -e @file without --limit was applied to every tenant of the run
# (extra variables reach every host), so one tenant's numbers went to every tenant with the same extension names.
def test_a_backup_is_pinned_to_its_tenant_and_restores_no_other(emulator_factory, playbook, tmp_path):
    data = tenant_world(tenants=2, phones=4, bound=4)
    for client in data["clients"]:
        client["prefix"] = "000"            # many PBXs keep the default prefix: the same full extension names
    emu = emulator_factory(data)
    inv = tmp_path / "inventory"
    inv.mkdir()
    changed = [{"extension": "100", "external_number": "+79009990000"}]
    (inv / "hosts.yml").write_text(yaml.safe_dump(tenant_inventory(emu.url, {1: changed, 2: []})))
    assert playbook("telphin.pbx.rollout_bindings", inv, "--limit", "tenant1",
                    extra_vars={"phone_bindings_backup": True}).rc == 0
    (backup,) = list(inv.rglob("*_phone_bindings.*.yml"))
    assert unsafe_yaml.load(backup.read_text())["phone_bindings_client_id"] == 1001
    before = emu.state()
    emu.requests(clear=True)
    restore = playbook("telphin.pbx.rollout_bindings", inv, "-e", "@%s" % backup)      # no --limit
    assert restore.rc != 0
    assert "tenant tenant2: the bindings are pinned to client 1001 (phone_bindings_client_id), but this host is " \
           "client 1002" in flat(restore.output), restore.output
    assert labels(emu.state(), 1001)["100"][0] == desired_number(1, 0)
    assert labels(emu.state(), 1002) == labels(before, 1002)
    assert not [r for r in emu.requests() if r["client_id"] == 1002]


# Regression (issue 30 item 3): a rename gave the tenant a new host name and left its host_vars under the old one:
# its bindings were silently no longer applied.
def test_a_renamed_tenants_pinned_bindings_left_under_its_old_name_are_reported_and_refused(
        emulator_factory, playbook, tmp_path):
    emu = emulator_factory(world({ACME: "Acme Corp", 1002: "Globex"}))          # Acme renamed itself
    source = dealer_layout(tmp_path, emu.url, {"acme": {"phone_bindings": acme_bindings(),
                                                        "phone_bindings_client_id": ACME}})
    listed = ansible_inventory(source, env=dealer_env())
    assert listed.returncode == 0, listed.stderr
    assert "host_vars/acme next to this source pin client 1001, whose host name is acme_corp now" \
           in flat(listed.stderr), listed.stderr
    run = rollout(playbook, source)
    assert run.rc != 0
    assert "tenant acme_corp (client 1001): the host_vars of 'acme' next to the inventory source pin client 1001, " \
           "whose host name is acme_corp now" in flat(run.output), run.output
    assert not [r for r in emu.requests() if r["client_id"] == ACME]
    # moved to the new name, they apply again
    (source.parent / "host_vars" / "acme").rename(source.parent / "host_vars" / "acme_corp")
    again = rollout(playbook, source)
    assert again.rc == 0, again.output
    assert labels(emu.state(), ACME)["100"] == (desired_number(1, 0), "Acme desk 0")
