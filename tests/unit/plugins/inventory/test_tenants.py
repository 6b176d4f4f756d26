"""The inventory plugin telphin.pbx.tenants: both sources, paging, host names, constructed, cache, errors.

Every HTTP call is scripted in order (tests/unit/scripted.py). The plugin runs through its real option handling:
its documentation (with the doc fragments) is registered with Ansible's config manager as the plugin loader
would, and ``parse`` reads a real ``*.telphin.yml`` file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional
from unittest import mock

import pytest
import yaml

from ansible import constants as C
from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible.plugins.loader import fragment_loader
from ansible.template import Templar
from ansible.utils.plugin_docs import add_fragments
from ansible.utils.unsafe_proxy import AnsibleUnsafe

from ansible_collections.telphin.pbx.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.telphin.pbx.plugins.inventory import tenants as tenants_mod
from ansible_collections.telphin.pbx.plugins.module_utils import _api
from ansible_collections.telphin.pbx.plugins.plugin_utils import _hostnames, _hostvars, _vault
from ansible_collections.telphin.pbx.plugins.module_utils._client import MAX_ATTEMPTS, ApiClient
from cores import DATA_TAGGING
from scripted import API, Call, ScriptedTransport, quota_headers, token
from tests.inventory_objects import restored
from tests.triggers import TRIGGERS

if DATA_TAGGING:
    from ansible.template import is_trusted_as_template, trust_as_template
else:
    def trust_as_template(value):
        return value

NAME = "telphin.pbx.tenants"
BASE = {"plugin": NAME, "api_url": API, "app_id": "app-1", "app_secret": "s3cret-app"}
DEALER_USER = {"id": 500, "login": "ops@dealer", "access": "full", "client_id": None, "dealer_id": 10}
CLIENT_USER = {"id": 501, "login": "admin@acme", "access": "full", "client_id": 1001, "dealer_id": None}
PAGE = {"page": 1, "per_page": 500}
PAGE2 = {"page": 2, "per_page": 500}     # the empty page that ends a list shorter than 500


def client(client_id: int, name: str, **extra: Any) -> Dict[str, Any]:
    prefix = "%03d" % (client_id % 1000)
    return dict({"id": client_id, "name": name, "prefix": prefix, "domain": "%s.pbx.test" % prefix,
                 "timezone": "Europe/Moscow", "dealer_id": 10}, **extra)


def ext(ext_id: int, name: str, ext_type: str = "phone") -> Dict[str, Any]:
    return {"id": ext_id, "name": name, "type": ext_type, "status": "active"}


ACME, GLOBEX, INITECH = client(1001, "Acme"), client(1002, "Globex Corp."), client(1003, "ООО Инитех")


class _Fragments:
    """The fragment loader of the plugin loader, knowing this checkout's fragment without a collection finder."""

    def get(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "telphin.pbx.connection":
            return type("Connection", (ModuleDocFragment,), {"ansible_name": name})
        if name.startswith("telphin.pbx."):
            return None
        # without a collection finder, core's fragments load by their short names
        short = name[len("ansible.builtin."):] if name.startswith("ansible.builtin.") else name
        return fragment_loader.get(short, *args, **kwargs)


def _register_options() -> None:
    """What ``PluginLoader._load_config_defs`` does for the plugin: its options, fragments merged, to the config."""
    if not C.config.has_configuration_definition("inventory", NAME):
        doc = yaml.safe_load(tenants_mod.DOCUMENTATION)
        add_fragments(doc, tenants_mod.__file__, fragment_loader=_Fragments(), is_module=False)
        C.config.initialize_plugin_configuration_definitions("inventory", NAME, doc["options"])


def new_plugin(transport: ScriptedTransport) -> tenants_mod.InventoryModule:
    _register_options()
    plugin = tenants_mod.InventoryModule()
    for attr, value in (("_load_name", NAME), ("_redirected_names", [NAME]), ("ansible_name", NAME),
                        ("ansible_aliases", [NAME]), ("_original_path", tenants_mod.__file__)):
        setattr(plugin, attr, value)
    plugin._new_client = lambda settings: ApiClient(settings, transport=transport, sleep=lambda s: None)
    plugin.display = mock.MagicMock()
    return plugin


@dataclass
class Result:
    inventory: InventoryData
    transport: ScriptedTransport
    plugin: tenants_mod.InventoryModule

    def hosts(self, group: Optional[str] = None) -> List[str]:
        if group is None:
            return sorted(self.inventory.hosts)
        return sorted(h.name for h in self.inventory.groups[group].get_hosts())

    def vars(self, host: str) -> Dict[str, Any]:
        return self.inventory.get_host(host).vars

    def dump(self) -> str:
        """Everything the inventory holds, as text."""
        return repr({name: (host.vars, sorted(g.name for g in host.groups)) for name, host in self.inventory.hosts.items()})

    def tokens(self) -> int:
        """Token requests sent."""
        return sum(1 for call in self.transport.sent if call["method"] == "POST")

    def warnings(self) -> List[str]:
        return [c.args[0] for c in self.plugin.display.warning.call_args_list]


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Parse a config (dict over BASE; None removes a key; or raw YAML text) with the scripted calls."""
    for key in list(os.environ):
        if key.startswith(("TELPHIN_", "ANSIBLE_CACHE", "ANSIBLE_INVENTORY_CACHE")):
            monkeypatch.delenv(key)

    def parse(config: Any, *calls: Call, cache: bool = True, name: str = "test.telphin.yml",
              loader: Optional[DataLoader] = None) -> Result:
        path = tmp_path / name
        if isinstance(config, str):
            path.write_text(config)
        else:
            merged = dict(BASE, **config)
            path.write_text(yaml.safe_dump({k: v for k, v in merged.items() if v is not None}, allow_unicode=True))
        transport = ScriptedTransport(*calls)
        plugin = new_plugin(transport)
        inventory = InventoryData()
        plugin.parse(inventory, loader or DataLoader(), str(path), cache=cache)
        if plugin.get_option("cache"):
            plugin.update_cache_if_changed()  # what InventoryManager does after parse
        inventory.reconcile_inventory()
        transport.assert_done()
        return Result(inventory, transport, plugin)

    return parse


# -- file names ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, ok", [("prod.telphin.yml", True), ("prod.telphin.yaml", True), ("telphin.yml", True),
                                      ("telphin.yaml", True), ("inventory.yml", False), ("telphin.yml.bak", False),
                                      ("prodtelphin.yml", False)])
def test_verify_file_accepts_only_telphin_names(tmp_path, name, ok):
    path = tmp_path / name
    path.write_text("plugin: telphin.pbx.tenants\n")
    assert new_plugin(ScriptedTransport()).verify_file(str(path)) is ok
    assert new_plugin(ScriptedTransport()).verify_file(str(tmp_path / "missing.telphin.yml")) is False


# -- source: dealer --------------------------------------------------------------------------------

def test_dealer_source_reads_user_then_the_client_list_and_builds_hosts(run):
    res = run({"source": "dealer"}, token(), Call("GET", "/user/", reply=DEALER_USER),
              Call("GET", "/dealer/10/client/", params=PAGE, reply=[GLOBEX, ACME, INITECH]),
              Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]))
    assert res.hosts() == ["acme", "globex_corp", "ooo_initekh"]
    assert res.hosts("telphin_tenants") == ["acme", "globex_corp", "ooo_initekh"]
    hv = res.vars("acme")
    assert hv["telphin_client_id"] == "1001" and isinstance(hv["telphin_client_id"], str)
    assert hv["telphin_client"] == dict(ACME, other_fields=[])      # every field of ACME is a documented one
    assert hv["telphin_api_url"] == API
    assert "telphin_extensions" not in hv and "telphin_token_url" not in hv
    assert not any("secret" in key or "token" in key or key == "telphin_app_id" for key in hv)
    assert "s3cret-app" not in res.dump() and "tok-1" not in res.dump()
    assert res.tokens() == 1


def test_dealer_id_option_skips_the_user_request_and_path_template_is_used(run):
    res = run({"dealer_id": 77, "dealer_clients_path": "/reseller/{dealer_id}/clients"}, token(),
              Call("GET", "/reseller/77/clients", params=PAGE, reply=[ACME]),
              Call("GET", "/reseller/77/clients", params=PAGE2, reply=[]))
    assert res.hosts() == ["acme"]


def test_dealer_client_list_is_paged(run, monkeypatch):
    monkeypatch.setattr(_api, "PER_PAGE", 2)
    res = run({"dealer_id": 10}, token(),
              Call("GET", "/dealer/10/client/", params={"page": 1, "per_page": 2}, reply=[ACME, GLOBEX]),
              Call("GET", "/dealer/10/client/", params={"page": 2, "per_page": 2}, reply=[INITECH]))
    assert res.hosts() == ["acme", "globex_corp", "ooo_initekh"]


def test_dealer_client_list_from_a_server_that_ignores_paging_fails_at_the_repeated_page(run, monkeypatch):
    # One paging rule for every list (module_utils/_api.py): a full page with nothing new is an error, not a cut.
    monkeypatch.setattr(_api, "PER_PAGE", 2)
    with pytest.raises(AnsibleParserError, match=r"listing the clients of dealer 10 \(GET /dealer/10/client/\): "
                                                 r"GET /dealer/10/client/ page 2 repeats earlier pages"):
        run({"dealer_id": 10}, token(),
            Call("GET", "/dealer/10/client/", params={"page": 1, "per_page": 2}, reply=[ACME, GLOBEX]),
            Call("GET", "/dealer/10/client/", params={"page": 2, "per_page": 2}, reply=[ACME, GLOBEX]))


def test_with_extensions_lists_every_page_of_each_tenant_with_short_names(run, monkeypatch):
    monkeypatch.setattr(_api, "PER_PAGE", 2)
    res = run({"dealer_id": 10, "with_extensions": True, "extension_type": "phone"}, token(),
              Call("GET", "/dealer/10/client/", params={"page": 1, "per_page": 2}, reply=[ACME, GLOBEX]),
              Call("GET", "/dealer/10/client/", params={"page": 2, "per_page": 2}, reply=[]),
              Call("GET", "/client/1001/extension/", params={"page": 1, "per_page": 2, "type": "phone"},
                   reply=[ext(1, "001*100"), ext(2, "001*101")]),
              Call("GET", "/client/1001/extension/", params={"page": 2, "per_page": 2, "type": "phone"},
                   reply=[ext(3, "001*102")]),
              Call("GET", "/client/1002/extension/", params={"page": 1, "per_page": 2, "type": "phone"}, reply=[]))
    assert [e["short_name"] for e in res.vars("acme")["telphin_extensions"]] == ["100", "101", "102"]
    assert res.vars("acme")["telphin_extensions"][0]["name"] == "001*100"
    assert res.vars("globex_corp")["telphin_extensions"] == []
    assert res.tokens() == 1


# Regression (issue 12 item 15): a page shorter than 500 was taken as the last one, so with a provider that caps
# per_page below what is asked the plugin silently saw the first page of each tenant's extensions only.
def test_a_provider_capping_per_page_at_50_has_every_page_of_each_tenant_read(run):
    capped = [ext(i, "001*%d" % (100 + i)) for i in range(1, 108)]       # 107 extensions: pages of 50, 50, 7
    res = run({"dealer_id": 10, "with_extensions": True}, token(),
              Call("GET", "/dealer/10/client/", params=PAGE, reply=[ACME]),
              Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]),
              Call("GET", "/client/1001/extension/", params=PAGE, reply=capped[:50]),
              Call("GET", "/client/1001/extension/", params=PAGE2, reply=capped[50:100]),
              Call("GET", "/client/1001/extension/", params={"page": 3, "per_page": 500}, reply=capped[100:]))
    assert [e["id"] for e in res.vars("acme")["telphin_extensions"]] == list(range(1, 108))


def test_quota_reserve_is_judged_per_tenant(run):
    # Tenant 1001 is nearly out of quota; tenant 1002 has plenty. The dealer's client uses one token for both.
    res = run({"dealer_id": 10, "with_extensions": True, "quota_reserve": 10}, token(),
              Call("GET", "/dealer/10/client/", params=PAGE, reply=[ACME, GLOBEX], headers=quota_headers(900)),
              Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]),
              Call("GET", "/client/1001/extension/", params=PAGE, reply=[ext(1, "001*100")],
                   headers=quota_headers(12)),
              Call("GET", "/client/1001/extension/", params=PAGE2, reply=[], headers=quota_headers(11)),
              Call("GET", "/client/1002/extension/", params=PAGE, reply=[], headers=quota_headers(800)))
    assert res.hosts() == ["acme", "globex_corp"]


def test_quota_reserve_stops_within_a_tenant(run, monkeypatch):
    monkeypatch.setattr(_api, "PER_PAGE", 1)
    with pytest.raises(AnsibleParserError, match=r"listing the extensions of client 1001.*quota reserve"):
        run({"dealer_id": 10, "with_extensions": True, "quota_reserve": 10}, token(),
            Call("GET", "/dealer/10/client/", params={"page": 1, "per_page": 1}, reply=[ACME]),
            Call("GET", "/dealer/10/client/", params={"page": 2, "per_page": 1}, reply=[]),
            Call("GET", "/client/1001/extension/", params={"page": 1, "per_page": 1}, reply=[ext(1, "001*100")],
                 headers=quota_headers(5)))


# -- source: list ----------------------------------------------------------------------------------

def test_list_source_shares_one_token_per_credential_set_and_never_exports_by_default(run):
    tenants = [{"name": "acme", "client_id": 1001},
               {"client_id": "1002"},
               {"name": "initech", "app_id": "initech-app", "app_secret": "initech-s3cret"}]
    res = run({"source": "list", "tenants": tenants}, token("tok-dealer"),
              Call("GET", "/client/1001/", reply=ACME), Call("GET", "/client/1002/", reply=GLOBEX),
              token("tok-initech"), Call("GET", "/client/@me/", reply=INITECH))
    sent = res.transport.sent
    assert sent[0]["form"]["client_id"] == "app-1" and sent[3]["form"]["client_id"] == "initech-app"
    assert sent[3]["form"]["client_secret"] == "initech-s3cret"
    assert sent[4]["headers"]["Authorization"] == "Bearer tok-initech"
    assert res.hosts("telphin_tenants") == ["acme", "globex_corp", "initech"]
    assert res.vars("initech")["telphin_client_id"] == "1003"
    dump = res.dump()
    assert "initech-s3cret" not in dump and "s3cret-app" not in dump and "initech-app" not in dump
    assert res.warnings() == []


def test_export_credentials_sets_only_the_entries_own_credentials_and_warns_for_plain_text(run):
    tenants = [{"name": "acme", "client_id": 1001},
               {"name": "initech", "app_id": "initech-app", "app_secret": "initech-s3cret"},
               {"name": "globex", "client_id": 1002, "access_token": "given-token"}]
    res = run({"source": "list", "tenants": tenants, "export_credentials": True}, token(),
              Call("GET", "/client/1001/", reply=ACME), token("tok-initech"), Call("GET", "/client/@me/", reply=INITECH),
              Call("GET", "/client/1002/", reply=GLOBEX))
    assert res.transport.sent[-1]["headers"]["Authorization"] == "Bearer given-token"
    assert not any(key.startswith("telphin_app") or key == "telphin_access_token" for key in res.vars("acme"))
    assert res.vars("initech")["telphin_app_id"] == "initech-app"
    assert res.vars("initech")["telphin_app_secret"] == "initech-s3cret"
    assert res.vars("globex")["telphin_access_token"] == "given-token"
    assert "telphin_app_secret" not in res.vars("globex")
    warnings = res.warnings()
    assert len(warnings) == 2
    assert any("tenants[2] (initech): app_secret is plain text" in w for w in warnings)
    assert any("tenants[3] (globex): access_token is plain text" in w for w in warnings)
    assert not any("initech-s3cret" in w or "given-token" in w for w in warnings)


def test_vault_encrypted_secret_is_decrypted_for_the_api_and_stays_encrypted_in_host_vars(run, monkeypatch):
    secrets = [("default", VaultSecret(b"test-vault-pw"))]
    try:  # ansible-core 2.19+: the CLI makes the vault secrets current once per process
        from ansible.parsing.vault import VaultSecretsContext
    except ImportError:
        pass
    else:
        monkeypatch.setattr(VaultSecretsContext, "_current", VaultSecretsContext(secrets))
    cipher = VaultLib(secrets).encrypt("initech-s3cret").decode()
    text = "\n".join([
        "plugin: telphin.pbx.tenants", "api_url: %s" % API, "source: list", "export_credentials: true", "tenants:",
        "  - name: initech", "    app_id: initech-app", "    app_secret: !vault |",
        *("      " + line for line in cipher.splitlines()), ""])
    loader = DataLoader()
    loader.set_vault_secrets(secrets)
    res = run(text, token("tok-initech"), Call("GET", "/client/@me/", reply=INITECH), loader=loader)
    assert res.transport.sent[0]["form"]["client_secret"] == "initech-s3cret"
    exported = res.vars("initech")["telphin_app_secret"]
    assert isinstance(exported, _vault.VaultedValue)
    assert str(exported) == "initech-s3cret"   # what a play sees once the vault password is known
    assert res.warnings() == []


def test_entry_api_url_uses_its_own_token_endpoint_and_is_exported(run):
    other = "https://other.test"      # not the scripted API host: the scripted paths are then full URLs
    tenants = [{"name": "acme", "client_id": 1001},
               {"name": "far", "client_id": 5, "api_url": other, "app_id": "far-app", "app_secret": "far-s3cret"},
               {"name": "near", "client_id": 6, "app_id": "near-app", "app_secret": "near-s3cret",
                "token_url": other + "/api/ver1.0/oauth/token"}]
    res = run({"source": "list", "tenants": tenants}, token(), Call("GET", "/client/1001/", reply=ACME),
              Call("POST", other + "/oauth/token", reply={"access_token": "tok-far"}),
              Call("GET", other + "/api/ver1.0/client/5/", reply=client(5, "Far")),
              Call("POST", other + "/api/ver1.0/oauth/token", reply={"access_token": "tok-near"}),
              Call("GET", "/client/6/", reply=client(6, "Near")))
    assert res.vars("far")["telphin_api_url"] == other and "telphin_token_url" not in res.vars("far")
    assert res.vars("near")["telphin_api_url"] == API
    assert res.vars("near")["telphin_token_url"] == other + "/api/ver1.0/oauth/token"
    assert res.vars("acme")["telphin_api_url"] == API and "telphin_token_url" not in res.vars("acme")


def test_list_source_token_url_is_exported_when_set(run):
    res = run({"source": "list", "token_url": API + "/oauth/token", "tenants": [{"client_id": 1001}]}, token(),
              Call("GET", "/client/1001/", reply=ACME))
    assert res.vars("acme")["telphin_token_url"] == API + "/oauth/token"


# -- host names ------------------------------------------------------------------------------------

def test_a_shared_derived_name_goes_to_no_tenant_whatever_the_api_order(run):
    """Issue 30: of tenants with the same slug the lowest id took it, so a look-alike (ＡＣＭＥ) or creation order
    decided which tenant a host (and its host_vars) was. Now none gets it, and each is flagged for the role."""
    clients = [client(7, "Acme"), client(9, "Acme 7"), client(5, "ＡＣＭＥ!"), client(12, "ООО Ромашка"),
               client(13, "***"), client(14, "Café Ünïcode")]
    res = run({"dealer_id": 10}, token(), Call("GET", "/dealer/10/client/", params=PAGE, reply=clients),
              Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]))
    names = {h: res.vars(h)["telphin_client_id"] for h in res.hosts()}
    assert names == {"acme_5": "5", "acme_7": "9", "acme_7_2": "7", "ooo_romashka": "12", "client_13": "13",
                     "cafe_unicode": "14"}
    assert res.vars("acme_5")["telphin_host_name_conflict"] == {"name": "acme", "clients": [5, 7], "reserved": False}
    assert res.vars("acme_7_2")["telphin_host_name_conflict"]["clients"] == [5, 7]
    assert "telphin_host_name_conflict" not in res.vars("acme_7")
    assert {res.vars(h)["telphin_host_name_from"] for h in res.hosts()} == {"name"}
    res2 = run({"dealer_id": 10}, token(), Call("GET", "/dealer/10/client/", params=PAGE, reply=clients[::-1]),
               Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]))
    assert {h: res2.vars(h)["telphin_client_id"] for h in res2.hosts()} == names


def test_a_new_tenant_with_the_same_name_takes_the_name_from_neither(run):
    first = run({"dealer_id": 10}, token(), Call("GET", "/dealer/10/client/", params=PAGE, reply=[client(5, "Acme")]),
                Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]))
    later = run({"dealer_id": 10}, token(),
                Call("GET", "/dealer/10/client/", params=PAGE, reply=[client(5, "Acme"), client(8, "acme")]),
                Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]))
    assert first.hosts() == ["acme"] and later.hosts() == ["acme_5", "acme_8"]
    assert later.vars("acme_5")["telphin_client_id"] == "5"


def test_hostname_id(run):
    res = run({"dealer_id": 10, "hostname": "id"}, token(),
              Call("GET", "/dealer/10/client/", params=PAGE, reply=[ACME, GLOBEX]),
              Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]))
    assert res.hosts() == ["1001", "1002"]
    assert res.vars("1001")["telphin_host_name_from"] == "id"


def test_explicit_list_names_win_and_a_derived_name_they_hold_is_refused(run):
    tenants = [{"client_id": 1002}, {"name": "globex_corp", "client_id": 1001}]
    res = run({"source": "list", "tenants": tenants}, token(), Call("GET", "/client/1002/", reply=GLOBEX),
              Call("GET", "/client/1001/", reply=ACME))
    names = {h: res.vars(h)["telphin_client_id"] for h in res.hosts()}
    assert names == {"globex_corp": "1001", "globex_corp_1002": "1002"}
    assert res.vars("globex_corp")["telphin_host_name_from"] == "inventory"
    assert res.vars("globex_corp_1002")["telphin_host_name_conflict"] == {
        "name": "globex_corp", "clients": [1001, 1002], "reserved": False}


def test_reserved_names_never_replace_the_implicit_localhost_or_a_group(run):
    clients = [client(1, "Localhost"), client(2, "ALL"), client(3, "ungrouped"), client(4, "Telphin Tenants"),
               client(5, "Big"), client(6, "Acme")]
    res = run({"dealer_id": 10, "groups": {"big": "true"}}, token(),
              Call("GET", "/dealer/10/client/", params=PAGE, reply=clients),
              Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]))
    assert res.hosts() == ["acme", "all_2", "big_5", "localhost_1", "telphin_tenants_4", "ungrouped_3"]
    assert res.vars("localhost_1")["telphin_host_name_conflict"] == {
        "name": "localhost", "clients": [1], "reserved": True}
    assert "telphin_host_name_conflict" not in res.vars("acme")
    with pytest.raises(ValueError, match="host name localhost .client 1. is reserved"):
        _hostnames.assign_hostnames([(1, "localhost", "x")])
    with pytest.raises(ValueError, match="host name tenants .client 1. is reserved"):
        _hostnames.assign_hostnames([(1, "tenants", "x")], ["tenants"])


def test_pinned_host_vars_left_under_an_old_name_are_reported_on_the_renamed_tenant(run, tmp_path):
    """Issue 30: a rename changed the host name and left the tenant's host_vars behind, silently."""
    (tmp_path / "host_vars" / "acme").mkdir(parents=True)
    (tmp_path / "host_vars" / "acme" / "bindings.yml").write_text("phone_bindings_client_id: 1001\nphone_bindings: []\n")
    (tmp_path / "host_vars" / "globex_corp.yml").write_text("phone_bindings_client_id: 1002\n")   # at its name
    (tmp_path / "host_vars" / "localhost.yml").write_text("ansible_connection: local\n")          # another host's
    (tmp_path / "host_vars" / "broken.yml").write_text("phone_bindings_client_id: [\n")          # Ansible reports it
    renamed = client(1001, "Acme Corp")
    res = run({"dealer_id": 10}, token(), Call("GET", "/dealer/10/client/", params=PAGE, reply=[renamed, GLOBEX]),
              Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]))
    assert res.vars("acme_corp")["telphin_host_name_moved_from"] == "acme"
    assert "telphin_host_name_moved_from" not in res.vars("globex_corp")
    assert res.warnings() == ["telphin.pbx.tenants: host_vars/acme next to this source pin client 1001, whose host "
                              "name is acme_corp now (its name changed): they are not applied, and the phone_bindings "
                              "role refuses to run acme_corp until they are moved to host_vars/acme_corp (or set "
                              "hostname: id)"]
    by_id = run({"dealer_id": 10, "hostname": "id"}, token(),
                Call("GET", "/dealer/10/client/", params=PAGE, reply=[renamed, GLOBEX]),
                Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]))
    assert "telphin_host_name_moved_from" not in by_id.vars("1001") and by_id.warnings() == []


