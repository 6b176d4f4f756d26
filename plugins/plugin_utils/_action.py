# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action plugin of every module: on a local connection, run the engine in the controller's worker.

A task on a local connection (``connection: local``, the implicit localhost, ``delegate_to: localhost``)
is validated with the module's own argument spec and runs the engine right here: no module payload, no
new interpreter. Any other target (a jump host, ``become``, ``async``) runs the module there as usual.
Both paths share ``module_utils/_ansible.py``: the spec, the engine call, the error mapping, the masking.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from ansible import constants as C
from ansible import errors as ansible_errors
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.telphin.pbx.plugins.module_utils import _lifeline
from ansible_collections.telphin.pbx.plugins.module_utils._ansible import (
    HOST_ENVIRONMENT, SPECS, execute, masked_params, masked_result, missing_library, nested_secrets, no_log_values)
from ansible_collections.telphin.pbx.plugins.module_utils._errors import code_trace, unexpected
from ansible_collections.telphin.pbx.plugins.module_utils._numbers import warm_up
from ansible_collections.telphin.pbx.plugins.module_utils._tls import default_ca_bundle, tls_context
from ansible_collections.telphin.pbx.plugins.module_utils._words import MODULE, ROLE, ROLE_NAME, Words
from ansible_collections.telphin.pbx.plugins.plugin_utils._identity import identity_problem, pinned_client_id
from ansible_collections.telphin.pbx.plugins.plugin_utils._role import batch_index, cross_tenant, role_options

# ansible-core 2.19+ raises this for a template that resolves to ``omit``; 2.16 to 2.18 give the ``omit`` token
OMITTED = getattr(ansible_errors, "AnsibleValueOmittedError", ())


class VariableError(Exception):
    """A variable of the role could not be templated; the message names it."""


# Ansible's main process imports this (through the action plugins: its strategies load a task's action plugin
# before they queue the task) and then forks a worker per host and task: what is loaded here is loaded once.
warm_up()
tls_context(default_ca_bundle())


