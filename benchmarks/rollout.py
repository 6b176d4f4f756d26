#!/usr/bin/env python
"""Bindings rollout, measured side by side: request budget, wall time and memory of four ways to do it.

On one generated emulator world (T tenants x E phone extensions, a fraction of the bindings differing,
``--latency-ms`` per API request), reset before each variant, it runs:

- ``uri``   — ``benchmarks/playbooks/uri_rollout.yml``: plain ``ansible.builtin.uri``, one token per tenant,
              GET each phone, compare in Jinja, PUT the differing ones (one module run per loop item);
- ``loop``  — ``benchmarks/playbooks/module_loop.yml``: ``telphin.pbx.extension_phone`` in a task loop
              (one module run, so one token and one extension list, per item);
- ``role_module`` — the role on the module path: ``-e ansible_connection=remote_stand_in`` (the local
              connection under another name, tests/integration/connection_plugins), so each tenant's bulk call
              is a module process, as before the action plugins;
- ``role``  — ``telphin.pbx.rollout_bindings``: the ``phone_bindings`` role, one bulk ``extension_phones``
              call per tenant, run by the action plugin in the controller's worker (a local connection);
- ``floor`` — ``benchmarks/floor.py``: plain Python with ``requests`` and a thread pool of the same
              concurrency (tenants at once = forks, ``--parallel`` requests at once per tenant);
- ``ping``, ``debug`` — Ansible itself over the same hosts, no request: ``benchmarks/playbooks/ansible_ping.yml``
              (a module per host) and ``ansible_debug.yml`` (an action in the worker per host).

Tenants are inventory hosts; every Ansible variant runs with forks = ``--forks`` (default 5, Ansible's
default) and otherwise Ansible's defaults (no pipelining). For each variant: wall time, requests by kind
from the emulator's log, tokens issued, peak memory, and whether the final emulator state is the desired
one. Results go to ``--out`` as JSON and a markdown table.

    python benchmarks/rollout.py --tenants 4 --extensions 500                 # the 2,000-binding comparison
    python benchmarks/rollout.py --tenants 4 --sizes 25,250,2500 --chart docs/performance.png
    python benchmarks/rollout.py --tenants 4 --extensions 2500 --variants role,floor
    python benchmarks/rollout.py --shapes 4x500,20x100,100x20,500x4 --variants role_module,role,floor,ping,debug
    python benchmarks/rollout.py --shapes 100x20 --forks 1,2,5,10,20 --variants role,floor   # the forks curve
    python benchmarks/rollout.py --shapes 500x4 --variants role,floor,debug --policy    # a phone policy too

``--policy`` adds a phone policy (``POLICY``) to the inventory's group_vars: a separate ``--differ`` share of each
tenant's phones does not hold it yet, the others do; the floor then PUTs the number and the policy keys that differ,
one request per phone, and the final state must hold the policy on every phone.

See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.emulator import Emulator, generate_world  # noqa: E402  (needs the repository root on sys.path)

VARIANTS = ("uri", "loop", "role_module", "role", "floor", "ping", "debug")
SLOW = ("uri", "loop")
ANSIBLE_ONLY = ("ping", "debug")        # no request: what Ansible itself costs over the same hosts
KINDS = ("token", "list", "get_phone", "put_phone", "other")
LABELS = {"uri": "ansible.builtin.uri playbook", "loop": "extension_phone in a loop",
          "role_module": "role, module path (a module process per tenant)",
          "role": "phone_bindings role (engine in the controller's workers)", "floor": "floor: requests + thread pool",
          "ping": "Ansible itself: ping (a module per host)", "debug": "Ansible itself: debug (an action per host)"}
# The wall-time targets, role / floor, by shape (tenants, phones per tenant) (issue 22).
TIME_TARGETS = {(4, 500): 1.25, (20, 100): 1.25, (100, 20): 1.4, (500, 4): 1.6}
CONTROLLER_RSS_TARGET_MB = 300
# The collection's own CPU per tenant: the role's CPU per tenant minus that of ``debug`` over the same hosts (what
# Ansible itself costs per host), at this many tenants or more.
OWN_CPU_TARGET_MS, OWN_CPU_TARGET_TENANTS = 25.0, 500
CONNECTION_PLUGINS = REPO / "tests" / "integration" / "connection_plugins"
MB = 1024.0 * 1024.0

# Runs a command, then reports its wall time and the largest max RSS of it and every descendant it
# (transitively) waited for: ru_maxrss of RUSAGE_CHILDREN is the peak of the largest single process.
_RUSAGE_WRAPPER = r"""
import json, resource, subprocess, sys, time
report, cmd = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
rc = subprocess.call(cmd)
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(report, "w") as handle:
    json.dump({"rc": rc, "wall_s": wall, "maxrss_kb": usage.ru_maxrss, "user_s": usage.ru_utime,
               "sys_s": usage.ru_stime}, handle)
