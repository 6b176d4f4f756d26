"""The controller path of the action plugins: the module's validation, messages and masking, in this process."""

from __future__ import annotations

import copy

import json
import os

import pytest
from cores import ASK_FOR_INVOCATION, INVOCATION_ON_REQUEST
from scripted import Call, ScriptedTransport, make_client, token

from ansible_collections.telphin.pbx.plugins.module_utils import _ansible as glue
from ansible_collections.telphin.pbx.plugins.module_utils._words import ROLE
from ansible_collections.telphin.pbx.plugins.plugin_utils import _action

CONN = {"api_url": "https://api.test", "app_id": "app-1", "app_secret": "s3cret-app"}


def module_result(monkeypatch, capsys, name, args, invocation=True, run=False):
    """What the real module (``AnsibleModule`` of ``name``) returns for ``args`` when validation stops it, or with
    ``run`` once its ``main()`` (``run_module``) ends; ``invocation``: the controller asks for it (ansible-core
    2.21+; earlier versions always return it)."""
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    internal = dict(ASK_FOR_INVOCATION if invocation else {}, _ansible_module_name="telphin.pbx.%s" % name)
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, **internal)})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    with pytest.raises(SystemExit):
        module = glue.telphin_module(name)
        if run:
            glue.run_module(module, name)
    return json.loads(capsys.readouterr().out)


class Tagged(str):
    """Stands for the str subclasses ansible-core wraps YAML and templated values in."""


def wrapped(value):
    if isinstance(value, dict):
        return {Tagged(k): wrapped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wrapped(v) for v in value]
    return Tagged(value) if isinstance(value, str) else value


BAD = [
    ("extension_phones", {"parallel": "many", "bindings": [{"extension": "1", "password": "Sip-Q-1"}]}),
    ("extension_phones", {"bindings": "oops"}),
    ("extension_phones", {"bindngs": [], "update_pasword": "never"}),
    ("extension_phones", {"update_password": "sometimes"}),
    ("extension_phone", {"extension_id": 1, "extension_name": "100", "password": "Sip-Q-2"}),
    ("extension_phone", {"label": "Desk"}),
    ("extension_phone_info", {"extension_id": "one"}),
    ("extension_info", {"type": "trunk", "timeout": "soon"}),
    # required_together: an app ID without its secret (or the reverse), also next to an access token
    ("extension_phones", {"app_secret": None, "bindings": [{"extension": "1", "password": "Sip-Q-3"}]}),
    ("extension_phone", {"app_id": None, "extension_id": 1, "label": "Desk"}),
    ("extension_phone_info", {"app_secret": None, "access_token": "tok-Q-4", "extension_id": 1}),
    ("extension_info", {"app_id": None}),
    # the alias extension is extension_name: both given are mutually exclusive with extension_id alike
    ("extension_phone", {"extension_id": 1, "extension": "100", "label": "Desk"}),
    ("extension_phone_info", {"extension_id": 1, "extension": "100"}),
]


@pytest.mark.parametrize("name,args", BAD, ids=["%s-%d" % (n, i) for i, (n, _a) in enumerate(BAD)])
def test_validation_failures_match_the_module(monkeypatch, capsys, name, args):
    args = {k: v for k, v in dict(CONN, **args).items() if v is not None}   # None: the option is not given
    module = module_result(monkeypatch, capsys, name, args)
    # task arguments come wrapped (AnsibleUnicode in ansible-core 2.16): messages must not show it
    here = _action.run_on_controller(name, "telphin.pbx.%s" % name, wrapped(args), False)
    assert here["failed"] is True and here["msg"] == module["msg"]
    assert here["invocation"] == module["invocation"]
    assert "s3cret-app" not in json.dumps(here) and "Sip-Q" not in json.dumps(here) and "tok-Q" not in json.dumps(here)


@pytest.mark.skipif(not INVOCATION_ON_REQUEST, reason="ansible-core < 2.21 returns a module's invocation always")
def test_without_inject_invocation_neither_path_returns_an_invocation(monkeypatch, capsys):
    name, args = BAD[0]
    args = dict(CONN, **args)
    module = module_result(monkeypatch, capsys, name, args, invocation=False)
    here = _action.run_on_controller(name, "telphin.pbx.%s" % name, args, False, invocation=False)
    assert here["failed"] is True and here["msg"] == module["msg"]
    assert "invocation" not in module and "invocation" not in here


def test_the_controller_path_returns_an_invocation_where_the_module_would(monkeypatch):
    monkeypatch.delenv("ANSIBLE_INJECT_INVOCATION", raising=False)
    assert _action.inject_invocation({"ansible_inject_invocation": True}) is True
    # ansible-core 2.21+: off unless asked for; before: always
    assert _action.inject_invocation(None) is not INVOCATION_ON_REQUEST
    assert _action.inject_invocation({"ansible_inject_invocation": False}) is not INVOCATION_ON_REQUEST


