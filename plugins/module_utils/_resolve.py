# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Input checks of tenant and extension references, and name <-> id lookup in a tenant's extension list."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Union

from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError
from ansible_collections.telphin.pbx.plugins.module_utils._words import shown

DEFAULT_CLIENT_ID = "@me"   # the tenant of the app's user
_CLIENT_ID = re.compile(r"^(@me|[0-9]{1,12})$")
_EXT_NAME = re.compile(r"^(?:([0-9A-Za-z_-]{1,16})\*)?([0-9A-Za-z_-]{1,32})$")
_ID = re.compile(r"[0-9]+")        # ASCII digits only: str.isdigit() also takes "²", a "$" anchor takes "12\n"


def is_id(value: Any) -> bool:
    """An id as a path may carry it: an integer (not a bool) or a string of ASCII digits."""
    return isinstance(value, (int, str)) and not isinstance(value, bool) and _ID.fullmatch(str(value)) is not None


def check_client_id(value: Any, option: str = "client_id") -> str:
    """A tenant id or ``@me``; unset (None or "") is ``DEFAULT_CLIENT_ID``."""
    text = str(DEFAULT_CLIENT_ID if value in (None, "") else value).strip()
    if not _CLIENT_ID.match(text):
        raise InputError("%s %r is not a client id: give a number or @me" % (option, value))
    return text


def check_extension_name(value: Any) -> str:
    """A short (``100``) or full (``000*100``) extension name; anything path-like is refused, and so is an
    integer: YAML reads ``extension: 0101`` as the octal number 65, and nothing tells it from ``65``."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise InputError("extension %s is an integer, not a string: quote the name in YAML (for example extension: "
                         "\"0101\"), or YAML may change it (a leading 0 makes an octal number: 0101 is read as 65)"
                         % value)
    text = value.strip() if isinstance(value, str) else None
    if not text or not _EXT_NAME.match(text):
        raise InputError("extension %r is not an extension name: give a short name such as 100 or a full "
                         "name such as 000*100" % (value,))
    return text


def is_extension_name(text: str) -> bool:
    """Whether ``text`` has the form of a short (``100``) or full (``000*100``) extension name."""
    return _EXT_NAME.match(text) is not None


def short_name(name: str) -> str:
    return name.rsplit("*", 1)[-1]


def same_extension_name(a: str, b: str) -> bool:
    """Whether two checked names (``check_extension_name``) name one extension as far as the names tell: the same
    name, or a short name and a full name that ends in it (within one tenant, the same extension or an ambiguous
    short name). Two full names with other prefixes are other extensions."""
    return a == b or (("*" in a) != ("*" in b) and short_name(a) == short_name(b))


class ExtensionIndex:
    """Finds extensions of one tenant by id, full name or short name.

    With ``client_id`` given, lookup errors name the tenant.
    """

    def __init__(self, items: List[Dict[str, Any]], client_id: Optional[str] = None) -> None:
        self.items = items
        self.where = " (client_id %s)" % client_id if client_id else ""
        self.by_id: Dict[int, Dict[str, Any]] = {}
        self.by_name: Dict[str, List[Dict[str, Any]]] = {}
        for item in items:
            self.by_id[int(item["id"])] = item
            name = str(item.get("name") or "")
            for key in sorted({name, short_name(name)}):
                self.by_name.setdefault(key, []).append(item)

    def find(self, ref: Union[str, int], by_id: bool = False) -> Dict[str, Any]:
        if by_id:
            item = self.by_id.get(int(ref))
            if item is None:
                raise InputError("extension_id %s is not an extension of this client%s" % (ref, self.where))
            return item
        matches = self.by_name.get(str(ref), [])
        if not matches:
            raise InputError("extension %s does not exist in this client%s" % (ref, self.where))
        if len(matches) > 1:
            raise InputError("extension %s is ambiguous: it matches %s; give the full name%s"
                             % (ref, ", ".join(sorted(shown(m.get("name")) for m in matches)), self.where))
        return matches[0]

    def find_phone(self, ref: Union[str, int], by_id: bool = False) -> Dict[str, Any]:
        item = self.find(ref, by_id)
        if item.get("type") != "phone":
            raise InputError("extension %s is a %s extension, not a phone: it has no phone terminal%s"
                             % (shown(item.get("name", ref)), shown(item.get("type") or "non-phone"), self.where))
        return item
