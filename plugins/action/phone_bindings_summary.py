# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writes the batch's deferred binds (numbers that move between tenants, ``plugin_utils/_deferred.py``), prints the
``phone_bindings`` role's summary of the batch through Ansible's display, whatever the callback shows of ok results,
and publishes the batch's plans and backups as stats, one per tenant (``telphin_plan_<client id>``,
``telphin_backup_<client id>``: job artifacts in AWX); the summary itself is never a change."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ansible import constants as C
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.telphin.pbx.plugins.plugin_utils._deferred import has_deferred, write_deferred
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
        check_mode = bool(self._task.check_mode)
        # after every tenant's bulk call, so after every unbind of the batch (swaps, chains); check runs defer nothing
        written = {} if check_mode else write_deferred(self, task_vars, [h for h, r in results.items() if has_deferred(r)])
        results.update(written)
        list_all = boolean(self._templar.template(task_vars.get("phone_bindings_summary_all", False)), strict=False)
        summary = summarise(results, failed, check_mode, list_all)
        totals = summary.totals
        color = C.COLOR_ERROR if totals["failed"] else C.COLOR_CHANGED if totals["changed"] else C.COLOR_OK
        # Through the display, not as the task's result: ok results may be hidden (ANSIBLE_DISPLAY_OK_HOSTS=false,
        # common in AWX, where this text is a job event of the task), and the summary changes nothing.
        display.display(summary.text, color=color)
        # printed above already: -v does not print the lines again with the result
        result.update(changed=False, summary_lines=summary.lines, totals=totals, _ansible_verbose_override=True)
        if written:
            result.update(_written(written))
        if summary.artifacts:
            # the job's artifacts in AWX (set_stats' own way): one key per tenant, which survives the key-by-key merge
            # of a sliced job's artifacts; set, never aggregated (texts would be appended to each other)
            result["ansible_stats"] = {"data": summary.artifacts, "per_host": False, "aggregate": False}
        return result


def _written(written: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """What the deferred binds add to the task's result: their changes (the diff headers name the tenant), warnings,
    and each tenant whose binds failed, with its error."""
    out: Dict[str, Any] = {"changed": any(r.get("changed") for r in written.values())}
    diffs = [d for r in written.values() for d in (r.get("diff") or [])]
    warnings = [w for r in written.values() for w in (r.get("warnings") or [])]
    failed = ["%s: %s" % (host, r.get("msg")) for host, r in written.items() if r.get("failed")]
    if diffs:
        out["diff"] = diffs
    if warnings:
        out["warnings"] = warnings
    if failed:
        out.update(failed=True, msg="the deferred binds of %d tenant(s) failed (the summary above counts them):\n%s"
                   % (len(failed), "\n".join(failed)))
    return out
