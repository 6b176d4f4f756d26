# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The HTTP seam: ``Transport`` sends one request and returns a ``_replies.Response`` or raises ``TransportFailure``.

``Urllib3Transport`` is the production one (each request ended at its deadline by a ``_deadline.Watchdog``);
the unit tests use a scripted fake.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
import traceback
import zlib
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit
from urllib.request import getproxies, proxy_bypass

from ansible_collections.telphin.pbx.plugins.module_utils._deadline import Watchdog
from ansible_collections.telphin.pbx.plugins.module_utils._errors import (
    NameFailure, ProtocolError, ProxyAuthFailure, TLSFailure, TransportFailure)
from ansible_collections.telphin.pbx.plugins.module_utils._replies import Response
from ansible_collections.telphin.pbx.plugins.module_utils._settings import API_PREFIX
from ansible_collections.telphin.pbx.plugins.module_utils._tls import default_ca_bundle, tls_context

URLLIB3_IMPORT_ERROR: Optional[str]
try:
    import urllib3
    import urllib3.connection
    import urllib3.connectionpool
except ImportError:  # pragma: no cover - exercised through missing_required_lib
    URLLIB3_IMPORT_ERROR = traceback.format_exc()
else:
    URLLIB3_IMPORT_ERROR = None


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
        self.ca_certs: Optional[str] = None      # the CA bundle verifying the server (None: the system store)
        if validate_certs:
            ca_certs = self.ca_certs = ca_path or default_ca_bundle()
            context = tls_context(ca_certs)
            # the process's context, its CAs loaded once; else urllib3 loads the bundle for each new connection
            pool.update({"cert_reqs": "CERT_REQUIRED", "ssl_context": context} if context is not None
                        else {"cert_reqs": "CERT_REQUIRED", "ca_certs": ca_certs})
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
                                         else _watched(urllib3.PoolManager(**self._pool_args)))
            self._routes[route] = self._managers[proxy]
            return self._routes[route]

    def send(self, method: str, url: str, *, headers: Mapping[str, str], params: Optional[Mapping[str, Any]] = None,
             json_body: Any = None, form: Optional[Mapping[str, str]] = None, timeout: float = 30) -> Response:
        """One request, over within ``timeout`` seconds in all (connecting, sending, the status line, the headers
        and the body): at the deadline a watchdog shuts the connection down and the request fails as a timeout."""
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
        manager = self.manager(url)
        watchdog = Watchdog(timeout)
        resp = None
        headers_in = False
        _CURRENT.watchdog = watchdog
        try:
            try:
                resp = manager.request(method, url, body=body, headers=sent, redirect=False, preload_content=False,
                                       timeout=urllib3.Timeout(connect=timeout, read=timeout))
                headers_in = not watchdog.expired
                data = _read_body(resp, watchdog, "%s %s" % (method, _api_path(url)))
            except urllib3.exceptions.HTTPError as exc:
                if watchdog.expired:
                    raise _late(headers_in, timeout) from None
                raise _failure(exc, timeout) from None
            if watchdog.expired:        # a reply cut by the watchdog may look complete: it is not
                raise _late(headers_in, timeout)
        finally:
            _CURRENT.watchdog = None
            watchdog.stop()             # before the connection goes back to the pool, where another request takes it
            if resp is not None:
                if watchdog.expired:
                    resp.close()        # the connection is shut down (or its reply unread): not reusable
                resp.release_conn()
        return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()},
                        data.decode("utf-8", errors="replace"))


_BASE_HEADERS = {"Accept-Encoding": "gzip"}        # the provider's request rules ask for gzip
MAX_REPLY_BYTES = 8 << 20    # decoded size of one reply; a phone or a page of a list is a few KB (docs/reliability.md)
_CHUNK = 1 << 16
_CURRENT = threading.local()        # the watchdog of the request this thread is sending, if any


class _Watched:
    """Mixed into urllib3's connection classes: each socket a request uses is watched by its ``Watchdog``."""

    sock: Any

    def _new_conn(self) -> Any:                     # a new connection's socket (then a proxy tunnel, a TLS handshake)
        sock = super()._new_conn()                  # type: ignore[misc]
        watchdog = getattr(_CURRENT, "watchdog", None)
        if watchdog is not None:
            watchdog.watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> Any:   # a request on a new or a kept-alive connection
        watchdog = getattr(_CURRENT, "watchdog", None)
        if watchdog is not None and self.sock is not None:
            watchdog.watch(self.sock)
        return super().request(*args, **kwargs)     # type: ignore[misc]


