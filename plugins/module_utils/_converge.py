# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Converge one phone: read -> compare -> (check mode?) -> PUT the patch -> verify -> outcome.

``converge_phone`` is where a PUT is decided, for ``extension_phone`` and for every item of
``extension_phones``; ``put_decided`` is where its outcome is decided when the reply is an error.
Nothing here knows about ``AnsibleModule``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

from ansible_collections.telphin.pbx.plugins.module_utils._api import TelphinApi, phone_path
from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._errors import (
    NotFound, ProtocolError, TelphinError, TransientError)
from ansible_collections.telphin.pbx.plugins.module_utils._numbers import (
    DEFAULT_REGION, accept_hint, check_region, require_phonenumbers)
from ansible_collections.telphin.pbx.plugins.module_utils._phone import (
    FIELDS, MASK, desired_state, managed_view, masked, merged, plan_patch, secret_values, unapplied_keys)
from ansible_collections.telphin.pbx.plugins.module_utils._resolve import (
    DEFAULT_CLIENT_ID, ExtensionIndex, check_client_id, check_extension_name)
from ansible_collections.telphin.pbx.plugins.module_utils._results import PhoneOutcome, single_result
from ansible_collections.telphin.pbx.plugins.module_utils._workers import Target

OnSecret = Callable[[str], None]
Tick = Callable[[], int]


def no_tick() -> int:
    return 0


def read_phone(api: TelphinApi, extension_id: int, on_secret: OnSecret) -> Dict[str, Any]:
    """The phone properties, with every secret value found handed to ``on_secret`` first."""
    phone = api.phone(extension_id)
    for value in secret_values(phone):
        on_secret(value)
    return phone


def read_into(api: TelphinApi, target: Target, on_secret: OnSecret, tick: Tick) -> None:
    """Read a phone for a run that reads every phone before it writes."""
    target.outcome.read_at = tick()
    target.current = read_phone(api, target.outcome.extension_id, on_secret)


def converge_phone(api: TelphinApi, outcome: PhoneOutcome, desired: Mapping[str, Any], check_mode: bool,
                   on_secret: OnSecret, tick: Tick = no_tick, current: Optional[Dict[str, Any]] = None,
                   region: str = DEFAULT_REGION) -> PhoneOutcome:
    """Make one phone terminal show ``desired`` (normalised values of the managed keys only; numbers of
    ``region``).

    One GET (none when ``current`` was read already, by a run that reads before it writes); a PUT of only
    the differing keys when something differs (never in check mode); one more GET only when the PUT's
    reply is not the full object or is an error (see ``put_decided``). ``tick`` stamps when the phone was
    read and when the write was applied (the bulk run's bundle read-back).
    """
    ext_id = outcome.extension_id
    if current is None:
        outcome.read_at = tick()
        current = read_phone(api, ext_id, on_secret)
    patch = plan_patch(current, desired, region)
    outcome.before = managed_view(current, desired, region=region)
    after = current
    if patch and not check_mode:
        after = put_decided(api, outcome, patch, desired, on_secret, region)
        outcome.written, outcome.written_at = patch, tick()
    elif patch:
        after = merged(current, patch)
    outcome.changed = bool(patch)
    outcome.status = "changed" if patch else "unchanged"
    outcome.after = managed_view(after, desired, written=patch, region=region)
    outcome.phone = masked(after)
    return outcome


def put_may_have_applied(error: TelphinError) -> bool:
    """Whether a PUT that ended in ``error`` may have gone through all the same: its reply was lost, cut short
    or not the API's JSON, retries ran out after an attempt was sent, or the server failed (5xx) after acting.
    A refusal (4xx, quota, credentials, TLS) means it did not."""
    return isinstance(error, (TransientError, ProtocolError)) or (error.http_status or 0) >= 500


