# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The inventory plugin's records: an entry of its ``tenants`` option, and a tenant read from the API.

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Mapping, Optional

CREDENTIAL_KEYS = ("app_id", "app_secret", "access_token")


@dataclass(frozen=True)
class Entry:
    """One checked item of the ``tenants`` option. Values are kept as given: vaulted ones stay vaulted."""

    number: int                     # 1-based position in ``tenants``, for messages
    client_id: str                  # checked: digits or ``@me``
    name: Optional[str] = None      # checked host name
    app_id: Any = None
    app_secret: Any = None
    access_token: Any = None
    api_url: Any = None
    token_url: Any = None

    @property
    def where(self) -> str:
        return "tenants[%d] (%s)" % (self.number, self.name or self.client_id)

    @property
    def has_credentials(self) -> bool:
        return any(getattr(self, key) is not None for key in CREDENTIAL_KEYS)

    def credentials(self) -> Dict[str, Any]:
        """The entry's own credentials that are set, by option name."""
        return {key: getattr(self, key) for key in CREDENTIAL_KEYS if getattr(self, key) is not None}


@dataclass
class TenantRecord:
    """A tenant as read from the API: what the cache stores and the host variables are made of (no secret)."""

    client: Dict[str, Any]                          # the client object as the API returns it; ``id`` an int
    api_url: str                                    # the API the tenant was read from
    token_url: Optional[str] = None                 # only when set explicitly (exported as telphin_token_url)
    entry: Optional[int] = None                     # index of its ``tenants`` entry (source list)
    extensions: Optional[List[Dict[str, Any]]] = None   # with with_extensions only

    @property
    def client_id(self) -> int:
        return int(self.client["id"])

    def as_data(self) -> Dict[str, Any]:
        """JSON-ready, for the cache."""
        return asdict(self)

    @classmethod
    def from_data(cls, data: Any) -> "TenantRecord":
        """A record from cached data; ``ValueError`` if the data has another shape."""
        if not isinstance(data, Mapping) or set(data) != {"client", "api_url", "token_url", "entry", "extensions"} \
                or not isinstance(data["client"], Mapping) or not isinstance(data["client"].get("id"), int):
            raise ValueError("not a tenant record")
        return cls(**data)
