"""Hourly request buckets (one per client, one per dealer) and the concurrent-request counter.

Not thread-safe on its own: the engine calls it under its lock.
"""

from __future__ import annotations

import math
import time
from typing import Any, Dict, Optional


class Bucket:
    """A fixed-window request counter: ``limit`` requests per ``window`` seconds."""

    def __init__(self, limit: int, window: float, max_concurrent: Optional[int] = None) -> None:
        self.limit = limit
        self.window = window
        self.max_concurrent = max_concurrent
        self.remaining = limit
        self.reset_at = time.monotonic() + window
        self.in_flight = 0

    def _roll(self) -> None:
        now = time.monotonic()
        if now >= self.reset_at:
            self.reset_at += (math.floor((now - self.reset_at) / self.window) + 1) * self.window
            self.remaining = self.limit

    def reset_in(self) -> int:
        """Whole seconds until the window resets (what ``X-RateLimit-Reset`` says)."""
        self._roll()
        return max(0, math.ceil(self.reset_at - time.monotonic()))

    def exhausted(self) -> bool:
        self._roll()
        return self.remaining <= 0

    def busy(self) -> bool:
        return self.max_concurrent is not None and self.in_flight >= self.max_concurrent

    def take(self) -> None:
        """Charge one request and count it as in flight until ``release``."""
        self._roll()
        self.remaining -= 1
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1

    def headers(self) -> Dict[str, str]:
        reset = self.reset_in()
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(max(0, self.remaining)),
                "X-RateLimit-Reset": str(reset)}

    def set(self, limit: Optional[int] = None, remaining: Optional[int] = None,
            reset_in: Optional[float] = None) -> None:
        """Change the limit (keeping the count used), the remaining count and/or the time to reset."""
        self._roll()
        if limit is not None:
            self.remaining = max(0, limit - (self.limit - self.remaining))
            self.limit = limit
        if remaining is not None:
            self.remaining = remaining
        if reset_in is not None:
            self.reset_at = time.monotonic() + reset_in

    def snapshot(self) -> Dict[str, Any]:
        return {"limit": self.limit, "remaining": max(0, self.remaining), "reset_in": self.reset_in(),
                "window_seconds": self.window, "max_concurrent": self.max_concurrent, "in_flight": self.in_flight}
