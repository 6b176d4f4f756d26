# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which tenant the ``phone_bindings`` role's bindings are for: checked by client id before any request.

A tenant is its client id, never a name it can edit. An inventory host named after a tenant's name (the
``telphin.pbx.tenants`` plugin's ``hostname: name``) can become another tenant's host after a rename, a
look-alike name or a new tenant named as a deleted one, and its ``host_vars`` would follow the name. So the
bindings carry the client id they were made for (``phone_bindings_client_id``, which the export writes) and the
role refuses to run a tenant whose client id is another, or whose host name came from its name with no pin.

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.telphin.pbx.plugins.module_utils._resolve import is_id
from ansible_collections.telphin.pbx.plugins.module_utils._words import shown

PIN = "phone_bindings_client_id"
_MISSING = object()
_GUIDE = "see 'What identifies a tenant' in the collection's security model"


def identity_problem(lookup: Callable[[str, Any], Any], host: str) -> Optional[str]:
    """Why the role must not run for tenant ``host``, or None; ``lookup(name, default)`` reads its variables.

    Refused: a host name the inventory plugin refused (shared or reserved); a ``telphin_client_id`` that is not
    the client the inventory plugin gave the host (a ``host_vars`` file that now meets another tenant); a pin that
    is not the client id the run would use; and, on a host named after the tenant's name, bindings (or a prune,
    or a plan) with no pin.
    """
    conflict = lookup("telphin_host_name_conflict", None)
    if isinstance(conflict, Mapping) and conflict:
        return _conflict_message(conflict, host, lookup("telphin_client_id", "?"))
    moved = lookup("telphin_host_name_moved_from", None)
    if moved:
        client_id = _short(lookup("telphin_client_id", "?"))
        return ("tenant %s (client %s): the host_vars of %s next to the inventory source pin client %s, whose host "
                "name is %s now (the tenant's name changed): those bindings are not applied to it. Nothing was "
                "sent. Move them to host_vars/%s, or set hostname: id in the inventory source; %s"
                % (host, client_id, _short(moved), client_id, host, host, _GUIDE))
    rule = lookup("telphin_host_name_from", None)     # set by the telphin.pbx.tenants plugin only
    used = str(lookup("telphin_client_id", "@me") or "@me").strip()
    client = lookup("telphin_client", None) if rule is not None else None
    given = client.get("id") if isinstance(client, Mapping) else None
    if is_id(given) and used != str(given):
        return ("tenant %s: telphin_client_id is %s, but the inventory (telphin.pbx.tenants) gives host %s client %s: "
                "a host_vars file of %s sets telphin_client_id, and the host name now belongs to client %s (a rename, "
                "a look-alike name or a new tenant takes a host name made from a name). Nothing was sent. Move the "
                "files to the host of client %s, or remove telphin_client_id from them if they are client %s's; %s"
                % (host, _short(used), host, given, host, given, _short(used), given, _GUIDE))
    pin = lookup(PIN, None)
    if pin not in (None, ""):
        if not is_id(pin):
            return ("tenant %s: phone_bindings_client_id %s is not a client id: give the number of the client the "
                    "bindings are for" % (host, _short(pin)))
        if is_id(used) and int(used) != int(pin):
            return ("tenant %s: the bindings are pinned to client %s (phone_bindings_client_id), but this host is "
                    "client %s (telphin_client_id). Nothing was sent: the host name now belongs to another tenant "
                    "(a rename, a look-alike name or a new tenant takes a host name made from a name), or the file "
                    "was copied from another tenant. Move the bindings to the host of client %s; %s"
                    % (host, int(pin), int(used), int(pin), _GUIDE))
        return None
    if rule == "name" and _writes(lookup):
        return ("tenant %s (client %s): its host name comes from the tenant's name, which the tenant can edit, and "
                "its phone_bindings carry no phone_bindings_client_id, so they could be another tenant's. Nothing was "
                "sent. Check that they are client %s's and add the line phone_bindings_client_id: %s next to them, or "
                "export them again "
                "(telphin.pbx.export_bindings writes the line), or set hostname: id in the inventory source; %s"
                % (host, _short(used), _short(used), _short(used), _GUIDE))
    return None


def pinned_client_id(options: Mapping[str, Any], lookup: Callable[[str, Any], Any]) -> Optional[str]:
    """The client id of a run whose ``client_id`` is ``@me`` (the app's own tenant) and whose bindings are pinned:
    the pin, so the API itself refuses an app of another tenant; None otherwise."""
    pin = lookup(PIN, None)
    if pin in (None, "") or not is_id(pin) or str(options.get("client_id") or "@me").strip() != "@me":
        return None
    return str(int(pin))


def _writes(lookup: Callable[[str, Any], Any]) -> bool:
    """Whether the run is given anything to write: bindings, a prune or a plan."""
    if lookup("phone_bindings", _MISSING) is not _MISSING:
        return True
    return any(boolean(lookup(name, False), strict=False)
               for name in ("phone_bindings_unbind_unlisted", "phone_bindings_apply_plan"))


def _conflict_message(conflict: Mapping[str, Any], host: str, client_id: Any) -> str:
    name = _short(conflict.get("name"))
    if conflict.get("reserved"):
        why = "the host name its name gives, %s, is one Ansible reserves (the implicit localhost or a group)" % name
    else:
        others = [str(i) for i in conflict.get("clients") or [] if str(i) != str(client_id)]
        why = "its name gives the host name %s, as the name of client %s does (a look-alike, a rename or a new " \
              "tenant), so neither is named %s: either could be given the other's bindings" % (
                  name, " and ".join(others) or "another", name)
    return ("tenant %s (client %s): %s. Nothing was sent. Give the tenants explicit host names (source: list, "
            "tenants[].name) or set hostname: id in the inventory source; %s" % (host, _short(client_id), why, _GUIDE))


def _short(value: Any) -> str:
    """A client id as it is; any other value quoted and escaped (``shown``), cut to 64 characters."""
    return str(value) if is_id(value) else "'%s'" % shown(str(value)[:64])
