# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Numbers that move between the tenants of one run of the ``phone_bindings`` role.

The role runs one bulk call per tenant, in parallel workers and in no set order, so a number moved from tenant A
to tenant B may be bound by B's call before A's call unbinds it; a provider that refuses a number bound on another
tenant then refuses B's bind. The rules, at no request cost for a run whose binds are accepted:

- the run's index (``index_numbers``, built once for the batch before any request) refuses a number that two
  tenants' bindings bind (``CrossTenant.clashes``), naming both tenants and extensions;
- in a run of several tenants, a bind the provider refuses is not a failure of the first call but ``deferred``
  (``converge``); the phone's own number, when another tenant of the run binds it, is unbound at once, so swaps
  and chains work;
- after every tenant's first call, the role's summary task (once for the batch; a second call for each tenant with
  deferred phones, nothing for the others: ``plugin_utils/_deferred.py``) reads each deferred phone again and writes
  it (``write_deferred``): every unbind of the run has been written by then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.telphin.pbx.plugins.module_utils._api import TelphinApi
from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._converge import (
    OnSecret, Tick, converge_phone, put_decided, read_into)
from ansible_collections.telphin.pbx.plugins.module_utils._errors import RUN_STOPPERS, InputError, RunFailed, TelphinError
from ansible_collections.telphin.pbx.plugins.module_utils._numbers import (
    InvalidNumber, NumberError, parse_number)
from ansible_collections.telphin.pbx.plugins.module_utils._phone import FIELDS
from ansible_collections.telphin.pbx.plugins.module_utils._policy import Policy
from ansible_collections.telphin.pbx.plugins.module_utils._results import PhoneOutcome
from ansible_collections.telphin.pbx.plugins.module_utils._workers import Target, for_each
from ansible_collections.telphin.pbx.plugins.module_utils._words import shown

REFUSED = (400, 409, 422)      # what a provider that refuses a number bound on another tenant may answer
NOT_WRITTEN = ("not written: the provider refused this bind (the number may be another tenant's until that tenant "
               "unbinds it), so it waited for every tenant's unbinds, but this tenant's call failed")
STILL_BOUND = ("; refused again after every tenant of the run had written its unbinds: the number may still be bound "
               "on another tenant (one whose bindings do not unbind it, or whose call failed)")


@dataclass
class CrossTenant:
    """What one tenant's bulk call knows of the other tenants of its run (the role's index of the batch)."""

    host: str = ""
    clashes: List[str] = field(default_factory=list)     # refusals: numbers this tenant and another one bind
    defer: bool = False                                  # several tenants: binds of new numbers wait
    numbers: Mapping[str, str] = field(default_factory=dict)    # E.164 -> the host whose bindings bind it

    def bound_elsewhere(self, number: Any) -> bool:
        """Whether another tenant of the run binds ``number`` (E.164)."""
        return bool(number) and self.numbers.get(number, self.host) != self.host


Binding = Tuple[str, str, str, str]     # host, client id, extension as written, E.164 number


def number_of(value: Any, region: str) -> Optional[str]:
    """The E.164 form the engine gives a bound number (``None``: unbind, or a value it refuses anyway)."""
    try:
        return parse_number(value, region)
    except InvalidNumber as exc:     # accepted with number_check: possible, as this form
        return exc.e164
    except NumberError:
        return None


def _tenant(binding: Binding) -> Tuple[str, str]:
    """Who binds: the client id (two hosts of one client are one tenant); a host's own app (``@me``) is its host."""
    return ("host", binding[0]) if binding[1] == "@me" else ("client", binding[1])


def index_numbers(bindings: Iterable[Binding]) -> Tuple[Dict[str, str], Dict[str, List[str]]]:
    """The run's index: E.164 -> the host that binds it, and host -> the refusals of numbers two tenants bind
    (every pair, each message naming both tenants by host and client id, and both extensions)."""
    by_number: Dict[str, List[Binding]] = {}
    for binding in bindings:
        by_number.setdefault(binding[3], []).append(binding)
    numbers: Dict[str, str] = {}
    clashes: Dict[str, List[str]] = {}
    for number, holders in sorted(by_number.items()):
        numbers[number] = holders[0][0]
        for i, one in enumerate(holders):
            for other in holders[i + 1:]:
                if _tenant(other) == _tenant(one):
                    continue        # one tenant's own duplicates: its call refuses them, with its item numbers
                msg = ("external number %s is bound by two tenants in this run: %s (client %s) extension %s and %s "
                       "(client %s) extension %s; a number is bound on one tenant: remove it from one tenant's "
                       "bindings (to move it, the old tenant's bindings stop binding it, in the same run)"
                       % (number, shown(one[0]), shown(one[1]), shown(one[2]), shown(other[0]), shown(other[1]),
                          shown(other[2])))
                for host in (one[0], other[0]):
                    clashes.setdefault(host, []).append(msg)
    return numbers, clashes


