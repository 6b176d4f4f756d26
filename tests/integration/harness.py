"""Integration helpers: the emulator on loopback and real ``ansible-playbook`` runs against it.

``TELPHIN_TEST_ANSIBLE_BIN`` picks the directory of the ``ansible-playbook`` to run (the oldest
supported ansible-core runs the same tests); by default the one beside this Python.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional

from tests.reliability.lib import TENANT_SECRET, collections_root

COLLECTIONS_ROOT = collections_root()
ANSIBLE_BIN = Path(os.environ.get("TELPHIN_TEST_ANSIBLE_BIN") or Path(sys.executable).parent)


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str
    results: Dict[str, Any]   # what the playbook saved with the `save` helper task, by name

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def tenant_world(tenants: int = 1, phones: int = 4, bound: int = 0, quota: int = 100000) -> Dict[str, Any]:
    """A small explicit world: tenant N has client 1000+N, prefix 0N0, phones named 100.., one queue."""
    world: Dict[str, Any] = {"defaults": {"quota_limit": quota}, "apps": [], "clients": []}
    next_id = 1
    for n in range(1, tenants + 1):
        client_id = 1000 + n
        world["apps"].append({"app_id": "tenant%d-app" % n, "app_secret": TENANT_SECRET % n,
                              "type": "trusted", "access_level": "all",
                              "user": {"id": 500 + n, "login": "admin@t%d" % n, "access": "full",
                                       "client_id": client_id}})
        extensions = []
        for i in range(phones):
            phone = {"external_number": "+7900%03d%04d" % (n, i) if i < bound else None,
                     "label": "Desk %d" % i, "dtmf_mode": "rfc2833"}
            extensions.append({"id": next_id, "name": str(100 + i), "type": "phone", "phone": phone})
            next_id += 1
        extensions.append({"id": next_id, "name": "500", "type": "queue"})
        next_id += 1
        world["clients"].append({"id": client_id, "name": "Tenant %d" % n, "prefix": "0%d0" % n,
                                 "extensions": extensions})
    return world


def desired_number(tenant: int, index: int) -> str:
    return "+7900%03d%04d" % (tenant, index)


def save(name: str, var: str) -> str:
    """A task that writes a registered variable to the results directory (read back as ``Run.results``)."""
    return textwrap.dedent("""\
        - name: Save {name}
          ansible.builtin.copy:
            content: "{{{{ {var} | to_json }}}}"
            dest: "{{{{ results_dir }}}}/{name}.json"
            mode: "0600"
          changed_when: false
          check_mode: false
          when: {var} is defined
        """).format(name=name, var=var)


def play(tasks: str, name: str, hosts: str = "localhost", connection: Optional[str] = "local",
         module_defaults: Optional[Mapping[str, Any]] = None, interpreter: bool = True,
         section: str = "tasks", play_vars: Optional[Mapping[str, Any]] = None) -> str:
    """One play of a test playbook: ``tasks`` (YAML list items, indented alike; none: ``tasks: []``) on ``hosts``,
    without facts, on ``connection`` (None: the inventory's), the modules run by the controller's Python
    (``interpreter``), more ``play_vars``, and ``module_defaults`` for the action group ``telphin.pbx.pbx``.
    ``section`` names the list (``roles``, ``tasks``). Values are written as JSON (which YAML reads)."""
    lines = ["- name: %s" % name, "  hosts: %s" % hosts]
    if connection:
        lines.append("  connection: %s" % connection)
    lines.append("  gather_facts: false")
    variables = dict({"ansible_python_interpreter": "{{ ansible_playbook_python }}"} if interpreter else {},
                     **(play_vars or {}))
    if variables:
        lines += ["  vars:"] + ["    %s: %s" % (k, json.dumps(v)) for k, v in variables.items()]
    if module_defaults:
        lines += ["  module_defaults:", "    group/telphin.pbx.pbx:"]
        lines += ["      %s: %s" % (k, json.dumps(v)) for k, v in module_defaults.items()]
    body = textwrap.dedent(tasks).strip("\n")
    if not body:
        return "\n".join(lines + ["  %s: []" % section]) + "\n"
    return "\n".join(lines + ["  %s:" % section] + ["    " + line if line else "" for line in body.splitlines()]) + "\n"


def module_play(tasks: str, api_url: str, app_secret: str, name: str = "Phone terminal", app_id: str = "tenant1-app") -> str:
    """A play on localhost running ``tasks`` (YAML list items at column 0) with the module_defaults of the action
    group ``telphin.pbx.pbx`` set to ``api_url`` and the app (by default tenant 1's of ``tenant_world``)."""
    return play(tasks, name, module_defaults={"api_url": api_url, "app_id": app_id, "app_secret": app_secret})


def api_calls(requests: Iterable[Dict[str, Any]], method: Optional[str] = None, fragment: str = "") -> List[Dict]:
    return [r for r in requests if (method is None or r["method"] == method) and fragment in r["path"]]


def token_calls(requests: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [r for r in requests if r["path"].endswith("/oauth/token")]


def plain(value: Any) -> Any:
    """``ansible-inventory --list`` JSON without the ``__ansible_unsafe`` wrappers (ansible-core 2.19 adds them)."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
