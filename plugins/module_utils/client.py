# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one API client of the collection.

One object per module run (or inventory refresh). It fetches one token, re-fetches it once on a
401, retries transient failures with jittered exponential backoff, fails fast on an exhausted
quota, keeps the latest ``X-RateLimit-*`` figures and counts every request it sends.

The HTTP layer is a small seam (``Transport``): ``Urllib3Transport`` in production, a scripted
fake in the unit tests. Thread-safe: the bulk module shares one client between worker threads.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

URLLIB3_IMPORT_ERROR: Optional[str]
try:
    import urllib3
except ImportError:  # pragma: no cover - exercised through missing_required_lib
    URLLIB3_IMPORT_ERROR = traceback.format_exc()
else:
    URLLIB3_IMPORT_ERROR = None

API_PREFIX = "/api/ver1.0"
DEFAULT_API_URL = "https://apiproxy.telphin.ru"

# Retry policy for transient failures (connection errors, 502/503/504, the "concurrent request" 429).
MAX_ATTEMPTS = 5            # first try included
BACKOFF_BASE = 0.5          # seconds; doubled per attempt, full jitter
BACKOFF_CAP = 8.0           # longest single wait
RETRY_AFTER_CAP = 30.0      # longest Retry-After honoured
RETRY_BUDGET = 60.0         # no new attempt starts later than this after the first one
RETRIED_STATUSES = frozenset((502, 503, 504))
GATE_RECOVERY = 5.0         # seconds without a "concurrent request" 429 before one more request may run at once

FORBIDDEN_HINTS = {
    "access_denied": "the app's user may not reach this object: check that client_id / extension belong to the "
                     "tenant (or dealer) of this app",
    "user_blocked": "the API user behind this app is blocked: unblock it in the provider's portal",
    "user_access_type_deny": "the app's user is read-only: writes need a user with full access",
    "app_access_type_deny": "the app's access level is too low: give the trusted app the 'All' access level",
}


