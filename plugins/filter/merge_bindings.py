# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: merge_bindings
short_description: Merge lists of phone bindings by extension, later lists winning per key
version_added: 1.2.0
description:
  - Composes C(phone_bindings) (or the O(telphin.pbx.extension_phones#module:bindings) option) from several lists,
    such as bindings common to every site of a dealer and the bindings of one site. C(common + site) fails as soon
    as both name one extension (an extension listed twice is refused); this filter merges such items into one.
  - Items are taken in order, the input list first, then each list given as an argument. An item that names the
    same extension as an earlier one is merged into it, key by key, its own values winning (also a V(null), which
    leaves that property as it is on the phone); the merged item keeps the place of the first, and the fullest
    name given (V("000*100") over V("100")).
  - Extensions are compared as the module compares them. C(extension) names after the module's check (a short
    name such as V("100") and a full name such as V("000*100") that ends in it are one extension; two full names
    with other prefixes are not), and C(extension_id) by id. An item with C(extension) and one with
    C(extension_id) are not merged (the names do not tell); the module refuses them if they are one extension.
  - An item that names no extension, names both, or names one with an integer (YAML reads an unquoted V(0101) as
    65) is refused, naming the list and the item. Nothing is sent anywhere; the values are copied as they are.
options:
  _input:
    description: The first list of bindings (items as in O(telphin.pbx.extension_phones#module:bindings)).
    type: list
    elements: dict
    required: true
  _lists:
    description: More lists of bindings, merged in order over the first; a later list wins per key.
    type: list
    elements: list
author:
  - telphin.pbx contributors
'''

EXAMPLES = r'''
# group_vars/telphin_tenants.yml: every tenant's reception phone
common_bindings:
  - extension: "100"
    label: Reception
    record_enabled: true

# host_vars/acme.yml: the site's own numbers, and a label of its own for 100
site_bindings:
  - extension: "000*100"
    external_number: "+7 987 654-32-10"
    label: Front desk
  - extension: "101"
    external_number: ""

# one item for 100 (extension "000*100", label "Front desk", record_enabled, the number), then 101
phone_bindings: "{{ common_bindings | telphin.pbx.merge_bindings(site_bindings) }}"

# Three lists: region, then site, then a temporary override
phone_bindings_three: "{{ common_bindings | telphin.pbx.merge_bindings(region_bindings, override_bindings) }}"
'''

RETURN = r'''
_value:
  description: One item per extension, in the order each was first named; each the merge of its items.
  type: list
  elements: dict
  sample: [{"extension": "000*100", "label": "Front desk", "record_enabled": true,
            "external_number": "+7 987 654-32-10"}, {"extension": "101", "external_number": ""}]
'''

from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple, Union

from ansible.errors import AnsibleFilterError

from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError
from ansible_collections.telphin.pbx.plugins.module_utils._resolve import (
    check_extension_name, is_id, same_extension_name)

Ref = Tuple[str, Union[int, str]]       # ("id", 46) or ("name", "000*100"), the name as the module checks it


def merge_bindings(first: Any, *more: Any) -> List[Dict[str, Any]]:
    """The items of ``first`` and then of each of ``more``, merged by extension; a later item wins per key."""
    merged: List[Dict[str, Any]] = []
    refs: List[Ref] = []
    for number, items in enumerate((first,) + more, start=1):
        if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
            raise AnsibleFilterError("telphin.pbx.merge_bindings: list %d is a %s, not a list of bindings"
                                     % (number, type(items).__name__))
        for index, item in enumerate(items):
            where = "list %d item %d" % (number, index)
            ref = _ref(item, where)
            at = next((i for i, seen in enumerate(refs) if _same(seen, ref)), None)
            if at is None:
                refs.append(ref)
                merged.append(dict(item))
            else:
                kept = merged[at].get("extension")
                merged[at].update(item)
                # the extension keeps its fullest name: "000*100" over "100" (one name for the items after)
                if ref[0] == "name" and "*" in str(ref[1]):
                    refs[at] = ref
                elif ref[0] == "name" and "*" in str(refs[at][1]):
                    merged[at]["extension"] = kept
    return merged


def _ref(item: Any, where: str) -> Ref:
    """What extension ``item`` names, checked as the module checks it."""
    if not isinstance(item, Mapping):
        raise AnsibleFilterError("telphin.pbx.merge_bindings: %s is not a mapping with extension (or extension_id)"
                                 % where)
    given = [key for key in ("extension", "extension_id") if item.get(key) is not None]
    if len(given) != 1:
        raise AnsibleFilterError("telphin.pbx.merge_bindings: %s: give exactly one of extension or extension_id"
                                 % where)
    if given == ["extension_id"]:
        if not is_id(item["extension_id"]):
            raise AnsibleFilterError("telphin.pbx.merge_bindings: %s: extension_id %r is not a positive integer"
                                     % (where, item["extension_id"]))
        return ("id", int(item["extension_id"]))
    try:
        return ("name", check_extension_name(item["extension"]))
    except InputError as exc:
        raise AnsibleFilterError("telphin.pbx.merge_bindings: %s: %s" % (where, exc)) from None


def _same(a: Ref, b: Ref) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "id":
        return a[1] == b[1]
    return same_extension_name(str(a[1]), str(b[1]))


class FilterModule:
    """The collection's filter that merges lists of bindings."""

    def filters(self) -> Dict[str, Callable[..., Any]]:
        return {"merge_bindings": merge_bindings}
