"""One test matrix: `make test` (the Makefile's CORES, CORE_PYTHON_<core>, INTEGRATION_CORES, printed by
`make -s matrix`), the GitHub workflow, the README's support table and the quick start's pins cannot drift apart."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
MATRIX_KINDS = ("units", "sanity", "integration")


def make(*args: str) -> str:
    proc = subprocess.run(["make", "-s", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def matrix() -> Dict:
    return json.loads(make("matrix"))


@pytest.fixture(scope="module")
def workflow() -> Dict:
    return yaml.safe_load(WORKFLOW.read_text())


def minor(version: str) -> Tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:2])


def support_table() -> Dict[str, List[str]]:
    section = (ROOT / "README.md").read_text().split("## Support policy", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (2\.\d+) \| (3\.\d+) – (3\.\d+) \| (.*) \|$", section, re.M)
    assert rows, "no support table in the README"
    return {core: [low, high, tested] for core, low, high, tested in rows}


def job_pairs(job: Dict) -> Set[Tuple[str, str]]:
    return {(str(row["core"]), str(row["python"])) for row in job["strategy"]["matrix"]["include"]}


def run_lines(job: Dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_every_supported_core_has_units_and_sanity_and_integration_runs_oldest_between_newest(matrix):
    table = support_table()
    cores = sorted(table, key=minor)
    assert sorted(matrix["python"], key=minor) == cores
    assert matrix["units"] == matrix["sanity"] == cores
    integration = matrix["integration"]
    assert integration[0] == cores[0] and integration[-1] == cores[-1] and len(integration) >= 3
    for core, python in matrix["python"].items():
        low, high, tested = table[core]
        assert minor(low) <= minor(python) <= minor(high), (core, python)
        # the README says what CI runs on each core, on which Python
        assert "Python %s" % python in tested, (core, tested)
        assert ("integration" in tested) == (core in integration), (core, tested)
        assert "unit" in tested and "sanity" in tested, (core, tested)
    # .venv, with the tools, is 2.19 on Python 3.11 (requirements-test.txt pins it)
    assert re.search(r"^ansible-core>=2\.19,<2\.20$", (ROOT / "requirements-test.txt").read_text(), re.M)
    assert matrix["python"]["2.19"] == "3.11"


def test_make_test_runs_each_cell_of_the_matrix(matrix):
    targets = make("test-targets").split()
    for kind in MATRIX_KINDS:
        assert sorted(t.split("-", 1)[1] for t in targets if t.startswith(kind + "-")) == sorted(matrix[kind])


def test_the_workflow_runs_the_same_matrix(matrix, workflow):
    jobs = workflow["jobs"]
    for kind in MATRIX_KINDS:
        assert job_pairs(jobs[kind]) == {(core, matrix["python"][core]) for core in matrix[kind]}, kind
        run = run_lines(jobs[kind])
        assert "make %s-${{ matrix.core }}" % kind in run
        # the venv is built with the Python set up for the cell, not whatever python3 the runner has
        assert "PYTHON_FOR_${{ matrix.core }}=${{ steps.python.outputs.python-path }}" in run
        setup = [s for s in jobs[kind]["steps"] if s.get("id") == "python"]
        assert setup and setup[0]["with"]["python-version"] == "${{ matrix.python }}"
    # every other check of `make test` runs in the checks job
    others = [t for t in make("test-targets").split() if not t.startswith(tuple(k + "-" for k in MATRIX_KINDS))]
    assert others and set(others) <= set(run_lines(jobs["checks"]).split())
    assert set(jobs) == set(MATRIX_KINDS) | {"checks"}


def test_the_workflow_runs_on_pull_requests_pushes_and_at_least_weekly(workflow):
    on = workflow["on"]
    assert "pull_request" in on and "main" in on["push"]["branches"]
    crons = [entry["cron"].split() for entry in on["schedule"]]
    # minute hour day-of-month month day-of-week: every month, every day of the month (a weekday or every day)
    assert crons and all(len(c) == 5 and c[2] == "*" and c[3] == "*" for c in crons), crons
    assert workflow["permissions"] == {"contents": "read"}


def test_the_quick_start_uses_a_cell_of_the_matrix(matrix):
    pins = re.findall(r'^ansible-core>=(2\.\d+),<(2\.\d+); python_version (?:==|>=) "(3\.\d+)"$',
                      (ROOT / "requirements-quickstart.txt").read_text(), re.M)
    assert pins
    cells = set(matrix["python"].items())
    for low, high, python in pins:
        assert minor(high) == (2, minor(low)[1] + 1)
        assert (low, python) in cells, (low, python)
    assert sorted(pin[2] for pin in pins) == ["3.10", "3.11", "3.12", "3.13"]


def check_jsonschema() -> str:
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("check-jsonschema", path=search)
    if found is None:
        pytest.skip("check-jsonschema is not installed (it is in .venv: make workflow-lint)")
    return found


def test_the_workflow_schema_check_passes_and_can_fail(tmp_path, workflow):
    tool = check_jsonschema()
    good = subprocess.run([tool, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)], capture_output=True,
                          text=True, check=False, timeout=120)
    assert good.returncode == 0, good.stdout + good.stderr
    broken = dict(workflow, jobs=dict(workflow["jobs"], units=dict(workflow["jobs"]["units"], **{"runs-on": None})))
    bad_file = tmp_path / "ci.yml"
    bad_file.write_text(yaml.safe_dump(broken))
    bad = subprocess.run([tool, "--builtin-schema", "vendor.github-workflows", str(bad_file)], capture_output=True,
                         text=True, check=False, timeout=120)
    assert bad.returncode == 1 and "runs-on" in bad.stdout + bad.stderr
