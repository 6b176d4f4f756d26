#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: extension_phone_info
short_description: Read the phone terminal properties of one extension, or of every phone extension of a tenant
version_added: 1.0.0
description:
  - Returns the phone terminal properties (C(/extension/{id}/phone/)) of one C(phone) extension, every key the API
    returns, secrets masked.
  - Costs one token and one GET (plus the extension list when the extension is given by name).
  - Without O(extension_id) and O(extension_name), returns RV(phones), the phone of every phone extension of
    O(client_id), for drift reports and exports; that costs the extension list and one GET per phone extension.
author:
  - Telphin PBX collection maintainers (@telphin-pbx)
extends_documentation_fragment:
  - telphin.pbx.connection
  - telphin.pbx.connection.ATTRIBUTES
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: This module only reads.
  diff_mode:
    support: N/A
    details: This module only reads.
  platform:
    platforms: all
options:
  extension_id:
    description: Numeric id of the extension. Mutually exclusive with O(extension_name).
    type: int
  extension_name:
    description:
      - Name of the extension within O(client_id), short (V(100)) or full (V(000*100)).
      - The alias O(extension) is the key that the items of O(telphin.pbx.extension_phones#module:bindings) use.
      - A string; quote it in YAML. An integer is refused, as in O(telphin.pbx.extension_phones#module:bindings),
        since YAML reads an unquoted V(0101) as the octal number 65, which would name another extension.
    type: raw
    aliases: [extension]
  client_id:
    description: Tenant (client) id used to resolve O(extension_name); V(@me) is the tenant of the app's user.
    type: str
    default: '@me'
  parallel:
    description: Number of requests sent at once when reading every phone of the tenant (1 to 6).
    type: int
    default: 4
seealso:
  - module: telphin.pbx.extension_phone
  - module: telphin.pbx.extension_info
'''

EXAMPLES = r'''
- name: Read the phone of extension 100
  telphin.pbx.extension_phone_info:
    extension_name: "100"
  register: reception

- name: Show its external number
  ansible.builtin.debug:
    msg: "Extension 100 rings {{ reception.phone.external_number | default('no mobile', true) }}"

- name: Read every phone of tenant 1001 (one list, one GET per phone extension)
  telphin.pbx.extension_phone_info:
    client_id: "1001"
  register: tenant_phones
'''

RETURN = r'''
extension_id:
  description: Id of the extension.
  returned: success, when O(extension_id) or O(extension_name) is given
  type: int
  sample: 54
extension_name:
  description:
    - Full name of the extension, from the tenant's extension list.
    - V(null) when the extension was given by O(extension_id) with the default O(client_id), which reads no list.
  returned: success, when O(extension_id) or O(extension_name) is given
  type: str
  sample: "000*100"
phone:
  description: The phone properties, every key the API returned, secrets (a SIP C(password), C(conference_pin))
    masked.
  returned: success, when O(extension_id) or O(extension_name) is given
  type: dict
  sample: {"external_number": "+79876543210", "label": "Reception", "auth_type": "digest"}
phones:
  description:
    - Every phone extension of the tenant with its phone properties, secrets masked.
    - When some phones could not be read the task fails, and their C(phone) is empty.
  returned: >-
    when neither O(extension_id) nor O(extension_name) is given: on success, and when the task fails because some
    phones could not be read
  type: list
  elements: dict
  sample: [{"extension": "100", "extension_full_name": "000*100", "extension_id": 54,
            "phone": {"external_number": "+79876543210", "label": "Reception"}}]
requests:
  description: Requests sent to the API during the run, by kind, with C(total) and C(retried).
  returned: >-
    always, also when the task fails, except when it is refused before the API client is set up (an option refused
    by the argument spec or as a connection option, or urllib3 missing)
  type: dict
  sample: {"token": 1, "GET": 1, "total": 2, "retried": 0}
quota:
  description: The tenant's hourly request quota as the last response reported it (C(X-RateLimit-*)).
  returned: >-
    always, also when the task fails, except when it is refused before the API client is set up (an option refused
    by the argument spec or as a connection option, or urllib3 missing)
  type: dict
  sample: {"limit": 3600, "remaining": 3412, "reset": 1820}
'''

from ansible_collections.telphin.pbx.plugins.module_utils._ansible import run_module, telphin_module


def main() -> None:
    run_module(telphin_module("extension_phone_info"), "extension_phone_info")


if __name__ == "__main__":
    main()
