# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The deferred binds of a batch (numbers that move between tenants, ``module_utils/_moves.py``), written by the
``phone_bindings`` role's summary task in its one worker, after every tenant's bulk call.

A task per tenant costs a worker process per tenant, also where it has nothing to do (ansible-core evaluates even a
``when`` in the worker); deferred binds are rare. So the batch's summary task, which runs once after every tenant's
bulk call, writes them: each tenant with its own variables, as its own task of the play would see them (the
variables ansible-core computes for a delegated host), its own connection and token, and the play's
``module_defaults`` and ``environment`` templated with them.

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Dict, Iterable, Iterator, Mapping

from ansible.plugins.action import ActionBase

from ansible_collections.telphin.pbx.plugins.module_utils import _lifeline
from ansible_collections.telphin.pbx.plugins.module_utils._moves import added_requests
from ansible_collections.telphin.pbx.plugins.module_utils._words import ROLE
from ansible_collections.telphin.pbx.plugins.plugin_utils._action import (
    _environment, controller_pid, inject_invocation, plain, run_on_controller, tenant_options, variable_lookup,
    with_host_named)

try:    # ansible-core 2.19+: what its own action plugins (package, service) use
    from ansible.executor.module_common import _apply_action_arg_defaults
    get_action_args_with_defaults = None
except ImportError:     # 2.16 to 2.18
    _apply_action_arg_defaults = None
    from ansible.executor.module_common import get_action_args_with_defaults

ACTION = "telphin.pbx.extension_phones"
UNREADABLE = "the tenant's variables could not be read to write its deferred binds; nothing was written: re-run"


def has_deferred(result: Any) -> bool:
    """Whether a tenant's registered bulk-call result deferred phones to this step."""
    return isinstance(result, Mapping) and bool(result.get("deferred")) and not result.get("failed")


def write_deferred(action: ActionBase, task_vars: Mapping[str, Any], hosts: Iterable[str]) -> Dict[str, Dict[str, Any]]:
    """Tenant -> its result, for the tenants ``hosts`` whose bulk call deferred phones: each deferred phone read again
    and written (``_moves.second_call``), the result the bulk call's with their outcomes and both calls' requests,
    diff headers and warnings naming the tenant. ``action``: the summary task's plugin."""
    hosts = list(hosts)
    if not hosts:
        return {}
    controller = controller_pid()
    if controller is not None:
        _lifeline.hold_parent(controller)   # no request once ansible-playbook is gone (_lifeline)
    try:
        return {host: _write(action, task_vars, host) for host in hosts}
    finally:
        if _lifeline.gone():
            os._exit(_lifeline.EXIT_CODE)


def _write(action: ActionBase, task_vars: Mapping[str, Any], host: str) -> Dict[str, Any]:
    """One tenant's deferred binds (``write_deferred``)."""
    task = action._task
    try:
        variables = tenant_variables(task, task_vars, host)
    except Exception:  # pylint: disable=broad-except
        return {"failed": True, "changed": False, "msg": UNREADABLE}
    templar = action._templar.copy_with_new_env()
    templar.available_variables = variables
    first = plain(variables.get("phone_bindings_result"))
    if not has_deferred(first):
        return first
    options, problem = tenant_options(module_defaults(task, templar), variable_lookup(templar, variables, task),
                                      host, False)
    if options is None:
        return {"failed": True, "changed": False, "msg": problem}
    environment: Dict[str, Any] = {}
    with _templar_of(action, templar):
        action._compute_environment_string(environment)
    with _environment(environment):
        result = run_on_controller("extension_phones", ACTION, options, False, inject_invocation(variables), ROLE,
                                   {"deferred_of": first})
    result["requests"] = added_requests(first, result)
    return with_host_named(result, host)


def tenant_variables(task: Any, task_vars: Mapping[str, Any], host: str) -> Dict[str, Any]:
    """Every variable of tenant ``host`` as a task of this play on it sees them: what ansible-core computes for a
    task delegated to ``host`` (its inventory and registered variables, the play's and the role's)."""
    hostvars = task_vars["hostvars"]
    manager, inventory = hostvars._variable_manager, hostvars._inventory   # pylint: disable=protected-access
    return manager.get_vars(play=task.get_play(), host=inventory.get_host(host), task=task, include_hostvars=True)


def module_defaults(task: Any, templar: Any) -> Dict[str, Any]:
    """The play's ``module_defaults`` for the bulk call's module (and its action group ``telphin.pbx.pbx``),
    templated with the tenant's variables (``templar``), as its own task received them."""
    if _apply_action_arg_defaults is not None:
        return dict(_apply_action_arg_defaults(ACTION, task, {}, templar))
    # 2.16 to 2.18 template the running task's module_defaults with the host it runs on: its parents (block, role,
    # play) hold them as written (read through the inheritance, the block being finalised in the worker)
    parent = task._parent   # pylint: disable=protected-access
    written = parent._get_parent_attribute("module_defaults")   # pylint: disable=protected-access
    return dict(get_action_args_with_defaults(ACTION, {}, written, templar, action_groups=parent._play._action_groups))


@contextmanager
def _templar_of(action: ActionBase, templar: Any) -> Iterator[None]:
    """``action`` templating with ``templar`` (the task's ``environment`` with the tenant's variables)."""
    saved = action._templar
    action._templar = templar
    try:
        yield
    finally:
        action._templar = saved
