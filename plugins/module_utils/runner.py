# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one read -> compare -> (check mode?) -> PUT patch -> verify flow, for one phone and for many.

Nothing here knows about ``AnsibleModule``: functions take option values and a client and return
result dictionaries, so unit tests drive them directly and the modules stay thin.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ansible_collections.telphin.pbx.plugins.module_utils.client import (
    AccessDenied, ApiClient, AuthenticationError, NotFound, ProtocolError, QuotaExhausted, QuotaReserveReached,
    TelphinError)
from ansible_collections.telphin.pbx.plugins.module_utils.phone import (
    FIELDS, SYNCED_KEYS, InvalidValue, bundle_conflicts, desired_state, managed_view, masked, merged, plan_patch,
    secret_values, unapplied_keys)
from ansible_collections.telphin.pbx.plugins.module_utils.resolve import (
    ExtensionIndex, LookupFailed, check_client_id, check_extension_name, list_extensions, short_name)

# Errors after which every further request would fail the same way: the run stops, nothing more is sent.
RUN_STOPPERS = (QuotaExhausted, QuotaReserveReached, AuthenticationError, AccessDenied)
MAX_PARALLEL = 6
MAX_BINDINGS = 20000


class InputError(ValueError):
    """Bad options found before any write; the message lists every problem."""


class RunFailed(Exception):
    """The run ended with failures; ``result`` is still returned to the user alongside ``msg``."""

    def __init__(self, msg: str, result: Dict[str, Any]) -> None:
        super().__init__(msg)
        self.result = result


@dataclass
class PhoneOutcome:
    """What happened to one extension's phone terminal."""

    extension_id: int
    extension: Optional[str] = None
    changed: bool = False
    status: str = "unchanged"              # unchanged | changed | failed | skipped
    before: Dict[str, Any] = field(default_factory=dict)
    after: Dict[str, Any] = field(default_factory=dict)
    phone: Dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None

    @property
    def label(self) -> str:
        return "%s (id %s)" % (self.extension, self.extension_id) if self.extension else "id %s" % self.extension_id

    def item(self) -> Dict[str, Any]:
        return {"extension": short_name(self.extension) if self.extension else None,
                "extension_full_name": self.extension, "extension_id": self.extension_id, "status": self.status,
                "changed": self.changed, "before": self.before, "after": self.after, "error": self.error}

    def diff(self) -> Dict[str, Any]:
        return {"before_header": "extension %s phone" % self.label, "after_header": "extension %s phone" % self.label,
                "before": self.before, "after": self.after}


def phone_path(extension_id: int) -> str:
    return "/extension/%d/phone/" % extension_id


def read_phone(client: ApiClient, extension_id: int, on_secret: Callable[[str], None]) -> Dict[str, Any]:
    phone = client.get(phone_path(extension_id))
    if not isinstance(phone, dict):
        raise ProtocolError("GET %s: expected a JSON object with the phone properties" % phone_path(extension_id))
    for value in secret_values(phone):
        on_secret(value)
    return phone


def converge_phone(client: ApiClient, outcome: PhoneOutcome, desired: Mapping[str, Any], check_mode: bool,
                   on_secret: Callable[[str], None], current: Optional[Dict[str, Any]] = None) -> PhoneOutcome:
    """Make one phone terminal show ``desired`` (normalised values of the managed keys only)."""
    ext_id = outcome.extension_id
    if current is None:
        current = read_phone(client, ext_id, on_secret)
    patch = plan_patch(current, desired)
    outcome.before = managed_view(current, desired)
    after = current
    if patch and not check_mode:
        reply = client.put(phone_path(ext_id), patch)
        if not isinstance(reply, dict) or any(k not in reply for k in patch if not FIELDS[k].secret):
            reply = read_phone(client, ext_id, on_secret)  # the reply is not the full object: read once to verify
        for value in secret_values(reply):
            on_secret(value)
        wrong = unapplied_keys(patch, reply)
        if wrong:
            raise TelphinError("PUT %s was accepted but the phone still shows %s: the provider ignored the change"
                               % (phone_path(ext_id), ", ".join("%s=%r" % (k, reply.get(k)) for k in wrong)))
        after = reply
    elif patch:
        after = merged(current, patch)
    outcome.changed = bool(patch)
    outcome.status = "changed" if patch else "unchanged"
    outcome.after = managed_view(after, desired, written=patch)
    outcome.phone = masked(after)
    return outcome


