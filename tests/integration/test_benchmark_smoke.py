"""The rollout benchmark (benchmarks/rollout.py) at a tiny size: every variant converges, and the
phone_bindings role sends exactly the floor's requests. No timing is asserted here."""

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
    assert sorted(variants) == ["floor", "loop", "role", "uri"]
    for name, res in variants.items():
        assert res["correct"], (name, res["problems"])

    differing = round(DIFFER * E) * T
    floor = {"token": T, "list": T, "get_phone": T * E, "put_phone": differing, "other": 0}
    kinds = list(floor)
    assert {k: size["expected_floor_requests"][k] for k in kinds} == floor
    assert {k: variants["floor"]["requests"][k] for k in kinds} == floor
    # The role sends the floor exactly: T tokens, the list pages, one GET per binding, one PUT per differing one.
    assert {k: variants["role"]["requests"][k] for k in kinds} == floor
    assert variants["role"]["tokens_issued"] == T
    assert variants["role"]["requests"]["errors"] == 0
    assert size["targets"]["role_requests_equal_floor"]["ok"]
    # The hand-written uri playbook sends the same requests; the module loop pays a token and the list per item.
    assert {k: variants["uri"]["requests"][k] for k in kinds} == floor
    assert {k: variants["loop"]["requests"][k] for k in kinds} == dict(
        floor, token=T * E, list=T * E)
    assert variants["loop"]["tokens_issued"] == T * E
    # The report has what docs/performance.md promises.
    for res in variants.values():
        assert res["wall_s"] > 0 and res["memory_mb"]["max_process"] > 0
    assert (tmp_path / (report.stem + ".md")).read_text().count("| yes |") == 4