class TelphinError(Exception):
    """An API call failed; ``str(exc)`` is a complete, secret-free message for the user."""

    def __init__(self, message: str, http_status: Optional[int] = None, api_status: Optional[str] = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.api_status = api_status


class ConfigurationError(TelphinError):
    """The connection options are incomplete or malformed; nothing was sent."""


class AuthenticationError(TelphinError):
    """The app credentials or the access token were refused."""


class AccessDenied(TelphinError):
    """A 403: the token is valid but may not do this."""


class NotFound(TelphinError):
    """A 404: unknown client, extension, or an extension without a phone terminal."""


class ValidationFailed(TelphinError):
    """A 400: the API refused the values sent."""


class QuotaExhausted(TelphinError):
    """The tenant's hourly request quota is used up (``429 rate_limit_exceeded``); never retried."""


class QuotaReserveReached(TelphinError):
    """Sending one more request would take ``X-RateLimit-Remaining`` below ``quota_reserve``."""


class TransientError(TelphinError):
    """Retries of a connection error, 5xx or concurrency 429 ran out."""


class ProtocolError(TelphinError):
    """The server replied with something that is not the API's JSON (HTML, truncated JSON, ...)."""


class TransportFailure(Exception):
    """Raised by a transport when no HTTP response arrived (connection refused, reset, timeout)."""


class TLSFailure(TransportFailure):
    """The server certificate could not be verified; retrying cannot help."""


@dataclass
class Response:
    """What a transport returns; header names are lower case."""

    status: int
    headers: Mapping[str, str]
    text: str


class Transport:
    """The seam between the client and the network."""

    def send(self, method: str, url: str, *, headers: Mapping[str, str], params: Optional[Mapping[str, Any]] = None,
             json_body: Any = None, form: Optional[Mapping[str, str]] = None, timeout: float = 30) -> Response:
        raise NotImplementedError


class Urllib3Transport(Transport):
    """Pooled keep-alive connections through ``urllib3`` (the HTTP layer under ``requests``, about 40 % less
    CPU per request than going through ``requests``); ``pool_size`` should match the worker threads.

    Behaves as ``requests`` would for the settings users bring along: proxies from ``HTTPS_PROXY`` /
    ``HTTP_PROXY`` / ``NO_PROXY``; CA bundle ``ca_path``, else ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``,
    else certifi's, else the system store. Unlike ``requests`` it never reads ``~/.netrc``, whose Basic
    credentials would replace the bearer token.
    """

    def __init__(self, validate_certs: bool = True, ca_path: Optional[str] = None, pool_size: int = 4) -> None:
        pool: Dict[str, Any] = {"num_pools": 2, "maxsize": max(pool_size, 1), "retries": False}
        if validate_certs:
            pool.update(cert_reqs="CERT_REQUIRED", ca_certs=ca_path or default_ca_bundle())
        else:
            pool.update(cert_reqs="CERT_NONE")
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._pool_args = pool
        self._managers: Dict[Optional[str], Any] = {}       # by proxy URL (None: direct)
        self._routes: Dict[Tuple[str, str], Any] = {}         # by (scheme, host)
        self._lock = threading.Lock()

    def manager(self, url: str) -> Any:
        """The connection pool manager for ``url``: direct, or through the proxy the environment names
        (looked up once per scheme and host)."""
        parts = urlsplit(url)
        route = (parts.scheme, parts.hostname or "")
        with self._lock:
            if route in self._routes:
                return self._routes[route]
        proxy = getproxies().get(parts.scheme) or None
        if proxy and proxy_bypass(parts.hostname or ""):
            proxy = None
        with self._lock:
            if proxy not in self._managers:
                if proxy and not proxy.startswith(("http://", "https://")):
                    raise TransportFailure("proxy %s is not supported (an http:// or https:// proxy is)"
                                           % urlsplit(proxy).scheme)
                self._managers[proxy] = (urllib3.ProxyManager(proxy, **self._pool_args) if proxy
                                         else urllib3.PoolManager(**self._pool_args))
            self._routes[route] = self._managers[proxy]
            return self._routes[route]

    def send(self, method: str, url: str, *, headers: Mapping[str, str], params: Optional[Mapping[str, Any]] = None,
             json_body: Any = None, form: Optional[Mapping[str, str]] = None, timeout: float = 30) -> Response:
        sent = dict(_BASE_HEADERS, **headers)
        body: Optional[bytes] = None
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            sent["Content-Type"] = "application/json"
        elif form is not None:
            body = urlencode(form).encode("utf-8")
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        exceptions = urllib3.exceptions
        try:
            resp = self.manager(url).request(method, url, body=body, headers=sent, redirect=False,
                                             timeout=urllib3.Timeout(connect=timeout, read=timeout))
        except exceptions.SSLError as exc:
            raise TLSFailure(_reason(exc)) from None
        except exceptions.NewConnectionError as exc:      # refused, unknown host (a ConnectTimeoutError in urllib3 2)
            raise TransportFailure(_reason(exc)) from None
        except exceptions.ConnectTimeoutError:
            raise TransportFailure("could not connect within %s s (timeout)" % timeout) from None
        except exceptions.ReadTimeoutError:
            raise TransportFailure("no reply within %s s (timeout)" % timeout) from None
        except exceptions.HTTPError as exc:
            raise TransportFailure(_reason(exc)) from None
        return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()},
                        resp.data.decode("utf-8", errors="replace"))


_BASE_HEADERS = {"Accept-Encoding": "gzip, deflate"}


