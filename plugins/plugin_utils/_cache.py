# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The inventory plugin's cache: API data only (never a credential), valid for the options it was read with.

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, List, Mapping, MutableMapping, Optional

from ansible_collections.telphin.pbx.plugins.plugin_utils._options import InventoryOptions
from ansible_collections.telphin.pbx.plugins.plugin_utils._records import TenantRecord
from ansible_collections.telphin.pbx.plugins.plugin_utils._vault import plain_text

# 2: the tenants as one JSON text. A cache plugin decodes ``{"__ansible_vault": ...}`` and ``{"__ansible_unsafe": ...}``
# objects into Ansible's own types (jsonfile on ansible-core 2.16 to 2.18), so the server's objects would come back as a
# vaulted value or a string; inside one string they are data whatever they hold.
CACHE_FORMAT = 2


def fingerprint(options: InventoryOptions) -> str:
    """What the cached data depends on, hashed; never a secret."""
    connection = options.connection
    public = {
        "source": options.source,
        "api_url": plain_text(connection.get("api_url")),
        "token_url": plain_text(connection.get("token_url")),
        "app_id": plain_text(connection.get("app_id")),
        "dealer_id": options.dealer_id,
        "dealer_clients_path": options.dealer_clients_path,
        "with_extensions": options.with_extensions,
        "extension_type": options.extension_type,
        "tenants": [[e.client_id, plain_text(e.app_id), plain_text(e.api_url), plain_text(e.token_url),
                     e.access_token is not None] for e in options.entries],
    }
    return hashlib.sha256(json.dumps(public, sort_keys=True).encode("utf-8")).hexdigest()


def load(cache: Any, key: str, expected: str) -> Optional[List[TenantRecord]]:
    """The cached tenants, or None when there are none or they were read with other options."""
    try:
        data = cache[key]
    except KeyError:
        return None
    if not isinstance(data, Mapping) or data.get("format") != CACHE_FORMAT or data.get("fingerprint") != expected \
            or not isinstance(data.get("tenants"), str):
        return None
    try:
        tenants = json.loads(str(data["tenants"]))
        if not isinstance(tenants, list):
            return None
        return [TenantRecord.from_data(item) for item in tenants]
    except (TypeError, ValueError):
        return None


def store(cache: MutableMapping[str, Any], key: str, expected: str, records: List[TenantRecord]) -> None:
    cache[key] = {"format": CACHE_FORMAT, "fingerprint": expected,
                  "tenants": json.dumps([r.as_data() for r in records], sort_keys=True)}
