# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read-only flows: ``extension_info`` and ``extension_phone_info``. They never plan or write."""

from __future__ import annotations

from typing import Any, Dict, Mapping

from ansible_collections.telphin.pbx.plugins.module_utils._api import TelphinApi
from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._converge import (
    OnSecret, find_target, not_found, read_phone)
from ansible_collections.telphin.pbx.plugins.module_utils._errors import NotFound
from ansible_collections.telphin.pbx.plugins.module_utils._phone import masked
from ansible_collections.telphin.pbx.plugins.module_utils._resolve import (
    ExtensionIndex, check_client_id, check_extension_name, short_name)
from ansible_collections.telphin.pbx.plugins.module_utils._results import (
    PhoneOutcome, phone_read_result, phones_read_result)
from ansible_collections.telphin.pbx.plugins.module_utils._workers import Target, check_parallel, for_each


def run_extension_phone_info(client: ApiClient, params: Mapping[str, Any], on_secret: OnSecret) -> Dict[str, Any]:
    """``telphin.pbx.extension_phone_info``: the phone properties of one extension, or of every phone
    extension of the tenant (the list once, then one GET each), secrets masked."""
    if params.get("extension_name") is not None:
        check_extension_name(params["extension_name"])
    client_id = check_client_id(params.get("client_id"))
    api = TelphinApi(client)
    if params.get("extension_id") is not None or params.get("extension_name") is not None:
        outcome = find_target(api, params)
        try:
            outcome.phone = masked(read_phone(api, outcome.extension_id, on_secret))
        except NotFound as exc:
            raise not_found(outcome, exc) from None
        return phone_read_result(outcome)
    parallel = check_parallel(params.get("parallel"))
    targets = [Target(PhoneOutcome(int(i["id"]), str(i.get("name"))), {})
               for i in api.extensions(client_id) if i.get("type") == "phone"]

    def read(target: Target) -> None:
        target.outcome.phone = masked(read_phone(api, target.outcome.extension_id, on_secret))

    for_each(targets, read, parallel)
    return phones_read_result([t.outcome for t in targets])


def run_extension_info(client: ApiClient, params: Mapping[str, Any]) -> Dict[str, Any]:
    """``telphin.pbx.extension_info``: a tenant's extensions, every page read once, filtered locally."""
    client_id = check_client_id(params.get("client_id"))
    name = check_extension_name(params["name"]) if params.get("name") is not None else None
    items = TelphinApi(client).extensions(client_id, params.get("type"))
    if name is not None:
        items = ExtensionIndex(items).by_name.get(name, [])
    if params.get("extension_id") is not None:
        items = [i for i in items if int(i["id"]) == int(params["extension_id"])]
    extensions = [dict(i, short_name=short_name(str(i.get("name") or ""))) for i in items]
    return {"changed": False, "extensions": extensions}
