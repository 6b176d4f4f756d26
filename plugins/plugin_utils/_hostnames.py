# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Inventory host and group names of tenants: transliterated slugs; shared and reserved names refused.

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.telphin.pbx.plugins.module_utils._words import shown

_HOST_NAME = re.compile(r"[\w.-]+")
_GROUP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Russian / Ukrainian / Belarusian Cyrillic to Latin (ICAO Doc 9303, as in Russian passports), and the one Latin
# letter that Unicode decomposition does not reduce to ASCII.
_TRANSLIT = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґў",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s", "t", "u", "f",
     "kh", "ts", "ch", "sh", "shch", "ie", "y", "", "e", "iu", "ia", "i", "i", "ie", "g", "u"]), **{"ß": "ss"})


def is_host_name(text: str) -> bool:
    """Letters, digits, ``_``, ``.`` and ``-`` only (the whole text: no trailing newline)."""
    return _HOST_NAME.fullmatch(text) is not None


def is_group_name(text: str) -> bool:
    return _GROUP_NAME.fullmatch(text) is not None


def slugify(text: str) -> str:
    """Lower-case ASCII letters, digits and single ``_``; Cyrillic transliterated, accents dropped."""
    lowered = "".join(_TRANSLIT.get(ch, ch) for ch in str(text).lower())
    ascii_text = unicodedata.normalize("NFKD", lowered).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")


def derived_name(client: Mapping[str, Any], rule: str) -> str:
    """The host name of a client without an explicit one: its id (``rule`` ``id``) or the slug of its name."""
    if rule == "id":
        return str(client["id"])
    return slugify(str(client.get("name") or "")) or "client_%s" % client["id"]


# Host names Ansible gives a meaning of its own (ansible-core 2.16 to 2.21): the implicit localhost
# (constants.LOCALHOST) and the built-in groups, which a pattern matches before any host of that name.
RESERVED = ("localhost", "127.0.0.1", "::1", "all", "ungrouped")


def assign_hostnames(tenants: List[Tuple[int, Optional[str], str]], reserved: Iterable[str] = ()
                     ) -> Tuple[Dict[int, str], Dict[int, Dict[str, Any]]]:
    """Host names by client id, and the tenants refused a derived name, from ``(client id, explicit name or None,
    derived name)`` triples; ``reserved``: more names no tenant may take (group names), besides ``RESERVED``.

    Explicit names (the inventory's own) must be unique and not reserved: ``ValueError`` otherwise. A derived name
    that two tenants share (a look-alike, a rename, a new tenant named as a deleted one), that an explicit name
    holds or that is reserved goes to none of them: each such tenant is host ``<name>_<id>`` (then ``_2``, ...) and
    is listed in the second mapping as ``{"name": derived name, "clients": the client ids that share it,
    "reserved": bool}``, for the role to refuse. Whatever the order or the number of tenants, no tenant ever gets
    a name another one's name gave.
    """
    blocked = set(RESERVED) | set(reserved)
    names: Dict[int, str] = {}
    owner: Dict[str, int] = {}
    for client_id, explicit, _derived in tenants:
        if explicit is None:
            continue
        if explicit in owner:
            raise ValueError("host name %s is given to clients %d and %d" % (explicit, owner[explicit], client_id))
        if explicit in blocked:
            raise ValueError("host name %s (client %d) is reserved: Ansible gives it a meaning of its own (the "
                             "implicit localhost, or a group); choose another" % (explicit, client_id))
        owner[explicit] = client_id
        names[client_id] = explicit
    sharing: Dict[str, List[int]] = {}
    for client_id, explicit, derived in tenants:
        if explicit is None:
            sharing.setdefault(derived, []).append(client_id)
    conflicts: Dict[int, Dict[str, Any]] = {}
    taken = set(owner) | blocked
    for name in sorted(sharing):
        ids = sorted(sharing[name])
        if len(ids) == 1 and name not in taken:
            taken.add(name)
            names[ids[0]] = name
            continue
        clients = sorted(ids + ([owner[name]] if name in owner else []))
        for client_id in ids:
            conflicts[client_id] = {"name": name, "clients": clients, "reserved": name in blocked}
    for client_id in sorted(conflicts):
        base = "%s_%d" % (conflicts[client_id]["name"], client_id)
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = "%s_%d" % (base, n)
        taken.add(candidate)
        names[client_id] = candidate
    return names, conflicts


def identity_variables(explicit: Optional[str], rule: str, conflict: Optional[Mapping[str, Any]],
                       moved_from: Optional[str] = None) -> Dict[str, Any]:
    """The host variables that say where the host name came from, for the ``phone_bindings`` role's checks:
    ``telphin_host_name_from`` (``inventory``: the inventory's ``tenants[].name``; ``id``; ``name``: the tenant's
    name, which the tenant can edit); for a refused derived name ``telphin_host_name_conflict``; and
    ``telphin_host_name_moved_from``, the ``host_vars`` entry pinned to the tenant under another (its old) name."""
    variables: Dict[str, Any] = {"telphin_host_name_from": "inventory" if explicit else rule}
    if conflict:
        variables["telphin_host_name_conflict"] = dict(conflict)
    if moved_from:
        variables["telphin_host_name_moved_from"] = moved_from
    return variables


def moved_warnings(moved: Mapping[int, str], names: Mapping[int, str]) -> List[str]:
    """One warning per tenant whose pinned ``host_vars`` sit under another host name."""
    return ["telphin.pbx.tenants: host_vars/%s next to this source pin client %d, whose host name is %s now (its name "
            "changed): they are not applied, and the phone_bindings role refuses to run %s until they are moved to "
            "host_vars/%s (or set hostname: id)" % (shown(moved[i]), i, names[i], names[i], names[i])
            for i in sorted(moved)]


def conflict_warnings(conflicts: Mapping[int, Mapping[str, Any]], names: Mapping[int, str]) -> List[str]:
    """One warning per refused derived name, naming every tenant it concerns and its host name."""
    groups: Dict[str, List[int]] = {}
    for client_id, conflict in conflicts.items():
        groups.setdefault(conflict["name"], []).append(client_id)
    warnings = []
    for name in sorted(groups):
        conflict = conflicts[groups[name][0]]
        hosts = ", ".join("client %d as %s" % (i, names[i]) for i in sorted(groups[name]))
        if conflict["reserved"]:
            why = "a name Ansible reserves (the implicit localhost or a group)"
        else:
            why = "the host name of clients %s alike" % " and ".join(str(i) for i in conflict["clients"])
        warnings.append("telphin.pbx.tenants: the host name %s is %s, so no tenant gets it: %s; the phone_bindings "
                        "role refuses to run them. Give each an explicit host name (source: list, tenants[].name) "
                        "or set hostname: id" % (name, why, hosts))
    return warnings
