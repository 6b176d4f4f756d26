"""telphin.pbx.api_info and the check_api playbook against the emulator's provider variants (docs/emulator.md).

Each variant is reported as what it is, with the request count the module documents, zero writes (the emulator's
request log holds only reads and the token requests) and no secret in the output.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

import pytest

from harness import module_play, tenant_world, token_calls
from tests.reliability.lib import TENANT_SECRET, tenant_inventory

PHONES = 35                 # 35 phones and a queue: 36 rows, more than a page of 30, less than one of 200


def writes(log: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [r for r in log if r["method"] != "GET" and r not in token_calls(log)]


# variant -> (requests, what the line says besides the common part, findings); the emulator's phones all carry the
# vendor key dtmf_mode, which the collection does not manage (+1)
EXPECTED = {
    "reference": (6, "per_page 500 (cap not provable) | bundles listed | phone keys +1 -0", "unmanaged_phone_keys"),
    "no-rate-limit-headers": (6, "per_page 500 (cap not provable) | bundles listed | phone keys +1 -0",
                              "no_rate_limit_headers, unmanaged_phone_keys"),
    "page-cap-clamps": (6, "per_page 500 capped at 30 | bundles listed | phone keys +1 -0",
                        "page_cap, unmanaged_phone_keys"),
    "page-cap-refuses": (7, "per_page 200 (cap not provable) | bundles listed | phone keys +1 -0",
                         "page_size_refused, unmanaged_phone_keys"),
    "page-cap-422": (8, "per_page 30 honoured | bundles listed | phone keys +1 -0",
                     "page_size_refused, unmanaged_phone_keys"),
    "no-bundle-listing": (6, "per_page 500 (cap not provable) | bundles not listed | phone keys +1 -0",
                          "no_bundle_listing, unmanaged_phone_keys"),
    "bundle-listing-405": (6, "per_page 500 (cap not provable) | bundles not listed | phone keys +1 -0",
                           "no_bundle_listing, unmanaged_phone_keys"),
    "extra-phone-key": (6, "per_page 500 (cap not provable) | bundles listed | phone keys +2 -0",
                        "unmanaged_phone_keys"),
    "missing-phone-key": (6, "per_page 500 (cap not provable) | bundles listed | phone keys +1 -1",
                          "unmanaged_phone_keys, missing_phone_keys"),
    "short-token": (None, "per_page 500 (cap not provable) | bundles listed | phone keys +1 -0",
                    "short_token, unmanaged_phone_keys"),
}


@pytest.mark.parametrize("variant", sorted(EXPECTED))
def test_check_api_reports_each_provider_variant_without_a_write(emulator_factory, playbook, variant):
    emu = emulator_factory(tenant_world(tenants=1, phones=PHONES), variant=variant)
    run = playbook("telphin.pbx.check_api", tenant_inventory(emu.url, {1: []}))
    assert run.rc == 0, run.output[-3000:]
    log = emu.requests()
    assert writes(log) == []
    count, middle, findings = EXPECTED[variant]
    token = "token 1 s" if variant == "short-token" else "token 3600 s"
    quota = "no rate-limit headers" if variant == "no-rate-limit-headers" else r"quota \d+/100000 left"
    lines = re.findall(r'"msg": "(tenant1: .*)"', run.stdout)
    assert len(lines) == 1, run.stdout[-2000:]
    pattern = r"tenant1: client 1001: app_id/app_secret, %s \| %s \| %s \| clock [+-][01] s \| (\d+) requests, " \
              r"no write \| findings: %s$" % (token, quota, re.escape(middle), findings)
    match = re.match(pattern, lines[0])
    assert match, lines[0]
    if count is not None:      # a 1 s token may expire during the probe: renewed, and its request repeated
        assert int(match.group(1)) == count == len(log)
    assert TENANT_SECRET % 1 not in run.output and not any(t in run.output for t in emu.tokens())


def test_api_info_data_for_a_provider_that_differs_everywhere(emulator_factory, playbook):
    emu = emulator_factory(tenant_world(tenants=1, phones=PHONES),
                           variant=["page-cap-422", "no-rate-limit-headers", "no-bundle-listing", "extra-phone-key",
                                    "missing-phone-key", "conference-extensions"])
    tasks = """\
- name: Probe in check mode
  telphin.pbx.api_info:
  check_mode: true
  register: probe
- name: A scheduled run that knows the provider lists no bundles
  telphin.pbx.api_info:
    client_id: "1001"
    bundle_listing: false
  register: known
