# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``apply_plan``: write exactly an approved plan, and only where each phone still holds the plan's "before".

Requests: one token, one GET per phone of the plan, one PUT per phone that still holds its "before"
values. The extension list is not read: the plan names the extensions by id.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Mapping, Optional

from ansible_collections.telphin.pbx.plugins.module_utils import _safety
from ansible_collections.telphin.pbx.plugins.module_utils._api import TelphinApi
from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._converge import OnSecret, converge_phone, read_into
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError
from ansible_collections.telphin.pbx.plugins.module_utils._phone import normalize_current
from ansible_collections.telphin.pbx.plugins.module_utils._results import PhoneOutcome, bulk_result
from ansible_collections.telphin.pbx.plugins.module_utils._workers import Target, Ticks, for_each


def load(source: Any, client_id: str) -> Dict[str, Any]:
    """The plan given as ``apply_plan`` (a path or the plan itself), made for ``client_id``."""
    if source in ("", {}):
        raise InputError("apply_plan: no plan for this tenant; make one with a check run and plan_path")
    plan = _safety.load_plan(source)
    if plan["client_id"] != client_id:
        raise InputError("apply_plan: the plan is for client %s, not %s; nothing was changed"
                         % (plan["client_id"], client_id))
    return plan


def _values(values: Mapping[str, Any]) -> str:
    return ", ".join("%s %s" % (k, json.dumps(v)) for k, v in values.items())


def settle(target: Target, region: str) -> bool:
    """Whether the phone still holds the plan's "before" values (then it is written); else mark the outcome
    unchanged (it already holds the "after" values) or stale."""
    planned = target.planned or {}
    holds = {k: normalize_current(k, (target.current or {}).get(k), region) for k in target.desired}
    if holds == planned:
        return True
    outcome = target.outcome
    outcome.before = outcome.after = holds
    if holds != target.desired:
        moved = [k for k in holds if holds[k] != planned.get(k)]
        outcome.status = "stale"
        outcome.error = "stale: the phone holds %s since the plan was made (planned from %s); not written" % (
            _values({k: holds[k] for k in moved}), _values({k: planned.get(k) for k in moved}))
    return False


def apply_plan(client: ApiClient, params: Mapping[str, Any], client_id: str, limit: Optional[_safety.ChangeLimit],
               check_mode: bool, parallel: int, on_secret: OnSecret, warn: Callable[[str], None]) -> Dict[str, Any]:
    """``extension_phones`` with ``apply_plan``: the plan's changes, each only where the phone did not move."""
    plan = load(params.get("apply_plan"), client_id)
    region = plan["default_region"]
    if params.get("bindings") and _safety.inputs_fingerprint(params, client_id) != plan.get("fingerprint"):
        warn("the bindings changed since the plan was made (%s); the plan is applied as approved"
             % plan.get("created"))
    changes = plan["changes"]
    refusal = _safety.guard_refusal(limit, int(plan.get("phones") or 0), [
        (c.get("extension_full_name") or "id %d" % c["extension_id"], c["before"], c["after"]) for c in changes])
    if refusal:
        raise InputError(refusal)
    targets = [Target(PhoneOutcome(c["extension_id"], c.get("extension_full_name")), dict(c["after"]),
                      planned=dict(c["before"])) for c in changes]
    api = TelphinApi(client)
    tick = Ticks()
    for_each(targets, lambda t: read_into(api, t, on_secret, tick), parallel)
    writable: List[Target] = [t for t in targets if t.current is not None and settle(t, region)]
    extra: Dict[str, Any] = {"plan_created": plan.get("created")}
    if params.get("backup"):
        extra["backup_path"] = None if check_mode or not writable else _safety.write_backup(
            params.get("backup_options"), client_id,
            [(t.outcome.extension or str(t.outcome.extension_id), t.current or {}, t.desired) for t in writable])
    for_each(writable, lambda t: converge_phone(api, t.outcome, t.desired, check_mode, on_secret, tick,
                                                current=t.current, region=region), parallel)
    return bulk_result([t.outcome for t in targets], check_mode, bool(params.get("report_unchanged")), extra,
                       plan=True)
