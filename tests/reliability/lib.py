"""Shared helpers of the reliability suite: real ``ansible-playbook`` runs, state diffs, results files.

Usable both from pytest (``tests/integration``) and from the command line (``python -m tests.reliability.chaos``):
the collection is linked from this checkout into a temporary ``ansible_collections`` tree unless
``TELPHIN_TEST_COLLECTIONS_ROOT`` already names one.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = Path(os.environ.get("TELPHIN_RELIABILITY_RESULTS") or REPO_ROOT / "tests" / "output" / "reliability")
FULL = os.environ.get("TELPHIN_RELIABILITY_FULL") == "1"


def collections_root() -> str:
    """An ``ansible_collections`` parent dir holding this checkout as ``telphin.pbx``."""
    root = os.environ.get("TELPHIN_TEST_COLLECTIONS_ROOT")
    if root:
        return root
    tmp = Path(tempfile.mkdtemp(prefix="telphin-collections-"))
    link = tmp / "ansible_collections" / "telphin" / "pbx"
    link.parent.mkdir(parents=True)
    link.symlink_to(REPO_ROOT, target_is_directory=True)
    atexit.register(shutil.rmtree, tmp, True)
    os.environ["TELPHIN_TEST_COLLECTIONS_ROOT"] = str(tmp)
    return str(tmp)


def ansible_bin() -> Path:
    return Path(os.environ.get("TELPHIN_TEST_ANSIBLE_BIN") or Path(sys.executable).parent)


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    seconds: float
    results: Dict[str, Any]       # JSON files the playbook wrote into its results dir, by file stem

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Ansible:
    """Runs ``ansible-playbook`` in a work directory with a clean, test-only environment."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def environment(self, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELPHIN_", "ANSIBLE_"))}
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": collections_root(),
            "ANSIBLE_HOME": str(self.workdir / "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": str(self.workdir / "ansible-tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
            "PATH": str(ansible_bin()) + os.pathsep + os.environ.get("PATH", ""),
        })
        env.update(extra or {})
        return env

    def write(self, name: str, content: Any) -> Path:
        path = self.workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
        return path

    def command(self, playbook: str, inventory: Any, *args: str) -> Tuple[List[str], Path]:
        """The ``ansible-playbook`` command line and the run's results dir (created empty)."""
        self.count += 1
        inv = inventory if isinstance(inventory, Path) else self.write("inventory-%d.yml" % self.count, inventory)
        results = self.workdir / ("results-%d" % self.count)
        results.mkdir()
        command = [str(ansible_bin() / "ansible-playbook"), "-i", str(inv), playbook,
                   "-e", "results_dir=%s" % results, *args]
        return command, results

    def start(self, playbook: str, inventory: Any, *args: str,
              env: Optional[Dict[str, str]] = None) -> "RunningPlaybook":
        command, results = self.command(playbook, inventory, *args)
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.environment(env), cwd=str(self.workdir))
        return RunningPlaybook(proc, results, time.monotonic())

    def run(self, playbook: str, inventory: Any, *args: str, env: Optional[Dict[str, str]] = None,
            timeout: float = 1800) -> PlaybookRun:
        return self.start(playbook, inventory, *args, env=env).wait(timeout)


@dataclass
class RunningPlaybook:
    proc: "subprocess.Popen[str]"
    results_dir: Path
    started: float

    def wait(self, timeout: float = 1800) -> PlaybookRun:
        stdout, stderr = self.proc.communicate(timeout=timeout)
        (self.results_dir / "output.log").write_text(stdout + stderr)
        results = {p.stem: json.loads(p.read_text()) for p in sorted(self.results_dir.glob("*.json"))}
        return PlaybookRun(self.proc.returncode, stdout, stderr, time.monotonic() - self.started, results)


# -- inventories ---------------------------------------------------------------------------------
TENANT_SECRET = "secret-tenant%d-Xq9"     # the app secret of tenant N in ``harness.tenant_world``


def tenant_vars(client_id: Any, api_url: str, bindings: List[Dict[str, Any]], app_id: Optional[str] = None,
                app_secret: Optional[str] = None, **host_vars: Any) -> Dict[str, Any]:
    """One tenant host's variables for the phone_bindings role; app credentials only when given, ``host_vars`` win."""
    host: Dict[str, Any] = {"telphin_client_id": str(client_id), "telphin_api_url": api_url}
    if app_id is not None:
        host["telphin_app_id"] = app_id
    if app_secret is not None:
        host["telphin_app_secret"] = app_secret
    host["phone_bindings"] = bindings
    host.update(host_vars)
    return host


