# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Group names the inventory plugin's ``keyed_groups`` make from server values: never a host's or a reserved one.

A keyed group is named after a value a tenant can edit (its time zone, its name). Ansible matches a pattern to a
group before a host of that name, so a group named ``localhost`` or after another tenant's host would take that
name's plays; ``all`` and ``ungrouped`` are Ansible's own. And ``ansible-inventory --list`` (what AWX stores and
gives back to jobs) writes each group name as a key of its JSON, where ``_meta``, ``__ansible_vault`` and
``__ansible_unsafe`` have meanings of their own. So every keyed group name starts with the dealer's prefix (which
starts with a letter), and a name that a host holds or that is reserved is never made: checked by comparing names,
whatever a tenant typed.

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.telphin.pbx.plugins.module_utils._words import shown
from ansible_collections.telphin.pbx.plugins.plugin_utils._hostnames import RESERVED, is_group_name
from ansible_collections.telphin.pbx.plugins.plugin_utils._options import InventoryError

_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_REFUSED = object()     # what add_group gives for a refused name: adding to it adds nothing


def check_constructed(keyed_groups: Any, groups: Any, group: str) -> None:
    """The dealer's ``keyed_groups`` and ``groups``, before any request: each keyed group has a ``prefix`` that
    starts with a letter and a ``parent_group`` (if any) that is a plain group name, never a template; no name of
    ``groups`` is one Ansible reserves or the plugin's ``group``."""
    for number, keyed in enumerate(keyed_groups if isinstance(keyed_groups, list) else [], 1):
        if not isinstance(keyed, Mapping):
            continue
        prefix = keyed.get("prefix")
        if not isinstance(prefix, str) or _PREFIX.fullmatch(prefix) is None:
            raise InventoryError(
                "keyed_groups[%d] needs a prefix that starts with a letter (letters, digits and _), such as tz: the "
                "group names are made from the tenants' data, which must never make a name of its own (localhost, "
                "all, _meta, __ansible_vault)" % number)
        parent = keyed.get("parent_group")
        if parent is not None and not (isinstance(parent, str) and is_group_name(parent)):
            raise InventoryError("keyed_groups[%d]: parent_group must be a group name (letters, digits and _), not "
                                 "a template: a parent named after the tenants' data could be any name" % number)
    for name in groups if isinstance(groups, Mapping) else {}:
        if name in RESERVED or name == group:
            raise InventoryError("groups: %s is a name Ansible reserves (the implicit localhost or a built-in group) "
                                 "or the plugin's group; choose another" % shown(str(name)))


class GroupGuard:
    """The inventory as ``Constructable._add_host_to_keyed_groups`` sees it (ansible-core 2.16 to 2.21 call only
    ``add_group``, ``add_host``, ``add_child`` and ``get_host`` on it): a group name that a host holds, that Ansible
    reserves or that is in ``reserved`` (the plugin's own groups) is not made and nothing is added to it; it is
    recorded in ``refused`` as ``(name, why)``."""

    def __init__(self, inventory: Any, reserved: Iterable[str]) -> None:
        self._inventory = inventory
        self._reserved = frozenset(reserved)
        self.refused: List[Tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inventory, name)

    def why(self, group: str) -> Optional[str]:
        """Why ``group`` may not be made from a tenant's data, or None."""
        if group in RESERVED:
            return "a name Ansible reserves (the implicit localhost or a built-in group)"
        if group in self._reserved:
            return "a group of the inventory source's own (group, groups)"
        if group in self._inventory.hosts:
            return "the name of a host"
        return None

    def add_group(self, group: str) -> Any:
        why = self.why(group)
        if why is not None:
            self.refused.append((str(group), why))
            return _REFUSED
        return self._inventory.add_group(group)

    def add_host(self, host: str, group: Any = None, port: Any = None) -> Any:
        if group is _REFUSED:
            return host
        return self._inventory.add_host(host, group, port)

    def add_child(self, group: Any, child: Any) -> Any:
        if group is _REFUSED or child is _REFUSED:
            return False
        return self._inventory.add_child(group, child)


def refused_group(host: str, client_id: int, name: str, why: str) -> str:
    """What a refused keyed group name is, for a warning or (``strict``) the source's failure."""
    return ("keyed_groups make the group name %s for client %d (host %s) from its data, and that is %s: the group is "
            "not made and the host is not put in it" % (shown(name), client_id, host, why))
