# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Result shaping: what one extension's outcome looks like, and the module results built from outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ansible_collections.telphin.pbx.plugins.module_utils._errors import RunFailed
from ansible_collections.telphin.pbx.plugins.module_utils._resolve import short_name
from ansible_collections.telphin.pbx.plugins.module_utils._words import shown

STATUSES = ("changed", "unchanged", "failed", "skipped")
# the result's ``bundle_listing`` when ``bundle_listing: false`` skipped the bundle list a synchronised key needed
BUNDLES_NOT_ASKED = "not asked (bundle_listing: false): bundle conflicts are looked for after the writes"


@dataclass
class PhoneOutcome:
    """What happened to one extension's phone terminal."""

    extension_id: int
    extension: Optional[str] = None
    changed: bool = False
    status: str = "unchanged"              # one of STATUSES, stale (apply_plan) or deferred (_moves); skipped = not processed
    before: Dict[str, Any] = field(default_factory=dict)
    after: Dict[str, Any] = field(default_factory=dict)
    phone: Dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None
    written: Dict[str, Any] = field(default_factory=dict)     # the patch the API applied
    read_at: int = 0                # when the phone was read, and when the write was applied (ticks of one run)
    written_at: int = 0
    conflict: bool = False          # failed as a bundle conflict (a re-run cannot fix it)

    @property
    def label(self) -> str:
        """How messages and diff headers name the extension: its name as the server sent it, escaped (``shown``)."""
        return "%s (id %s)" % (shown(self.extension), self.extension_id) if self.extension else \
            "id %s" % self.extension_id

    @property
    def bad(self) -> bool:
        return self.status in ("failed", "skipped")

    def item(self) -> Dict[str, Any]:
        return {"extension": short_name(self.extension) if self.extension else None,
                "extension_full_name": self.extension, "extension_id": self.extension_id, "status": self.status,
                "changed": self.changed, "before": self.before, "after": self.after, "error": self.error}

    def diff(self) -> Dict[str, Any]:
        return {"before_header": "extension %s phone" % self.label, "after_header": "extension %s phone" % self.label,
                "before": self.before, "after": self.after}


def single_result(outcome: PhoneOutcome) -> Dict[str, Any]:
    """``extension_phone``: the one phone."""
    return {"changed": outcome.changed, "extension_id": outcome.extension_id, "extension_name": outcome.extension,
            "phone": outcome.phone, "diff": outcome.diff()}


def phone_read_result(outcome: PhoneOutcome) -> Dict[str, Any]:
    """``extension_phone_info`` for one extension."""
    return {"changed": False, "extension_id": outcome.extension_id, "extension_name": outcome.extension,
            "phone": outcome.phone}


def phones_read_result(outcomes: List[PhoneOutcome]) -> Dict[str, Any]:
    """``extension_phone_info`` for every phone of a tenant; ``RunFailed`` when some could not be read."""
    phones = [{"extension": short_name(o.extension or ""), "extension_full_name": o.extension,
               "extension_id": o.extension_id, "phone": o.phone} for o in outcomes]
    result = {"changed": False, "phones": phones}
    failed = [o for o in outcomes if o.bad]
    if failed:
        raise RunFailed("could not read %d of %d phone(s):\n- %s" % (
            len(failed), len(outcomes), "\n- ".join("%s: %s" % (o.label, o.error) for o in failed)), result)
    return result


def bulk_result(outcomes: List[PhoneOutcome], check_mode: bool, report_unchanged: bool,
                extra: Optional[Dict[str, Any]] = None, plan: str = "") -> Dict[str, Any]:
    """``extension_phones``; ``results`` leaves out unchanged extensions unless asked (``summary`` counts them).

    ``extra`` keys are added to the result. ``plan``: the run applied a plan (how its messages start, naming the
    tenant), so ``summary`` also counts ``stale`` phones (changed since the plan was made, not written).
    ``RunFailed`` (carrying the result) when any extension failed, was not processed or was stale.
    """
    summary = {"total": len(outcomes)}
    deferred = ("deferred",) if any(o.status == "deferred" for o in outcomes) else ()
    for status in STATUSES + (("stale",) if plan else ()) + deferred:
        summary[status] = sum(o.status == status for o in outcomes)
    result: Dict[str, Any] = {
        "changed": summary["changed"] > 0,
        "results": [o.item() for o in outcomes if report_unchanged or o.status != "unchanged"],
        "summary": summary,
        "diff": [o.diff() for o in outcomes if o.changed],
    }
    result.update(extra or {})
    bad = [o for o in outcomes if o.bad]
    stale = [o for o in outcomes if o.status == "stale"]
    if stale:
        raise RunFailed("%s: %d of %d planned extension(s) are stale: the phone changed since the plan was made, so "
                        "it was not written; the others were %s%s. Make and approve a new plan for them:\n- %s"
                        % (plan, len(stale), len(outcomes), "checked" if check_mode else "applied",
                           " except %d that failed" % len(bad) if bad else "",
                           "\n- ".join("%s: %s" % (o.label, o.error) for o in stale + bad)), result)
    if bad:
        lines = ["%s: %s" % (o.label, o.error) for o in bad]
        advice = ("Give the members of one bundle the same value of each synchronised key (a re-run cannot settle "
                  "a bundle conflict); re-run to converge the rest" if any(o.conflict for o in bad) else
                  "Re-run to converge")
        raise RunFailed("%s%d of %d extension(s) failed or were not processed%s; the others were %s. %s:\n- %s"
                        % ("%s: " % plan if plan else "", len(bad), len(outcomes), " (check mode)" if check_mode else "",
                           "checked" if check_mode else "applied", advice, "\n- ".join(lines)), result)
    return result
