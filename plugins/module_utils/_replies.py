# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An API reply: ``Response`` (what a transport returns) and what the API says in it, and the reply in the
collection's words: ``error_for`` an HTTP error status (method, path, status, a code of ``KNOWN_CODES`` and what
to do, never the reply's text), ``decode_reply`` for the JSON of the rest."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence

from ansible_collections.telphin.pbx.plugins.module_utils._errors import (
    AccessDenied, AuthenticationError, NotFound, ProtocolError, ProxyRefused, QuotaExhausted, TelphinError,
    ValidationFailed, reset_text)


@dataclass
class Response:
    """What a transport returns; header names are lower case. The methods read what the API says in it."""

    status: int
    headers: Mapping[str, str]
    text: str

    def int_header(self, name: str) -> Optional[int]:
        """A whole number header; None when absent or not a finite number (``nan``, ``1e999``)."""
        value = _number(self.headers.get(name))
        return None if value is None or abs(value) > 2 ** 53 else int(value)

    def retry_after(self) -> Optional[float]:
        """``Retry-After`` in seconds; None when absent, negative or not a finite number."""
        value = _number(self.headers.get("retry-after"))
        return value if value is not None and value >= 0 else None

    def json_object(self) -> Dict[str, Any]:
        """The body as a JSON object; {} when it is not one."""
        try:
            data = decode_json(self.text)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def api_status(self) -> Optional[str]:
        """The API's error code (``status``, or OAuth's ``error``) when it is one of ``KNOWN_CODES``, else None.

        The only server-supplied text a message may show: a value of a closed set, never free text.
        """
        body = self.json_object()
        for key in ("status", "error"):
            value = body.get(key)
            if isinstance(value, str) and value in KNOWN_CODES:
                return value
        return None

    def is_concurrency_429(self) -> bool:
        """The API's "concurrent request not allowed" 429 (retried), as opposed to the quota's (never retried)."""
        return self.status == 429 and self.api_status() != "rate_limit_exceeded" and "concurrent" in self.text.lower()


# OAuth 2 token endpoint errors (RFC 6749, 5.2).
OAUTH_ERRORS = frozenset(("invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                          "unsupported_grant_type", "invalid_scope"))
# Every error code a message may name: OAuth's, the bearer token's (RFC 6750, 3.1) and those the API documents.
KNOWN_CODES = OAUTH_ERRORS | frozenset((
    "invalid_token", "insufficient_scope", "access_denied", "user_blocked", "user_access_type_deny",
    "app_access_type_deny", "rate_limit_exceeded", "not_found", "client_not_found", "dealer_not_found",
    "extension_not_found"))


def _number(text: Optional[str]) -> Optional[float]:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def decode_json(text: str) -> Any:
    """The JSON value of ``text``; raises ``ValueError`` for anything else, nesting too deep included."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


PROXY_407 = "%s %s: the proxy refused the request (HTTP 407 Proxy Authentication Required)"
# What to do, by HTTP status (403: by the API's code), since the reply's own text is never shown.
FORBIDDEN_HINT = "the app's user may not do this: check its rights and access level in the provider's portal"
NOT_FOUND_HINT = ("no such object, or the app's user may not see it: check the client_id, extension and names the "
                  "task gives, and that api_url is the provider's API host")
VALIDATION_HINT = "check those values against the module's documentation (the API's own message is not shown)"
REQUEST_HINT = "check the task's client_id, extension and type options"
CONFLICT_HINT = "the object was changed or locked by another request meanwhile: run the task again"
SERVER_HINT = "try again later; if it persists, report it to the provider with the time of the run"
OTHER_HINT = "check api_url, token_url and the task's values"
FORBIDDEN_HINTS = {
    "access_denied": "the app's user may not reach this object: check that client_id / extension belong to the "
                     "tenant (or dealer) of this app",
    "user_blocked": "the API user behind this app is blocked: unblock it in the provider's portal",
    "user_access_type_deny": "the app's user is read-only: writes need a user with full access",
    "app_access_type_deny": "the app's access level is too low: give the trusted app the 'All' access level",
}


def error_for(method: str, path: str, resp: Response, sent: Sequence[str] = ()) -> TelphinError:
    """The error for an HTTP error reply, in our words (see ``ApiClient.request``); ``sent``: the keys of the body
    sent."""
    status, code = resp.status, resp.api_status()
    where = "%s %s" % (method, path)
    codes = {"http_status": status, "api_status": code}
    if status == 429:
        return QuotaExhausted(
            "the tenant's hourly request quota is exhausted (429 rate_limit_exceeded on %s); not retried" % where,
            "the quota resets %s" % reset_text(resp.int_header("x-ratelimit-reset")), **codes)
    if status == 407:
        return ProxyRefused(PROXY_407 % (method, path), http_status=407)
    if status == 401:      # with app credentials, a 401 is renewed (TokenKeeper.renew) before it gets here
        return AuthenticationError("%s: HTTP 401: access_token is expired, revoked or invalid" % where,
                                   "supply a new one, or app_id and app_secret", **codes)
    head = "%s: HTTP %d%s" % (where, status, " " + code if code else "")
    if status == 403:
        return AccessDenied(head, FORBIDDEN_HINTS.get(code or "", FORBIDDEN_HINT), **codes)
    if status == 404:
        return NotFound("%s: not found" % head, NOT_FOUND_HINT, **codes)
    if status in (400, 422):
        if sent:
            return ValidationFailed("%s: the API refused the values of %s" % (head, ", ".join(sent)),
                                    VALIDATION_HINT, **codes)
        return ValidationFailed("%s: the API refused the request" % head, REQUEST_HINT, **codes)
    if status == 409:
        return TelphinError("%s: conflict" % head, CONFLICT_HINT, **codes)
    if status >= 500:
        return TelphinError("%s: the server failed" % head, SERVER_HINT, **codes)
    return TelphinError("%s: the API refused the request" % head, OTHER_HINT, **codes)


def decode_reply(method: str, path: str, resp: Response) -> Any:
    """The reply's JSON; a ``ProtocolError`` that says what came instead, never quoting it."""
    if not resp.text.strip():
        return None
    try:
        return decode_json(resp.text)
    except ValueError:
        kind = "HTML" if "<html" in resp.text[:500].lower() else "malformed JSON"
        raise ProtocolError("%s %s: the server replied HTTP %d with %s instead of the API's JSON (%d characters, "
                            "not quoted)" % (method, path, resp.status, kind, len(resp.text)),
                            "is api_url the provider's API host?") from None