# -- extension_phone ------------------------------------------------------------------------------
def run_extension_phone(client: ApiClient, params: Mapping[str, Any], check_mode: bool,
                        on_secret: Callable[[str], None]) -> Dict[str, Any]:
    """``telphin.pbx.extension_phone``: one extension, one GET, a PUT only when something differs."""
    try:
        desired = desired_state(params, params.get("update_password") or "always")
        name = check_extension_name(params["extension_name"]) if params.get("extension_name") is not None else None
        client_id = check_client_id(params.get("client_id") or "@me")
    except (InvalidValue, LookupFailed) as exc:
        raise InputError(str(exc)) from None
    if params.get("extension_id") is not None:
        outcome = PhoneOutcome(int(params["extension_id"]))
    else:
        try:
            item = ExtensionIndex(list_extensions(client, client_id)).find_phone(name)
        except LookupFailed as exc:
            raise InputError("%s (client_id %s)" % (exc, client_id)) from None
        outcome = PhoneOutcome(int(item["id"]), str(item.get("name")))
    try:
        converge_phone(client, outcome, desired, check_mode, on_secret)
    except NotFound as exc:
        raise NotFound("extension %s: %s" % (outcome.label, exc), exc.http_status, exc.api_status) from None
    return {"changed": outcome.changed, "extension_id": outcome.extension_id, "extension_name": outcome.extension,
            "phone": outcome.phone, "diff": outcome.diff()}


def run_extension_phone_info(client: ApiClient, params: Mapping[str, Any],
                             on_secret: Callable[[str], None]) -> Dict[str, Any]:
    """``telphin.pbx.extension_phone_info``: the phone properties of one extension, or of every phone
    extension of the tenant (the list once, then one GET each), secrets masked."""
    if params.get("extension_id") is not None or params.get("extension_name") is not None:
        result = run_extension_phone(client, params, True, on_secret)
        result.pop("diff")
        return result
    try:
        client_id = check_client_id(params.get("client_id") or "@me")
    except LookupFailed as exc:
        raise InputError(str(exc)) from None
    parallel = _check_parallel(params)
    items = [i for i in list_extensions(client, client_id) if i.get("type") == "phone"]
    targets = [Target(PhoneOutcome(int(i["id"]), str(i.get("name"))), {}) for i in items]
    _apply_all(client, targets, True, parallel, on_secret)
    failed = [t.outcome for t in targets if t.outcome.status in ("failed", "skipped")]
    phones = [{"extension": short_name(o.extension or ""), "extension_full_name": o.extension,
               "extension_id": o.extension_id, "phone": o.phone} for o in (t.outcome for t in targets)]
    result = {"changed": False, "phones": phones}
    if failed:
        raise RunFailed("could not read %d of %d phone(s):\n- %s" % (
            len(failed), len(targets), "\n- ".join("%s: %s" % (o.label, o.error) for o in failed)), result)
    return result


# -- extension_info -------------------------------------------------------------------------------
def run_extension_info(client: ApiClient, params: Mapping[str, Any]) -> Dict[str, Any]:
    """``telphin.pbx.extension_info``: a tenant's extensions, every page read once, filtered locally."""
    try:
        client_id = check_client_id(params.get("client_id") or "@me")
        name = check_extension_name(params["name"]) if params.get("name") is not None else None
    except LookupFailed as exc:
        raise InputError(str(exc)) from None
    items = list_extensions(client, client_id, params.get("type"))
    if name is not None:
        items = ExtensionIndex(items).by_name.get(name, [])
    if params.get("extension_id") is not None:
        items = [i for i in items if int(i["id"]) == int(params["extension_id"])]
    extensions = [dict(i, short_name=short_name(str(i.get("name") or ""))) for i in items]
    return {"changed": False, "extensions": extensions}


# -- extension_phones (bulk) ----------------------------------------------------------------------
@dataclass
class Target:
    """One extension the bulk run must look at, with its normalised desired values."""

    outcome: PhoneOutcome
    desired: Dict[str, Any]
    index: Optional[int] = None   # position in ``bindings``; None for unlisted extensions being unbound