def tenants_inventory(hosts: Dict[str, Dict[str, Any]], localhost: bool = False,
                      groups: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """An inventory with ``hosts`` in the group ``telphin_tenants`` (after any other ``groups``), plus a local
    ``localhost`` when asked. The group lifts the role's blast-radius guard (``phone_bindings_max_changes``): the
    suites roll out onto fresh worlds, where a first run changes most phones; tests/integration/test_safety.py
    tests the guard (a host variable wins over this group variable)."""
    group = {"hosts": hosts, "vars": {"phone_bindings_max_changes": "100%"}}
    inventory: Dict[str, Any] = {"all": {"children": dict(groups or {}, telphin_tenants=group)}}
    if localhost:
        inventory["all"] = {"hosts": {"localhost": {"ansible_connection": "local"}}, **inventory["all"]}
    return inventory


def tenant_inventory(api_url: str, bindings: Mapping[int, List[Dict[str, Any]]],
                     app_secrets: Optional[Mapping[int, str]] = None, localhost: bool = False,
                     **host_vars: Any) -> Dict[str, Any]:
    """Hosts ``tenant<N>`` in ``telphin_tenants``: client 1000+N, app ``tenant<N>-app`` with secret ``app_secrets[N]``
    (default ``TENANT_SECRET % N``), ``bindings[N]``, then ``host_vars``."""
    hosts = {"tenant%d" % n: tenant_vars(1000 + n, api_url, items, "tenant%d-app" % n,
                                         app_secrets[n] if app_secrets is not None else TENANT_SECRET % n, **host_vars)
             for n, items in bindings.items()}
    return tenants_inventory(hosts, localhost)


def sign_plan(plan: Dict[str, Any], app_secret: str) -> Dict[str, Any]:
    """``plan`` with the signature a check run with ``app_secret`` gives it, computed here from the documented
    scheme (docs/docsite/rst/change_safety.rst): HMAC-SHA256 of the plan's canonical JSON (every member but
    ``signature``), keyed by HMAC-SHA256(app secret, "telphin.pbx plan signing key/1")."""
    key = hmac.new(app_secret.encode(), b"telphin.pbx plan signing key/1", hashlib.sha256).digest()
    body = json.dumps({k: v for k, v in plan.items() if k != "signature"}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True)
    return dict(plan, signature="hmac-sha256:" + hmac.new(key, body.encode(), hashlib.sha256).hexdigest())


# -- emulator state ------------------------------------------------------------------------------
def phones(state: Dict[str, Any]) -> Dict[int, Dict[str, Any]]:
    """Every phone terminal of a state snapshot, by extension id."""
    return {e["id"]: e["phone"] for c in state["clients"] for e in c["extensions"] if "phone" in e}


def state_changes(before: Dict[str, Any], after: Dict[str, Any]) -> List[Tuple[str, Any, Any]]:
    """Every difference between two snapshots (quota figures excluded), as (where, before, after)."""
    changes: List[Tuple[str, Any, Any]] = []

    def walk(where: str, a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                walk("%s.%s" % (where, key), a.get(key, "<absent>"), b.get(key, "<absent>"))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                ident = x.get("id", i) if isinstance(x, dict) else i
                walk("%s[%s]" % (where, ident), x, y)
        elif a != b:
            changes.append((where, a, b))

    walk("", {k: v for k, v in before.items() if k != "quotas"}, {k: v for k, v in after.items() if k != "quotas"})
    return changes


def wait_until_quiet(emu: Any, quiet: float = 0.5, limit: float = 30.0) -> None:
    """Wait until the emulator's request log stops growing (late, delayed requests have landed)."""
    deadline = time.monotonic() + limit
    seen = -1
    while time.monotonic() < deadline:
        count = len(emu.requests())
        if count == seen:
            return
        seen = count
        time.sleep(quiet)


def puts(log: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [r for r in log if r["method"] == "PUT"]


# -- results files -------------------------------------------------------------------------------
def record(name: str, data: Dict[str, Any]) -> Path:
    """Write one results file for ``report.py`` (``tests/output/reliability/<name>.json``)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / ("%s.json" % name)
    payload = dict(data, recorded_at=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    return path


def print_figures(figures: Dict[str, Any]) -> int:
    """A reliability script's output: its figures on stdout, each violation on stderr; exit code 1 if any."""
    print(json.dumps({k: v for k, v in figures.items() if k != "violations"}, indent=2))
    for violation in figures["violations"]:
        print("VIOLATION:", violation, file=sys.stderr)
    return 1 if figures["violations"] else 0


def secret_hits(texts: Sequence[Tuple[str, str]], secrets: Iterable[str]) -> List[Tuple[str, str]]:
    """(where, which secret) for every secret found in the (where, text) pairs."""
    hits = []
    for secret in set(s for s in secrets if s):
        for where, text in texts:
            if secret in text:
                hits.append((where, secret[:3] + "..."))
    return hits
