"""The User-Agent of every request: telphin.pbx/<version> unless http_agent says otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scripted import Call, ScriptedTransport, make_client, token

from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError
from ansible_collections.telphin.pbx.plugins.module_utils._settings import ConnectionSettings

ROOT = Path(__file__).resolve().parents[4]
USER = {"id": 1, "client_id": 1001}


def agents(**settings):
    transport = ScriptedTransport(token(), Call("GET", "/user/", reply=USER))
    make_client(transport, **settings).get("/user/")
    transport.assert_done()
    return [sent["headers"]["User-Agent"] for sent in transport.sent]


def test_default_names_the_collection_and_its_version():
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    assert agents() == ["telphin.pbx/" + version] * 2      # the token request and the API request


def test_http_agent_replaces_it():
    assert agents(http_agent="acme-awx/2.1 telphin.pbx") == ["acme-awx/2.1 telphin.pbx"] * 2


@pytest.mark.parametrize("agent", ["x\r\nX-Injected: 1", "caf\u00e9", "  "])
def test_a_header_breaking_value_is_refused(agent):
    with pytest.raises(InputError, match="http_agent"):
        ConnectionSettings(api_url="https://api.test", app_id="a", app_secret="s", http_agent=agent)
