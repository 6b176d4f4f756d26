# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The connection options, checked once; the modules, the action plugins and the inventory plugin share them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ansible_collections.telphin.pbx.plugins.module_utils._api import API_PREFIX, TOKEN_PATH
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError

DEFAULT_API_URL = "https://apiproxy.telphin.ru"


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
            raise InputError("api_url %r is not an http(s) URL such as https://apiproxy.telphin.ru" % url)
        self.api_url = url
        self.token_url = (self.token_url or url + TOKEN_PATH).strip()
        if not re.match(r"^https?://\S+$", self.token_url):
            raise InputError("token_url %r is not an http(s) URL" % self.token_url)
        if not self.access_token and not (self.app_id and self.app_secret):
            raise InputError(
                "no API credentials: set app_id and app_secret (or TELPHIN_APP_ID and TELPHIN_APP_SECRET), "
                "or access_token (TELPHIN_ACCESS_TOKEN)")
        if self.timeout <= 0:
            raise InputError("timeout must be a positive number of seconds")
        if self.quota_reserve < 0:
            raise InputError("quota_reserve must be 0 or more")

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "ConnectionSettings":
        """Options left unset or empty (AWX injects unset credential fields as "") take their defaults."""
        return cls(**{name: params[name] for name in CONNECTION_OPTIONS if params.get(name) not in (None, "")})


CONNECTION_OPTIONS = ("api_url", "token_url", "app_id", "app_secret", "access_token", "validate_certs", "ca_path",
                      "timeout", "quota_reserve")
