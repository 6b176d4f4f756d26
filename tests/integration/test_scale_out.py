"""Scale-out the way AWX / Automation Controller job slicing runs it.

One inventory sync with telphin.pbx.tenants (dealer source), stored as a static inventory with each tenant's
bindings (what Controller keeps in its database), then N slices of ``telphin.pbx.rollout_bindings``, each a separate
``ansible-playbook`` over ``hosts[i::N]`` (Controller's partition), here with ``--limit``. One slice runs with
``-f 1``. The emulator's log and state show that every tenant converged exactly once.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import yaml

from harness import ANSIBLE_BIN, COLLECTIONS_ROOT, api_calls, desired_number, plain, tenant_world, token_calls
from tests.reliability.lib import tenants_inventory

T, SLICES, PHONES, BOUND, WANTED = 6, 3, 5, 1, 4
DEALER, DEALER_APP, DEALER_SECRET = 10, "dealer-app", "dealer-secret-Zx61"


def dealer_world() -> Dict[str, Any]:
    """``tenant_world`` whose T clients belong to one dealer with its own trusted app."""
    world = tenant_world(tenants=T, phones=PHONES, bound=BOUND)
    world["dealers"] = [{"id": DEALER}]
    for item in world["clients"]:
        item["dealer_id"] = DEALER
    world["apps"].append({"app_id": DEALER_APP, "app_secret": DEALER_SECRET, "type": "trusted", "access_level": "all",
                          "user": {"id": 900, "login": "ops@dealer", "access": "full", "dealer_id": DEALER}})
    return world


def environment(work: Path) -> Dict[str, str]:
    """As the ``playbook`` fixture, with the dealer's app in the environment (a Controller credential)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELPHIN_", "ANSIBLE_"))}
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_ROOT), "ANSIBLE_HOME": str(work / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(work / "ansible-tmp"), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent", "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
        "PATH": str(ANSIBLE_BIN) + os.pathsep + os.environ.get("PATH", ""),
        "TELPHIN_APP_ID": DEALER_APP, "TELPHIN_APP_SECRET": DEALER_SECRET,
    })
    return env


def sync_inventory(emu: Any, tmp_path: Path) -> Dict[str, Dict[str, Any]]:
    """The inventory sync: the plugin once; returns host vars by host name."""
    work = tmp_path / "sync"
    work.mkdir()
    source = work / "inventory.telphin.yml"
    source.write_text(yaml.safe_dump({"plugin": "telphin.pbx.tenants", "source": "dealer", "api_url": emu.url}))
    proc = subprocess.run([str(ANSIBLE_BIN / "ansible-inventory"), "-i", str(source), "--list"], capture_output=True,
                          text=True, env=environment(work), timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = plain(json.loads(proc.stdout))
    return {host: data["_meta"]["hostvars"][host] for host in data["telphin_tenants"]["hosts"]}


def store(hostvars: Dict[str, Dict[str, Any]], path: Path) -> None:
    """The inventory as Controller keeps it: the synced host vars plus each tenant's bindings.

    The host vars are the plugin's, as synced (no app credentials: the slices get the dealer's from the
    environment), so only the ``telphin_tenants`` group around them comes from ``tenants_inventory``."""
    hosts = {}
    for host, hv in hostvars.items():
        n = int(hv["telphin_client_id"]) - 1000
        wanted = [{"extension": str(100 + i), "external_number": desired_number(n, i)} for i in range(WANTED)]
        hosts[host] = dict(hv, phone_bindings=wanted, phone_bindings_client_id=int(hv["telphin_client_id"]))
    path.write_text(yaml.safe_dump(tenants_inventory(hosts)))


def start_slice(inventory: Path, hosts: List[str], work: Path, *args: str) -> subprocess.Popen:
    work.mkdir(parents=True)
    command = [str(ANSIBLE_BIN / "ansible-playbook"), "-i", str(inventory), "telphin.pbx.rollout_bindings",
               "--limit", ",".join(hosts), *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment(work))


def finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out + err
    return out


def recap(stdout: str) -> Dict[str, Dict[str, int]]:
    """PLAY RECAP counters by host."""
    found = {}
    for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", stdout, re.M):
        found[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counters)}
    return found


