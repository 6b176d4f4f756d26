"""Kill points: a rollout with backups stopped the ways a controller really stops, then the checks.

The world: T tenants with P phones each, every phone holding a number, every number changing (the role
``telphin.pbx.phone_bindings`` through ``telphin.pbx.rollout_bindings``, ``phone_bindings_backup: true``).
Each run is stopped at one point, counted in the emulator's request log: ``before-writes`` (at the first
read of a phone: no PUT yet), ``early`` (at 15 % of the PUTs), ``late`` (at 85 %), in one of these ways:

- ``awx-cancel``: what ansible-runner does when AWX cancels a job (``Runner.handle_termination``):
  ``os.killpg(os.getpgid(pid), SIGKILL)`` on ``ansible-playbook``, which pexpect started as the leader of
  its own session. From ansible-core 2.19 on the workers are in sessions of their own and outlive it.
- ``tree-kill``: SIGKILL to every descendant, then to ``ansible-playbook`` (a container killed whole).
- ``ctrl-c``: SIGINT to the foreground process group (Ctrl-C in a terminal).
- ``kill-9``: SIGKILL to ``ansible-playbook`` alone (``kill -9``, the OOM killer).
- ``sighup``: SIGHUP to ``ansible-playbook`` alone (a lost SSH session's shell hangs up its job).

Checked after each: every phone whose number changed is in a backup file that parses, holding the number
it had; restoring the backups (the role with each tenant's file as ``phone_bindings``) gives back every
original value exactly; a normal run afterwards converges. Once ``ansible-playbook`` has ended (its end seen
through a pidfd: the moment its workers become orphans), no more PUTs reach the server than were in flight
(one per request thread: tenants x ``parallel``), and no process of the run is left after ``LINGER`` seconds
(a scan of ``/proc`` for the run's marker variable). This matters where the main process dies alone
(``MAIN_ONLY``, and ``awx-cancel`` from ansible-core 2.19 on, whose workers are not in its process group).

From the command line (the published size; docs/reliability.md)::

    python -m tests.reliability.killpoints --tenants 4 --per-tenant 100 --label full

The figures go to ``tests/output/reliability/killpoints-<label>.json``; the exit code is 1 on any violation.
"""

from __future__ import annotations

import argparse
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import yaml

if __package__ in (None, ""):  # pragma: no cover - `python tests/reliability/killpoints.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests import unsafe_yaml  # noqa: E402
from tests.emulator import Emulator  # noqa: E402
from tests.integration.harness import tenant_world  # noqa: E402
from tests.reliability.lib import (  # noqa: E402
    Ansible, ansible_bin, phones, print_figures, puts, record, state_changes, tenant_inventory, wait_until_quiet)

WAYS = ("awx-cancel", "tree-kill", "ctrl-c", "kill-9", "sighup")
MAIN_ONLY = ("kill-9", "sighup")
POINTS = {"before-writes": None, "early": 0.15, "late": 0.85}    # share of the PUTs at which the run is stopped
PARALLEL = 4                # the role's phone_bindings_parallel (its default): request threads per worker
LINGER = 10.0               # seconds a process of a stopped run may take to end
CTRL_C_PATIENCE = 15.0      # seconds a person waits after Ctrl-C before pressing it again
MARKER = "TELPHIN_KILLPOINT_RUN"
PLUGINS = {"ANSIBLE_CONNECTION_PLUGINS": str(Path(__file__).resolve().parents[1] / "integration" / "connection_plugins")}
LATENCY_MS = 2


def original_number(tenant: int, index: int) -> str:
    return "+7900%03d%04d" % (tenant, index)       # what harness.tenant_world binds


def new_number(tenant: int, index: int) -> str:
    return "+7901%03d%04d" % (tenant, index)


def bindings(tenants: int, per_tenant: int) -> Dict[int, List[Dict[str, Any]]]:
    return {n: [{"extension": str(100 + i), "external_number": new_number(n, i)} for i in range(per_tenant)]
            for n in range(1, tenants + 1)}


def run_processes(token: str) -> List[int]:
    """PIDs of the live (not zombie) processes whose environment carries this run's marker."""
    needle = ("%s=%s" % (MARKER, token)).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as env:
                if needle not in env.read().split(b"\0"):
                    continue
            with open("/proc/%s/stat" % entry, "rb") as stat:
                data = stat.read()
        except OSError:
            continue
        if data[data.rfind(b")") + 2:][:1] not in (b"Z", b"X"):
            found.append(int(entry))
    return found


