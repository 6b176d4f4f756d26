# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: to_unsafe_yaml
short_description: YAML for Ansible to read back, with every string tagged !unsafe
version_added: 1.1.0
description:
  - Writes data as a block-style YAML document in which every string, mapping keys included, is tagged
    C(!unsafe), whatever it holds. Ansible loads such a string (from C(host_vars), C(group_vars), C(vars_files)
    or C(-e @file)) as the exact string and never evaluates it as a template, on every supported ansible-core.
  - No string is judged by its content. A template need not hold C({) or C(}); a string that starts with a
    C(#jinja2:) header can change the delimiters (for example to C([[ ]])), and ansible-core 2.16 to 2.21 all
    evaluate such a string when it is not tagged. telphin.pbx 1.1.0 tagged only the strings holding C({) or C(});
    every string is tagged since.
  - A mapping key too long for YAML's implicit form (over 1000 bytes written) is written as an explicit
    C(? key) entry, which Ansible loads the same way.
  - Use it for values read from the API (labels and other properties that each tenant's own staff can edit) that
    are written to a file a later run reads, as C(telphin.pbx.export_bindings) does. With
    C(ansible.builtin.to_nice_yaml), a label such as V({{ lookup\('pipe', 'id'\) }}) would run the command on the
    controller when the file is read back.
  - The same rule as the C(telphin.pbx.tenants) inventory plugin's host variables and the backup files of
    C(telphin.pbx.extension_phones). Every string is double-quoted, with the characters YAML would change or refuse
    written as escapes.
  - The document needs a YAML reader that knows the C(!unsafe) tag (Ansible's; PyYAML's C(safe_load) refuses it).
options:
  _input:
    description: The data to write (mappings, lists, strings, numbers, booleans, null).
    type: raw
    required: true
author:
  - telphin.pbx contributors
'''

EXAMPLES = r'''
- name: Write the tenant's bindings as host_vars that a later run reads as data
  ansible.builtin.copy:
    dest: "host_vars/{{ inventory_hostname }}.yml"
    # pinned to the client the bindings are of: the phone_bindings role writes them to that client only
    content: "{{ {'phone_bindings': bindings, 'phone_bindings_client_id': telphin_client_id}
                 | telphin.pbx.to_unsafe_yaml }}"
    mode: "0644"
  vars:
    bindings:
      - extension: "100"
        label: "{{ phones.results[0].phone.label }}"
'''

RETURN = r'''
_value:
  description: The YAML document, ending with a line break (C(---) first).
  type: string
  sample: "--- !unsafe\n\"phone_bindings\": !unsafe\n  - !unsafe\n    \"extension\": \"100\"\n    \"label\": \"{{ 7 * 6 }}\"\n"
'''

from typing import Any, Callable, Dict

from ansible.errors import AnsibleFilterError

from ansible_collections.telphin.pbx.plugins.module_utils._unsafe import yaml_document


def to_unsafe_yaml(data: Any) -> str:
    """``data`` as a YAML document; every string is tagged ``!unsafe``."""
    try:
        return yaml_document(data)
    except TypeError as exc:
        raise AnsibleFilterError("telphin.pbx.to_unsafe_yaml: %s" % exc) from None


class FilterModule:
    """The collection's filters."""

    def filters(self) -> Dict[str, Callable[..., Any]]:
        return {"to_unsafe_yaml": to_unsafe_yaml}
