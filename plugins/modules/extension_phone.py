#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: extension_phone
short_description: Manage the phone terminal of one extension, above all its external number binding
version_added: 1.0.0
description:
  - Makes the phone terminal properties (C(/extension/{id}/phone/)) of one C(phone) extension of a Telphin-platform
    cloud PBX look as declared, above all the external (mobile) number bound to it (O(external_number)).
  - "Idempotent and frugal: one GET, a compare of only the options you set (after normalising both sides), and one
    PUT carrying only the keys that differ. Options you leave unset are not managed: they are never sent, reset or
    compared, and keys the API returns that this module does not know are left untouched."
  - For many extensions of a tenant at once, use M(telphin.pbx.extension_phones), which costs one module run and one
    token per tenant instead of one per item.
author:
  - Telphin PBX collection maintainers (@telphin-pbx)
extends_documentation_fragment:
  - telphin.pbx.connection
  - telphin.pbx.connection.ATTRIBUTES
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the phone (one GET) and predicts the result; never writes.
  diff_mode:
    support: full
    details: Shows before and after of the managed keys; the SIP password is shown masked.
  platform:
    platforms: all
options:
  extension_id:
    description:
      - Numeric id of the extension. Mutually exclusive with O(extension_name).
      - Costs no lookup; an id that is not a phone extension of the token's tenant fails.
    type: int
  extension_name:
    description:
      - Name of the extension within O(client_id), short (V(100)) or full (V(000*100)).
      - Resolving a name reads the tenant's extension list once (one request per 500 extensions; a list shorter
        than 500 costs two, the second an empty page that shows the list is complete).
      - The alias O(extension) is the key that the items of O(telphin.pbx.extension_phones#module:bindings) use.
      - A string; quote it in YAML. An integer is refused, as in O(telphin.pbx.extension_phones#module:bindings),
        since YAML reads an unquoted V(0101) as the octal number 65, which would name another extension.
    type: raw
    aliases: [extension]
  client_id:
    description:
      - Tenant (client) id used to resolve O(extension_name); V(@me) is the tenant of the app's user.
    type: str
    default: '@me'
  external_number:
    description:
      - External (mobile) number bound to the terminal.
      - Parsed with the C(phonenumbers) library and compared and sent in E.164. A number without V(+) and country
        code is a number of O(default_region), so with V(RU) V(8 987 654-32-10), V(+7 987 654 32 10) and
        V(79876543210) are all V(+79876543210), and a number the API stores in another form causes no change.
      - A number the library calls impossible (too short, too long, an unknown country code, not a number) and a
        number with an extension are refused with the library's reason. A possible number that is not valid where it
        is read (no operator has been assigned it; often a number of another country written without its country
        code, such as V((512\) 555-0110) with V(RU)) is refused unless O(number_check=possible).
      - An empty string V("") unbinds the number.
      - Give a string, quoted in YAML. An integer is refused, because unquoted YAML drops a leading V(+) and reads
        a leading V(0) as an octal number (V(0201234567) would become V(33896823)).
    type: raw
  default_region:
    description:
      - Two-letter ISO 3166 region of numbers written without V(+) and country code, on both sides of the
        comparison (O(external_number) and what the API returns).
      - The default V(RU) is the provider's home country; set V(BY), V(KZ) and so on for tenants whose numbers are
        written the way another country dials them.
    type: str
    default: RU
  number_check:
    description:
      - V(valid) refuses an O(external_number) that is not a valid number where it is read, naming the region and
        the E.164 forms it is valid in elsewhere.
      - V(possible) accepts it with a warning, for a number of a range too new for the C(phonenumbers) library.
    type: str
    choices: [valid, possible]
    default: valid
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
    description: How the terminal authenticates.
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
      - A secret. It is compared with the value the API returns (a run that changes nothing reports no change) but
        never shown (masked in results, diffs and messages) and never logged.
    type: str
  password:
    description:
      - SIP password of the terminal. Never logged or returned.
      - The API never returns it, so it cannot be compared; see O(update_password).
    type: str
  update_password:
    description:
      - When to send O(password).
      - V(always) sends it on every run and the task reports C(changed) every time, because a write-only value
        cannot be compared. Use it when you set or rotate a password.
      - V(never) does not send it; keep the password in the same variables for provisioning runs and use V(never)
        in scheduled runs so they stay idempotent.
    type: str
    choices: [always, never]
    default: always
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
    description:
      - Recording format, all 8 kHz. Synchronised across a bundle.
      - V(mp3_mono) 16 kb/s, V(mp3_stereo) 32 kb/s, V(wav_mono) 128 kb/s, V(wav_stereo) 256 kb/s.
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
      - Compared as a set (order and case do not matter) and sent as a space-separated list, for example C(BY RU).
      - V(["*"]) (or V("*")) allows every country and is sent as C(*).
      - An empty list sends C(null), which the vendor documents as the provider's default; what that default allows
        is not documented and may be narrower than every country. It does not remove the restriction; use V(["*"])
        for that. An empty value read from the API is taken as C(null).
    type: list
    elements: str
  incoming_limit:
    description: Maximum number of simultaneous incoming calls. Synchronised across a bundle.
    type: int
requirements:
  - phonenumbers >= 8.12, when O(external_number) is set
notes:
  - Setting a synchronised key on one member of a bundle changes it on every member of that bundle (provider
    behaviour). M(telphin.pbx.extension_phones) refuses bindings that give bundle members different values.
seealso:
  - module: telphin.pbx.extension_phones
  - module: telphin.pbx.extension_phone_info
'''

EXAMPLES = r'''
- name: Bind the mobile number of the reception to extension 100
  telphin.pbx.extension_phone:
    extension_name: "100"
    external_number: "+7 987 654-32-10"
    app_id: "{{ telphin_app_id }}"
    app_secret: "{{ telphin_app_secret }}"

- name: Unbind the external number of extension 54, by id (credentials from TELPHIN_* variables)
  telphin.pbx.extension_phone:
    extension_id: 54
    external_number: ""

- name: Set the connection options once for a block of tasks (on a tenant host of the telphin.pbx.tenants inventory)
  module_defaults:
    group/telphin.pbx.pbx:
      api_url: https://api.pbx.example.net
      app_id: "{{ telphin_app_id }}"
      app_secret: "{{ telphin_app_secret }}"
      quota_reserve: 200
  block:
    - name: Record calls of the sales desk in stereo WAV, allowed from Russia and Belarus only
      telphin.pbx.extension_phone:
        client_id: "{{ telphin_client_id }}"
        extension: "000*201"    # the alias of extension_name, as in the items of extension_phones
        record_enabled: true
        record_format: wav_stereo
        geo_list: [RU, BY]

- name: Rotate a SIP password (reports changed on every run by design)
  telphin.pbx.extension_phone:
    extension_name: "105"
    password: "{{ vault_sip_password_105 }}"
    update_password: always
'''

RETURN = r'''
extension_id:
  description: Id of the extension.
  returned: success
  type: int
  sample: 54
extension_name:
  description:
    - Full name of the extension, from the tenant's extension list.
    - V(null) when the extension was given by O(extension_id) with the default O(client_id), which reads no list.
  returned: success
  type: str
  sample: "000*100"
phone:
  description:
    - The phone properties after the run (predicted in check mode), every key the API returned, secrets masked.
  returned: success
  type: dict
  sample: {"external_number": "+79876543210", "label": "Reception", "auth_type": "digest", "record_enabled": false}
diff:
  description: Before and after of the managed keys.
  returned: success
  type: dict
  sample: {"before": {"external_number": null}, "after": {"external_number": "+79876543210"}}
requests:
  description: Requests sent to the API during the run, by kind (C(token), C(GET), C(PUT)), with C(total) and C(retried).
  returned: >-
    always, also when the task fails, except when it is refused before the API client is set up (an option refused
    by the argument spec or as a connection option, or urllib3 missing)
  type: dict
  sample: {"token": 1, "GET": 1, "PUT": 1, "total": 3, "retried": 0}
quota:
  description: The tenant's hourly request quota as the last response reported it (C(X-RateLimit-*)); C(reset) in seconds.
  returned: >-
    always, also when the task fails, except when it is refused before the API client is set up (an option refused
    by the argument spec or as a connection option, or urllib3 missing)
  type: dict
  sample: {"limit": 3600, "remaining": 3412, "reset": 1820}
'''

from ansible_collections.telphin.pbx.plugins.module_utils._ansible import run_module, telphin_module


def main() -> None:
    run_module(telphin_module("extension_phone"), "extension_phone")


if __name__ == "__main__":
    main()
