#!/usr/bin/env python
"""Profile the bulk module (``telphin.pbx.extension_phones``) as Ansible runs it: the real AnsiballZ payload.

1. Runs a one-task playbook with ``ANSIBLE_KEEP_REMOTE_FILES=1`` against an emulator world of one tenant
   with ``--bindings`` phones (``--differ`` of them to change), which leaves the AnsiballZ file behind.
2. ``explode``s it, points its ``args`` at a fresh emulator on the same world, and runs ``execute``
   (the module process exactly as Ansible starts it, minus the controller) ``--runs`` times, reporting
   wall time, CPU, peak RSS (``ru_maxrss`` of the module process), the requests the emulator saw,
   and, on request, a profile:

   ``--cprofile FILE``   cProfile of the main thread (start-up, validation, planning, result, exit_json);
                         the pool threads' HTTP work shows as the wait in ``_apply_all``
   ``--importtime``      ``python -X importtime``: the import cost of ansible, requests and module_utils
   ``--py-spy FILE``     py-spy (if installed) of every thread, as a flame graph SVG

    python benchmarks/profile_bulk.py --bindings 10000 --latency-ms 20 --cprofile /tmp/bulk.prof
    python -c "import pstats; pstats.Stats('/tmp/bulk.prof').sort_stats('cumtime').print_stats(30)"

``--collection PATH`` profiles another checkout of the collection (A/B of a change), ``--parallel N``
the module's ``parallel``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO))

import rollout  # noqa: E402  (benchmarks/ on sys.path)
from tests.emulator import Emulator  # noqa: E402

PLAY = """\
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - telphin.pbx.extension_phones:
        api_url: "{{ telphin_api_url }}"
        app_id: "{{ telphin_app_id }}"
        app_secret: "{{ telphin_app_secret }}"
        client_id: "{{ telphin_client_id }}"
        bindings: "{{ phone_bindings }}"
        parallel: "{{ parallel }}"
"""


_CPROFILE = """
import cProfile, runpy, sys
out, sys.argv = sys.argv[1], sys.argv[2:]
profile = cProfile.Profile()
profile.enable()
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
finally:
    profile.disable()
    profile.dump_stats(out)
