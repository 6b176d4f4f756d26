# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading the tenants for the inventory plugin, through the API layer: one client (one token) per set of credentials.

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Set, Tuple

from ansible_collections.telphin.pbx.plugins.module_utils._api import (
    TelphinApi, client_path, dealer_clients_path, extensions_path, user_path)
from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._errors import NotFound, TelphinError
from ansible_collections.telphin.pbx.plugins.module_utils._resolve import short_name
from ansible_collections.telphin.pbx.plugins.module_utils._settings import CONNECTION_OPTIONS, ConnectionSettings
from ansible_collections.telphin.pbx.plugins.plugin_utils._options import InventoryError, InventoryOptions
from ansible_collections.telphin.pbx.plugins.plugin_utils._records import TenantRecord
from ansible_collections.telphin.pbx.plugins.plugin_utils._vault import plain_text


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
        api = TelphinApi(client)
        dealer_id = self.options.dealer_id
        if dealer_id is None:
            user = self._call("reading the app's user (GET %s)" % user_path(), api.user)
            dealer_id = user.get("dealer_id")
            if dealer_id in (None, ""):
                owner = user.get("client_id")
                belongs = " (it belongs to client %d)" % owner if _is_id(owner) else ""
                raise InventoryError(
                    "source: dealer needs a dealer-level trusted app, but the user of app %s has no dealer_id%s: use "
                    "the dealer's app, or source: list" % (settings.app_id or "(access_token)", belongs))
            if not _is_id(dealer_id):  # it goes into a path: never a server's text
                raise InventoryError("reading the app's user (GET %s): its dealer_id is not a number; set dealer_id"
                                     % user_path())
        template = self.options.dealer_clients_path

        def hint(exc: TelphinError) -> str:
            if isinstance(exc, NotFound):
                return (" (the dealer's client list path is not documented publicly and %s is a guess: set "
                        "dealer_clients_path to your provider's path)" % template)
            return ""

        clients = self._call("listing the clients of dealer %s (GET %s)"
                             % (dealer_id, dealer_clients_path(dealer_id, template)),
                             lambda: api.dealer_clients(dealer_id, template), hint)
        token_url = plain_text(self.options.connection.get("token_url"))
        return [(TenantRecord(client=c, api_url=settings.api_url, token_url=token_url), client) for c in clients]

    def _listed_tenants(self) -> List[Tuple[TenantRecord, ApiClient]]:
        pairs = []
        seen: Dict[int, str] = {}
        for index, entry in enumerate(self.options.entries):
            settings = self.options.settings(entry)
            client = self._client(settings)
            client.forget_quota()  # each tenant has its own quota
            doing = "%s: reading client %s (GET %s)" % (entry.where, entry.client_id, client_path(entry.client_id))
            tenant = self._call(doing, lambda: TelphinApi(client).tenant(entry.client_id))
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
        client.forget_quota()  # each tenant has its own quota
        items = self._call("listing the extensions of client %d (GET %s)" % (client_id, extensions_path(client_id)),
                           lambda: TelphinApi(client).extensions(client_id, self.options.extension_type))
        return [dict(item, short_name=short_name(str(item.get("name") or ""))) for item in items]


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
