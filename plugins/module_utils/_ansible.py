# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Ansible glue both execution paths share, written once.

A module process (``main()`` of ``plugins/modules/*``) and the controller-side action plugins
(``plugins/action/*``, a local connection) use the same argument specs (``SPECS``), the same engine
call and error -> result mapping (``execute``), and the same masking of secrets (``masked_result``,
what ``AnsibleModule`` does to its results). The engine is reached through the imports below only.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Set, Tuple

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib
from ansible.module_utils.common.parameters import remove_values

# -- the engine seam: the only place this file names the engine's modules -----------------------
from ansible_collections.telphin.pbx.plugins.module_utils import _lifeline
from ansible_collections.telphin.pbx.plugins.module_utils._bulk import run_extension_phones
from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._converge import run_extension_phone
from ansible_collections.telphin.pbx.plugins.module_utils._errors import RunFailed, TelphinError, code_trace, unexpected
from ansible_collections.telphin.pbx.plugins.module_utils._phone import is_masked_key, phone_argspec
from ansible_collections.telphin.pbx.plugins.module_utils._probe import run_api_info
from ansible_collections.telphin.pbx.plugins.module_utils._plan_apply import PLAN_MAX_AGE
from ansible_collections.telphin.pbx.plugins.module_utils._reads import run_extension_info, run_extension_phone_info
from ansible_collections.telphin.pbx.plugins.module_utils._secrets import registrable
from ansible_collections.telphin.pbx.plugins.module_utils._settings import DEFAULT_API_URL, ConnectionSettings
from ansible_collections.telphin.pbx.plugins.module_utils._transport import URLLIB3_IMPORT_ERROR
from ansible_collections.telphin.pbx.plugins.module_utils._words import CONNECTION, Words

Warn = Callable[[str], None]
# (client, validated params, check mode, secret sink, warn[, words=]) -> result
Runner = Callable[..., Dict[str, Any]]

CERT_WARNING = ("validate_certs is false: the API server's TLS certificate is not verified, so the credentials can "
                "be intercepted; use ca_path for a private CA instead")
PLAIN_HTTP_WARNING = ("allow_plain_http is set and api_url or token_url uses plain http: the app secret and the tokens "
                      "cross the network unencrypted; use https outside a test network")
# The inventory host (the tenant) a module process runs for, named by the action plugin: the module names it in its
# warnings, which ansible-core 2.21 takes out of the result before the action plugin could.
HOST_ENVIRONMENT = "TELPHIN_PBX_HOST"
NO_LOG_MARK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"    # what Ansible shows for the value of a no_log option


def connection_argspec() -> Dict[str, Dict[str, Any]]:
    """The connection options of every module (documented in the ``telphin.pbx.connection`` fragment)."""
    def env(name: str) -> Any:
        return (env_fallback, [name])

    return {
        "api_url": {"type": "str", "default": DEFAULT_API_URL, "fallback": env("TELPHIN_API_URL")},
        "token_url": {"type": "str", "no_log": False, "fallback": env("TELPHIN_TOKEN_URL")},
        "app_id": {"type": "str", "fallback": env("TELPHIN_APP_ID")},
        "app_secret": {"type": "str", "no_log": True, "fallback": env("TELPHIN_APP_SECRET")},
        "access_token": {"type": "str", "no_log": True, "fallback": env("TELPHIN_ACCESS_TOKEN")},
        "validate_certs": {"type": "bool", "default": True, "fallback": env("TELPHIN_VALIDATE_CERTS")},
        "ca_path": {"type": "path", "fallback": env("TELPHIN_CA_PATH")},
        "timeout": {"type": "float", "default": 30},
        "quota_reserve": {"type": "int", "default": 0},
        "allow_plain_http": {"type": "bool", "default": False, "fallback": env("TELPHIN_ALLOW_PLAIN_HTTP")},
        "http_agent": {"type": "str"},
    }


# An app ID without its secret (or the reverse) is a mistake even when access_token is given. The check runs after
# the TELPHIN_* fallbacks and counts an option as given when present, also empty ("" as AWX injects unset fields).
CONNECTION_REQUIRED_TOGETHER: Tuple[Tuple[str, ...], ...] = (("app_id", "app_secret"),)


def _extension_name() -> Dict[str, Any]:
    """``extension_name``, also as ``extension`` (the key the items of ``extension_phones`` use). Of type raw: the
    engine refuses an integer (YAML reads ``0101`` as 65; a ``str`` option would pass it on as ``"65"``)."""
    return {"type": "raw", "aliases": ["extension"]}


@dataclass(frozen=True)
class ModuleSpec:
    """What a module accepts and which engine entry point it runs."""

    options: Dict[str, Dict[str, Any]]
    run: Runner
    mutually_exclusive: List[Tuple[str, ...]] = field(default_factory=list)
    required_one_of: List[Tuple[str, ...]] = field(default_factory=list)
    required_together: List[Tuple[str, ...]] = field(default_factory=lambda: list(CONNECTION_REQUIRED_TOGETHER))
    pool_option: Optional[str] = None     # the option that sizes the connection pool

    @property
    def argument_spec(self) -> Dict[str, Dict[str, Any]]:
        spec = connection_argspec()
        spec.update(self.options)
        return spec

    def validator_kwargs(self) -> Dict[str, Any]:
        """The arguments of ``AnsibleModule`` / ``ArgumentSpecValidator`` besides the spec (both paths)."""
        return {"mutually_exclusive": self.mutually_exclusive or None, "required_one_of": self.required_one_of or None,
                "required_together": self.required_together or None}


def _update_password() -> Dict[str, Any]:
    return {"type": "str", "default": "always", "choices": ["always", "never"], "no_log": False}


def _number_check() -> Dict[str, Any]:
    return {"type": "str", "default": "valid", "choices": ["valid", "possible"]}


SPECS: Dict[str, ModuleSpec] = {
    "extension_phones": ModuleSpec(
        options={"client_id": {"type": "str", "default": "@me"},
                 "bindings": {"type": "list", "elements": "dict", "default": []},
                 "unbind_unlisted": {"type": "bool", "default": False},
                 "parallel": {"type": "int", "default": 4},
                 "update_password": _update_password(),
                 "report_unchanged": {"type": "bool", "default": False},
                 "bundle_listing": {"type": "bool", "default": True},
                 "default_region": {"type": "str", "default": "RU"},
                 "number_check": _number_check(),
                 "max_changes": {"type": "raw"},
                 "backup": {"type": "bool", "default": False},
                 "backup_options": {"type": "dict", "options": {"dir_path": {"type": "path"},
                                                                "filename": {"type": "str"}}},
                 "plan_path": {"type": "path"},
                 "apply_plan": {"type": "raw"},
                 "plan_max_age": {"type": "raw", "default": PLAN_MAX_AGE},
                 "plan_allow_changed_bindings": {"type": "bool", "default": False},

                 "policy": {"type": "raw"},            # checked by the engine, which names the role's variables
                 "policy_exclude": {"type": "raw"},
                 "restore_backup": {"type": "raw"}},
        run=run_extension_phones,
        pool_option="parallel"),
    "extension_phone": ModuleSpec(
        options=dict({"extension_id": {"type": "int"}, "extension_name": _extension_name(),
                      "client_id": {"type": "str", "default": "@me"}, "update_password": _update_password(),
                      "default_region": {"type": "str", "default": "RU"}, "number_check": _number_check()},
                     **phone_argspec()),
        run=run_extension_phone,
        mutually_exclusive=[("extension_id", "extension_name")],
        required_one_of=[("extension_id", "extension_name")]),
    "extension_phone_info": ModuleSpec(
        options={"extension_id": {"type": "int"}, "extension_name": _extension_name(),
                 "client_id": {"type": "str", "default": "@me"}, "parallel": {"type": "int", "default": 4}},
        run=lambda client, params, check_mode, on_secret, warn: run_extension_phone_info(client, params, on_secret),
        mutually_exclusive=[("extension_id", "extension_name")],
        pool_option="parallel"),
    "extension_info": ModuleSpec(
        options={"client_id": {"type": "str", "default": "@me"},
                 "type": {"type": "str"},
                 "name": {"type": "str"}, "extension_id": {"type": "int"}},
        run=lambda client, params, check_mode, on_secret, warn: run_extension_info(client, params)),
    "api_info": ModuleSpec(
        options={"client_id": {"type": "str", "default": "@me"},
                 "bundle_listing": {"type": "bool", "default": True}},
        run=lambda client, params, check_mode, on_secret, warn: run_api_info(client, params, on_secret)),
}


# -- secrets ----------------------------------------------------------------------------------------
def nested_secrets(params: Any) -> Set[str]:
    """Values of secret keys (``_phone.is_masked_key``) in dicts inside list options, and in dict options.

    The argument spec marks top-level secrets ``no_log``; a SIP ``password`` inside an item of ``bindings``
    (or in a ``policy``, which refuses it) has no spec entry, so both paths add these to the values they mask.
    """
    found: Set[str] = set()
    for value in (params or {}).values() if isinstance(params, dict) else ():
        for item in value if isinstance(value, list) else [value] if isinstance(value, dict) else ():
            if not isinstance(item, dict):
                continue
            for key, secret in item.items():
                if is_masked_key(str(key)) and isinstance(secret, (str, int)) and not isinstance(secret, bool) \
                        and str(secret):
                    found.add(str(secret))
    return found


def no_log_values(values: Iterable[str]) -> Set[str]:
    """The secrets that may become no-log values: Ansible masks those as substrings of everything, so a short or
    numeric one (which would mask parts of phone numbers) is masked by key only (``_secrets.registrable``)."""
    return {v for v in values if v and registrable(v)}


def masked_params(params: Dict[str, Any], spec: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """``params`` with the ``no_log`` options of ``spec`` and secret keys inside list items and dict options
    masked by key."""
    def by_key(item: Dict[Any, Any]) -> Dict[Any, Any]:
        return {k: NO_LOG_MARK if is_masked_key(str(k)) and v not in (None, "") else v for k, v in item.items()}

    shown: Dict[str, Any] = {}
    for name, value in params.items():
        if value is not None and ((spec or {}).get(name) or {}).get("no_log"):
            shown[name] = NO_LOG_MARK
        elif isinstance(value, list):
            shown[name] = [by_key(item) if isinstance(item, dict) else item for item in value]
        elif isinstance(value, dict):
            shown[name] = by_key(value)
        else:
            shown[name] = value
    return shown


def masked_result(result: Dict[str, Any], no_log: Set[str]) -> Dict[str, Any]:
    """Mask every occurrence of the ``no_log`` values in ``result``, keeping top-level booleans and None, exactly
    as ``AnsibleModule`` treats the results it returns."""
    preserved = {k: v for k, v in result.items() if v is None or isinstance(v, bool)}
    out = remove_values(result, no_log)
    out.update(preserved)
    return out


# -- the one run: options -> client -> engine -> result ---------------------------------------------
def execute(name: str, params: Mapping[str, Any], check_mode: bool, warn: Warn,
            words: Optional[Words] = None, **role: Any) -> Tuple[Dict[str, Any], Set[str]]:
    """Run module ``name`` with validated ``params``; return its result and the secret values to mask.
    ``words``: the role's names of the options, for the messages of ``extension_phones`` run by the role;
    ``role``: what the role hands that call besides its options (``cross``, ``deferred_of``: ``_bulk``).

    A failure is a result with ``failed`` and ``msg`` (and the partial results of a bulk run); every
    result carries the ``requests`` and ``quota`` figures once a client exists.
    """
    spec = SPECS[name]
    try:
        settings = ConnectionSettings.from_params(params)
    except TelphinError as exc:
        # its messages name connection options only (never a server's text): in the role, its variables
        return {"failed": True, "changed": False,
                "msg": words.in_text(str(exc), CONNECTION) if words is not None else str(exc)}, set()
    if settings.plain_http:
        warn(PLAIN_HTTP_WARNING)
    if not settings.validate_certs:
        warn(CERT_WARNING)
    pool_size = params.get(spec.pool_option) if spec.pool_option else None
    client = ApiClient(settings, pool_size=pool_size or 1)
    try:
        if words is not None:
            result = spec.run(client, params, check_mode, client.secrets.add, warn, words=words, **role)
        else:
            result = spec.run(client, params, check_mode, client.secrets.add, warn)
    except RunFailed as exc:          # a TelphinError that carries the partial result
        result = dict(exc.result, failed=True, msg=str(exc))
    except TelphinError as exc:
        result = {"failed": True, "changed": False, "msg": str(exc)}
    result.update(client.report())
    return result, set(client.secrets)


def missing_library() -> Optional[str]:
    """The one-line error when this Python lacks urllib3 (None when it is there)."""
    if not URLLIB3_IMPORT_ERROR:
        return None
    return ("the Python library urllib3 is missing on the Ansible controller (%s), which runs telphin.pbx modules "
            "on a local connection: install it there (pip install urllib3; see the collection's README, "
            "Requirements)" % sys.executable)


# -- the module path ------------------------------------------------------------------------------
class TelphinModule(AnsibleModule):
    """``AnsibleModule`` that keeps every secret out of its log entry and its results.

    The argument spec marks top-level secrets ``no_log``; a SIP ``password`` inside an item of ``bindings``
    has no spec entry. Such values are masked by key in the invocation that ``AnsibleModule`` logs to
    syslog / journald as it starts, and in the ``invocation`` of every result (also of the failures it
    reports itself for bad options). Only ``registrable`` values stay no-log values (see ``no_log_values``).
    """

    def _log_invocation(self) -> None:
        self._settle_no_log_values()
        params = self.params
        self.params = masked_params(params)    # top-level no_log options: AnsibleModule masks them by spec
        try:
            super()._log_invocation()
        finally:
            self.params = params

    def exit_json(self, **kwargs: Any) -> None:
        self._settle_no_log_values()
        kwargs.setdefault("invocation", {"module_args": masked_params(self.params, self.argument_spec)})
        super().exit_json(**kwargs)

    def fail_json(self, msg: str, **kwargs: Any) -> None:
        self._settle_no_log_values()
        kwargs.setdefault("invocation", {"module_args": masked_params(self.params, self.argument_spec)})
        super().fail_json(msg, **kwargs)

    def _settle_no_log_values(self) -> None:
        values = no_log_values(set(self.no_log_values) | nested_secrets(self.params))
        self.no_log_values.clear()
        self.no_log_values.update(values)


def telphin_module(name: str) -> TelphinModule:
    """The ``AnsibleModule`` of module ``name``, from the shared spec."""
    spec = SPECS[name]
    return TelphinModule(argument_spec=spec.argument_spec, supports_check_mode=True, **spec.validator_kwargs())


def run_module(module: AnsibleModule, name: str) -> None:
    """``main()`` of every module: run the engine and return through ``exit_json`` / ``fail_json``."""
    if URLLIB3_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("urllib3"), exception=URLLIB3_IMPORT_ERROR)
    _lifeline.hold_from_environment(os.environ)     # the worker and controller that wait for this result
    try:
        host = os.environ.get(HOST_ENVIRONMENT)
        warn: Warn = (lambda msg: module.warn("%s: %s" % (host, msg))) if host else module.warn
        result, secrets = execute(name, module.params, module.check_mode, warn)
    except Exception as exc:  # pylint: disable=broad-except
        # as on the controller path: the type, the place and the code path, never the exception's text
        module.fail_json(msg=unexpected(exc), exception=code_trace(exc))
    module.no_log_values.update(no_log_values(secrets))
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)
