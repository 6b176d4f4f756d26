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

A signed plan also expires: one made longer ago than ``plan_max_age``, or in the future beyond a clock skew, is
refused, and so is one made from other bindings than the run's (unless ``plan_allow_changed_bindings``): an old
approved plan applied again would undo every change made since. All of this is decided before any request, and
every message names the tenant (client id and API host).

Requests: one token, the extension list (each page once), [the bundle list when synchronised keys are
planned, unless ``bundle_listing`` is false], one GET per phone of the plan, one PUT per phone that still holds
its "before" values; [when no bundle list was read, the read-back of a normal run after its writes].
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from ansible_collections.telphin.pbx.plugins.module_utils import _safety
from ansible_collections.telphin.pbx.plugins.module_utils._api import TelphinApi
from ansible_collections.telphin.pbx.plugins.module_utils._artifacts import save_backup
from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._converge import (
    OnSecret, converge_phone, number_region, read_into)
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError
from ansible_collections.telphin.pbx.plugins.module_utils._phone import FIELDS, is_masked_key, normalize_current
from ansible_collections.telphin.pbx.plugins.module_utils._results import BUNDLES_NOT_ASKED, bulk_result
from ansible_collections.telphin.pbx.plugins.module_utils._safety import SafetyError
from ansible_collections.telphin.pbx.plugins.module_utils._words import MODULE, Words, shown
from ansible_collections.telphin.pbx.plugins.module_utils._workers import Target, Ticks, for_each

# ``_bulk``'s checks of bindings, which a plan's entries go through too: (api, client id, items, region, warn, how
# messages start) ->
# (targets, whether to read back after the writes, number of the tenant's phone extensions), or an ``InputError``
# naming every bad item.
CheckBindings = Callable[[TelphinApi, str, List[Dict[str, Any]], str, Callable[[str], None], str],
                         Tuple[List[Target], bool, int]]
# ``_bulk.find_bundle_conflicts``: (api, targets, parallel, on_secret, warn), the read-back after the writes.
ReadBack = Callable[[TelphinApi, List[Target], int, OnSecret, Callable[[str], None]], None]

PLAN_MAX_AGE = "72h"        # a plan made on a Friday afternoon, approved and applied on Monday morning
PLAN_CLOCK_SKEW = 300       # seconds a plan's ``created`` may be ahead of this run's clock (another controller's)
_DURATION = re.compile(r"([0-9]{1,9})([smhd]?)")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION = 366 * 86400


def parse_duration(value: Any, option: str) -> int:
    """``value`` in seconds: a whole number of seconds (``3600``, ``"3600"``) or one number with a unit ``s``, ``m``,
    ``h`` or ``d`` (``"90m"``, ``"36h"``, ``"2d"``); from 1 second to 366 days. Nothing else is read: no sign,
    fraction, space, compound (``"1d12h"``) or other unit."""
    seconds = None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if match:
            seconds = int(match.group(1)) * _UNIT[match.group(2)]
    if seconds is None or not 0 < seconds <= MAX_DURATION:
        raise SafetyError("%s %s is not a duration: give seconds (such as 3600) or one number with a unit s, m, h or d "
                          "(such as \"90m\", \"36h\" or \"2d\"), from 1 second to 366 days"
                          % (option, json.dumps(value) if isinstance(value, (str, int)) else type(value).__name__))
    return seconds