def converge(api: TelphinApi, target: Target, check_mode: bool, on_secret: OnSecret, tick: Tick, region: str,
             cross: Optional[CrossTenant]) -> None:
    """``converge_phone`` for the bulk call; in a run of several tenants (``cross.defer``), a bind the provider
    refuses (HTTP 400, 409 or 422) is deferred to the role's second call instead of failing, and the phone's
    own number, when another tenant of the run binds it, is unbound now (one PUT) so that tenant's bind finds
    it free (swaps, chains)."""
    outcome = target.outcome
    if target.current is None:
        read_into(api, target, on_secret, tick)       # the phone's GET: its errors are never a refused bind
    try:
        converge_phone(api, outcome, target.desired, check_mode, on_secret, tick, current=target.current,
                       region=region)
    except TelphinError as exc:
        number, held = target.desired.get("external_number"), outcome.before.get("external_number")
        if (cross is None or not cross.defer or check_mode or not number or number == held
                or isinstance(exc, RUN_STOPPERS) or exc.http_status not in REFUSED):
            raise
        if cross.bound_elsewhere(held):
            put_decided(api, outcome, {"external_number": None}, {"external_number": None}, on_secret, region)
        outcome.status, outcome.changed, outcome.error = "deferred", False, None
        shown = {k: v for k, v in target.desired.items()
                 if k in outcome.before and not (FIELDS[k].write_only or FIELDS[k].secret)}
        outcome.after = dict(outcome.before, **shown)


def deferred_list(targets: List[Target]) -> List[Dict[str, Any]]:
    """What the role's second call is handed: each deferred phone's extension id, name and binding's index."""
    return [{"extension_id": t.outcome.extension_id, "extension": t.outcome.extension, "index": t.index}
            for t in targets if t.outcome.status == "deferred"]


def not_written(targets: List[Target]) -> None:
    """The deferred phones of a call that failed: the role's second call does not run for it, so they are not
    written."""
    for target in targets:
        if target.outcome.status == "deferred":
            target.outcome.status, target.outcome.error = "skipped", NOT_WRITTEN


def write_deferred(api: TelphinApi, deferred: List[Mapping[str, Any]],
                   desired_of: Callable[[Mapping[str, Any]], Dict[str, Any]], region: str, on_secret: OnSecret,
                   parallel: int) -> List[PhoneOutcome]:
    """The second call: each deferred phone read again and written (one GET, one PUT when it still differs)."""
    targets = [Target(PhoneOutcome(int(d["extension_id"]), d.get("extension")), desired_of(d)) for d in deferred]

    def write(target: Target) -> None:
        read_into(api, target, on_secret, lambda: 0)
        try:
            converge_phone(api, target.outcome, target.desired, False, on_secret, current=target.current,
                           region=region)
        except TelphinError as exc:
            if exc.http_status not in REFUSED or isinstance(exc, RUN_STOPPERS):
                raise
            raise type(exc)(exc.message + STILL_BOUND, exc.hint, http_status=exc.http_status,
                            api_status=exc.api_status) from None

    for_each(targets, write, parallel)
    return [t.outcome for t in targets]


def merged_result(first: Mapping[str, Any], outcomes: List[PhoneOutcome], report_unchanged: bool) -> Dict[str, Any]:
    """The tenant's result after the second call: the first call's, with the deferred phones' outcomes in place
    of ``deferred``; ``changed`` and ``diff`` are the second call's own (``added_requests`` adds the requests)."""
    ids = {o.extension_id for o in outcomes}
    summary = dict(first.get("summary") or {})
    summary.pop("deferred", None)
    for outcome in outcomes:
        summary[outcome.status] = summary.get(outcome.status, 0) + 1
    results = [r for r in first.get("results") or [] if r.get("extension_id") not in ids]
    results += [o.item() for o in outcomes if report_unchanged or o.status != "unchanged"]
    result = {k: v for k, v in first.items()
              if k not in ("deferred", "diff", "warnings", "invocation", "msg", "requests", "quota", "changed")}
    result.update(summary=summary, results=results, changed=any(o.changed for o in outcomes),
                  diff=[o.diff() for o in outcomes if o.changed])
    return result


def added_requests(first: Mapping[str, Any], second: Mapping[str, Any]) -> Dict[str, Any]:
    """The tenant's requests over both calls (each call's client counts its own)."""
    total = dict(first.get("requests") or {})
    for key, value in (second.get("requests") or {}).items():
        if isinstance(value, int):
            total[key] = total.get(key, 0) + value
    return total


def second_call(client: ApiClient, params: Mapping[str, Any], first: Mapping[str, Any],
                checked: List[Dict[str, Any]], region: str, parallel: int, on_secret: OnSecret,
                policy: Optional[Policy]) -> Dict[str, Any]:
    """The role's second call for a tenant: its deferred phones (``first["deferred"]``), read again and written
    with what the first call would have written (the binding, and the ``policy`` keys it does not set); the
    tenant's result is the first one with their outcomes (``merged_result``)."""
    deferred = [d for d in first.get("deferred") or [] if isinstance(d, Mapping)]
    by_index = {entry["index"]: entry["desired"] for entry in checked}
    if any(d.get("index") not in by_index for d in deferred):
        raise InputError("the bindings changed between the role's two calls: the deferred phones were not written")

    def desired(item: Mapping[str, Any]) -> Dict[str, Any]:
        given = by_index[item["index"]]
        covered = policy is not None and policy.covers(str(item.get("extension")))
        return dict({k: v for k, v in policy.desired.items() if k not in given} if policy and covered else {}, **given)

    outcomes = write_deferred(TelphinApi(client), deferred, desired, region, on_secret, parallel) if deferred else []
    result = merged_result(first, outcomes, bool(params.get("report_unchanged")))
    bad = [o for o in outcomes if o.bad]
    if bad:
        raise RunFailed("%d of %d deferred bind(s) failed (written after every tenant's unbinds); the others were "
                        "applied. Re-run to converge:\n- %s" % (len(bad), len(outcomes), "\n- ".join(
                            "%s: %s" % (o.label, o.error) for o in bad)), result)
    return result
