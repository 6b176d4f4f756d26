# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading the tenants from the API for the inventory plugin: one client (one token) per set of credentials.

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Mapping, Set, Tuple

from ansible_collections.telphin.pbx.plugins.module_utils._api import PER_PAGE, TelphinApi
from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._errors import NotFound, ProtocolError, TelphinError
from ansible_collections.telphin.pbx.plugins.module_utils._resolve import short_name
from ansible_collections.telphin.pbx.plugins.module_utils._settings import CONNECTION_OPTIONS, ConnectionSettings
from ansible_collections.telphin.pbx.plugins.plugin_utils._options import InventoryError, InventoryOptions
from ansible_collections.telphin.pbx.plugins.plugin_utils._records import TenantRecord
from ansible_collections.telphin.pbx.plugins.plugin_utils._vault import plain_text

_CLIENT_ID = re.compile(r"[0-9]{1,12}")


class TenantReader:
    """Reads the tenants the options name; every API error becomes an ``InventoryError`` saying what was read."""

    def __init__(self, options: InventoryOptions, new_client: Callable[[ConnectionSettings], ApiClient],
                 warn: Callable[[str], None]) -> None:
        self.options = options
        self._new_client = new_client
        self._warn = warn
        self.clients: Dict[Tuple[Any, ...], ApiClient] = {}

    def read(self) -> List[TenantRecord]:
        if self.options.source == "dealer":
            pairs = self._dealer_tenants()
        else:
            pairs = self._listed_tenants()
        if self.options.with_extensions:
            for record, client in pairs:
                record.extensions = self._extensions(client, record.client_id)
        return [record for record, _client in pairs]

    def secrets(self) -> Set[str]:
        """The secrets the clients know of, tokens issued included."""
        return set().union(*(client.secrets for client in self.clients.values()))

    def _client(self, settings: ConnectionSettings) -> ApiClient:
        """One client (one token) per distinct set of connection settings."""
        key = tuple(getattr(settings, name) for name in CONNECTION_OPTIONS)
        if key not in self.clients:
            if not settings.validate_certs:
                self._warn("telphin.pbx.tenants: validate_certs is false: the TLS certificate of %s is not verified, "
                           "so the credentials can be intercepted; use ca_path for a private CA instead"
                           % settings.api_url)
            self.clients[key] = self._new_client(settings)
        return self.clients[key]

    @staticmethod
    def _call(doing: str, call: Callable[[], Any], hint: Callable[[TelphinError], str] = lambda exc: "") -> Any:
        try:
            return call()
        except TelphinError as exc:
            raise InventoryError("%s: %s%s" % (doing, exc, hint(exc))) from None

    def _dealer_tenants(self) -> List[Tuple[TenantRecord, ApiClient]]:
        settings = self.options.settings()
        client = self._client(settings)
        dealer_id = self.options.dealer_id
        if dealer_id is None:
            user = self._call("reading the app's user (GET /user/)", lambda: client.get("/user/"))
            dealer_id = user.get("dealer_id") if isinstance(user, Mapping) else None
            if dealer_id in (None, ""):
                owner = user.get("client_id") if isinstance(user, Mapping) else None
                belongs = " (it belongs to client %s)" % owner if isinstance(owner, int) else ""
                raise InventoryError(
                    "source: dealer needs a dealer-level trusted app, but the user of app %s has no dealer_id%s: use "
                    "the dealer's app, or source: list" % (settings.app_id or "(access_token)", belongs))
        path = self.options.dealer_path(dealer_id)

        def hint(exc: TelphinError) -> str:
            if isinstance(exc, NotFound):
                return (" (the dealer's client list path is not documented publicly and %s is a guess: set "
                        "dealer_clients_path to your provider's path)" % self.options.dealer_clients_path)
            return ""

        items = self._call("listing the clients of dealer %s (GET %s)" % (dealer_id, path),
                           lambda: self._paged(client, path), hint)
        clients = [_checked_client(item, "GET %s" % path) for item in items]
        token_url = plain_text(self.options.connection.get("token_url"))
        return [(TenantRecord(client=c, api_url=settings.api_url, token_url=token_url), client)
                for c in sorted(clients, key=lambda c: c["id"])]

    @staticmethod
    def _paged(client: ApiClient, path: str) -> List[Any]:
        """Every item of a paged list; ends at a short page or a page without new ids (an unpaged server)."""
        items: List[Any] = []
        seen = set()
        page = 1
        while True:
            batch = client.get(path, {"page": page, "per_page": PER_PAGE})
            if not isinstance(batch, list):
                raise ProtocolError("GET %s page %d: expected a JSON array of clients, got %s"
                                    % (path, page, type(batch).__name__))
            fresh = [i for i in batch if not (isinstance(i, Mapping) and str(i.get("id")) in seen)]
            seen.update(str(i.get("id")) for i in fresh if isinstance(i, Mapping))
            items.extend(fresh)
            if len(batch) < PER_PAGE or not fresh:
                return items
            page += 1

    def _listed_tenants(self) -> List[Tuple[TenantRecord, ApiClient]]:
        pairs = []
        seen: Dict[int, str] = {}
        for index, entry in enumerate(self.options.entries):
            settings = self.options.settings(entry)
            client = self._client(settings)
            path = "/client/%s/" % entry.client_id
            _new_tenant(client)
            data = self._call("%s: reading client %s (GET %s)" % (entry.where, entry.client_id, path),
                              lambda: client.get(path))
            tenant = _checked_client(data, "%s: GET %s" % (entry.where, path))
            if tenant["id"] in seen:
                raise InventoryError("%s and %s are the same client %d" % (seen[tenant["id"]], entry.where,
                                                                           tenant["id"]))
            seen[tenant["id"]] = entry.where
            token_url = entry.token_url if entry.api_url is not None else \
                (entry.token_url or self.options.connection.get("token_url"))
            pairs.append((TenantRecord(client=tenant, api_url=settings.api_url, token_url=plain_text(token_url),
                                       entry=index), client))
        return pairs

    def _extensions(self, client: ApiClient, client_id: int) -> List[Dict[str, Any]]:
        _new_tenant(client)
        items = self._call("listing the extensions of client %d (GET /client/%d/extension/)" % (client_id, client_id),
                           lambda: TelphinApi(client).extensions(str(client_id), self.options.extension_type))
        return [dict(item, short_name=short_name(str(item.get("name") or ""))) for item in items]


def _new_tenant(client: ApiClient) -> None:
    """Each tenant has its own quota: forget the figures of the previous one."""
    client.quota = None


def _checked_client(item: Any, where: str) -> Dict[str, Any]:
    """A client object with a numeric id (an int); the reply is never quoted."""
    if not isinstance(item, Mapping) or isinstance(item.get("id"), bool) or \
            not _CLIENT_ID.fullmatch(str(item.get("id"))):
        got = "an object without a numeric id" if isinstance(item, Mapping) else "a JSON %s" % _json_type(item)
        raise InventoryError("%s: expected client objects with a numeric id, got %s" % (where, got))
    return dict(item, id=int(item["id"]))


def _json_type(value: Any) -> str:
    for kind, name in ((bool, "boolean"), (str, "string"), ((int, float), "number"), (list, "array")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else type(value).__name__
