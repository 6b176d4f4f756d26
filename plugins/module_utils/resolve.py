# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tenants and extensions: input checks, the paged extension list (read once), name <-> id lookup."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Union

from ansible_collections.telphin.pbx.plugins.module_utils.client import ApiClient, ProtocolError

PER_PAGE = 500  # the largest page the API is assumed to honour (the emulator's guess); fewer rows = last page
_CLIENT_ID = re.compile(r"^(@me|[0-9]{1,12})$")
_EXT_NAME = re.compile(r"^(?:([0-9A-Za-z_-]{1,16})\*)?([0-9A-Za-z_-]{1,32})$")


class LookupFailed(ValueError):
    """An extension reference that does not name exactly one suitable extension."""


def check_client_id(value: Any) -> str:
    text = str(value).strip()
    if not _CLIENT_ID.match(text):
        raise LookupFailed("client_id %r is not a client id: give a number or @me" % (value,))
    return text


def check_extension_name(value: Any) -> str:
    """A short (``100``) or full (``000*100``) extension name; anything path-like is refused."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if not text or not _EXT_NAME.match(text):
        raise LookupFailed("extension %r is not an extension name: give a short name such as 100 or a full "
                           "name such as 000*100" % (value,))
    return text


def short_name(name: str) -> str:
    return name.rsplit("*", 1)[-1]


def list_extensions(client: ApiClient, client_id: str, ext_type: Optional[str] = None) -> List[Dict[str, Any]]:
    """Every extension of a tenant, reading each page once."""
    items: List[Dict[str, Any]] = []
    seen = set()
    page = 1
    while True:
        params: Dict[str, Any] = {"page": page, "per_page": PER_PAGE}
        if ext_type:
            params["type"] = ext_type
        batch = client.get("/client/%s/extension/" % client_id, params)
        if not isinstance(batch, list) or not all(isinstance(i, dict) and "id" in i for i in batch):
            raise ProtocolError("GET /client/%s/extension/ page %d: expected a JSON array of extensions"
                                % (client_id, page))
        fresh = [i for i in batch if i["id"] not in seen]
        if batch and not fresh:
            raise ProtocolError("GET /client/%s/extension/ page %d repeats earlier pages: the server ignores paging"
                                % (client_id, page))
        seen.update(i["id"] for i in fresh)
        items.extend(fresh)  # an extension created while paging may shift one onto the next page
        if len(batch) < PER_PAGE:
            return items
        page += 1


class ExtensionIndex:
    """Finds extensions of one tenant by id, full name or short name."""

    def __init__(self, items: List[Dict[str, Any]]) -> None:
        self.items = items
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
                raise LookupFailed("extension_id %s is not an extension of this client" % ref)
            return item
        matches = self.by_name.get(str(ref), [])
        if not matches:
            raise LookupFailed("extension %s does not exist in this client" % ref)
        if len(matches) > 1:
            raise LookupFailed("extension %s is ambiguous: it matches %s; give the full name"
                               % (ref, ", ".join(sorted(str(m.get("name")) for m in matches))))
        return matches[0]

    def find_phone(self, ref: Union[str, int], by_id: bool = False) -> Dict[str, Any]:
        item = self.find(ref, by_id)
        if item.get("type") != "phone":
            raise LookupFailed("extension %s is a %s extension, not a phone: it has no phone terminal"
                               % (item.get("name", ref), item.get("type") or "non-phone"))
        return item
