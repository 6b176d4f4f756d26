"""The ``returned:`` conditions of the RETURN blocks, on module results (``_ansible.execute``): what a result
holds in the cases the documentation names."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from scripted import Call, ScriptedTransport, make_client, token

from ansible_collections.telphin.pbx.plugins.module_utils import _ansible as glue

CONN = {"api_url": "https://api.test", "app_id": "app-1", "app_secret": "s3cret-app"}
# The extension list: a page shorter than ours, then the empty page that shows it was the last one.
LIST = (Call("GET", "/client/@me/extension/", reply=[{"id": 7, "name": "000*100", "type": "phone"}]),
        Call("GET", "/client/@me/extension/", reply=[]))
PHONE = Call("GET", "/extension/7/phone/", reply={"external_number": None, "label": "Desk"})
BINDING = {"extension": "100", "label": "Reception"}


def run(monkeypatch, name: str, calls: List[Call], check_mode: bool = False, **args: Any
        ) -> Tuple[Dict[str, Any], List[str]]:
    """The result of module ``name`` for ``args`` (validated by its argument spec) against scripted calls."""
    transport = ScriptedTransport(*calls)
    monkeypatch.setattr(glue, "ApiClient", lambda settings, pool_size=1: make_client(
        transport, **{k: v for k, v in vars(settings).items() if k != "token_url"}))
    spec = glue.SPECS[name]
    validation = ArgumentSpecValidator(spec.argument_spec, **spec.validator_kwargs()).validate(dict(CONN, **args))
    assert not validation.error_messages, validation.error_messages
    warnings: List[str] = []
    result, _secrets = glue.execute(name, validation.validated_parameters, check_mode, warnings.append)
    transport.assert_done()
    return result, warnings


def test_extension_name_is_null_for_an_id_with_the_default_client(monkeypatch):
    result, _w = run(monkeypatch, "extension_phone", [token(), PHONE], extension_id=7, label="Desk")
    assert result["extension_id"] == 7 and result["extension_name"] is None and result["changed"] is False
    info, _w = run(monkeypatch, "extension_phone_info", [token(), PHONE], extension_id=7)
    assert info["extension_name"] is None and set(info) >= {"extension_id", "phone", "requests", "quota"}
    assert "phones" not in info


def test_phones_are_returned_also_when_some_could_not_be_read(monkeypatch):
    result, _w = run(monkeypatch, "extension_phone_info", [token(), *LIST, Call("GET", "/extension/7/phone/",
                                                                                status=404, reply={"message": "x"})],
                     parallel=1)
    assert result["failed"] is True and result["phones"][0]["phone"] == {} and "extension_id" not in result


def test_backup_path_needs_phones_to_look_at_and_is_null_in_check_mode(monkeypatch):
    result, _w = run(monkeypatch, "extension_phones", [], backup=True)
    assert result["results"] == [] and "backup_path" not in result and result["requests"]["total"] == 0
    result, _w = run(monkeypatch, "extension_phones", [token(), *LIST, PHONE], check_mode=True, backup=True,
                     bindings=[BINDING], parallel=1)
    assert result["changed"] is True and result["backup_path"] is None and "plan" not in result


def test_a_plan_only_in_check_mode_with_plan_path(monkeypatch, tmp_path):
    plan_file = str(tmp_path / "t.plan.json")
    result, _w = run(monkeypatch, "extension_phones", [token(), *LIST, PHONE], check_mode=True, plan_path=plan_file,
                     bindings=[BINDING], parallel=1)
    assert result["plan_path"] == plan_file and json.loads((tmp_path / "t.plan.json").read_text()) == result["plan"]
    assert "plan_created" not in result and "backup_path" not in result
    result, warnings = run(monkeypatch, "extension_phones",
                           [token(), *LIST, PHONE, Call("PUT", "/extension/7/phone/", reply={"label": "Reception"})],
                           plan_path=str(tmp_path / "ignored.json"), bindings=[BINDING], parallel=1)
    assert result["changed"] is True and "plan" not in result and "plan_path" not in result
    assert warnings == ["plan_path (client @me at api.test) is written by check runs only: no plan was written"]


@pytest.mark.parametrize("args", [{"bindings": [{"extension": "100", "lable": "typo"}]},
                                  {"bindings": [BINDING], "max_changes": "nonsense"}])
def test_a_task_refused_before_the_phones_returns_no_results_but_its_requests(monkeypatch, args):
    result, _w = run(monkeypatch, "extension_phones", [], **args)
    assert result["failed"] is True and not {"results", "summary", "diff"} & set(result)
    assert result["requests"]["total"] == 0 and set(result["quota"]) == {"limit", "remaining", "reset"}