def duration_text(seconds: int) -> str:
    """``seconds`` in whole hours (``72h``), else minutes, else seconds."""
    for unit in ("h", "m"):
        if seconds % _UNIT[unit] == 0:
            return "%d%s" % (seconds // _UNIT[unit], unit)
    return "%ds" % seconds


def plan_created(doc: Mapping[str, Any]) -> Optional[datetime.datetime]:
    """When the plan was made (its signed ``created``), or None when it carries no such time."""
    try:
        return datetime.datetime.strptime(str(doc.get("created")), _safety.CREATED_FORMAT).replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def plan_age_refusal(doc: Mapping[str, Any], max_age: int, when: datetime.datetime,
                     option: str = "plan_max_age") -> Optional[str]:
    """Why a signed plan is too old, or from the future beyond ``PLAN_CLOCK_SKEW``, at ``when``; else None."""
    created = plan_created(doc)
    if created is None:
        return "the plan carries no time it was made (created), so its age cannot be checked"
    age = int((when - created).total_seconds())
    if age > max_age:
        return "the plan was made %s, %.1f h ago, longer ago than %s %s allows" % (
            doc["created"], age / 3600.0, option, duration_text(max_age))
    if -age > PLAN_CLOCK_SKEW:
        return ("the plan was made %s, %d s after this run's clock (%s): a plan from the future is refused (a clock "
                "skew up to %d s is allowed)" % (doc["created"], -age, when.strftime(_safety.CREATED_FORMAT), PLAN_CLOCK_SKEW))
    return None


def plan_max_age(value: Any, words: Words = MODULE) -> int:
    """``plan_max_age`` in seconds; unset is ``PLAN_MAX_AGE``."""
    return parse_duration(PLAN_MAX_AGE if value in (None, "") else value, words("plan_max_age"))


def tenant_of(client: ApiClient, client_id: str) -> str:
    """The tenant as plan messages name it: its client id at the API's host (the same id elsewhere is another)."""
    return "client %s at %s" % (shown(client_id), shown(urlsplit(client.settings.api_url or "").hostname or "?"))


def load(source: Any, client_id: str, key: bytes, who: str = "apply_plan", max_age: int = MAX_DURATION,
         when: Optional[datetime.datetime] = None, words: Words = MODULE) -> Dict[str, Any]:
    """The plan given as ``apply_plan`` (a path or the plan itself), made for ``client_id``, signed with ``key`` and
    made at most ``max_age`` seconds before ``when``. ``who`` starts every message."""
    if source in ("", {}):
        raise InputError("%s: no plan for this tenant; make one with a check run and plan_path" % who)
    plan = _safety.load_plan(source, who)
    _safety.check_signature(plan, key, who)
    if plan["client_id"] != client_id:
        raise InputError("%s: the plan is for client %s, not %s; nothing was changed"
                         % (who, shown(plan["client_id"]), client_id))
    refusal = plan_age_refusal(plan, max_age, when or _safety.now(), words("plan_max_age"))
    if refusal:
        raise SafetyError("%s: %s; nothing was changed: make and approve a new plan with a check run (an older plan "
                          "is applied only with a longer %s)" % (who, refusal, words("plan_max_age")))
    return plan


def plan_items(changes: List[Mapping[str, Any]], who: str = "apply_plan") -> List[Dict[str, Any]]:
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
        raise refused(problems, who)
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


def refused(problems: List[str], who: str = "apply_plan") -> InputError:
    return SafetyError("%s: %d problem(s) in the plan, nothing was changed:\n- %s"
                       % (who, len(problems), "\n- ".join(problems)))


def check_inputs(plan: Mapping[str, Any], params: Mapping[str, Any], client_id: str, who: str, words: Words,
                 warn: Callable[[str], None]) -> None:
    """Refuse a plan made from other bindings or policy (and options that decide a plan) than this run's, unless the
    run allows it with ``plan_allow_changed_bindings``; a run without bindings or policy has none to compare."""
    if not (params.get("bindings") or params.get("policy")) or \
            _safety.inputs_fingerprint(params, client_id) == plan.get("fingerprint"):
        return
    if params.get("plan_allow_changed_bindings"):
        warn("%s: the bindings changed since the plan was made (%s); the plan is applied as approved, as %s is true"
             % (who, plan.get("created"), words("plan_allow_changed_bindings")))
        return
    raise SafetyError(
        "%s: the bindings changed since the plan was made (%s): %s, %s, %s, %s or %s differ from those the plan "
        "was made from, and applying it could undo a change made since; nothing was changed: make and approve a new "
        "plan with a check run, or apply this one as approved with %s"
        % (who, plan.get("created"), words("bindings"), words("unbind_unlisted"), words("update_password"),
           words("default_region"), words("policy"), words.for_this_run("plan_allow_changed_bindings", "true")))


def apply_plan(client: ApiClient, params: Mapping[str, Any], client_id: str, limit: Optional[_safety.ChangeLimit],
               check_mode: bool, parallel: int, on_secret: OnSecret, warn: Callable[[str], None],
               check_bindings: CheckBindings, words: Words = MODULE,
               read_back: Optional[ReadBack] = None) -> Dict[str, Any]:
    """``extension_phones`` with ``apply_plan``: the plan's changes, each only where the phone did not move."""
    who = "apply_plan (%s)" % tenant_of(client, client_id)
    key = _safety.signing_key(client.settings.app_secret or client.settings.access_token)
    plan = load(params.get("apply_plan"), client_id, key, who, plan_max_age(params.get("plan_max_age"), words),
                words=words)
    try:
        region = number_region({"default_region": plan["default_region"]}, [])
    except InputError as exc:
        raise refused(["default_region: %s" % exc], who) from None
    check_inputs(plan, params, client_id, who, words, warn)
    changes = plan["changes"]
    api = TelphinApi(client)
    # The extension list (one read) says which ids are phones of this tenant, and how many phones it has.
    targets, reads_back, phones = check_bindings(api, client_id, plan_items(changes, who), region, warn, who)
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
        raise refused(problems, who)
    refusal = _safety.guard_refusal(limit, phones, [
        (t.outcome.extension or "id %d" % t.outcome.extension_id, t.planned or {}, t.desired) for t in targets], words)
    if refusal:
        raise InputError("%s: %s" % (who, refusal))
    tick = Ticks()
    for_each(targets, lambda t: read_into(api, t, on_secret, tick), parallel)
    writable: List[Target] = [t for t in targets if t.current is not None and settle(t, region)]
    extra: Dict[str, Any] = {"plan_created": plan.get("created")}
    if reads_back and params.get("bundle_listing") is False:
        extra["bundle_listing"] = BUNDLES_NOT_ASKED       # as a normal run says it
    if params.get("backup"):
        extra["backup_path"] = None
        if writable and not check_mode:
            extra.update(save_backup(params.get("backup_options"), client_id, [
                (t.outcome.extension or str(t.outcome.extension_id), t.current or {}, t.desired) for t in writable],
                key, warn))
    for_each(writable, lambda t: converge_phone(api, t.outcome, t.desired, check_mode, on_secret, tick,
                                                current=t.current, region=region), parallel)
    if reads_back and read_back is not None and not check_mode:
        read_back(api, targets, parallel, on_secret, warn)
    return bulk_result([t.outcome for t in targets], check_mode, bool(params.get("report_unchanged")), extra,
                       plan=who)
