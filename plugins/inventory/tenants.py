# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: tenants
short_description: Tenants (clients) of a Telphin-platform cloud PBX as inventory hosts
version_added: 0.1.0
description:
  - Makes every tenant (client) of a Telphin-platform PBX an inventory host in the group O(group), so
    C(telphin.pbx.rollout_bindings) and the other tenant playbooks run on them.
  - "O(source=dealer): the tenants of a dealer, read with the dealer's trusted app. The dealer id comes from
    O(dealer_id) or from C(GET /user/) (the app's user); the clients are listed with O(dealer_clients_path)."
  - "O(source=list): the tenants listed in O(tenants), each read with C(GET /client/{client_id}/), with its own
    credentials or with the plugin's."
  - "Each host gets the variables C(telphin_client_id) (the client id as a string), C(telphin_client) (the client
    object as the API returns it: C(id), C(name), C(prefix), C(domain), C(timezone), ...), C(telphin_api_url)
    (the API the tenant was read from, so the modules reach the same one), C(telphin_token_url) when O(token_url)
    is set, and with O(with_extensions=true) C(telphin_extensions)."
  - Values read from the API that contain C({) or C(}) are marked unsafe, so they are never templated.
  - "Secrets: the plugin's own credentials (options or C(TELPHIN_*) environment variables, typically a dealer's app
    that reaches every tenant) never become host variables. Per-tenant credentials of O(tenants) become host variables
    only with O(export_credentials=true); see there."
  - "Costs: O(source=dealer) sends one token request, C(GET /user/) (not with O(dealer_id)) and one request per 500
    clients, all charged to the dealer; O(source=list) sends one token request per distinct set of credentials and
    one C(GET /client/{id}/) per tenant, charged to that tenant. O(with_extensions=true) adds one request per 500
    extensions per tenant, charged to each tenant's hourly quota: with many tenants and a frequent refresh, enable
    O(cache)."
  - The file must be named C(telphin.yml), C(telphin.yaml), or end in C(.telphin.yml) or C(.telphin.yaml).
author:
  - Telphin PBX collection maintainers (@telphin-pbx)
