#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: extension_phones
short_description: Make the phone terminals of many extensions of one tenant match a list, at the request floor
version_added: 1.0.0
description:
  - Bulk form of M(telphin.pbx.extension_phone) for one tenant (client) per task, above all for the external number
    bindings of a whole PBX, kept in Git.
  - "Requests sent, and nothing else: one token; the extension list, each page once; the bundle list once, only when
    an item sets a key that bundles synchronise; one phone GET per extension it must look at; one PUT per extension
    that differs, carrying only the differing keys."
  - "Before any write, every item is validated (unknown, non-phone or duplicated extension, bad value, the same
    external number on two listed extensions, two bundle members given different values for a synchronised key).
    Any problem fails the task with the full list and nothing is written."
  - "When an item sets a synchronised key and the API lists no bundles (its bundle list is answered 400, 404, 405 or 501: no public source documents that
    route), a warning says so,
    and after the writes the phones whose synchronised keys this run wrote are read back (one GET each), with any
    listed phone read before another was given a different value of one of its synchronised keys. A value
    overwritten by the write to another listed extension fails that item as a bundle conflict naming both: the
    two are members of one bundle and would overwrite each other on every run."
  - A failure on one extension does not stop the others; the task then fails listing the failed extensions, and a
    re-run converges. An exhausted quota, or reaching O(quota_reserve), stops the run at once and lists the
    extensions not processed.
author:
  - Telphin PBX collection maintainers (@telphin-pbx)
extends_documentation_fragment:
  - telphin.pbx.connection
  - telphin.pbx.connection.ATTRIBUTES
  - telphin.pbx.change_safety
  - telphin.pbx.phone_policy
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads every phone it must look at and predicts every change; never writes.
  diff_mode:
    support: full
    details: Shows before and after of the managed keys of each changed extension.
  platform:
    platforms: all