def _check_items(bindings: List[Mapping[str, Any]], update_password: str) -> Tuple[List[Dict[str, Any]], List[str]]:
    """Local checks of every binding (no request): references, values, duplicated external numbers.

    Passwords given in items are masked by the module (``module.TelphinModule``), also when a bad option
    stops it before this runs.
    """
    problems: List[str] = []
    checked: List[Dict[str, Any]] = []
    numbers: Dict[str, List[str]] = {}
    for index, item in enumerate(bindings):
        where = "bindings[%d]" % index
        if not isinstance(item, Mapping):
            problems.append("%s: expected a mapping with extension (or extension_id) and external_number" % where)
            continue
        unknown = sorted(set(item) - set(FIELDS) - {"extension", "extension_id"})
        ref_count = sum(item.get(k) is not None for k in ("extension", "extension_id"))
        entry: Dict[str, Any] = {}
        try:
            if ref_count != 1:
                raise LookupFailed("give exactly one of extension or extension_id")
            if item.get("extension") is not None:
                entry["ref"] = check_extension_name(item["extension"])
                where = "%s (extension %s)" % (where, entry["ref"])
            else:
                ext_id = item["extension_id"]
                if isinstance(ext_id, bool) or not str(ext_id).isdigit():
                    raise LookupFailed("extension_id %r is not a positive integer" % (ext_id,))
                entry["id"] = int(ext_id)
                where = "%s (extension_id %s)" % (where, ext_id)
            if unknown:
                raise LookupFailed("unknown key(s) %s; the keys are extension, extension_id and the phone "
                                   "properties of telphin.pbx.extension_phone" % ", ".join(unknown))
            entry["desired"] = desired_state(item, update_password)
            if not entry["desired"]:
                raise LookupFailed("sets no phone property: give external_number or another property")
        except (LookupFailed, InvalidValue) as exc:
            problems.append("%s: %s" % (where, exc))
            continue
        number = entry["desired"].get("external_number")
        if number:
            numbers.setdefault(number, []).append(where)
        entry["where"] = where
        checked.append(entry)
    for number, places in numbers.items():
        if len(places) > 1:
            problems.append("external number %s is given to %d extensions (%s): a mobile number is bound to one "
                            "terminal" % (number, len(places), ", ".join(places)))
    return checked, problems


def _plan_targets(client: ApiClient, client_id: str, checked: List[Dict[str, Any]], unbind_unlisted: bool,
                  warn: Callable[[str], None]) -> List[Target]:
    """Resolve every binding against the extension list (read once) and add the unlisted ones to unbind."""
    index = ExtensionIndex(list_extensions(client, client_id))
    problems: List[str] = []
    targets: Dict[int, Target] = {}
    for position, entry in enumerate(checked):
        try:
            by_id = "id" in entry
            item = index.find_phone(entry["id"] if by_id else entry["ref"], by_id=by_id)
        except LookupFailed as exc:
            problems.append("%s: %s" % (entry["where"], exc))
            continue
        ext_id = int(item["id"])
        if ext_id in targets:
            problems.append("%s: extension %s is listed twice (also %s)"
                            % (entry["where"], item.get("name"), targets[ext_id].outcome.extension))
            continue
        targets[ext_id] = Target(PhoneOutcome(ext_id, str(item.get("name"))), entry["desired"], position)
    desired_by_ext = {ext_id: t.desired for ext_id, t in targets.items()}
    if any(k in SYNCED_KEYS for t in targets.values() for k in t.desired):
        names = {ext_id: t.outcome.extension or str(ext_id) for ext_id, t in targets.items()}
        problems.extend(bundle_conflicts(desired_by_ext, _bundles(client, client_id, warn), names))
    if problems:
        raise InputError("%d problem(s) found before any write, nothing was changed:\n- %s"
                         % (len(problems), "\n- ".join(problems)))
    planned = list(targets.values())
    if unbind_unlisted:
        for item in index.items:
            if item.get("type") == "phone" and int(item["id"]) not in targets:
                planned.append(Target(PhoneOutcome(int(item["id"]), str(item.get("name"))), {"external_number": None}))
    return planned


def _bundles(client: ApiClient, client_id: str, warn: Callable[[str], None]) -> List[List[int]]:
    """Member lists of the tenant's bundles (one request, made only when synchronised keys are managed)."""
    try:
        data = client.get("/client/%s/extensions_bundle/" % client_id)
    except NotFound:
        warn("this API does not list bundles (GET /client/%s/extensions_bundle/ is 404): bundle conflicts of "
             "synchronised keys could not be checked" % client_id)
        return []
    if not isinstance(data, list):
        raise ProtocolError("GET /client/%s/extensions_bundle/: expected a JSON array of bundles" % client_id)
    return [[int(m) for m in b.get("bundle_list") or []] for b in data if isinstance(b, dict)]


