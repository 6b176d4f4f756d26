# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The connection options, checked once; the modules, the action plugins and the inventory plugin share them."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError
from ansible_collections.telphin.pbx.plugins.module_utils._secrets import is_bearer_token
from ansible_collections.telphin.pbx.plugins.module_utils._version import COLLECTION_VERSION

DEFAULT_API_URL = "https://apiproxy.telphin.ru"
API_PREFIX = "/api/ver1.0"      # between api_url and every API path (``_api``)
TOKEN_PATH = "/oauth/token"     # after api_url, when token_url is not given
DEFAULT_HTTP_AGENT = "telphin.pbx/" + COLLECTION_VERSION


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
    allow_plain_http: bool = False
    http_agent: str = DEFAULT_HTTP_AGENT

    def __post_init__(self) -> None:
        url = (self.api_url or DEFAULT_API_URL).strip().rstrip("/")
        if url.endswith(API_PREFIX):
            url = url[: -len(API_PREFIX)]
        if not re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", url):
            raise InputError("api_url %r is not an http(s) URL such as https://apiproxy.telphin.ru" % url)
        self.api_url = url
        self.token_url = (self.token_url or url + TOKEN_PATH).strip()
        if not re.match(r"^https?://\S+$", self.token_url):
            raise InputError("token_url %r is not an http(s) URL" % self.token_url)
        for name in ("api_url", "token_url"):
            if self.allow_plain_http or not _plain_http(getattr(self, name)):
                continue
            raise InputError("%s %s uses plain http: the app secret and the tokens would cross the network "
                             "unencrypted; use https, or set allow_plain_http for a test server"
                             % (name, getattr(self, name)))
        if not self.access_token and not (self.app_id and self.app_secret):
            raise InputError(
                "no API credentials: set app_id and app_secret (or TELPHIN_APP_ID and TELPHIN_APP_SECRET), "
                "or access_token (TELPHIN_ACCESS_TOKEN)")
        if self.access_token and not is_bearer_token(self.access_token):
            raise InputError(
                "access_token is not a bearer token (RFC 6750 allows only letters, digits, - . _ ~ + / and a "
                "trailing =) and this value holds %s (not shown); check how it was copied"
                % _odd_character(self.access_token))
        if self.timeout <= 0:
            raise InputError("timeout must be a positive number of seconds")
        if self.quota_reserve < 0:
            raise InputError("quota_reserve must be 0 or more")
        self.http_agent = (self.http_agent or DEFAULT_HTTP_AGENT).strip()
        if not re.match(r"^[\x20-\x7e]+$", self.http_agent):
            raise InputError("http_agent must be printable ASCII on one line")

    @property
    def plain_http(self) -> bool:
        """Whether credentials go in clear to a host that is not this machine (allowed by ``allow_plain_http``)."""
        return _plain_http(self.api_url) or _plain_http(self.token_url or "")

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "ConnectionSettings":
        """Options left unset or empty (AWX injects unset credential fields as "") take their defaults."""
        return cls(**{name: params[name] for name in CONNECTION_OPTIONS if params.get(name) not in (None, "")})


CONNECTION_OPTIONS = ("api_url", "token_url", "app_id", "app_secret", "access_token", "validate_certs", "ca_path",
                      "timeout", "quota_reserve", "allow_plain_http", "http_agent")


def _odd_character(value: str) -> str:
    """What kind of character keeps ``value`` from being a bearer token, in words that show none of it."""
    if any(ch in "\r\n" for ch in value):
        return "a line break"
    if any(ch.isspace() for ch in value):
        return "a space"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "a control character"
    return "another character"


def _plain_http(url: str) -> bool:
    """An ``http://`` URL whose host is not a loopback address (127.0.0.0/8, ::1, localhost)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http":
        return False
    host = (parts.hostname or "").rstrip(".").lower()
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True