def _watched_pools() -> Dict[str, Any]:
    """urllib3's pool classes by scheme, with connections that a ``Watchdog`` can shut down."""
    class WatchedHTTPConnection(_Watched, urllib3.connection.HTTPConnection):
        pass

    class WatchedHTTPSConnection(_Watched, urllib3.connection.HTTPSConnection):
        pass

    class WatchedHTTPConnectionPool(urllib3.connectionpool.HTTPConnectionPool):
        ConnectionCls = WatchedHTTPConnection

    class WatchedHTTPSConnectionPool(urllib3.connectionpool.HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPSConnection

    return {"http": WatchedHTTPConnectionPool, "https": WatchedHTTPSConnectionPool}


def _watched(manager: Any) -> Any:
    """``manager`` (a ``PoolManager`` or ``ProxyManager``), its pools made with watched connections."""
    global _POOLS  # pylint: disable=global-statement
    if _POOLS is None:
        _POOLS = _watched_pools()
    manager.pool_classes_by_scheme = _POOLS
    return manager


_POOLS: Optional[Dict[str, Any]] = None


def _late(headers_in: bool, timeout: float) -> TransportFailure:
    """The deadline passed: before the status line and headers were in, or while the body came."""
    if not headers_in:
        return TransportFailure("no complete reply within %s s (timeout)" % timeout)
    return TransportFailure("the reply took longer than %s s (timeout)" % timeout)


def _failure(exc: BaseException, timeout: float) -> TransportFailure:
    """The ``TransportFailure`` for a urllib3 error, in words that hold nothing the server sent."""
    exceptions = urllib3.exceptions
    if isinstance(exc, exceptions.SSLError):
        reason = _reason(exc)
        return TLSFailure(reason, verification=reason.startswith("certificate verify failed"),
                          not_tls=any(r in reason for r in _NOT_TLS))
    if _unknown_name(exc):
        return NameFailure(_reason(exc))
    if isinstance(exc, exceptions.ProxyError):
        code = re.search(r"Tunnel connection failed: (\d{3})\b", str(exc))
        if code and code.group(1) == "407":
            return ProxyAuthFailure("HTTP 407 Proxy Authentication Required")
        return TransportFailure("the proxy failed the connection (%s)" % (
            "CONNECT answered HTTP %s" % code.group(1) if code else _reason(exc)))
    if isinstance(exc, exceptions.ConnectTimeoutError) and not isinstance(exc, exceptions.NewConnectionError):
        return TransportFailure("could not connect within %s s (timeout)" % timeout)
    if isinstance(exc, exceptions.ReadTimeoutError):
        return TransportFailure("no complete reply within %s s (timeout)" % timeout)
    return TransportFailure(_reason(exc))


# What OpenSSL says when the other end answers a TLS handshake with something else (plain HTTP, most often).
_NOT_TLS = ("WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "HTTP_REQUEST", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
            "record layer failure", "wrong version number", "packet length too long")
# getaddrinfo's "no such name" (not EAI_AGAIN, a name server that did not answer in time: that one is retried)
_NO_SUCH_NAME = tuple(getattr(socket, n) for n in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, n))


def _unknown_name(exc: BaseException) -> bool:
    """Whether ``exc`` (urllib3 wraps it) comes from a host name the name server says does not exist."""
    return any(isinstance(err, socket.gaierror) and err.errno in _NO_SUCH_NAME for err in _chain(exc))


def _read_body(resp: Any, watchdog: Watchdog, where: str) -> bytes:
    """The whole body, read as it comes (the watchdog ends a body trickled past the deadline) and decoded here, at
    most ``MAX_REPLY_BYTES`` of it: past that, a ``ProtocolError`` (a few hundred KB of gzip decode to hundreds of
    MB). ``where`` (method and path) names the request in it; nothing of the reply is quoted."""
    read = getattr(resp, "read1", None) or resp.read     # read1 (urllib3 2): what one socket read brings
    decoder = _decoder(resp.headers.get("content-encoding"), where)
    body = bytearray()
    while not watchdog.expired:
        chunk = read(_CHUNK, decode_content=False)
        if not chunk:
            break
        if decoder is None:
            body += chunk
        else:
            try:
                while chunk and len(body) <= MAX_REPLY_BYTES:
                    body += decoder.decompress(chunk, MAX_REPLY_BYTES + 1 - len(body))
                    chunk = decoder.unconsumed_tail
            except zlib.error:
                raise TransportFailure(_PHRASES["DecodeError"]) from None
        if len(body) > MAX_REPLY_BYTES:
            resp.close()            # the rest is not read: the connection cannot serve another request
            raise ProtocolError("%s: the reply is larger than %d MiB once decoded; not read further (a phone or a "
                                "page of a list is a few KB)" % (where, MAX_REPLY_BYTES >> 20))
    return bytes(body)