def test_slugify_and_assign_hostnames():
    assert _hostnames.slugify("  Щукин & Сыновья, ЗАО ") == "shchukin_synovia_zao"
    assert _hostnames.slugify("Über-Straße 5") == "uber_strasse_5"
    assert _hostnames.slugify("Ёлки-Палки Ltd") == "elki_palki_ltd"
    with pytest.raises(ValueError, match="host name x is given to clients 1 and 2"):
        _hostnames.assign_hostnames([(1, "x", "a"), (2, "x", "b")])


# -- constructed -----------------------------------------------------------------------------------

def test_compose_groups_and_keyed_groups(run):
    config = {"dealer_id": 10, "with_extensions": True, "group": "pbx",
              "compose": {"tenant_prefix": "telphin_client.prefix", "phones": "telphin_extensions | length"},
              "groups": {"big": "telphin_extensions | length > 1"},
              "keyed_groups": [{"key": "telphin_client.timezone | replace('/', '_')", "prefix": "tz"},
                               {"key": "telphin_client.dealer_id | string", "prefix": "dealer"}]}
    res = run(config, token(), Call("GET", "/dealer/10/client/", params=PAGE,
                                    reply=[ACME, client(1002, "Globex", timezone="Asia/Omsk")]),
              Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]),
              Call("GET", "/client/1001/extension/", params=PAGE, reply=[ext(1, "001*100"), ext(2, "001*101")]),
              Call("GET", "/client/1001/extension/", params=PAGE2, reply=[]),
              Call("GET", "/client/1002/extension/", params=PAGE, reply=[ext(3, "002*100")]),
              Call("GET", "/client/1002/extension/", params=PAGE2, reply=[]))
    assert res.hosts("pbx") == ["acme", "globex"] and "telphin_tenants" not in res.inventory.groups
    assert res.vars("acme")["tenant_prefix"] == "001"
    assert int(res.vars("acme")["phones"]) == 2
    assert res.hosts("big") == ["acme"]
    assert res.hosts("tz_Europe_Moscow") == ["acme"] and res.hosts("tz_Asia_Omsk") == ["globex"]
    assert res.hosts("dealer_10") == ["acme", "globex"]