def stop(way: str, proc: "subprocess.Popen[str]", token: str) -> None:
    """Stop ``ansible-playbook`` (``proc``, its own session's leader) the ``way`` named."""
    if way == "awx-cancel":
        os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
    elif way == "tree-kill":
        for pid in run_processes(token):
            if pid != proc.pid:
                _kill(pid, signal.SIGKILL)
        _kill(proc.pid, signal.SIGKILL)
    elif way == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)
    elif way == "kill-9":
        os.kill(proc.pid, signal.SIGKILL)
    elif way == "sighup":
        os.kill(proc.pid, signal.SIGHUP)
    else:
        raise ValueError(way)


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as stat:
            data = stat.read()
    except OSError:
        return False
    return data[data.rfind(b")") + 2:][:1] not in (b"Z", b"X")


class Presses:
    """Ctrl-C as a person presses it: again after ``CTRL_C_PATIENCE`` seconds without an end, and after a second
    wait the terminal is closed (SIGKILL to the process group); ``count`` and ``hung`` say what it took."""

    def __init__(self, proc: "subprocess.Popen[str]") -> None:
        self.proc, self.count, self.hung = proc, 1, False

    def __call__(self) -> None:
        for again in (True, False):
            deadline = time.monotonic() + CTRL_C_PATIENCE
            while running(self.proc.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not running(self.proc.pid):
                return
            if again:
                self.count += 1
                os.killpg(self.proc.pid, signal.SIGINT)
        self.hung = True
        os.killpg(self.proc.pid, signal.SIGKILL)


def describe(pid: int) -> str:
    """A process as a violation names it: its command line (cut), state, and where it waits."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as cmdline:
            command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")[:120]
        with open("/proc/%d/stat" % pid, "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        with open("/proc/%d/wchan" % pid, "rb") as wchan:
            waits = wchan.read().decode(errors="replace")
        threads = len(os.listdir("/proc/%d/task" % pid))
    except OSError:
        return "pid %d (gone)" % pid
    return "pid %d ppid %s state %s, %d thread(s), waiting in %s: %s" % (
        pid, fields[1].decode(), fields[0].decode(), threads, waits, command)


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


class Trigger(threading.Thread):
    """Stops the run once ``reached`` says so of the emulator's request log, in the emulator's serving thread right
    after the request that reaches the point is logged and before its reply leaves: the signal goes out at that
    exact point however busy the machine is (a thread polling the log could be scheduled late, and a short run would
    end first). ``then`` runs afterwards in this thread. Notes when (the log's clock)."""

    def __init__(self, emu: Emulator, reached: Callable[[List[Dict[str, Any]]], bool],
                 fire: Callable[[], None], then: Callable[[], None] = lambda: None) -> None:
        super().__init__(daemon=True)
        self.emu, self.reached, self.fire, self.then = emu, reached, fire, then
        self.firing_at: Optional[float] = None       # emulator clock ("at") when the point was seen reached
        self.fired_at: Optional[float] = None        # emulator clock right after the signal(s) were sent
        self.done = threading.Event()
        self.fired = threading.Event()
        emu.engine.after_record = self._at_each_request

    def _at_each_request(self, log: List[Dict[str, Any]]) -> None:
        if self.fired.is_set() or self.done.is_set() or not self.reached(log):
            return
        engine = self.emu.engine
        self.firing_at = time.monotonic() - engine.started
        self.fire()
        self.fired_at = time.monotonic() - engine.started
        self.fired.set()

    def run(self) -> None:
        while not self.done.is_set():
            if self.fired.wait(0.05):
                self.then()
                return


# SIGHUP and SIGINT at their defaults, then exec the playbook (same pid), as in a terminal's job: a test runner
# started under nohup or as a shell's background job ignores them and would pass that on, and the playbook would
# outlive the hang-up it is meant to model.
AS_IN_A_TERMINAL = [sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGHUP, signal.SIG_DFL); "
                    "signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])"]


def ended(proc: "subprocess.Popen[str]", timeout: float) -> float:
    """Wait for ``proc`` to end; the ``time.monotonic()`` of its end (when its children got another parent), seen
    through a pidfd where there is one, else by polling every 5 ms."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        return time.monotonic()
    try:
        select.select([fd], [], [], timeout)
        return time.monotonic()
    finally:
        os.close(fd)
        proc.poll()


def reached_for(point: str, total_puts: int) -> Callable[[List[Dict[str, Any]]], bool]:
    share = POINTS[point]
    if share is None:
        return lambda log: any(e["method"] == "GET" and e["path"].endswith("/phone/") for e in log)
    count = max(1, int(total_puts * share))
    return lambda log: len(puts(log)) >= count


def load_backups(directory: Path) -> Dict[str, Dict[str, Any]]:
    """Each backup file by name: its tenant (the client id its first comment names) and its bindings, parsed."""
    found = {}
    for path in sorted(directory.glob("*.yml")):
        text = path.read_text()
        doc = unsafe_yaml.load(text)
        match = re.search(r"^# Backup of tenant ([0-9]+) ", text, re.M)
        if match is None:
            raise ValueError("%s names no tenant" % path.name)
        found[path.name] = {"client_id": int(match.group(1)), "bindings": doc["phone_bindings"]}
    return found


def run_point(way: str, point: str, tenants: int, per_tenant: int, workdir: Path, path: str = "controller",
              log: Callable[..., None] = print) -> Dict[str, Any]:
    """One rollout stopped ``way`` at ``point``, then the checks; the figures with their ``violations``. ``path``:
    ``controller`` (the engine in the worker, a local connection) or ``module`` (a module process: the local
    connection under another name, tests/integration/connection_plugins/remote_stand_in.py)."""
    workdir.mkdir(parents=True, exist_ok=True)
    ansible = Ansible(workdir)
    backup_dir = workdir / "backup"
    want = bindings(tenants, per_tenant)
    figures: Dict[str, Any] = {"way": way, "point": point, "path": path, "violations": []}
    connection = {"ansible_connection": "remote_stand_in"} if path == "module" else {}
    violations: List[str] = figures["violations"]
    with Emulator(tenant_world(tenants, per_tenant, bound=per_tenant), latency_ms=LATENCY_MS) as emu:
        original = emu.state()
        inv = tenant_inventory(emu.url, want, phone_bindings_backup=True, phone_bindings_backup_dir=str(backup_dir),
                               **connection)
        token = uuid.uuid4().hex
        command = AS_IN_A_TERMINAL + ansible.command("telphin.pbx.rollout_bindings", inv)[0]
        with open(workdir / "stopped-run.log", "w") as output:
            proc = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True, cwd=str(workdir),
                                    env=ansible.environment({MARKER: token, **PLUGINS}), start_new_session=True)
        presses = Presses(proc)
        trigger = Trigger(emu, reached_for(point, tenants * per_tenant), lambda: stop(way, proc, token),
                          presses if way == "ctrl-c" else lambda: None)
        trigger.start()
        died_at = ended(proc, 900) - emu.engine.started     # ansible-playbook has ended: its workers are orphans
        trigger.done.set()
        trigger.join()
        if proc.returncode is None:
            violations.append("the run did not end within 900 s")
            proc.kill()
            proc.wait()
        if trigger.fired_at is None:
            violations.append("the run ended (rc=%d) before it was stopped" % proc.returncode)
            return figures
        left = run_processes(token)
        waited = 0.0
        while left and waited < LINGER:
            time.sleep(0.1)
            waited += 0.1
            left = run_processes(token)
        wait_until_quiet(emu, quiet=0.5)
        requests = emu.requests(clear=True)
        after_stop = [e for e in puts(requests) if e["at"] > trigger.fired_at]
        after_death = [e for e in puts(requests) if e["at"] > died_at]
        stopped = emu.state()
        figures.update({
            "rc": proc.returncode, "puts": len(puts(requests)),
            "puts_when_stopped": sum(1 for e in puts(requests) if e["at"] <= (trigger.firing_at or 0)),
            "signal_seconds": round(trigger.fired_at - (trigger.firing_at or 0), 3),
            "puts_after_signal": len(after_stop), "puts_after_exit": len(after_death),
            "main_exit_seconds": round(died_at - trigger.fired_at, 2),
            **({"ctrl_c_presses": presses.count, "ctrl_c_hung": presses.hung} if way == "ctrl-c" else {}),
            "in_flight_bound": tenants * PARALLEL,
            "processes_left": len(left), "processes_end_seconds": round(waited, 1)})
        if len(after_death) > tenants * PARALLEL:
            violations.append("%d PUT(s) reached the server after ansible-playbook had ended (at most %d were in "
                              "flight)" % (len(after_death), tenants * PARALLEL))
        if left:
            violations.append("%d process(es) of the run still running %.0f s after it was stopped: %s"
                              % (len(left), LINGER, "; ".join(describe(pid) for pid in left)))
            for pid in left:
                _kill(pid, signal.SIGKILL)

        # every changed phone is in a parsing backup, with the value it had
        before, now = phones(original), phones(stopped)
        changed = {ext: p for ext, p in now.items() if p != before[ext]}
        figures["changed"] = len(changed)
        try:
            backups = load_backups(backup_dir) if backup_dir.is_dir() else {}
        except (yaml.YAMLError, KeyError, ValueError, TypeError) as exc:
            violations.append("a backup file does not parse: %s" % exc)
            backups = {}
        figures["backup_files"] = len(backups)
        saved: Dict[int, Dict[str, Any]] = {}
        names = {(c["id"], str(e["name"]).rsplit("*", maxsplit=1)[-1]): e["id"] for c in original["clients"] for e in c["extensions"]}
        for backup in backups.values():
            for item in backup["bindings"]:
                ext = names.get((backup["client_id"], str(item["extension"]).rsplit("*", maxsplit=1)[-1]))
                if ext is None:
                    violations.append("backup names an unknown extension %r" % item["extension"])
                    continue
                saved[ext] = item
        for ext, phone in sorted(changed.items()):
            item = saved.get(ext)
            keys = [k for k in phone if phone[k] != before[ext].get(k)]
            if item is None:
                violations.append("extension id %d changed (%s) and is in no backup" % (ext, ", ".join(keys)))
            elif any((item.get(k) if item.get(k) != "" else None) != before[ext].get(k) for k in keys):
                violations.append("extension id %d: the backup holds %r, the phone held %r"
                                  % (ext, item, {k: before[ext].get(k) for k in keys}))
        figures["changed_in_backup"] = sum(1 for ext in changed if ext in saved)

        # restore every backup: the role with each tenant's file as its phone_bindings
        restore_hosts = {n: [] for n in range(1, tenants + 1)}
        for backup in backups.values():
            restore_hosts[backup["client_id"] - 1000].extend(backup["bindings"])
        restore_hosts = {n: items for n, items in restore_hosts.items() if items}
        if restore_hosts:
            restore = ansible.run("telphin.pbx.rollout_bindings", tenant_inventory(emu.url, restore_hosts))
            figures["restore_rc"] = restore.rc
            if restore.rc != 0:
                violations.append("restore run: rc=%d:\n%s" % (restore.rc, restore.output[-2000:]))
        diff = state_changes(original, emu.state())
        figures["restored_exactly"] = not diff
        if diff:
            violations.append("after the restore %d value(s) differ from the original, e.g. %r" % (len(diff), diff[:3]))

        # a normal run converges
        emu.requests(clear=True)
        converge = ansible.run("telphin.pbx.rollout_bindings", tenant_inventory(emu.url, want))
        figures["converge_rc"] = converge.rc
        final = phones(emu.state())
        wrong = [ext for ext in final if final[ext].get("external_number") not in
                 {new_number(n, i) for n in want for i in range(per_tenant)}]
        if converge.rc != 0 or wrong:
            violations.append("converge run: rc=%d, %d phone(s) not converged" % (converge.rc, len(wrong)))
    log("%-10s %-10s %-13s stopped at PUT %d/%d; PUTs after the signal %d, after the exit %d; processes left %d; "
        "changed %d, in a backup %d; restored %s; converge rc %s; %d violation(s)"
        % (path, way, point, figures["puts_when_stopped"], tenants * per_tenant, figures["puts_after_signal"],
           figures["puts_after_exit"], figures["processes_left"], figures["changed"], figures["changed_in_backup"],
           figures["restored_exactly"], figures["converge_rc"], len(violations)))
    return figures


def ansible_core() -> str:
    out = subprocess.run([str(ansible_bin() / "ansible"), "--version"], capture_output=True, text=True, check=False)
    first = out.stdout.splitlines()[0] if out.stdout else ""
    return first.rsplit("[core ", maxsplit=1)[-1].rstrip("]") if "[core " in first else first


def run_series(tenants: int, per_tenant: int, ways: List[str], points: List[str], label: Optional[str] = None,
               workdir: Optional[Path] = None, paths: Tuple[str, ...] = ("controller",),
               log: Callable[..., None] = print) -> Dict[str, Any]:
    """Every way at every point; the figures (recorded as ``killpoints-<label>`` when ``label`` is given)."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="telphin-killpoints-"))
    started = time.monotonic()
    rows = [run_point(way, point, tenants, per_tenant, workdir / ("%s-%s-%s" % (path, way, point)), path, log)
            for path in paths for way in ways for point in points]
    figures = {"tenants": tenants, "per_tenant": per_tenant, "parallel": PARALLEL, "linger": LINGER,
               "ansible_core": ansible_core(), "load_average": list(os.getloadavg()),
               "seconds": round(time.monotonic() - started), "points": rows,
               "violations": ["%s path, %s at %s: %s" % (r["path"], r["way"], r["point"], v)
                              for r in rows for v in r["violations"]]}
    if label:
        record("killpoints-%s" % label, figures)
    return figures


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--per-tenant", type=int, default=100)
    parser.add_argument("--ways", default=",".join(WAYS))
    parser.add_argument("--points", default=",".join(POINTS))
    parser.add_argument("--paths", default="controller,module")
    parser.add_argument("--label")
    args = parser.parse_args(argv)
    figures = run_series(args.tenants, args.per_tenant, args.ways.split(","), args.points.split(","), args.label,
                         paths=tuple(args.paths.split(",")))
    return print_figures(figures)


if __name__ == "__main__":
    sys.exit(main())
