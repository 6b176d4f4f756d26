"""Deterministic generated worlds for tests and benchmarks."""

from __future__ import annotations

import random
import string
from typing import Any, Dict, List

DEALER_ID = 10
_NON_PHONE_TYPES = ("queue", "ivr", "fax")


def generate_world(tenants: int, extensions_per_tenant: int, *, non_phone_per_tenant: int = 0, seed: int = 0,
                   quota_limit: int = 100000, with_bundles: bool = False) -> Dict[str, Any]:
    """A world of ``tenants`` clients under one dealer, the same for the same arguments.

    Tenant N: client ``1000+N``, prefix ``0N0``, app ``tenant<N>-app`` (secret ``secret-tenant<N>-<6 chars>``)
    whose full-access user belongs to the client; ``extensions_per_tenant`` phones named 100, 101, ...,
    then ``non_phone_per_tenant`` queue/ivr/fax extensions continuing the names. About half of the
    phones have an external number; every phone has the vendor key ``dtmf_mode``. Extension ids run
    from 1 across all tenants. ``with_bundles``: the first two phones of each tenant form a bundle.
    A ``dealer-app`` (dealer 10) owns every client.
    """
    rng = random.Random(seed)
    world: Dict[str, Any] = {
        "defaults": {"quota_limit": quota_limit},
        "dealers": [{"id": DEALER_ID, "name": "Generated dealer"}],
        "apps": [{"app_id": "dealer-app", "app_secret": "secret-dealer-" + _suffix(rng), "type": "trusted",
                  "access_level": "all", "user": {"id": 500, "login": "dealer", "access": "full",
                                                  "dealer_id": DEALER_ID}}],
        "clients": [],
    }
    next_id = 1
    for n in range(1, tenants + 1):
        client_id = 1000 + n
        world["apps"].append({"app_id": "tenant%d-app" % n, "app_secret": "secret-tenant%d-%s" % (n, _suffix(rng)),
                              "type": "trusted", "access_level": "all",
                              "user": {"id": 500 + n, "login": "admin@tenant%d" % n, "access": "full",
                                       "client_id": client_id}})
        extensions: List[Dict[str, Any]] = []
        for i in range(extensions_per_tenant):
            number = "+7%010d" % rng.randrange(10 ** 10) if rng.random() < 0.5 else None
            extensions.append({"id": next_id + i, "name": str(100 + i), "type": "phone", "label": "Phone %d" % i,
                               "phone": {"external_number": number, "label": "Desk %d" % i,
                                         "dtmf_mode": rng.choice(("rfc2833", "inband", "info"))}})
        for j in range(non_phone_per_tenant):
            extensions.append({"id": next_id + extensions_per_tenant + j, "name": str(100 + extensions_per_tenant + j),
                               "type": _NON_PHONE_TYPES[j % len(_NON_PHONE_TYPES)]})
        client: Dict[str, Any] = {"id": client_id, "name": "Tenant %d" % n, "prefix": "0%d0" % n,
                                  "dealer_id": DEALER_ID, "extensions": extensions}
        if with_bundles and extensions_per_tenant >= 2:
            client["bundles"] = [{"main": next_id, "members": [next_id, next_id + 1]}]
        world["clients"].append(client)
        next_id += extensions_per_tenant + non_phone_per_tenant
    return world


def _suffix(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=6))
