# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Many phones of one tenant: validate every item -> plan against the extension list -> guard -> apply.

Every item is checked before any request, every reference and bundle rule before any write; each
phone then goes through ``_converge.converge_phone``. On an API that lists no bundles, bundle
conflicts are looked for after the writes instead (``find_bundle_conflicts``). With a change-safety
option (``_safety``: a ``max_changes`` that could refuse, ``backup``, ``plan_path``) every phone is
read first, then the guard decides and the backup is written, and only then the writes start;
``apply_plan`` runs ``_plan_apply`` instead.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ansible_collections.telphin.pbx.plugins.module_utils import _moves, _safety
from ansible_collections.telphin.pbx.plugins.module_utils._api import TelphinApi, bundles_path
from ansible_collections.telphin.pbx.plugins.module_utils._artifacts import (
    artifact, artifact_key, restore_bindings, save_backup)
from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._converge import (
    OnSecret, number_region, read_into, read_phone)
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError, TelphinError
from ansible_collections.telphin.pbx.plugins.module_utils._numbers import (
    DEFAULT_REGION, NUMBER_CHECKS, accept_hint, require_phonenumbers)
from ansible_collections.telphin.pbx.plugins.module_utils._phone import (
    FIELDS, MASK, SYNCED_KEYS, bundle_conflicts, desired_state, managed_view, plan_patch)
from ansible_collections.telphin.pbx.plugins.module_utils._plan_apply import (
    apply_plan, plan_max_age, refused, tenant_of)
from ansible_collections.telphin.pbx.plugins.module_utils._policy import Policy, check_policy
from ansible_collections.telphin.pbx.plugins.module_utils._policy import totals as policy_totals
from ansible_collections.telphin.pbx.plugins.module_utils._resolve import (
    ExtensionIndex, check_client_id, check_extension_name, is_id, same_extension_name)
from ansible_collections.telphin.pbx.plugins.module_utils._results import BUNDLES_NOT_ASKED, PhoneOutcome, bulk_result
from ansible_collections.telphin.pbx.plugins.module_utils._words import MODULE, Words, shown
from ansible_collections.telphin.pbx.plugins.module_utils._workers import Target, Ticks, check_parallel, for_each

MAX_BINDINGS = 20000
# how an extension named twice is told; lists composed of others are merged by the collection's filter
ONCE = "list it once (to compose lists, merge them by extension with telphin.pbx.merge_bindings)"


def _shown(key: str, value: Any, form: Callable[[Any], str] = shown) -> str:
    """A synchronised key's value as a message shows it (``form``): a secret one (the conference PIN) masked."""
    return MASK if FIELDS[key].secret and value not in (None, "") else form(value)


def find_bundle_conflicts(api: TelphinApi, targets: List[Target], parallel: int, on_secret: OnSecret,
                          warn: Callable[[str], None]) -> None:
    """On an API that lists no bundles, after the writes: read back the phones whose synchronised keys this run
    wrote, and the listed phones read (unchanged) before another phone was given a different value of one of
    their synchronised keys. A value no longer held fails its item: a bundle conflict naming the extension
    whose write overwrote it (else a change by another client). A read that fails leaves its item as it was,
    with a warning."""
    writes = [t.outcome for t in targets if t.outcome.status == "changed" and set(t.outcome.written) & set(SYNCED_KEYS)]

    def suspect(target: Target) -> bool:
        synced = {k: v for k, v in target.desired.items() if k in SYNCED_KEYS}
        if any(w is target.outcome for w in writes):
            return True
        return target.outcome.status == "unchanged" and any(
            w.written_at > target.outcome.read_at and k in w.written and w.written[k] != v
            for w in writes for k, v in synced.items())

    def check(target: Target) -> None:
        outcome = target.outcome
        try:
            held = read_phone(api, outcome.extension_id, on_secret)
        except TelphinError as exc:
            warn("%s could not be read back to look for bundle conflicts: %s" % (outcome.label, exc))
            return
        lost = plan_patch(held, {k: v for k, v in target.desired.items() if k in SYNCED_KEYS})
        problems = []
        for key, want in sorted(lost.items()):
            want, got = _shown(key, want), _shown(key, held.get(key))
            got_quoted = _shown(key, held.get(key), repr)
            by = [w.label for w in writes if w is not outcome and key in w.written and
                  not plan_patch(held, {key: w.written[key]})]
            if by:
                outcome.conflict = True
                problems.append("bundle conflict on synchronised key %s: %s was given %s, but the write of %s to %s "
                                "set it here too: they are members of one bundle (this API does not list bundles)"
                                % (key, outcome.label, want, got, " and ".join(by)))
            else:
                problems.append("after this run's writes the phone shows %s=%s, not %s: changed by another client "
                                "meanwhile?" % (key, got_quoted, want))
        if problems:
            outcome.status, outcome.error = "failed", "; ".join(problems)
            outcome.after = managed_view(held, target.desired, written=outcome.written)

    if writes:
        for_each([t for t in targets if suspect(t)], check, parallel)


