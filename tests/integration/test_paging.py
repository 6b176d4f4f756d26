"""Paging under faults: each fault kind of the chaos mix injected on one page of a tenant's extension list.

Under the one paging rule (``_api.TelphinApi.pages``) a list shorter than 500 costs a second request, the empty
page that shows it is complete. A fault on that request (or on the first page) must be retried like any read:
the rollout converges and each tenant's list is answered exactly once per page, the empty one included.
Tenant N gets the N-th kind of ``chaos.FAULT_MIX``, once, on the page under test (``match.query`` of the
emulator's fault rules).
"""

from __future__ import annotations

import pytest

from harness import api_calls, desired_number, tenant_world
from tests.reliability import chaos
from tests.reliability.lib import phones, tenant_inventory, wait_until_quiet

KINDS = [kind for kind, _share, _rule in chaos.FAULT_MIX]
PHONES = 3


def list_calls(log, client_id):
    return [e for e in log if e["path"] == "/api/ver1.0/client/%d/extension/" % client_id]


@pytest.mark.parametrize("page", ["2", "1"])
def test_a_fault_of_each_kind_on_a_list_page_is_retried_and_every_tenant_converges(emulator_factory, playbook, page):
    tenants = len(KINDS)
    emu = emulator_factory(tenant_world(tenants=tenants, phones=PHONES))
    emu.set_faults([dict(rule, probability=1.0, times=1,
                         match={"method": "GET", "path": "/client/%d/extension/$" % (1001 + i), "query": {"page": page}})
                    for i, (_kind, _share, rule) in enumerate(chaos.FAULT_MIX)], seed=1)
    bindings = {n: [{"extension": str(100 + i), "external_number": desired_number(n, i)} for i in range(PHONES)]
                for n in range(1, tenants + 1)}
    run = playbook("telphin.pbx.rollout_bindings",
                   tenant_inventory(emu.url, bindings, telphin_timeout=chaos.MODULE_TIMEOUT),
                   extra_vars={"phone_bindings_max_changes": "100%"})
    assert run.rc == 0, run.output
    wait_until_quiet(emu, quiet=chaos.MODULE_TIMEOUT * 1.5 + 0.5)      # a reply delayed past the timeout lands late
    log = emu.requests()
    now = phones(emu.state())
    for n, kind in enumerate(KINDS, start=1):
        assert "tenant%d: %d phones looked at, %d changed, 0 unchanged, 0 failed" % (n, PHONES, PHONES) in run.stdout, kind
        calls = list_calls(log, 1000 + n)
        faulted = [e for e in calls if e["fault"] is not None]
        assert [(e["query"]["page"], KINDS[e["fault_rule"]]) for e in faulted] == [(page, kind)]
        # What the module got: page 1 with the phones and the queue, then the empty page 2, each once.
        answered = [e["query"]["page"] for e in calls if chaos.answered(e) and e["status"] == 200]
        assert answered == ["1", "2"], (kind, [(e["query"]["page"], e["status"], e["fault"]) for e in calls])
    assert len(api_calls(log, "PUT")) == tenants * PHONES
    client_of = {e["id"]: c["id"] for c in emu.state()["clients"] for e in c["extensions"]}
    bound = sorted((client_of[ext_id], p["external_number"]) for ext_id, p in now.items() if p.get("external_number"))
    assert bound == sorted((1000 + n, desired_number(n, i)) for n in bindings for i in range(PHONES))
