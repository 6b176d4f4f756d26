"""TLS: the emulator over HTTPS with its self-signed certificate.

Default settings refuse it with a message that names ``ca_path`` and ``validate_certs``; ``ca_path`` (option
or ``TELPHIN_CA_PATH``) makes it work; ``validate_certs: false`` works and warns. Both must also hold when
the environment sets ``REQUESTS_CA_BUNDLE`` (as many CI images and corporate hosts do), which ``requests``
would otherwise let override the module's own settings.
"""

from __future__ import annotations

import json

import pytest

from harness import api_calls, play, tenant_world
from tests.emulator import Emulator
from tests.reliability.lib import Ansible, record

try:
    import certifi
    OTHER_BUNDLE = certifi.where()
except ImportError:  # pragma: no cover - requests depends on certifi
    OTHER_BUNDLE = None

CASES = {
    # name: (extension id, extra options, environment of the task, succeeds?)
    "default": (1, {}, {}, False),
    "ca_path": (2, {"ca_path": "{{ ca }}"}, {}, True),
    "ca_path_env": (3, {}, {"TELPHIN_CA_PATH": "{{ ca }}"}, True),
    "no_validation": (4, {"validate_certs": False}, {}, True),
    "default_with_bundle_env": (1, {}, {"REQUESTS_CA_BUNDLE": OTHER_BUNDLE}, False),
    "ca_path_with_bundle_env": (5, {"ca_path": "{{ ca }}"}, {"REQUESTS_CA_BUNDLE": OTHER_BUNDLE}, True),
    "no_validation_with_bundle_env": (6, {"validate_certs": False}, {"REQUESTS_CA_BUNDLE": OTHER_BUNDLE}, True),
}


def tls_play(url: str, ca: str) -> str:
    tasks = []
    for name, (ext_id, options, environment, _succeeds) in CASES.items():
        task = {"name": "TLS case %s" % name,
                "telphin.pbx.extension_phone": dict({"extension_id": ext_id, "label": "TLS %s" % name}, **options),
                "register": name, "ignore_errors": True}
        if environment:
            task["environment"] = environment
        tasks.append(json.dumps(task))
    saved = "{%s}" % ", ".join("'%s': %s" % (name, name) for name in CASES)
    tasks.append(json.dumps({"name": "Save the results", "ansible.builtin.copy": {
        "content": "{{ %s | to_json }}" % saved, "dest": "{{ results_dir }}/tls.json", "mode": "0600"}}))
    return play("\n".join("- %s" % task for task in tasks), "TLS", play_vars={"ca": ca},
                module_defaults={"api_url": url, "app_id": "tenant1-app", "app_secret": "secret-tenant1-Xq9"})


@pytest.mark.skipif(OTHER_BUNDLE is None, reason="certifi is not installed")
def test_tls(tmp_path):
    ansible = Ansible(tmp_path)
    with Emulator(tenant_world(phones=6), tls=True) as emu:
        url = emu.url
        run = ansible.run(str(ansible.write("tls.yml", tls_play(emu.url, emu.ca_path))), {"all": {"hosts": {
            "localhost": {}}}})
        log = emu.requests()
        labels = {e["id"]: e["phone"]["label"] for c in emu.state()["clients"] for e in c["extensions"]
                  if "phone" in e}
    results = run.results.get("tls", {})
    assert set(results) == set(CASES), run.output[-3000:]
    assert "Traceback" not in run.output
    outcome = {}
    for name, (ext_id, _options, _environment, succeeds) in CASES.items():
        result = results[name]
        outcome[name] = "applied" if not result.get("failed") else "refused"
        if succeeds:
            assert not result.get("failed"), (name, result.get("msg"))
            assert result["changed"] is True and labels[ext_id] == "TLS %s" % name
        else:
            assert result["failed"], name
            assert "TLS verification of %s failed" % url in result["msg"]
            assert "give the CA certificate with ca_path, or set validate_certs: false" in result["msg"]
            assert result["requests"]["total"] == 1          # the token request, refused by TLS, not retried
    # validate_certs: false warns in the result of each task that used it (ansible-core 2.19 prints a
    # repeated warning once), and only there
    warning = "validate_certs is false: the API server's TLS certificate is not verified"
    for name in CASES:
        assert (warning in " ".join(results[name].get("warnings", []))) == ("no_validation" in name), name
    assert "[WARNING]: " + warning in " ".join(run.output.split())     # 2.16 wraps long warnings
    assert labels[1] == "Desk 0" and not api_calls([r for r in log if r["path"].endswith("/1/phone/")], "PUT")
    record("tls", {"cases": outcome, "passed": sorted(CASES)})
