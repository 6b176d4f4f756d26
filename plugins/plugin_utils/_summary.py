# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``phone_bindings`` role's summary of a batch of tenants: totals first, then a line per tenant that needs a
look, in natural order (``tenant_7`` before ``tenant_42``).

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Union

SKIPPED_SYNC = "%d tenant(s) in sync not listed (-e phone_bindings_summary_all=true lists every tenant)"
SHARED_KEY = ("%s not published: tenants %s publish it (a tenant is its client id; set telphin_client_id of each, "
              "or run them in separate jobs); the file each wrote is the only copy")
POLICY_LINES = 20       # kinds of policy change listed; the rest are counted


def natural_key(name: str) -> List[Union[int, str]]:
    """Sort key of a host name with its runs of digits compared as numbers (``t7`` < ``t42``); text parts and
    number parts alternate in every key, so two keys always compare."""
    return [int(part) if index % 2 else part for index, part in enumerate(re.split(r"([0-9]+)", name))]


@dataclass
class Summary:
    """The figures of a batch and its lines; ``totals`` are the counts the first line gives."""

    lines: List[str]
    totals: Dict[str, int] = field(default_factory=dict)
    artifacts: Dict[str, str] = field(default_factory=dict)     # the tenants' plans and backups (``_artifacts``)

    @property
    def text(self) -> str:
        """The lines as printed: the totals line, then the others indented."""
        return "\n".join(self.lines[:1] + ["  " + line for line in self.lines[1:]])


def summarise(results: Mapping[str, Optional[Mapping[str, Any]]], failed: Iterable[str], check_mode: bool,
              list_all: bool) -> Summary:
    """The summary of tenants ``results`` (each tenant's registered ``phone_bindings_result``, ``None`` when it has
    none); ``failed`` are the tenants the play counts as failed or unreachable. ``list_all``: a line for every
    tenant, also those in sync."""
    failed = set(failed)
    verb = "to change" if check_mode else "changed"
    totals = {"changed": 0, "sync": 0, "failed": 0, "phones": 0, "requests": 0}
    lines: List[str] = []
    artifacts: Dict[str, str] = {}
    publishers: Dict[str, List[str]] = {}
    for host in sorted(set(results) | failed, key=natural_key):
        result = results.get(host) or {}
        counts = result.get("summary") or {}
        requests = _figure(result.get("requests"), "total")
        kind = "failed" if host in failed or result.get("failed") else (
            "changed" if counts.get("changed") else "sync")
        totals[kind] += 1
        totals["phones"] += int(counts.get("changed") or 0)
        totals["requests"] += requests
        if isinstance(result.get("artifacts"), Mapping):      # also of a tenant that failed after its backup
            for key, value in result["artifacts"].items():
                if isinstance(value, str):
                    publishers.setdefault(str(key), []).append(host)
                    artifacts[str(key)] = value
        if kind == "sync" and not list_all:
            continue
        quota = _figure(result.get("quota"), "remaining", None)
        lines.append("%s: %s; %d requests, quota left %s"
                     % (host, _state(result, counts, verb), requests, "unknown" if quota is None else quota))
    head = "%d tenant(s)%s: %d %s (%d phone(s)), %d in sync, %d failed; %d requests" % (
        totals["changed"] + totals["sync"] + totals["failed"], " in check mode" if check_mode else "",
        totals["changed"], verb, totals["phones"], totals["sync"], totals["failed"], totals["requests"])
    tail = [SKIPPED_SYNC % totals["sync"]] if totals["sync"] and not list_all else []
    # a key two tenants publish (each its own app with client_id @me: telphin_backup_me) would keep one tenant's
    # plan or backup and lose the other's without a word: neither is published, and the summary says so
    for key in sorted(k for k, hosts in publishers.items() if len(hosts) > 1):
        del artifacts[key]
        tail.append(SHARED_KEY % (key, ", ".join(publishers[key])))
    return Summary([head] + policy_lines(results, verb) + lines + tail, totals, artifacts)


def policy_lines(results: Mapping[str, Optional[Mapping[str, Any]]], verb: str) -> List[str]:
    """The phone policy's changes over the tenants (each result's ``policy_changes``: the engine's change lines,
    their values escaped), most phones first: ``policy: <key> <before> -> <after>: N phone(s) changed in T
    tenant(s)``."""
    counts: Dict[str, List[int]] = {}
    for result in results.values():
        changes = (result or {}).get("policy_changes")
        for entry in changes if isinstance(changes, list) else []:
            if isinstance(entry, Mapping) and isinstance(entry.get("change"), str):
                count = counts.setdefault(entry["change"], [0, 0])
                count[0] += _figure(entry, "phones")
                count[1] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))
    lines = ["policy: %s: %d phone(s) %s in %d tenant(s)" % (change, phones, verb, tenants)
             for change, (phones, tenants) in ranked[:POLICY_LINES]]
    if len(ranked) > POLICY_LINES:
        lines.append("policy: %d more kind(s) of change" % (len(ranked) - POLICY_LINES))
    return lines


def _state(result: Mapping[str, Any], counts: Mapping[str, Any], verb: str) -> str:
    """What happened to one tenant, in the words of its summary line."""
    refused = result.get("refused")
    if isinstance(refused, Mapping):
        first = [str(change) for change in refused.get("first") or []]
        more = int(refused.get("changes") or 0) - len(first)
        return "refused by the blast-radius guard, nothing was written: %d phone(s) would change: %s%s" % (
            int(refused.get("changes") or 0), "; ".join(first), "; ... and %d more" % more if more > 0 else "")
    if counts:
        return "%d phones looked at, %d %s, %d unchanged, %d failed, %d not processed" % (
            int(counts.get("total") or 0), int(counts.get("changed") or 0), verb, int(counts.get("unchanged") or 0),
            int(counts.get("failed") or 0), int(counts.get("skipped") or 0))
    return "failed before any change (its error is above)"


def _figure(value: Any, key: str, default: Any = 0) -> Any:
    """``value[key]`` as a whole number, ``default`` when there is none."""
    if isinstance(value, Mapping) and isinstance(value.get(key), int) and not isinstance(value.get(key), bool):
        return value[key]
    return default
