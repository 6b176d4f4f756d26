# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A phone policy: phone properties that every phone extension of a tenant gets, less the excluded ones.

A policy is more items, not another flow: ``_bulk.plan_targets`` adds its keys to the desired values of every
phone of the extension list it reads (a binding's own value wins for its key), so the guard, diffs, plans,
backups and writes see one list. ``check_policy`` refuses, before any request, what is not a mapping of phone
properties with good values, a number or a secret, and exclusions that are not extension names or globs.
``totals`` counts the phones whose policy keys change, per key and values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError
from ansible_collections.telphin.pbx.plugins.module_utils._numbers import require_phonenumbers
from ansible_collections.telphin.pbx.plugins.module_utils._phone import FIELDS, desired_state
from ansible_collections.telphin.pbx.plugins.module_utils._resolve import is_extension_name, short_name
from ansible_collections.telphin.pbx.plugins.module_utils._results import PhoneOutcome
from ansible_collections.telphin.pbx.plugins.module_utils._words import MODULE, Words

# One value for every phone: never the per-terminal number, never a secret (the SIP password, the conference PIN).
POLICY_KEYS = tuple(name for name, f in FIELDS.items() if f.kind != "number" and not (f.write_only or f.secret))
_PATTERN = re.compile(r"^[0-9A-Za-z_*?!\[\]-]{1,64}$")
MAX_TOTALS = 20         # change lines per tenant; the rest are counted per key
_VALUE_SHOWN = 60       # characters of a value in a change line


@dataclass(frozen=True)
class Policy:
    """The normalised values of a policy and its exclusions (extension names or globs)."""

    desired: Dict[str, Any]
    exclude: Tuple[str, ...] = ()

    def covers(self, name: str) -> bool:
        """Whether the phone extension of full name ``name`` gets the policy."""
        return not any(_matches(pattern, name) for pattern in self.exclude)


def _matches(pattern: str, name: str) -> bool:
    """An extension name (``100``, ``000*100``) is that extension; any other pattern is a glob matched against the
    short and the full name."""
    if is_extension_name(pattern):
        return pattern in (name, short_name(name))
    return fnmatchcase(short_name(name), pattern) or fnmatchcase(name, pattern)


def _kind(value: Any) -> str:
    kinds = ((bool, "a boolean"), (str, "a string"), (int, "an integer"), (float, "a number"), (list, "a list"))
    return next((text for kind, text in kinds if isinstance(value, kind)), "a %s" % type(value).__name__)


def _name(key: Any) -> str:
    text = repr(key) if not isinstance(key, str) else key
    return text if len(text) <= 40 and text.isprintable() else repr(text[:40]) + "..."


def check_policy(value: Any, exclude: Any, words: Words = MODULE) -> Tuple[Optional[Policy], List[str]]:
    """The policy of options ``policy`` and ``policy_exclude`` (named as ``words`` do), and the problems found;
    no policy when ``value`` is unset or empty. No request is made."""
    problems: List[str] = []
    option = words("policy")
    patterns = _check_exclude(exclude, words("policy_exclude"), problems)
    if value is None or (isinstance(value, Mapping) and not value):
        return None, problems
    if not isinstance(value, Mapping):
        problems.append("%s must be a mapping of the phone properties every phone gets (such as record_enabled: "
                        "true), got %s" % (option, _kind(value)))
        return None, problems
    forbidden = sorted(str(k) for k in value if k in FIELDS and k not in POLICY_KEYS)
    unknown = sorted(_name(k) for k in value if k not in FIELDS)
    if forbidden:
        problems.append("%s: %s: a policy holds no phone number and no secret (one value would go to every phone); "
                        "give them per phone in %s" % (option, ", ".join(forbidden), words("bindings")))
    if unknown:
        problems.append("%s: unknown key(s) %s; a policy sets these phone properties: %s"
                        % (option, ", ".join(unknown), ", ".join(POLICY_KEYS)))
    values = {k: v for k, v in value.items() if k in POLICY_KEYS}
    desired: Dict[str, Any] = {}
    try:
        if values.get("geo_list") is not None:
            require_phonenumbers("geo_list")     # the country codes are checked against its region list
        desired = desired_state(values)
    except InputError as exc:
        problems.append("%s: %s" % (option, exc))
    if problems or not desired:
        return None, problems
    return Policy(desired, tuple(patterns)), problems


def _check_exclude(value: Any, option: str, problems: List[str]) -> List[str]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        problems.append("%s must be a list of extension names or globs (such as [\"100\", \"9*\"]), got %s"
                        % (option, _kind(value)))
        return []
    patterns: List[str] = []
    for index, item in enumerate(value):
        where = "%s[%d]" % (option, index)
        if isinstance(item, int) and not isinstance(item, bool):
            problems.append("%s: %s is an integer, not a string: quote it in YAML (a leading 0 makes an octal "
                            "number: 0101 is read as 65)" % (where, item))
        elif not isinstance(item, str) or not _PATTERN.match(item.strip()) or item.count("[") != item.count("]"):
            problems.append("%s: %s is not an extension name or a glob: give a short name (100), a full name "
                            "(000*100) or a glob of *, ? and [...] (such as 9*)"
                            % (where, _name(item) if isinstance(item, str) else _kind(item)))
        else:
            patterns.append(item.strip())
    return patterns


def _shown(value: Any) -> str:
    """A value in a change line: JSON (control and non-ASCII characters escaped), bounded in length."""
    text = json.dumps(value, ensure_ascii=True, sort_keys=True, default=str)
    return text if len(text) <= _VALUE_SHOWN else text[:_VALUE_SHOWN] + "..."


def totals(changes: Iterable[Tuple[PhoneOutcome, Iterable[str]]]) -> List[Dict[str, Any]]:
    """Per policy key and its values before and after, how many phones changed (would change in check mode):
    ``{"key", "change", "phones"}``, most phones first. ``changes``: each outcome with the keys the policy gave it
    (not those a binding set). Lines past ``MAX_TOTALS`` are counted per key as changes from other values."""
    counts: Dict[Tuple[str, str], int] = {}
    for outcome, keys in changes:
        if outcome.status != "changed":
            continue
        for key in keys:
            before, after = outcome.before.get(key), outcome.after.get(key)
            if before != after:
                line = "%s %s -> %s" % (key, _shown(before), _shown(after))
                counts[(key, line)] = counts.get((key, line), 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    lines = [{"key": key, "change": line, "phones": n} for (key, line), n in ranked[:MAX_TOTALS]]
    rest: Dict[str, int] = {}
    for (key, _line), n in ranked[MAX_TOTALS:]:
        rest[key] = rest.get(key, 0) + n
    lines.extend({"key": key, "change": "%s from other values" % key, "phones": n} for key, n in sorted(rest.items()))
    return lines