def tokens_by_tenant(log: List[Dict[str, Any]]) -> Dict[int, set]:
    used: Dict[int, set] = {}
    for entry in log:
        if entry["client_id"] is not None:
            used.setdefault(entry["client_id"], set()).add(entry["token_id"])
    return used


def test_sliced_rollout_converges_every_tenant_exactly_once(emulator_factory, tmp_path):
    emu = emulator_factory(dealer_world())
    hostvars = sync_inventory(emu, tmp_path)
    assert len(hostvars) == T
    client_of = {host: int(hv["telphin_client_id"]) for host, hv in hostvars.items()}
    stored = tmp_path / "stored-inventory.yml"
    store(hostvars, stored)
    sync_log = emu.requests(clear=True)
    assert len(sync_log) == 4          # token, /user/, the clients (2 pages: a short list ends on the next): nothing
    # charged to any tenant
    assert {e["client_id"] for e in sync_log} <= {None, "dealer:%d" % DEALER}

    hosts = sorted(hostvars)
    slices = [hosts[i::SLICES] for i in range(SLICES)]

    # First run: slice by slice (the log of each is kept apart); slice 0 with one fork.
    logs, outputs = [], []
    for i, part in enumerate(slices):
        extra = ("-f", "1") if i == 0 else ()
        outputs.append(finish(start_slice(stored, part, tmp_path / ("run1-slice%d" % i), *extra)))
        logs.append(emu.requests(clear=True))
    for part, out in zip(slices, outputs):
        assert sorted(recap(out)) == sorted(part)
        counts = recap(out)
        assert all(c["failed"] == 0 for c in counts.values())
        # One change per tenant (its bulk call); the batch's summary (run once) is never a change.
        assert [c["changed"] for c in counts.values()] == [1] * len(part)

    # No tenant was touched by two slices, and every tenant by one.
    touched = [{e["client_id"] for e in log if e["client_id"] is not None} for log in logs]
    assert touched == [{client_of[h] for h in part} for part in slices]
    everything = list(itertools.chain.from_iterable(logs))
    # Each tenant's token was requested once in all: T token requests, each token used by exactly one tenant.
    assert len(token_calls(everything)) == T
    used = tokens_by_tenant(everything)
    assert sorted(used) == sorted(client_of.values()) and all(len(ids) == 1 for ids in used.values())
    assert len(set().union(*used.values())) == T
    # The request floor per tenant: token, the list (a short page and the empty one), one GET per listed phone,
    # one PUT per differing one.
    assert len(everything) == T * (1 + 2 + WANTED + (WANTED - BOUND))
    puts = api_calls(everything, "PUT")
    assert len(puts) == T * (WANTED - BOUND) and all(list(p["body"]) == ["external_number"] for p in puts)
    # Every desired number is set, nothing else moved.
    state = {(c["id"], e["name"]): e.get("phone", {}).get("external_number")
             for c in emu.state()["clients"] for e in c["extensions"] if e["type"] == "phone"}
    for n in range(1, T + 1):
        assert [state[(1000 + n, "0%d0*%d" % (n, 100 + i))] for i in range(PHONES)] == \
            [desired_number(n, i) for i in range(WANTED)] + [None] * (PHONES - WANTED)
    # With -f 1 the tenants of slice 0 ran one after the other: their requests never interleave.
    order = [e["client_id"] for e in logs[0] if e["client_id"] is not None]
    assert [client_id for client_id, _run in itertools.groupby(order)] == [client_of[h] for h in slices[0]]
    assert [e["client_id"] is None for e in logs[0]].count(True) == len(slices[0])   # one token each

    # Second run: all slices at once, as Controller runs them; nothing to write.
    procs = [start_slice(stored, part, tmp_path / ("run2-slice%d" % i)) for i, part in enumerate(slices)]
    outputs = [finish(proc) for proc in procs]
    log = emu.requests(clear=True)
    assert api_calls(log, "PUT") == []
    assert len(token_calls(log)) == T
    used = tokens_by_tenant(log)
    assert sorted(used) == sorted(client_of.values()) and all(len(ids) == 1 for ids in used.values())
    assert all(c["changed"] == 0 and c["failed"] == 0 for out in outputs for c in recap(out).values())
    assert sorted(itertools.chain.from_iterable(recap(out) for out in outputs)) == hosts
    assert not any(DEALER_SECRET in out for out in outputs)
