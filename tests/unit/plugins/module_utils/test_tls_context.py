"""One verifying TLS context per CA bundle and process: urllib3 would load the bundle for every new connection."""

from __future__ import annotations

import shutil
import ssl

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils import _tls
from ansible_collections.telphin.pbx.plugins.module_utils._errors import TLSFailure
from ansible_collections.telphin.pbx.plugins.module_utils._tls import tls_context
from ansible_collections.telphin.pbx.plugins.module_utils._transport import Urllib3Transport
from tests.emulator import Emulator


@pytest.fixture(name="tls_emulator")
def fixture_tls_emulator():
    emu = Emulator({"clients": [], "apps": []}, tls=True).start()
    try:
        yield emu
    finally:
        emu.stop()


def test_the_context_verifies_and_is_made_once_per_bundle(tls_emulator, tmp_path, monkeypatch):
    loads = []
    real = ssl.SSLContext.load_verify_locations
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations",
                        lambda self, *a, **k: loads.append(k.get("cafile")) or real(self, *a, **k))
    bundle = str(tmp_path / "ca.pem")
    shutil.copy(tls_emulator.ca_path, bundle)
    context = tls_context(bundle)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    transport = Urllib3Transport(ca_path=bundle, pool_size=4)
    for attempt in range(6):      # requests over up to 4 connections, and a second transport (a second module run)
        assert transport.send("GET", tls_emulator.url + "/api/ver1.0/user/", headers={}, timeout=5).status == 401
    assert Urllib3Transport(ca_path=bundle).manager(tls_emulator.url).connection_pool_kw["ssl_context"] is context
    assert loads == [bundle]
    with open(bundle, "a", encoding="ascii") as handle:    # a bundle replaced (renewed): loaded again
        handle.write("\n")
    assert tls_context(bundle) is not context and loads == [bundle, bundle]


def test_a_server_the_bundle_does_not_vouch_for_is_refused(tls_emulator):
    with pytest.raises(TLSFailure):
        Urllib3Transport().send("GET", tls_emulator.url + "/api/ver1.0/user/", headers={}, timeout=5)


def test_a_bundle_that_does_not_load_is_left_to_urllib3(tmp_path):
    assert tls_context(str(tmp_path / "missing.pem")) is None
    (tmp_path / "bad.pem").write_text("not a certificate")
    assert tls_context(str(tmp_path / "bad.pem")) is None
    pool = Urllib3Transport(ca_path=str(tmp_path / "bad.pem")).manager("https://pbx.example.net/").connection_pool_kw
    assert pool["ca_certs"] == str(tmp_path / "bad.pem") and "ssl_context" not in pool
    assert _tls.tls_context(None) is not None       # the system store