def test_strict_compose_errors_fail_the_source(run):
    calls = (token(), Call("GET", "/dealer/10/client/", params=PAGE, reply=[ACME]),
             Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]))
    lenient = run({"dealer_id": 10, "compose": {"x": "telphin_client.nope.deeper"}}, *calls)
    assert "x" not in lenient.vars("acme")
    with pytest.raises(AnsibleError, match="Could not set x for host acme"):
        run({"dealer_id": 10, "strict": True, "compose": {"x": "telphin_client.nope.deeper"}}, *calls)


def test_api_values_that_look_like_templates_are_not_templated(run):
    res = run({"dealer_id": 10, "compose": {"shown": "telphin_client.name"}}, token(),
              Call("GET", "/dealer/10/client/", params=PAGE, reply=[client(5, "{{ lookup('env', 'HOME') }}")]),
              Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]))
    host = res.hosts()[0]
    assert res.vars(host)["shown"] == "{{ lookup('env', 'HOME') }}"


# -- cache -----------------------------------------------------------------------------------------

def cache_options(tmp_path: Path) -> Dict[str, Any]:
    return {"dealer_id": 10, "with_extensions": True, "cache": True, "cache_plugin": "jsonfile",
            "cache_connection": str(tmp_path / "cache"), "cache_timeout": 600}


