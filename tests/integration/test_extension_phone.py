"""telphin.pbx.extension_phone(_info) and extension_info through real ansible-playbook runs."""

from __future__ import annotations

import json

from harness import api_calls, module_play, save, tenant_world, token_calls

SECRET = "secret-tenant1-Xq9"
SIP_PASSWORD = "Sip-Pass-4711"

BIND = """\
- name: Bind the mobile number
  telphin.pbx.extension_phone:
    extension_name: "101"
    external_number: "+7 (999) 123-45-67"
    label: Desk 1
  register: bind
""" + save("bind", "bind")


def phone_of(emu, ext_id):
    for client in emu.state()["clients"]:
        for ext in client["extensions"]:
            if ext["id"] == ext_id:
                return ext["phone"]
    raise KeyError(ext_id)


def test_first_run_changes_second_run_sends_no_put(emulator_factory, playbook):
    emu = emulator_factory(tenant_world())
    before = emu.state()
    first = playbook(module_play(BIND, emu.url, SECRET))
    assert first.rc == 0, first.output
    assert first.results["bind"]["changed"] is True
    puts = api_calls(emu.requests(), "PUT")
    assert len(puts) == 1 and puts[0]["path"].endswith("/extension/2/phone/")
    assert puts[0]["body"] == {"external_number": "+79991234567"}       # only the differing key
    assert phone_of(emu, 2)["external_number"] == "+79991234567"
    untouched = dict(phone_of(emu, 2), external_number=None)
    assert untouched == phone_of_state(before, 2)                       # nothing else changed
    assert first.results["bind"]["requests"] == {"token": 1, "GET": 3, "PUT": 1, "total": 5, "retried": 0}  # list: 2 pages
    assert len(token_calls(emu.requests())) == 1

    emu.requests(clear=True)
    second = playbook(module_play(BIND, emu.url, SECRET))
    assert second.rc == 0, second.output
    assert second.results["bind"]["changed"] is False
    assert api_calls(emu.requests(), "PUT") == []
    assert "changed=0" in second.stdout


def phone_of_state(state, ext_id):
    return next(e["phone"] for c in state["clients"] for e in c["extensions"] if e["id"] == ext_id)


def test_check_mode_sends_no_put_and_predicts_the_diff(emulator_factory, playbook):
    emu = emulator_factory(tenant_world())
    run = playbook(module_play(BIND, emu.url, SECRET), None, "--check", "--diff")
    assert run.rc == 0, run.output
    assert api_calls(emu.requests(), "PUT") == []
    assert run.results["bind"]["changed"] is True
    assert run.results["bind"]["phone"]["external_number"] == "+79991234567"
    assert '-    "external_number": null' in run.stdout and '+    "external_number": "+79991234567"' in run.stdout
    assert phone_of(emu, 2)["external_number"] is None


def test_unknown_keys_pass_through_and_unset_options_are_not_sent(emulator_factory, playbook):
    emu = emulator_factory(tenant_world())
    tasks = """\
- name: Only the label
  telphin.pbx.extension_phone:
    extension_id: 3
    label: Sales
"""
    assert playbook(module_play(tasks, emu.url, SECRET)).rc == 0
    assert api_calls(emu.requests(), "PUT")[0]["body"] == {"label": "Sales"}
    assert phone_of(emu, 3)["dtmf_mode"] == "rfc2833"


def test_revoked_token_mid_run_recovers_with_one_new_token(emulator_factory, playbook):
    emu = emulator_factory(tenant_world())
    emu.set_faults([{"match": {"method": "GET", "path": "/phone/"}, "action": "revoke_token", "times": 1}])
    run = playbook(module_play(BIND, emu.url, SECRET))
    assert run.rc == 0, run.output
    assert len(token_calls(emu.requests())) == 2
    assert phone_of(emu, 2)["external_number"] == "+79991234567"


def test_503_is_retried(emulator_factory, playbook):
    emu = emulator_factory(tenant_world())
    emu.set_faults([{"match": {"method": "PUT"}, "action": "status", "status": 503, "times": 1}])
    run = playbook(module_play(BIND, emu.url, SECRET))
    assert run.rc == 0, run.output
    assert len(api_calls(emu.requests(), "PUT")) == 2
    assert run.results["bind"]["requests"]["retried"] == 1


