# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: phones_to_bindings
short_description: Bindings that a rollout takes as they are, from the phones a tenant has
version_added: 1.2.0
description:
  - Turns the RV(telphin.pbx.extension_phone_info#module:phones) of a tenant into items of
    O(telphin.pbx.extension_phones#module:bindings) (the C(phone_bindings) of the role), one per phone, sorted by
    extension, so that a rollout of them changes nothing. C(telphin.pbx.export_bindings) writes them as host_vars.
  - Each item has the phone's value of each of O(keys) that the phone has. A phone without a number (V(null) or
    no such key) gets C(external_number) V("") (unbound); a phone that has none of the other keys gets no item of
    its own unless C(external_number) is exported.
  - A stored number that is possible but not valid where it is read (C(phonenumbers), in O(default_region)) is
    written as stored, with C(number_check) V(possible) on its item, which the rollout then accepts with a
    warning (it would refuse it as "not a valid number"). A stored value that is not a possible phone number at
    all is written as stored, with a warning naming the tenant and the extension; a rollout of the file refuses it
    before any write (fix it on the PBX or in the file).
  - Secrets (C(password), C(conference_pin)) are never exported; the API never returns the SIP password anyway.
options:
  _input:
    description: The RV(telphin.pbx.extension_phone_info#module:phones) of one tenant.
    type: list
    elements: dict
    required: true
  keys:
    description:
      - The phone properties to export, each a key that the items of
        O(telphin.pbx.extension_phones#module:bindings) set; any other key (a vendor key such as C(dtmf_mode),
        which the API returns but the modules never set) is refused, as the rollout of the file would refuse it.
      - C(password) and C(conference_pin) are left out whatever is asked.
    type: list
    elements: str
    default: [external_number]
  default_region:
    description: Region of numbers stored without a country code, as the rollout reads them.
    type: str
    default: RU
  tenant:
    description: The tenant the phones are of, named in the warnings (escaped, as every name shown is).
    type: str
author:
  - telphin.pbx contributors
'''

EXAMPLES = r'''
- name: Read every phone of the tenant
  telphin.pbx.extension_phone_info:
    client_id: "{{ telphin_client_id }}"
  register: phones

- name: Write the tenant's bindings, numbers and labels, as host_vars
  ansible.builtin.copy:
    dest: "host_vars/{{ inventory_hostname }}.yml"
    # pinned to the client the bindings are of: the phone_bindings role writes them to that client only
    content: "{{ {'phone_bindings': bindings, 'phone_bindings_client_id': telphin_client_id}
                 | telphin.pbx.to_unsafe_yaml }}"
    mode: "0644"
  vars:
    bindings: "{{ phones.phones | telphin.pbx.phones_to_bindings(keys=['external_number', 'label'],
                                                                 tenant=inventory_hostname) }}"
'''

RETURN = r'''
_value:
  description: The items, sorted by extension.
  type: list
  elements: dict
  sample: [{"extension": "100", "external_number": "+79161234567"},
           {"extension": "101", "external_number": "+15125550110", "number_check": "possible"},
           {"extension": "102", "external_number": ""}]
'''

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError
from ansible_collections.telphin.pbx.plugins.module_utils._numbers import (
    DEFAULT_REGION, InvalidNumber, MissingLibrary, check_region, parse_number)
from ansible_collections.telphin.pbx.plugins.module_utils._phone import FIELDS
from ansible_collections.telphin.pbx.plugins.module_utils._words import shown

NEVER = ("password", "conference_pin")
display = Display()


def phones_to_bindings(phones: Any, keys: Sequence[str] = ("external_number",), default_region: str = DEFAULT_REGION,
                       tenant: Optional[str] = None) -> List[Dict[str, Any]]:
    """One item per phone of ``phones`` (``extension_phone_info``'s), with its values of ``keys``."""
    wanted = _keys(keys)
    try:
        region = check_region(default_region)
    except InputError as exc:
        raise AnsibleFilterError("telphin.pbx.phones_to_bindings: %s" % exc) from None
    if not isinstance(phones, Sequence) or isinstance(phones, (str, bytes)):
        raise AnsibleFilterError("telphin.pbx.phones_to_bindings: expected the phones of extension_phone_info, a list")
    items = []
    for entry in sorted(phones, key=lambda e: str(e.get("extension")) if isinstance(e, Mapping) else ""):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("phone"), Mapping):
            raise AnsibleFilterError("telphin.pbx.phones_to_bindings: expected the phones of extension_phone_info, "
                                     "each with extension and phone")
        item = _item(entry, wanted, region, tenant)
        if len(item) > 1:
            items.append(item)
    return items


def _keys(keys: Any) -> List[str]:
    """``keys`` checked: phone properties the bindings set, secrets left out."""
    if isinstance(keys, str) or not isinstance(keys, Sequence):
        raise AnsibleFilterError("telphin.pbx.phones_to_bindings: keys must be a list of phone properties")
    unknown = [str(k) for k in keys if k not in FIELDS]
    if unknown:
        raise AnsibleFilterError(
            "telphin.pbx.phones_to_bindings: keys: %s %s not a phone property that bindings set (a vendor key the "
            "API returns is never set, and a rollout would refuse it in the file); the properties are %s"
            % (", ".join(shown(k) for k in unknown), "is" if len(unknown) == 1 else "are",
               ", ".join(k for k in FIELDS if k not in NEVER)))
    return [str(k) for k in keys if k not in NEVER]


def _item(entry: Mapping[str, Any], keys: List[str], region: str, tenant: Optional[str]) -> Dict[str, Any]:
    phone = entry["phone"]
    item: Dict[str, Any] = {"extension": entry.get("extension")}
    for key in keys:
        value = phone.get(key)
        if key != "external_number":
            if value is not None:
                item[key] = value
        elif value is None or (isinstance(value, str) and not value.strip(" ")):
            item[key] = ""
        else:
            try:
                parse_number(value, region)
            except InvalidNumber:
                item["number_check"] = "possible"
            except MissingLibrary as exc:
                raise AnsibleFilterError("telphin.pbx.phones_to_bindings: %s" % exc) from None
            except InputError as exc:
                display.warning("telphin.pbx.phones_to_bindings: %sextension %s: a rollout of the export will refuse "
                                "the stored number (fix it on the PBX or in the file): %s"
                                % ("%s: " % shown(tenant) if tenant else "", shown(entry.get("extension")), exc))
            item[key] = value
    return item


class FilterModule:
    """The collection's filter that turns phones read into bindings."""

    def filters(self) -> Dict[str, Callable[..., Any]]:
        return {"phones_to_bindings": phones_to_bindings}
