#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: extension_phone_info
short_description: Read the phone terminal properties of one extension
version_added: 0.1.0
description:
  - Returns the phone terminal properties (C(/extension/{id}/phone/)) of one C(phone) extension, every key the API
    returns, secrets masked.
  - Costs one token and one GET (plus the extension list when the extension is given by name).
author:
  - telphin.pbx contributors
extends_documentation_fragment:
  - telphin.pbx.connection
  - telphin.pbx.connection.ATTRIBUTES
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.info_module
options:
  extension_id:
    description: Numeric id of the extension. Mutually exclusive with O(extension_name).
    type: int
    version_added: 0.1.0
  extension_name:
    description: Name of the extension within O(client_id), short (V(100)) or full (V(000*100)).
    type: str
    version_added: 0.1.0
  client_id:
    description: Tenant (client) id used to resolve O(extension_name); V(@me) is the tenant of the app's user.
    type: str
    default: '@me'
    version_added: 0.1.0
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
'''

RETURN = r'''
extension_id:
  description: Id of the extension.
  returned: success
  type: int
  sample: 54
extension_name:
  description: Full name of the extension, when it was looked up by name.
  returned: success
  type: str
  sample: "000*100"
phone:
  description: The phone properties, every key the API returned, secrets masked.
  returned: success
  type: dict
  sample: {"external_number": "+79876543210", "label": "Reception", "auth_type": "digest"}
requests:
  description: Requests sent to the API during the run, by kind, with C(total) and C(retried).
  returned: always
  type: dict
  sample: {"token": 1, "GET": 1, "total": 2, "retried": 0}
quota:
  description: The tenant's hourly request quota as the last response reported it (C(X-RateLimit-*)).
  returned: always
  type: dict
  sample: {"limit": 3600, "remaining": 3412, "reset": 1820}
'''

from ansible_collections.telphin.pbx.plugins.module_utils.module import run_module, telphin_module
from ansible_collections.telphin.pbx.plugins.module_utils.runner import run_extension_phone_info


def main() -> None:
    module = telphin_module(
        dict(extension_id=dict(type="int"), extension_name=dict(type="str"), client_id=dict(type="str", default="@me")),
        supports_check_mode=True,
        mutually_exclusive=[("extension_id", "extension_name")],
        required_one_of=[("extension_id", "extension_name")])
    run_module(module, lambda client: run_extension_phone_info(client, module.params, client.secrets.add))


if __name__ == "__main__":
    main()