def default_ca_bundle() -> Optional[str]:
    """The CA bundle ``requests`` would use: its environment variables, then certifi; None = system store."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        import certifi
    except ImportError:
        return None
    return certifi.where()


_REASONS = (
    re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)"),                     # Connection refused, Name or service not known
    re.compile(r"(certificate verify failed[^'\"(]*)"),
    re.compile(r"(Read timed out|Remote end closed connection without response|Connection reset by peer|"
               r"BadStatusLine|IncompleteRead)"),
    re.compile(r"(Connection aborted)"),
)


def _reason(exc: BaseException) -> str:
    """The useful part of a urllib3 exception text (which nests the whole pool description)."""
    text = str(exc)
    for pattern in _REASONS:
        match = pattern.search(text)
        if match:
            return match.group(1).strip().rstrip(":")
    return re.sub(r"\s+", " ", text).strip()[:300] or exc.__class__.__name__


@dataclass
class ConnectionSettings:
    """The connection options, as the modules and the inventory plugin accept them."""

    api_url: str = DEFAULT_API_URL
    token_url: Optional[str] = None
    app_id: Optional[str] = None
    app_secret: Optional[str] = None
    access_token: Optional[str] = None
    validate_certs: bool = True
    ca_path: Optional[str] = None
    timeout: float = 30
    quota_reserve: int = 0

    def __post_init__(self) -> None:
        url = (self.api_url or DEFAULT_API_URL).strip().rstrip("/")
        if url.endswith(API_PREFIX):
            url = url[: -len(API_PREFIX)]
        if not re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", url):
            raise ConfigurationError("api_url %r is not an http(s) URL such as https://apiproxy.telphin.ru" % url)
        self.api_url = url
        self.token_url = (self.token_url or url + "/oauth/token").strip()
        if not re.match(r"^https?://\S+$", self.token_url):
            raise ConfigurationError("token_url %r is not an http(s) URL" % self.token_url)
        if not self.access_token and not (self.app_id and self.app_secret):
            raise ConfigurationError(
                "no API credentials: set app_id and app_secret (or TELPHIN_APP_ID and TELPHIN_APP_SECRET), "
                "or access_token (TELPHIN_ACCESS_TOKEN)")
        if self.timeout <= 0:
            raise ConfigurationError("timeout must be a positive number of seconds")
        if self.quota_reserve < 0:
            raise ConfigurationError("quota_reserve must be 0 or more")

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "ConnectionSettings":
        """Options left unset or empty (AWX injects unset credential fields as "") take their defaults."""
        return cls(**{name: params[name] for name in CONNECTION_OPTIONS if params.get(name) not in (None, "")})


CONNECTION_OPTIONS = ("api_url", "token_url", "app_id", "app_secret", "access_token", "validate_certs", "ca_path",
                      "timeout", "quota_reserve")


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


def reset_text(seconds: Optional[int]) -> str:
    if seconds is None:
        return "at the top of the next hour (the API sent no X-RateLimit-Reset)"
    at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return "in %d s (at %s UTC)" % (seconds, at.strftime("%Y-%m-%d %H:%M:%S"))


class ApiClient:
    """Calls ``<api_url>/api/ver1.0<path>`` with a bearer token; see the module docstring."""

    def __init__(self, settings: ConnectionSettings, transport: Optional[Transport] = None, pool_size: int = 4,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.transport = transport or Urllib3Transport(settings.validate_certs, settings.ca_path, pool_size)
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._token_lock = threading.Lock()
        self._token: Optional[str] = settings.access_token
        self.counts: Dict[str, int] = {}
        self.retries = 0
        self.tokens_issued = 0
        self._token_numbers: Dict[str, int] = {}
        self.quota: Optional[Quota] = None
        self._in_flight = 0     # API requests sent whose reply (and its X-RateLimit-Remaining) is not yet in
        self._gate = ConcurrencyGate(pool_size, clock)
        self.secrets = set(s for s in (settings.app_secret, settings.access_token) if s)

    # -- public API -------------------------------------------------------------------------------
    def get(self, path: str, params: Optional[Mapping[str, Any]] = None) -> Any:
        return self.request("GET", path, params=params)

    def put(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("PUT", path, body=body)

    def request(self, method: str, path: str, params: Optional[Mapping[str, Any]] = None, body: Any = None) -> Any:
        """One API call; returns the decoded JSON reply or raises a ``TelphinError``."""
        url = self.settings.api_url + API_PREFIX + path
        resp, used = self._exchange(method, url, params=params, json_body=body)
        if resp.status == 401 and self._can_refresh():
            fetched_before = self.tokens_issued
            self._drop_token(used)
            resp, used = self._exchange(method, url, params=params, json_body=body)
            if resp.status == 401 and self._token_number(used) <= fetched_before:
                # The repeat used a token another worker had fetched before this 401 came in (a slow reply),
                # and it has been invalidated since too: that is not a fresh token refused, so one more.
                self._drop_token(used)
                resp, used = self._exchange(method, url, params=params, json_body=body)
        if resp.status >= 400:
            raise self._error(method, path, resp)
        return self._decode(method, path, resp)

    def report(self) -> Dict[str, Any]:
        """``requests`` and ``quota`` for module results."""
        with self._lock:
            counts = dict(self.counts)
            counts["total"] = sum(self.counts.values())
            counts["retried"] = self.retries
            quota = self.quota.as_dict() if self.quota else {"limit": None, "remaining": None, "reset": None}
        return {"requests": counts, "quota": quota}

    # -- tokens ---------------------------------------------------------------------------------
    def _can_refresh(self) -> bool:
        return bool(self.settings.app_id and self.settings.app_secret)

    def _current_token(self) -> str:
        with self._token_lock:
            if self._token is None:
                self._token = self._fetch_token()
            return self._token

    def _token_number(self, token: Optional[str]) -> int:
        """Which fetch of this run issued ``token`` (1, 2, ...); 0 for a token given as ``access_token``."""
        with self._lock:
            return self._token_numbers.get(token or "", 0)

    def _drop_token(self, used: Optional[str]) -> None:
        with self._token_lock:
            if self._token == used:  # another thread may have refreshed it already
                self._token = None

    def _fetch_token(self) -> str:
        form = {"grant_type": "client_credentials", "client_id": self.settings.app_id,
                "client_secret": self.settings.app_secret}
        resp = self._exchange("POST", self.settings.token_url, form=form, authenticated=False)[0]
        if resp.status in (400, 401, 403):
            message = ("the token endpoint refused app_id %r (HTTP %d%s): check app_id / app_secret, that the app "
                       "is a 'trusted' app, and token_url (%s)"
                       % (self.settings.app_id, resp.status, _api_status_suffix(resp), self.settings.token_url))
            raise AuthenticationError(message, resp.status, _api_status(resp))
        if resp.status >= 400:
            raise self._error("POST", "token endpoint", resp)
        data = self._decode("POST", "token endpoint", resp)
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise ProtocolError("the token endpoint %s replied without an access_token" % self.settings.token_url)
        with self._lock:
            self.tokens_issued += 1
            self._token_numbers[token] = self.tokens_issued
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
            headers = {"Accept": "application/json", "User-Agent": "telphin.pbx-ansible"}
            token = self._current_token() if authenticated else None
            if token:
                headers["Authorization"] = "Bearer " + token
            try:
                resp = self._send_once(method, url, headers, params, json_body, form, authenticated)
            except TLSFailure as exc:
                raise TransientError(
                    "TLS verification of %s failed (%s): give the CA certificate with ca_path, or set "
                    "validate_certs: false for a test server" % (_host(url), exc)) from None
            except TransportFailure as exc:
                problem, wait = "%s (%s)" % (exc, _host(url)), None
            else:
                problem, wait = self._transient(resp)
                if problem is None:
                    return resp, token
            attempt += 1
            delay = self._backoff(attempt, wait)
            if attempt >= MAX_ATTEMPTS or self._clock() - started + delay > RETRY_BUDGET:
                raise TransientError("%s %s failed after %d attempt(s): %s" % (method, _path(url), attempt, problem))
            with self._lock:
                self.retries += 1
            self._sleep(delay)

    def _send_once(self, method: str, url: str, headers: Mapping[str, str], params: Optional[Mapping[str, Any]],
                   json_body: Any, form: Optional[Mapping[str, Any]], authenticated: bool) -> Response:
        """One attempt. API requests pass the concurrency gate and the quota reserve (counting the requests
        in flight); the token endpoint is neither gated nor metered. Counted once it is sent."""
        kind = "token" if not authenticated else method
        if url == self.settings.token_url:
            self._count(kind)
            resp = self.transport.send(method, url, headers=headers, params=params, json_body=json_body, form=form,
                                       timeout=self.settings.timeout)
            self._record_quota(resp)
            return resp
        self._gate.acquire()
        refused = False
        try:
            self._take_slot(url)
            self._count(kind)
            try:
                resp = self.transport.send(method, url, headers=headers, params=params, json_body=json_body,
                                           form=form, timeout=self.settings.timeout)
            except TransportFailure:
                self._release_slot(charged=True)    # it may have been counted: assume it was
                raise
            self._record_quota(resp)
            self._release_slot(charged=False)
            refused = _is_concurrency_429(resp)
            return resp
        finally:
            self._gate.release(refused)

    def _transient(self, resp: Response) -> "tuple[Optional[str], Optional[float]]":
        """(problem, Retry-After) when the response is worth retrying, else (None, None)."""
        if resp.status in RETRIED_STATUSES:
            return "HTTP %d" % resp.status, _retry_after(resp)
        if _is_concurrency_429(resp):
            return "HTTP 429 concurrent request not allowed", _retry_after(resp)
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

    # -- quota --------------------------------------------------------------------------------------
    def _record_quota(self, resp: Response) -> None:
        limit, remaining, reset = (_int_header(resp, "x-ratelimit-" + n) for n in ("limit", "remaining", "reset"))
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

    def _take_slot(self, url: str) -> None:
        """Check the reserve counting the requests in flight, and count this one in.

        Worker threads share the client: without this, each of them could pass the check on the same
        X-RateLimit-Remaining and together take the tenant's quota below the reserve.
        """
        with self._lock:
            self._reserve_check(url, self._in_flight)
            self._in_flight += 1

    def _release_slot(self, charged: bool) -> None:
        """The reply is in (its figures recorded) or lost; a lost reply's request is assumed to be counted."""
        with self._lock:
            self._in_flight -= 1
            quota = self.quota
            if charged and quota is not None and quota.remaining is not None and not self._window_turned(quota):
                self.quota = Quota(quota.limit, max(quota.remaining - 1, 0), quota.reset, quota.seen_at)

    # -- errors -------------------------------------------------------------------------------------
    def _error(self, method: str, path: str, resp: Response) -> TelphinError:
        status, api_status, message = resp.status, _api_status(resp), _api_message(resp)
        where = "%s %s" % (method, path)
        if status == 429:
            reset = _int_header(resp, "x-ratelimit-reset")
            return QuotaExhausted(
                "the tenant's hourly request quota is exhausted (429 rate_limit_exceeded on %s); not retried: the quota "
                "resets %s" % (where, reset_text(reset)), status, api_status)
        if status == 401:
            how = ("the token was refused again after a fresh one was fetched" if self._can_refresh()
                   else "access_token is expired, revoked or invalid: supply a new one, or app_id and app_secret")
            return AuthenticationError("%s: HTTP 401: %s" % (where, how), status, api_status)
        detail = "%s: HTTP %d%s: %s" % (where, status, " " + api_status if api_status else "", message)
        if status == 403:
            return AccessDenied("%s (%s)" % (detail, FORBIDDEN_HINTS.get(api_status or "", "access denied")),
                                status, api_status)
        if status == 404:
            return NotFound(detail, status, api_status)
        if status in (400, 422):
            return ValidationFailed(detail, status, api_status)
        return TelphinError(detail, status, api_status)

    def _decode(self, method: str, path: str, resp: Response) -> Any:
        if not resp.text.strip():
            return None
        try:
            return json.loads(resp.text)
        except ValueError:
            kind = "HTML" if "<html" in resp.text[:500].lower() else "malformed JSON"
            raise ProtocolError(
                "%s %s: the server replied HTTP %d with %s instead of the API's JSON (%s...): is api_url the "
                "provider's API host?" % (method, path, resp.status, kind, _snippet(resp.text))) from None