@pytest.mark.parametrize("name", sorted(glue.SPECS))
@pytest.mark.parametrize("given", ["app_id", "app_secret"])
def test_app_id_and_app_secret_are_required_together_on_both_paths(monkeypatch, capsys, transport, name, given):
    monkeypatch.delenv("TELPHIN_APP_ID", raising=False)
    monkeypatch.delenv("TELPHIN_APP_SECRET", raising=False)
    args = {"api_url": "https://api.test", given: CONN[given], "access_token": "tok-Q-5"}
    if name == "extension_phone":
        args.update(extension_id=1, label="Desk")
    module = module_result(monkeypatch, capsys, name, args)
    here = _action.run_on_controller(name, "telphin.pbx.%s" % name, args, False)
    for result in (module, here):
        assert result["failed"] is True and result["msg"] == "parameters are required together: app_id, app_secret"
        assert "requests" not in result and "tok-Q-5" not in json.dumps(result)
    transport.assert_done()     # nothing was sent


def test_the_other_half_of_the_app_pair_may_come_from_the_environment(monkeypatch, transport):
    monkeypatch.delenv("TELPHIN_APP_ID", raising=False)
    monkeypatch.setenv("TELPHIN_APP_SECRET", "s3cret-app")
    transport.script += [token(), Call("GET", "/client/@me/extension/", reply=[])]
    result = _action.run_on_controller("extension_info", "telphin.pbx.extension_info",
                                       {"api_url": "https://api.test", "app_id": "app-1"}, False)
    transport.assert_done()
    assert "failed" not in result, result.get("msg")
    assert transport.sent[0]["form"]["client_id"] == "app-1"


def test_extension_is_an_alias_of_extension_name(transport):
    transport.script += [
        token(),
        Call("GET", "/client/@me/extension/", reply=[{"id": 7, "name": "000*100", "type": "phone"}]),
        Call("GET", "/client/@me/extension/", reply=[]),           # a short list ends with the empty page
        Call("GET", "/extension/7/phone/", reply={"external_number": None, "label": "Desk"}),
    ]
    result = _action.run_on_controller("extension_phone_info", "telphin.pbx.extension_phone_info",
                                       dict(CONN, extension="100"), False)
    transport.assert_done()
    assert "failed" not in result, result.get("msg")
    assert result["extension_id"] == 7 and result["extension_name"] == "000*100" and "warnings" not in result


@pytest.fixture
def transport(monkeypatch):
    """The client ``run_on_controller`` builds talks to a scripted transport: ``transport.script`` is filled by
    the test."""
    scripted = ScriptedTransport()

    def client(settings, pool_size=1):
        return make_client(scripted, **{k: v for k, v in vars(settings).items() if k != "token_url"})
    monkeypatch.setattr(glue, "ApiClient", client)
    return scripted


def test_a_run_masks_the_app_secret_tokens_and_passwords_read_back_or_echoed(transport):
    transport.script += [
        token("tok-secret-1"),
        Call("GET", "/extension/7/phone/", reply={"external_number": None, "password": "Sip-Read-Back"}),
        Call("PUT", "/extension/7/phone/", status=400,
             reply={"message": "password Sip-New-5 is too weak (token tok-secret-1, app s3cret-app)",
                    "status": "invalid_request"}),
    ]
    args = dict(CONN, extension_id=7, password="Sip-New-5", external_number="+79001234567")
    result = _action.run_on_controller("extension_phone", "telphin.pbx.extension_phone", args, False)
    transport.assert_done()
    text = json.dumps(result)
    assert result["failed"] is True and result["changed"] is False
    assert result["requests"]["total"] == 3 and result["invocation"]["module_args"]["extension_id"] == 7
    for secret in ("tok-secret-1", "Sip-Read-Back", "Sip-New-5", "s3cret-app"):
        assert secret not in text


