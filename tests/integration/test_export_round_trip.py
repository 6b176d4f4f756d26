"""The export round-trips (issue 32, item 4): a rollout of the exported host_vars changes nothing, also with
numbers phonenumbers calls not valid and with keys some phones lack; a vendor key is refused before any request."""

from __future__ import annotations

import re

import yaml

from harness import api_calls, tenant_world
from tests import unsafe_yaml
from tests.reliability.lib import tenant_inventory

EXPORT, ROLLOUT = "telphin.pbx.export_bindings", "telphin.pbx.rollout_bindings"
# three numbers phonenumbers calls not valid, one in the trunk-prefix form; no two the same number (the run refuses
# a number two tenants bind)
NOT_VALID = {(1, 3): "+11234567890", (1, 4): "81234567891", (2, 0): "+71234567890"}


def world():
    data = tenant_world(tenants=2, phones=6, bound=3)
    for (n, i), number in NOT_VALID.items():
        data["clients"][n - 1]["extensions"][i]["phone"]["external_number"] = number
    del data["clients"][0]["extensions"][5]["phone"]["label"]            # a phone without a label
    data["clients"][1]["extensions"][1]["phone"]["record_format"] = "wav_mono"
    data["clients"][1]["extensions"][2]["phone"]["hold_music"] = 3                # the others have none
    return data


def test_an_export_with_not_valid_numbers_and_missing_keys_rolls_out_with_no_change(
        emulator_factory, playbook, tmp_path):
    emu = emulator_factory(world())
    inv = tenant_inventory(emu.url, {1: [], 2: []}, phone_bindings_unbind_unlisted=True)
    keys = ["external_number", "label", "record_format", "hold_music", "password"]
    run = playbook(EXPORT, inv, extra_vars={"telphin_export_dir": str(tmp_path / "inv" / "host_vars"),
                                            "telphin_export_keys": keys})
    assert run.rc == 0, run.output
    text = (tmp_path / "inv" / "host_vars" / "tenant1.yml").read_text()
    assert text.startswith("---\n# Exported from tenant tenant1 by telphin.pbx.export_bindings.\n")
    exported = unsafe_yaml.load(text)["phone_bindings"]
    assert exported[3] == {"extension": "103", "external_number": "+11234567890", "label": "Desk 3",
                           "record_format": "mp3_mono", "number_check": "possible"}
    assert exported[4]["number_check"] == "possible" and "number_check" not in exported[0]
    assert exported[5] == {"extension": "105", "external_number": "", "record_format": "mp3_mono"}   # no label
    assert not any("hold_music" in item or "password" in item for item in exported)
    second = unsafe_yaml.load((tmp_path / "inv" / "host_vars" / "tenant2.yml").read_text())
    assert [item.get("hold_music") for item in second["phone_bindings"]] == [None, None, 3, None, None, None]

    # the files as host_vars of an inventory (the group's variables over them), as the export's header says
    hosts = inv["all"]["children"]["telphin_tenants"]["hosts"]
    for host in hosts.values():
        del host["phone_bindings"]
    (tmp_path / "inv" / "hosts.yml").write_text(yaml.safe_dump(inv))
    emu.requests(clear=True)
    rollout = playbook(ROLLOUT, tmp_path / "inv")
    assert rollout.rc == 0, rollout.output
    assert api_calls(emu.requests(), "PUT") == []
    assert len(re.findall(r"^tenant\d +: ok=\d+ +changed=0 +unreachable=0 +failed=0", rollout.stdout, re.M)) == 2
    assert "2 tenant(s): 0 changed (0 phone(s)), 2 in sync, 0 failed" in rollout.stdout


def test_a_vendor_key_is_refused_before_any_request(emulator_factory, playbook, tmp_path):
    emu = emulator_factory(world())
    run = playbook(EXPORT, tenant_inventory(emu.url, {1: [], 2: []}),
                   extra_vars={"telphin_export_dir": str(tmp_path / "out"), "telphin_export_keys":
                               ["external_number", "dtmf_mode"]})
    assert run.rc == 2
    assert "keys: dtmf_mode is not a phone property that bindings set" in run.stdout, run.output
    assert emu.requests() == [] and not (tmp_path / "out").exists()
