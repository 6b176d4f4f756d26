#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: extension_info
short_description: List the extensions of one tenant
version_added: 1.0.0
description:
  - Returns the extensions of one tenant (client), reading every page of C(/client/{id}/extension/) once and nothing
    more (one request per 500 extensions; a list shorter than 500 costs two, the second an empty page that shows
    the list is complete, as a provider may send fewer rows per page than asked).
  - O(type) is filtered by the API; O(name) and O(extension_id) are filtered locally, as the API has no name filter.
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
  client_id:
    description: Tenant (client) id; V(@me) is the tenant of the app's user.
    type: str
    default: '@me'
  type:
    description:
      - Only extensions of this type, filtered by the API.
      - V(phone), V(queue), V(ivr) and V(fax) are documented; the vendor also documents conference extensions, whose
        type name is not public (V(conference) is a guess); any lower-case type name is sent as given, and a provider
        that does not know it refuses the request.
      - Without O(type), extensions of every type are returned, also types the collection does not know.
    type: str
  name:
    description: Only the extension with this short (V(100)) or full (V(000*100)) name.
    type: str
  extension_id:
    description: Only the extension with this id.
    type: int
seealso:
  - module: telphin.pbx.extension_phones
'''

EXAMPLES = r'''
- name: List the phone extensions of tenant 1001
  telphin.pbx.extension_info:
    client_id: "1001"
    type: phone
  register: phones

- name: Print their names
  ansible.builtin.debug:
    msg: "{{ phones.extensions | map(attribute='short_name') | list }}"
'''

RETURN = r'''
extensions:
  description: The extensions, as the API returns them, each with an added C(short_name) (the part after C(*)).
  returned: success
  type: list
  elements: dict
  sample: [{"id": 54, "name": "000*100", "short_name": "100", "type": "phone", "status": "active"}]
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
    run_module(telphin_module("extension_info"), "extension_info")


if __name__ == "__main__":
    main()