extends_documentation_fragment:
  - telphin.pbx.connection.plugin_options
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; marks the file as its configuration.
    type: str
    required: true
    choices: [telphin.pbx.tenants]
    version_added: 0.1.0
  source:
    description:
      - Where the list of tenants comes from.
      - V(dealer) lists the clients of the dealer whose trusted app the plugin's credentials belong to.
      - V(list) reads the tenants given in O(tenants).
    type: str
    choices: [dealer, list]
    default: dealer
    version_added: 0.1.0
  dealer_id:
    description:
      - With O(source=dealer), the dealer whose clients to list.
      - If not set, it is read from C(GET /user/) (the C(dealer_id) of the app's user), which costs one request.
    type: int
    version_added: 0.1.0
  dealer_clients_path:
    description:
      - With O(source=dealer), the API path (after C(/api/ver1.0)) that lists the clients of a dealer as a JSON array
        of client objects. C({dealer_id}) is replaced with the dealer id.
      - The vendor does not document this path publicly; the default is inferred from the API's conventions and is
        what the collection's emulator serves. If your provider serves the list elsewhere, set it here.
      - The list is read with C(page) and C(per_page=500) and stops at a short page or at a page that brings no new
        client, so it also works with a server that does not page this list.
    type: str
    default: /dealer/{dealer_id}/client/
    version_added: 0.1.0
  tenants:
    description:
      - With O(source=list), the tenants.
      - An entry without credentials is read with the plugin's credentials (for example a dealer's app); an entry
        with credentials is read with them. Entries with the same credentials share one token.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - Inventory host name of the tenant. Letters, digits, C(_), C(.) and C(-).
          - If not set, the host name follows O(hostname).
        type: str
        version_added: 0.1.0
      client_id:
        description: The client id, or V(@me) for the client of the entry's (or the plugin's) app.
        type: str
        default: '@me'
        version_added: 0.1.0
      app_id:
        description: App ID of the tenant's trusted app; with O(tenants[].app_secret).
        type: str
        version_added: 0.1.0
      app_secret:
        description: App Secret of the tenant's trusted app. Encrypt it with C(ansible-vault encrypt_string).
        type: str
        version_added: 0.1.0
      access_token:
        description: A bearer token for this tenant, instead of O(tenants[].app_id) and O(tenants[].app_secret).
        type: str
        version_added: 0.1.0
      api_url:
        description: The tenant's API host, when it differs from O(api_url) (tenants of several providers).
        type: str
        version_added: 0.1.0
      token_url:
        description: The token endpoint for O(tenants[].api_url); defaults to that URL followed by C(/oauth/token).
        type: str
        version_added: 0.1.0
  export_credentials:
    description:
      - With O(source=list), also set the credentials of entries that have their own as the host variables
        C(telphin_app_id), C(telphin_app_secret) and C(telphin_access_token), which the C(telphin.pbx.phone_bindings)
        role passes to the modules.
      - Host variables are shown by C(ansible-inventory --list) and stored by AWX / Automation Controller, readable by
        everyone who may read the inventory. Values encrypted with Ansible Vault in the inventory file stay encrypted
        in the host variables (C(ansible-inventory --list) shows the cipher text; plays decrypt them with the vault
        password). A plain-text secret is exported as plain text, with a warning.
      - The plugin's own credentials are never exported.
      - Cached data never holds credentials; they are taken from the inventory file on every run.
    type: bool
    default: false
    version_added: 0.1.0
  hostname:
    description:
      - How a tenant's host name is made when its O(tenants) entry has no O(tenants[].name).
      - V(name) is a slug of the client's name, lower case, with Cyrillic transliterated and every run of other
        characters turned into C(_) (V(ООО Ромашка) becomes C(ooo_romashka)); a name that leaves nothing becomes
        C(client_<id>).
      - V(id) is the client id.
      - "Collisions are resolved deterministically: of the tenants with the same slug, the one with the lowest client
        id gets the slug and the others C(<slug>_<client id>). So a new tenant never renames an existing host."
    type: str
    choices: [name, id]
    default: name
    version_added: 0.1.0
  group:
    description: The group every tenant is put in; the collection's playbooks run on C(telphin_tenants).
    type: str
    default: telphin_tenants
    version_added: 0.1.0
  with_extensions:
    description:
      - Also read each tenant's extensions into the host variable C(telphin_extensions), each item with an added
        C(short_name) (the name after C(*)).
      - "Costs one paged list (one request per 500 extensions) per tenant, charged to that tenant's hourly quota at
        every inventory refresh: use O(cache)."
    type: bool
    default: false
    version_added: 0.1.0
  extension_type:
    description: With O(with_extensions=true), only extensions of this type (filtered by the API).
    type: str
    choices: [phone, queue, ivr, fax]
    version_added: 0.1.0
notes:
  - "Caching: with O(cache=true) the API data (clients and extensions, never credentials) is stored with the cache
    plugin; a refresh within O(cache_timeout) sends no request at all. C(ansible-playbook --flush-cache),
    C(ansible-inventory --flush-cache) (ansible-core 2.17 and later) and C(meta: refresh_inventory) read the API again
    and refresh the cache. Changing O(source), O(api_url), O(app_id),
    O(dealer_id), O(dealer_clients_path), O(tenants), O(with_extensions) or O(extension_type) ignores the cached
    data."
  - "AWX / Automation Controller: commit a file such as C(inventory/telphin.yml) to the project, put
    C(telphin.pbx) in the project's C(collections/requirements.yml) (or the execution environment) and add an
    inventory source I(Sourced from a Project) with that file. Give the source a credential that sets
    C(TELPHIN_API_URL), C(TELPHIN_APP_ID) and C(TELPHIN_APP_SECRET) (a custom credential type with an C(env)
    injector), and the job template the same credential, so the playbooks use the same app. Controller stores the
    inventory itself: leave O(cache) off there and use the source's I(update on launch) with a cache timeout instead.
    Do not use O(export_credentials) with Controller. Job slicing splits the hosts, so each tenant is run by exactly
    one slice."
  - "Hosts get no connection variables; the collection's playbooks use C(connection: local). Set
    C(ansible_connection) with O(compose) for other plays."
  - Any API error fails the inventory source with a message saying what was being read; no partial list of
    tenants is returned.
