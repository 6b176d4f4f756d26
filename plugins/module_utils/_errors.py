# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's one error hierarchy.

Every error the engine raises is a ``TelphinError``: ``str(exc)`` is a complete, secret-free
message for the user (what happened, then ``hint``: what to do). Catch the kinds:

- ``InputError``: an option or item is wrong; found before anything was sent or written.
- ``AuthenticationError``, ``AccessDenied``: credentials or rights; a run stops at the first one.
- ``NotFound``, ``ValidationFailed``: the API refused one object or one set of values.
- ``QuotaExhausted``, ``QuotaReserveReached``: the tenant's hourly quota; a run stops, nothing is retried.
- ``TransientError``: retries of a connection error, 5xx or concurrency 429 ran out.
- ``TLSError``: the server's certificate could not be verified; never retried.
- ``ProtocolError``: the server replied with something that is not the API's JSON.
- ``RunFailed``: a run ended with failures; it carries the partial ``result``.

``TransportFailure`` is not a user error: the transport raises it when no HTTP response arrived,
and the client turns it into ``TransientError`` (after retries), ``TLSError`` or, for a proxy's 407,
``AuthenticationError``.
"""

from __future__ import annotations

import os
import traceback
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterable, Optional

from ansible_collections.telphin.pbx.plugins.module_utils._secrets import redact


class TelphinError(Exception):
    """Base of every engine error; ``message`` says what happened, ``hint`` what to do about it."""

    hint = ""

    def __init__(self, message: str, hint: Optional[str] = None, http_status: Optional[int] = None,
                 api_status: Optional[str] = None) -> None:
        if hint is not None:
            self.hint = hint
        self.message = message
        self.http_status = http_status
        self.api_status = api_status
        super().__init__("%s: %s" % (message, self.hint) if self.hint else message)

    def redact(self, secrets: Iterable[str]) -> None:
        """Mask every value of ``secrets`` (and secret-looking members) in this error's message, in place."""
        self.message = redact(self.message, secrets)
        self.args = (redact(str(self), secrets),)


class InputError(TelphinError):
    """Bad options, connection settings or items, found before any write; the message lists every problem."""


class AuthenticationError(TelphinError):
    """The app credentials or the access token were refused."""


class AccessDenied(TelphinError):
    """A 403: the token is valid but may not do this."""


class NotFound(TelphinError):
    """A 404: unknown client, extension, or an extension without a phone terminal."""


class ValidationFailed(TelphinError):
    """A 400 or 422: the API refused the values sent."""


class ProxyRefused(AuthenticationError):
    """The HTTP proxy refused the request (407): no or wrong proxy credentials."""

    hint = ("give the proxy's user and password in HTTPS_PROXY / HTTP_PROXY (http://user:password@host:port, "
            "percent-encoded), or name the API host in NO_PROXY")


class QuotaExhausted(TelphinError):
    """The tenant's hourly request quota is used up (``429 rate_limit_exceeded``); never retried."""


class QuotaReserveReached(TelphinError):
    """Sending one more request would take ``X-RateLimit-Remaining`` below ``quota_reserve``."""


def reset_text(seconds: Optional[int]) -> str:
    """When the quota resets, for the quota errors' messages (``X-RateLimit-Reset``: seconds from now)."""
    if seconds is None:
        return "at the top of the next hour (the API sent no X-RateLimit-Reset)"
    try:
        at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    except OverflowError:       # the server's figure, past what a calendar holds
        return "in %d s" % seconds
    return "in %d s (at %s UTC)" % (seconds, at.strftime("%Y-%m-%d %H:%M:%S"))


class TransientError(TelphinError):
    """Retries of a connection error, 5xx or concurrency 429 ran out."""


class TLSError(TelphinError):
    """The server's TLS certificate could not be verified; retrying cannot help."""

    hint = "give the CA certificate with ca_path, or set validate_certs: false for a test server"


class HostUnknown(TelphinError):
    """The host name of a URL does not resolve (the name server says it does not exist); retrying cannot help."""

    hint = "check the host name in api_url (and token_url)"


class ProtocolError(TelphinError):
    """The server replied with something that is not the API's JSON (HTML, truncated JSON, wrong shape)."""


class RunFailed(TelphinError):
    """The run ended with failures; ``result`` is still returned to the user alongside ``msg``."""

    def __init__(self, message: str, result: Dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


class TransportFailure(Exception):
    """Raised by a transport when no HTTP response arrived (refused, reset, timeout); not a user error."""


class TLSFailure(TransportFailure):
    """The TLS handshake failed: the server's certificate could not be verified (``verification``), or the
    server does not speak TLS there (``not_tls``: a plain-http server behind an https URL), or another reason."""

    def __init__(self, reason: str, verification: bool = True, not_tls: bool = False) -> None:
        super().__init__(reason)
        self.verification = verification
        self.not_tls = not_tls


class NameFailure(TransportFailure):
    """The host name does not resolve (not a temporary failure of the name server)."""


class ProxyAuthFailure(TransportFailure):
    """The proxy refused the request with 407 (no or wrong proxy credentials); retrying cannot help."""


def unexpected(exc: BaseException) -> str:
    """A message for an exception the engine did not expect (a bug): its type and where it was raised, never its
    text, which may hold what a server sent."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = " at %s line %d" % (os.path.basename(frames[-1].filename), frames[-1].lineno) if frames else ""
    return "unexpected error (%s%s): a bug in telphin.pbx, please report it" % (type(exc).__name__, where)


def code_trace(exc: BaseException) -> str:
    """The traceback of ``exc`` without its message (the code path only, no values)."""
    return "".join(traceback.format_tb(exc.__traceback__)) + type(exc).__name__


# Errors after which every further request of the run would fail the same way: the run stops.
RUN_STOPPERS = (QuotaExhausted, QuotaReserveReached, AuthenticationError, AccessDenied, TLSError, HostUnknown)
