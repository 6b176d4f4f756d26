#!/usr/bin/env python
"""The request and time floor of a bindings rollout: plain Python, ``requests`` and a thread pool.

What a hand-written script that knows the API would do, and nothing more, per tenant:

1. one token (``POST /oauth/token``, client credentials);
2. the extension list, ``per_page=500``, each page once, until an empty page or one shorter than the first
   (the provider may cap ``per_page``: a list shorter than 500 ends with an empty page) -- the collection's
   termination rule, so both send the same list requests. The collection also steps ``per_page`` down when a
   provider refuses 500 (400/422) and bounds the pages and rows it reads; against the emulator, which accepts
   500, neither costs a request, so the floor leaves them out;
3. one ``GET /extension/{id}/phone/`` per binding;
4. one ``PUT /extension/{id}/phone/`` with ``{"external_number": ...}`` per binding that differs.

With a ``phone_policy`` in the inventory (``rollout.py --policy``), every phone extension of the list is looked at
(GET), and its PUT carries the external number and the policy keys that differ, in one request per phone.

Concurrency is the same as the ``phone_bindings`` role's: up to ``--forks`` tenants at once (Ansible's
forks, default 5), each with a pool of ``--parallel`` threads (the role's ``phone_bindings_parallel``,
default 4) over one pooled keep-alive session. No retries, no validation beyond what the
comparison needs: this is the floor, not a tool.

Input: the benchmark's inventory (what ``ansible-playbook -i`` gets, laid out as docs/examples: hosts.yml,
group_vars/, host_vars/): hosts of the group ``telphin_tenants`` with ``telphin_api_url``,
``telphin_client_id``, ``telphin_app_id``, ``telphin_app_secret`` and ``phone_bindings`` (``extension``
short name + ``external_number``).

    python benchmarks/floor.py --inventory INVENTORY_DIR [--parallel 4] [--forks 5]

Prints one JSON object: per-tenant and total request counts, changed and unchanged counts. ``rollout.py`` runs it
as its own process and counts its CPU like an Ansible variant's (user + system time of the process).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional

import requests
import yaml
from requests.adapters import HTTPAdapter

PER_PAGE = 500
API = "/api/ver1.0"
_DECOR = re.compile(r"[ \u00a0\-().]")


def number(value: Any) -> Optional[str]:
    """The comparable form of an external number: decorations removed, empty = None (unbound)."""
    text = _DECOR.sub("", str(value)) if value is not None else ""
    return text or None


class Tenant:
    """One tenant's rollout; counts every request it sends."""

    def __init__(self, name: str, hostvars: Dict[str, Any], parallel: int) -> None:
        self.name = name
        self.url = str(hostvars["telphin_api_url"]).rstrip("/")
        self.client_id = str(hostvars.get("telphin_client_id") or "@me")
        self.app_id = hostvars["telphin_app_id"]
        self.app_secret = hostvars["telphin_app_secret"]
        self.bindings: List[Dict[str, Any]] = list(hostvars.get("phone_bindings") or [])
        self.policy = {k: wire(k, v) for k, v in (hostvars.get("phone_policy") or {}).items()}
        self.parallel = parallel
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=parallel, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.counts = {"token": 0, "list": 0, "get_phone": 0, "put_phone": 0}
        self.changed = 0
        self._lock = threading.Lock()

    def _count(self, kind: str) -> None:
        with self._lock:
            self.counts[kind] += 1

    def run(self) -> Dict[str, Any]:
        self._count("token")
        reply = self.session.post(self.url + "/oauth/token", timeout=30, data={
            "grant_type": "client_credentials", "client_id": self.app_id, "client_secret": self.app_secret})
        reply.raise_for_status()
        self.session.headers["Authorization"] = "Bearer " + reply.json()["access_token"]
        ids: Dict[str, int] = {}
        page, size = 1, 0
        while True:
            self._count("list")
            reply = self.session.get("%s%s/client/%s/extension/" % (self.url, API, self.client_id), timeout=30,
                                     params={"page": page, "per_page": PER_PAGE})
            reply.raise_for_status()
            batch = reply.json()
            for item in batch:
                if item.get("type") == "phone":
                    ids[item["name"].rsplit("*", 1)[-1]] = int(item["id"])
            size = size or len(batch)
            if not batch or len(batch) < size:
                break
            page += 1
        wanted = {str(b["extension"]): {"external_number": number(b.get("external_number"))} for b in self.bindings}
        if self.policy:         # every phone of the list gets the policy; a binding's own number besides
            wanted = {name: dict(self.policy, **wanted.get(name, {})) for name in ids}
        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            list(pool.map(lambda item: self._converge(ids[item[0]], item[1]), wanted.items()))
        return {"tenant": self.name, "requests": dict(self.counts), "changed": self.changed,
                "unchanged": len(wanted) - self.changed}

    def _converge(self, ext_id: int, want: Dict[str, Any]) -> None:
        path = "%s%s/extension/%d/phone/" % (self.url, API, ext_id)
        self._count("get_phone")
        reply = self.session.get(path, timeout=30)
        reply.raise_for_status()
        current = reply.json()
        patch = {k: v for k, v in want.items() if wire(k, current.get(k)) != v}
        if not patch:
            return
        self._count("put_phone")
        self.session.put(path, json=patch, timeout=30).raise_for_status()
        with self._lock:
            self.changed += 1