def _api_path(url: str) -> str:
    """The path of ``url`` as messages name it: without the query, and after ``API_PREFIX`` for an API request."""
    path = urlsplit(url).path
    return path[len(API_PREFIX):] if path.startswith(API_PREFIX + "/") else path


def _decoder(encoding: Optional[str], where: str) -> Any:
    """A zlib decompressor for the reply's ``Content-Encoding`` (gzip, or deflate with or without its zlib
    header), None for none; another encoding was not asked for: a ``ProtocolError``."""
    name = (encoding or "").strip().lower()
    if name in ("", "identity"):
        return None
    if name in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if name == "deflate":
        return _Deflate()
    raise ProtocolError("%s: the reply has a content encoding that was not asked for (only gzip is)" % where)


class _Deflate:
    """deflate as servers send it: zlib-wrapped (RFC 9110), or raw as some do; decided on the first bytes."""

    def __init__(self) -> None:
        self._obj: Any = None
        self.unconsumed_tail = b""

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._obj is None:
            self._obj = zlib.decompressobj(zlib.MAX_WBITS if data[:1] == b"\x78" else -zlib.MAX_WBITS)
        out = self._obj.decompress(data, max_length)
        self.unconsumed_tail = self._obj.unconsumed_tail
        return out


def _proxy_manager(proxy: str, pool_args: Dict[str, Any]) -> Any:
    """A ``ProxyManager`` for ``proxy``. Credentials in its URL (``http://user:password@host:port``,
    percent-encoded, as ``requests`` and curl take them) go as ``Proxy-Authorization``: urllib3 drops them."""
    parts = urlsplit(proxy)
    if parts.username is None:
        return _watched(urllib3.ProxyManager(proxy, **pool_args))
    auth = "%s:%s" % (unquote(parts.username), unquote(parts.password or ""))
    bare = urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[1], parts.path, parts.query, parts.fragment))
    return _watched(urllib3.ProxyManager(bare, proxy_headers=urllib3.make_headers(proxy_basic_auth=auth),
                                         **pool_args))


# Fixed words for the exceptions whose own text may hold what a server sent (a status line, a chunk header).
_PHRASES = {
    "RemoteDisconnected": "the server closed the connection without a reply",
    "BadStatusLine": "the reply is not HTTP (bad status line)",
    "LineTooLong": "the reply has a line too long for HTTP",
    "IncompleteRead": "the reply was cut short",
    "InvalidChunkLength": "the reply's chunked encoding is broken",
    "DecodeError": "the reply's content encoding is broken",
    "InvalidHeader": "the reply has an invalid header",
}


def _reason(exc: BaseException) -> str:
    """What went wrong, in words that hold nothing a server sent: the system's text for an OS error (errno), TLS
    verification's reason, or fixed words for the exception's kind, found along the chain urllib3 wraps."""
    for err in _chain(exc):
        if isinstance(err, ssl.SSLCertVerificationError) and getattr(err, "verify_message", None):
            return "certificate verify failed: %s" % err.verify_message
        if isinstance(err, ssl.SSLError):
            return "TLS error %s" % (getattr(err, "reason", None) or err.__class__.__name__)
        if isinstance(err, OSError) and isinstance(err.errno, int) and err.strerror:
            return str(err.strerror)
        if err.__class__.__name__ in _PHRASES:
            return _PHRASES[err.__class__.__name__]
    return exc.__class__.__name__


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it wraps (its arguments, cause and context), each once, at most 16."""
    todo: List[Optional[BaseException]] = [exc]
    seen: List[BaseException] = []
    while todo and len(seen) < 16:
        err = todo.pop(0)
        if err is None or any(err is s for s in seen):
            continue
        seen.append(err)
        yield err
        todo.extend(arg for arg in err.args if isinstance(arg, BaseException))
        todo.extend((err.__cause__, err.__context__))