def test_cache_hit_sends_zero_requests_and_holds_no_secret(run, tmp_path):
    calls = (token(), Call("GET", "/dealer/10/client/", params=PAGE, reply=[ACME, GLOBEX]),
             Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]),
             Call("GET", "/client/1001/extension/", params=PAGE, reply=[ext(1, "001*100")]),
             Call("GET", "/client/1001/extension/", params=PAGE2, reply=[]),
             Call("GET", "/client/1002/extension/", params=PAGE, reply=[]))
    first = run(cache_options(tmp_path), *calls)
    files = list((tmp_path / "cache").iterdir())
    assert len(files) == 1
    stored = files[0].read_text()
    assert "Acme" in stored and "s3cret-app" not in stored and "tok-1" not in stored and "app-1" not in stored
    second = run(cache_options(tmp_path))          # no call scripted: any request fails the test
    assert second.transport.sent == []
    assert second.hosts() == first.hosts() == ["acme", "globex_corp"]
    assert second.vars("acme") == first.vars("acme")


def test_the_cache_gives_back_the_servers_objects_as_they_were_never_as_tags(run, tmp_path):
    """Server JSON is data whatever it holds (issue 30): an object {"__ansible_vault": ...} or {"__ansible_unsafe":
    ...} in a client came back from the jsonfile cache of ansible-core 2.16 to 2.18 as a vaulted value (decrypted
    with the controller's vault secrets when a play read it; no secret: the play failed) or a string."""
    vault = {"__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256\n6162636465\n"}
    hostile = client(1001, "Acme", notes=vault, tags=[{"__ansible_unsafe": "x"}])
    calls = (token(), Call("GET", "/dealer/10/client/", params=PAGE, reply=[hostile]),
             Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]),
             Call("GET", "/client/1001/extension/", params=PAGE, reply=[]))
    first = run(cache_options(tmp_path), *calls)
    second = run(cache_options(tmp_path))          # from the cache: no request
    assert second.transport.sent == []
    for got in (first, second):
        client_vars = restored(got.vars("acme")["telphin_client"])
        assert type(client_vars["notes"]).__name__ != "AnsibleVaultEncryptedUnicode"
        assert client_vars["notes"] == vault and client_vars["tags"][0] == {"__ansible_unsafe": "x"}
    assert second.vars("acme") == first.vars("acme")


