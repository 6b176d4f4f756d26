#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: phone_bindings_summary
short_description: Print the summary of a batch of tenants after the phone_bindings role's bulk call
version_added: 1.2.0
description:
  - The last task of the C(telphin.pbx.phone_bindings) role,
    run once for the batch. It reads each tenant's registered C(phone_bindings_result) and prints the totals, then
    one line per tenant that changed (or would), failed, was refused by the blast-radius guard (with its first
    changes) or was not reached, tenants in natural order (C(tenant_7) before C(tenant_42)); every tenant with
    C(phone_bindings_summary_all=true).
  - Before it summarises, it writes the binds the tenants' bulk calls deferred (a number moving between tenants of
    the batch, on a provider that refuses a number bound on another tenant), each such tenant with its own variables
    (as a task of the play on that tenant sees them) and a token of its own, after every tenant's bulk call, so after
    every unbind of the batch. Their changes (diff headers naming the tenant) and warnings are this task's; a
    deferred bind that fails fails this task, naming the tenant. A batch that deferred nothing sends no request here.
  - The text is printed through Ansible's display, so it shows also when the callback hides ok results
    (C(ANSIBLE_DISPLAY_OK_HOSTS=false)); in AWX it is a job event of this task. The summary itself is never a change,
    so the play recap counts only the tenants' own changes (and the deferred binds' changes on this task).
  - In check mode, the plans of the batch (C(phone_bindings_result.plan_text)) are published as the stat
    C(telphin_plans), which AWX passes to the next node of a workflow; nothing is printed for it.
  - It takes no options. Its action plugin runs on the controller.
author:
  - Telphin PBX collection maintainers (@telphin-pbx)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: It reads the tenants' results; check runs defer nothing, so it writes nothing in check mode.
  diff_mode:
    support: full
    details: The diffs of the deferred binds it writes, each header naming the tenant.
  platform:
    platforms: all
options: {}
seealso:
  - module: telphin.pbx.extension_phones
'''

EXAMPLES = r'''
- name: Summarise the tenants
  telphin.pbx.phone_bindings_summary: {}
  run_once: true
'''

RETURN = r'''
summary_lines:
  description: The printed lines, the totals first.
  returned: always
  type: list
  elements: str
  sample: ["3 tenant(s): 1 changed (1 phone(s)), 2 in sync, 0 failed; 21 requests",
           "tenant_7: 4 phones looked at, 1 changed, 3 unchanged, 0 failed, 0 not processed; 7 requests, quota left 99994",
           "2 tenant(s) in sync not listed (-e phone_bindings_summary_all=true lists every tenant)"]
totals:
  description: Tenants that changed (or would), were in sync and failed; phones changed; requests sent.
  returned: always
  type: dict
  sample: {"changed": 1, "sync": 2, "failed": 0, "phones": 1, "requests": 21}
'''
