"""telphin.pbx.phones_to_bindings: the export's items, which a rollout takes as they are."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.telphin.pbx.plugins.filter import phones_to_bindings as module
from ansible_collections.telphin.pbx.plugins.filter.phones_to_bindings import FilterModule, phones_to_bindings
from ansible_collections.telphin.pbx.plugins.module_utils._bulk import check_items


def phone(extension, **values):
    return {"extension": extension, "extension_full_name": "000*" + extension, "extension_id": 1, "phone": values}


PHONES = [phone("101", external_number="+11234567890", label="Sales", dtmf_mode="info"),
          phone("100", external_number="89161234567", label="Desk", record_format="wav_mono"),
          phone("102", external_number=None, label="Spare"),
          phone("103", label="No number key"),
          phone("104", external_number="81234567890", conference_pin="********")]


def test_numbers_as_stored_not_valid_ones_marked_and_missing_keys_skipped():
    got = phones_to_bindings(PHONES, keys=["external_number", "record_format", "conference_pin"])
    assert got == [{"extension": "100", "external_number": "89161234567", "record_format": "wav_mono"},
                   {"extension": "101", "external_number": "+11234567890", "number_check": "possible"},
                   {"extension": "102", "external_number": ""},
                   {"extension": "103", "external_number": ""},
                   {"extension": "104", "external_number": "81234567890", "number_check": "possible"}]
    # what the rollout checks first (no request): every item is taken, with a warning for each accepted number
    warnings = []
    assert check_items(got, "always", warnings=warnings)[1] == []
    assert len(warnings) == 2
    # without the mark the rollout refuses them (the bug: "not a valid number")
    unmarked = [{k: v for k, v in item.items() if k != "number_check"} for item in got]
    assert len(check_items(unmarked, "always")[1]) == 2


def test_a_phone_with_none_of_the_keys_gets_no_item():
    assert phones_to_bindings(PHONES, keys=["record_format"]) == [{"extension": "100", "record_format": "wav_mono"}]
    assert phones_to_bindings(PHONES, keys=[]) == []


def test_the_region_reads_numbers_stored_without_a_country_code():
    # 8 916 ... is a valid RU number; read in BY it is not
    assert "number_check" in phones_to_bindings([PHONES[1]], default_region="BY")[0]
    with pytest.raises(AnsibleFilterError, match="default_region 'XX' is not a region"):
        phones_to_bindings(PHONES, default_region="XX")


def test_a_stored_value_that_is_no_phone_number_is_written_as_stored_with_a_warning_naming_tenant_and_extension(
        monkeypatch):
    said = []
    monkeypatch.setattr(module.display, "warning", said.append)
    got = phones_to_bindings([phone("105", external_number="12")], tenant="acme")
    assert got == [{"extension": "105", "external_number": "12"}]
    assert said == ["telphin.pbx.phones_to_bindings: acme: extension 105: a rollout of the export will refuse the "
                    "stored number (fix it on the PBX or in the file): external_number '12' (+712) is not a possible "
                    "phone number: too short (phonenumbers: TOO_SHORT; default_region RU)"]


def test_the_tenant_named_in_a_warning_is_escaped(monkeypatch):
    # tenant= may be the client's name, which its staff typed: a line break or an ESC sequence would forge a line
    said = []
    monkeypatch.setattr(module.display, "warning", said.append)
    phones_to_bindings([phone("105", external_number="12")], tenant="Acme\x1b[2J\nPLAY RECAP \u202e")
    assert len(said) == 1
    assert said[0].startswith("telphin.pbx.phones_to_bindings: Acme\\x1b[2J\\nPLAY RECAP \\u202e: extension 105: ")
    assert not any(ch in said[0] for ch in "\x1b\n\u202e")


@pytest.mark.parametrize("keys, message", [
    (["external_number", "dtmf_mode"], "keys: dtmf_mode is not a phone property that bindings set"),
    (["dtmf_mode", "vendor_x"], "keys: dtmf_mode, vendor_x are not a phone property"),
    ("external_number", "keys must be a list of phone properties"),
])
def test_keys_that_bindings_do_not_set_are_refused(keys, message):
    with pytest.raises(AnsibleFilterError) as err:
        phones_to_bindings([], keys=keys)
    assert str(err.value).startswith("telphin.pbx.phones_to_bindings: " + message)


def test_what_is_not_extension_phone_infos_phones_is_refused():
    for bad in ({"phones": []}, [{"extension": "100"}], ["100"]):
        with pytest.raises(AnsibleFilterError, match="expected the phones of extension_phone_info"):
            phones_to_bindings(bad)


def test_the_filter_is_registered_by_its_name():
    assert FilterModule().filters() == {"phones_to_bindings": phones_to_bindings}
