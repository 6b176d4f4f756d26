# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The provider's limits as one client meets them: the tenant's hourly quota (``X-RateLimit-*`` figures and
``quota_reserve``: ``QuotaMeter``) and how many requests may run at once (``ConcurrencyGate``)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional

from ansible_collections.telphin.pbx.plugins.module_utils._errors import QuotaReserveReached, reset_text
from ansible_collections.telphin.pbx.plugins.module_utils._settings import ConnectionSettings
from ansible_collections.telphin.pbx.plugins.module_utils._replies import Response

GATE_RECOVERY = 5.0         # seconds without a "concurrent request" 429 before one more request may run at once


@dataclass
class Quota:
    """The latest ``X-RateLimit-*`` figures; ``reset`` is seconds until the window turns."""

    limit: Optional[int]
    remaining: Optional[int]
    reset: Optional[int]
    seen_at: float = field(default=0.0, repr=False)

    def as_dict(self) -> Dict[str, Optional[int]]:
        return {"limit": self.limit, "remaining": self.remaining, "reset": self.reset}


class ConcurrencyGate:
    """How many API requests one client sends at once, adapted to what the provider accepts.

    It starts at the number of worker threads, halves on every "concurrent request" 429 and lets one more
    request through again only after ``GATE_RECOVERY`` seconds without such a 429. The provider's limit
    on simultaneous requests is not published and is shared with the tenant's other users (another run,
    the CRM): with fixed parallelism, workers kept colliding and items failed after their retries.
    """

    def __init__(self, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = self.limit = max(size, 1)
        self.active = 0
        self._clock = clock
        self._calm_since = clock()
        self._cond = threading.Condition()

    def acquire(self) -> None:
        with self._cond:
            while self.active >= self.limit:
                self._cond.wait()
            self.active += 1

    def release(self, refused: bool) -> None:
        with self._cond:
            self.active -= 1
            now = self._clock()
            if refused:
                self.limit = max(1, self.limit // 2)
                self._calm_since = now
            elif self.limit < self.size and now - self._calm_since >= GATE_RECOVERY:
                self.limit += 1
                self._calm_since = now
            self._cond.notify_all()


class QuotaMeter:
    """The latest quota figures and the API requests in flight (sent, their reply and its
    X-RateLimit-Remaining not yet in), for one client and its worker threads."""

    def __init__(self, settings: ConnectionSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self.quota: Optional[Quota] = None
        self.in_flight = 0

    def as_dict(self) -> Dict[str, Optional[int]]:
        with self._lock:
            return self.quota.as_dict() if self.quota else {"limit": None, "remaining": None, "reset": None}

    def forget(self) -> None:
        """Drop the figures: the next requests are charged to another tenant (one client, many tenants)."""
        with self._lock:
            self.quota = None

    def record(self, resp: Response) -> None:
        """Keep the reply's ``X-RateLimit-*`` figures (a reply without them changes nothing)."""
        limit, remaining, reset = (resp.int_header("x-ratelimit-" + n) for n in ("limit", "remaining", "reset"))
        if limit is None and remaining is None:
            return
        with self._lock:
            now, old = self._clock(), self.quota
            if old is not None and None not in (old.remaining, old.reset, remaining, reset) and \
                    remaining > old.remaining and now + reset <= old.seen_at + old.reset + 1.5:
                # Same window, more left: a reply that overtook one sent later; it does not know about
                # the requests counted since, so keep the lower figure.
                remaining = old.remaining
            self.quota = Quota(limit, remaining, reset, now)

    def _window_turned(self, quota: Quota) -> bool:
        return quota.reset is not None and self._clock() >= quota.seen_at + quota.reset

    def _reserve_check(self, url: str, in_flight: int) -> None:
        """Raise ``QuotaReserveReached`` if one more request (with ``in_flight`` others whose replies are not
        in yet) could take the remaining count below ``quota_reserve``. Called with ``_lock`` held."""
        quota = self.quota
        if quota is None or quota.remaining is None or url == self.settings.token_url or self._window_turned(quota):
            return
        if quota.remaining - in_flight - 1 < self.settings.quota_reserve:
            pending = " with %d request(s) still in flight" % in_flight if in_flight else ""
            if self.settings.quota_reserve == 0:
                raise QuotaReserveReached(
                    "the tenant's hourly request quota is used up (X-RateLimit-Remaining is %d%s): no further "
                    "request sent; the quota resets %s" % (quota.remaining, pending, reset_text(quota.reset)))
            raise QuotaReserveReached(
                "stopped before the request quota reserve: X-RateLimit-Remaining is %d%s and quota_reserve is %d, "
                "so the tenant's live integrations keep their share; the quota resets %s"
                % (quota.remaining, pending, self.settings.quota_reserve, reset_text(quota.reset)))

    def take_slot(self, url: str) -> None:
        """Check the reserve counting the requests in flight, and count this one in.

        Worker threads share the client: without this, each of them could pass the check on the same
        X-RateLimit-Remaining and together take the tenant's quota below the reserve.
        """
        with self._lock:
            self._reserve_check(url, self.in_flight)
            self.in_flight += 1

    def release_slot(self, charged: bool) -> None:
        """The reply is in (its figures recorded) or lost; a lost reply's request is assumed to be counted."""
        with self._lock:
            self.in_flight -= 1
            quota = self.quota
            if charged and quota is not None and quota.remaining is not None and not self._window_turned(quota):
                self.quota = Quota(quota.limit, max(quota.remaining - 1, 0), quota.reset, quota.seen_at)
