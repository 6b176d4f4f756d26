"""Issue 30, item 5 through real ``ansible-playbook`` runs against the emulator: an extension name is the tenant's
text, and what a person reads of it is escaped (``_words.shown``), in every message the collection writes.

A tenant's staff name two phones with a newline, ESC and C1 sequences, a carriage return, a forged ``PLAY RECAP``
line, a line separator (U+2028) and a right-to-left override (U+202E). The play shows them in a diff header (check
mode with ``--diff``, both modules), in the blast-radius guard's refusal and in the bundle read-back's failure;
the recap printed must stay the only one, and no raw control character may reach the terminal.

Ansible's own output of a result's data (the failed task's JSON; every result at ``-v``) escapes C0 controls but
prints C1, U+2028 and bidi characters as they are: that is the tenant's data, kept exact. The collection's text
(``msg``, warnings, diff headers) escapes them all; the test parses each printed result to check its ``msg``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List

import pytest

from harness import api_calls, module_play, tenant_world
from tests.reliability.lib import TENANT_SECRET, phones, tenant_inventory

FORGED = "\nPLAY RECAP *********************************************************************\n" \
         "localhost                  : ok=9    changed=0    unreachable=0    failed=0    skipped=0"
HOSTILE = "100" + FORGED + "\x1b[2K\x1b[1A\r\x9b2J\x1b]0;owned\x07\u2028\u2029\u202e\u2066x"
HOSTILE_2 = "101\n\x1b[31mred\x1b[0m\u202eevil"
C0 = re.compile("[\x00-\x08\x0b-\x1f\x7f]")           # every C0 control but a line feed (and TAB), and DEL
OURS_ONLY = re.compile("[\x80-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")   # C1, separators, bidi

PLAY = """\
- name: A diff header (check mode, --diff)
  telphin.pbx.extension_phones:
    bindings: [{extension_id: 1, label: Reception}]
  check_mode: true
  diff: true
- name: A diff header of the single module
  telphin.pbx.extension_phone:
    extension_id: 1
    label: Reception
  check_mode: true
  diff: true
- name: The blast-radius guard's refusal lists the first phones by name
  telphin.pbx.extension_phones:
    bindings: [{extension_id: 1, label: A}, {extension_id: 2, label: B}]
    max_changes: 0
  ignore_errors: true
- name: The bundle read-back names both members of a bundle conflict
  telphin.pbx.extension_phones:
    bindings: [{extension_id: 2, record_enabled: true}, {extension_id: 3, record_enabled: false}]
    bundle_listing: false
    parallel: 1
  ignore_errors: true
- name: A lookup error names the extensions a short name matches
  telphin.pbx.extension_phones:
    bindings: [{extension: "evil", label: A}]
  ignore_errors: true
"""


def hostile_world() -> Dict[str, Any]:
    world = tenant_world(tenants=1, phones=4)
    client = world["clients"][0]
    client["extensions"][0]["name"] = "010*" + HOSTILE
    client["extensions"][1]["name"] = "010*" + HOSTILE_2
    client["extensions"][2]["name"] = "010\x1b[2J\n*evil"          # two extensions of short name evil
    client["extensions"][3]["name"] = "011\u202e*evil"
    client["bundles"] = [{"main": 2, "members": [2, 3]}]
    return world


def printed_results(stdout: str) -> List[Dict[str, Any]]:
    """Each result the default callback printed as JSON (``fatal: [h]: FAILED! => {...}``, ``ok: [h] => {...}``)."""
    found = []
    for line in stdout.split("\n"):       # not splitlines(): it would also split at U+2028 inside the data
        head, sep, body = line.partition(" => ")
        if sep and head.startswith(("fatal:", "ok:", "changed:")) and body.startswith("{"):
            found.append(json.loads(body))
    return found


def own_text(stdout: str) -> List[str]:
    """The collection's own text in the output: each printed result's msg and warnings, and the diff headers."""
    texts = [line for line in stdout.split("\n") if line.startswith(("--- before: ", "+++ after: ", "[WARNING]"))]
    for result in printed_results(stdout):
        texts.append(result.get("msg", ""))
        texts.extend(result.get("warnings", []))
    return texts


@pytest.mark.parametrize("verbosity", [[], ["-v", "--diff"]], ids=["default", "-v --diff"])
def test_hostile_extension_names_print_escaped(emulator_factory, playbook, verbosity):
    emu = emulator_factory(hostile_world())
    run = playbook(module_play(PLAY, emu.url, TENANT_SECRET % 1), None, *verbosity)
    out = run.stdout
    assert run.rc == 0, run.output
    # the recap printed is Ansible's own, once; no forged line starts anywhere
    assert len([line for line in out.split("\n") if line.startswith("PLAY RECAP")]) == 1
    assert not re.search(r"(?m)^localhost\s+: ok=9 ", out)
    # no raw ESC, CR, BEL or other C0 control reaches the terminal, whatever printed it
    assert C0.findall(out) == [], [line for line in out.split("\n") if C0.search(line)][:3]
    # the collection's own text holds no C1, separator or bidi character either, and shows the names escaped
    texts = own_text(out)
    assert [t for t in texts if OURS_ONLY.search(t)] == []
    assert [line for t in texts for line in t.split("\n") if line.startswith(("PLAY RECAP", "localhost"))] == []
    joined = "\n".join(texts)
    headers = [line for line in out.split("\n") if line.startswith(("--- before: ", "+++ after: "))]
    assert headers and all(h.endswith(" phone") for h in headers)
    assert "extension 010*100\\nPLAY RECAP ****" in headers[0]
    assert "\\x1b[2K\\x1b[1A\\r\\x9b2J\\x1b]0;owned\\x07\\u2028\\u2029\\u202e\\u2066x (id 1) phone" in headers[0]
    assert "refused by the blast-radius guard" in joined and "- 010*100\\nPLAY RECAP" in joined
    assert "bundle conflict on synchronised key record_enabled: 010*101\\n\\x1b[31mred\\x1b[0m\\u202eevil (id 2) was " \
        "given True, but the write of False to 010\\x1b[2J\\n*evil (id 3) set it here too" in joined   # the read-back
    assert "extension evil is ambiguous: it matches 010\\x1b[2J\\n*evil, 011\\u202e*evil" in joined


def assert_clean(out: str) -> str:
    """Ansible's recap once, no raw C0 control, none of C1, separators or bidi in the collection's own text; the
    collection's text, joined."""
    assert len([line for line in out.split("\n") if line.startswith("PLAY RECAP")]) == 1, out
    assert not re.search(r"(?m)^localhost\s+: ok=9 ", out)
    assert C0.findall(out) == [], [line for line in out.split("\n") if C0.search(line)][:3]
    texts = own_text(out) + [line for line in out.split("\n") if line.startswith(("[ERROR]", "tenant1: "))]
    assert [t for t in texts if OURS_ONLY.search(t)] == []
    return "\n".join(texts)


