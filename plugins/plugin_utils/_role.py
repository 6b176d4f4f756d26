# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The options of the ``phone_bindings`` role's bulk call, read from its variables by the action plugin.

Every Ansible worker compiles each template of its task again (one worker per tenant, no compile cache), and
those compiles were most of the role's own cost per tenant. So the role's task carries no template: its action
plugin reads the tenant's ``telphin_*`` and ``phone_bindings*`` variables here, templating a value only when
it is one (the role's ``phone_bindings_backup_dir`` default, a vaulted or templated secret).

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.telphin.pbx.plugins.module_utils._artifacts import artifact_key
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError
from ansible_collections.telphin.pbx.plugins.module_utils._moves import Binding, CrossTenant, index_numbers, number_of
from ansible_collections.telphin.pbx.plugins.module_utils._numbers import DEFAULT_REGION
from ansible_collections.telphin.pbx.plugins.module_utils._resolve import check_client_id
from ansible_collections.telphin.pbx.plugins.module_utils._words import ROLE

_MISSING = object()
# option: the variable the role reads it from, when set (the names its messages use, and one the messages never name)
VARIABLES = dict(ROLE.names, bundle_listing="telphin_bundle_listing")

Lookup = Callable[[str, Any], Any]


def role_options(base: Mapping[str, Any], lookup: Lookup, host: str, check_mode: bool,
                 now: Optional[datetime] = None) -> Dict[str, Any]:
    """The bulk call's options for tenant ``host``: ``base`` (the task's arguments, with any ``module_defaults``
    of the play), then every variable of the role that is set (``_words.ROLE`` names them: ``phone_bindings``,
    ``telphin_client_id``, the ``telphin_*`` connection and the ``phone_bindings_*`` settings), then the options
    the role derives (backup file name, plan path, plan to apply).

    ``lookup(name, default)`` is the templated value of variable ``name`` (``default`` when undefined); it is
    called only for the variables that are needed.
    """
    def get(name: str, default: Any = _MISSING) -> Any:
        return lookup(name, default)

    options = dict(base)
    for option, variable in VARIABLES.items():     # the connection and the settings: those that are set
        value = get(variable)
        if value is not _MISSING:
            options[option] = value
    for option, default in (("client_id", "@me"), ("bindings", [])):     # as the task's own arguments did
        if get(ROLE(option)) is _MISSING:
            options[option] = default
    plan_dir = get("phone_bindings_plan_dir", "")
    if _true(get("phone_bindings_backup", False)):
        stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d@%H:%M:%S")
        options["backup_options"] = {"dir_path": get("phone_bindings_backup_dir", None),
                                     "filename": "%s_phone_bindings.%s.yml" % (host, stamp)}
    if check_mode and plan_dir:
        options["plan_path"] = "%s/%s.plan.json" % (plan_dir, host)
    if _true(get("phone_bindings_apply_plan", False)):
        options["apply_plan"] = _plan(get, host, options.get("client_id"), plan_dir)
    return options


def _plan(get: Callable[..., Any], host: str, client_id: Any, plan_dir: str) -> Any:
    """The tenant's plan: the artifact ``telphin_plan_<client id>`` of the plan job (``_artifacts``: one key per
    tenant, which survives AWX's merge of a sliced job's artifacts), else its entry in ``telphin_plans`` (a plan job
    of telphin.pbx 1.1.0, keyed by host name), else the file in the plan directory ("": none)."""
    try:
        published = get(artifact_key("plan", check_client_id(client_id)), _MISSING)
    except InputError:          # a bad client id: the engine names it
        published = _MISSING
    if published is not _MISSING:
        return published
    plans = get("telphin_plans", {})
    if isinstance(plans, Mapping) and host in plans:
        return plans[host]
    return "%s/%s.plan.json" % (plan_dir, host) if plan_dir else ""


def _true(value: Any) -> bool:
    """Jinja's ``| bool``, as the role's task applied it."""
    return boolean(value, strict=False)


def batch_index(hosts: Sequence[str], lookup_of: Callable[[str], Lookup],
                refused: Callable[[Lookup, str], Any] = lambda lookup, host: None) -> Dict[str, Any]:
    """The run's index of bound numbers (``_moves.index_numbers``) over the tenants ``hosts`` of the batch, each
    tenant's ``phone_bindings``, ``telphin_client_id`` and ``phone_bindings_default_region`` read once
    (``lookup_of(host)``). A tenant whose variables do not read or hold no list, or that its own call refuses
    anyway (``refused(lookup, host)``: the identity checks), is left out: its own call reports why. No request."""
    bindings: List[Binding] = []
    for host in hosts:
        lookup = lookup_of(host)
        try:
            if refused(lookup, host):
                continue    # not this tenant's bindings (a backup restored to every host): no clash with them
            items = lookup(ROLE("bindings"), [])
            client_id = check_client_id(lookup(ROLE("client_id"), "@me"))     # not a client id: its call refuses it
            region = lookup(ROLE("default_region"), DEFAULT_REGION)
        except Exception:  # pylint: disable=broad-except
            continue       # a variable that does not template: the tenant's own call names it
        if not isinstance(items, list) or not isinstance(region, str):
            continue
        for item in items:
            if isinstance(item, Mapping) and item.get("external_number") is not None:
                number = number_of(item["external_number"], region.upper())
                ref = item.get("extension") if item.get("extension") is not None else "id %s" % item.get("extension_id")
                if number:
                    bindings.append((str(host), str(client_id), str(ref), number))
    numbers, clashes = index_numbers(bindings)
    return {"tenants": len(hosts), "numbers": numbers, "clashes": clashes}


def cross_tenant(batch: Any, host: str) -> Optional[CrossTenant]:
    """What the batch's index (the role's first task's result, ``batch_index``) says to tenant ``host``."""
    if not isinstance(batch, Mapping) or not isinstance(batch.get("numbers"), Mapping):
        return None
    clashes = batch.get("clashes") or {}
    return CrossTenant(host, [str(m) for m in clashes.get(host) or []], int(batch.get("tenants") or 0) > 1,
                       batch["numbers"])
