"""The phone_bindings role's tenant check (issue 30 item 3): a tenant is its client id, never its editable name."""

from __future__ import annotations

import pytest

from ansible_collections.telphin.pbx.plugins.plugin_utils._identity import identity_problem, pinned_client_id

BINDINGS = [{"extension": "100", "external_number": "+79161234567"}]


def plugin_host(client_id, rule="name", **more):
    """The variables the telphin.pbx.tenants plugin gives a host, then ``more`` (host_vars, extra vars)."""
    return dict({"telphin_client_id": str(client_id), "telphin_client": {"id": client_id, "name": "Acme"},
                 "telphin_host_name_from": rule}, **more)


def problem(variables, host="acme"):
    return identity_problem(variables.get, host)


def test_pinned_bindings_run_on_their_client_only():
    assert problem(plugin_host(1001, phone_bindings=BINDINGS, phone_bindings_client_id=1001)) is None
    assert problem(plugin_host(1001, phone_bindings=BINDINGS, phone_bindings_client_id="1001")) is None
    msg = problem(plugin_host(999, phone_bindings=BINDINGS, phone_bindings_client_id=1001))
    assert msg.startswith("tenant acme: the bindings are pinned to client 1001 (phone_bindings_client_id), but this "
                          "host is client 999 (telphin_client_id). Nothing was sent")


def test_a_static_inventory_pin_is_checked_too():
    static = {"telphin_client_id": "1002", "phone_bindings": BINDINGS, "phone_bindings_client_id": 1001}
    assert "pinned to client 1001" in problem(static)
    assert problem(dict(static, telphin_client_id="1001")) is None
    assert problem({"phone_bindings": BINDINGS}) is None            # a static host named by the user: no pin needed


def test_unpinned_bindings_on_a_name_derived_host_are_refused_unless_named_by_id_or_the_inventory():
    msg = problem(plugin_host(1001, phone_bindings=BINDINGS))
    assert "its host name comes from the tenant's name" in msg and "phone_bindings_client_id: 1001" in msg
    assert "phone_bindings_client_id" in problem(plugin_host(1001, phone_bindings=[]))
    assert "phone_bindings_client_id" in problem(plugin_host(1001, phone_bindings_unbind_unlisted="yes"))
    assert "phone_bindings_client_id" in problem(plugin_host(1001, phone_bindings_apply_plan=True))
    assert problem(plugin_host(1001)) is None                       # nothing to write: nothing to move
    assert problem(plugin_host(1001, rule="id", phone_bindings=BINDINGS)) is None
    assert problem(plugin_host(1001, rule="inventory", phone_bindings=BINDINGS)) is None


def test_a_telphin_client_id_from_host_vars_must_be_the_hosts_client():
    msg = problem(plugin_host(1050, phone_bindings=BINDINGS, phone_bindings_client_id=1001, telphin_client_id="1001"))
    assert msg.startswith("tenant acme: telphin_client_id is 1001, but the inventory (telphin.pbx.tenants) gives host "
                          "acme client 1050")


@pytest.mark.parametrize("conflict, words", [
    ({"name": "acme", "clients": [999, 1001], "reserved": False},
     "tenant acme_999 (client 999): its name gives the host name 'acme', as the name of client 1001 does"),
    ({"name": "localhost", "clients": [999], "reserved": True},
     "tenant acme_999 (client 999): the host name its name gives, 'localhost', is one Ansible reserves")])
def test_a_refused_host_name_is_refused_whatever_else_is_set(conflict, words):
    msg = problem(plugin_host(999, phone_bindings=BINDINGS, phone_bindings_client_id=999,
                              telphin_host_name_conflict=conflict), host="acme_999")
    assert msg.startswith(words) and "set hostname: id" in msg


def test_a_pin_that_is_not_an_id_is_refused_escaped():
    assert "phone_bindings_client_id '10\\n01' is not a client id" in problem(
        plugin_host(1001, phone_bindings=BINDINGS, phone_bindings_client_id="10\n01"))


def test_a_pin_gives_the_client_id_of_an_app_of_its_own_tenant():
    pinned = {"phone_bindings_client_id": 1001}
    assert pinned_client_id({"client_id": "@me"}, pinned.get) == "1001"
    assert pinned_client_id({"client_id": "1002"}, pinned.get) is None
    assert pinned_client_id({"client_id": "@me"}, {}.get) is None


def test_a_renamed_tenants_host_is_refused_while_its_pinned_host_vars_sit_under_its_old_name():
    msg = problem(plugin_host(1001, telphin_host_name_moved_from="acme"), host="acme_corp")
    assert msg.startswith("tenant acme_corp (client 1001): the host_vars of 'acme' next to the inventory source pin "
                          "client 1001, whose host name is acme_corp now")