@pytest.mark.parametrize("verbosity", [[], ["-v", "--diff"]], ids=["default", "-v --diff"])
def test_the_roles_refusal_summary_and_plan_messages_escape_the_names(emulator_factory, playbook, tmp_path,
                                                                      verbosity):
    """The role: the guard's refusal, repeated by the batch's summary, and an applied plan's stale entry."""
    emu = emulator_factory(hostile_world())
    bindings = {1: [{"extension_id": 1, "label": "A"}, {"extension_id": 2, "label": "B"}]}
    run = playbook("telphin.pbx.rollout_bindings", tenant_inventory(emu.url, bindings, phone_bindings_max_changes=0),
                   *verbosity)
    assert run.rc != 0 and api_calls(emu.requests(), "PUT") == [], run.output
    joined = assert_clean(run.stdout)
    assert "refused by the blast-radius guard" in joined and "010*100\\nPLAY RECAP ****" in joined

    plan_dir = tmp_path / "plans"
    inv = tenant_inventory(emu.url, bindings, phone_bindings_plan_dir=str(plan_dir))
    assert playbook("telphin.pbx.rollout_bindings", inv, "--check").rc == 0
    moved = module_play("""\
- name: Someone else changes phone 1
  telphin.pbx.extension_phone: {extension_id: 1, label: Moved}
""", emu.url, TENANT_SECRET % 1)
    assert playbook(moved).rc == 0
    inv = tenant_inventory(emu.url, bindings, phone_bindings_plan_dir=str(plan_dir), phone_bindings_apply_plan=True)
    run = playbook("telphin.pbx.rollout_bindings", inv, *verbosity)
    assert run.rc != 0 and phones(emu.state())[1]["label"] == "Moved", run.output
    joined = assert_clean(run.stdout)
    assert "apply_plan (client 1001 at 127.0.0.1): 1 of 2 planned extension(s) are stale" in joined
    assert "- 010*100\\nPLAY RECAP ****" in joined and "\\u2066x (id 1): stale: the phone holds label" in joined


def test_the_data_of_a_result_stays_what_the_tenant_typed(emulator_factory, playbook):
    """Escaping is for people: the registered result carries the exact name (a program reads it)."""
    emu = emulator_factory(hostile_world())
    play = module_play("""\
- name: Read
  telphin.pbx.extension_phones:
    bindings: [{extension_id: 1, label: Reception}]
    report_unchanged: true
  check_mode: true
  register: read
- name: Save
  ansible.builtin.copy:
    content: "{{ read | to_json }}"
    dest: "{{ results_dir }}/read.json"
    mode: "0600"
  check_mode: false
""", emu.url, TENANT_SECRET % 1)
    run = playbook(play)
    assert run.rc == 0, run.output
    assert run.results["read"]["results"][0]["extension_full_name"] == "010*" + HOSTILE
    assert "\\x1b" in run.results["read"]["diff"][0]["before_header"]
