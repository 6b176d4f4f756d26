# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The HTTP seam: ``Transport`` sends one request and returns a ``Response`` or raises ``TransportFailure``.

``Urllib3Transport`` is the production one; the unit tests use a scripted fake.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit
from urllib.request import getproxies, proxy_bypass

from ansible_collections.telphin.pbx.plugins.module_utils._errors import (
    ProxyAuthFailure, TLSFailure, TransportFailure)
from ansible_collections.telphin.pbx.plugins.module_utils._secrets import redact

URLLIB3_IMPORT_ERROR: Optional[str]
try:
    import urllib3
except ImportError:  # pragma: no cover - exercised through missing_required_lib
    URLLIB3_IMPORT_ERROR = traceback.format_exc()
else:
    URLLIB3_IMPORT_ERROR = None


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
        """The API's error code (``status`` or OAuth's ``error``), if it looks like one."""
        body = self.json_object()
        value = str(body.get("status") or body.get("error") or "")
        return value if _CODE.fullmatch(value) else None

    def api_message(self) -> str:
        """The API's error message, or an excerpt of the body; secret-looking members masked."""
        body = self.json_object()
        message = body.get("message") or body.get("error_description")
        return redact(str(message)) if message else snippet(redact(self.text)) or "no message"

    def is_concurrency_429(self) -> bool:
        """The API's "concurrent request not allowed" 429 (retried), as opposed to the quota's (never retried)."""
        return self.status == 429 and self.api_status() != "rate_limit_exceeded" and "concurrent" in self.text.lower()


_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


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


def snippet(text: str, size: int = 120) -> str:
    """A printable, tag-free excerpt of a reply body."""
    text = re.sub(r"<[^>]*>", " ", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()[:size]


class Transport:
    """The seam between the client and the network."""

    def send(self, method: str, url: str, *, headers: Mapping[str, str], params: Optional[Mapping[str, Any]] = None,
             json_body: Any = None, form: Optional[Mapping[str, str]] = None, timeout: float = 30) -> Response:
        raise NotImplementedError


class Urllib3Transport(Transport):
    """Pooled keep-alive connections through ``urllib3`` (cheaper per request than ``requests``, see
    docs/performance.md); ``pool_size`` should match the worker threads.

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
                self._managers[proxy] = (_proxy_manager(proxy, self._pool_args) if proxy
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
        deadline = time.monotonic() + timeout
        try:
            resp = self.manager(url).request(method, url, body=body, headers=sent, redirect=False,
                                             preload_content=False,
                                             timeout=urllib3.Timeout(connect=timeout, read=timeout, total=timeout))
            data = _read_body(resp, deadline, timeout)
        except exceptions.SSLError as exc:
            raise TLSFailure(_reason(exc)) from None
        except exceptions.ProxyError as exc:
            if " 407 " in str(exc):
                raise ProxyAuthFailure("HTTP 407 Proxy Authentication Required") from None
            raise TransportFailure(_reason(exc)) from None
        except exceptions.NewConnectionError as exc:      # refused, unknown host (a ConnectTimeoutError in urllib3 2)
            raise TransportFailure(_reason(exc)) from None
        except exceptions.ConnectTimeoutError:
            raise TransportFailure("could not connect within %s s (timeout)" % timeout) from None
        except exceptions.ReadTimeoutError:
            raise TransportFailure("no reply within %s s (timeout)" % timeout) from None
        except exceptions.HTTPError as exc:
            raise TransportFailure(_reason(exc)) from None
        return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()},
                        data.decode("utf-8", errors="replace"))


_BASE_HEADERS = {"Accept-Encoding": "gzip, deflate"}
_CHUNK = 1 << 16


def _read_body(resp: Any, deadline: float, timeout: float) -> bytes:
    """The whole body, or ``TransportFailure`` once ``deadline`` has passed: the read timeout bounds each
    socket read only, so a server trickling bytes would hold the request for ever."""
    read = getattr(resp, "read1", None) or resp.read     # read1 (urllib3 2): what one socket read brings
    chunks: List[bytes] = []
    try:
        while True:
            chunk = read(_CHUNK)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            if time.monotonic() > deadline:
                resp.close()        # the rest is not read: the connection cannot be reused
                raise TransportFailure("the reply took longer than %s s (timeout)" % timeout)
    finally:
        resp.release_conn()


def _proxy_manager(proxy: str, pool_args: Dict[str, Any]) -> Any:
    """A ``ProxyManager`` for ``proxy``. Credentials in its URL (``http://user:password@host:port``,
    percent-encoded, as ``requests`` and curl take them) go as ``Proxy-Authorization``: urllib3 drops them."""
    parts = urlsplit(proxy)
    if parts.username is None:
        return urllib3.ProxyManager(proxy, **pool_args)
    auth = "%s:%s" % (unquote(parts.username), unquote(parts.password or ""))
    bare = urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[1], parts.path, parts.query, parts.fragment))
    return urllib3.ProxyManager(bare, proxy_headers=urllib3.make_headers(proxy_basic_auth=auth), **pool_args)


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
