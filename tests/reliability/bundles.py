"""Bundle flip-flop: two members of one bundle given different values of a synchronised key, on an API
that lists no bundles.

The world: one tenant whose phones ``100`` and ``101`` form a bundle (a PUT of a synchronised key on one
sets it on both), the emulator's bundle listing switched off (``GET /client/{id}/extensions_bundle/``
answers 404). The bindings give ``100`` and ``101`` different ``record_format`` values, ``102`` (no
bundle) a ``record_format`` too and ``103`` only an external number. Rounds, each with the role
``telphin.pbx.phone_bindings``:

1. **flip-flop**: the run writes both members, reads back after the writes exactly the phones whose
   synchronised keys it wrote (100, 101, 102; not 103), and fails, reporting the member whose value was
   overwritten as a bundle conflict naming both extensions; the other items are reported as applied.
2. **again**: the same bindings fail again the same way (without the check they would report
   ``changed`` on every run, for ever).
3. **agreeing**: both members given one value: the run passes; then a run sends no PUT.
4. **listing on**: with the bundle listing served, the conflict is refused before any write.

From the command line: ``python -m tests.reliability.bundles``; figures go to
``tests/output/reliability/bundles.json``; the exit code is 1 on any violation.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

if __package__ in (None, ""):  # pragma: no cover - `python tests/reliability/bundles.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.emulator import Emulator, generate_world  # noqa: E402
from tests.reliability.chaos import SAVE_PLAY  # noqa: E402
from tests.reliability.lib import (  # noqa: E402
    Ansible, PlaybookRun, phones, print_figures, puts, record, tenant_inventory)

CONFLICTING = {"100": "mp3_stereo", "101": "wav_mono"}      # one bundle: 100 + 101
PHONE_ID = {"100": 1, "101": 2, "102": 3, "103": 4}         # extension ids in the generated world


def bindings(formats: Dict[str, str]) -> List[Dict[str, Any]]:
    items: List[Dict[str, Any]] = [{"extension": ext, "record_format": fmt} for ext, fmt in formats.items()]
    items.append({"extension": "102", "record_format": "wav_stereo"})
    items.append({"extension": "103", "external_number": "+79991112233"})
    return items


def phone_reads(log: List[Dict[str, Any]]) -> Counter:
    """GETs of each extension's phone, by extension id."""
    return Counter(int(e["path"].split("/")[4]) for e in log
                   if e["method"] == "GET" and e["path"].endswith("/phone/") and e["status"] == 200)


def check_flip_flop(run: PlaybookRun, log: List[Dict[str, Any]], state: Dict[str, Any], where: str,
                    violations: List[str]) -> Dict[str, Any]:
    """The failing run: who was reported overwritten, what the API holds, which phones were read back."""
    result = run.results.get("tenant1") or {}
    items = {r["extension"]: r for r in result.get("results") or []}
    held = phones(state)
    if run.rc == 0 or not result.get("failed"):
        violations.append("%s: the run did not fail (rc %d)" % (where, run.rc))
    if sorted(items) != ["100", "101", "102", "103"]:
        violations.append("%s: results list %s, not each of 100-103 once" % (where, sorted(items)))
        return {}
    failed = [ext for ext in CONFLICTING if items[ext]["status"] == "failed"]
    if len(failed) != 1:
        violations.append("%s: %d bundle members reported failed, expected exactly 1" % (where, len(failed)))
        return {}
    loser = failed[0]
    winner = next(ext for ext in CONFLICTING if ext != loser)
    error = items[loser]["error"] or ""
    if "bundle conflict" not in error or "101" not in error or "100" not in error:
        violations.append("%s: extension %s's error does not name a bundle conflict of 100 and 101: %r"
                          % (where, loser, error))
    if "bundle conflict" not in result.get("msg", ""):
        violations.append("%s: the failure message does not mention the bundle conflict" % where)
    for ext in (winner, "102", "103"):
        if items[ext]["status"] not in ("changed", "unchanged"):
            violations.append("%s: extension %s is %s, expected applied" % (where, ext, items[ext]["status"]))
    for ext in CONFLICTING:                       # both members hold the value written last: the winner's
        if held[PHONE_ID[ext]]["record_format"] != CONFLICTING[winner]:
            violations.append("%s: extension %s holds %r, not the winner's %r"
                              % (where, ext, held[PHONE_ID[ext]]["record_format"], CONFLICTING[winner]))
    if items[loser]["after"].get("record_format") != held[PHONE_ID[loser]]["record_format"]:
        violations.append("%s: extension %s reports after=%r, the API holds %r" % (
            where, loser, items[loser]["after"].get("record_format"), held[PHONE_ID[loser]]["record_format"]))
    if held[PHONE_ID["102"]]["record_format"] != "wav_stereo" or \
            held[PHONE_ID["103"]]["external_number"] != "+79991112233":
        violations.append("%s: extension 102 or 103 does not hold its binding" % where)
    reads = phone_reads(log)
    written_synced = {PHONE_ID[e] for e in ("100", "101", "102") if any(
        r["path"] == "/api/ver1.0/extension/%d/phone/" % PHONE_ID[e] for r in puts(log))}
    # One read each; one read-back of each phone whose synchronised key was written; none of 103 (no such key).
    if any(reads[i] != 2 for i in written_synced) or reads[PHONE_ID["103"]] != 1 or max(reads.values()) > 2:
        violations.append("%s: phone GETs by extension id %s; synchronised keys written to %s"
                          % (where, dict(reads), sorted(written_synced)))
    return {"rc": run.rc, "requests": len(log), "puts": len(puts(log)), "phone_reads": sum(reads.values()),
            "read_back": sum(reads.values()) - len(PHONE_ID), "overwritten": loser, "kept": winner,
            "error": error}


