# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Prints the ``phone_bindings`` role's summary of the batch through Ansible's display, whatever the callback
shows of ok results, and publishes the batch's plans and backups as stats, one per tenant (``telphin_plan_<client
id>``, ``telphin_backup_<client id>``: job artifacts in AWX); never a change itself."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ansible import constants as C
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.telphin.pbx.plugins.plugin_utils._summary import summarise

display = Display()


class ActionModule(ActionBase):
    """``telphin.pbx.phone_bindings_summary``: no options; run once for the batch."""

    _supports_check_mode = True
    TRANSFERS_FILES = False

    def run(self, tmp: Optional[str] = None, task_vars: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        if self._task.args:
            return dict(result, failed=True, msg="telphin.pbx.phone_bindings_summary takes no options")
        every = list(task_vars.get("ansible_play_hosts_all") or [])
        active = set(task_vars.get("ansible_play_hosts") or [])
        failed = [host for host in every if host not in active]
        hostvars = task_vars.get("hostvars") or {}
        results = {}
        for host in list(task_vars.get("ansible_play_batch") or []) + failed:
            registered = hostvars[host].get("phone_bindings_result") if host in hostvars else None
            results[str(host)] = registered if isinstance(registered, dict) else None
        list_all = boolean(self._templar.template(task_vars.get("phone_bindings_summary_all", False)), strict=False)
        check_mode = bool(self._task.check_mode)
        summary = summarise(results, failed, check_mode, list_all)
        totals = summary.totals
        color = C.COLOR_ERROR if totals["failed"] else C.COLOR_CHANGED if totals["changed"] else C.COLOR_OK
        # Through the display, not as the task's result: ok results may be hidden (ANSIBLE_DISPLAY_OK_HOSTS=false,
        # common in AWX, where this text is a job event of the task), and the summary changes nothing.
        display.display(summary.text, color=color)
        # printed above already: -v does not print the lines again with the result
        result.update(changed=False, summary_lines=summary.lines, totals=totals, _ansible_verbose_override=True)
        if summary.artifacts:
            # the job's artifacts in AWX (set_stats' own way): one key per tenant, which survives the key-by-key merge
            # of a sliced job's artifacts; set, never aggregated (texts would be appended to each other)
            result["ansible_stats"] = {"data": summary.artifacts, "per_host": False, "aggregate": False}
        return result
