"""The Ansible glue both paths share: the engine call, error -> result mapping, secret registration."""

from __future__ import annotations

import json

import pytest
from cores import ASK_FOR_INVOCATION
from scripted import Call, ScriptedTransport, make_client, token

from ansible_collections.telphin.pbx.plugins.module_utils import _ansible as glue
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError, NotFound, RunFailed

PARAMS = {"api_url": "https://api.test", "app_id": "app-1", "app_secret": "s3cret-app", "timeout": 30,
          "validate_certs": True, "quota_reserve": 0, "ca_path": None, "token_url": None, "access_token": None}


@pytest.fixture
def scripted(monkeypatch):
    """``scripted(*calls)``: the clients that ``execute`` builds talk to a scripted transport."""
    made = []

    def install(*calls):
        transport = ScriptedTransport(*calls)

        def client(settings, pool_size=1):
            made.append(pool_size)
            return make_client(transport, **{k: v for k, v in vars(settings).items() if k != "token_url"})
        monkeypatch.setattr(glue, "ApiClient", client)
        return transport, made
    return install


def fake_module(monkeypatch, run):
    """A module ``test`` whose engine entry point is ``run(client, params, check_mode, on_secret, warn)``."""
    monkeypatch.setitem(glue.SPECS, "test", glue.ModuleSpec(options={}, run=run))


def test_short_or_numeric_secrets_are_masked_by_key_only():
    assert glue.no_log_values(["Sip-Long-Enough", "123456", "abc", "", "+7 916 123-45-67"]) == {"Sip-Long-Enough"}
    params = {"app_secret": "s3cret-app", "bindings": [{"extension": "100", "password": 4711}, "x"], "label": "a"}
    spec = glue.SPECS["extension_phones"].argument_spec
    assert glue.masked_params(params, spec) == {
        "app_secret": glue.NO_LOG_MARK, "bindings": [{"extension": "100", "password": glue.NO_LOG_MARK}, "x"],
        "label": "a"}


def test_configuration_errors_fail_before_any_client_exists(monkeypatch):
    fake_module(monkeypatch, lambda *a: pytest.fail("must not run"))
    result, secrets = glue.execute("test", dict(PARAMS, app_id=None), False, print)
    assert result == {"failed": True, "changed": False, "msg": result["msg"]} and "no API credentials" in result["msg"]
    assert secrets == set()


def test_success_adds_requests_quota_and_returns_the_secrets_to_mask(monkeypatch, scripted):
    transport, pools = scripted(token("tok-77"), Call("GET", "/client/@me/", reply={"id": 1}))

    def run(client, params, check_mode, on_secret, warn):
        client.get("/client/@me/")
        on_secret("read-back-secret")
        return {"changed": check_mode}

    fake_module(monkeypatch, run)
    result, secrets = glue.execute("test", PARAMS, True, print)
    transport.assert_done()
    assert result["changed"] is True and result["requests"] == {"token": 1, "GET": 1, "total": 2, "retried": 0}
    assert set(result["quota"]) == {"limit", "remaining", "reset"}
    assert {"tok-77", "s3cret-app", "read-back-secret"} <= secrets and pools == [1]


@pytest.mark.parametrize("error", [InputError("bindings[0]: bad"), NotFound("extension id 9: not found")])
def test_errors_become_failed_results_with_the_message(monkeypatch, scripted, error):
    scripted()

    def run(*args):
        raise error

    fake_module(monkeypatch, run)
    result, _secrets = glue.execute("test", PARAMS, False, print)
    assert result["failed"] is True and result["msg"] == str(error) and result["changed"] is False
    assert result["requests"]["total"] == 0


def test_partial_failure_keeps_the_results(monkeypatch, scripted):
    scripted()

    def run(*args):
        raise RunFailed("1 of 2 failed", {"changed": True, "summary": {"failed": 1}})

    fake_module(monkeypatch, run)
    result, _secrets = glue.execute("test", PARAMS, False, print)
    assert result["failed"] and result["msg"] == "1 of 2 failed" and result["summary"] == {"failed": 1}
    assert result["changed"] is True and "requests" in result


def test_validate_certs_false_warns_and_the_pool_follows_parallel(monkeypatch, scripted):
    _transport, pools = scripted()
    monkeypatch.setitem(glue.SPECS, "test", glue.ModuleSpec(options={}, run=lambda *a: {}, pool_option="parallel"))
    warnings = []
    glue.execute("test", dict(PARAMS, validate_certs=False, parallel=3), False, warnings.append)
    assert warnings == [glue.CERT_WARNING] and pools == [3]


def test_masked_result_masks_everywhere_but_keeps_top_level_booleans_and_none():
    result = {"changed": True, "failed": None, "msg": "token tok-1 refused", "nested": [{"x": "tok-1"}], "n": 1}
    out = glue.masked_result(result, {"tok-1"})
    assert out == {"changed": True, "failed": None, "msg": "token ******** refused", "nested": [{"x": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}],
                   "n": 1}