def test_flush_cache_reads_the_api_and_refreshes_the_cache(run, tmp_path):
    run(cache_options(tmp_path), token(), Call("GET", "/dealer/10/client/", params=PAGE, reply=[ACME]),
        Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]),
        Call("GET", "/client/1001/extension/", params=PAGE, reply=[]))
    run(cache_options(tmp_path), token(), Call("GET", "/dealer/10/client/", params=PAGE, reply=[ACME, GLOBEX]),
        Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]),
        Call("GET", "/client/1001/extension/", params=PAGE, reply=[]),
        Call("GET", "/client/1002/extension/", params=PAGE, reply=[]), cache=False)
    assert run(cache_options(tmp_path)).hosts() == ["acme", "globex_corp"]


def test_changed_options_ignore_the_cached_data(run, tmp_path):
    run(cache_options(tmp_path), token(), Call("GET", "/dealer/10/client/", params=PAGE, reply=[ACME]),
        Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]),
        Call("GET", "/client/1001/extension/", params=PAGE, reply=[]))
    res = run(dict(cache_options(tmp_path), extension_type="phone"), token(),
              Call("GET", "/dealer/10/client/", params=PAGE, reply=[ACME]),
              Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]),
              Call("GET", "/client/1001/extension/", params=dict(PAGE, type="phone"), reply=[]))
    assert res.hosts() == ["acme"]
    # the host name rule is applied to cached data: no request
    assert run(dict(cache_options(tmp_path), extension_type="phone", hostname="id")).hosts() == ["1001"]


def test_cached_list_source_takes_exported_credentials_from_the_file(run, tmp_path):
    config = dict(cache_options(tmp_path), source="list", with_extensions=False, export_credentials=True,
                  tenants=[{"name": "acme", "app_id": "acme-app", "app_secret": "acme-s3cret"}])
    config.pop("dealer_id")
    run(config, token(), Call("GET", "/client/@me/", reply=ACME))
    assert "acme-s3cret" not in next((tmp_path / "cache").iterdir()).read_text()
    res = run(config)
    assert res.vars("acme")["telphin_app_secret"] == "acme-s3cret"


# -- errors ----------------------------------------------------------------------------------------

def test_bad_credentials_fail_with_the_app_id_and_never_the_secret(run):
    with pytest.raises(AnsibleParserError) as err:
        run({"dealer_id": 10}, token(status=401))
    text = str(err.value)
    assert "telphin.pbx.tenants: listing the clients of dealer 10" in text and "app-1" in text
    assert "s3cret-app" not in text


def test_a_client_level_app_cannot_be_a_dealer_source(run):
    with pytest.raises(AnsibleParserError, match=r"needs a dealer-level trusted app.*belongs to client 1001.*"
                                                 r"source: list"):
        run({}, token(), Call("GET", "/user/", reply=CLIENT_USER))


@pytest.mark.parametrize("dealer_id", ["../../client/1", 10.5, True, [10]])
def test_a_dealer_id_that_is_not_a_number_is_never_put_in_a_path(run, dealer_id):
    with pytest.raises(AnsibleParserError, match=r"GET /user/\): its dealer_id is not a number; set dealer_id$"):
        run({}, token(), Call("GET", "/user/", reply=dict(DEALER_USER, dealer_id=dealer_id)))


def test_unknown_dealer_path_says_it_is_a_guess(run):
    with pytest.raises(AnsibleParserError, match=r"HTTP 404.*not documented publicly.*dealer_clients_path"):
        run({"dealer_id": 10}, token(), Call("GET", "/dealer/10/client/", params=PAGE, status=404,
                                             reply={"message": "Not found", "status": "not_found"}))


def test_access_denied_and_quota_exhausted_are_reported(run):
    with pytest.raises(AnsibleParserError, match=r"tenants\[1\] \(1009\): reading client 1009.*HTTP 403"):
        run({"source": "list", "tenants": [{"client_id": 1009}]}, token(),
            Call("GET", "/client/1009/", status=403, reply={"message": "Access denied", "status": "access_denied"}))
    with pytest.raises(AnsibleParserError, match=r"extensions of client 1001.*quota is exhausted"):
        run({"dealer_id": 10, "with_extensions": True}, token(),
            Call("GET", "/dealer/10/client/", params=PAGE, reply=[ACME]),
            Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]),
            Call("GET", "/client/1001/extension/", params=PAGE, status=429,
                 reply={"status": "rate_limit_exceeded", "message": "limit"}, headers=quota_headers(0)))


def test_malformed_replies_are_reported(run):
    with pytest.raises(AnsibleParserError, match="expected a JSON array of clients with a numeric id"):
        run({"dealer_id": 10}, token(), Call("GET", "/dealer/10/client/", params=PAGE, reply={"items": []}))
    with pytest.raises(AnsibleParserError, match="expected a JSON array of clients with a numeric id"):
        run({"dealer_id": 10}, token(), Call("GET", "/dealer/10/client/", params=PAGE, reply=[{"name": "x"}]))


