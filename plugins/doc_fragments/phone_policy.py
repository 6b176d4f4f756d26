# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The phone policy options of M(telphin.pbx.extension_phones) (the engine's ``_policy``); its RETURN documents
    RV(policy_changes)."""

    DOCUMENTATION = r'''
options:
  policy:
    description:
      - Phone properties that every phone extension of the tenant gets, except those O(policy_exclude) names, such
        as the countries SIP terminals may register from (C(geo_list), the first defence against toll fraud with
        stolen SIP credentials) or compliance call recording (C(record_enabled), C(record_format)).
      - It applies to the phone extensions of the extension list read at run time, so a phone created later gets it
        on the next run. An item of O(bindings) that sets one of its keys wins for that key on its extension.
      - Only the policy's keys are compared and sent, each phone as an item of O(bindings) would be. It costs no
        request beyond the extension list, one GET per phone extension and one PUT per phone that differs; with
        a policy alone the bundle list is not read (every phone gets the same value of each key).
      - "The keys are the phone properties of O(bindings) except C(external_number), C(password) and
        C(conference_pin): a policy holds no number and no secret. An unknown key, a bad value, a country code that
        phonenumbers does not know, or a policy that is not a mapping fails the task before any request."
      - Its changes count against O(max_changes) like any other, so a first policy onto a whole tenant is an
        attended run that lifts the guard. RV(policy_changes) counts the changes per key and values.
      - See the phone policy guide of the collection.
    type: raw
    version_added: 1.2.0
  policy_exclude:
    description:
      - The phone extensions that O(policy) leaves alone, each a short (V("100")) or full (V("000*100")) name,
        or a glob of C(*), C(?) and C([...]) matched against the short and the full name (V("9*")). A name with a
        prefix (C(000*100)) is that extension, not a glob. Give them as quoted strings.
      - A member of a bundle that is excluded still gets the synchronised keys the policy writes to another member,
        as the provider copies them to every member.
      - A list; the module checks it itself (an unquoted V(0101) is the octal number 65 in YAML and is refused).
    type: raw
    version_added: 1.2.0
'''