options:
  client_id:
    description: Tenant (client) id; V(@me) is the tenant of the app's user. Use an id with a dealer-level app.
    type: str
    default: '@me'
  bindings:
    description:
      - The desired phone properties, one item per extension.
      - Each item names its extension with exactly one of O(bindings[].extension) or O(bindings[].extension_id), and
        sets O(bindings[].external_number) and/or other phone properties, the options of M(telphin.pbx.extension_phone)
        of the same names. Keys an item does not set (or sets to V(null)) are not managed for that extension.
      - The module checks the items itself, all of them before any request, and fails listing every problem with
        the index of its item (such as C(bindings[3])). Unknown keys are refused with the other problems, so a
        typo cannot pass silently; no key passes through to the API unchecked.
      - The same external number may not be given to two listed extensions, nor one extension listed twice (also as
        V(100) and V(000*100), or by name and by id); every such pair is reported with both items.
      - SIP O(bindings[].password) values are masked in all output; see O(update_password).
    type: list
    elements: dict
    default: []
    suboptions:
      extension:
        description:
          - Name of the extension within O(client_id), short (V(100)) or full (V(000*100)), as a quoted string. An
            integer is refused, since YAML reads an unquoted V(0101) as the octal number 65.
          - Exactly one of O(bindings[].extension) and O(bindings[].extension_id) is required.
        type: str
      extension_id:
        description:
          - Numeric id of the extension (an integer, or a string of digits).
          - Exactly one of O(bindings[].extension) and O(bindings[].extension_id) is required.
        type: int
      external_number:
        description:
          - External (mobile) number bound to the terminal, as M(telphin.pbx.extension_phone)'s
            O(telphin.pbx.extension_phone#module:external_number).
          - Parsed and compared in E.164 with O(default_region); V("") unbinds.
          - Give a quoted string; an unquoted (integer) number is refused, as are impossible numbers and, unless
            O(bindings[].number_check) or O(number_check) is V(possible), numbers not valid where they are read.
          - V(null) (the key left empty in YAML) leaves the number as it is.
        type: str
      number_check:
        description:
          - O(number_check) for this item only.
        type: str
        choices: [valid, possible]
      label:
        description: Display name sent on outgoing calls.
        type: str
      announce_sound_upon_outgoing_call:
        description: Id of the sound file played on outgoing calls. Synchronised across a bundle.
        type: int
      announce_sound_upon_incoming_call:
        description: Id of the sound file played when an incoming call is answered. Synchronised across a bundle.
        type: int
      append_to_cid_name_on_transfer:
        description: Text appended to the caller name on transfer.
        type: str
      auth_type:
        description: How the terminal authenticates (case does not matter).
        type: str
        choices: [digest, network, both]
      call_screening_enabled:
        description: Whether the callee hears who calls and accepts the call with 1.
        type: bool
      conference_announce_caller_name:
        description: Whether the local conference announces callers. Synchronised across a bundle.
        type: bool
      conference_end_on_exit:
        description: Whether the local conference ends when its creator leaves. Synchronised across a bundle.
        type: bool
      conference_pin:
        description:
          - PIN of the local conference. Synchronised across a bundle.
          - A secret. It is compared with the value the API returns, but never shown (masked in results, diffs,
            messages and the logged invocation) and never written to backups or plans, like C(password); a phone
            whose only change is its PIN is counted by O(max_changes), its values masked in the refusal.
        type: str
      password:
        description:
          - SIP password of the terminal. Never logged or returned, and never written to backups or plans.
          - The API never returns it, so it cannot be compared; sent on every run with O(update_password=always),
            never with O(update_password=never).
        type: str
      allow_webrtc:
        description: Whether the terminal may register over WebRTC.
        type: bool
      record_enabled:
        description: Whether calls are recorded. Synchronised across a bundle.
        type: bool
      record_transfer:
        description: Whether transferred calls are recorded too. Synchronised across a bundle.
        type: bool
      record_format:
        description: Recording format, all 8 kHz (case does not matter). Synchronised across a bundle.
        type: str
        choices: [mp3_mono, mp3_stereo, wav_mono, wav_stereo]
      record_stereo:
        description: Whether recordings are stereo. Synchronised across a bundle.
        type: bool
      ringback_sound:
        description: Id of the ringback sound. Synchronised across a bundle.
        type: int
      hold_music:
        description: Id of the music-on-hold sound. Synchronised across a bundle.
        type: int
      geo_list:
        description:
          - Two-letter ISO codes of the countries the terminal may register from. Synchronised across a bundle.
          - Compared as a set (order and case do not matter); a string of codes separated by spaces or commas is
            accepted too.
          - V(["*"]) (or V("*")) allows every country and is sent as C(*).
          - An empty list sends C(null), which the vendor documents as the provider's default; what that default
            allows is not documented and may be narrower than every country. It does not remove the restriction;
            use V(["*"]) for that. An empty value read from the API is taken as C(null).
        type: list
        elements: str
      incoming_limit:
        description: Maximum number of simultaneous incoming calls. Synchronised across a bundle.
        type: int
  unbind_unlisted:
    description:
      - When V(true), every phone extension of the tenant that O(bindings) does not list gets its
        C(external_number) cleared. This is an explicit prune that makes O(bindings) the whole truth; it costs one
        GET per unlisted phone extension.
      - Refused when O(bindings) is empty, as it would unbind every extension.
    type: bool
    default: false
  parallel:
    description:
      - Number of requests sent at once within the tenant (1 to 6). The provider limits simultaneous connections;
        a "concurrent request" 429 is retried, and halves the number of requests sent at once, which grows back by
        one after 5 seconds without such a 429.
    type: int
    default: 4
  update_password:
    description:
      - When to send the C(password) of items. V(always) sends it on every run (the API never returns it, so it
        cannot be compared, and the item reports C(changed)); V(never) leaves passwords alone.
    type: str
    choices: [always, never]
    default: always
  default_region:
    description:
      - Two-letter ISO 3166 region of numbers written without V(+) and country code, for the items' C(external_number)
        and for the numbers the API returns.
      - The default V(RU) is the provider's home country.
    type: str
    default: RU
  number_check:
    description:
      - V(valid) refuses an item's C(external_number) that is not a valid number where it is read (no operator has
        been assigned it there; often a number of another country written without its country code, such as
        V((512\) 555-0110) with V(default_region=RU)); the message names the region and the E.164 forms the number
        is valid in elsewhere.
      - V(possible) accepts such numbers with a warning, for a range too new for the C(phonenumbers) library;
        O(bindings[].number_check) does it for one item.
    type: str
    choices: [valid, possible]
    default: valid
  report_unchanged:
    description:
      - List unchanged extensions in RV(results) too. By default RV(results) holds only the extensions that changed,
        failed or were not processed, so the result of a large tenant stays small (an AWX job event stores it
        whole); RV(summary) counts every extension either way.
    type: bool
    default: false
  bundle_listing:
    description:
      - Whether to ask the provider for the tenant's bundle list when an item sets a synchronised key.
      - Set it to V(false) for a provider known not to list bundles (the finding C(no_bundle_listing) of
        M(telphin.pbx.api_info) or the playbook C(telphin.pbx.check_api)). The request and its warning are skipped;
        the conflicts are looked for after the writes as on such a provider, and RV(bundle_listing) says so.
      - On a provider that does list bundles, V(false) gives up refusing a bundle conflict before any write.
      - The role C(telphin.pbx.phone_bindings) passes the host variable C(telphin_bundle_listing).
    type: bool
    default: true
