# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Inventory host and group names of tenants: transliterated slugs, deterministic collision handling.

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, List, Mapping, Optional, Tuple

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
