#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: api_info
short_description: Find out what a provider's API and one tenant do, before the first write
version_added: 1.1.0
description:
  - Probes one tenant (client) with a few reads and reports, as data (RV(api_info)) and as readable lines
    (RV(summary), RV(line)), what the collection meets there, so that a new provider's differences show before a
    rollout rather than in the middle of one.
  - "B(authentication): the credential that worked (O(app_id)/O(app_secret) or O(access_token)), the token
    lifetime the token endpoint states (C(expires_in)) and the token URL used; never a token or a secret."
  - "B(quota): the limit, the remaining count and the reset of the tenant's hourly quota from the C(X-RateLimit-*)
    headers, or that the provider sends none (then O(quota_reserve) has no figure to act on)."
  - "B(tenant): its client id and its extensions counted by type."
  - "B(paging): the page size (C(per_page)) that worked, the sizes refused, and whether the provider honours it: a
    first page shorter than the size asked while more rows follow shows a cap; a tenant whose whole list fits one
    page cannot show one, and the result says so."
  - "B(bundles): whether the provider lists bundles (then a bundle conflict is refused before any write) or not
    (then one is found only after the writes)."
  - "B(phone): the keys of one phone (the phone extension with the lowest id) that the collection does not manage,
    and the managed keys this provider does not return. No value of the phone is returned."
  - "B(clock): the server's C(Date) against the controller's clock; and the collection's version."
  - "Requests, in this order: the token (none when O(access_token) is given and accepted); C(GET /client/{id}/);
    the extension list, each page once (1 request when the tenant has no extension, 2 when it has fewer than a
    page, otherwise one per full page and one more), plus one refused first page, once, on a provider that refuses
    C(per_page=500) and serves 200 (two when it refuses 200 too and serves 30); C(GET /client/{id}/extensions_bundle/)
    (not with O(bundle_listing=false)); C(GET /extension/{id}/phone/) of one phone (none when the tenant has no
    phone extension). A tenant of 1 to 499 extensions on a provider that serves 500 rows per page costs
    B(6 requests). Retries of transient failures and token renewals add theirs, as in every module. It never writes."
  - Each finding is a code in RV(api_info.findings); the troubleshooting guide says what to do about each.
author:
  - Telphin PBX collection maintainers (@telphin-pbx)
extends_documentation_fragment:
  - telphin.pbx.connection
  - telphin.pbx.connection.ATTRIBUTES
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: This module only reads; it does the same in check mode.
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
  bundle_listing:
    description:
      - Whether to ask the provider for the tenant's bundle list.
      - Set it to V(false) for a provider known not to list bundles (a finding C(no_bundle_listing) of an earlier
        run). The request is then skipped and the result says so (C(bundles.asked) is V(false) in RV(api_info)).
    type: bool
    default: true
notes:
  - The output carries no secret and quotes no server text (names of phone keys and extension types only when they
    are plain words), so it can be attached to a support request as it is.
seealso:
  - module: telphin.pbx.extension_phones
  - module: telphin.pbx.extension_info
'''

EXAMPLES = r'''
- name: What does this provider do?
  telphin.pbx.api_info:
  register: api

- name: Show it
  ansible.builtin.debug:
    var: api.summary

- name: A scheduled run on a provider known to list no bundles
  telphin.pbx.api_info:
    client_id: "1001"
    bundle_listing: false
'''

RETURN = r'''
api_info:
  description: What the probe found, by topic; each topic has a C(note) in words.
  returned: success
  type: dict
  contains:
    collection_version:
      description: The version of the collection that ran the probe.
      type: str
      sample: 1.1.0
    authentication:
      description: >-
        C(credential) (V(app_id/app_secret) or V(access_token)), C(token_url) (without credentials or query),
        C(token_lifetime) (seconds, V(null) when not stated), C(tokens_issued).
      type: dict
      sample: {"credential": "app_id/app_secret", "token_url": "https://apiproxy.telphin.ru/oauth/token",
               "token_lifetime": 3600, "tokens_issued": 1, "note": "..."}
    quota:
      description: >-
        C(headers) (whether the provider sends C(X-RateLimit-*)), C(limit), C(remaining), C(reset) (seconds),
        C(quota_reserve).
      type: dict
      sample: {"headers": true, "limit": 3600, "remaining": 3594, "reset": 1820, "quota_reserve": 0, "note": "..."}
    tenant:
      description: C(client_id), C(extensions) (how many) and C(by_type) (how many of each type).
      type: dict
      sample: {"client_id": 1001, "extensions": 5, "by_type": {"phone": 4, "queue": 1}, "note": "..."}
    paging:
      description: >-
        C(per_page) (the size that worked), C(refused) (sizes the provider refused), C(first_page_rows), C(rows),
        C(pages) (pages read), C(honoured) (V(true), V(false), or V(null) when not provable with this tenant),
        C(cap) (the rows per page a capping provider serves).
      type: dict
      sample: {"per_page": 500, "refused": [], "first_page_rows": 5, "rows": 5, "pages": 2, "honoured": null,
               "cap": null, "note": "..."}
    bundles:
      description: >-
        C(asked), C(listed) (V(null) when not asked), C(count), and C(status) (the HTTP status of a provider that
        does not list them).
      type: dict
      sample: {"asked": true, "listed": true, "count": 1, "note": "..."}
    phone:
      description: C(extension_id) (the phone read), C(unmanaged_keys), C(missing_keys).
      type: dict
      sample: {"extension_id": 54, "unmanaged_keys": ["sip_transport"], "missing_keys": [], "note": "..."}
    clock:
      description: C(server_date), C(controller_date) (UTC) and C(skew_seconds) (server minus controller).
      type: dict
      sample: {"server_date": "2026-12-06T02:40:00Z", "controller_date": "2026-12-06T02:40:00Z",
               "skew_seconds": 0, "note": "..."}
    requests:
      description: Requests the probe sent, the token's included.
      type: int
      sample: 6
    findings:
      description: >-
        Codes of what differs from a provider that honours everything the collection uses: C(short_token),
        C(no_token_lifetime), C(no_rate_limit_headers), C(page_size_refused), C(page_cap), C(per_page_ignored),
        C(no_bundle_listing), C(unmanaged_phone_keys), C(missing_phone_keys), C(clock_skew).
      type: list
      elements: str
      sample: ["no_bundle_listing"]
summary:
  description: The findings in words, one line per topic.
  returned: success
  type: list
  elements: str
line:
  description: The tenant in one line (what C(telphin.pbx.check_api) prints).
  returned: success
  type: str
  sample: >-
    client 1001: app_id/app_secret, token 3600 s | quota 3594/3600 left | per_page 500 (cap not provable) |
    bundles listed | phone keys +0 -0 | clock +0 s | 6 requests, no write | findings: none
requests:
  description: Requests sent to the API during the run, by kind, with C(total) and C(retried).
  returned: >-
    always, also when the task fails, except when it is refused before the API client is set up (an option refused
    by the argument spec or as a connection option, or urllib3 missing)
  type: dict
  sample: {"token": 1, "GET": 5, "total": 6, "retried": 0}
quota:
  description: The tenant's hourly request quota as the last response reported it (C(X-RateLimit-*)).
  returned: >-
    always, also when the task fails, except when it is refused before the API client is set up (an option refused
    by the argument spec or as a connection option, or urllib3 missing)
  type: dict
  sample: {"limit": 3600, "remaining": 3594, "reset": 1820}
'''

from ansible_collections.telphin.pbx.plugins.module_utils._ansible import run_module, telphin_module


def main() -> None:
    run_module(telphin_module("api_info"), "api_info")


if __name__ == "__main__":
    main()
