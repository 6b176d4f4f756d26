# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Many phones at once: ``Target`` (one phone a run looks at), ``for_each`` (the bounded worker pool), ``Ticks``.

The bulk flow (``_bulk``), ``apply_plan`` (``_plan_apply``) and the reads of every phone (``_reads``) share them;
``_converge.read_into`` reads a target's phone.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from ansible_collections.telphin.pbx.plugins.module_utils._errors import RUN_STOPPERS, InputError, TelphinError, unexpected
from ansible_collections.telphin.pbx.plugins.module_utils._phone import FIELDS, MASK, plan_patch
from ansible_collections.telphin.pbx.plugins.module_utils._results import PhoneOutcome
from ansible_collections.telphin.pbx.plugins.module_utils._words import MODULE, Words

DEFAULT_PARALLEL = 4
MAX_PARALLEL = 6


@dataclass
class Target:
    """One extension the bulk run must look at, with its normalised desired values."""

    outcome: PhoneOutcome
    desired: Dict[str, Any]
    current: Optional[Dict[str, Any]] = None     # the phone as read, in runs that read before writing
    planned: Optional[Dict[str, Any]] = None     # apply_plan: the plan's "before" values
    policy_keys: Tuple[str, ...] = ()            # the keys of ``desired`` a policy gave it (no binding set them)
    index: Optional[int] = None                  # the binding's place in the bindings (a deferred write finds it)

    def readable_patch(self, region: str) -> Dict[str, Any]:
        """The keys this phone would get, less write-only and secret ones: what the guard, backups and plans count."""
        patch = plan_patch(self.current or {}, self.desired, region)
        return {k: v for k, v in patch.items() if not (FIELDS[k].write_only or FIELDS[k].secret)}

    def counted_patch(self, region: str) -> Dict[str, Any]:
        """The keys this phone would get that the guard counts: every readable key, a secret one (the conference
        PIN) with its value masked; a write-only key (the SIP password) cannot be compared and is not counted."""
        patch = plan_patch(self.current or {}, self.desired, region)
        return {k: MASK if FIELDS[k].secret else v for k, v in patch.items() if not FIELDS[k].write_only}


def check_parallel(value: Any, words: Words = MODULE) -> int:
    """The number of requests sent at once; unset is ``DEFAULT_PARALLEL``."""
    parallel = DEFAULT_PARALLEL if value is None else int(value)
    if not 1 <= parallel <= MAX_PARALLEL:
        raise InputError("%s must be between 1 and %d (the API allows few simultaneous requests), got %d"
                         % (words("parallel"), MAX_PARALLEL, parallel))
    return parallel


def for_each(targets: List[Target], work: Callable[[Target], None], parallel: int) -> None:
    """Run ``work`` on every target with a bounded pool. A ``TelphinError`` fails that target's outcome; a
    run-stopping one (quota, credentials, rights, TLS) also marks every target not yet started ``skipped``.
    Any other exception fails its target only: whatever a server sends, the run ends with every outcome."""
    stop = threading.Event()
    reason: List[str] = []

    def one(target: Target) -> None:
        outcome = target.outcome
        if outcome.status in ("failed", "skipped", "stale"):   # settled by an earlier pass
            return
        if stop.is_set():
            outcome.status, outcome.error = "skipped", "not processed: " + reason[0]
            return
        try:
            work(target)
        except RUN_STOPPERS as exc:
            if not stop.is_set():
                reason.append(str(exc))
                stop.set()
            outcome.status, outcome.error = "failed", str(exc)
        except TelphinError as exc:
            outcome.status, outcome.error = "failed", str(exc)
        except Exception as exc:  # pylint: disable=broad-except
            outcome.status, outcome.error = "failed", unexpected(exc)

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(one, targets))


class Ticks:
    """A counter shared by the workers, to order reads and writes across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = 0

    def __call__(self) -> int:
        with self._lock:
            self._now += 1
            return self._now