sys.exit(rc)
"""


# ``--policy``: the phone policy in group_vars, and the values the API stores for it
POLICY = {"geo_list": ["RU", "BY"], "record_enabled": True, "record_format": "wav_mono"}
POLICY_STORED = {"geo_list": "BY RU", "record_enabled": True, "record_format": "wav_mono"}


# -- the world and the desired state --------------------------------------------------------------
def current_number(tenant: int, index: int) -> str:
    """A valid, unique mobile number (a number the library calls invalid would add a warning per binding)."""
    return "+7916%03d%04d" % (tenant % 500 * 2, index)


def new_number(tenant: int, index: int) -> str:
    return "+7916%03d%04d" % (tenant % 500 * 2 + 1, index)


def build(tenants: int, extensions: int, differ: float, seed: int,
          policy: bool = False) -> Tuple[Dict[str, Any], Dict[int, List[Dict]]]:
    """The world (generated, numbers made unique and predictable) and each tenant's desired bindings.

    About half of the phones are bound (as ``generate_world`` chooses). Per tenant exactly
    ``round(differ * E)`` bindings, chosen at random, ask for a new number; the others repeat the
    current state (a bound number, or ``""`` for an unbound phone). With ``policy``, another
    ``round(differ * E)`` phones per tenant, chosen apart (the bindings stay those of the run without it),
    do not hold ``POLICY`` yet; the others do.
    """
    world = generate_world(tenants, extensions, seed=seed, quota_limit=10 ** 9)
    if policy:
        other = random.Random(seed + 1)
        for client in world["clients"]:
            phones = [e for e in client["extensions"] if e.get("type", "phone") == "phone"]
            lacking = set(other.sample(range(len(phones)), int(round(differ * len(phones)))))
            for i, ext in enumerate(phones):
                if i not in lacking:
                    ext["phone"].update(POLICY_STORED)
    rng = random.Random(seed)
    bindings: Dict[int, List[Dict[str, Any]]] = {}
    for n, client in enumerate(world["clients"], start=1):
        phones = [e for e in client["extensions"] if e.get("type", "phone") == "phone"]
        changed = set(rng.sample(range(len(phones)), int(round(differ * len(phones)))))
        wanted = []
        for i, ext in enumerate(phones):
            if ext["phone"].get("external_number"):
                ext["phone"]["external_number"] = current_number(n, i)
            now = ext["phone"].get("external_number")
            want = new_number(n, i) if i in changed else (now or "")
            wanted.append({"extension": ext["name"], "external_number": want})
        bindings[n] = wanted
    return world, bindings


def inventory(world: Dict[str, Any], bindings: Dict[int, List[Dict]], url: str) -> Dict[str, Any]:
    """Tenants as hosts of ``telphin_tenants`` with their vars, as one dict (hosts.yml with inline vars)."""
    secrets = {a["app_id"]: a["app_secret"] for a in world["apps"]}
    hosts = {}
    for n, client in enumerate(world["clients"], start=1):
        hosts["tenant%d" % n] = {
            "telphin_client_id": str(client["id"]), "telphin_api_url": url, "telphin_app_id": "tenant%d-app" % n,
            "telphin_app_secret": secrets["tenant%d-app" % n], "phone_bindings": bindings[n]}
    return {"all": {"children": {"telphin_tenants": {"hosts": hosts}}}}


def write_inventory(world: Dict[str, Any], bindings: Dict[int, List[Dict]], url: str, path: Path,
                    policy: bool = False) -> Path:
    """The inventory as docs/examples lays it out: hosts.yml, group_vars/telphin_tenants.yml, host_vars/<tenant>.yml.

    (Inline host vars in one hosts.yml cost ansible-core 2.19 about 4x more to parse at 10,000 bindings.)
    """
    hosts = inventory(world, bindings, url)["all"]["children"]["telphin_tenants"]["hosts"]
    if path.exists():
        shutil.rmtree(path)
    (path / "host_vars").mkdir(parents=True)
    (path / "group_vars").mkdir()
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    _dump({"all": {"children": {"telphin_tenants": {"hosts": {name: None for name in hosts}}}}},
          path / "hosts.yml", dumper)
    _dump(dict({"telphin_api_url": url}, **({"phone_policy": POLICY} if policy else {})),
          path / "group_vars" / "telphin_tenants.yml", dumper)
    for name, hostvars in hosts.items():
        _dump({k: v for k, v in hostvars.items() if k != "telphin_api_url"}, path / "host_vars" / (name + ".yml"),
              dumper)
    return path


def _dump(data: Any, path: Path, dumper: Any) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("---\n")
        yaml.dump(data, handle, Dumper=dumper, default_flow_style=False, sort_keys=False)


def desired_numbers(world: Dict[str, Any], bindings: Dict[int, List[Dict]]) -> Dict[Tuple[int, str], Optional[str]]:
    want = {}
    for n, client in enumerate(world["clients"], start=1):
        prefix = client["prefix"]
        for item in bindings[n]:
            want[(client["id"], "%s*%s" % (prefix, item["extension"]))] = item["external_number"] or None
    return want


def check_state(state: Dict[str, Any], initial: Dict[str, Any], want: Dict[Tuple[int, str], Optional[str]],
                policy: bool = False) -> List[str]:
    """Problems with the final state: a wrong number, a phone without the policy (``policy``), or any other phone
    key that changed."""
    before = {(c["id"], e["name"]): e.get("phone") for c in initial["clients"] for e in c["extensions"]}
    problems = []
    for client in state["clients"]:
        for ext in client["extensions"]:
            if ext["type"] != "phone":
                continue
            key = (client["id"], ext["name"])
            got = ext["phone"].get("external_number")
            if key in want and got != want[key]:
                problems.append("%s*%s: external_number %r, want %r" % (key + (got, want[key])))
            managed = ("external_number",) + (tuple(POLICY_STORED) if policy else ())
            held = {k: ext["phone"].get(k) for k in POLICY_STORED}
            if policy and held != POLICY_STORED:
                problems.append("%s: policy keys %r, want %r" % (key, held, POLICY_STORED))
            others = {k: v for k, v in ext["phone"].items() if k not in managed}
            old = {k: v for k, v in (before.get(key) or {}).items() if k not in managed}
            if others != old:
                problems.append("%s: other phone keys changed" % (key,))
    return problems


def classify(log: List[Dict[str, Any]]) -> Dict[str, int]:
    counts = {kind: 0 for kind in KINDS}
    for entry in log:
        path, method = entry["path"].rstrip("/"), entry["method"]
        if path.endswith("/oauth/token"):
            kind = "token"
        elif method == "GET" and re.search(r"/client/[^/]+/extension$", path):
            kind = "list"
        elif re.search(r"/extension/\d+/phone$", path) and method in ("GET", "PUT"):
            kind = "get_phone" if method == "GET" else "put_phone"
        else:
            kind = "other"
        counts[kind] += 1
    counts["total"] = len(log)
    counts["errors"] = sum(1 for e in log if e["status"] is None or e["status"] >= 400)
    return counts


def list_pages(rows: int) -> int:
    """Pages read of a list of ``rows``: full pages of 500, then a shorter one; a list shorter than 500 is
    confirmed by an empty second page (the provider may cap per_page below 500)."""
    return 1 if rows == 0 else 2 if rows < 500 else rows // 500 + 1


def floor_counts(tenants: int, bindings: Dict[int, List[Dict]], world: Dict[str, Any],
                 policy: bool = False) -> Dict[str, int]:
    """The request floor, computed: T tokens, the list pages, one GET per binding, one PUT per differing one (its
    number or, with ``policy``, a policy key; the bindings name every phone)."""
    pages = sum(list_pages(len(c["extensions"])) for c in world["clients"])
    puts = 0
    for n, client in enumerate(world["clients"], start=1):
        now = {e["name"]: e["phone"] for e in client["extensions"] if "phone" in e}
        puts += sum(1 for b in bindings[n] if (b["external_number"] or None) != now[b["extension"]].get(
            "external_number") or (policy and any(now[b["extension"]].get(k) != v for k, v in POLICY_STORED.items())))
    gets = sum(len(b) for b in bindings.values())
    return {"token": tenants, "list": pages, "get_phone": gets, "put_phone": puts, "other": 0,
            "total": tenants + pages + gets + puts}


# -- running one variant ----------------------------------------------------------------------------
class Sampler(threading.Thread):
    """Samples the RSS of a process tree every ``interval`` s from /proc (psutil as a fallback)."""

    def __init__(self, root: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.tree_peak = 0              # bytes: the largest sum of RSS over the tree at one sample
        self.module_peak = 0            # bytes: the largest VmHWM of a module (AnsiballZ) process
        self.controller_peak = 0        # bytes: VmHWM of ansible-playbook's main process
        self.module_processes = 0
        self.samples = 0
        self._seen: Dict[Tuple[int, str], str] = {}
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self._sample()
            except Exception:  # pylint: disable=broad-except  # a process vanished mid-read
                pass
            self._halt.wait(self.interval)

    def _children(self, pid: int) -> List[int]:
        kids: List[int] = []
        try:
            for tid in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/children" % (pid, tid)) as handle:
                    kids.extend(int(k) for k in handle.read().split())
        except OSError:
            pass
        return kids

    def _sample(self) -> None:
        pids, stack = [], [self.root]
        while stack:
            pid = stack.pop()
            kids = self._children(pid)
            pids.extend(kids)
            stack.extend(kids)
        total = 0
        for pid in pids:
            try:
                with open("/proc/%d/status" % pid) as handle:
                    status = handle.read()
                with open("/proc/%d/stat" % pid) as handle:
                    start = handle.read().rsplit(")", 1)[1].split()[19]
                key = (pid, start)
                if key not in self._seen:
                    with open("/proc/%d/cmdline" % pid, "rb") as handle:
                        self._seen[key] = handle.read().replace(b"\0", b" ").decode(errors="replace")
                    if _is_module(self._seen[key]):
                        self.module_processes += 1
            except OSError:
                continue
            rss = _kb(status, "VmRSS") * 1024
            hwm = _kb(status, "VmHWM") * 1024
            total += rss
            cmdline = self._seen[key]
            if _is_module(cmdline):
                self.module_peak = max(self.module_peak, hwm)
            elif "ansible-playbook" in cmdline and self._is_main(pid):
                self.controller_peak = max(self.controller_peak, hwm)
        self.tree_peak = max(self.tree_peak, total)
        self.samples += 1

    def _is_main(self, pid: int) -> bool:
        try:
            with open("/proc/%d/stat" % pid) as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            return False
        return ppid == self.root


def _is_module(cmdline: str) -> bool:
    """A Python process other than ansible-playbook: a module (AnsiballZ file, or stdin with pipelining)."""
    return os.path.basename(cmdline.split(" ", 1)[0]).startswith("python") and "ansible-playbook" not in cmdline \
        and "benchmarks/floor.py" not in cmdline


def _count_connections(emu: Emulator) -> List[int]:
    """Count TCP connections the emulator accepts (a wrapper around its server's ``process_request``)."""
    counter = [0]
    server = getattr(emu, "_server", None)
    original = getattr(server, "process_request", None)
    if original is None:
        return [-1]

    def counting(request: Any, client_address: Any) -> None:
        counter[0] += 1
        original(request, client_address)

    server.process_request = counting
    return counter


def _own_cpu() -> float:
    """CPU seconds of this process (the emulator's threads and the sampler)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _kb(status: str, name: str) -> int:
    match = re.search(r"^%s:\s+(\d+) kB" % name, status, re.M)
    return int(match.group(1)) if match else 0


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.ansible_bin = Path(args.ansible_bin or Path(sys.executable).parent)
        self.collection = Path(args.collection).resolve() if args.collection else REPO
        self.forks = args.forks_list[0]
        self.collections = Path(tempfile.mkdtemp(prefix="telphin-bench-collections-"))
        link = self.collections / "ansible_collections" / "telphin" / "pbx"
        link.parent.mkdir(parents=True)
        link.symlink_to(self.collection, target_is_directory=True)

    def close(self) -> None:
        shutil.rmtree(self.collections, ignore_errors=True)

    def env(self, work: Path) -> Dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELPHIN_", "ANSIBLE_"))}
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": str(self.collections),
            "ANSIBLE_HOME": str(work / "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": str(work / "ansible-tmp"),
            "ANSIBLE_REMOTE_TEMP": str(work / "ansible-remote-tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
            "ANSIBLE_FORKS": str(self.forks),
            "ANSIBLE_CONNECTION_PLUGINS": str(CONNECTION_PLUGINS),
            "PATH": str(self.ansible_bin) + os.pathsep + env.get("PATH", ""),
        })
        return env

    def command(self, variant: str, inv: Path) -> List[str]:
        playbook = str(self.ansible_bin / "ansible-playbook")
        if variant == "uri":
            return [playbook, "-i", str(inv), str(REPO / "benchmarks" / "playbooks" / "uri_rollout.yml")]
        if variant == "loop":
            return [playbook, "-i", str(inv), str(REPO / "benchmarks" / "playbooks" / "module_loop.yml")]
        if variant in ("role", "role_module"):
            extra = ["-e", "ansible_connection=remote_stand_in"] if variant == "role_module" else []
            return [playbook, "-i", str(inv), "telphin.pbx.rollout_bindings",
                    "-e", "phone_bindings_parallel=%d" % self.args.parallel,
                    "-e", "phone_bindings_max_changes=100%"] + extra   # --differ is the benchmark's choice
        if variant in ANSIBLE_ONLY:
            return [playbook, "-i", str(inv), str(REPO / "benchmarks" / "playbooks" / ("ansible_%s.yml" % variant))]
        return [sys.executable, str(REPO / "benchmarks" / "floor.py"), "--inventory", str(inv),
                "--parallel", str(self.args.parallel), "--forks", str(self.forks)]

    def run_variant(self, variant: str, world: Dict[str, Any], bindings: Dict[int, List[Dict]], work: Path
                    ) -> Dict[str, Any]:
        """A fresh emulator on the same world, the variant, then its log, state and resource use."""
        want = desired_numbers(world, bindings)
        emu = Emulator(world, latency_ms=self.args.latency_ms, seed=self.args.seed).start()
        connections = _count_connections(emu)
        try:
            initial = emu.state()
            inv = write_inventory(world, bindings, emu.url, work / ("inventory-%s" % variant), self.args.policy)
            report = work / ("rusage-%s.json" % variant)
            out_path = work / ("%s.stdout.log" % variant)
            cmd = [sys.executable, "-c", _RUSAGE_WRAPPER, str(report)] + self.command(variant, inv)
            load_before = os.getloadavg()[0]
            own_cpu = _own_cpu()
            started = time.time()
            with open(out_path, "w", encoding="utf-8") as out, open(work / ("%s.stderr.log" % variant), "w") as err:
                proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=self.env(work), cwd=str(work),
                                        start_new_session=True)
                sampler = Sampler(proc.pid, self.args.sample_interval)
                sampler.start()
                try:
                    proc.wait(timeout=self.args.timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)   # the wrapper's own session: the variant's tree
                    proc.wait()
                finally:
                    sampler.stop()
            usage = json.loads(report.read_text()) if report.exists() else {"rc": proc.returncode, "wall_s": None,
                                                                            "maxrss_kb": 0}
            own_cpu = _own_cpu() - own_cpu
            log = emu.requests()
            state = emu.state()
            tokens = len(emu.tokens())
        finally:
            emu.stop()
        if variant in ANSIBLE_ONLY:
            problems = ["sent %d API requests" % len(log)] if log else []
        else:
            problems = check_state(state, initial, want, self.args.policy)
        times = [e["time"] for e in log]
        result: Dict[str, Any] = {
            "variant": variant, "label": LABELS[variant], "rc": usage["rc"], "wall_s": usage["wall_s"],
            "requests": classify(log), "tokens_issued": tokens,
            "first_request_s": (min(times) - started) if times else None,
            "last_request_s": (max(times) - started) if times else None,
            "cpu_s": round((usage.get("user_s") or 0) + (usage.get("sys_s") or 0), 2),
            "cpu_user_s": round(usage.get("user_s") or 0, 2), "cpu_sys_s": round(usage.get("sys_s") or 0, 2),
            "emulator_cpu_s": round(own_cpu, 2),
            "connections_opened": connections[0],
            "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2),
            "memory_mb": {
                "max_process": round(usage["maxrss_kb"] / 1024.0, 1),
                "tree_peak": round(sampler.tree_peak / MB, 1),
                "module_peak": round(sampler.module_peak / MB, 1) if variant != "floor"
                else round(usage["maxrss_kb"] / 1024.0, 1),
                "controller_peak": round(sampler.controller_peak / MB, 1) if variant != "floor" else None,
            },
            "module_processes": sampler.module_processes,
            "correct": usage["rc"] == 0 and not problems,
            "problems": problems[:20] + (["... %d more" % (len(problems) - 20)] if len(problems) > 20 else []),
            "stdout_log": str(out_path),
        }
        if variant == "floor" and usage["rc"] == 0:
            try:
                result["floor_report"] = json.loads(out_path.read_text())["requests"]
            except (ValueError, KeyError):
                pass
        if usage["rc"] != 0:
            tail = out_path.read_text(errors="replace")[-3000:] + (work / ("%s.stderr.log" % variant)).read_text(
                errors="replace")[-2000:]
            result["problems"].insert(0, "exit code %s; output tail:\n%s" % (usage["rc"], tail))
        return result


# -- one size ---------------------------------------------------------------------------------------
def run_size(bench: Bench, tenants: int, extensions: int, run_dir: Path) -> Dict[str, Any]:
    args = bench.args
    world, bindings = build(tenants, extensions, args.differ, args.seed, args.policy)
    size = tenants * extensions
    work = run_dir / ("T%dxE%d-forks%d" % (tenants, extensions, bench.forks))
    work.mkdir(parents=True, exist_ok=True)
    expected = floor_counts(tenants, bindings, world, args.policy)
    results: Dict[str, Any] = {}
    notes: List[str] = []
    for variant in args.variants:
        if variant in SLOW and args.slow_max_bindings and size > args.slow_max_bindings:
            notes.append("%s skipped: %d bindings > --slow-max-bindings %d (one module run per binding; "
                         "see the smaller sizes for its growth)" % (variant, size, args.slow_max_bindings))
            continue
        repeat = 1 if variant in SLOW else max(1, args.repeat)
        runs = []
        for attempt in range(repeat):
            print("[%s] T=%d E=%d (%d bindings) forks %d: %s%s, load %.2f ..." % (
                _now(), tenants, extensions, size, bench.forks, variant,
                " (%d/%d)" % (attempt + 1, repeat) if repeat > 1 else "", os.getloadavg()[0]), flush=True)
            runs.append(bench.run_variant(variant, world, bindings, work))
        res = _median_run(runs)
        results[variant] = res
        print("[%s]   %s: %.1f s, %d requests, correct=%s" % (_now(), variant, res["wall_s"] or -1,
                                                              res["requests"]["total"], res["correct"]), flush=True)
        if not res["correct"]:
            for problem in res["problems"][:5]:
                print("      " + problem, flush=True)
    return {"tenants": tenants, "extensions": extensions, "bindings": size, "forks": bench.forks,
            "differing": expected["put_phone"], "expected_floor_requests": expected,
            "variants": results, "ratios": ratios(results),
            "targets": targets(results, expected, (tenants, extensions)), "notes": notes}


def _median_run(runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The run with the median wall time, carrying every run's wall time; incorrect if any run was."""
    ordered = sorted(runs, key=lambda r: r["wall_s"] if r["wall_s"] is not None else float("inf"))
    res = dict(ordered[(len(ordered) - 1) // 2])
    res["runs"] = len(runs)
    res["wall_all_s"] = [round(r["wall_s"], 2) if r["wall_s"] is not None else None for r in runs]
    res["wall_min_s"] = ordered[0]["wall_s"]
    res["correct"] = all(r["correct"] for r in runs)
    res["requests_identical_in_all_runs"] = all(r["requests"] == runs[0]["requests"] for r in runs)
    for r in runs:
        if not r["correct"] and r is not res:
            res["problems"] = r["problems"]
    res["memory_mb"] = {k: max((r["memory_mb"][k] or 0) for r in runs) for k in res["memory_mb"]}
    cpus = sorted(r["cpu_s"] for r in runs)
    res["cpu_all_s"] = [r["cpu_s"] for r in runs]
    res["cpu_s"] = cpus[(len(cpus) - 1) // 2]     # the median CPU (CPU time varies less with load than wall time)
    res["load_all"] = [r["load_before"] for r in runs]
    return res


def ratios(results: Dict[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    floor = results.get("floor")
    role = results.get("role")
    for name, res in results.items():
        entry = {}
        if floor and floor["wall_s"]:
            entry["time_vs_floor"] = round(res["wall_s"] / floor["wall_s"], 2)
            entry["requests_vs_floor"] = round(res["requests"]["total"] / max(floor["requests"]["total"], 1), 2)
        if role and role["wall_s"] and name != "role":
            entry["time_vs_role"] = round(res["wall_s"] / role["wall_s"], 2)
            entry["requests_vs_role"] = round(res["requests"]["total"] / max(role["requests"]["total"], 1), 2)
        out[name] = entry
    return out


def targets(results: Dict[str, Any], expected: Dict[str, int], shape: Tuple[int, int]) -> Dict[str, Any]:
    """The issue's targets that this shape can tell."""
    out: Dict[str, Any] = {}
    role, floor = results.get("role"), results.get("floor")
    for name in ("role", "role_module"):
        res = results.get(name)
        if not res:
            continue
        got = {k: res["requests"][k] for k in ("token", "list", "get_phone", "put_phone", "other")}
        want = {k: expected[k] for k in got}
        out["%s_requests_equal_floor" % name] = {"ok": got == want and res["tokens_issued"] == expected["token"],
                                                 name: got, "floor": want}
    if results.get("role_module"):
        peak = results["role_module"]["memory_mb"]["module_peak"]
        out["role_module_memory_below_200mb"] = {"ok": peak < 200, "module_peak_mb": peak}
    if role and shape[0] >= 100:
        peak = role["memory_mb"]["controller_peak"]
        out["role_controller_rss_below_%dmb" % CONTROLLER_RSS_TARGET_MB] = {
            "ok": peak < CONTROLLER_RSS_TARGET_MB, "controller_peak_mb": peak,
            "tree_peak_mb": role["memory_mb"]["tree_peak"]}
    if role and floor:
        ratio = role["wall_s"] / floor["wall_s"]
        limit = TIME_TARGETS.get(shape)
        if limit:
            out["role_time_within_%sx_floor" % limit] = {"ok": ratio <= limit, "ratio": round(ratio, 2)}
    debug = results.get("debug")
    if role and debug and shape[0] >= OWN_CPU_TARGET_TENANTS:
        own = cpu_ms_per_tenant(role, shape[0]) - cpu_ms_per_tenant(debug, shape[0])
        out["collection_own_cpu_at_most_%dms_per_tenant" % OWN_CPU_TARGET_MS] = {
            "ok": own <= OWN_CPU_TARGET_MS, "own_ms": round(own, 1),
            "role_ms": round(cpu_ms_per_tenant(role, shape[0]), 1),
            "debug_ms": round(cpu_ms_per_tenant(debug, shape[0]), 1)}
    for slow in SLOW:
        if role and results.get(slow):
            speedup = results[slow]["wall_s"] / role["wall_s"]
            out["role_10x_faster_than_%s" % slow] = {"ok": speedup >= 10, "speedup": round(speedup, 1)}
    return out


def cpu_ms_per_tenant(res: Dict[str, Any], tenants: int) -> float:
    """CPU milliseconds per tenant of a variant's whole process tree (user + system, ``RUSAGE_CHILDREN`` of the
    wrapper that runs it: ansible-playbook with its forked workers and any module processes, or floor.py)."""
    return res["cpu_s"] * 1000.0 / max(tenants, 1)


# -- output -----------------------------------------------------------------------------------------
def markdown(run: Dict[str, Any]) -> str:
    lines = []
    cfg = run["config"]
    lines.append("Latency %s ms per request, forks %s, parallel %d, differ %.0f%%; %s; ansible-core %s; Python %s; "
                 "%d CPUs." % (cfg["latency_ms"], cfg["forks"], cfg["parallel"], cfg["differ"] * 100,
                               run["machine"]["platform"], run["machine"]["ansible_core"],
                               run["machine"]["python"], run["machine"]["cpus"]))
    lines.append("")
    for size in run["sizes"]:
        lines.append("### %d tenants x %d phones = %d bindings (%d differing), forks %s" % (
            size["tenants"], size["extensions"], size["bindings"], size["differing"], size.get("forks", cfg["forks"])))
        lines.append("")
        lines.append("| variant | wall s | x floor | role is x faster | requests (token/list/GET/PUT) | total | "
                     "tokens | TCP conns | CPU s | CPU ms / tenant | module peak MB | controller MB "
                     "| largest process MB | tree peak MB "
                     "| load avg | correct |")
        lines.append("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
        for name in VARIANTS:
            res = size["variants"].get(name)
            if not res:
                continue
            req = res["requests"]
            ratio = size["ratios"].get(name, {})
            wall = "%.1f" % (res["wall_s"] or -1)
            if res.get("runs", 1) > 1:
                wall += " (%s)" % ", ".join("%.1f" % w for w in res["wall_all_s"])
            loads = res.get("load_all") or [res["load_before"]]
            mem = res["memory_mb"]
            cells = [res["label"], wall, _fmt(ratio.get("time_vs_floor")), _fmt(ratio.get("time_vs_role")),
                     "%d / %d / %d / %d" % (req["token"], req["list"], req["get_phone"], req["put_phone"]),
                     req["total"], res["tokens_issued"], res["connections_opened"], "%.1f" % res["cpu_s"],
                     "%.0f" % cpu_ms_per_tenant(res, size["tenants"]),
                     "%.0f" % mem["module_peak"] if mem["module_peak"] else "-",
                     "%.0f" % mem["controller_peak"] if mem["controller_peak"] else "-",
                     "%.0f" % mem["max_process"], "%.0f" % mem["tree_peak"],
                     "%.1f-%.1f" % (min(loads), max(loads)) if len(loads) > 1 else "%.1f" % loads[0],
                     "yes" if res["correct"] else "NO"]
            lines.append("| %s |" % " | ".join(str(c) for c in cells))
        for note in size["notes"]:
            lines.append("")
            lines.append("Note: " + note)
        if size["targets"]:
            lines.append("")
            for name, value in size["targets"].items():
                detail = ", ".join("%s=%s" % (k, v) for k, v in value.items() if k != "ok")
                lines.append("- target %s: **%s** (%s)" % (name, "met" if value["ok"] else "NOT met", detail))
        lines.append("")
    lines.extend(side_by_side(run))
    return "\n".join(lines)


def side_by_side(run: Dict[str, Any]) -> List[str]:
    """One line per shape: role, floor and ``debug``, wall time (every run) and CPU per tenant, the ratio, the
    collection's own CPU per tenant (role minus ``debug``), whether the role's requests equal the floor's."""
    rows = [s for s in run["sizes"] if s["variants"].get("role") and s["variants"].get("floor")]
    if not rows:
        return []

    def wall(res: Optional[Dict[str, Any]]) -> str:
        if not res:
            return "-"
        runs = res.get("wall_all_s") or [res["wall_s"]]
        return "%.1f" % res["wall_s"] + (" (%s)" % ", ".join("%.1f" % w for w in runs) if len(runs) > 1 else "")

    def load(res: Dict[str, Any]) -> str:
        loads = res.get("load_all") or [res["load_before"]]
        return "%.1f-%.1f" % (min(loads), max(loads)) if len(loads) > 1 else "%.1f" % loads[0]

    lines = ["### Side by side", "",
             "| shape | floor s | role s | role / floor | `debug` s | CPU ms per tenant: role / `debug` / floor | "
             "own CPU ms per tenant (role - `debug`) | requests role = floor | controller MB | load avg (role) |",
             "|---|---:|---:|---:|---:|---|---:|---|---:|---|"]
    for size in rows:
        res = size["variants"]
        role, floor, debug = res["role"], res["floor"], res.get("debug")
        tenants = size["tenants"]
        cpu = [cpu_ms_per_tenant(r, tenants) if r else None for r in (role, debug, floor)]
        own = "%.0f" % (cpu[0] - cpu[1]) if cpu[1] is not None else "-"
        equal = size["targets"].get("role_requests_equal_floor", {}).get("ok")
        lines.append("| %d x %d | %s | %s | %.2f | %s | %s | %s | %s | %.0f | %s |" % (
            tenants, size["extensions"], wall(floor), wall(role), role["wall_s"] / floor["wall_s"], wall(debug),
            " / ".join("-" if c is None else "%.0f" % c for c in cpu), own, "yes" if equal else "NO",
            role["memory_mb"]["controller_peak"] or 0, load(role)))
    lines.append("")
    return lines


def _fmt(value: Optional[float]) -> str:
    return "" if value is None else ("%.1f" % value if value < 100 else "%.0f" % value)


def chart(runs: List[Dict[str, Any]], path: Path, forks: int = 5) -> None:
    """Shapes of the same bindings count (tenants x phones): wall time and role / floor against tenants at
    ``forks``, the forks curve of every shape run with several forks values, and the controller's memory."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_tenants: Dict[str, Dict[int, Dict[str, Any]]] = {v: {} for v in VARIANTS}
    curves: Dict[Tuple[int, int], Dict[str, Dict[int, float]]] = {}
    for run in runs:
        for size in run["sizes"]:
            size_forks = size.get("forks", run["config"]["forks"])
            for name, res in size["variants"].items():
                if not res.get("correct"):
                    continue
                if size_forks == forks:
                    by_tenants[name][size["tenants"]] = dict(res, extensions=size["extensions"])
                curves.setdefault((size["tenants"], size["extensions"]), {}).setdefault(name, {})[size_forks] = \
                    res["wall_s"]
    curves = {shape: c for shape, c in curves.items() if any(len(v) > 2 for v in c.values())}
    styles = {"uri": ("tab:red", "s"), "loop": ("tab:orange", "^"), "role_module": ("tab:purple", "v"),
              "role": ("tab:blue", "o"), "floor": ("tab:green", "D"), "ping": ("tab:gray", "x"),
              "debug": ("tab:brown", "+")}
    fig, axes = plt.subplots(1, 5, figsize=(26, 5))
    ax = axes[0]
    for name in VARIANTS:
        xs = sorted(by_tenants[name])
        if xs:
            color, marker = styles[name]
            ax.plot(xs, [by_tenants[name][x]["wall_s"] for x in xs], marker=marker, color=color, label=LABELS[name])
    ax.set_title("wall time (s), forks %d" % forks)
    ax = axes[1]
    floor = by_tenants["floor"]
    for name in ("role_module", "role"):
        xs = sorted(x for x in by_tenants[name] if x in floor)
        if xs:
            color, marker = styles[name]
            ax.plot(xs, [by_tenants[name][x]["wall_s"] / floor[x]["wall_s"] for x in xs], marker=marker, color=color,
                    label=LABELS[name])
    for (tenants, _phones), limit in TIME_TARGETS.items():
        ax.plot([tenants], [limit], marker="_", markersize=18, color="black")
    ax.axhline(1.0, color="tab:green", linewidth=1)
    ax.set_title("x floor (black: the targets)")
    ax = axes[2]
    for (tenants, phones), curve in sorted(curves.items()):
        for name, points in sorted(curve.items()):
            xs = sorted(points)
            color, marker = styles[name]
            ax.plot(xs, [points[x] for x in xs], marker=marker, color=color,
                    label="%s, %d x %d" % (name, tenants, phones))
    ax.set_title("wall time (s) against forks")
    ax.set_xlabel("forks")
    if curves:
        ax.legend(fontsize=8)
    else:
        fig.delaxes(ax)             # no shape was run with several forks values
    ax = axes[3]
    for name in ("role_module", "role"):
        xs = sorted(by_tenants[name])
        if xs:
            color, _marker = styles[name]
            ax.plot(xs, [by_tenants[name][x]["memory_mb"]["controller_peak"] for x in xs], marker="o", color=color,
                    label="%s: ansible-playbook main process" % name)
            ax.plot(xs, [by_tenants[name][x]["memory_mb"]["tree_peak"] for x in xs], marker="o", color=color,
                    linestyle="--", label="%s: whole tree (workers share pages)" % name)
    ax.axhline(CONTROLLER_RSS_TARGET_MB, color="grey", linestyle=":", linewidth=1)
    ax.set_title("peak RSS (MB); target %d MB" % CONTROLLER_RSS_TARGET_MB)
    ax = axes[4]
    for name in ("role", "debug", "floor"):
        xs = sorted(by_tenants[name])
        if xs:
            color, marker = styles[name]
            ax.plot(xs, [cpu_ms_per_tenant(by_tenants[name][x], x) for x in xs], marker=marker, color=color,
                    label=LABELS[name])
    xs = sorted(x for x in by_tenants["role"] if x in by_tenants["debug"])
    if xs:
        ax.plot(xs, [cpu_ms_per_tenant(by_tenants["role"][x], x) - cpu_ms_per_tenant(by_tenants["debug"][x], x)
                     for x in xs], marker="o", color="tab:blue", linestyle="--",
                label="the collection's own: role - debug")
    ax.axhline(OWN_CPU_TARGET_MS, color="grey", linestyle=":", linewidth=1)
    ax.set_title("CPU ms per tenant (process tree); own-CPU target %d ms" % OWN_CPU_TARGET_MS)
    ax.set_yscale("log")
    for ax in (axes[0], axes[1], axes[3], axes[4]):
        ax.set_xscale("log")
        ax.set_xlabel("tenants (same bindings in total)")
        ax.legend(fontsize=7)
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
    cfg = runs[-1]["config"]
    fig.suptitle("telphin.pbx bindings rollout by shape: %s ms latency per request, parallel %d, %d%% differing"
                 % (cfg["latency_ms"], cfg["parallel"], int(cfg["differ"] * 100)))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(str(path), dpi=100)
    plt.close(fig)


def _now() -> str:
    return datetime.now().strftime("%H:%M:%S")


def collection_fingerprint(path: Path) -> Dict[str, Any]:
    """Which code was measured: the git commit, whether the tree was dirty, a hash of the collection's code."""
    import hashlib
    digest = hashlib.sha256()
    for sub in ("plugins", "roles", "playbooks"):
        for file in sorted((path / sub).rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(path)).encode() + b"\0" + file.read_bytes())
    info: Dict[str, Any] = {"path": str(path), "code_sha256": digest.hexdigest()[:16]}
    try:
        info["commit"] = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True,
                                        text=True, check=True).stdout.strip()
        info["dirty"] = bool(subprocess.run(["git", "-C", str(path), "status", "--porcelain", "plugins", "roles",
                                             "playbooks"], capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def machine() -> Dict[str, Any]:
    try:
        from ansible.release import __version__ as core
    except ImportError:
        core = "unknown"
    return {"python": platform.python_version(), "platform": platform.platform(terse=True),
            "cpus": os.cpu_count(), "ansible_core": core}


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--tenants", type=int, default=4, help="tenants (inventory hosts), default 4")
    parser.add_argument("--extensions", type=int, default=500, help="phone extensions per tenant, default 500")
    parser.add_argument("--sizes", help="comma-separated phone extensions per tenant for a scaling series "
                                        "(instead of --extensions), e.g. 25,250,2500")
    parser.add_argument("--differ", type=float, default=0.2, help="fraction of bindings that differ (default 0.2)")
    parser.add_argument("--latency-ms", type=float, default=20, help="emulator latency per request (default 20)")
    parser.add_argument("--parallel", type=int, default=4,
                        help="requests at once per tenant: the role's parallel and the floor's pool (default 4)")
    parser.add_argument("--forks", default="5",
                        help="Ansible forks = tenants at once (default 5); a comma-separated list runs each shape "
                             "once per value (a forks curve)")
    parser.add_argument("--shapes", help="comma-separated TENANTSxPHONES shapes, e.g. 4x500,20x100,100x20,500x4 "
                                         "(instead of --tenants with --extensions or --sizes)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma-separated subset of %s (default: all)" % ",".join(VARIANTS))
    parser.add_argument("--slow-max-bindings", type=int, default=2000,
                        help="skip uri and loop above this many bindings (0: never skip; default 2000)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"), help="results directory")
    parser.add_argument("--chart", nargs="?", const=str(REPO / "docs" / "performance.png"),
                        help="write a PNG chart (default path docs/performance.png); needs matplotlib")
    parser.add_argument("--chart-include", nargs="*", default=[],
                        help="earlier results JSON files to draw in the chart too (e.g. a 10,000-binding run)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of role and floor per size, the median is reported (uri and loop run once)")
    parser.add_argument("--no-warmup", action="store_true",
                        help="skip the untimed warm-up run of each variant (1 tenant x 2 phones)")
    parser.add_argument("--collection", help="checkout of telphin.pbx to measure (default: this one), for A/B runs")
    parser.add_argument("--redraw", action="store_true",
                        help="only draw --chart from the --chart-include results (no run)")
    parser.add_argument("--policy", action="store_true",
                        help="add a phone policy in group_vars (role, role_module, floor and the Ansible-only "
                             "variants; see POLICY)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=7200, help="seconds per variant before it is killed")
    parser.add_argument("--sample-interval", type=float, default=0.05, help="memory sampling interval, s")
    parser.add_argument("--ansible-bin", help="directory of ansible-playbook (default: beside this Python)")
    args = parser.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        parser.error("unknown variant(s) %s; choose from %s" % (", ".join(sorted(unknown)), ", ".join(VARIANTS)))
    args.variants = [v for v in VARIANTS if v in args.variants]
    args.size_list = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.extensions]
    args.forks_list = [int(f) for f in str(args.forks).split(",")]
    args.shape_list = ([tuple(int(n) for n in shape.lower().split("x")) for shape in args.shapes.split(",")]
                       if args.shapes else [(args.tenants, e) for e in args.size_list])
    if not 0 <= args.differ <= 1:
        parser.error("--differ must be between 0 and 1")
    if args.policy and set(args.variants) & set(SLOW):
        parser.error("--policy: the %s playbooks know no policy; use role, role_module, floor, ping, debug"
                     % " and ".join(SLOW))
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.redraw:
        if not args.chart or not args.chart_include:
            raise SystemExit("--redraw needs --chart and --chart-include")
        chart([json.loads(Path(p).read_text()) for p in args.chart_include], Path(args.chart))
        print("chart: %s" % args.chart)
        return 0
    out = Path(args.out)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name = "rollout-%s%s-%s" % ("-".join("%dx%d" % shape for shape in args.shape_list),
                                "-policy" if args.policy else "", stamp)
    run_dir = out / name
    run_dir.mkdir(parents=True, exist_ok=True)
    bench = Bench(args)
    fingerprint = collection_fingerprint(bench.collection)
    try:
        if not args.no_warmup:
            warm = run_dir / "warmup"
            warm.mkdir(exist_ok=True)
            world, bindings = build(1, 2, 0.5, args.seed, args.policy)
            for variant in args.variants:
                bench.run_variant(variant, world, bindings, warm)
        sizes: List[Dict[str, Any]] = []
        for tenants, extensions in args.shape_list:
            for forks in args.forks_list:
                bench.forks = forks
                sizes.append(run_size(bench, tenants, extensions, run_dir))
                write_results(out, name, _run_record(args, argv, name, stamp, fingerprint, sizes))  # so far
    finally:
        bench.close()
    run = _run_record(args, argv, name, stamp, fingerprint, sizes)
    table = write_results(out, name, run)
    print()
    print(table)
    print("results: %s.json / .md" % (out / name))
    if args.chart:
        runs = [json.loads(Path(p).read_text()) for p in args.chart_include] + [run]
        chart(runs, Path(args.chart))
        print("chart: %s" % args.chart)
    ok = all(res["correct"] for size in sizes for res in size["variants"].values())
    return 0 if ok else 1


def write_results(out: Path, name: str, run: Dict[str, Any]) -> str:
    """<out>/<name>.json and <name>.md; returns the markdown table."""
    (out / (name + ".json")).write_text(json.dumps(run, indent=1))
    table = markdown(run)
    (out / (name + ".md")).write_text("# %s\n\n%s\n" % (name, table))
    return table


def _run_record(args: argparse.Namespace, argv: Optional[List[str]], name: str, stamp: str,
                fingerprint: Dict[str, Any], sizes: List[Dict[str, Any]]) -> Dict[str, Any]:
    config = {"tenants": args.tenants, "sizes": args.size_list, "shapes": ["%dx%d" % s for s in args.shape_list],
              "differ": args.differ, "latency_ms": args.latency_ms, "policy": POLICY if args.policy else None,
              "parallel": args.parallel, "forks": args.forks, "variants": args.variants, "seed": args.seed,
              "pipelining": False, "repeat": args.repeat, "collection": fingerprint,
              "command": "python benchmarks/rollout.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    return {"name": name, "date": stamp, "machine": machine(), "config": config, "sizes": sizes}


if __name__ == "__main__":
    sys.exit(main())