def test_a_bulk_run_returns_what_the_module_returns(transport):
    transport.script += [
        token(),
        Call("GET", "/client/@me/extension/", reply=[{"id": 7, "name": "000*100", "type": "phone"}]),
        Call("GET", "/client/@me/extension/", reply=[]),           # a short list ends with the empty page
        Call("GET", "/extension/7/phone/", reply={"external_number": None, "label": "Desk"}),
    ]
    args = dict(CONN, bindings=[{"extension": "100", "external_number": "+7 900 123-45-67", "password": 4711830265}])
    result = _action.run_on_controller("extension_phones", "telphin.pbx.extension_phones", args, True)
    transport.assert_done()
    assert result["changed"] is True and result["summary"] == {"total": 1, "changed": 1, "unchanged": 0, "failed": 0,
                                                               "skipped": 0}
    assert result["diff"][0]["after"]["external_number"] == "+79001234567"
    assert result["invocation"]["module_args"]["bindings"][0]["password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert result["invocation"]["module_args"]["app_secret"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert "4711830265" not in json.dumps(result) and "failed" not in result


def test_warnings_are_returned_in_the_result(transport):
    transport.script += [token(), Call("GET", "/client/@me/extension/", reply=[])]
    result = _action.run_on_controller("extension_info", "telphin.pbx.extension_info",
                                       dict(CONN, validate_certs=False), False)
    assert result["warnings"] == [glue.CERT_WARNING] and result["extensions"] == []


def test_without_urllib3_one_line_names_the_package(monkeypatch):
    monkeypatch.setattr(glue, "URLLIB3_IMPORT_ERROR", "Traceback ...\nModuleNotFoundError: No module named 'urllib3'")
    result = _action.run_on_controller("extension_info", "telphin.pbx.extension_info", CONN, False)
    assert result["failed"] is True and "urllib3" in result["msg"] and "\n" not in result["msg"]
    assert "exception" not in result


def test_the_task_environment_is_seen_by_fallbacks_and_then_restored(monkeypatch, transport):
    monkeypatch.delenv("TELPHIN_APP_ID", raising=False)
    monkeypatch.setenv("TELPHIN_APP_SECRET", "outer")
    transport.script += [token(), Call("GET", "/client/@me/extension/", reply=[])]
    with _action._environment({"TELPHIN_APP_ID": "app-1", "TELPHIN_APP_SECRET": "s3cret-app"}):
        result = _action.run_on_controller("extension_info", "telphin.pbx.extension_info",
                                           {"api_url": "https://api.test"}, False)
    assert "failed" not in result, result.get("msg")
    assert "TELPHIN_APP_ID" not in os.environ and os.environ["TELPHIN_APP_SECRET"] == "outer"
    assert result["invocation"]["module_args"]["app_secret"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_arguments_are_reduced_to_the_json_types_a_module_receives():
    class Wrapped(str):
        pass

    class Number(int):
        pass

    out = _action.plain({Wrapped("bindings"): (Wrapped("a"), {"n": Number(4), "b": True, "x": None, "f": 1.5})})
    assert out == {"bindings": ["a", {"n": 4, "b": True, "x": None, "f": 1.5}]}
    assert [v.__class__ for v in (out["bindings"][0], out["bindings"][1]["n"], next(iter(out)))] == [str, int, str]


def test_a_short_numeric_password_is_masked_by_key_and_does_not_eat_into_numbers(transport):
    transport.script += [
        token("tok-long-enough-1"),
        Call("GET", "/client/@me/extension/", reply=[{"id": 7, "name": "000*100", "type": "phone"}]),
        Call("GET", "/client/@me/extension/", reply=[]),           # a short list ends with the empty page
        Call("GET", "/extension/7/phone/", reply={"external_number": "+79161234567"}),
    ]
    args = dict(CONN, bindings=[{"extension": "100", "external_number": "+79161234567", "password": "123456"}],
                report_unchanged=True)
    result = _action.run_on_controller("extension_phones", "telphin.pbx.extension_phones", args, True)
    transport.assert_done()
    assert result["invocation"]["module_args"]["bindings"][0] == {
        "extension": "100", "external_number": "+79161234567", "password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}
    assert result["results"][0]["before"]["external_number"] == "+79161234567"
    assert "tok-long-enough-1" not in json.dumps(result)


SERVER_TEXT = "invalid literal from the server: server-said-Zq7 " + CONN["app_secret"]


def _raise_with_server_text(*_args, **_kwargs):
    raise ValueError(SERVER_TEXT)     # the traceback shows this line: the text must not be in it


def test_an_unexpected_exception_shows_its_type_and_place_never_its_text_on_both_paths(monkeypatch, capsys):
    monkeypatch.setattr(_action, "execute", _raise_with_server_text)
    here = _action.run_on_controller("extension_info", "telphin.pbx.extension_info", dict(CONN), False)
    monkeypatch.setattr(glue, "execute", _raise_with_server_text)
    module = module_result(monkeypatch, capsys, "extension_info", CONN, run=True)
    for result in (here, module):
        assert result["failed"] is True
        assert "unexpected error (ValueError at test_action.py line" in result["msg"], result["msg"]
        text = json.dumps(result)
        assert "server-said" not in text and "s3cret-app" not in text and "invalid literal" not in text
    assert "_raise_with_server_text" in here["exception"]     # the code path is kept (the module's: core's choice)


def test_in_the_role_a_connection_problem_names_the_roles_variables(transport):
    # The role passes its telphin_* variables as the connection options: the message names those.
    args = dict(CONN, quota_reserve=-1, bindings=[{"extension": "100", "label": "x"}])
    role = _action.run_on_controller("extension_phones", "telphin.pbx.extension_phones", args, False, words=ROLE)
    module = _action.run_on_controller("extension_phones", "telphin.pbx.extension_phones", args, False)
    assert role["msg"] == "telphin_quota_reserve must be 0 or more"
    assert module["msg"] == "quota_reserve must be 0 or more"
    role = _action.run_on_controller("extension_phones", "telphin.pbx.extension_phones",
                                     {"bindings": [{"extension": "100", "label": "x"}]}, False, words=ROLE)
    assert role["msg"].startswith("no API credentials: set telphin_app_id and telphin_app_secret (or TELPHIN_APP_ID "
                                  "and TELPHIN_APP_SECRET), or telphin_access_token (TELPHIN_ACCESS_TOKEN)")


def test_the_omit_token_of_older_cores_is_left_out_of_lists_and_mappings():
    from ansible_collections.telphin.pbx.plugins.plugin_utils._action import without_token
    token = "__omit_place_holder__abc"
    value = [{"extension": "100", "label": token, "external_number": "+79161110001"}, token, "x"]
    assert without_token(value, token) == [{"extension": "100", "external_number": "+79161110001"}, "x"]
    assert without_token("__omit_place_holder__abcd", token) == "__omit_place_holder__abcd"


# -- the lifeline (issue 31) ----------------------------------------------------------------------
class _Exited(Exception):
    pass


@pytest.fixture
def lifeline(monkeypatch):
    """``os._exit`` raising ``_Exited``; no lifeline held afterwards."""
    from ansible_collections.telphin.pbx.plugins.module_utils import _lifeline

    def fake_exit(code):
        raise _Exited(code)
    monkeypatch.setattr(_action.os, "_exit", fake_exit)
    monkeypatch.setattr(_lifeline.os, "_exit", fake_exit)
    monkeypatch.setattr(_lifeline, "_watch_parent", lambda controller: None)   # no thread in the test process
    yield _lifeline
    _lifeline.release()


def test_a_module_process_gets_a_lifeline_naming_controller_and_worker_unless_async(lifeline):
    assert _action.module_lifeline(None, 0) is None                    # not in a worker
    assert _action.module_lifeline(os.getppid(), 30) is None           # async: meant to outlive the play
    stamp = _action.module_lifeline(os.getppid(), 0)
    assert stamp.split(" ")[2:] == ["%d:%d" % (pid, lifeline.start_time(pid)) for pid in (os.getppid(), os.getpid())]
    lifeline.hold_from_environment({lifeline.ENVIRONMENT: stamp})
    assert not lifeline.gone()


def test_the_lifeline_goes_into_the_module_environment_only_when_there_is_one(monkeypatch):
    from types import SimpleNamespace
    from ansible.plugins.action import ActionBase
    from ansible.plugins.shell.sh import ShellModule

    monkeypatch.setattr(ActionBase, "_compute_environment_string", lambda self, raw=None: "LANG=C")
    action = object.__new__(_action.TelphinAction)
    action._connection = SimpleNamespace(_shell=ShellModule())
    assert action._compute_environment_string() == "LANG=C"
    action._lifeline_stamp = "b00t 4026531836 1:2 3:4"
    assert action._compute_environment_string() == "LANG=C TELPHIN_PBX_LIFELINE='b00t 4026531836 1:2 3:4'"


@pytest.mark.parametrize("parent_gone", [False, True])
def test_a_worker_whose_controller_is_gone_ends_without_a_result(monkeypatch, lifeline, parent_gone):
    controller = os.getppid() + (100000 if parent_gone else 0)
    monkeypatch.setattr(_action, "controller_pid", lambda: controller)
    monkeypatch.setattr(_action.TelphinAction, "_run", lambda self, tmp, task_vars, ctl: {"changed": True})
    action = object.__new__(_action.TelphinAction)
    if parent_gone:
        with pytest.raises(_Exited) as info:
            action.run(None, {})
        assert info.value.args == (lifeline.EXIT_CODE,)
    else:
        assert action.run(None, {}) == {"changed": True}


def test_warnings_and_diff_headers_name_the_tenant_but_not_localhost():
    from ansible_collections.telphin.pbx.plugins.plugin_utils._action import with_host_named

    result = {"warnings": ["a number", 7], "diff": [{"before_header": "000*100", "after_header": "000*100"}]}
    named = with_host_named(copy.deepcopy(result), "acme")
    assert named["warnings"] == ["acme: a number", 7] and named["diff"][0]["before_header"] == "acme: 000*100"
    assert with_host_named(copy.deepcopy(result), "localhost") == result
    # the module path: the module process named its warnings itself (TELPHIN_PBX_HOST), the diff is named here
    named = with_host_named(copy.deepcopy(result), "acme", warnings=False)
    assert named["warnings"] == ["a number", 7] and named["diff"][0]["after_header"] == "acme: 000*100"