@pytest.mark.parametrize("config, message", [
    ({"tenants": [{"client_id": 1}]}, "tenants is only read with source: list"),
    ({"source": "list"}, "source: list needs at least one entry"),
    ({"source": "list", "tenants": [{"client_id": 1, "password": "pw"}]}, r"tenants\[1\] has unknown key\(s\) password"),
    ({"source": "list", "tenants": [{"client_id": 1, "app_id": "a"}]}, "give app_id and app_secret together"),
    ({"source": "list", "tenants": [{"client_id": "1/../2"}]}, "is not a client id"),
    ({"source": "list", "tenants": [{"client_id": 1, "name": "a b"}]}, "is not a host name"),
    ({"source": "list", "tenants": ["acme"]}, r"tenants\[1\] is not a mapping"),
    ({"dealer_id": 10, "dealer_clients_path": "/dealer/{id}/client/"}, "only {dealer_id} may be used"),
    ({"dealer_id": 10, "dealer_clients_path": "dealer/{dealer_id}"}, "must be an API path"),
    ({"dealer_id": 10, "app_id": None, "app_secret": None}, "no API credentials"),
    ({"dealer_id": 10, "api_url": "ftp://x"}, "is not an http"),
    # a keyed group is named after a tenant's data: only with a prefix of the dealer's that starts with a letter
    ({"dealer_id": 10, "keyed_groups": [{"key": "telphin_client.timezone"}]}, r"keyed_groups\[1\] needs a prefix"),
    ({"dealer_id": 10, "keyed_groups": [{"key": "telphin_client.timezone", "prefix": ""}]},
     r"keyed_groups\[1\] needs a prefix"),
    ({"dealer_id": 10, "keyed_groups": [{"key": "x", "prefix": "tz"}, {"key": "y", "prefix": "_"}]},
     r"keyed_groups\[2\] needs a prefix"),
    ({"dealer_id": 10, "keyed_groups": [{"key": "x", "prefix": "tz", "parent_group": "{{ telphin_client.name }}"}]},
     r"keyed_groups\[1\]: parent_group must be a group name"),
    ({"dealer_id": 10, "groups": {"localhost": "true"}}, "groups: localhost is a name Ansible reserves"),
    ({"dealer_id": 10, "groups": {"telphin_tenants": "true"}}, "groups: telphin_tenants is a name Ansible reserves"),
])
def test_bad_configuration_fails_before_any_request(run, config, message):
    with pytest.raises(AnsibleParserError, match=message):
        run(config)


def test_bad_group_name_and_duplicate_clients(run):
    with pytest.raises(AnsibleParserError, match="is not a valid group name"):
        run({"dealer_id": 10, "group": "telphin-tenants"}, token(),
            Call("GET", "/dealer/10/client/", params=PAGE, reply=[ACME]),
            Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]))
    with pytest.raises(AnsibleParserError, match=r"tenants\[1\] \(1001\) and tenants\[2\] \(@me\) are the same client"):
        run({"source": "list", "tenants": [{"client_id": 1001}, {"client_id": "@me"}]}, token(),
            Call("GET", "/client/1001/", reply=ACME), Call("GET", "/client/@me/", reply=ACME))


def test_environment_variables_supply_the_connection(run, monkeypatch):
    monkeypatch.setenv("TELPHIN_API_URL", API)
    monkeypatch.setenv("TELPHIN_APP_ID", "env-app")
    monkeypatch.setenv("TELPHIN_APP_SECRET", "env-s3cret")
    res = run({"api_url": None, "app_id": None, "app_secret": None, "dealer_id": 10}, token(),
              Call("GET", "/dealer/10/client/", params=PAGE, reply=[ACME]),
              Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]))
    assert res.transport.sent[0]["form"] == {"grant_type": "client_credentials", "client_id": "env-app",
                                             "client_secret": "env-s3cret"}


@pytest.mark.parametrize("in_file", [False, True])
def test_options_given_empty_are_unset_as_awx_injects_them(run, monkeypatch, tmp_path, in_file):
    """AWX injects every field of the credential type, an unset one as "": ansible-core's config would make
    TELPHIN_CA_PATH="" the current directory and TELPHIN_VALIDATE_CERTS="" false (issue 20)."""
    empty = {"TELPHIN_TOKEN_URL": "", "TELPHIN_ACCESS_TOKEN": "", "TELPHIN_CA_PATH": "",
             "TELPHIN_VALIDATE_CERTS": "", "TELPHIN_ALLOW_PLAIN_HTTP": ""}
    for name, value in dict(empty, TELPHIN_API_URL=API, TELPHIN_APP_ID="env-app",
                            TELPHIN_APP_SECRET="env-s3cret").items():
        monkeypatch.setenv(name, value)
    config: Dict[str, Any] = {"api_url": None, "app_id": None, "app_secret": None, "dealer_id": 10}
    if in_file:   # the same, written as "" in the inventory file over other values in the environment
        monkeypatch.setenv("TELPHIN_CA_PATH", str(tmp_path / "ca.pem"))
        monkeypatch.setenv("TELPHIN_VALIDATE_CERTS", "false")
        config.update(ca_path="", validate_certs="", token_url="", access_token="")
    seen = []
    real = ApiClient

    def capture(settings, **kwargs):
        seen.append(settings)
        return real(settings, **kwargs)

    monkeypatch.setitem(globals(), "ApiClient", capture)   # what new_plugin's client seam builds
    run(config, token(), Call("GET", "/dealer/10/client/", params=PAGE, reply=[ACME]),
        Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]))
    [settings] = seen
    assert (settings.ca_path, settings.validate_certs, settings.allow_plain_http) == (None, True, False)
    assert (settings.token_url, settings.access_token) == (API + "/oauth/token", None)
    assert (settings.app_id, settings.app_secret) == ("env-app", "env-s3cret")


def test_validate_certs_false_warns(run):
    res = run({"dealer_id": 10, "validate_certs": False}, token(),
              Call("GET", "/dealer/10/client/", params=PAGE, reply=[]))
    assert res.hosts("telphin_tenants") == []
    assert any("validate_certs is false" in w for w in res.warnings())


# -- security (issue 12) ---------------------------------------------------------------------------

def test_error_replies_echoing_secrets_are_masked_in_the_parser_error(run):
    # The token endpoint's error repeats the form it was sent: the dealer's app secret.
    with pytest.raises(AnsibleParserError) as err:
        run({"dealer_id": 10}, *[Call("POST", "TOKEN", status=500,       # retried (issue 25), never quoted
                                      text="bad request: grant_type=client_credentials&client_secret=s3cret-app")]
            * MAX_ATTEMPTS)
    assert "s3cret-app" not in str(err.value) and "listing the clients of dealer 10" in str(err.value)
    # An API error repeats the bearer token issued in this run, and an entry's own secret.
    with pytest.raises(AnsibleParserError) as err:
        run({"source": "list", "tenants": [{"client_id": 1001},
                                           {"client_id": 1002, "app_id": "b-app", "app_secret": "b-s3cret-2"}]},
            token("tok-dealer-77"),
            Call("GET", "/client/1001/", status=400, reply={"message": "token tok-dealer-77 and b-s3cret-2 refused",
                                                            "status": "invalid_request"}))
    text = str(err.value)
    assert "tenants[1] (1001): reading client 1001" in text
    assert "tok-dealer-77" not in text and "b-s3cret-2" not in text
    assert "HTTP 400 invalid_request: the API refused the request" in text and "token" not in text   # never quoted


def test_a_secret_given_in_the_wrong_place_is_masked_in_configuration_errors(run):
    with pytest.raises(AnsibleParserError) as err:
        run({"source": "list", "tenants": [{"client_id": "b-s3cret-2", "app_id": "b-app", "app_secret": "b-s3cret-2"}]})
    assert "tenants[1]: client_id '********' is not a client id" in str(err.value)
    assert "b-s3cret-2" not in str(err.value)


def test_a_malformed_client_reply_is_described_never_quoted(run):
    with pytest.raises(AnsibleParserError) as err:
        run({"source": "list", "tenants": [{"client_id": 1001}]}, token(),
            Call("GET", "/client/1001/", reply={"name": "x", "secret_note": "leaked-value-99"}))
    assert "expected client objects with a numeric id, got an object without one" in str(err.value)
    assert "leaked-value-99" not in str(err.value)


