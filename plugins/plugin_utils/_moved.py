# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Bindings left behind by a rename: ``host_vars/<old name>`` next to the inventory source, pinned to a tenant whose
host name (made from its name, which it can edit) is another one now.

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Mapping

from ansible_collections.telphin.pbx.plugins.module_utils._resolve import is_id

PIN = "phone_bindings_client_id"
_EXTENSIONS = (".yml", ".yaml", ".json")


def left_behind(directory: str, names: Mapping[int, str], find: Callable[[str, str], List[str]],
                load: Callable[[str], Any]) -> Dict[int, str]:
    """Client id -> the ``host_vars`` entry of ``directory`` that pins that client but is not its host name now.

    ``names``: host name by client id (this source's tenants); ``find(directory, name)`` lists the files of entry
    ``name`` as Ansible's ``host_group_vars`` does (``DataLoader.find_vars_files``), ``load(path)`` reads one.
    An entry that is a host of ``names``, or pins no client of them, is not looked at further; a file that cannot
    be read is skipped (Ansible reports it when it loads the host's variables).
    """
    try:
        listing = sorted(os.listdir(directory))
    except OSError:
        return {}
    hosts = set(names.values())
    by_id = {str(client_id): client_id for client_id in names}
    found: Dict[int, str] = {}
    for entry in listing:
        stem, ext = os.path.splitext(entry)
        name = stem if ext in _EXTENSIONS else entry
        if name.startswith(".") or name in hosts:
            continue
        for path in find(directory, name):
            try:
                data = load(path)
            except Exception:  # pylint: disable=broad-exception-caught
                continue
            pin = data.get(PIN) if isinstance(data, Mapping) else None
            if is_id(pin) and str(int(pin)) in by_id:
                found.setdefault(by_id[str(int(pin))], name)
    return found
