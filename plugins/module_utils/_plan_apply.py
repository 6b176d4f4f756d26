# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``apply_plan``: write exactly an approved plan, and only where each phone still holds the plan's "before".

A plan is data, not authority: it arrives as a file or an extra variable, which someone other than the
check run that made it may have written. Before any write it must carry the signature of a run with the
same credentials (``_safety.check_signature``), and everything it says is derived again from live state:
its entries go through the checks of ``bindings`` (keys, values, normalisation), secret keys are refused,
every extension id must be a phone extension of the task's tenant in its extension list, and the guard
counts the tenant's phones in that list, not the plan's ``phones``.

Requests: one token, the extension list (each page once), [the bundle list when synchronised keys are
planned, unless ``bundle_listing`` is false], one GET per phone of the plan, one PUT per phone that still holds
its "before" values; [when no bundle list was read, the read-back of a normal run after its writes].
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ansible_collections.telphin.pbx.plugins.module_utils import _safety
from ansible_collections.telphin.pbx.plugins.module_utils._api import TelphinApi
from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._converge import (
    OnSecret, converge_phone, number_region, read_into)
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError
from ansible_collections.telphin.pbx.plugins.module_utils._phone import FIELDS, is_masked_key, normalize_current
from ansible_collections.telphin.pbx.plugins.module_utils._results import BUNDLES_NOT_ASKED, bulk_result
from ansible_collections.telphin.pbx.plugins.module_utils._words import MODULE, Words, shown
from ansible_collections.telphin.pbx.plugins.module_utils._workers import Target, Ticks, for_each

# ``_bulk``'s checks of bindings, which a plan's entries go through too: (api, client id, items, region, warn) ->
# (targets, whether to read back after the writes, number of the tenant's phone extensions), or an ``InputError``
# naming every bad item.
CheckBindings = Callable[[TelphinApi, str, List[Dict[str, Any]], str, Callable[[str], None]],
                         Tuple[List[Target], bool, int]]
# ``_bulk.find_bundle_conflicts``: (api, targets, parallel, on_secret, warn), the read-back after the writes.
ReadBack = Callable[[TelphinApi, List[Target], int, OnSecret, Callable[[str], None]], None]


def load(source: Any, client_id: str, key: bytes) -> Dict[str, Any]:
    """The plan given as ``apply_plan`` (a path or the plan itself), made for ``client_id`` and signed with ``key``."""
    if source in ("", {}):
        raise InputError("apply_plan: no plan for this tenant; make one with a check run and plan_path")
    plan = _safety.load_plan(source)
    _safety.check_signature(plan, key)
    if plan["client_id"] != client_id:
        raise InputError("apply_plan: the plan is for client %s, not %s; nothing was changed"
                         % (plan["client_id"], client_id))
    return plan


def plan_items(changes: List[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """The plan's changes as ``bindings`` items, for the checks of bindings; ``InputError`` first for a key that is
    not a phone property or is a secret (a plan never carries one)."""
    problems: List[str] = []
    items: List[Dict[str, Any]] = []
    for index, change in enumerate(changes):
        after = change["after"]
        where = "changes[%d] (extension_id %d)" % (index, change["extension_id"])
        unknown = sorted(str(k) for k in after if k not in FIELDS)
        secret = sorted(str(k) for k in after if k in FIELDS and is_masked_key(k))
        if unknown:
            problems.append("%s: unknown key(s) %s: a plan holds the phone properties of telphin.pbx.extension_phone"
                            % (where, ", ".join(repr(k) for k in unknown)))
        if secret:
            problems.append("%s: %s: a secret is never part of a plan (a normal run sends it)"
                            % (where, ", ".join(secret)))
        # A value the plan unsets is null; bindings unset with "" (a null in bindings means "not set").
        items.append(dict({k: "" if v is None else v for k, v in after.items()}, extension_id=change["extension_id"]))
    if problems:
        raise refused(problems)
    return items


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


def _values(values: Mapping[str, Any]) -> str:
    return ", ".join("%s %s" % (k, json.dumps(v)) for k, v in values.items())


def refused(problems: List[str]) -> InputError:
    return _safety.SafetyError("apply_plan: %d problem(s) in the plan, nothing was changed:\n- %s"
                               % (len(problems), "\n- ".join(problems)))


def apply_plan(client: ApiClient, params: Mapping[str, Any], client_id: str, limit: Optional[_safety.ChangeLimit],
               check_mode: bool, parallel: int, on_secret: OnSecret, warn: Callable[[str], None],
               check_bindings: CheckBindings, words: Words = MODULE,
               read_back: Optional[ReadBack] = None) -> Dict[str, Any]:
    """``extension_phones`` with ``apply_plan``: the plan's changes, each only where the phone did not move."""
    plan = load(params.get("apply_plan"), client_id,
                _safety.signing_key(client.settings.app_secret or client.settings.access_token))
    try:
        region = number_region({"default_region": plan["default_region"]}, [])
    except InputError as exc:
        raise refused(["default_region: %s" % exc]) from None
    if params.get("bindings") and _safety.inputs_fingerprint(params, client_id) != plan.get("fingerprint"):
        warn("the bindings changed since the plan was made (%s); the plan is applied as approved"
             % plan.get("created"))
    changes = plan["changes"]
    api = TelphinApi(client)
    # The extension list (one read) says which ids are phones of this tenant, and how many phones it has.
    targets, reads_back, phones = check_bindings(api, client_id, plan_items(changes), region, warn)
    problems: List[str] = []
    by_id = {t.outcome.extension_id: t for t in targets}
    for index, change in enumerate(changes):
        target = by_id[change["extension_id"]]
        named = change.get("extension_full_name")
        if named is not None and named != target.outcome.extension:
            problems.append("changes[%d] (extension_id %d): the plan names it %s, the tenant's list %s"
                            % (index, change["extension_id"], json.dumps(named), shown(target.outcome.extension)))
        target.planned = dict(change["before"])
    if problems:
        raise refused(problems)
    refusal = _safety.guard_refusal(limit, phones, [
        (t.outcome.extension or "id %d" % t.outcome.extension_id, t.planned or {}, t.desired) for t in targets], words)
    if refusal:
        raise InputError(refusal)
    tick = Ticks()
    for_each(targets, lambda t: read_into(api, t, on_secret, tick), parallel)
    writable: List[Target] = [t for t in targets if t.current is not None and settle(t, region)]
    extra: Dict[str, Any] = {"plan_created": plan.get("created")}
    if reads_back and params.get("bundle_listing") is False:
        extra["bundle_listing"] = BUNDLES_NOT_ASKED       # as a normal run says it
    if params.get("backup"):
        extra["backup_path"] = None if check_mode or not writable else _safety.write_backup(
            params.get("backup_options"), client_id,
            [(t.outcome.extension or str(t.outcome.extension_id), t.current or {}, t.desired) for t in writable])
    for_each(writable, lambda t: converge_phone(api, t.outcome, t.desired, check_mode, on_secret, tick,
                                                current=t.current, region=region), parallel)
    if reads_back and read_back is not None and not check_mode:
        read_back(api, targets, parallel, on_secret, warn)
    return bulk_result([t.outcome for t in targets], check_mode, bool(params.get("report_unchanged")), extra,
                       plan=True)