seealso:
  - module: telphin.pbx.extension_phones
  - module: telphin.pbx.extension_info
'''

EXAMPLES = r'''
# dealer.telphin.yml: every tenant of the dealer whose trusted app is in TELPHIN_APP_ID / TELPHIN_APP_SECRET
# (and TELPHIN_API_URL for a white-label provider). Then:
#   ansible-inventory -i dealer.telphin.yml --graph
#   ansible-playbook -i dealer.telphin.yml telphin.pbx.rollout_bindings
plugin: telphin.pbx.tenants
source: dealer
---
# inventory/telphin.yml: the dealer's tenants with their phone extensions, grouped by time zone and size,
# read at most once an hour (the cache directory must be writable)
plugin: telphin.pbx.tenants
source: dealer
api_url: https://api.example-telecom.ru
dealer_id: 10
with_extensions: true
extension_type: phone
keyed_groups:
  - key: telphin_client.timezone | default('unknown') | replace('/', '_')
    prefix: tz
groups:
  large_tenants: telphin_extensions | length > 100
compose:
  ansible_connection: "'local'"
  tenant_prefix: telphin_client.prefix
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/telphin-inventory
cache_timeout: 3600
---
# tenants.telphin.yml: an explicit list; acme with its own app (secret encrypted with
#   ansible-vault encrypt_string --name app_secret), globex through the dealer's app from the environment.
# With export_credentials, the role uses acme's app too.
plugin: telphin.pbx.tenants
source: list
export_credentials: true
tenants:
  - name: acme
    client_id: "1001"
    app_id: acme-app
    app_secret: !vault |
      $ANSIBLE_VAULT;1.1;AES256
      62313365396662343061393464336163383764373764613633653634306231386433626436623361
      6134333665353966363534333632666535333761666131620a663537646436643839616531643561
      63396265333966386166373632626539326166353965363262633030333630313338646335303630
      3438626666666137650a353638643435666633633964366338633066623234616432373231333331
      6564
  - name: globex
    client_id: "1002"
