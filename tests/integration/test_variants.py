"""The rollout against every provider variant of the emulator (docs/emulator.md, "Provider variants").

Each variant is a way a white-label provider's API may differ where the public sources are silent. The
rollout (the ``rollout_bindings`` playbook, the ``phone_bindings`` role) must converge against each, or
refuse with a clear message where it must, and a second run must change nothing.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from harness import api_calls, desired_number, module_play, tenant_world, token_calls
from tests.emulator import VARIANTS
from tests.reliability.lib import TENANT_SECRET, tenant_inventory

T, PHONES = 2, 35                   # 35 phones and a queue: more than a page of 30
LIST = "/extension/"


def world() -> Dict[str, Any]:
    data = tenant_world(tenants=T, phones=PHONES, bound=2)
    data["clients"][0]["bundles"] = [{"main": 1, "members": [1, 2]}]      # tenant 1's phones 100 and 101
    return data


def bindings(n: int) -> List[Dict[str, Any]]:
    """Numbers on 100-103, a synchronised key given alike to both bundle members, every country on 102."""
    items: List[Dict[str, Any]] = [{"extension": str(100 + i), "external_number": desired_number(n, i)}
                                   for i in range(4)]
    items[0]["record_enabled"] = items[1]["record_enabled"] = True
    items[2]["geo_list"] = ["*"]
    return items


def converged(state: Dict[str, Any]) -> bool:
    for n in range(1, T + 1):
        client = next(c for c in state["clients"] if c["id"] == 1000 + n)
        phones = {e["name"].split("*")[1]: e.get("phone") for e in client["extensions"]}
        for i in range(4):
            if phones[str(100 + i)]["external_number"] != desired_number(n, i):
                return False
        if not (phones["100"]["record_enabled"] and phones["101"]["record_enabled"]) or phones["102"]["geo_list"] != "*":
            return False
    return True


def list_reads(log: List[Dict[str, Any]]) -> Dict[str, List[tuple]]:
    """By list path: (per_page, page, status) of each read, in order (a 401's repetition with a new token once)."""
    reads: Dict[str, List[tuple]] = {}
    for r in log:
        if r["method"] == "GET" and r["path"].endswith(LIST) and "/client/" in r["path"] and r["status"] != 401:
            reads.setdefault(r["path"], []).append((r["query"].get("per_page"), r["query"].get("page"), r["status"]))
    return reads


ROLLED_OUT = sorted(set(VARIANTS) - {"endless-pages"})
LATENCY = {"short-token": 400}       # the run outlasts the 1 s token: it expires mid-run


@pytest.mark.parametrize("variant", ROLLED_OUT)
def test_the_rollout_converges_against_every_provider_variant(emulator_factory, playbook, variant):
    emu = emulator_factory(world(), variant=variant, latency_ms=LATENCY.get(variant, 0))
    inv = tenant_inventory(emu.url, {n: bindings(n) for n in range(1, T + 1)})
    run = playbook("telphin.pbx.rollout_bindings", inv)
    assert run.rc == 0, run.output[-3000:]
    log = emu.requests(clear=True)
    assert converged(emu.state())
    again = playbook("telphin.pbx.rollout_bindings", inv)
    assert again.rc == 0 and again.stdout.count("changed=0") == T, again.output[-3000:]
    rerun_log = emu.requests()
    assert api_calls(rerun_log, "PUT") == []
    defaults = emu.engine.world.defaults
    reads = list_reads(log)

    expected = {"page-cap-refuses": [("500", "1", 400), ("200", "1", 200), ("200", "2", 200)],   # once per run
                "page-cap-422": [("500", "1", 422), ("200", "1", 422), ("30", "1", 200), ("30", "2", 200)]}.get(
        variant, [("500", "1", 200), ("500", "2", 200)])   # page-cap-clamps: 30 rows for 500 asked, then 6
    assert list(reads.values()) == [expected] * T, reads
    if defaults["bundle_listing"] is not True:  # any "not supported" answer: a warning, conflicts found after writes
        assert "this API does not list bundles" in run.output
        assert [r["status"] for r in api_calls(log, "GET", "extensions_bundle")] == [defaults["bundle_listing"]] * T
    else:
        assert "this API does not list bundles" not in run.output
    if variant == "short-token":                # the expired token was renewed and the refused request repeated
        assert any(r["status"] == 401 for r in log) and len(token_calls(log)) > T
    if variant == "extra-phone-key":            # a key the collection does not manage: never sent, kept
        assert all("sip_transport" not in p["body"] for p in api_calls(log, "PUT"))
        assert {e["phone"]["sip_transport"] for c in emu.state()["clients"] for e in c["extensions"]
                if "phone" in e} == {"udp"}
    # Accept-Encoding: gzip, as the provider's request rules require; the emulator compresses when asked
    assert all("gzip" in r["accept_encoding"] for r in log)
    assert {r["content_encoding"] for r in log if r["status"] == 200} == ({"gzip"} if defaults["gzip"] else {None})


def test_a_binding_of_a_key_this_provider_lacks_fails_that_item_clearly(emulator_factory, playbook):
    emu = emulator_factory(world(), variant="missing-phone-key")
    items = bindings(1)
    items[3]["incoming_limit"] = 2
    run = playbook("telphin.pbx.rollout_bindings", tenant_inventory(emu.url, {1: items}))
    assert run.rc != 0
    out = " ".join(run.stdout.split())
    assert "1 of 4 extension(s) failed" in out and "010*103 (id 4)" in out and "incoming_limit" in out
    assert [p["path"] for p in api_calls(emu.requests(), "PUT") if p["status"] != 200] == \
        ["/api/ver1.0/extension/4/phone/"]


def test_a_list_that_never_ends_is_refused_before_any_write(emulator_factory, playbook):
    emu = emulator_factory(world(), variant="endless-pages")
    run = playbook("telphin.pbx.rollout_bindings", tenant_inventory(emu.url, {1: bindings(1)}))
    assert run.rc != 0
    assert "GET /client/1001/extension/: the list does not end" in " ".join(run.stdout.split())
    log = emu.requests()
    assert api_calls(log, "PUT") == [] and len(list_reads(log)["/api/ver1.0/client/1001/extension/"]) == 101
    # 100 full pages of 500 new rows make the bound of 50000; page 101 goes past it


def test_extension_info_lists_and_filters_conference_extensions(emulator_factory, playbook):
    emu = emulator_factory(world(), variant="conference-extensions")
    tasks = """\
- name: Every extension
  telphin.pbx.extension_info:
  register: every
- name: Conference extensions only
  telphin.pbx.extension_info:
    type: conference
  register: conferences
- name: Save
  ansible.builtin.copy:
    content: "{{ {'every': every.extensions, 'conferences': conferences.extensions} | to_json }}"
    dest: "{{ results_dir }}/lists.json"
    mode: "0600"
"""
    run = playbook(module_play(tasks, emu.url, TENANT_SECRET % 1))
    assert run.rc == 0, run.output[-3000:]
    lists = run.results["lists"]
    conference = [e for e in lists["every"] if e["type"] == "conference"]
    assert len(lists["every"]) == PHONES + 2 and len(conference) == 1
    assert lists["conferences"] == conference and conference[0]["short_name"] == "501"