def check_items(bindings: List[Mapping[str, Any]], update_password: str, region: str = DEFAULT_REGION,
                warnings: Optional[List[str]] = None, number_check: str = "valid", words: Words = MODULE,
                label: Optional[str] = None) -> Tuple[List[Dict[str, Any]], List[str]]:
    """Local checks of every binding (no request): references, values, an extension or an external number given
    twice (every pair, with both items); the warnings of accepted not-valid numbers go to ``warnings``. Messages name
    items as ``<label>[index]``, by default the option that holds them in ``words``.

    Passwords given in items are masked by the Ansible glue (``module.TelphinModule``), also when a bad
    option stops it before this runs.
    """
    problems: List[str] = []
    checked: List[Dict[str, Any]] = []
    numbers: Dict[str, List[str]] = {}
    # a plan's entry (``label``) cannot carry number_check: only the run's is named
    accept = accept_hint(None if label else "number_check", words.for_this_run("number_check", "possible"))
    for index, item in enumerate(bindings):
        where = "%s[%d]" % (label or words("bindings"), index)
        if not isinstance(item, Mapping):
            problems.append("%s: expected a mapping with extension (or extension_id) and external_number" % where)
            continue
        unknown = sorted(set(item) - set(FIELDS) - {"extension", "extension_id", "number_check"})
        ref_count = sum(item.get(k) is not None for k in ("extension", "extension_id"))
        entry: Dict[str, Any] = {}
        try:
            if ref_count != 1:
                raise InputError("give exactly one of extension or extension_id")
            if item.get("extension") is not None:
                entry["ref"] = check_extension_name(item["extension"])
                where = "%s (extension %s)" % (where, entry["ref"])
            else:
                ext_id = item["extension_id"]
                if not is_id(ext_id):
                    raise InputError("extension_id %r is not a positive integer" % (ext_id,))
                entry["id"] = int(ext_id)
                where = "%s (extension_id %s)" % (where, ext_id)
            if unknown:
                raise InputError("unknown key(s) %s; the keys are extension, extension_id, number_check and the "
                                 "phone properties of telphin.pbx.extension_phone" % ", ".join(unknown))
            item_check = item.get("number_check") or number_check
            if item_check not in NUMBER_CHECKS:
                raise InputError("number_check must be one of %s, got %r" % (", ".join(NUMBER_CHECKS), item_check))
            item_warnings: List[str] = []
            entry["desired"] = desired_state(item, update_password, region, item_warnings, item_check, accept)
            if warnings is not None:
                warnings.extend("%s: %s" % (where, w) for w in item_warnings)
            if not entry["desired"] and not (update_password == "never" and item.get("password") is not None):
                if "external_number" in item and item["external_number"] is None:
                    raise InputError("sets no phone property: external_number is empty (null), which leaves the "
                                     "number as it is; to unbind it give external_number: \"\"")
                raise InputError("sets no phone property: give external_number or another property")
        except InputError as exc:
            problems.append("%s: %s" % (where, exc))
            continue
        number = entry["desired"].get("external_number")
        if number:
            numbers.setdefault(number, []).append(where)
        entry["where"], entry["index"] = where, index
        checked.append(entry)
    problems.extend(_listed_twice(checked))
    for number, places in numbers.items():
        if len(places) > 1:
            problems.append("external number %s is given to %d extensions (%s): a mobile number is bound to one "
                            "terminal" % (number, len(places), ", ".join(places)))
    return checked, problems


