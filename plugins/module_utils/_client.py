# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one API client: token, retries, quota, secrets.

One object per module run (or inventory refresh). It fetches one token and renews it when the API
refuses it (``_tokens.TokenKeeper`` says when that stops), retries transient failures with jittered
exponential backoff, fails fast on an exhausted quota (``_quota``: the ``X-RateLimit-*`` figures, the
reserve, the concurrency gate), counts every request it sends and collects every secret it sees
(``secrets``) so the caller can mask them. Error replies become errors in ``_replies``.

It knows no endpoint: ``_api.TelphinApi`` names them. Thread-safe: the bulk flow shares one client
between worker threads.
"""

from __future__ import annotations

import random
import re
import threading
import time
from typing import Any, Callable, Dict, Mapping, Optional
from urllib.parse import urlsplit

from ansible_collections.telphin.pbx.plugins.module_utils._errors import (
    AuthenticationError, HostUnknown, NameFailure, ProtocolError, ProxyAuthFailure, ProxyRefused, TelphinError,
    TLSError, TLSFailure, TransientError, TransportFailure)
from ansible_collections.telphin.pbx.plugins.module_utils import _lifeline
from ansible_collections.telphin.pbx.plugins.module_utils._quota import ConcurrencyGate, Quota, QuotaMeter
from ansible_collections.telphin.pbx.plugins.module_utils._replies import (
    OAUTH_ERRORS, PROXY_407, Response, decode_reply, error_for)
from ansible_collections.telphin.pbx.plugins.module_utils._secrets import is_bearer_token, is_secret_key
from ansible_collections.telphin.pbx.plugins.module_utils._settings import API_PREFIX, ConnectionSettings
from ansible_collections.telphin.pbx.plugins.module_utils._tokens import (
    REQUEST_REFUSALS, TokenKeeper, token_form, token_from_reply)
from ansible_collections.telphin.pbx.plugins.module_utils._transport import Transport, Urllib3Transport

# Retry policy for transient failures (connection errors, 502/503/504, a GET's 500, the "concurrent request" 429).
MAX_ATTEMPTS = 5            # first try included
BACKOFF_BASE = 0.5          # seconds; doubled per attempt, full jitter
BACKOFF_CAP = 8.0           # longest single wait
RETRY_AFTER_CAP = 30.0      # longest Retry-After honoured
RETRY_BUDGET = 60.0         # no new attempt starts later than this after the first one
RETRIED_STATUSES = frozenset((502, 503, 504))
READ_RETRIED_STATUSES = frozenset((500,))   # retried for GETs and the token request; after a PUT see put_decided


class ApiClient:
    """Calls ``<api_url>/api/ver1.0<path>`` with a bearer token; see the module docstring."""

    def __init__(self, settings: ConnectionSettings, transport: Optional[Transport] = None, pool_size: int = 4,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.transport = transport or Urllib3Transport(settings.validate_certs, settings.ca_path, pool_size)
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self.counts: Dict[str, int] = {}
        self.retries = 0
        self.tokens_issued = 0
        self.tokens = TokenKeeper(self._fetch_token, settings.access_token, settings.app_id, clock)
        self.meter = QuotaMeter(settings, clock)
        self._gate = ConcurrencyGate(pool_size, clock)
        self.secrets = set(s for s in (settings.app_secret, settings.access_token) if s)
        self.per_page: Optional[int] = None     # the list page size the provider accepted (set by _api.pages)
        self.reply_chars = 0                    # decoded characters of every reply so far (_api.pages bounds a list)

    # -- public API -------------------------------------------------------------------------------
    def get(self, path: str, params: Optional[Mapping[str, Any]] = None) -> Any:
        return self.request("GET", path, params=params)

    def put(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("PUT", path, body=body)

    def request(self, method: str, path: str, params: Optional[Mapping[str, Any]] = None, body: Any = None) -> Any:
        """One API call; returns the decoded JSON reply or raises a ``TelphinError``.

        Its message is in the collection's words: the method, ``path`` (never the query), the HTTP status, an error
        code of ``_replies.KNOWN_CODES`` and what to do; never text of the reply (an error's ``message``, a body
        excerpt), which may repeat what was sent. Any secret the client knows is masked in it all the same."""
        if isinstance(body, Mapping):
            with self._lock:
                self.secrets.update(str(v) for k, v in body.items() if is_secret_key(str(k)) and v not in (None, ""))
        try:
            return self._request(method, path, params, body)
        except TelphinError as exc:
            with self._lock:
                exc.redact(set(self.secrets))
            raise

    def _request(self, method: str, path: str, params: Optional[Mapping[str, Any]], body: Any) -> Any:
        url = self.settings.api_url + API_PREFIX + path
        resp, used = self._exchange(method, url, params=params, json_body=body)
        refusals = 0
        while resp.status == 401 and self._can_refresh():
            # A 401 means the request was not processed: repeat it with a renewed token (or the one another
            # worker renewed meanwhile), until TokenKeeper.renew stops the run. Tokens that keep serving other
            # requests prove the credentials: this request alone fails after its attempts, not the run.
            refusals += 1
            if refusals >= REQUEST_REFUSALS:
                raise TransientError("%s %s: HTTP 401 %d times, with a renewed token each time" % (
                    method, path, refusals), "tokens were revoked faster than this request got through; re-run",
                    http_status=401, api_status=resp.api_status())
            self.tokens.renew(used, "%s %s" % (method, path), resp.api_status())
            resp, used = self._exchange(method, url, params=params, json_body=body)
        with self._lock:
            self.reply_chars += len(resp.text)
        if resp.status >= 400:
            raise error_for(method, path, resp, sorted(str(k) for k in body) if isinstance(body, Mapping) else ())
        return decode_reply(method, path, resp)

    def report(self) -> Dict[str, Any]:
        """``requests`` and ``quota`` for module results."""
        with self._lock:
            counts = dict(self.counts)
            counts["total"] = sum(self.counts.values())
            counts["retried"] = self.retries
        return {"requests": counts, "quota": self.meter.as_dict()}

    @property
    def quota(self) -> Optional[Quota]:
        """The latest ``X-RateLimit-*`` figures (``_quota.QuotaMeter``)."""
        return self.meter.quota

    def forget_quota(self) -> None:
        """Drop the quota figures: the next requests are charged to another tenant (one client, many tenants)."""
        self.meter.forget()

    # -- tokens ---------------------------------------------------------------------------------
    def _can_refresh(self) -> bool:
        return bool(self.settings.app_id and self.settings.app_secret)

    def _fetch_token(self) -> str:
        form = token_form(self.settings.app_id or "", self.settings.app_secret or "")
        resp = self._exchange("POST", self.settings.token_url, form=form, authenticated=False)[0]
        if resp.status in (400, 401, 403):
            code = resp.api_status()
            code = code if code in OAUTH_ERRORS else None
            raise AuthenticationError(
                "the token endpoint refused app_id %r (HTTP %d%s)" % (self.settings.app_id, resp.status,
                                                                      " " + code if code else ""),
                "check app_id / app_secret, that the app is a 'trusted' app, and token_url (%s)"
                % _bare(self.settings.token_url), http_status=resp.status, api_status=code)
        if resp.status >= 400:
            raise error_for("POST", "token endpoint", resp)
        data = decode_reply("POST", "token endpoint", resp)
        token = token_from_reply(data)
        if token is None:
            raise ProtocolError("the token endpoint %s replied without an access_token" % _bare(self.settings.token_url))
        if not is_bearer_token(token):      # it would go into a header: a line break there would add one
            raise ProtocolError("the token endpoint %s replied with an access_token that is not a bearer token "
                                "(RFC 6750 characters; not quoted)" % _bare(self.settings.token_url))
        with self._lock:
            self.tokens_issued += 1
            self.secrets.add(token)
        return token

    # -- transport with retries -----------------------------------------------------------------
    def _exchange(self, method: str, url: str, *, params: Optional[Mapping[str, Any]] = None, json_body: Any = None,
                  form: Optional[Mapping[str, Any]] = None,
                  authenticated: bool = True) -> "tuple[Response, Optional[str]]":
        """Send one logical request, retrying transient failures; returns the final response and its token."""
        started = self._clock()
        attempt = 0
        while True:
            headers = {"Accept": "application/json", "User-Agent": self.settings.http_agent}
            try:
                resp, token = self._send_once(method, url, headers, params, json_body, form, authenticated)
            except ProxyAuthFailure:
                raise ProxyRefused(PROXY_407 % (method, _path(url)), http_status=407) from None
            except TLSFailure as exc:
                raise tls_error(url, exc) from None
            except NameFailure as exc:
                raise HostUnknown("%s %s: the host name %s does not resolve (%s)" % (method, _path(url), _host(url), exc)
                                  ) from None
            except TransportFailure as exc:
                problem, wait = "%s (%s)" % (exc, _host(url)), None
            else:
                if token and resp.status < 500 and resp.status not in (401, 429):
                    self.tokens.served(token)        # an API answer past authentication: the token works
                problem, wait = self._transient(resp, method if authenticated else "token")
                if problem is None:
                    return resp, token
            attempt += 1
            delay = self._backoff(attempt, wait)
            if attempt >= MAX_ATTEMPTS or self._clock() - started + delay > RETRY_BUDGET:
                raise TransientError("%s %s failed after %d attempt(s): %s" % (method, _path(url), attempt, problem))
            with self._lock:
                self.retries += 1
            self._sleep(delay)

    def _send_once(self, method: str, url: str, headers: Dict[str, str], params: Optional[Mapping[str, Any]],
                   json_body: Any, form: Optional[Mapping[str, Any]],
                   authenticated: bool) -> "tuple[Response, Optional[str]]":
        """One attempt; returns the response and the token sent. API requests pass the concurrency gate and the
        quota reserve (counting the requests in flight); the token endpoint is neither gated nor metered. Counted
        once it is sent."""
        kind = "token" if not authenticated else method
        if url == self.settings.token_url:
            _lifeline.check()                   # nothing is sent once the controller is gone
            self._count(kind)
            # Its X-RateLimit-* headers, if any, are not the tenant's API quota: not recorded.
            return self.transport.send(method, url, headers=headers, params=params, json_body=json_body, form=form,
                                       timeout=self.settings.timeout), None
        self._gate.acquire()
        refused = False
        try:
            # The token is picked once the gate let this request through: a token renewed while it waited is the
            # one sent, not the refused one (a 401 more per worker kept waiting by a "concurrent" 429).
            token = self.tokens.current() if authenticated else None
            if token:
                headers["Authorization"] = "Bearer " + token
            self.meter.take_slot(url)
            _lifeline.check()                   # after the waits: nothing is sent once the controller is gone
            self._count(kind)
            answered = False
            try:
                resp = self.transport.send(method, url, headers=headers, params=params, json_body=json_body,
                                           form=form, timeout=self.settings.timeout)
                answered = True
                self.meter.record(resp)
            finally:
                self.meter.release_slot(charged=not answered)    # no reply: it may have been counted, assume it was
            refused = resp.is_concurrency_429()
            return resp, token
        finally:
            self._gate.release(refused)

    def _transient(self, resp: Response, kind: str) -> "tuple[Optional[str], Optional[float]]":
        """(problem, Retry-After) when the response is worth retrying, else (None, None). ``kind`` is the method
        (or "token"): a 500 is retried for a GET and a token request (a repeat issues another token, harmless);
        after a PUT's 500 the caller reads the phone to decide."""
        if resp.status in RETRIED_STATUSES or (resp.status in READ_RETRIED_STATUSES and kind in ("GET", "token")):
            return "HTTP %d" % resp.status, resp.retry_after()
        if resp.is_concurrency_429():
            return "HTTP 429 concurrent request not allowed", resp.retry_after()
        return None, None

    def _backoff(self, attempt: int, retry_after: Optional[float]) -> float:
        """Full-jitter exponential backoff; after a Retry-After, that wait plus the jitter, so that workers
        (threads, or other runs on the tenant) told the same Retry-After do not all retry at the same moment."""
        jitter = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))  # nosec - jitter only
        if retry_after is not None:
            return min(max(retry_after, 0.0), RETRY_AFTER_CAP) + jitter
        return jitter

    def _count(self, kind: str) -> None:
        with self._lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1


