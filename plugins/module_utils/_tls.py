# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The verifying TLS context of this process, one per CA bundle (the transport's connections and the action
plugin's start-up share it), and the CA bundle used when none is given."""

from __future__ import annotations

import os
import ssl
import threading
from typing import Any, Dict, Optional, Tuple

_TLS_CONTEXTS: Dict[Tuple[Optional[str], int, int], Any] = {}
_TLS_LOCK = threading.Lock()


def _new_tls_lock() -> None:
    global _TLS_LOCK  # pylint: disable=global-statement  # a child of a fork must not inherit a held lock
    _TLS_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_tls_lock)


def tls_context(ca_certs: Optional[str]) -> Optional[ssl.SSLContext]:
    """The verifying TLS context of this process for the CA bundle ``ca_certs`` (None: the system store), made once.

    Loading a bundle costs more CPU than a request (tens of milliseconds for certifi's), and urllib3 loads it for
    each new connection unless it is given a context. The context is urllib3's own (its protocol floor and
    ciphers); urllib3 still requires the certificate and checks the host name. None when the bundle cannot be
    loaded: the connection then fails as urllib3 reports it, with the usual message.
    """
    try:
        from urllib3.util.ssl_ import create_urllib3_context
    except ImportError:     # the transport reports the missing library
        return None
    try:
        stat = os.stat(ca_certs) if ca_certs else None
    except OSError:
        return None
    key = (ca_certs, stat.st_mtime_ns, stat.st_size) if stat else (None, 0, 0)   # a bundle replaced: made again
    with _TLS_LOCK:
        if key not in _TLS_CONTEXTS:
            context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
            try:
                if ca_certs:
                    context.load_verify_locations(cafile=ca_certs)
                else:
                    context.load_default_certs()
            except (OSError, ValueError, ssl.SSLError):
                return None
            _TLS_CONTEXTS[key] = context
        return _TLS_CONTEXTS[key]


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