def wire(key: str, value: Any) -> Any:
    """The comparable form of a phone key: a number without decorations, a country list as sorted upper-case codes
    joined by spaces (the form the API stores), any other value as it is."""
    if key == "external_number":
        return number(value)
    if key == "geo_list":
        codes = value if isinstance(value, list) else str(value or "").split()
        return " ".join(sorted({str(c).upper() for c in codes})) or None
    return value


def _load(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}


def _vars_file(folder: Path, name: str) -> Dict[str, Any]:
    for suffix in (".yml", ".yaml", ".json", ""):
        if (folder / (name + suffix)).is_file():
            return dict(_load(folder / (name + suffix)))
    return {}


def tenants_of(path: str) -> Dict[str, Dict[str, Any]]:
    """Host vars of the hosts of ``telphin_tenants``: an inventory folder laid out as docs/examples
    (hosts.yml, group_vars/{all,telphin_tenants}.yml, host_vars/<host>.yml), or one YAML file with inline vars."""
    root = Path(path)
    folder = root if root.is_dir() else root.parent
    inventory = _load(root / "hosts.yml" if root.is_dir() else root)
    group = inventory["all"]["children"]["telphin_tenants"]
    shared = dict(inventory["all"].get("vars") or {}, **(group.get("vars") or {}))
    shared.update(_vars_file(folder / "group_vars", "all"))
    shared.update(_vars_file(folder / "group_vars", "telphin_tenants"))
    return {name: dict(shared, **(hv or {}), **_vars_file(folder / "host_vars", name))
            for name, hv in group["hosts"].items()}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--inventory", required=True, help="the benchmark's inventory (folder or YAML file)")
    parser.add_argument("--parallel", type=int, default=4, help="requests at once per tenant (default 4)")
    parser.add_argument("--forks", type=int, default=5, help="tenants at once (default 5, as Ansible's forks)")
    args = parser.parse_args(argv)
    hosts = tenants_of(args.inventory)
    tenants = [Tenant(name, hv, args.parallel) for name, hv in hosts.items()]
    with ThreadPoolExecutor(max_workers=max(1, min(args.forks, len(tenants)))) as pool:
        per_tenant = list(pool.map(Tenant.run, tenants))
    total = {kind: sum(t["requests"][kind] for t in per_tenant) for kind in ("token", "list", "get_phone",
                                                                             "put_phone")}
    json.dump({"requests": total, "changed": sum(t["changed"] for t in per_tenant),
               "unchanged": sum(t["unchanged"] for t in per_tenant), "tenants": per_tenant}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