def test_missing_library_names_urllib3_in_one_line(monkeypatch):
    monkeypatch.setattr(glue, "URLLIB3_IMPORT_ERROR", "Traceback ...\nModuleNotFoundError: No module named 'urllib3'")
    msg = glue.missing_library()
    assert "urllib3" in msg and "\n" not in msg and "Traceback" not in msg
    monkeypatch.setattr(glue, "URLLIB3_IMPORT_ERROR", None)
    assert glue.missing_library() is None


class Exited(Exception):
    def __init__(self, failed, result):
        super().__init__(result.get("msg"))
        self.failed = failed
        self.result = result


class FakeModule:
    """The part of AnsibleModule that run_module uses."""

    def __init__(self, **params):
        self.params = dict(PARAMS, **params)
        self.check_mode = False
        self.warnings = []
        self.no_log_values = set()

    def warn(self, text):
        self.warnings.append(text)

    def fail_json(self, **result):
        raise Exited(True, result)

    def exit_json(self, **result):
        raise Exited(False, result)


def test_run_module_fails_with_missing_required_lib_without_urllib3(monkeypatch):
    monkeypatch.setattr(glue, "URLLIB3_IMPORT_ERROR", "Traceback: No module named 'urllib3'")
    with pytest.raises(Exited) as out:
        glue.run_module(FakeModule(), "extension_info")
    assert out.value.failed and "Failed to import the required Python library (urllib3)" in out.value.result["msg"]


def test_run_module_maps_failed_results_to_fail_json_and_registers_secrets(monkeypatch, scripted):
    scripted()

    def run(client, params, check_mode, on_secret, warn):
        on_secret("tok-long-enough-9")
        on_secret("12345")
        raise InputError("bad")

    fake_module(monkeypatch, run)
    module = FakeModule()
    with pytest.raises(Exited) as out:
        glue.run_module(module, "test")
    assert out.value.failed and out.value.result["msg"] == "bad" and "failed" not in out.value.result
    assert {"tok-long-enough-9", "s3cret-app"} <= module.no_log_values and "12345" not in module.no_log_values


def module_output(monkeypatch, capsys, name, args):
    """What the real ``AnsibleModule`` of ``name`` prints for ``args`` when validation stops it."""
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    with pytest.raises(SystemExit):
        glue.telphin_module(name)
    return capsys.readouterr().out


# Regression (secrets suite): a bad option of extension_phones next to a binding with a SIP password made
# AnsibleModule fail before the module ran; its result's `invocation` showed the password at -vvv.
def test_a_password_inside_bindings_is_hidden_also_when_the_options_are_refused(monkeypatch, capsys):
    args = {"bindings": [{"extension": "100", "password": "Sip-Hidden-1"}, {"extension": "101", "password": 555777}],
            "parallel": "many", "app_id": "app", "app_secret": "s3cret", "_ansible_keep_remote_files": False,
            **ASK_FOR_INVOCATION}
    out = module_output(monkeypatch, capsys, "extension_phones", args)
    result = json.loads(out)
    assert result["failed"] and "parallel" in result["msg"]
    assert "Sip-Hidden-1" not in out and "555777" not in out and "s3cret" not in out
    assert result["invocation"]["module_args"]["bindings"][0]["password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_nested_secrets_are_found_only_under_secret_keys():
    params = {"bindings": [{"extension": "100", "password": "pw-1", "label": "Desk"}, "not-a-dict",
                           {"extension": "101", "sip_secret": 12345, "password": True, "token": ""}],
              "label": "top-level values are the argument spec's business"}
    assert glue.nested_secrets(params) == {"pw-1", "12345"}
    assert glue.nested_secrets(None) == set()


def test_the_module_takes_extension_as_extension_name(monkeypatch, scripted):
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    args = {"extension": "100", "app_id": "app", "app_secret": "s3cret-app", "api_url": "https://api.test"}
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    module = glue.telphin_module("extension_phone_info")
    assert module.params["extension_name"] == "100" and module.params["extension_id"] is None
    transport, _pools = scripted(token(), Call("GET", "/client/@me/extension/",
                                               reply=[{"id": 7, "name": "000*100", "type": "phone"}]),
                                 Call("GET", "/client/@me/extension/", reply=[]),   # the empty page ends the list
                                 Call("GET", "/extension/7/phone/", reply={"label": "Desk"}))
    result, _secrets = glue.execute("extension_phone_info", module.params, False, print)
    transport.assert_done()
    assert result["extension_id"] == 7 and result["extension_name"] == "000*100"


def test_the_module_refuses_half_an_app_pair(monkeypatch, capsys):
    monkeypatch.delenv("TELPHIN_APP_SECRET", raising=False)
    out = module_output(monkeypatch, capsys, "extension_info", {"app_id": "app", "access_token": "tok-long-enough-2"})
    result = json.loads(out)
    assert result["failed"] and result["msg"] == "parameters are required together: app_id, app_secret"
    assert "tok-long-enough-2" not in out
