# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The host variables of a tenant: every string marked unsafe (never templated), exported credentials.

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.telphin.pbx.plugins.module_utils._words import shown
from ansible_collections.telphin.pbx.plugins.plugin_utils._records import Entry, TenantRecord
from ansible_collections.telphin.pbx.plugins.plugin_utils._vault import is_vaulted


def host_variables(record: TenantRecord, entry: Optional[Entry], host: str,
                   export_credentials: bool) -> Tuple[Dict[str, Any], List[str]]:
    """The tenant's host variables, and a warning for each plain-text secret exported."""
    hostvars: Dict[str, Any] = {
        "telphin_client_id": str(record.client_id),
        "telphin_client": record.client,
        "telphin_api_url": record.api_url,
    }
    if record.token_url:
        hostvars["telphin_token_url"] = record.token_url
    if record.extensions is not None:
        hostvars["telphin_extensions"] = record.extensions
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
