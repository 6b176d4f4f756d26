# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The run's bearer token: fetched once, renewed when the API refuses it, within bounds.

A token that served requests and is refused later was revoked or expired: it is renewed (at most once
per request it served, so churn costs little). A token refused before it served anything is renewed
only while the run's credentials are proven (a request of the run succeeded) and ``MAX_TOKEN_RENEWALS``
such renewals are not used up. Before any success, the second refused token stops the run: the token
endpoint accepts the app but the API refuses its tokens, and every further item would cost two more
requests of the tenant's quota.

The token endpoint's form and reply (OAuth 2 client credentials grant) are ``token_form`` and ``token_from_reply``.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Optional, Set

from ansible_collections.telphin.pbx.plugins.module_utils._errors import AuthenticationError

MAX_TOKEN_RENEWALS = 10     # renewed tokens refused before they served a request, per run


def token_form(app_id: str, app_secret: str) -> Dict[str, str]:
    """The form of ``POST <token_url>`` (OAuth client credentials grant)."""
    return {"grant_type": "client_credentials", "client_id": app_id, "client_secret": app_secret}


def token_from_reply(data: Any) -> Optional[str]:
    """The access token of a token endpoint reply, or None when it holds none."""
    token = data.get("access_token") if isinstance(data, dict) else None
    return token if isinstance(token, str) and token else None


class TokenKeeper:
    """The current token, shared by the worker threads of one client; ``fetch`` asks the token endpoint."""

    def __init__(self, fetch: Callable[[], str], given: Optional[str] = None, app_id: Optional[str] = None) -> None:
        self._fetch = fetch
        self._token = given
        self._app_id = app_id
        self._lock = threading.Lock()
        self._served: Set[str] = set()     # tokens the API has accepted at least once
        self.renewals = 0                  # tokens fetched after a 401
        self._wasted = 0                   # of which after a token refused before it served a request

    def current(self) -> str:
        """The token to send, fetched on first use."""
        with self._lock:
            if self._token is None:
                self._token = self._fetch()
            return self._token

    def served(self, token: str) -> None:
        """The API answered a request sent with ``token`` past authentication."""
        self._served.add(token)     # a set add is atomic; read under the lock in renew

    def renew(self, refused: Optional[str], where: str, api_status: Optional[str]) -> None:
        """After a 401 for ``refused``: fetch a new token unless another worker already has (the caller then
        repeats with that one), or raise ``AuthenticationError`` when the credentials themselves are refused."""
        with self._lock:
            if self._token is not None and self._token != refused:
                return
            if refused not in self._served:
                codes = {"http_status": 401, "api_status": api_status}
                if not self._served and self.renewals:
                    raise AuthenticationError(
                        "%s: HTTP 401" % where, "the token was refused again after a fresh one was fetched, before "
                        "any request succeeded: the token endpoint accepts app_id %r but the API refuses its tokens "
                        "(is the app's user blocked or deleted?)" % self._app_id, **codes)
                if self._wasted >= MAX_TOKEN_RENEWALS:
                    raise AuthenticationError(
                        "%s: HTTP 401" % where, "%d renewed tokens were refused before they served a request (%d "
                        "renewals in this run): stopped to spare the tenant's quota"
                        % (MAX_TOKEN_RENEWALS, self.renewals), **codes)
                if self._served:
                    self._wasted += 1
            self._token = self._fetch()
            self.renewals += 1
