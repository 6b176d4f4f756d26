# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: tenants
short_description: Tenants (clients) of a Telphin-platform cloud PBX as inventory hosts
version_added: 1.0.0
description:
  - Makes every tenant (client) of a Telphin-platform PBX an inventory host in the group O(group), so
    C(telphin.pbx.rollout_bindings) and the other tenant playbooks run on them.
  - "O(source=dealer): the tenants of a dealer, read with the dealer's trusted app. The dealer id comes from
    O(dealer_id) or from C(GET /user/) (the app's user); the clients are listed with O(dealer_clients_path)."
  - "O(source=list): the tenants listed in O(tenants), each read with C(GET /client/{client_id}/), with its own
    credentials or with the plugin's."
  - "Each host gets the variables C(telphin_client_id) (the client id as a string), C(telphin_client) (the client
    object: its documented fields C(id), C(name), C(prefix), C(domain), C(timezone), ... by name, every other field
    an item C({key, value}) of C(other_fields), as in every object the API sends), C(telphin_api_url)
    (the API the tenant was read from, so the modules reach the same one), C(telphin_token_url) when O(token_url)
    is set, and with O(with_extensions=true) C(telphin_extensions)."
  - Every string the plugin sets (values read from the API, whatever they hold) is data that is never
    templated, on every supported ansible-core - marked unsafe before 2.19, never trusted as a template since. No
    string is judged by its content (a C(#jinja2:) header can make a template without C({)). No key the server sends
    becomes a key (C(other_fields); C(items2dict) gives an object back), so none means C(__ansible_vault) to AWX.
    C(ansible-inventory --list) (what AWX's inventory sync stores and shows) prints each such string as a mapping
    whose only key is C(__ansible_unsafe); AWX stores that mapping as it is and gives it back to jobs in the
    inventory script's JSON, which ansible-core reads as the same unsafe string.
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
  - telphin.pbx.connection
  - telphin.pbx.connection.plugin_options
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; marks the file as its configuration.
    type: str
    required: true
    choices: [telphin.pbx.tenants]
  source:
    description:
      - Where the list of tenants comes from.
      - V(dealer) lists the clients of the dealer whose trusted app the plugin's credentials belong to.
      - V(list) reads the tenants given in O(tenants).
    type: str
    choices: [dealer, list]
    default: dealer
  dealer_id:
    description:
      - With O(source=dealer), the dealer whose clients to list.
      - If not set, it is read from C(GET /user/) (the C(dealer_id) of the app's user), which costs one request.
    type: int
  dealer_clients_path:
    description:
      - With O(source=dealer), the API path (after C(/api/ver1.0)) that lists the clients of a dealer as a JSON array
        of client objects. C({dealer_id}) is replaced with the dealer id.
      - The vendor does not document this path publicly; the default is inferred from the API's conventions and is
        what the collection's emulator serves. If your provider serves the list elsewhere, set it here.
      - The list is read page by page (C(page), C(per_page=500)) like every list the collection reads (the tenants'
        extension lists too). The first page's length is taken as the page size, as a provider may cap C(per_page)
        lower; the list ends at an empty page or one shorter than that, so a list shorter than 500 costs two
        requests. A provider that refuses C(per_page=500) (400 or 422) is asked with 200, then 30, once per set of
        credentials; the size that works is used for every later list. A server that ignores C(page) and
        C(per_page) and sends the same short list again sent the whole list on page 1; one that sends a full page
        of 500 again, or keeps sending full pages of new rows (more than 50000 rows or 2000 pages), fails the
        source rather than loop or cut the list short.
    type: str
    default: /dealer/{dealer_id}/client/
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
          - Inventory host name of the tenant. Letters, digits, C(_), C(.) and C(-); not a name Ansible reserves
            (C(localhost), C(127.0.0.1), C(all), C(ungrouped), O(group), a group name).
          - If not set, the host name follows O(hostname).
        type: str
      client_id:
        description: The client id, or V(@me) for the client of the entry's (or the plugin's) app.
        type: str
        default: '@me'
      app_id:
        description: App ID of the tenant's trusted app; with O(tenants[].app_secret).
        type: str
      app_secret:
        description: App Secret of the tenant's trusted app. Encrypt it with C(ansible-vault encrypt_string).
        type: str
      access_token:
        description: A bearer token for this tenant, instead of O(tenants[].app_id) and O(tenants[].app_secret).
        type: str
      api_url:
        description:
          - The tenant's API host, when it differs from O(api_url) (tenants of several providers).
          - An entry whose API or token host is not the plugin's own needs its own credentials
            (O(tenants[].app_id) and O(tenants[].app_secret), or O(tenants[].access_token)), as the plugin's credentials
            are sent only to the hosts of O(api_url) and O(token_url).
        type: str
      token_url:
        description: The token endpoint for O(tenants[].api_url); defaults to that URL followed by C(/oauth/token).
        type: str
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
  hostname:
    description:
      - How a tenant's host name is made when its O(tenants) entry has no O(tenants[].name).
      - V(name) is a slug of the client's name, lower case, with Cyrillic transliterated and every run of other
        characters turned into C(_) (V(ООО Ромашка) becomes C(ooo_romashka)); a name that leaves nothing becomes
        C(client_<id>).
      - V(id) is the client id, which no tenant can change, so a host's C(host_vars) always belong to the same tenant.
        This is the safe choice; V(name) stays the default in 1.x so that existing C(host_vars/<name>) layouts keep
        working.
      - "A tenant can edit its name: with V(name), a rename changes its host name (its C(host_vars) stay behind under
        the old one), and a look-alike (C(ＡＣＭＥ) for C(Acme)) or a new tenant named as a deleted one gives another tenant
        that host name. So with V(name) the C(telphin.pbx.phone_bindings) role writes only bindings pinned to the
        tenant's client id (C(phone_bindings_client_id), which C(telphin.pbx.export_bindings) writes), and a name two
        tenants share goes to neither: each is host C(<name>_<client id>), a warning names them, and the role refuses
        to run them. A name Ansible reserves (C(localhost), C(all), C(ungrouped), O(group), a group of O(groups) or of
        an earlier inventory source) is refused alike, so it never replaces the implicit localhost or a group."
      - "With V(name), C(host_vars/<entry>) next to the inventory source that pin a tenant
        (C(phone_bindings_client_id)) whose host name is another one now (it renamed itself) are reported: a warning,
        and the host variable C(telphin_host_name_moved_from) on the tenant's host, which the role refuses to run
        until they are moved. The plugin reads only that pin of those files."
      - "Each host gets the variable C(telphin_host_name_from): V(name), V(id), or V(inventory) for a
        O(tenants[].name); a refused name also C(telphin_host_name_conflict) (the name, the client ids sharing it, and
        whether it is reserved)."
    type: str
    choices: [name, id]
    default: name
  group:
    description: The group every tenant is put in; the collection's playbooks run on C(telphin_tenants).
    type: str
    default: telphin_tenants
  with_extensions:
    description:
      - Also read each tenant's extensions into the host variable C(telphin_extensions), each item with an added
        C(short_name) (the name after C(*)).
      - "Costs one paged list (one request per 500 extensions) per tenant, charged to that tenant's hourly quota at
        every inventory refresh: use O(cache)."
    type: bool
    default: false
  extension_type:
    description:
      - With O(with_extensions=true), only extensions of this type (filtered by the API).
      - V(phone), V(queue), V(ivr) and V(fax) are documented; any other lower-case type name (conference
        extensions exist, their type name is not public) is sent as given.
    type: str
notes:
  - "Caching: with O(cache=true) the API data (clients and extensions, never credentials) is stored with the cache
    plugin; a refresh within O(cache_timeout) sends no request at all. C(ansible-playbook --flush-cache),
    C(ansible-inventory --flush-cache) (ansible-core 2.17 and later) and C(meta: refresh_inventory) read the API again
    and refresh the cache. Changing O(source), O(api_url), O(app_id),
    O(dealer_id), O(dealer_clients_path), O(tenants), O(with_extensions) or O(extension_type) ignores the cached
    data."
  - "AWX / Automation Controller: commit a file such as C(inventory/telphin.yml) to the project, put
    C(telphin.pbx) in the project's C(collections/requirements.yml) (or the execution environment) and add an
    inventory source I(Sourced from a Project) with that file. Give the source a credential of the collection's
    credential type C(Telphin PBX API) (C(extensions/awx/credential_type.yml)), which sets the C(TELPHIN_*)
    variables, and the job template the same credential, so the playbooks use the same app. The controller injects
    every field of the type, an unset one as an empty string: a connection option given as an empty string (in the
    environment or in the file) is not set. Controller stores the
    inventory itself: leave O(cache) off there and use the source's I(update on launch) with a cache timeout instead.
    Do not use O(export_credentials) with Controller. Job slicing splits the hosts, so each tenant is run by exactly
    one slice."
  - "O(keyed_groups): each needs a O(keyed_groups[].prefix) that starts with a letter, and a
    O(keyed_groups[].parent_group) is a plain name. A group name made from a tenant's data that a host holds or
    that is reserved (C(localhost), C(all), C(ungrouped), O(group), a name of O(groups)) is not made, with a warning
    (O(strict=true): the source fails). A name of O(groups) may not be reserved either."
  - "Hosts get no connection variables; the collection's playbooks use C(connection: local). Set
    C(ansible_connection) with O(compose) for other plays."
  - Any API error fails the inventory source with a message saying what was being read; no partial list of
    tenants is returned. The message says what failed in the collection's words (method, path, HTTP status, the
    API's error code when it is a known one) and never quotes the server's reply, which may repeat what was sent.
    Every secret the plugin knows (credentials given, tokens issued) is masked in its messages all the same.
seealso:
  - module: telphin.pbx.extension_phones
  - module: telphin.pbx.extension_info
'''

EXAMPLES = r'''
# Each inventory source is a file of its own; the first two are shown as comments, so that the examples are
# one YAML document.
#
# dealer.telphin.yml: every tenant of the dealer whose trusted app is in TELPHIN_APP_ID / TELPHIN_APP_SECRET
# (and TELPHIN_API_URL for a white-label provider). Then:
#   ansible-inventory -i dealer.telphin.yml --graph
#   ansible-playbook -i dealer.telphin.yml telphin.pbx.rollout_bindings
#
#   plugin: telphin.pbx.tenants
#   source: dealer
#
# tenants.telphin.yml: an explicit list; acme with its own app (secret encrypted with
#   ansible-vault encrypt_string --name app_secret), globex through the dealer's app from the environment.
# With export_credentials, the role uses acme's app too.
#
#   plugin: telphin.pbx.tenants
#   source: list
#   export_credentials: true
#   tenants:
#     - name: acme
#       client_id: "1001"
#       app_id: acme-app
#       app_secret: !vault |
#         $ANSIBLE_VAULT;1.1;AES256
#         62313365396662343061393464336163383764373764613633653634306231386433626436623361
#         6134333665353966363534333632666535333761666131620a663537646436643839616531643561
#         63396265333966386166373632626539326166353965363262633030333630313338646335303630
#         3438626666666137650a353638643435666633633964366338633066623234616432373231333331
#         6564
#     - name: globex
#       client_id: "1002"
#
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
'''

import os
from typing import Any, Dict, List, Optional

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._errors import TelphinError, unexpected
from ansible_collections.telphin.pbx.plugins.module_utils._settings import ConnectionSettings
from ansible_collections.telphin.pbx.plugins.module_utils._transport import URLLIB3_IMPORT_ERROR
from ansible_collections.telphin.pbx.plugins.plugin_utils import _cache
from ansible_collections.telphin.pbx.plugins.plugin_utils._groups import GroupGuard, check_constructed, refused_group
from ansible_collections.telphin.pbx.plugins.plugin_utils._hostnames import (
    assign_hostnames, conflict_warnings, derived_name, identity_variables, moved_warnings)
from ansible_collections.telphin.pbx.plugins.plugin_utils._hostvars import host_variables, unsafe
from ansible_collections.telphin.pbx.plugins.plugin_utils._moved import left_behind
from ansible_collections.telphin.pbx.plugins.plugin_utils._options import (
    InventoryError, InventoryOptions, given_secrets)
from ansible_collections.telphin.pbx.plugins.plugin_utils._reader import TenantReader
from ansible_collections.telphin.pbx.plugins.plugin_utils._records import TenantRecord
from ansible_collections.telphin.pbx.plugins.plugin_utils._vault import Secrets


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Tenants of a dealer, or of an explicit list, as hosts; see DOCUMENTATION."""

    NAME = "telphin.pbx.tenants"
    _config: Any = None
    _host_vars = ""     # the host_vars directory next to the source (Ansible reads the tenants' host_vars there)

    def verify_file(self, path: str) -> bool:
        if not super().verify_file(path):
            return False
        base = os.path.basename(path)
        return base in ("telphin.yml", "telphin.yaml") or base.endswith((".telphin.yml", ".telphin.yaml"))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._config = self._read_config_data(path)
        secrets = Secrets()
        secrets.add(given_secrets(self.get_option))
        reader: Optional[TenantReader] = None
        try:
            options = InventoryOptions.read(self.get_option, self._given_as)
            check_constructed(self.get_option("keyed_groups"), self.get_option("groups"), options.group)
            fingerprint = _cache.fingerprint(options)
            use_cache = bool(self.get_option("cache"))
            cache_key = self.get_cache_key(path)
            tenants = _cache.load(self._cache, cache_key, fingerprint) if use_cache and cache else None
            if tenants is None:
                if URLLIB3_IMPORT_ERROR:
                    raise InventoryError("the Python library urllib3 is needed on the controller (pip install urllib3)")
                reader = TenantReader(options, self._new_client, self.display.warning)
                tenants = reader.read()
                if use_cache:
                    _cache.store(self._cache, cache_key, fingerprint, tenants)
            self._host_vars = os.path.join(os.path.dirname(path), "host_vars")
            self._populate(options, tenants)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # Ansible shows an exception's text as it is (a header an HTTP library refused holds the token): the
            # collection's and Ansible's own errors are shown masked, any other only by its type and place.
            if reader is not None:
                secrets.add(reader.secrets())
            known = isinstance(exc, (InventoryError, TelphinError, AnsibleError))
            raise AnsibleParserError("telphin.pbx.tenants: %s" % secrets.mask(str(exc) if known else unexpected(exc))
                                     ) from None

    def _given_as(self, name: str) -> Any:
        """Option ``name`` as written in the inventory file, else in the environment variable it was read from;
        None when it took its default."""
        if isinstance(self._config, dict) and name in self._config:
            return self._config[name]
        origin = self.get_option_and_origin(name)[1]
        if isinstance(origin, str) and origin.startswith("env: "):
            return os.environ.get(origin[len("env: "):])
        return None

    def _new_client(self, settings: ConnectionSettings) -> ApiClient:
        """The seam the unit tests replace."""
        return ApiClient(settings)

    def _populate(self, options: InventoryOptions, tenants: List[TenantRecord]) -> None:
        records = {record.client_id: record for record in tenants}
        entries = {record.client_id: options.entries[record.entry] if record.entry is not None else None
                   for record in tenants}
        # a tenant's host name never replaces the implicit localhost or a group, of this source or an earlier one
        reserved = [options.group, *self.inventory.groups, *(self.get_option("groups") or {})]
        try:
            names, conflicts = assign_hostnames(
                [(client_id, entries[client_id].name if entries[client_id] else None,
                  derived_name(records[client_id].client, options.hostname)) for client_id in records], reserved)
        except ValueError as exc:
            raise InventoryError(str(exc)) from None
        # with host names from the tenants' names, a rename leaves the tenant's pinned host_vars under its old name
        moved: Dict[int, str] = {}
        if options.hostname == "name":
            moved = left_behind(self._host_vars, {i: names[i] for i in names if i not in conflicts},
                                self.loader.find_vars_files, self.loader.load_from_file)
        for warning in conflict_warnings(conflicts, names) + moved_warnings(moved, names):
            self.display.warning(warning)
        self.inventory.add_group(options.group)
        every: Dict[int, Dict[str, Any]] = {}
        for client_id in sorted(records):
            host = names[client_id]
            self.inventory.add_host(host, group=options.group)
            hostvars, warnings = host_variables(records[client_id], entries[client_id], host,
                                                options.export_credentials)
            for warning in warnings:
                self.display.warning(warning)
            explicit = entries[client_id].name if entries[client_id] else None
            hostvars.update(unsafe(identity_variables(explicit, options.hostname, conflicts.get(client_id),
                                                      moved.get(client_id))))
            for key, value in hostvars.items():
                self.inventory.set_variable(host, key, value)
            every[client_id] = hostvars
        # every host is in the inventory before a keyed group is named after a tenant's data (none takes a host's name)
        strict = bool(self.get_option("strict"))
        for client_id in sorted(records):
            host, hostvars = names[client_id], every[client_id]
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            guard = GroupGuard(self.inventory, [options.group, *(self.get_option("groups") or {})])
            inventory, self.inventory = self.inventory, guard
            try:
                self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
            finally:
                self.inventory = inventory
            for name, why in sorted(set(guard.refused)):
                if strict:
                    raise InventoryError(refused_group(host, client_id, name, why))
                self.display.warning("telphin.pbx.tenants: %s (strict: true fails the source instead)"
                                     % refused_group(host, client_id, name, why))