- name: Save
  ansible.builtin.copy:
    content: "{{ {'probe': probe, 'known': known} | to_json }}"
    dest: "{{ results_dir }}/probe.json"
    mode: "0600"
"""
    run = playbook(module_play(tasks, emu.url, TENANT_SECRET % 1))
    assert run.rc == 0, run.output[-3000:]
    log = emu.requests()
    assert writes(log) == []
    probe, known = run.results["probe"]["probe"], run.results["probe"]["known"]
    info = probe["api_info"]
    assert info["findings"] == ["no_rate_limit_headers", "page_size_refused", "no_bundle_listing",
                                "unmanaged_phone_keys", "missing_phone_keys"]
    assert info["tenant"] == dict(info["tenant"], client_id=1001, extensions=PHONES + 2,
                                  by_type={"phone": PHONES, "queue": 1, "conference": 1})
    assert {k: info["paging"][k] for k in ("per_page", "refused", "first_page_rows", "rows", "pages", "honoured")} \
        == {"per_page": 30, "refused": [500, 200], "first_page_rows": 30, "rows": 37, "pages": 2, "honoured": True}
    assert info["quota"]["headers"] is False and info["quota"]["limit"] is None
    assert info["bundles"] == dict(info["bundles"], asked=True, listed=False, status=404)
    assert info["phone"]["unmanaged_keys"] == ["dtmf_mode", "sip_transport"] and info["phone"]["missing_keys"] == ["incoming_limit"]
    assert info["authentication"]["token_url"] == emu.url + "/oauth/token"
    assert probe["requests"]["total"] == info["requests"] == 8 and len(probe["summary"]) == 8
    # bundle_listing: false: no bundle request, said in the result; the page size is learnt again (a new run)
    assert known["api_info"]["bundles"]["asked"] is False and "not asked" in known["api_info"]["bundles"]["note"]
    assert "no_bundle_listing" not in known["api_info"]["findings"] and known["requests"]["total"] == 7
    assert len([r for r in log if "extensions_bundle" in r["path"]]) == 1
    assert TENANT_SECRET % 1 not in run.output and not any(t in run.output for t in emu.tokens())


def test_a_rollout_told_bundle_listing_false_skips_the_request_and_the_warning(emulator_factory, playbook):
    """The finding no_bundle_listing acted on: telphin_bundle_listing: false (the role passes it to extension_phones)."""
    emu = emulator_factory(tenant_world(tenants=1, phones=4), variant="no-bundle-listing")
    bindings = [{"extension": "100", "record_enabled": True}, {"extension": "101", "record_enabled": True}]
    warned = playbook("telphin.pbx.rollout_bindings", tenant_inventory(emu.url, {1: bindings}))
    assert warned.rc == 0 and "this API does not list bundles" in warned.output, warned.output[-3000:]
    assert len([r for r in emu.requests(clear=True) if "extensions_bundle" in r["path"]]) == 1
    bindings[0]["record_enabled"] = bindings[1]["record_enabled"] = False
    told = playbook("telphin.pbx.rollout_bindings", tenant_inventory(emu.url, {1: bindings},
                                                                     telphin_bundle_listing=False), "-v")
    assert told.rc == 0, told.output[-3000:]
    assert "this API does not list bundles" not in told.output and "WARNING" not in told.output.replace(
        "[WARNING]: Collection", "")
    assert "not asked (bundle_listing: false)" in told.stdout
    log = emu.requests()
    assert [r for r in log if "extensions_bundle" in r["path"]] == []
    assert len([r for r in log if r["method"] == "PUT"]) == 2
    assert sorted(r["path"] for r in log if r["method"] == "GET" and r["path"].endswith("/phone/")) == \
        ["/api/ver1.0/extension/%d/phone/" % i for i in (1, 1, 2, 2)]     # read, then read back after the writes


def test_check_api_prints_one_line_for_a_tenant_whose_probe_fails(emulator_factory, playbook):
    emu = emulator_factory(tenant_world(tenants=2, phones=2))
    wrong = "Wrong-Secret-Of-Tenant-2"
    run = playbook("telphin.pbx.check_api", tenant_inventory(emu.url, {1: [], 2: []}, {1: TENANT_SECRET % 1, 2: wrong}))
    assert run.rc != 0
    out = " ".join(run.stdout.split())
    assert "tenant1: client 1001: app_id/app_secret" in out
    assert "tenant2: the probe failed: the token endpoint refused app_id 'tenant2-app'" in out
    assert wrong not in run.output and TENANT_SECRET % 1 not in run.output and writes(emu.requests()) == []