def test_quota_429_fails_fast_with_the_reset_time(emulator_factory, playbook):
    emu = emulator_factory(tenant_world())
    emu.set_quota(1001, remaining=2, reset_in=1800)   # the token is free; the list's two pages use the last two
    run = playbook(module_play(BIND, emu.url, SECRET))
    assert run.rc != 0
    assert "quota" in run.stdout and "resets in 1" in run.stdout
    assert api_calls(emu.requests(), "PUT") == []
    assert len(emu.requests()) <= 4                   # token, 2 list pages, at most one 429: no retry storm


def test_bad_input_fails_before_any_request(emulator_factory, playbook):
    emu = emulator_factory(tenant_world())
    tasks = """\
- name: A letter in the number
  telphin.pbx.extension_phone:
    extension_name: "101"
    external_number: "+7 999 CALL-ME"
"""
    run = playbook(module_play(tasks, emu.url, SECRET))
    assert run.rc != 0 and "external_number '+7 999 CALL-ME' (+7999225563) is not a possible phone number" in run.stdout
    assert "Traceback" not in run.output
    assert emu.requests() == []


def test_an_unquoted_extension_name_is_refused_before_any_request(emulator_factory, playbook):
    # YAML reads 0101 as the octal number 65 and 100 as an integer: as a str option, "65" reached the engine and
    # named another extension. Both modules that take extension_name refuse it, on both of its names.
    emu = emulator_factory(tenant_world())
    tasks = """\
- name: An unquoted name
  telphin.pbx.extension_phone:
    extension_name: 0101
    label: Desk
  register: unquoted
  ignore_errors: true
- name: The alias, unquoted
  telphin.pbx.extension_phone_info:
    extension: 100
  register: unquoted_info
  ignore_errors: true
""" + save("unquoted", "unquoted") + save("unquoted_info", "unquoted_info")
    run = playbook(module_play(tasks, emu.url, SECRET))
    assert run.rc == 0, run.output
    assert run.results["unquoted"]["msg"].startswith("extension 65 is an integer, not a string: quote the name")
    assert run.results["unquoted_info"]["msg"].startswith("extension 100 is an integer, not a string")
    assert emu.requests() == []


def test_non_phone_extension_is_refused_without_a_write(emulator_factory, playbook):
    emu = emulator_factory(tenant_world())
    tasks = """\
- name: A queue has no phone terminal
  telphin.pbx.extension_phone:
    extension_name: "500"
    external_number: "+79991234567"
"""
    run = playbook(module_play(tasks, emu.url, SECRET))
    assert run.rc != 0 and "queue extension, not a phone" in run.stdout
    assert api_calls(emu.requests(), "PUT") == []


def test_no_secret_in_vvvv_output(emulator_factory, playbook):
    emu = emulator_factory(tenant_world())
    tasks = BIND + """\
- name: Set a SIP password
  telphin.pbx.extension_phone:
    extension_id: 2
    password: {pw}
  register: pw
""".format(pw=SIP_PASSWORD) + save("pw", "pw") + """\
- name: Read the phone
  telphin.pbx.extension_phone_info:
    extension_id: 2
  register: info
""" + save("info", "info")
    run = playbook(module_play(tasks, emu.url, SECRET), None, "-vvvv", "--diff")
    assert run.rc == 0, run.output
    assert phone_of(emu, 2)["password"] == SIP_PASSWORD
    assert run.results["pw"]["changed"] is True
    everything = run.output + json.dumps(run.results)
    for secret in [SECRET, SIP_PASSWORD] + emu.tokens():
        assert secret not in everything


def test_info_modules_read_without_writing(emulator_factory, playbook):
    emu = emulator_factory(tenant_world(bound=2))
    tasks = """\
- name: List phones
  telphin.pbx.extension_info:
    type: phone
  register: exts
""" + save("exts", "exts") + """\
- name: Read every phone
  telphin.pbx.extension_phone_info:
  register: phones
""" + save("phones", "phones")
    run = playbook(module_play(tasks, emu.url, SECRET))
    assert run.rc == 0, run.output
    assert [e["short_name"] for e in run.results["exts"]["extensions"]] == ["100", "101", "102", "103"]
    phones = run.results["phones"]["phones"]
    assert [p["phone"]["external_number"] for p in phones] == ["+79000010000", "+79000010001", None, None]
    assert api_calls(emu.requests(), "PUT") == []