def _host(url: str) -> str:
    match = re.match(r"^(\w+://[^/]+)", url)
    return match.group(1) if match else url


def _path(url: str) -> str:
    match = re.match(r"^\w+://[^/]+(/[^?]*)", url)
    path = match.group(1) if match else url
    return path[len(API_PREFIX):] if path.startswith(API_PREFIX) else path


def _is_concurrency_429(resp: Response) -> bool:
    """The API's "concurrent request not allowed" 429 (retried), as opposed to the quota's (never retried)."""
    return resp.status == 429 and _api_status(resp) != "rate_limit_exceeded" and "concurrent" in resp.text.lower()


def _int_header(resp: Response, name: str) -> Optional[int]:
    try:
        return int(float(resp.headers.get(name, "")))
    except ValueError:
        return None


def _retry_after(resp: Response) -> Optional[float]:
    try:
        return float(resp.headers.get("retry-after", ""))
    except ValueError:
        return None


def _json_body(resp: Response) -> Dict[str, Any]:
    try:
        data = json.loads(resp.text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _api_status(resp: Response) -> Optional[str]:
    body = _json_body(resp)
    value = body.get("status") or body.get("error")
    return str(value) if value else None


def _api_status_suffix(resp: Response) -> str:
    status = _api_status(resp)
    return " " + status if status else ""


def _api_message(resp: Response) -> str:
    body = _json_body(resp)
    message = body.get("message") or body.get("error_description")
    return str(message) if message else _snippet(resp.text) or "no message"


def _snippet(text: str, size: int = 120) -> str:
    """A printable, tag-free excerpt of a reply body."""
    text = re.sub(r"<[^>]*>", " ", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()[:size]