def _listed_twice(checked: List[Dict[str, Any]]) -> List[str]:
    """Items that name one extension twice, as far as the names tell: the same id or name, or a short name and a
    full name that ends in it (within one tenant, that is the same extension or an ambiguous short name)."""
    def same(a: Dict[str, Any], b: Dict[str, Any]) -> bool:
        if "id" in a or "id" in b:
            return a.get("id") == b.get("id")
        return same_extension_name(a["ref"], b["ref"])

    problems: List[str] = []
    for later, entry in enumerate(checked):
        first = next((f for f in checked[:later] if same(f, entry)), None)
        if first is not None:
            problems.append("%s names the same extension as %s: %s" % (entry["where"], first["where"], ONCE))
    return problems


def plan_targets(api: TelphinApi, client_id: str, checked: List[Dict[str, Any]], unbind_unlisted: bool,
                 warn: Callable[[str], None], list_bundles: bool = True,
                 policy: Optional[Policy] = None) -> Tuple[List[Target], bool, int]:
    """Resolve every binding against the extension list (read once), give every phone extension the ``policy``
    does not exclude its keys (a binding's own value wins) and add the unlisted ones to unbind; also whether bundle
    conflicts must be looked for after the writes (a binding sets a synchronised key, no bundle list: the
    provider's, or not asked with ``list_bundles`` false), and how many phone extensions the tenant has (what a
    ``max_changes`` percentage is of). A policy alone gives every phone one value per key, so it asks for no
    bundle list."""
    index = ExtensionIndex(api.extensions(client_id))
    problems: List[str] = []
    targets: Dict[int, Target] = {}
    listed: Dict[int, str] = {}       # extension id -> the item that named it first
    for entry in checked:
        try:
            by_id = "id" in entry
            item = index.find_phone(entry["id"] if by_id else entry["ref"], by_id=by_id)
        except InputError as exc:
            problems.append("%s: %s" % (entry["where"], exc))
            continue
        ext_id = int(item["id"])
        if ext_id in listed:
            problems.append("%s names the same extension as %s (%s, id %d): %s"
                            % (entry["where"], listed[ext_id], shown(item.get("name")), ext_id, ONCE))
            continue
        listed[ext_id] = entry["where"]
        targets[ext_id] = Target(PhoneOutcome(ext_id, str(item.get("name"))), dict(entry["desired"]),
                                 index=entry["index"])
    synced = any(k in SYNCED_KEYS for t in targets.values() for k in t.desired)     # by a binding
    phones = [item for item in index.items if item.get("type") == "phone"]
    for item in phones:
        ext_id = int(item["id"])
        target = targets.get(ext_id)
        given: Dict[str, Any] = {}
        if policy is not None and policy.covers(str(item.get("name"))):
            given = {k: v for k, v in policy.desired.items() if target is None or k not in target.desired}
        if target is not None:
            target.desired.update(given)
            target.policy_keys = tuple(given)
        elif unbind_unlisted or given:
            desired = dict({"external_number": None} if unbind_unlisted else {}, **given)
            targets[ext_id] = Target(PhoneOutcome(ext_id, str(item.get("name"))), desired, policy_keys=tuple(given))
    bundles = None
    if list_bundles and synced:
        bundles = api.bundles(client_id)
        if bundles is None:
            warn("this API does not list bundles (GET %s is answered 400, 404, 405 or 501): bundle conflicts of synchronised keys cannot be "
                 "refused before the writes; the phones whose synchronised keys are written are read back after "
                 "the writes instead" % bundles_path(client_id))
        names = {ext_id: shown(t.outcome.extension or ext_id) for ext_id, t in targets.items()}
        problems.extend(bundle_conflicts({ext_id: t.desired for ext_id, t in targets.items()}, bundles or [], names))
    if problems:
        raise InputError("%d problem(s) found before any write, nothing was changed:\n- %s"
                         % (len(problems), "\n- ".join(problems)))
    return list(targets.values()), bundles is None and synced, len(phones)