@pytest.mark.parametrize("entry, foreign", [
    ({"client_id": 5, "api_url": "https://other.test"}, "api_url and token_url"),
    ({"client_id": 5, "api_url": "https://api.test:8443"}, "api_url and token_url"),   # another port
    ({"client_id": 5, "token_url": "https://other.test/oauth/token"}, "token_url"),
])
def test_an_entry_on_another_host_needs_its_own_credentials(run, entry, foreign):
    # Nothing is sent: the dealer's app credentials must not reach another provider's host.
    with pytest.raises(AnsibleParserError, match=r"tenants\[2\] \(5\): the plugin's credentials are sent only to "
                                                 r"its own API host, and this entry's %s points? elsewhere: give "
                                                 r"the entry its own app_id and app_secret" % foreign):
        run({"source": "list", "tenants": [{"client_id": 1001}, entry]})


def test_an_entry_with_plain_http_elsewhere_is_refused_before_anything_is_sent(run):
    # Another scheme is another host too; plain http off loopback is refused first (issue 12, item 5).
    with pytest.raises(AnsibleParserError, match=r"tenants\[2\] \(5\): api_url http://api.test uses plain http"):
        run({"source": "list", "tenants": [{"client_id": 1001}, {"client_id": 5, "api_url": "http://api.test"}]})


def test_an_entry_on_the_plugins_own_host_uses_the_plugins_credentials(run):
    tenants = [{"name": "a", "client_id": 1001, "api_url": "https://API.test:443/"},
               {"name": "b", "client_id": 1002, "token_url": API + "/api/ver1.0/oauth/token"}]
    res = run({"source": "list", "tenants": tenants},
              Call("POST", "https://API.test:443/oauth/token", reply={"access_token": "tok-1"}),
              Call("GET", "https://API.test:443/api/ver1.0/client/1001/", reply=ACME),
              Call("POST", "/oauth/token", reply={"access_token": "tok-2"}),    # at API + /api/ver1.0
              Call("GET", "/client/1002/", reply=GLOBEX))
    assert [call["form"]["client_secret"] for call in res.transport.sent if call["form"]] == ["s3cret-app"] * 2
    assert res.hosts() == ["a", "b"]


@pytest.mark.parametrize("name", ["acme\n", "acme\nevil", " acme", ""])
def test_a_host_name_must_match_whole(run, name):
    with pytest.raises(AnsibleParserError, match=r"tenants\[1\]: name .* is not a host name"):
        run({"source": "list", "tenants": [{"client_id": 1001, "name": name}]})


# -- security (issue 19, item 6): tokens that cannot go into a header; every exception's text masked --------

@pytest.mark.parametrize("given, kind", [("tok-given-1\n", "a line break"), ("tok-given\r\nX-Injected: 1", "a line break"),
                                         ("tok given 1", "a space"), ("tok-given\x00-1", "a control character"),
                                         ("tok-given;1", "another character")])
def test_an_access_token_option_that_is_not_a_bearer_token_is_refused_before_any_request(run, given, kind):
    with pytest.raises(AnsibleParserError) as err:
        run({"dealer_id": 10, "app_id": None, "app_secret": None, "access_token": given})
    text = str(err.value)
    assert "access_token is not a bearer token" in text and "holds %s (not shown)" % kind in text
    assert "tok-given" not in text and "Injected" not in text


def test_a_token_endpoint_reply_that_is_not_a_bearer_token_is_a_protocol_error_never_quoted(run):
    with pytest.raises(AnsibleParserError) as err:
        run({"dealer_id": 10}, token("tok-issued-77\r\nX-Injected: yes"))
    text = str(err.value)
    assert "replied with an access_token that is not a bearer token (RFC 6750 characters; not quoted)" in text
    assert "tok-issued-77" not in text and "Injected" not in text


def test_an_exception_the_plugin_does_not_know_is_shown_by_type_and_place_never_its_text(run):
    # What the issue saw: http.client refused the header and its message repeated the token issued.
    refused = ValueError("Invalid header value b'Bearer tok-issued-77\\n'")
    with pytest.raises(AnsibleParserError) as err:
        run({"dealer_id": 10}, token("tok-issued-77"), Call("GET", "/dealer/10/client/", raises=refused))
    text = str(err.value)
    assert "unexpected error (ValueError at " in text and "tok-issued-77" not in text and "Bearer" not in text


def test_an_ansible_error_is_shown_with_every_known_secret_masked_in_any_spelling(run, monkeypatch):
    def fail(self, options, tenants):
        raise AnsibleError("could not template 's3cret-app' nor %r nor b'Bearer tok-issued-77\\n'"
                           % "tok-issued-77\n")
    monkeypatch.setattr(tenants_mod.InventoryModule, "_populate", fail)
    with pytest.raises(AnsibleParserError) as err:
        run({"dealer_id": 10}, token("tok-issued-77"), Call("GET", "/dealer/10/client/", params=PAGE, reply=[ACME]),
            Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]))
    text = str(err.value)
    assert "could not template '********'" in text
    assert "s3cret-app" not in text and "tok-issued-77" not in text