sys.exit(code)
"""


def capture_payload(args: argparse.Namespace, world: Dict[str, Any], bindings: List[Dict], work: Path) -> Path:
    """Run the module once through ansible-playbook, keeping the AnsiballZ file; return its path."""
    collections = work / "collections"
    link = collections / "ansible_collections" / "telphin" / "pbx"
    link.parent.mkdir(parents=True)
    link.symlink_to(Path(args.collection).resolve() if args.collection else REPO, target_is_directory=True)
    keep = work / "remote-tmp"
    with Emulator(world, latency_ms=0) as emu:
        hostvars = rollout.inventory(world, {1: bindings}, emu.url)["all"]["children"]["telphin_tenants"]["hosts"]
        extra = dict(hostvars["tenant1"], parallel=args.parallel)
        (work / "vars.yml").write_text(yaml.safe_dump(extra))
        (work / "play.yml").write_text(PLAY)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELPHIN_", "ANSIBLE_"))}
        env.update({"ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_HOME": str(work / "home"),
                    "ANSIBLE_LOCAL_TEMP": str(work / "local-tmp"), "ANSIBLE_REMOTE_TEMP": str(keep),
                    "ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_NOCOLOR": "1",
                    "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0"})
        bin_dir = Path(args.ansible_bin or Path(sys.executable).parent)
        proc = subprocess.run([str(bin_dir / "ansible-playbook"), str(work / "play.yml"), "-e", "@" + str(work / "vars.yml")],
                              env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit("capturing the payload failed:\n" + proc.stdout[-3000:] + proc.stderr[-3000:])
    [payload] = list(keep.glob("ansible-tmp-*/AnsiballZ_extension_phones.py"))
    target = work / "AnsiballZ_extension_phones.py"
    shutil.copy(payload, target)
    subprocess.run([sys.executable, str(target), "explode"], cwd=str(work), check=True, capture_output=True)
    return target


def execute(args: argparse.Namespace, world: Dict[str, Any], payload: Path, run: int) -> Dict[str, Any]:
    """One ``execute`` of the exploded payload against a fresh emulator."""
    args_file = payload.parent / "debug_dir" / "args"
    params = json.loads(args_file.read_text())
    with Emulator(world, latency_ms=args.latency_ms) as emu:
        params["ANSIBLE_MODULE_ARGS"]["api_url"] = emu.url
        params["ANSIBLE_MODULE_ARGS"]["parallel"] = args.parallel
        args_file.write_text(json.dumps(params))
        python = [sys.executable]
        if args.importtime and run == 0:
            python += ["-X", "importtime"]
        command = python + [str(payload), "execute"]
        if args.cprofile and run == 0:
            # not "-m cProfile": AnsiballZ drops the directory of __main__ (then the stdlib's) from sys.path
            command = python + ["-c", _CPROFILE, args.cprofile, str(payload), "execute"]
        if args.py_spy and run == 0:
            command = [args.py_spy_bin, "record", "--idle", "--nonblocking", "-r", "250", "-o", args.py_spy, "--"] + command
        wrapper = [sys.executable, "-c", rollout._RUSAGE_WRAPPER, str(payload.parent / "rusage.json")]  # pylint: disable=protected-access
        started = time.perf_counter()
        proc = subprocess.run(wrapper + command, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        log = emu.requests()
    usage = json.loads((payload.parent / "rusage.json").read_text())
    result: Dict[str, Any] = {"wall_s": round(wall, 3), "cpu_s": round(usage["user_s"] + usage["sys_s"], 2),
                              "maxrss_mb": round(usage["maxrss_kb"] / 1024.0, 1), "rc": proc.returncode,
                              "requests": rollout.classify(log)}
    times = [e["time"] for e in log]
    if times:
        result["requests_span_s"] = round(max(times) - min(times), 3)
    if proc.returncode != 0:
        result["stderr_tail"] = proc.stderr[-2000:]
    try:
        output = json.loads(proc.stdout[proc.stdout.index("{"):])
        result["summary"] = output.get("summary")
        result["output_bytes"] = len(proc.stdout)
    except ValueError:
        result["stdout_tail"] = proc.stdout[-1000:]
    if args.importtime and run == 0:
        result["imports"] = import_summary(proc.stderr)
    return result


def import_summary(stderr: str) -> Dict[str, float]:
    """Cumulative import time (ms) of the packages that matter, wherever they are first imported."""
    wanted = ("ansible.module_utils._internal._ansiballz._loader", "ansible.module_utils.basic", "requests",
              "urllib3", "json", "concurrent.futures.thread", "dataclasses",
              "ansible_collections.telphin.pbx.plugins.module_utils._ansible",
              "ansible_collections.telphin.pbx.plugins.module_utils._client",
              "ansible_collections.telphin.pbx.plugins.module_utils._bulk",
              "ansible_collections.telphin.pbx.plugins.module_utils._phone",
              "ansible_collections.telphin.pbx.plugins.module_utils._resolve")
    out: Dict[str, float] = {}
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)", line)
        if match and match.group(2) in wanted:
            out[match.group(2)] = round(int(match.group(1)) / 1000.0, 1)
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--bindings", type=int, default=10000, help="phones of the one tenant, all listed")
    parser.add_argument("--differ", type=float, default=0.2)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--runs", type=int, default=1, help="timed executions (profiles are taken in the first)")
    parser.add_argument("--cprofile", help="write a cProfile of the first run here")
    parser.add_argument("--importtime", action="store_true", help="report import times of the first run")
    parser.add_argument("--py-spy", help="write a py-spy flame graph (SVG) of the first run here")
    parser.add_argument("--py-spy-bin", default=shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"))
    parser.add_argument("--collection", help="checkout of telphin.pbx to profile (default: this one)")
    parser.add_argument("--ansible-bin", help="directory of ansible-playbook (default: beside this Python)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    world, bindings = rollout.build(1, args.bindings, args.differ, args.seed)
    work = Path(tempfile.mkdtemp(prefix="telphin-profile-bulk-"))
    try:
        payload = capture_payload(args, world, bindings[1], work)
        runs = [execute(args, world, payload, n) for n in range(max(1, args.runs))]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    walls = sorted(r["wall_s"] for r in runs)
    report = {"bindings": args.bindings, "latency_ms": args.latency_ms, "parallel": args.parallel,
              "collection": args.collection or str(REPO), "median_wall_s": walls[(len(walls) - 1) // 2],
              "runs": runs}
    print(json.dumps(report, indent=1))
    return 0 if all(r["rc"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
