"""The Ansible glue: option handling, error mapping and secret registration in one place."""

from __future__ import annotations

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils import module as glue
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError, NotFound, RunFailed


class Exited(Exception):
    def __init__(self, failed, result):
        super().__init__(result.get("msg"))
        self.failed = failed
        self.result = result


class FakeModule:
    """The part of AnsibleModule that run_module uses."""

    def __init__(self, **params):
        self.params = dict({"api_url": "https://api.test", "app_id": "app", "app_secret": "s3cret", "timeout": 30,
                            "validate_certs": True, "quota_reserve": 0}, **params)
        self.warnings = []
        self.no_log_values = set()

    def warn(self, text):
        self.warnings.append(text)

    def fail_json(self, **result):
        raise Exited(True, result)

    def exit_json(self, **result):
        raise Exited(False, result)


def run(module, execute):
    with pytest.raises(Exited) as outcome:
        glue.run_module(module, execute)
    return outcome.value


def test_missing_urllib3_fails_with_missing_required_lib(monkeypatch):
    monkeypatch.setattr(glue, "URLLIB3_IMPORT_ERROR", "Traceback: No module named 'urllib3'")
    out = run(FakeModule(), lambda client: {})
    assert out.failed and "Failed to import the required Python library (urllib3)" in out.result["msg"]


def test_configuration_errors_fail_before_any_client_exists():
    out = run(FakeModule(app_id=None), lambda client: pytest.fail("must not run"))
    assert out.failed and "no API credentials" in out.result["msg"]


def test_success_adds_requests_quota_and_masks_issued_tokens():
    def execute(client):
        client.secrets.add("token-123")
        return {"changed": True}

    module = FakeModule()
    out = run(module, execute)
    assert not out.failed and out.result["changed"] is True
    assert out.result["requests"]["total"] == 0 and "quota" in out.result
    assert "token-123" in module.no_log_values
    # a 6-character secret is masked by key only: as a no-log value Ansible would mask it inside other values
    assert "s3cret" not in module.no_log_values


@pytest.mark.parametrize("error", [InputError("bindings[0]: bad"), NotFound("extension id 9: not found")])
def test_errors_become_fail_json_with_the_message(error):
    def execute(client):
        raise error

    out = run(FakeModule(), execute)
    assert out.failed and out.result["msg"] == str(error) and out.result["changed"] is False


def test_partial_failure_keeps_the_results():
    def execute(client):
        raise RunFailed("1 of 2 failed", {"changed": True, "summary": {"failed": 1}})

    out = run(FakeModule(), execute)
    assert out.failed and out.result["summary"] == {"failed": 1} and out.result["changed"] is True


def test_validate_certs_false_warns():
    module = FakeModule(validate_certs=False)
    run(module, lambda client: {})
    assert any("validate_certs is false" in w for w in module.warnings)


# Regression (secrets suite): a bad option of extension_phones next to a binding with a SIP password made
# AnsibleModule fail before the module ran; its result's `invocation` showed the password at -vvv.
def test_a_password_inside_bindings_is_hidden_also_when_the_options_are_refused(monkeypatch, capsys):
    import json

    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    args = {"bindings": [{"extension": "100", "password": "Sip-Hidden-1"}, {"extension": "101", "password": 555777}],
            "parallel": "many", "app_id": "app", "app_secret": "s3cret", "_ansible_keep_remote_files": False}
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    with pytest.raises(SystemExit):
        glue.telphin_module({"bindings": {"type": "list", "elements": "dict"}, "parallel": {"type": "int"}})
    out = capsys.readouterr().out
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