requirements:
  - phonenumbers >= 8.12, when an item sets C(external_number)
notes:
  - A whole tenant in one module process; spread tenants over forks, hosts (C(--limit), C(throttle)) and AWX job
    slices with the M(telphin.pbx.extension_phones)-based role C(telphin.pbx.phone_bindings).
seealso:
  - module: telphin.pbx.extension_phone
  - module: telphin.pbx.extension_info
'''

EXAMPLES = r'''
- name: Bind the mobile numbers of a tenant's desk phones
  telphin.pbx.extension_phones:
    client_id: "1001"
    app_id: "{{ telphin_app_id }}"
    app_secret: "{{ telphin_app_secret }}"
    quota_reserve: 200
    bindings:
      - extension: "100"
        external_number: "+7 987 654-32-10"
      - extension: "000*101"
        external_number: "+79876543211"
        label: Sales
      - extension_id: 57
        external_number: ""   # unbind
  register: rollout

- name: Make the list the whole truth, as a drift report first (run with --check --diff)
  telphin.pbx.extension_phones:
    bindings: "{{ phone_bindings }}"
    unbind_unlisted: true
  check_mode: true
  register: drift

- name: Show what drifted
  ansible.builtin.debug:
    msg: "{{ drift.summary.changed }} extension(s) differ from Git"
'''

RETURN = r'''
results:
  description:
    - One entry per extension that changed (or would change in check mode), failed or was not processed, in the order
      of O(bindings), then the unlisted ones being unbound.
    - Unchanged extensions are listed too with O(report_unchanged=true); RV(summary) always counts them.
  returned: >-
    success, and failure of some extensions (failed, not processed, or stale with O(apply_plan)); not when the task
    fails before the phones are looked at (a refused item or option, an unknown extension, O(max_changes))
  type: list
  elements: dict
  contains:
    extension:
      description: Short name of the extension.
      type: str
      sample: "100"
    extension_full_name:
      description: Full name of the extension.
      type: str
      sample: "000*100"
    extension_id:
      description: Id of the extension.
      type: int
      sample: 54
    status:
      description:
        - V(changed), V(unchanged), V(failed) or V(skipped) (not processed after the run was stopped).
        - With O(apply_plan) also V(stale) (the phone changed since the plan was made; not written).
      type: str
      sample: changed
    changed:
      description: Whether the extension was (or in check mode would be) changed.
      type: bool
    before:
      description: The managed keys before.
      type: dict
      sample: {"external_number": null}
    after:
      description: The managed keys after (predicted in check mode).
      type: dict
      sample: {"external_number": "+79876543210"}
    error:
      description: Why this extension failed, or null.
      type: str
  sample: [{"extension": "100", "extension_full_name": "000*100", "extension_id": 54, "status": "changed",
            "changed": true, "before": {"external_number": null}, "after": {"external_number": "+79876543210"},
            "error": null}]
summary:
  description: Counts of the results by status; C(stale) only with O(apply_plan).
  returned: >-
    success, and failure of some extensions (failed, not processed, or stale with O(apply_plan)); not when the task
    fails before the phones are looked at (a refused item or option, an unknown extension, O(max_changes))
  type: dict
  sample: {"total": 120, "changed": 3, "unchanged": 117, "failed": 0, "skipped": 0}
