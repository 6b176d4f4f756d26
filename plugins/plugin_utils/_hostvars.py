# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The host variables of a tenant: server objects under keys the collection names, every string marked unsafe
(never templated), exported credentials.

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

from typing import AbstractSet, Any, Dict, List, Mapping, Optional, Tuple

from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.telphin.pbx.plugins.module_utils._words import shown
from ansible_collections.telphin.pbx.plugins.plugin_utils._records import Entry, TenantRecord
from ansible_collections.telphin.pbx.plugins.plugin_utils._vault import is_vaulted


# The fields of the API's objects that the host variables hold under their own names (docs/api.md, "Objects in
# the inventory"); every other field of a server object is an item {key, value} of its ``other_fields``.
CLIENT_FIELDS = frozenset((
    "id", "name", "prefix", "domain", "domain_prefix", "extension_len", "timezone", "create_date", "email",
    "dial_rule_id", "geo_list", "dealer_id"))
EXTENSION_FIELDS = frozenset((
    "id", "name", "type", "status", "label", "client_id", "extension_group_id", "domain", "create_date",
    "caller_id_name", "ani_rfc3325", "did_as_transfer_caller_id", "dial_rule_id", "dial_rule_limit", "message_did",
    "extra_params", "short_name"))
OTHER_FIELDS = "other_fields"


def host_variables(record: TenantRecord, entry: Optional[Entry], host: str,
                   export_credentials: bool) -> Tuple[Dict[str, Any], List[str]]:
    """The tenant's host variables, and a warning for each plain-text secret exported."""
    hostvars: Dict[str, Any] = {
        "telphin_client_id": str(record.client_id),
        "telphin_client": exposed(record.client, CLIENT_FIELDS),
        "telphin_api_url": record.api_url,
    }
    if record.token_url:
        hostvars["telphin_token_url"] = record.token_url
    if record.extensions is not None:
        hostvars["telphin_extensions"] = [exposed(item, EXTENSION_FIELDS) for item in record.extensions]
    warnings = []
    if export_credentials and entry is not None:
        for key, value in entry.credentials().items():
            hostvars["telphin_" + key] = value
            if key != "app_id" and not is_vaulted(value):
                warnings.append(
                    "telphin.pbx.tenants: %s: %s is plain text in the inventory source and is exported as the host "
                    "variable telphin_%s of %s, which ansible-inventory --list shows; encrypt it with "
                    "ansible-vault encrypt_string" % (shown(entry.where), key, key, shown(host)))
    return {key: unsafe(value) for key, value in hostvars.items()}, warnings


def exposed(value: Any, fields: AbstractSet[str] = frozenset()) -> Any:
    """A server value whose mappings have only keys the collection names: each of ``fields`` (the documented fields
    of a top-level object; none for a nested one) under its name, and ``other_fields``: every other field as an item
    ``{"key": ..., "value": ...}`` (by key), whatever the key holds; lists item by item.

    ``ansible-inventory --list``, which AWX stores and gives back to jobs, writes a key as a JSON key, and
    ansible-core's JSON decoders give an object holding ``__ansible_vault`` or ``__ansible_unsafe`` (2.19+ also
    ``__ansible_type``) a meaning of its own: no key a server sends becomes one. ``items2dict`` gives the object back.
    """
    if isinstance(value, Mapping):
        named = {key: exposed(value[key]) for key in sorted(fields) if key in value}
        named[OTHER_FIELDS] = [{"key": key, "value": exposed(value[key])}
                               for key in sorted(value, key=str) if key not in fields]
        return named
    if isinstance(value, (list, tuple)):
        return [exposed(item) for item in value]
    return value


def unsafe(value: Any) -> Any:
    """``value`` with every string in it, mapping keys included, marked as data that is never templated.

    ``wrap_var`` does it on every supported core: before 2.19 it wraps each string as ``AnsibleUnsafeText``; from
    2.19 on it removes any ``TrustedAsTemplate`` tag (strings an inventory plugin sets are untrusted already). No
    string is judged by its content: a template need not hold ``{`` (a ``#jinja2:`` header can change the
    delimiters). ``ansible-inventory --list`` (what AWX's inventory sync stores) prints each string as
    ``{"__ansible_unsafe": ...}``; AWX keeps that mapping and gives it back to jobs, which read it as unsafe again.
    Vault-encrypted values are left as they are (never templated, decrypted when used).
    """
    if is_vaulted(value):
        return value
    if isinstance(value, Mapping):
        return dict((wrap_var(key), unsafe(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [unsafe(item) for item in value]
    return wrap_var(value)