def run_on_controller(name: str, action: str, args: Mapping[str, Any], check_mode: bool,
                      invocation: bool = True, words: Optional[Words] = None,
                      role: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """What module ``name`` would return for ``args``, computed in this process; ``words`` name the options in
    its messages (the role's variables when the ``phone_bindings`` role runs it).

    Validation, messages, ``invocation`` and masking follow the module (``TelphinModule``): ``no_log`` options
    and secret keys inside ``bindings`` items are masked by key in ``invocation``, and those values, every token
    issued and every secret read back are replaced wherever they occur in the result, the error messages
    included (short or numeric ones by key only, see ``no_log_values``). ``invocation=False``: the result has
    none (the module's result has none either then, see ``inject_invocation``). ``role``: what the role's task
    hands the engine besides its options (``_ansible.execute``).
    """
    spec = SPECS[name]
    params: Dict[str, Any] = plain(args)
    secrets = nested_secrets(params)
    warnings: List[str] = []
    result: Dict[str, Any]
    try:
        shape = list_shape_error(params, words)
        validation = ArgumentSpecValidator(spec.argument_spec, **spec.validator_kwargs()).validate(dict(params))
        params = validation.validated_parameters
        secrets |= validation._no_log_values | nested_secrets(params)
        if shape or validation.error_messages:
            msg = shape or validation.errors.msg
            if isinstance(validation.errors[0], UnsupportedError) and not shape:
                msg = "Unsupported parameters for (%s) module: %s" % (action, msg)
            result = {"failed": True, "msg": renamed(msg, words, spec.argument_spec) if words else msg}
        else:
            missing = missing_library()
            if missing:
                result = {"failed": True, "changed": False, "msg": missing}
            else:
                result, found = execute(name, params, check_mode, warnings.append, words, **(role or {}))
                secrets |= found
    except Exception as exc:  # pylint: disable=broad-except
        # Ansible would show an action plugin's exception with its text, which may hold what a server sent:
        # report its type, its place and the code path only.
        result = {"failed": True, "changed": False, "exception": code_trace(exc),
                  "msg": "%s: %s" % (action, unexpected(exc))}
    if warnings:
        result["warnings"] = warnings
    if invocation:
        result["invocation"] = {"module_args": masked_params(params, spec.argument_spec)}
    return masked_result(result, no_log_values(secrets))


def list_shape_error(params: Mapping[str, Any], words: Optional[Words]) -> Optional[str]:
    """The message for ``bindings`` given as a mapping (ansible-core's own names only the types): the shape."""
    if not isinstance(params.get("bindings"), Mapping):
        return None
    option = (words or MODULE)("bindings")
    return ("%s is a mapping; it must be a list, one item per extension, for example:\n"
            "%s:\n  - extension: \"100\"\n    external_number: \"+79876543210\"\n"
            "  - extension: \"101\"\n    external_number: \"\"   # unbind" % (option, option))


def renamed(msg: str, words: Words, options: Mapping[str, Any]) -> str:
    """ansible-core's validation message with the options it quotes (``'max_changes'``) named as ``words`` do."""
    return re.sub(r"'([a-z_]+)'", lambda m: "'%s'" % words(m.group(1)) if m.group(1) in options else m.group(0), msg)


def with_host_named(result: Dict[str, Any], host: Optional[str], warnings: bool = True) -> Dict[str, Any]:
    """``result`` with the inventory host (the tenant) named in each diff header and each warning: ``--diff``
    prints the headers before the host's status line, Ansible prints warnings without a host, and many tenants have
    an extension 100. Not for ``localhost``."""
    if warnings and host and host != "localhost" and isinstance(result.get("warnings"), list):
        result["warnings"] = [_named(w, host) for w in result["warnings"]]
    diffs = result.get("diff")
    if host and host != "localhost" and diffs:
        for diff in diffs if isinstance(diffs, list) else [diffs]:
            for key in ("before_header", "after_header"):
                if isinstance(diff, dict) and isinstance(diff.get(key), str):
                    diff[key] = "%s: %s" % (host, diff[key])
    return result


def _named(warning: Any, host: str) -> Any:
    """A warning of the engine on the controller path (a text) with ``host`` in front."""
    return "%s: %s" % (host, warning) if isinstance(warning, str) else warning


def plain(value: Any) -> Any:
    """The task's arguments as the module receives them (JSON types): no YAML or template wrapper types,
    whose class names would show in validation messages; vaulted values decrypted."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def without_token(value: Any, token: str) -> Any:
    """``value`` without the list items and mapping members that are the ``omit`` token (ansible-core < 2.19)."""
    if isinstance(value, Mapping):
        return {k: without_token(v, token) for k, v in value.items() if not (isinstance(v, str) and v == token)}
    if isinstance(value, list):
        return [without_token(v, token) for v in value if not (isinstance(v, str) and v == token)]
    return value


def inject_invocation(task_vars: Optional[Mapping[str, Any]]) -> bool:
    """Whether the module's result would carry ``invocation``: always before ansible-core 2.21; from 2.21 on
    only when its ``INJECT_INVOCATION`` setting is on (off by default)."""
    if C.config.get_configuration_definition("INJECT_INVOCATION") is None:
        return True
    return bool(C.config.get_config_value("INJECT_INVOCATION", variables=task_vars or {}))


@contextmanager
def _environment(extra: Mapping[str, Any]) -> Iterator[None]:
    """The task's ``environment`` in ``os.environ`` while the engine runs (this worker runs one task)."""
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update({str(k): str(v) for k, v in extra.items()})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def tenant_options(base: Mapping[str, Any], lookup: Callable[[str, Any], Any], host: str,
                   check_mode: bool) -> Tuple[Optional[Dict[str, Any]], str]:
    """The options of tenant ``host``'s call from its variables (``_role.role_options`` over ``base``, the task's
    arguments), or ``None`` and why not: bindings that may be another tenant's (``identity_problem``), a variable that
    does not template. No request either way."""
    try:
        problem = identity_problem(lookup, host)
        if problem:
            return None, problem
        options = plain(role_options(base, lookup, host, check_mode))
        options["client_id"] = pinned_client_id(options, lookup) or options["client_id"]
        return options, ""
    except VariableError as exc:
        return None, str(exc)


def variable_lookup(templar: Any, variables: Mapping[str, Any], task: Any) -> Callable[[str, Any], Any]:
    """``lookup(name, default)``: the variable templated with ``templar`` (a plain value costs no template compile).
    A variable that resolves to ``omit`` is unset: the role's default (of ``task``'s role), else ``default``; inside a
    list or a mapping an omitted value is left out, as ansible-core 2.19+ does. A templating error names the variable
    (``VariableError``)."""
    token = variables.get("omit")

    def lookup(name: str, default: Any) -> Any:
        if name not in variables:
            return default
        try:
            value = templar.template(variables[name])
        except OMITTED:
            return role_default(templar, task, name, default)
        except ansible_errors.AnsibleError as exc:
            raise VariableError("%s: %s" % (name, getattr(exc, "message", None) or exc)) from None
        if isinstance(token, str) and token:
            if isinstance(value, str) and value == token:
                return role_default(templar, task, name, default)
            value = without_token(value, token)
        return value
    return lookup


def role_default(templar: Any, task: Any, name: str, default: Any) -> Any:
    """The default of variable ``name`` in ``task``'s role (templated), else ``default``."""
    role = getattr(task, "_role", None)
    defaults = role.get_default_vars() if role is not None else {}
    return templar.template(defaults[name]) if name in defaults else default


def controller_pid() -> Optional[int]:
    """The PID of the ``ansible-playbook`` process waiting for this worker's result (the parent that forked it,
    as multiprocessing recorded it there); None outside a worker (a test calling the plugin in-process)."""
    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None else None


def module_lifeline(controller: Optional[int], async_val: Any) -> Optional[str]:
    """``TELPHIN_PBX_LIFELINE`` for a module process this worker starts: the controller and this worker. None
    outside a worker, and for an ``async`` task (meant to outlive the play)."""
    if controller is None or async_val:
        return None
    return _lifeline.stamp([controller, os.getpid()])


class TelphinAction(ActionBase):
    """Base of the collection's action plugins; ``MODULE`` names the module (a key of ``SPECS``)."""

    MODULE = ""
    _supports_check_mode = True
    _supports_async = True
    _lifeline_stamp: Optional[str] = None
    _module_host = ""

    def run(self, tmp: Optional[str] = None, task_vars: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        controller = controller_pid()
        if controller is not None:
            # The worker sends no request, and reports nothing, once ansible-playbook is gone (_lifeline).
            _lifeline.hold_parent(controller)
        try:
            return self._run(tmp, task_vars, controller)
        finally:
            if _lifeline.gone():
                os._exit(_lifeline.EXIT_CODE)   # nobody waits for this result: no report, no lingering worker

    def _run(self, tmp: Optional[str], task_vars: Optional[Dict[str, Any]], controller: Optional[int]) -> Dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        in_role = self.in_role()
        args: Mapping[str, Any] = self._task.args
        task_vars = task_vars or {}
        host = str(task_vars.get("inventory_hostname", ""))
        engine: Dict[str, Any] = {}
        if in_role and self.MODULE == "extension_phones":     # the role's task: its options from its variables
            step = (self._task.vars or {}).get("phone_bindings_step")
            if step == "index":         # the batch's numbers, once (run_once): no request
                hostvars = task_vars.get("hostvars") or {}
                result.update(changed=False, **batch_index(list(task_vars.get("ansible_play_batch") or [host]),
                                                           lambda h: self._host_variable(hostvars, h),
                                                           identity_problem))
                return result
            options, problem = tenant_options(args, self._variable(task_vars), host, bool(self._task.check_mode))
            if options is None:     # another tenant's bindings, or a variable that does not template: no request
                return dict(result, failed=True, changed=False, msg=problem)
            args = options
            engine["cross"] = cross_tenant(task_vars.get("phone_bindings_batch"), host)
            clashes = engine["cross"].clashes if engine["cross"] else []
            if clashes and not self.runs_on_controller():     # the module knows no index: refused here
                return dict(result, failed=True, changed=False, msg="%d problem(s) found before any request, "
                            "nothing was changed:\n- %s" % (len(clashes), "\n- ".join(clashes)))
        if not self.runs_on_controller():
            wrap_async = self._task.async_val and not self._connection.has_native_async
            self._lifeline_stamp = module_lifeline(controller, self._task.async_val)
            _lifeline.check()   # a controller gone before the stamp could name it: no module is started unwatched
            self._module_host = host if host != "localhost" else ""
            result = merge_hash(result, self._execute_module(module_args=dict(args), task_vars=task_vars,
                                                             wrap_async=wrap_async))
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            return with_host_named(result, host, warnings=False)     # the module named its warnings
        environment: Dict[str, Any] = {}
        self._compute_environment_string(environment)
        with _environment(environment):
            result.update(run_on_controller(self.MODULE, self._task.action, args,
                                            bool(self._task.check_mode), inject_invocation(task_vars),
                                            ROLE if in_role else None, engine))
        return with_host_named(result, host)

    def _compute_environment_string(self, raw_environment_out: Optional[Dict[str, Any]] = None) -> str:
        """The task's environment, plus on the module path the lifeline naming this worker and its controller (a
        module process on this machine stops sending requests once either is gone) and the inventory host the
        module names in its warnings."""
        text = super()._compute_environment_string(raw_environment_out)
        names = {_lifeline.ENVIRONMENT: self._lifeline_stamp, HOST_ENVIRONMENT: self._module_host}
        names = {name: value for name, value in names.items() if value}
        if not names:
            return text
        extra = self._connection._shell.env_prefix(**names)
        return "%s %s" % (text, extra) if text and extra else text or extra

    def in_role(self) -> bool:
        """Whether the task is the ``phone_bindings`` role's: its messages then name the role's variables."""
        role = getattr(self._task, "_role", None)
        return role is not None and role.get_name(include_role_fqcn=True) == ROLE_NAME

    def _host_variable(self, hostvars: Any, host: str) -> Callable[[str, Any], Any]:
        """``lookup(name, default)`` of another host of the batch: its variable, templated, as plain data. The host's
        variables are computed once (each ``hostvars[host]`` computes all of them again)."""
        values = hostvars[host]

        def lookup(name: str, default: Any) -> Any:
            return plain(values[name]) if name in values else default
        return lookup

    def _variable(self, task_vars: Mapping[str, Any]) -> Callable[[str, Any], Any]:
        """``lookup(name, default)`` of this task's host (``variable_lookup``)."""
        return variable_lookup(self._templar, task_vars, self._task)

    def runs_on_controller(self) -> bool:
        """A local connection without ``become`` or ``async``: the module would run on this machine anyway."""
        return (getattr(self._connection, "transport", None) == "local" and not self._task.async_val
                and not self._play_context.become)
