"""The rollout benchmark (benchmarks/rollout.py) at a tiny size: every variant converges, and the
phone_bindings role sends exactly the floor's requests on both execution paths. No timing is asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness import ANSIBLE_BIN

REPO = Path(__file__).resolve().parents[2]
T, E, DIFFER = 2, 5, 0.4          # 2 of 5 bindings per tenant differ


def test_benchmark_smoke(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "rollout.py"), "--tenants", str(T), "--extensions", str(E),
         "--differ", str(DIFFER), "--latency-ms", "2", "--out", str(tmp_path), "--no-warmup",
         "--ansible-bin", str(ANSIBLE_BIN)],
        capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    [report] = list(tmp_path.glob("rollout-*.json"))
    run = json.loads(report.read_text())
    [size] = run["sizes"]
    variants = size["variants"]
    assert sorted(variants) == ["debug", "floor", "loop", "ping", "role", "role_module", "uri"]
    for name, res in variants.items():
        assert res["correct"], (name, res["problems"])

    differing = round(DIFFER * E) * T
    floor = {"token": T, "list": 2 * T, "get_phone": T * E, "put_phone": differing, "other": 0}  # a short list: 2 pages
    kinds = list(floor)
    assert {k: size["expected_floor_requests"][k] for k in kinds} == floor
    assert {k: variants["floor"]["requests"][k] for k in kinds} == floor
    # The role sends the floor exactly: T tokens, the list pages, one GET per binding, one PUT per differing one.
    # So does the role on the module path (a module process per tenant).
    for role in ("role", "role_module"):
        assert {k: variants[role]["requests"][k] for k in kinds} == floor, role
        assert variants[role]["tokens_issued"] == T
        assert variants[role]["requests"]["errors"] == 0
        assert size["targets"]["%s_requests_equal_floor" % role]["ok"]
    # the controller path starts no module process, the module path one per tenant (sampled: some may be missed)
    assert variants["role"]["module_processes"] == 0 and variants["role_module"]["module_processes"] >= 1
    # Ansible alone (ping, debug) sends nothing
    assert variants["ping"]["requests"]["total"] == variants["debug"]["requests"]["total"] == 0
    # The hand-written uri playbook sends the same requests; the module loop pays a token and the list per item.
    assert {k: variants["uri"]["requests"][k] for k in kinds} == floor
    assert {k: variants["loop"]["requests"][k] for k in kinds} == dict(
        floor, token=T * E, list=2 * T * E)
    assert variants["loop"]["tokens_issued"] == T * E
    # The report has what docs/performance.md promises.
    for res in variants.values():
        assert res["wall_s"] > 0 and res["memory_mb"]["max_process"] > 0
    table = (tmp_path / (report.stem + ".md")).read_text()
    variants_table, side_by_side = table.split("### Side by side")
    assert variants_table.count("| yes |") == 7                 # every variant converged
    row = [line for line in side_by_side.splitlines() if line.startswith("| 2 x 5 |")]
    assert len(row) == 1 and "| yes |" in row[0]                # the role's requests equal the floor's
    cpu = [float(c) for c in row[0].split("|")[6].split("/")]    # CPU ms per tenant: role / debug / floor
    assert len(cpu) == 3 and all(c > 0 for c in cpu)


def test_benchmark_smoke_with_a_policy(tmp_path):
    """``--policy`` (issue 32): the role and the floor send the same requests, and every phone holds the policy."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "rollout.py"), "--tenants", str(T), "--extensions", str(E),
         "--differ", str(DIFFER), "--latency-ms", "2", "--out", str(tmp_path), "--no-warmup", "--policy",
         "--variants", "role_module,role,floor", "--ansible-bin", str(ANSIBLE_BIN)],
        capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    [report] = list(tmp_path.glob("rollout-*-policy-*.json"))
    [size] = json.loads(report.read_text())["sizes"]
    variants = size["variants"]
    for name, res in variants.items():
        assert res["correct"], (name, res["problems"])      # the policy's keys on every phone, nothing else moved
    expected = size["expected_floor_requests"]
    # a phone differs in its number, its policy keys or both: one PUT each, at least the numbers' and at most all
    assert round(DIFFER * E) * T <= expected["put_phone"] <= T * E
    kinds = ("token", "list", "get_phone", "put_phone", "other")
    assert {k: variants["floor"]["requests"][k] for k in kinds} == {k: expected[k] for k in kinds}
    for role in ("role", "role_module"):        # the controller path and the module path
        assert {k: variants[role]["requests"][k] for k in kinds} == {k: expected[k] for k in kinds}, role
        assert size["targets"]["%s_requests_equal_floor" % role]["ok"]