def put_decided(api: TelphinApi, outcome: PhoneOutcome, patch: Mapping[str, Any], desired: Mapping[str, Any],
                on_secret: OnSecret, region: str = DEFAULT_REGION) -> Dict[str, Any]:
    """PUT ``patch`` and return the phone as the API then holds it: the one place a write's outcome is decided.

    After an error that may follow an applied PUT, the phone is read once: showing every readable key of the
    patch, the write is done. Not applied: after an HTTP 500 the PUT is repeated once (it carries absolute
    values, so a repeat is harmless) and decided the same way; otherwise, or after the repeat, the error is
    raised and ``outcome.after`` shows what the API holds. The error also stands when the read fails or the
    patch has nothing readable to check (a password alone).
    """
    ext_id = outcome.extension_id
    for attempt in (1, 2):
        try:
            reply = api.put_phone(ext_id, patch)
        except TelphinError as exc:
            if not put_may_have_applied(exc) or all(FIELDS[k].write_only for k in patch):
                raise
            try:
                held = read_phone(api, ext_id, on_secret)
            except TelphinError:
                raise exc from None         # not known whether it was applied: the PUT's error stands
            if not unapplied_keys(patch, held, region):
                return held
            outcome.after = managed_view(held, desired, region=region)
            if attempt == 1 and exc.http_status == 500:
                continue
            raise type(exc)("%s; read after it, the phone shows %s" % (exc.message, _shown(held, patch)),
                            exc.hint, http_status=exc.http_status, api_status=exc.api_status) from None
        if reply is None or any(k not in reply for k in patch if not FIELDS[k].write_only):
            reply = read_phone(api, ext_id, on_secret)  # the reply is not the full object: read once to verify
        for value in secret_values(reply):
            on_secret(value)
        wrong = unapplied_keys(patch, reply, region)
        if wrong:
            raise TelphinError("PUT %s was accepted but the phone still shows %s: the provider ignored the change"
                               % (phone_path(ext_id), _shown(reply, wrong)))
        return reply
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _shown(phone: Mapping[str, Any], keys: Iterable[str]) -> str:
    """``key=value`` of the readable ``keys`` (write-only ones are never shown, secret values masked)."""
    return ", ".join("%s=%r" % (k, MASK if FIELDS[k].secret and phone.get(k) not in (None, "") else phone.get(k))
                     for k in keys if not FIELDS[k].write_only) or "no readable key"


def find_target(api: TelphinApi, params: Mapping[str, Any]) -> PhoneOutcome:
    """The extension that ``extension_id`` or ``extension_name`` (in ``client_id``) names, as a fresh outcome.

    By id with the default client: no request; the API only lets the app reach its own tenants. By id with
    another ``client_id``, or by name: the tenant's extension list, read once (a dealer's app reaches every
    client of the dealer, so an id must be checked against the client the user named).
    """
    client_id = check_client_id(params.get("client_id"))
    if params.get("extension_id") is not None:
        if client_id == DEFAULT_CLIENT_ID:
            return PhoneOutcome(int(params["extension_id"]))
        item = ExtensionIndex(api.extensions(client_id), client_id).find_phone(int(params["extension_id"]), by_id=True)
        return PhoneOutcome(int(item["id"]), str(item.get("name")))
    name = check_extension_name(params.get("extension_name"))
    item = ExtensionIndex(api.extensions(client_id), client_id).find_phone(name)
    return PhoneOutcome(int(item["id"]), str(item.get("name")))


def not_found(outcome: PhoneOutcome, exc: NotFound) -> NotFound:
    """A 404 of the phone endpoint, naming the extension."""
    return NotFound("extension %s: %s" % (outcome.label, exc), "", http_status=exc.http_status,
                    api_status=exc.api_status)


def number_region(params: Mapping[str, Any], items: List[Any], option: str = "default_region") -> str:
    """``default_region``, checked; phonenumbers is required (one line if missing) once an item sets a number."""
    if any(isinstance(i, Mapping) and str(i.get("external_number") or "").strip() for i in items):
        require_phonenumbers()
    return check_region(params.get("default_region") or DEFAULT_REGION, option)


def run_extension_phone(client: ApiClient, params: Mapping[str, Any], check_mode: bool,
                        on_secret: OnSecret, warn: Callable[[str], None] = lambda msg: None) -> Dict[str, Any]:
    """``telphin.pbx.extension_phone``: one extension, one GET, a PUT only when something differs."""
    region = number_region(params, [params])
    warnings: List[str] = []
    desired = desired_state(params, params.get("update_password") or "always", region, warnings,
                            params.get("number_check") or "valid", accept_hint(None, "number_check: possible"))
    for warning in warnings:
        warn(warning)
    if params.get("extension_name") is not None:
        check_extension_name(params["extension_name"])
    check_client_id(params.get("client_id"))
    api = TelphinApi(client)
    outcome = find_target(api, params)
    try:
        converge_phone(api, outcome, desired, check_mode, on_secret, region=region)
    except NotFound as exc:
        raise not_found(outcome, exc) from None
    return single_result(outcome)