def check_plan(api: TelphinApi, client_id: str, items: List[Dict[str, Any]], region: str,
               warn: Callable[[str], None], who: str = "apply_plan", number_check: str = "valid",
               words: Words = MODULE, list_bundles: bool = True) -> Tuple[List[Target], bool, int]:
    """A plan's entries (as ``bindings`` items) through the checks of bindings: ``check_items``, then against the
    extension list and the bundles (``plan_targets``); the targets, whether to read back after the writes and the
    tenant's number of phone extensions. ``number_check`` and ``list_bundles`` (``bundle_listing``): the apply
    run's (a plan's entry carries none), which must accept a not-valid number too. ``who`` starts each message."""
    warnings: List[str] = []
    checked, problems = check_items(items, "always", region, warnings, number_check, words, label="changes")
    if problems:
        raise refused(problems, who)
    for warning in warnings:
        warn("%s: %s" % (who, warning))
    try:
        return plan_targets(api, client_id, checked, False, lambda m: warn("%s: %s" % (who, m)), list_bundles)
    except InputError as exc:
        raise InputError("%s: %s" % (who, exc)) from None


def _checked(problems: List[str], check: Callable[[Any], Any], value: Any, fallback: Any) -> Any:
    """``check(value)``, or ``fallback`` with the problem noted."""
    try:
        return check(value)
    except InputError as exc:
        problems.append(str(exc))
        return fallback


