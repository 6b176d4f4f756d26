# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The inventory plugin's options: checked before any request, and merged into connection settings.

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, Tuple
from urllib.parse import urlsplit

from ansible_collections.telphin.pbx.plugins.module_utils._api import dealer_clients_path
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError, TelphinError
from ansible_collections.telphin.pbx.plugins.module_utils._resolve import check_client_id
from ansible_collections.telphin.pbx.plugins.module_utils._settings import (
    CONNECTION_OPTIONS, DEFAULT_API_URL, ConnectionSettings)
from ansible_collections.telphin.pbx.plugins.plugin_utils._hostnames import is_group_name, is_host_name
from ansible_collections.telphin.pbx.plugins.plugin_utils._records import Entry
from ansible_collections.telphin.pbx.plugins.plugin_utils._vault import is_vaulted, plain_text

ENTRY_KEYS = ("name", "client_id", "app_id", "app_secret", "access_token", "api_url", "token_url")
_URL_OPTIONS = ("api_url", "token_url")
_TEXT_OPTIONS = ("api_url", "token_url", "app_id", "app_secret", "access_token", "ca_path")


class InventoryError(Exception):
    """A problem that fails the inventory source; its message says what to do and holds no server reply."""


@dataclass(frozen=True)
class InventoryOptions:
    """The plugin's own options, checked (the constructed and cache options stay with the plugin)."""

    source: str
    connection: Mapping[str, Any]       # the connection options as given (vaulted values kept)
    dealer_id: Optional[int]
    dealer_clients_path: str
    entries: Tuple[Entry, ...]
    export_credentials: bool
    hostname: str
    group: str
    with_extensions: bool
    extension_type: Optional[str]

    @classmethod
    def read(cls, get_option: Callable[[str], Any],
             given_as: Callable[[str], Any] = lambda name: None) -> "InventoryOptions":
        """``given_as(name)``: the option as written in the file or the environment variable, before ansible-core
        converted it (None when it took its default); see ``connection_options``."""
        source = get_option("source")
        options = cls(
            source=source, connection=connection_options(get_option, given_as),
            dealer_id=get_option("dealer_id"), dealer_clients_path=str(get_option("dealer_clients_path")),
            entries=tuple(check_entries(get_option("tenants") or [], source)),
            export_credentials=bool(get_option("export_credentials")), hostname=get_option("hostname"),
            group=str(get_option("group")), with_extensions=bool(get_option("with_extensions")),
            extension_type=get_option("extension_type"))
        if not is_group_name(options.group):
            raise InventoryError("group %r is not a valid group name (letters, digits and _, not starting with a "
                                 "digit)" % options.group)
        # A bad template, URL or missing credentials fail before any request.
        if source == "dealer":
            dealer_clients_path(0, options.dealer_clients_path)
            options.settings()
        for entry in options.entries:
            options.settings(entry)
        return options

    def settings(self, entry: Optional[Entry] = None) -> ConnectionSettings:
        """The plugin's connection options, with an entry's own credentials and API host over them.

        An entry without credentials of its own is read with the plugin's, which are sent only to the plugin's own
        API and token hosts: an entry pointing elsewhere must bring its own.
        """
        options: Dict[str, Any] = dict(self.connection)
        where = "the connection options"
        if entry is not None:
            where = entry.where
            if entry.has_credentials:
                options.update(app_id=entry.app_id, app_secret=entry.app_secret, access_token=entry.access_token)
            if entry.api_url is not None:
                options.update(api_url=entry.api_url, token_url=entry.token_url)
            elif entry.token_url is not None:
                options["token_url"] = entry.token_url
        for key in _TEXT_OPTIONS:
            options[key] = plain_text(options[key])
        try:
            settings = ConnectionSettings.from_params(options)
        except TelphinError as exc:
            raise InventoryError("%s: %s" % (where, exc)) from None
        if entry is not None and not entry.has_credentials:
            own = self._own_hosts()
            foreign = [key for key in _URL_OPTIONS if _host(getattr(settings, key)) not in own]
            if foreign:
                raise InventoryError(
                    "%s: the plugin's credentials are sent only to its own API host, and this entry's %s %s elsewhere: "
                    "give the entry its own app_id and app_secret (or access_token)"
                    % (entry.where, " and ".join(foreign), "points" if len(foreign) == 1 else "point"))
        return settings

    def _own_hosts(self) -> Set[str]:
        """The hosts the plugin's own credentials go to: its API host and its token endpoint's host."""
        api_url = plain_text(self.connection.get("api_url")) or DEFAULT_API_URL
        hosts = {_host(api_url)}
        token_url = plain_text(self.connection.get("token_url"))
        if token_url:
            hosts.add(_host(token_url))
        return hosts


def connection_options(get_option: Callable[[str], Any], given_as: Callable[[str], Any]) -> Dict[str, Any]:
    """The connection options, each one given as ``""`` left unset, as the modules do.

    AWX injects every field of a credential type, an unset one as an empty string (``TELPHIN_CA_PATH=""``), and
    ansible-core's config turns ``""`` into the current directory for a ``path`` option and into false for a
    boolean one (``TELPHIN_VALIDATE_CERTS=""`` would turn verification off).
    """
    options = {}
    for name in CONNECTION_OPTIONS:
        raw = given_as(name)
        empty = isinstance(raw, str) and not is_vaulted(raw) and raw == ""
        options[name] = None if empty else get_option(name)
    return options


def _host(url: str) -> str:
    """``scheme://host:port`` of a URL, lower case, with the scheme's default port."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or {"https": 443, "http": 80}.get(parts.scheme.lower())
    return "%s://%s:%s" % (parts.scheme.lower(), (parts.hostname or "").lower(), port)


def given_secrets(get_option: Callable[[str], Any]) -> List[Any]:
    """Every secret value given in the options (the plugin's and the entries'), taken before any check can fail."""
    values = [get_option("app_secret"), get_option("access_token")]
    raw = get_option("tenants")
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, Mapping):
            values += [item.get("app_secret"), item.get("access_token")]
    return [value for value in values if value is not None]


def check_entries(raw: Any, source: str) -> List[Entry]:
    """The checked O(tenants) entries (none for source dealer)."""
    if source == "dealer":
        if raw:
            raise InventoryError("tenants is only read with source: list (source is dealer)")
        return []
    if not raw:
        raise InventoryError("source: list needs at least one entry in tenants")
    entries = []
    for number, item in enumerate(raw, 1):
        where = "tenants[%d]" % number
        if not isinstance(item, Mapping):
            raise InventoryError("%s is not a mapping with client_id and optionally name, app_id, app_secret" % where)
        unknown = sorted(str(key) for key in item if key not in ENTRY_KEYS)
        if unknown:
            raise InventoryError("%s has unknown key(s) %s; known: %s"
                                 % (where, ", ".join(unknown), ", ".join(ENTRY_KEYS)))
        name = None if item.get("name") is None else str(item["name"])
        if name is not None and not is_host_name(name):
            raise InventoryError("%s: name %r is not a host name (letters, digits, _ . -)" % (where, name))
        try:
            client_id = check_client_id("@me" if item.get("client_id") is None else item["client_id"])
        except InputError as exc:
            raise InventoryError("%s: %s" % (where, exc)) from None
        if (item.get("app_id") is None) != (item.get("app_secret") is None):
            raise InventoryError("%s: give app_id and app_secret together" % where)
        entries.append(Entry(number=number, client_id=client_id, name=name,
                             **{key: item.get(key) for key in ENTRY_KEYS if key not in ("name", "client_id")}))
    return entries