'''

import hashlib
import json
import os
import re
import unicodedata
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.telphin.pbx.plugins.module_utils.client import (
    CONNECTION_OPTIONS, URLLIB3_IMPORT_ERROR, ApiClient, ConnectionSettings, NotFound, ProtocolError, TelphinError)
from ansible_collections.telphin.pbx.plugins.module_utils.resolve import (
    PER_PAGE, LookupFailed, check_client_id, list_extensions, short_name)

try:  # ansible-core 2.19+
    from ansible.parsing.vault import EncryptedString as _VaultedValue
except ImportError:  # ansible-core 2.16 to 2.18
    from ansible.parsing.yaml.objects import AnsibleVaultEncryptedUnicode as _VaultedValue

CACHE_FORMAT = 1
ENTRY_KEYS = ("name", "client_id", "app_id", "app_secret", "access_token", "api_url", "token_url")
CREDENTIAL_KEYS = ("app_id", "app_secret", "access_token")
_HOST_NAME = re.compile(r"^[\w.-]+$")
_GROUP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TEMPLATE_CHARS = re.compile(r"[{}]")
# Russian / Ukrainian / Belarusian Cyrillic to Latin (ICAO Doc 9303, as in Russian passports), and the one Latin
# letter that Unicode decomposition does not reduce to ASCII.
_TRANSLIT = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґў",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s", "t", "u", "f",
     "kh", "ts", "ch", "sh", "shch", "ie", "y", "", "e", "iu", "ia", "i", "i", "ie", "g", "u"]), **{"ß": "ss"})


def slugify(text: str) -> str:
    """Lower-case ASCII letters, digits and single ``_``; Cyrillic transliterated, accents dropped."""
    lowered = "".join(_TRANSLIT.get(ch, ch) for ch in str(text).lower())
    ascii_text = unicodedata.normalize("NFKD", lowered).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")


def assign_hostnames(tenants: List[Tuple[int, Optional[str], str]]) -> Dict[int, str]:
    """Host name by client id, from ``(client id, explicit name or None, derived name)`` triples.

    Explicit names must be unique. Of the tenants sharing a derived name, the lowest client id gets it (unless an
    explicit name took it) and the others ``<name>_<id>`` (then ``_2``, ``_3``, ... should that be taken too).
    """
    names: Dict[int, str] = {}
    taken: Dict[str, int] = {}
    for client_id, explicit, _derived in tenants:
        if explicit is None:
            continue
        if explicit in taken:
            raise ValueError("host name %s is given to clients %d and %d" % (explicit, taken[explicit], client_id))
        taken[explicit] = client_id
        names[client_id] = explicit
    derived = sorted((name, client_id) for client_id, explicit, name in tenants if explicit is None)
    later = []
    for name, client_id in derived:
        if name in taken:
            later.append((name, client_id))
        else:
            taken[name] = client_id
            names[client_id] = name
    for name, client_id in later:
        candidate, n = "%s_%d" % (name, client_id), 1
        while candidate in taken:
            n += 1
            candidate = "%s_%d_%d" % (name, client_id, n)
        taken[candidate] = client_id
        names[client_id] = candidate
    return names


def _is_vaulted(value: Any) -> bool:
    return isinstance(value, _VaultedValue)


def _unsafe(value: Any) -> Any:
    """Mark every string that could be taken for a template unsafe, so it is never templated.

    Only strings with ``{`` or ``}`` are wrapped: marking every string trips AWX's inventory import, and the others
    cannot be templated anyway. Vault-encrypted values are left as they are (they are never templated).
    """
    if _is_vaulted(value):
        return value
    if isinstance(value, Mapping):
        return dict((_unsafe(key), _unsafe(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_unsafe(item) for item in value]
    if isinstance(value, str) and _TEMPLATE_CHARS.search(value):
        return wrap_var(value)
    return value


def _text(value: Any) -> Optional[str]:
    """A string option value as plain text (decrypting a vaulted value); None stays None."""
    return None if value is None else str(value)


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Tenants of a dealer, or of an explicit list, as hosts; see DOCUMENTATION."""

    NAME = "telphin.pbx.tenants"

    def __init__(self) -> None:
        super().__init__()
        self._clients: Dict[Tuple[Any, ...], ApiClient] = {}

    # -- Ansible entry points ---------------------------------------------------------------------
    def verify_file(self, path: str) -> bool:
        if not super().verify_file(path):
            return False
        base = os.path.basename(path)
        return base in ("telphin.yml", "telphin.yaml") or base.endswith((".telphin.yml", ".telphin.yaml"))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        self._clients = {}
        entries = self._entries()
        fingerprint = self._fingerprint(entries)
        use_cache = bool(self.get_option("cache"))
        cache_key = self.get_cache_key(path)
        tenants = self._from_cache(cache_key, fingerprint) if use_cache and cache else None
        if tenants is None:
            tenants = self._fetch(entries)
            if use_cache:
                self._cache[cache_key] = {"format": CACHE_FORMAT, "fingerprint": fingerprint, "tenants": tenants}
        self._populate(tenants, entries)

    # -- options ----------------------------------------------------------------------------------
    def _fail(self, message: str) -> AnsibleParserError:
        return AnsibleParserError("telphin.pbx.tenants: %s" % message)

    def _entries(self) -> List[Dict[str, Any]]:
        """The checked O(tenants) entries (empty for source dealer); raw values kept (vaulted ones too)."""
        raw = self.get_option("tenants") or []
        source = self.get_option("source")
        if source == "dealer":
            if raw:
                raise self._fail("tenants is only read with source: list (source is dealer)")
            return []
        if not raw:
            raise self._fail("source: list needs at least one entry in tenants")
        entries = []
        for number, item in enumerate(raw, 1):
            where = "tenants[%d]" % number
            if not isinstance(item, Mapping):
                raise self._fail("%s is not a mapping with client_id and optionally name, app_id, app_secret"
                                 % where)
            unknown = sorted(str(key) for key in item if key not in ENTRY_KEYS)
            if unknown:
                raise self._fail("%s has unknown key(s) %s; known: %s" % (where, ", ".join(unknown),
                                                                          ", ".join(ENTRY_KEYS)))
            entry = {key: item.get(key) for key in ENTRY_KEYS}
            name = entry["name"]
            if name is not None and not _HOST_NAME.match(str(name)):
                raise self._fail("%s: name %r is not a host name (letters, digits, _ . -)" % (where, str(name)))
            entry["name"] = None if name is None else str(name)
            try:
                entry["client_id"] = check_client_id("@me" if entry["client_id"] is None else entry["client_id"])
            except LookupFailed as exc:
                raise self._fail("%s: %s" % (where, exc)) from None
            if (entry["app_id"] is None) != (entry["app_secret"] is None):
                raise self._fail("%s: give app_id and app_secret together" % where)
            entry["where"] = "%s (%s)" % (where, entry["name"] or entry["client_id"])
            entries.append(entry)
        return entries

    def _connection(self, entry: Optional[Mapping[str, Any]] = None) -> ConnectionSettings:
        """The plugin's connection options, with an entry's own credentials and API host over them."""
        options = {name: self.get_option(name) for name in CONNECTION_OPTIONS}
        where = "the connection options"
        if entry is not None:
            where = entry["where"]
            if any(entry[key] is not None for key in CREDENTIAL_KEYS):
                options.update({key: entry[key] for key in CREDENTIAL_KEYS})
            if entry["api_url"] is not None:
                options.update(api_url=entry["api_url"], token_url=entry["token_url"])
            elif entry["token_url"] is not None:
                options["token_url"] = entry["token_url"]
        for key in ("api_url", "token_url", "app_id", "app_secret", "access_token", "ca_path"):
            options[key] = _text(options[key])
        try:
            return ConnectionSettings.from_params(options)
        except TelphinError as exc:
            raise self._fail("%s: %s" % (where, exc)) from None

    def _fingerprint(self, entries: List[Dict[str, Any]]) -> str:
        """What the cached data depends on, hashed; never a secret."""
        public = {
            "source": self.get_option("source"),
            "api_url": _text(self.get_option("api_url")),
            "token_url": _text(self.get_option("token_url")),
            "app_id": _text(self.get_option("app_id")),
            "dealer_id": self.get_option("dealer_id"),
            "dealer_clients_path": self.get_option("dealer_clients_path"),
            "with_extensions": bool(self.get_option("with_extensions")),
            "extension_type": self.get_option("extension_type"),
            "tenants": [[e["client_id"], _text(e["app_id"]), _text(e["api_url"]), _text(e["token_url"]),
                         e["access_token"] is not None] for e in entries],
        }
        return hashlib.sha256(json.dumps(public, sort_keys=True).encode("utf-8")).hexdigest()

    # -- cache ------------------------------------------------------------------------------------
    def _from_cache(self, key: str, fingerprint: str) -> Optional[List[Dict[str, Any]]]:
        try:
            data = self._cache[key]
        except KeyError:
            return None
        if not isinstance(data, Mapping) or data.get("format") != CACHE_FORMAT or \
                data.get("fingerprint") != fingerprint or not isinstance(data.get("tenants"), list):
            self.display.vvv("telphin.pbx.tenants: the cached data is for other options; reading the API")
            return None
        return data["tenants"]

    # -- reading the API --------------------------------------------------------------------------
    def _new_client(self, settings: ConnectionSettings) -> ApiClient:
        """The seam the unit tests replace."""
        return ApiClient(settings)

    def _client(self, settings: ConnectionSettings) -> ApiClient:
        """One client (one token) per distinct set of connection settings."""
        key = tuple(getattr(settings, name) for name in CONNECTION_OPTIONS)
        if key not in self._clients:
            if not settings.validate_certs:
                self.display.warning("telphin.pbx.tenants: validate_certs is false: the TLS certificate of %s is not "
                                     "verified, so the credentials can be intercepted; use ca_path for a private CA "
                                     "instead" % settings.api_url)
            self._clients[key] = self._new_client(settings)
        return self._clients[key]

    def _call(self, doing: str, call: Callable[[], Any], hint: Callable[[TelphinError], str] = lambda exc: "") -> Any:
        try:
            return call()
        except TelphinError as exc:
            raise self._fail("%s: %s%s" % (doing, exc, hint(exc))) from None

    def _fetch(self, entries: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """Read the tenants: records of client, extensions (or None), entry index, API URLs; JSON-ready."""
        if URLLIB3_IMPORT_ERROR:
            raise self._fail("the Python library urllib3 is needed on the controller (pip install urllib3)")
        if self.get_option("source") == "dealer":
            records = self._dealer_tenants()
        else:
            records = self._listed_tenants(entries)
        with_extensions = bool(self.get_option("with_extensions"))
        for record in records:
            client = record.pop("_client")
            if with_extensions:
                record["extensions"] = self._extensions(client, record["client"]["id"])
        return records

    def _dealer_tenants(self) -> List[Dict[str, Any]]:
        settings = self._connection()
        client = self._client(settings)
        dealer_id = self.get_option("dealer_id")
        if dealer_id is None:
            user = self._call("reading the app's user (GET /user/)", lambda: client.get("/user/"))
            dealer_id = user.get("dealer_id") if isinstance(user, Mapping) else None
            if dealer_id in (None, ""):
                owner = user.get("client_id") if isinstance(user, Mapping) else None
                belongs = " (it belongs to client %s)" % owner if owner else ""
                raise self._fail(
                    "source: dealer needs a dealer-level trusted app, but the user of app %s has no dealer_id%s: use "
                    "the dealer's app, or source: list" % (settings.app_id or "(access_token)", belongs))
        try:
            path = str(self.get_option("dealer_clients_path")).format(dealer_id=dealer_id)
        except (KeyError, IndexError, ValueError) as exc:
            raise self._fail("dealer_clients_path %r: only {dealer_id} may be used in it (%s)"
                             % (self.get_option("dealer_clients_path"), to_native(exc))) from None
        if not path.startswith("/") or "?" in path:
            raise self._fail("dealer_clients_path must be an API path such as /dealer/{dealer_id}/client/")

        def hint(exc: TelphinError) -> str:
            if isinstance(exc, NotFound):
                return (" (the dealer's client list path is not documented publicly and %s is a guess: set "
                        "dealer_clients_path to your provider's path)" % self.get_option("dealer_clients_path"))
            return ""

        items = self._call("listing the clients of dealer %s (GET %s)" % (dealer_id, path),
                           lambda: self._paged(client, path), hint)
        clients = [self._checked_client(item, "GET %s" % path) for item in items]
        return [{"client": c, "extensions": None, "entry": None, "api_url": settings.api_url,
                 "token_url": _text(self.get_option("token_url")), "_client": client}
                for c in sorted(clients, key=lambda c: int(c["id"]))]

    def _paged(self, client: ApiClient, path: str) -> List[Any]:
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

    def _checked_client(self, item: Any, where: str) -> Dict[str, Any]:
        if not isinstance(item, Mapping) or isinstance(item.get("id"), bool) or \
                not re.match(r"^[0-9]{1,12}$", str(item.get("id"))):
            raise self._fail("%s: expected client objects with a numeric id, got %s"
                             % (where, json.dumps(item)[:120] if isinstance(item, (dict, list)) else type(item).__name__))
        return dict(item, id=int(item["id"]))

    def _listed_tenants(self, entries: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        records = []
        seen: Dict[int, str] = {}
        for index, entry in enumerate(entries):
            settings = self._connection(entry)
            client = self._client(settings)
            path = "/client/%s/" % entry["client_id"]
            client.quota = None  # each tenant has its own quota: forget the figures of the previous one
            data = self._call("%s: reading client %s (GET %s)" % (entry["where"], entry["client_id"], path),
                              lambda: client.get(path))
            tenant = self._checked_client(data, "%s: GET %s" % (entry["where"], path))
            if tenant["id"] in seen:
                raise self._fail("%s and %s are the same client %d" % (seen[tenant["id"]], entry["where"],
                                                                       tenant["id"]))
            seen[tenant["id"]] = entry["where"]
            explicit_token_url = entry["token_url"] if entry["api_url"] is not None else \
                (entry["token_url"] or self.get_option("token_url"))
            records.append({"client": tenant, "extensions": None, "entry": index, "api_url": settings.api_url,
                            "token_url": _text(explicit_token_url), "_client": client})
        return records

    def _extensions(self, client: ApiClient, client_id: int) -> List[Dict[str, Any]]:
        client.quota = None  # each tenant has its own quota: forget the figures of the previous one
        items = self._call("listing the extensions of client %d (GET /client/%d/extension/)" % (client_id, client_id),
                           lambda: list_extensions(client, str(client_id), self.get_option("extension_type")))
        return [dict(item, short_name=short_name(str(item.get("name") or ""))) for item in items]

    # -- building the inventory -------------------------------------------------------------------
    def _populate(self, tenants: List[Dict[str, Any]], entries: List[Dict[str, Any]]) -> None:
        group = str(self.get_option("group"))
        if not _GROUP_NAME.match(group):
            raise self._fail("group %r is not a valid group name (letters, digits and _, not starting with a digit)"
                             % group)
        by_id = {}
        triples = []
        for record in tenants:
            client = record["client"]
            entry = entries[record["entry"]] if record.get("entry") is not None else None
            by_id[int(client["id"])] = (record, entry)
            triples.append((int(client["id"]), entry["name"] if entry else None, self._derived_name(client)))
        try:
            names = assign_hostnames(triples)
        except ValueError as exc:
            raise self._fail(str(exc)) from None
        self.inventory.add_group(group)
        strict = bool(self.get_option("strict"))
        export = bool(self.get_option("export_credentials"))
        for client_id in sorted(by_id):
            record, entry = by_id[client_id]
            host = names[client_id]
            self.inventory.add_host(host, group=group)
            hostvars = {
                "telphin_client_id": str(client_id),
                "telphin_client": record["client"],
                "telphin_api_url": record["api_url"],
            }
            if record.get("token_url"):
                hostvars["telphin_token_url"] = record["token_url"]
            if record.get("extensions") is not None:
                hostvars["telphin_extensions"] = record["extensions"]
            if export and entry is not None:
                hostvars.update(self._credentials(entry, host))
            hostvars = {key: _unsafe(value) for key, value in hostvars.items()}
            for key, value in hostvars.items():
                self.inventory.set_variable(host, key, value)
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)

    def _derived_name(self, client: Mapping[str, Any]) -> str:
        if self.get_option("hostname") == "id":
            return str(client["id"])
        return slugify(str(client.get("name") or "")) or "client_%s" % client["id"]

    def _credentials(self, entry: Mapping[str, Any], host: str) -> Dict[str, Any]:
        """The entry's own credentials as host variables; a warning for each plain-text secret."""
        exported = {}
        for key in CREDENTIAL_KEYS:
            value = entry[key]
            if value is None:
                continue
            exported["telphin_" + key] = value
            if key != "app_id" and not _is_vaulted(value):
                self.display.warning(
                    "telphin.pbx.tenants: %s: %s is plain text in the inventory source and is exported as the host "
                    "variable telphin_%s of %s, which ansible-inventory --list shows; encrypt it with "
                    "ansible-vault encrypt_string" % (entry["where"], key, key, host))
        return exported