def run_extension_phones(client: ApiClient, params: Mapping[str, Any], check_mode: bool,
                         on_secret: OnSecret, warn: Callable[[str], None], words: Words = MODULE,
                         cross: Optional[_moves.CrossTenant] = None,
                         deferred_of: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """``telphin.pbx.extension_phones``: many bindings of one tenant, at the request floor. ``words`` name the
    options in messages (the role's variables when the role runs it); ``cross``: what the role's index of the run
    says of the other tenants (``_moves``); ``deferred_of``: the tenant's first result, whose deferred phones this
    second call writes.

    Requests: one token, the extension list (each page once), [the bundle list when synchronised keys
    are managed], one phone GET per extension to look at, one PUT per extension that differs.
    """
    bindings = params.get("bindings") or []
    unbind_unlisted = bool(params.get("unbind_unlisted"))
    problems: List[str] = []
    parallel = _checked(problems, lambda v: check_parallel(v, words), params.get("parallel"), 1)
    client_id = _checked(problems, lambda v: check_client_id(v, words("client_id")), params.get("client_id"), "")
    limit = _checked(problems, lambda v: _safety.parse_max_changes(v, words), params.get("max_changes"), None)
    _checked(problems, lambda v: plan_max_age(v, words), params.get("plan_max_age"), None)
    key = _safety.signing_key(client.settings.app_secret or client.settings.access_token)
    if params.get("restore_backup") not in (None, "") and not problems:
        if params.get("apply_plan") is not None:
            raise InputError("%s and %s are mutually exclusive" % (words("apply_plan"), words("restore_backup")))
        restored = restore_bindings(params["restore_backup"], client_id, key)
        if restored is None:
            warn("%s holds no backup of client %s (%s): nothing to set back"
                 % (words("restore_backup"), client_id, artifact_key("backup", client_id)))
        bindings, unbind_unlisted = restored or [], False      # exactly the backup's phones, nothing unbound
    if params.get("apply_plan") is not None:
        if problems:
            raise InputError("%d problem(s) found before any request, nothing was changed:\n- %s"
                             % (len(problems), "\n- ".join(problems)))
        return apply_plan(client, params, client_id, limit, check_mode, parallel, on_secret, warn,
                          partial(check_plan, number_check=params.get("number_check") or "valid", words=words,
                                  list_bundles=params.get("bundle_listing") is not False), words, find_bundle_conflicts)
    if any(isinstance(i, Mapping) and str(i.get("external_number") or "").strip() for i in bindings):
        require_phonenumbers()      # one line, not one problem per item
    region = _checked(problems, lambda p: number_region(p, [], words("default_region")), params, DEFAULT_REGION)
    if len(bindings) > MAX_BINDINGS:
        problems.append("%s has %d items; at most %d per call" % (words("bindings"), len(bindings), MAX_BINDINGS))
    if not bindings and unbind_unlisted:
        problems.append("%s is empty and %s is true: that would unbind every phone extension; refused"
                        % (words("bindings"), words("unbind_unlisted")))
    policy, policy_problems = check_policy(params.get("policy"), params.get("policy_exclude"), words)
    problems.extend(policy_problems)
    warnings: List[str] = []
    checked, item_problems = check_items(bindings, params.get("update_password") or "always", region, warnings,
                                         params.get("number_check") or "valid", words)
    problems.extend(item_problems + (cross.clashes if cross else []))
    if deferred_of is not None and not problems:
        return _moves.second_call(client, params, deferred_of, checked, region, parallel, on_secret, policy)
    if problems:
        raise InputError("%d problem(s) found before any request, nothing was changed:\n- %s"
                         % (len(problems), "\n- ".join(problems)))
    for warning in warnings:
        warn(warning)
    report_unchanged = bool(params.get("report_unchanged"))
    plan_path = params.get("plan_path")
    if plan_path and not check_mode:
        warn("%s (%s) is written by check runs only: no plan was written" % (words("plan_path"),
                                                                             tenant_of(client, client_id)))
        plan_path = None
    if not checked and not unbind_unlisted and policy is None:
        return bulk_result([], check_mode, report_unchanged)
    api = TelphinApi(client)
    list_bundles = params.get("bundle_listing") is not False
    targets, read_back, phones = plan_targets(api, client_id, checked, unbind_unlisted, warn, list_bundles, policy)
    tick = Ticks()
    # An item that sets only a password under update_password: never is listed with nothing to change: no request.
    looked_at = [t for t in targets if t.desired]
    # The guard needs every phone read before the first write only when it could refuse.
    guarded = limit is not None and limit.allowed(phones) < len(looked_at)
    extra: Dict[str, Any] = {"bundle_listing": BUNDLES_NOT_ASKED} if read_back and not list_bundles else {}
    inputs = words("bindings") + (" and " + words("policy") if policy else "")
    write = partial(_moves.converge, api, check_mode=check_mode, on_secret=on_secret, tick=tick, region=region,
                    cross=cross)    # converge_phone; in a run of several tenants a refused bind is deferred
    if not guarded and not params.get("backup") and not plan_path:
        for_each(looked_at, write, parallel)
    else:
        for_each(looked_at, lambda t: read_into(api, t, on_secret, tick), parallel)
        read = [t for t in looked_at if t.current is not None]
        changing = [t for t in read if t.readable_patch(region)]
        counted = [(t, t.counted_patch(region)) for t in read]
        changes = [(t.outcome.extension or "id %d" % t.outcome.extension_id,
                    managed_view(t.current or {}, patch, region=region), patch) for t, patch in counted if patch]
        refusal = _safety.guard_refusal(limit, phones, changes, words, inputs)
        if refusal:
            raise _safety.GuardRefused(refusal, {"changed": False, "refused": {
                "changes": len(changes), "first": _safety.first_changes(changes)}})
        if params.get("backup"):
            extra["backup_path"] = None
            if changing and not check_mode:
                extra.update(save_backup(params.get("backup_options"), client_id, [
                    (t.outcome.extension or str(t.outcome.extension_id), t.current or {}, t.readable_patch(region))
                    for t in changing], key, warn))
        for_each(read, write, parallel)
        if plan_path and len(read) == len(looked_at):
            if any(FIELDS[k].write_only or FIELDS[k].secret for t in read for k in t.desired):
                warn("plan_path (%s): plans carry no secrets: the items' SIP passwords and conference PINs are not "
                     "part of the plan; a normal run sends them" % tenant_of(client, client_id))
            extra.update(_safety.write_plan(plan_path, params, client_id, region, phones, [
                (t.outcome.extension_id, t.outcome.extension, t.current or {}, t.readable_patch(region))
                for t in changing], key))
            extra["artifacts"] = artifact("plan", client_id, extra["plan"], extra["plan_path"], warn)
    if read_back and not check_mode:
        find_bundle_conflicts(api, targets, parallel, on_secret, warn)
    if policy is not None:
        extra["policy_changes"] = policy_totals((t.outcome, t.policy_keys) for t in targets)
    if any(t.outcome.bad for t in targets):
        _moves.not_written(targets)
    elif _moves.deferred_list(targets):
        extra["deferred"] = _moves.deferred_list(targets)
    return bulk_result([t.outcome for t in targets], check_mode, report_unchanged, extra)
