# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The run's bearer token: fetched once, renewed when the API refuses it, within bounds.

Two refusals look alike and are not:

- The token endpoint refusing the app's credentials (its own 400/401/403) stops the run at once: the
  fetch raises, nothing is retried.
- The API refusing a token (401) says the token is no longer good. A token that served requests was
  revoked or expired: it is renewed. A fresh token refused before it served anything may have been
  revoked before its first use (token churn) or be refused because the app's user is blocked: it is
  renewed too, but only ``FRESH_RENEWALS`` times in a row and within ``FRESH_SECONDS`` of the first
  such refusal; a request that gets through with any token ends the streak. Past either bound the run
  stops, with a message saying whether any request of the run had succeeded.

Each fresh token refused costs the tenant one refused request (and one token request), so the bound
also caps what wrong-but-accepted credentials cost: ``FRESH_RENEWALS + 1`` refused requests. One request
repeated after 401s with tokens that serve other requests fails alone after ``REQUEST_REFUSALS``.

The token endpoint's form and reply (OAuth 2 client credentials grant) are ``token_form`` and ``token_from_reply``.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any, Callable, Dict, Optional, Set

from ansible_collections.telphin.pbx.plugins.module_utils._errors import AuthenticationError

FRESH_RENEWALS = 4          # fresh tokens refused in a row (none served a request) that are still renewed
FRESH_SECONDS = 30.0        # ... and only within this many seconds of the first refusal of the streak
# One request refused this many times fails (its tokens served other requests, or the bound above had stopped
# the run): one refusal of a token that served, then the fresh ones up to the stop, come first.
REQUEST_REFUSALS = FRESH_RENEWALS + 3


def token_form(app_id: str, app_secret: str) -> Dict[str, str]:
    """The form of ``POST <token_url>`` (OAuth client credentials grant)."""
    return {"grant_type": "client_credentials", "client_id": app_id, "client_secret": app_secret}


def token_from_reply(data: Any) -> Optional[str]:
    """The access token of a token endpoint reply, or None when it holds none."""
    token = data.get("access_token") if isinstance(data, dict) else None
    return token if isinstance(token, str) and token else None


MAX_LIFETIME = 10 * 365 * 86400     # an expires_in beyond this (ten years) is not a lifetime
_DIGITS = re.compile(r"[0-9]{1,12}")


def token_lifetime(data: Any) -> Optional[int]:
    """The ``expires_in`` of a token endpoint reply in whole seconds, or None when it states none that makes sense."""
    value = data.get("expires_in") if isinstance(data, dict) else None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):     # ASCII digits: str.isdigit takes "²" too
        value = int(value.strip())
    if isinstance(value, float):
        value = int(value) if 0 < value <= MAX_LIFETIME else None
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_LIFETIME else None


class TokenKeeper:
    """The current token, shared by the worker threads of one client; ``fetch`` asks the token endpoint."""

    def __init__(self, fetch: Callable[[], str], given: Optional[str] = None, app_id: Optional[str] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._token = given
        self._app_id = app_id
        self._clock = clock
        self._lock = threading.Lock()
        self._served: Set[str] = set()     # tokens the API has accepted at least once
        self._succeeded = False            # a request of this run got past authentication
        self._streak = 0                   # fresh tokens refused since a request last got through
        self._streak_began = 0.0
        self.renewals = 0                  # tokens fetched after a 401

    def current(self) -> str:
        """The token to send, fetched on first use."""
        with self._lock:
            if self._token is None:
                self._token = self._fetch()
            return self._token

    def served(self, token: str) -> None:
        """The API answered a request sent with ``token`` past authentication: it works, and so do the
        credentials; a streak of refused fresh tokens ends."""
        if token in self._served and not self._streak:     # the common case, without the lock
            return
        with self._lock:
            self._served.add(token)
            self._succeeded = True
            self._streak = 0

    def renew(self, refused: Optional[str], where: str, api_status: Optional[str]) -> None:
        """After an API 401 for ``refused``: fetch a new token unless another worker already has (the caller then
        repeats with that one), or raise ``AuthenticationError`` once fresh tokens are refused past the bounds."""
        with self._lock:
            if self._token is not None and self._token != refused:
                return
            if refused not in self._served:
                now = self._clock()
                if not self._streak:
                    self._streak_began = now
                self._streak += 1
                why = self._stop_reason(now - self._streak_began)
                if why:
                    raise AuthenticationError("%s: HTTP 401" % where, why, http_status=401, api_status=api_status)
            self._token = self._fetch()
            self.renewals += 1

    def _stop_reason(self, elapsed: float) -> Optional[str]:
        """Why the ``_streak``-th fresh token refused in a row stops the run, or None to renew it."""
        if self._streak <= FRESH_RENEWALS and (self._streak == 1 or elapsed <= FRESH_SECONDS):
            return None
        streak = "%d fresh tokens in a row were refused before they served a request (%.0f s)" % (self._streak, elapsed)
        if not self._succeeded:
            return ("%s, and no request of this run got through: the token endpoint accepts app_id %r but the API "
                    "refuses its tokens (is the app's user blocked or deleted?)" % (streak, self._app_id))
        return ("%s: tokens are revoked as fast as they are issued; the run stopped to spare the tenant's quota, "
                "try later" % streak)