def run_extension_phones(client: ApiClient, params: Mapping[str, Any], check_mode: bool,
                         on_secret: Callable[[str], None], warn: Callable[[str], None]) -> Dict[str, Any]:
    """``telphin.pbx.extension_phones``: many bindings of one tenant, at the request floor.

    Requests: one token, the extension list (each page once), [the bundle list when synchronised keys
    are managed], one phone GET per extension to look at, one PUT per extension that differs.
    """
    bindings = params.get("bindings") or []
    unbind_unlisted = bool(params.get("unbind_unlisted"))
    problems: List[str] = []
    parallel = 1
    client_id = "@me"
    try:
        parallel = _check_parallel(params)
    except InputError as exc:
        problems.append(str(exc))
    try:
        client_id = check_client_id(params.get("client_id") or "@me")
    except LookupFailed as exc:
        problems.append(str(exc))
    if len(bindings) > MAX_BINDINGS:
        problems.append("bindings has %d items; at most %d per call" % (len(bindings), MAX_BINDINGS))
    if not bindings and unbind_unlisted:
        problems.append("bindings is empty and unbind_unlisted is true: that would unbind every phone extension; "
                        "refused")
    checked, item_problems = _check_items(bindings, params.get("update_password") or "always")
    problems.extend(item_problems)
    if problems:
        raise InputError("%d problem(s) found before any request, nothing was changed:\n- %s"
                         % (len(problems), "\n- ".join(problems)))
    report_unchanged = bool(params.get("report_unchanged"))
    if not checked and not unbind_unlisted:
        return _bulk_result([], check_mode, report_unchanged)
    targets = _plan_targets(client, client_id, checked, unbind_unlisted, warn)
    _apply_all(client, targets, check_mode, parallel, on_secret)
    return _bulk_result(targets, check_mode, report_unchanged)


def _check_parallel(params: Mapping[str, Any]) -> int:
    parallel = params.get("parallel")
    parallel = 4 if parallel is None else int(parallel)
    if not 1 <= parallel <= MAX_PARALLEL:
        raise InputError("parallel must be between 1 and %d (the API allows few simultaneous requests), got %d"
                         % (MAX_PARALLEL, parallel))
    return parallel


def _apply_all(client: ApiClient, targets: List[Target], check_mode: bool, parallel: int,
               on_secret: Callable[[str], None]) -> None:
    """Converge every target with a bounded pool; a run-stopping error skips what has not started."""
    stop = threading.Event()
    reason: List[str] = []

    def work(target: Target) -> None:
        outcome = target.outcome
        if stop.is_set():
            outcome.status, outcome.error = "skipped", "not processed: " + reason[0]
            return
        try:
            converge_phone(client, outcome, target.desired, check_mode, on_secret)
        except RUN_STOPPERS as exc:
            if not stop.is_set():
                reason.append(str(exc))
                stop.set()
            outcome.status, outcome.error = "failed", str(exc)
        except TelphinError as exc:
            outcome.status, outcome.error = "failed", str(exc)

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(work, targets))


def _bulk_result(targets: List[Target], check_mode: bool, report_unchanged: bool) -> Dict[str, Any]:
    """The module result; ``results`` leaves out unchanged extensions unless asked (``summary`` counts them)."""
    outcomes = [t.outcome for t in targets]
    summary = {"total": len(outcomes)}
    for status in ("changed", "unchanged", "failed", "skipped"):
        summary[status] = sum(o.status == status for o in outcomes)
    result: Dict[str, Any] = {
        "changed": summary["changed"] > 0,
        "results": [o.item() for o in outcomes if report_unchanged or o.status != "unchanged"],
        "summary": summary,
        "diff": [o.diff() for o in outcomes if o.changed],
    }
    bad = [o for o in outcomes if o.status in ("failed", "skipped")]
    if bad:
        lines = ["%s: %s" % (o.label, o.error) for o in bad]
        raise RunFailed("%d of %d extension(s) failed or were not processed%s; the others were %s. Re-run to "
                        "converge:\n- %s" % (len(bad), len(outcomes), " (check mode)" if check_mode else "",
                                             "checked" if check_mode else "applied", "\n- ".join(lines)), result)
    return result
