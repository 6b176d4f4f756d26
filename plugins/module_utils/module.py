# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Ansible side, written once: connection argspec, client construction, error -> fail_json."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Set

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._errors import RunFailed, TelphinError
from ansible_collections.telphin.pbx.plugins.module_utils._phone import is_masked_key
from ansible_collections.telphin.pbx.plugins.module_utils._secrets import registrable
from ansible_collections.telphin.pbx.plugins.module_utils._settings import DEFAULT_API_URL, ConnectionSettings
from ansible_collections.telphin.pbx.plugins.module_utils._transport import URLLIB3_IMPORT_ERROR


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
    }


class TelphinModule(AnsibleModule):
    """``AnsibleModule`` that keeps every secret out of its log entry and its results.

    The argument spec marks top-level secrets ``no_log``; a SIP ``password`` inside an item of ``bindings``
    has no spec entry. Such values are masked by key in the invocation that ``AnsibleModule`` logs to
    syslog / journald as it starts, and in the ``invocation`` of every result (also of the failures it
    reports itself for bad options). Only values that ``registrable`` accepts stay no-log values: Ansible
    masks those as substrings of everything, which a short or numeric one would do to phone numbers.
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
        values = set(self.no_log_values) | nested_secrets(self.params)
        self.no_log_values.clear()
        self.no_log_values.update(v for v in values if registrable(v))


NO_LOG_MARK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"    # what Ansible shows for the value of a no_log option


def masked_params(params: Dict[str, Any], spec: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """``params`` with the ``no_log`` options of ``spec`` and secret keys inside list items masked by key."""
    shown: Dict[str, Any] = {}
    for name, value in params.items():
        if value is not None and ((spec or {}).get(name) or {}).get("no_log"):
            shown[name] = NO_LOG_MARK
        elif isinstance(value, list):
            shown[name] = [{k: NO_LOG_MARK if is_masked_key(str(k)) and v not in (None, "") else v
                            for k, v in item.items()} if isinstance(item, dict) else item for item in value]
        else:
            shown[name] = value
    return shown


def nested_secrets(params: Any) -> Set[str]:
    """Values of secret keys (``_phone.is_masked_key``) in dicts inside list options."""
    found: Set[str] = set()
    for value in (params or {}).values() if isinstance(params, dict) else ():
        for item in value if isinstance(value, list) else ():
            if not isinstance(item, dict):
                continue
            for key, secret in item.items():
                if is_masked_key(str(key)) and isinstance(secret, (str, int)) and not isinstance(secret, bool) \
                        and str(secret):
                    found.add(str(secret))
    return found


def telphin_module(argument_spec: Dict[str, Any], **kwargs: Any) -> TelphinModule:
    spec = connection_argspec()
    spec.update(argument_spec)
    return TelphinModule(argument_spec=spec, **kwargs)


def run_module(module: AnsibleModule, execute: Callable[[ApiClient], Dict[str, Any]], pool_size: int = 1) -> None:
    """Build the client, run ``execute(client)``, and turn every outcome into exit_json / fail_json.

    Values that must stay secret (tokens issued, secrets read back) are added to the module's
    no_log values before anything is returned, so Ansible masks them wherever they might appear.
    """
    if URLLIB3_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("urllib3"), exception=URLLIB3_IMPORT_ERROR)
    try:
        settings = ConnectionSettings.from_params(module.params)
    except TelphinError as exc:
        module.fail_json(msg=str(exc))
    if settings.plain_http:
        module.warn("allow_plain_http is set and api_url or token_url uses plain http: the app secret and the "
                    "tokens cross the network unencrypted; use https outside a test network")
    if not settings.validate_certs:
        module.warn("validate_certs is false: the API server's TLS certificate is not verified, so the "
                    "credentials can be intercepted; use ca_path for a private CA instead")
    client = ApiClient(settings, pool_size=pool_size)
    try:
        result = execute(client)
    except RunFailed as exc:
        _hide(module, client)
        module.fail_json(msg=str(exc), **dict(exc.result, **client.report()))
    except TelphinError as exc:
        _hide(module, client)
        module.fail_json(msg=str(exc), changed=False, **client.report())
    _hide(module, client)
    result.update(client.report())
    module.exit_json(**result)


def _hide(module: AnsibleModule, client: ApiClient) -> None:
    """Register the secrets the client saw; short or numeric ones stay masked by key and in its messages only."""
    module.no_log_values.update(s for s in client.secrets if registrable(s))