def tls_error(url: str, failure: TLSFailure) -> TLSError:
    """The error for a failed TLS handshake: what to do depends on why (``validate_certs`` helps only when the
    certificate could not be verified)."""
    if failure.not_tls:
        return TLSError("%s does not speak TLS (%s): an https:// URL on a port that serves plain HTTP?" % (_host(url), failure),
                        hint="give the provider's https:// address and port, or http:// for a test server on this machine "
                             "(allow_plain_http for one elsewhere)")
    if failure.verification:
        return TLSError("TLS verification of %s failed (%s)" % (_host(url), failure))
    return TLSError("the TLS handshake with %s failed (%s)" % (_host(url), failure),
                    hint="check that api_url (and token_url) name the provider's HTTPS host and port")


def _host(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, without credentials."""
    parts = urlsplit(url)
    return "%s://%s" % (parts.scheme, parts.netloc.rsplit("@", 1)[-1]) if parts.netloc else "(no host)"


def _bare(url: str) -> str:
    """``url`` without credentials, query or fragment."""
    return _host(url) + urlsplit(url).path


def _path(url: str) -> str:
    match = re.match(r"^\w+://[^/]+(/[^?]*)", url)
    path = match.group(1) if match else url
    return path[len(API_PREFIX):] if path.startswith(API_PREFIX) else path