backup_path:
  description: The backup file written by O(backup); V(null) in check mode and when no phone was about to change.
  returned: >-
    when O(backup=true) and O(bindings) is not empty or O(apply_plan) is given, as RV(results) is (also when some
    extensions failed)
  type: str
  sample: /srv/pbx/backup/1001_phone_bindings.2026-11-29@18:00:05.yml
plan:
  description: The plan written to O(plan_path).
  returned: >-
    in check mode when O(plan_path) is set and O(bindings) is not empty (not with O(apply_plan)), and every phone
    could be read
  type: dict
  sample: {"format": "telphin.pbx.plan/1", "client_id": "1001", "default_region": "RU", "phones": 4,
           "fingerprint": "sha256:4f0c...", "created": "2026-11-29T18:00:05Z", "signature": "hmac-sha256:9b1f...",
           "changes": [{"extension": "101", "extension_full_name": "000*101", "extension_id": 55,
                        "before": {"external_number": null}, "after": {"external_number": "+79165550101"}}]}
artifacts:
  description: The plan and backup written, as AWX job artifacts C(telphin_plan_<client_id>), C(telphin_backup_<client_id>).
  returned: when a plan or a backup was written (a JSON text each, no secret; one over 1 MiB left out, with a warning)
  type: dict
plan_text:
  description: RV(plan) as one JSON text without template markup (C({) escaped as C(\\u007b)), for O(apply_plan).
  returned: when RV(plan) is
  type: str
  sample: '{"changes": [...], "client_id": "1001", ..., "signature": "hmac-sha256:9b1f..."}'
plan_path:
  description: The absolute path of the plan file.
  returned: when RV(plan) is
  type: str
plan_created:
  description: When the applied plan was made (UTC).
  returned: when O(apply_plan) is given and the plan was accepted, as RV(results) is (also when some extensions failed)
  type: str
  sample: "2026-11-29T18:00:05Z"
refused:
  description: The O(max_changes) refusal's count of phones that would change, and the first of them as lines.
  returned: when O(max_changes) refused the run (it failed, nothing was written)
  type: dict
  sample: {"changes": 7, "first": ["101: external_number \"+79165550101\" -> null"]}
diff:
  description: Before and after of each changed extension.
  returned: >-
    success, and failure of some extensions (failed, not processed, or stale with O(apply_plan)); not when the task
    fails before the phones are looked at (a refused item or option, an unknown extension, O(max_changes))
  type: list
  elements: dict
bundle_listing:
  description: >-
    Said when O(bundle_listing=false) skipped the bundle list for an item's synchronised key: bundle conflicts are
    looked for after the writes.
  returned: when O(bundle_listing=false) and an item (with O(apply_plan), a change of the plan) sets a synchronised key
  type: str
  sample: "not asked (bundle_listing: false): bundle conflicts are looked for after the writes"
policy_changes:
  description: Per O(policy) key and values, the phones changed (to change), as C(key), C(change) and C(phones).
  returned: when O(policy) is set and the phones were looked at (also when some extensions failed)
  type: list
requests:
  description: Requests sent to the API during the run, by kind (C(token), C(GET), C(PUT)), with C(total) and C(retried).
  returned: >-
    always, also when the task fails, except when it is refused before the API client is set up (an option refused
    by the argument spec or as a connection option, or urllib3 missing)
  type: dict
  sample: {"token": 1, "GET": 121, "PUT": 3, "total": 125, "retried": 0}
quota:
  description: The tenant's hourly request quota as the last response reported it (C(X-RateLimit-*)).
  returned: >-
    always, also when the task fails, except when it is refused before the API client is set up (an option refused
    by the argument spec or as a connection option, or urllib3 missing)
  type: dict
  sample: {"limit": 3600, "remaining": 3275, "reset": 1820}
'''

from ansible_collections.telphin.pbx.plugins.module_utils._ansible import run_module, telphin_module


def main() -> None:
    run_module(telphin_module("extension_phones"), "extension_phones")


if __name__ == "__main__":
    main()