# -- every server string is data (issue 30) --------------------------------------------------------
@pytest.mark.parametrize("trigger", TRIGGERS, ids=[t.id for t in TRIGGERS])
def test_no_server_string_is_ever_templated_whatever_it_holds(run, tmp_path, monkeypatch, trigger):
    """Each template trigger of ansible-core as the client's name and time zone and an extension's label, with the
    plugin's own EXAMPLES (keyed_groups on the time zone, compose): the inventory holds the exact strings, nothing
    ran while it was parsed, and a play's templates give them back as they are."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELPHIN_APP_SECRET", "planted-secret")
    marker = tmp_path / "MARKER"
    text = trigger.text(str(marker))
    hostile = client(1001, text, timezone=text, **{text: text})     # a key a server could send as well
    label = dict(ext(1, "001*100"), label=text)
    res = run({"dealer_id": 10, "with_extensions": True,
               "keyed_groups": [{"key": "telphin_client.timezone | default('unknown') | replace('/', '_')",
                                 "prefix": "tz"}],
               "compose": {"ansible_connection": "'local'", "tenant_prefix": "telphin_client.prefix",
                           "shown": "telphin_client.name"}},
              token(), Call("GET", "/dealer/10/client/", params=PAGE, reply=[hostile]),
              Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]),
              Call("GET", "/client/1001/extension/", params=PAGE, reply=[label]),
              Call("GET", "/client/1001/extension/", params=PAGE2, reply=[]))
    assert not marker.exists()
    [host] = res.hosts()
    hostvars = res.vars(host)
    assert restored(hostvars["telphin_client"]) == hostile and hostvars["shown"] == text
    assert hostvars["telphin_extensions"][0]["label"] == text
    assert [g for g in res.inventory.groups if g.startswith("tz_")] != []
    templar = Templar(loader=DataLoader(), variables=hostvars)
    for expression in ("telphin_client.name", "telphin_client.timezone", "telphin_extensions[0].label", "shown"):
        assert templar.template(trust_as_template("{{ %s }}" % expression)) == text, expression
    assert restored(templar.template(trust_as_template("{{ telphin_client }}"))) == hostile
    keys = templar.template(trust_as_template("{{ telphin_client.other_fields | map(attribute='key') | list }}"))
    assert keys == [text]
    own = templar.template(trust_as_template("{{ dict(telphin_client, **(telphin_client.other_fields | items2dict))"
                                             " | dict2items | rejectattr('key', 'eq', 'other_fields') | list"
                                             " | items2dict }}"))
    assert own == hostile
    assert not marker.exists()


def test_every_string_of_the_host_variables_is_data_on_this_core():
    """unsafe(): strings at any depth and keys marked (unsafe before 2.19, never trusted since), also strings that
    came in trusted; other values and vaulted ones as they are."""
    given = trust_as_template("Tenant 1")
    data = _hostvars.unsafe({"name": given, "prefix": "020", "list": [{"label": "Desk"}, "ok"], "id": 7,
                             "none": None, "flag": True, "ratio": 1.5})
    assert data == {"name": "Tenant 1", "prefix": "020", "list": [{"label": "Desk"}, "ok"], "id": 7, "none": None,
                    "flag": True, "ratio": 1.5}
    strings = [data["name"], data["prefix"], data["list"][0]["label"], data["list"][1]] + list(data) + ["label"]
    for value in strings[:-1] + [next(iter(data["list"][0]))]:
        assert not can_be_templated(value), value
    for value in (5, None, True, 1.5):
        assert _hostvars.unsafe(value) is value


def can_be_templated(value: Any) -> bool:
    """Whether Ansible would template ``value``: trusted (2.19+), or not marked unsafe (before)."""
    if DATA_TAGGING:
        return is_trusted_as_template(value)
    return not isinstance(value, AnsibleUnsafe)


# -- no key a server sends, no group name a tenant's data makes, means anything of Ansible's own ---------------------
KEYED = {"__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256\n6162636465\n", "__ansible_unsafe": "swallows the object",
         "__ansible_type": "not a type", "other_fields": "a field of that name", "note": "kept"}


def inventory_json_round_trip(value: Any) -> Any:
    """``value`` written as ``ansible-inventory --list`` writes it (what AWX stores) and read back as ansible-core's
    script inventory reads what AWX gives a job, on this core."""
    import json                                                      # pylint: disable=import-outside-toplevel
    if DATA_TAGGING:
        from ansible._internal._json._profiles import _inventory_legacy  # pylint: disable=import-outside-toplevel
        return json.loads(json.dumps(value, cls=_inventory_legacy.Encoder, sort_keys=True),
                          cls=_inventory_legacy.Decoder)
    from ansible.parsing.ajson import AnsibleJSONDecoder, AnsibleJSONEncoder  # pylint: disable=import-outside-toplevel
    return json.loads(json.dumps(value, cls=AnsibleJSONEncoder, preprocess_unsafe=True, sort_keys=True),
                      cls=AnsibleJSONDecoder)


def mapping_keys(value: Any) -> set:
    if isinstance(value, dict):
        return set(value) | set().union(*(mapping_keys(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(mapping_keys(item) for item in value))
    return set()


def test_no_key_a_server_sends_becomes_a_key_and_awx_gives_every_object_back_as_typed(run):
    """A server object holding __ansible_vault or __ansible_unsafe came back from AWX to a job (ansible-inventory
    --list, read back by the script inventory) as a vaulted value or a string on 2.16 to 2.18, and failed the whole
    inventory on 2.19+. Every key of the plugin's variables is now one the collection names."""
    hostile = client(1001, "Acme", **KEYED, extra={"nested": [dict(KEYED)]})
    extension = dict(ext(1, "001*100"), extra_params=dict(KEYED), **KEYED)
    res = run({"dealer_id": 10, "with_extensions": True}, token(),
              Call("GET", "/dealer/10/client/", params=PAGE, reply=[hostile]),
              Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]),
              Call("GET", "/client/1001/extension/", params=PAGE, reply=[extension]),
              Call("GET", "/client/1001/extension/", params=PAGE2, reply=[]))
    hostvars = {key: value for key, value in res.vars("acme").items() if key.startswith("telphin_")}
    assert mapping_keys(hostvars) <= set(hostvars) | _hostvars.CLIENT_FIELDS | _hostvars.EXTENSION_FIELDS | {
        "other_fields", "key", "value"}
    assert hostvars["telphin_client"]["other_fields"][0] == {"key": "__ansible_type", "value": "not a type"}
    back = inventory_json_round_trip({"_meta": {"hostvars": {"acme": hostvars}}})["_meta"]["hostvars"]["acme"]
    assert restored(back["telphin_client"]) == hostile
    assert restored(back["telphin_extensions"]) == [dict(extension, short_name="100")]
    assert not can_be_templated(back["telphin_client"]["other_fields"][1]["value"])


def keyed_run(run, **options: Any) -> Result:
    """Tenants whose time zones make, with the keyed groups below, the group names localhost, all, the plugin's
    group, a name of groups, and the host name of a tenant (lacme); tz_Europe_Moscow is an ordinary one."""
    clients = [client(1, "One", timezone="ocalhost"), client(2, "Two", timezone="ll"),
               client(3, "Lacme", timezone="acme"), client(4, "Four", timezone="elphin_tenants"),
               client(5, "Five", timezone="ig"), client(6, "Six")]
    config = dict({"dealer_id": 10, "groups": {"big": "false"},
                   "keyed_groups": [{"key": "telphin_client.timezone", "prefix": "l", "separator": ""},
                                    {"key": "telphin_client.timezone", "prefix": "a", "separator": ""},
                                    {"key": "telphin_client.timezone", "prefix": "t", "separator": ""},
                                    {"key": "telphin_client.timezone", "prefix": "b", "separator": ""},
                                    {"key": "telphin_client.timezone | replace('/', '_')", "prefix": "tz"}]},
                  **options)
    return run(config, token(), Call("GET", "/dealer/10/client/", params=PAGE, reply=clients),
               Call("GET", "/dealer/10/client/", params=PAGE2, reply=[]))


def test_a_group_name_from_a_tenants_data_is_never_a_host_or_a_reserved_name(run):
    res = keyed_run(run)
    groups = res.inventory.groups
    assert "localhost" not in groups and "lacme" not in groups and "big" not in groups
    assert res.hosts("telphin_tenants") == ["five", "four", "lacme", "one", "six", "two"]
    member = {host: sorted(g.name for g in res.inventory.get_host(host).groups) for host in res.hosts()}
    assert member["one"] == ["all", "aocalhost", "bocalhost", "telphin_tenants", "tocalhost", "tz_ocalhost"]
    assert member["two"] == ["all", "bll", "lll", "telphin_tenants", "tll", "tz_ll"]
    assert member["lacme"] == ["aacme", "all", "bacme", "tacme", "telphin_tenants", "tz_acme"]
    assert member["four"] == ["aelphin_tenants", "all", "belphin_tenants", "lelphin_tenants", "telphin_tenants",
                              "tz_elphin_tenants"]
    assert member["five"] == ["aig", "all", "lig", "telphin_tenants", "tig", "tz_ig"]
    assert res.hosts("tz_Europe_Moscow") == ["six"]
    assert sorted(res.warnings()) == sorted(
        "telphin.pbx.tenants: keyed_groups make the group name %s for client %d (host %s) from its data, and that is "
        "%s: the group is not made and the host is not put in it (strict: true fails the source instead)" % case
        for case in [("localhost", 1, "one", "a name Ansible reserves (the implicit localhost or a built-in group)"),
                     ("all", 2, "two", "a name Ansible reserves (the implicit localhost or a built-in group)"),
                     ("lacme", 3, "lacme", "the name of a host"),
                     ("telphin_tenants", 4, "four", "a group of the inventory source's own (group, groups)"),
                     ("big", 5, "five", "a group of the inventory source's own (group, groups)")])
    with pytest.raises(AnsibleParserError, match=r"telphin.pbx.tenants: keyed_groups make the group name localhost "
                                                 r"for client 1 \(host one\)"):
        keyed_run(run, strict=True)
