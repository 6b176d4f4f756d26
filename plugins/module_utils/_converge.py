# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Converge one phone: read -> compare -> (check mode?) -> PUT the patch -> verify -> outcome.

``converge_phone`` is where a PUT is decided, for ``extension_phone`` and for every item of
``extension_phones``. Nothing here knows about ``AnsibleModule``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping

from ansible_collections.telphin.pbx.plugins.module_utils._api import TelphinApi, phone_path
from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._errors import NotFound, TelphinError
from ansible_collections.telphin.pbx.plugins.module_utils._phone import (
    FIELDS, desired_state, managed_view, masked, merged, plan_patch, secret_values, unapplied_keys)
from ansible_collections.telphin.pbx.plugins.module_utils._resolve import (
    ExtensionIndex, check_client_id, check_extension_name)
from ansible_collections.telphin.pbx.plugins.module_utils._results import PhoneOutcome, single_result

OnSecret = Callable[[str], None]


def read_phone(api: TelphinApi, extension_id: int, on_secret: OnSecret) -> Dict[str, Any]:
    """The phone properties, with every secret value found handed to ``on_secret`` first."""
    phone = api.phone(extension_id)
    for value in secret_values(phone):
        on_secret(value)
    return phone


def converge_phone(api: TelphinApi, outcome: PhoneOutcome, desired: Mapping[str, Any], check_mode: bool,
                   on_secret: OnSecret) -> PhoneOutcome:
    """Make one phone terminal show ``desired`` (normalised values of the managed keys only).

    One GET; a PUT of only the differing keys when something differs (never in check mode); one more
    GET only when the PUT's reply is not the full object.
    """
    ext_id = outcome.extension_id
    current = read_phone(api, ext_id, on_secret)
    patch = plan_patch(current, desired)
    outcome.before = managed_view(current, desired)
    after = current
    if patch and not check_mode:
        reply = api.put_phone(ext_id, patch)
        if reply is None or any(k not in reply for k in patch if not FIELDS[k].write_only):
            reply = read_phone(api, ext_id, on_secret)  # the reply is not the full object: read once to verify
        for value in secret_values(reply):
            on_secret(value)
        wrong = unapplied_keys(patch, reply)
        if wrong:
            raise TelphinError("PUT %s was accepted but the phone still shows %s: the provider ignored the change"
                               % (phone_path(ext_id), ", ".join("%s=%r" % (k, reply.get(k)) for k in wrong)))
        after = reply
    elif patch:
        after = merged(current, patch)
    outcome.changed = bool(patch)
    outcome.status = "changed" if patch else "unchanged"
    outcome.after = managed_view(after, desired, written=patch)
    outcome.phone = masked(after)
    return outcome


def find_target(api: TelphinApi, params: Mapping[str, Any]) -> PhoneOutcome:
    """The extension that ``extension_id`` or ``extension_name`` (in ``client_id``) names, as a fresh outcome.

    By id: no request. By name: the tenant's extension list, read once.
    """
    if params.get("extension_id") is not None:
        return PhoneOutcome(int(params["extension_id"]))
    name = check_extension_name(params.get("extension_name"))
    client_id = check_client_id(params.get("client_id"))
    item = ExtensionIndex(api.extensions(client_id), client_id).find_phone(name)
    return PhoneOutcome(int(item["id"]), str(item.get("name")))


def not_found(outcome: PhoneOutcome, exc: NotFound) -> NotFound:
    """A 404 of the phone endpoint, naming the extension."""
    return NotFound("extension %s: %s" % (outcome.label, exc), "", http_status=exc.http_status,
                    api_status=exc.api_status)


def run_extension_phone(client: ApiClient, params: Mapping[str, Any], check_mode: bool,
                        on_secret: OnSecret) -> Dict[str, Any]:
    """``telphin.pbx.extension_phone``: one extension, one GET, a PUT only when something differs."""
    desired = desired_state(params, params.get("update_password") or "always")
    if params.get("extension_name") is not None:
        check_extension_name(params["extension_name"])
    check_client_id(params.get("client_id"))
    api = TelphinApi(client)
    outcome = find_target(api, params)
    try:
        converge_phone(api, outcome, desired, check_mode, on_secret)
    except NotFound as exc:
        raise not_found(outcome, exc) from None
    return single_result(outcome)
