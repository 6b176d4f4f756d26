"""Tenant data stays data (issue 19): labels that look like Jinja go through the files Ansible reads back.

A tenant's staff can set a phone's label to a template. The backup file (restored with ``-e @file``) and the
export of ``telphin.pbx.export_bindings`` (adopted as ``host_vars``) hold such labels; a later run must give back
the exact strings and never evaluate them: a ``lookup('pipe', ...)`` in a label would run a command as the
controller's user, also in ``--check``. Each hostile label here tries to create a marker file. Runs with each
supported ansible-core (the integration suite runs once per venv).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, List

import yaml

from harness import api_calls, tenant_world
from tests.reliability.lib import phones, tenant_inventory

PHONES = 5


def hostile_labels(markers: Path) -> Dict[int, str]:
    """Extension id -> a label that a template engine would evaluate (each would create a marker file)."""
    return {
        1: '{{ lookup("pipe", "touch %s/ran-1") }}' % markers,
        2: "{%% if lookup('pipe', 'touch %s/ran-2') %%}{%% endif %%}Desk" % markers,
        3: "{# hidden #}{{ 7 * 6 }} Reception",
        4: "Desk } { {{ \"quoted\" }} \\ 'single' \u041f\u0440\u0438\u0451\u043c\u043d\u0430\u044f",
    }


def hostile_world(labels: Dict[int, str]):
    world = tenant_world(tenants=1, phones=PHONES, bound=2)
    for ext in world["clients"][0]["extensions"]:
        if ext["id"] in labels:
            ext["phone"]["label"] = labels[ext["id"]]
    return world


def hostile_tenant(emulator_factory, tmp_path: Path):
    """An emulator whose tenant 1 has the hostile labels; the marker directory, the labels, the phones' labels."""
    markers = tmp_path / "markers"
    markers.mkdir()
    labels = hostile_labels(markers)
    emu = emulator_factory(hostile_world(labels))
    return emu, markers, labels, labels_of(emu)


def labels_of(emu) -> Dict[int, str]:
    return {ext_id: phone.get("label") for ext_id, phone in phones(emu.state()).items()}


def ran(markers: Path) -> List[str]:
    return sorted(p.name for p in markers.iterdir())


def test_backup_then_restore_gives_back_hostile_labels_without_running_them(emulator_factory, playbook, tmp_path):
    emu, markers, labels, original = hostile_tenant(emulator_factory, tmp_path)
    backup_dir = tmp_path / "backups"
    rollout = [{"extension": str(100 + i), "label": "Sales %d" % i} for i in range(4)]
    run = playbook("telphin.pbx.rollout_bindings", tenant_inventory(emu.url, {1: rollout}, phone_bindings_backup=True,
                                                                    phone_bindings_backup_dir=str(backup_dir)))
    assert run.rc == 0, run.output
    assert [labels_of(emu)[i] for i in range(1, 5)] == ["Sales %d" % i for i in range(4)]
    (backup,) = list(backup_dir.iterdir())

    # The restore job, as the docs give it: the backup as extra variables, in check mode first.
    restore_inv = tenant_inventory(emu.url, {1: []})
    emu.requests(clear=True)
    check = playbook("telphin.pbx.rollout_bindings", restore_inv, "-e", "@%s" % backup, "--check", "--diff")
    assert check.rc == 0, check.output
    assert ran(markers) == [] and api_calls(emu.requests(), "PUT") == []
    assert labels[3] in check.output, check.output     # the diff shows the label to restore as it is, not "42"
    restore = playbook("telphin.pbx.rollout_bindings", restore_inv, "-e", "@%s" % backup)
    assert restore.rc == 0, restore.output
    assert ran(markers) == []
    assert labels_of(emu) == original         # byte for byte
    assert len(api_calls(emu.requests(), "PUT")) == 4


def test_export_adopted_as_host_vars_keeps_hostile_labels_as_data(emulator_factory, playbook, tmp_path):
    emu, markers, dummy, original = hostile_tenant(emulator_factory, tmp_path)
    export_dir = tmp_path / "exported"
    base = tenant_inventory(emu.url, {1: []})
    keys = '{"telphin_export_keys": ["external_number", "label"]}'
    export = playbook("telphin.pbx.export_bindings", base, "-e", keys, "-e", "telphin_export_dir=%s" % export_dir)
    assert export.rc == 0, export.output
    assert ran(markers) == []
    assert (export_dir / "tenant1.yml").read_text().count(": !unsafe ") == 4     # the four labels with braces

    # Adopt it: the tenant's host variables without phone_bindings, the export as host_vars/tenant1.yml.
    inventory = tmp_path / "inventory"
    (inventory / "host_vars").mkdir(parents=True)
    del base["all"]["children"]["telphin_tenants"]["hosts"]["tenant1"]["phone_bindings"]
    (inventory / "hosts.yml").write_text(yaml.safe_dump(base))
    shutil.copy(str(export_dir / "tenant1.yml"), str(inventory / "host_vars" / "tenant1.yml"))
    emu.requests(clear=True)
    check = playbook("telphin.pbx.rollout_bindings", inventory, "--check", "--diff")
    assert check.rc == 0, check.output
    assert ran(markers) == [] and "changed=0" in check.stdout
    rollout = playbook("telphin.pbx.rollout_bindings", inventory)
    assert rollout.rc == 0, rollout.output
    assert ran(markers) == [] and "changed=0" in rollout.stdout
    assert api_calls(emu.requests(), "PUT") == []
    assert labels_of(emu) == original

    # A label changed out of band is set back to the exported string, exactly.
    emu.requests(clear=True)
    out_of_band = playbook("telphin.pbx.rollout_bindings",
                           tenant_inventory(emu.url, {1: [{"extension": "100", "label": "moved"}]}))
    assert out_of_band.rc == 0, out_of_band.output
    again = playbook("telphin.pbx.rollout_bindings", inventory)
    assert again.rc == 0, again.output
    assert ran(markers) == [] and labels_of(emu) == original