def run_bundles(workdir: Optional[Path] = None, label: Optional[str] = "bundles") -> Dict[str, Any]:
    """All four rounds; returns the figures with a ``violations`` list (empty = all checks passed)."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="telphin-bundles-"))
    ansible = Ansible(workdir)
    book = str(ansible.write("bundles.yml", SAVE_PLAY))
    world = generate_world(1, 6, seed=3, with_bundles=True)
    world["defaults"]["bundle_listing"] = False
    secret = world["apps"][1]["app_secret"]
    violations: List[str] = []
    figures: Dict[str, Any] = {"violations": violations}

    def inventory(formats: Dict[str, str]) -> Dict[str, Any]:
        return tenant_inventory(emu.url, {1: bindings(formats)}, {1: secret}, phone_bindings_parallel=1,
                                phone_bindings_report_unchanged=True)

    with Emulator(world, seed=3) as emu:
        first = ansible.run(book, inventory(CONFLICTING))
        figures["flip_flop"] = check_flip_flop(first, emu.requests(clear=True), emu.state(), "flip-flop run",
                                               violations)
        again = ansible.run(book, inventory(CONFLICTING))
        figures["again"] = check_flip_flop(again, emu.requests(clear=True), emu.state(), "second run", violations)

        agreeing = {"100": "wav_mono", "101": "wav_mono"}
        agree = ansible.run(book, inventory(agreeing))
        log = emu.requests(clear=True)
        if agree.rc != 0:
            violations.append("agreeing run: rc %d:\n%s" % (agree.rc, agree.stdout[-2000:]))
        settle = ansible.run(book, inventory(agreeing))
        settle_log = emu.requests(clear=True)
        if settle.rc != 0 or puts(settle_log):
            violations.append("agreeing run, again: rc %d, %d PUTs" % (settle.rc, len(puts(settle_log))))
        figures["agreeing"] = {"rc": agree.rc, "puts": len(puts(log)), "read_back": sum(phone_reads(log).values())
                               - len(PHONE_ID), "again_rc": settle.rc, "again_puts": len(puts(settle_log))}

        emu.set_bundle_listing(True)
        listed = ansible.run(book, inventory(CONFLICTING))
        log = emu.requests(clear=True)
        msg = (listed.results.get("tenant1") or {}).get("msg", "")
        if listed.rc == 0 or puts(log) or "bundle conflict" not in msg:
            violations.append("listing on: rc %d, %d PUTs, message %r" % (listed.rc, len(puts(log)), msg[:300]))
        figures["listing_on"] = {"rc": listed.rc, "puts": len(puts(log)), "refused_before_writes": not puts(log)}
    if label:
        record(label, figures)
    return figures


def main() -> int:
    figures = run_bundles()
    return print_figures(figures)


if __name__ == "__main__":
    sys.exit(main())
