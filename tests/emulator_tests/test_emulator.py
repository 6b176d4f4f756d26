"""The API emulator (tests/emulator) through plain HTTP: auth, extensions, phones, bundles, quotas, faults, TLS."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import requests
import yaml

from tests.emulator import Emulator, WorldError, generate_world
from tests.emulator_fixture import StartEmulator, emulators

API = "/api/ver1.0"
REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "docs" / "examples" / "world.yml"       # the world of `make quickstart` and the guides


def make_world(**client_extra: Any) -> Dict[str, Any]:
    """Dealer 10 owns clients 1001 and 1002; 1001 has phones 1-6, a queue, an ivr, a fax and bundle 1+2."""
    def user(uid: int, **extra: Any) -> Dict[str, Any]:
        return dict({"id": uid, "login": "u%d" % uid, "access": "full", "client_id": 1001}, **extra)

    apps = [
        {"app_id": "a1", "app_secret": "s1", "user": user(501)},
        {"app_id": "a2", "app_secret": "s2", "user": user(502, client_id=1002)},
        {"app_id": "ro", "app_secret": "s-ro", "user": user(503, access="read_only")},
        {"app_id": "callapi", "app_secret": "s-ca", "access_level": "call_api", "user": user(504)},
        {"app_id": "blocked", "app_secret": "s-bl", "user": user(505, blocked=True)},
        {"app_id": "public", "app_secret": "s-pub", "type": "public", "user": user(506)},
        {"app_id": "dealer", "app_secret": "s-d", "user": {"id": 500, "login": "dealer", "dealer_id": 10}},
    ]
    phones: List[Dict[str, Any]] = [{"id": i, "name": str(99 + i), "type": "phone", "label": "Desk %d" % i}
                                    for i in range(1, 7)]
    phones[0]["phone"] = {"external_number": "+79876543210", "dtmf_mode": "rfc2833"}
    others = [{"id": 7, "name": "500", "type": "queue"}, {"id": 8, "name": "600", "type": "ivr"},
              {"id": 9, "name": "700", "type": "fax"}]
    acme = dict({"id": 1001, "name": "Acme", "prefix": "010", "dealer_id": 10, "extensions": phones + others,
                 "bundles": [{"main": 1, "members": [1, 2]}]}, **client_extra)
    globex = {"id": 1002, "name": "Globex", "prefix": "020", "dealer_id": 10,
              "extensions": [{"id": 20, "name": "100", "type": "phone"}]}
    return {"defaults": {"quota_limit": 1000}, "dealers": [{"id": 10, "name": "Dealer"}], "apps": apps,
            "clients": [acme, globex]}


SECRETS = {"a1": "s1", "a2": "s2", "ro": "s-ro", "callapi": "s-ca", "blocked": "s-bl", "dealer": "s-d"}


@pytest.fixture
def start() -> Iterator[StartEmulator]:
    """``start(world=None, **kwargs)`` starts an emulator (of ``make_world()`` by default); all stopped after the test."""
    yield from emulators(make_world)


@pytest.fixture
def emu(start):
    return start()


def token(emu: Emulator, app: str = "a1") -> str:
    resp = requests.post(emu.url + "/oauth/token", data={"grant_type": "client_credentials", "client_id": app,
                                                         "client_secret": SECRETS[app]})
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


def session(emu: Emulator, app: str = "a1") -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + token(emu, app)
    return s


def api(emu: Emulator, path: str) -> str:
    return emu.url + API + path


# ---- tokens and 401 ----

def test_token_by_form_query_and_json(emu):
    form = requests.post(emu.url + "/oauth/token",
                         data={"grant_type": "client_credentials", "client_id": "a1", "client_secret": "s1"})
    query = requests.post(emu.url + "/oauth/token",
                          params={"grant_type": "client_credentials", "client_id": "a1", "client_secret": "s1"})
    as_json = requests.post(emu.url + "/oauth/token/",
                            json={"grant_type": "client_credentials", "client_id": "a1", "client_secret": "s1"})
    for resp in (form, query, as_json):
        assert resp.status_code == 200
        body = resp.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "all"
        assert len(body["access_token"]) == 30 and body["access_token"].isalnum()
        assert "X-RateLimit-Limit" not in resp.headers
    assert len(set(emu.tokens())) == 3
    assert emu.state()["quotas"]["1001"]["remaining"] == 1000          # tokens are not charged
    # every public client sends the token request to /oauth/token: the emulator answers nowhere else
    elsewhere = requests.post(emu.url + API + "/oauth/token",
                              data={"grant_type": "client_credentials", "client_id": "a1", "client_secret": "s1"})
    assert elsewhere.status_code == 404 and len(set(emu.tokens())) == 3


def test_token_errors(emu):
    url = emu.url + "/oauth/token"
    bad = requests.post(url, data={"grant_type": "client_credentials", "client_id": "a1", "client_secret": "nope"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    unknown = requests.post(url, data={"grant_type": "client_credentials", "client_id": "zz", "client_secret": "s1"})
    assert unknown.status_code == 401
    grant = requests.post(url, data={"grant_type": "password", "client_id": "a1", "client_secret": "s1"})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    public = requests.post(url, data={"grant_type": "client_credentials", "client_id": "public",
                                      "client_secret": "s-pub"})
    assert public.status_code == 400 and public.json()["error"] == "unauthorized_client"
    assert requests.get(url).status_code == 405
    assert emu.tokens() == []
    entry = emu.requests()[0]
    assert entry["app_id"] == "a1" and entry["status"] == 401 and entry["body"]["client_secret"] == "********"


def test_401_missing_unknown_revoked_expired(start):
    emu = start(dict(make_world(), defaults={"quota_limit": 1000, "token_ttl": 1}))
    url = api(emu, "/client/@me/")
    missing = requests.get(url)
    assert missing.status_code == 401 and missing.json()["status"] == "invalid_token"
    assert requests.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    s = session(emu)
    assert s.get(url).status_code == 200
    assert emu.revoke_tokens() == 1
    revoked = s.get(url)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["message"]
    s = session(emu)
    emu.expire_tokens()
    assert "expired" in s.get(url).json()["message"]
    s = session(emu)
    time.sleep(1.05)                                                   # token_ttl: 1
    assert s.get(url).status_code == 401
    assert "X-RateLimit-Remaining" not in revoked.headers
    assert emu.state()["quotas"]["1001"]["remaining"] == 999          # only the one 200 was charged
    assert [e["token_id"] for e in emu.requests() if e["status"] == 401 and e["token_id"]] == ["t1", "t2", "t3"]


# ---- user, client, @me, dealer ----

def test_user_client_and_me(emu):
    s = session(emu)
    user = s.get(api(emu, "/user")).json()
    assert set(user) == {"id", "login", "access", "admin", "client_id", "dealer_id", "extension_group_id",
                         "extension_id", "extra_params", "timezone"}
    assert user["id"] == 501 and user["client_id"] == 1001
    me = s.get(api(emu, "/client/@me/")).json()
    assert me == s.get(api(emu, "/client/1001")).json()
    assert me["id"] == 1001 and me["prefix"] == "010" and me["name"] == "Acme"


def test_dealer_paths(emu):
    d = session(emu, "dealer")
    assert [c["id"] for c in d.get(api(emu, "/dealer/@me/client/")).json()] == [1001, 1002]
    assert [c["id"] for c in d.get(api(emu, "/dealer/10/client")).json()] == [1001, 1002]
    me = d.get(api(emu, "/client/@me/"))
    assert me.status_code == 404 and me.json()["status"] == "client_not_found"
    assert d.get(api(emu, "/client/1002/extension/")).status_code == 200
    assert d.put(api(emu, "/extension/20/phone/"), json={"label": "x"}).json()["label"] == "x"
    assert d.get(api(emu, "/user/")).headers["X-RateLimit-Limit"] == "1000"
    log = emu.requests()
    assert [e["client_id"] for e in log[1:]] == ["dealer:10", "dealer:10", "dealer:10", 1002, 1002, "dealer:10"]
    client = session(emu)
    assert client.get(api(emu, "/dealer/10/client/")).json()["status"] == "access_denied"
    assert client.get(api(emu, "/dealer/@me/client/")).json()["status"] == "dealer_not_found"


# ---- extensions ----

def test_extension_list_paging_and_type(emu):
    s = session(emu)
    everything = s.get(api(emu, "/client/1001/extension/")).json()
    assert [e["id"] for e in everything] == list(range(1, 10))
    first = everything[0]
    assert first["name"] == "010*100" and first["client_id"] == 1001 and first["status"] == "active"
    for key in ("label", "extension_group_id", "domain", "create_date", "caller_id_name", "ani_rfc3325",
                "did_as_transfer_caller_id", "dial_rule_id", "dial_rule_limit", "message_did", "extra_params"):
        assert key in first
    pages = [[e["id"] for e in s.get(api(emu, "/client/@me/extension"), params={"page": p, "per_page": 4}).json()]
             for p in (1, 2, 3, 4)]
    assert pages == [[1, 2, 3, 4], [5, 6, 7, 8], [9], []]
    phones = s.get(api(emu, "/client/1001/extension/"), params={"type": "phone", "name": "500"}).json()
    assert [e["id"] for e in phones] == [1, 2, 3, 4, 5, 6]                  # name filter ignored
    assert [e["type"] for e in s.get(api(emu, "/client/1001/extension/"), params={"type": "fax"}).json()] == ["fax"]
    assert len(s.get(api(emu, "/client/1001/extension/"), params={"per_page": 100000}).json()) == 9
    assert s.get(api(emu, "/client/1001/extension/"), params={"type": "sip"}).status_code == 400
    bad_page = s.get(api(emu, "/client/1001/extension/"), params={"page": 0})
    assert bad_page.status_code == 400 and "'page'" in bad_page.json()["message"]


def test_default_and_max_per_page(start):
    world = generate_world(1, 520, quota_limit=100)
    emu = start(world)
    tok = requests.post(emu.url + "/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "tenant1-app",
        "client_secret": world["apps"][1]["app_secret"]}).json()["access_token"]
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + tok
    assert len(s.get(api(emu, "/client/@me/extension/")).json()) == 50
    assert len(s.get(api(emu, "/client/@me/extension/"), params={"per_page": 1000}).json()) == 500


def test_item_paths_with_and_without_trailing_slash(emu):
    s = session(emu)
    for path in ("/user", "/client/1001", "/client/@me/extension/7", "/extension/1/phone",
                 "/client/1001/extensions_bundle/1", "/client/1001/extensions_bundle", "/client/1001/extension"):
        a, b = s.get(api(emu, path)), s.get(api(emu, path + "/"))
        assert a.status_code == b.status_code == 200 and a.json() == b.json(), path
    assert s.get(api(emu, "/client/1001/extension/7")).json()["name"] == "010*500"
    missing = s.get(api(emu, "/client/1001/extension/20"))                 # 20 belongs to client 1002
    assert missing.status_code == 404 and missing.json()["status"] == "extension_not_found"


def test_unknown_paths_and_methods(emu):
    s = session(emu)
    for path in ("/nothing", "/api/ver1.0/nothing", "/api/ver1.0/client/abc/"):
        resp = s.get(emu.url + path)
        assert resp.status_code == 404 and resp.json() == {"message": "Not found", "status": "not_found"}
    wrong = s.delete(api(emu, "/extension/1/phone/"))
    assert wrong.status_code == 405 and "GET" in wrong.headers["Allow"]
    assert s.get(api(emu, "/client/9999/")).json()["status"] == "client_not_found"


# ---- phone terminal ----

def test_phone_get_defaults_and_pass_through(emu):
    s = session(emu)
    phone = s.get(api(emu, "/extension/1/phone/")).json()
    assert phone["external_number"] == "+79876543210" and phone["dtmf_mode"] == "rfc2833"
    assert phone["auth_type"] == "digest" and phone["record_format"] == "mp3_mono"
    assert phone["conference_end_on_exit"] is True and phone["record_enabled"] is False
    assert "password" not in phone
    queue = s.get(api(emu, "/extension/7/phone/"))
    assert queue.status_code == 404
    assert queue.json() == {"message": "Extension 7 is not a phone extension (type: queue)", "status": "not_found"}
    unknown = s.get(api(emu, "/extension/777/phone/"))
    assert unknown.json() == {"message": "Extension not found", "status": "extension_not_found"}


def test_put_is_a_partial_merge(emu):
    s = session(emu)
    before = s.get(api(emu, "/extension/1/phone/")).json()
    resp = s.put(api(emu, "/extension/1/phone/"), json={"label": "Front", "incoming_limit": 2})
    assert resp.status_code == 200
    assert resp.json() == dict(before, label="Front", incoming_limit=2)
    assert s.get(api(emu, "/extension/1/phone")).json() == resp.json()
    assert s.put(api(emu, "/extension/1/phone/"), json={"dtmf_mode": "info"}).json()["dtmf_mode"] == "info"
    unbind = s.put(api(emu, "/extension/1/phone/"), json={"external_number": ""}).json()
    assert unbind["external_number"] is None and unbind["label"] == "Front"
    assert s.put(api(emu, "/extension/1/phone/"), json={}).json() == unbind


@pytest.mark.parametrize("body, key", [
    ({"record_enabled": "true"}, "record_enabled"),
    ({"record_enabled": 1}, "record_enabled"),
    ({"incoming_limit": True}, "incoming_limit"),
    ({"hold_music": "5"}, "hold_music"),
    ({"label": 5}, "label"),
    ({"auth_type": "token"}, "auth_type"),
    ({"auth_type": None}, "auth_type"),
    ({"record_format": "ogg"}, "record_format"),
    ({"external_number": "+7 999 CALL"}, "external_number"),
    ({"external_number": "+1234"}, "external_number"),
    ({"geo_list": "ru"}, "geo_list"),
    ({"geo_list": "RU,BY"}, "geo_list"),
    ({"password": "12345"}, "password"),
    ({"password": None}, "password"),
    ({"label": "ok", "no_such_key": 1}, "no_such_key"),
])
def test_put_validation_names_the_key(emu, body, key):
    s = session(emu)
    before = emu.state()
    resp = s.put(api(emu, "/extension/1/phone/"), json=body)
    assert resp.status_code == 400
    assert resp.json()["status"] == "invalid_request" and "'%s'" % key in resp.json()["message"]
    assert emu.state()["clients"] == before["clients"]                    # nothing applied


def test_put_body_must_be_a_json_object(emu):
    s = session(emu)
    for kwargs in ({"json": ["label"]}, {"data": "label=x"}, {"data": "not json"}, {}):
        resp = s.put(api(emu, "/extension/1/phone/"), **kwargs)
        assert resp.status_code == 400 and resp.json()["message"] == "Request body must be a JSON object"


def test_valid_values_are_accepted(emu):
    s = session(emu)
    body = {"geo_list": "RU BY", "external_number": "79991234567", "auth_type": "both", "record_format": "wav_stereo",
            "ringback_sound": None, "conference_pin": "1234", "allow_webrtc": True}
    assert s.put(api(emu, "/extension/3/phone/"), json=body).json().items() >= body.items()


def test_password_is_stored_never_returned(emu):
    s = session(emu)
    put = s.put(api(emu, "/extension/2/phone/"), json={"password": "Sip-Pass-4711"})
    assert put.status_code == 200 and "password" not in put.json()
    assert "Sip-Pass-4711" not in s.get(api(emu, "/extension/2/phone/")).text
    phones = {e["id"]: e.get("phone") for e in emu.state()["clients"][0]["extensions"]}
    assert phones[2]["password"] == "Sip-Pass-4711" and phones[3]["password"] is None
    assert phones[7] is None


def test_bundle_sync_and_endpoints(emu):
    s = session(emu)
    assert s.get(api(emu, "/client/1001/extensions_bundle/1")).json() == {"bundle_id": 1, "bundle_list": [1, 2]}
    s.put(api(emu, "/extension/2/phone/"), json={"record_enabled": True, "label": "Mine", "geo_list": "RU"})
    one, two, three = (s.get(api(emu, "/extension/%d/phone/" % i)).json() for i in (1, 2, 3))
    assert one["record_enabled"] is True and one["geo_list"] == "RU" and one["label"] is None   # label: per terminal
    assert two["label"] == "Mine" and three["record_enabled"] is False
    created = s.post(api(emu, "/client/@me/extensions_bundle/3"), json={"extension_id": [4, 5]})
    assert created.status_code == 201 and created.json() == {"bundle_id": 3, "bundle_list": [3, 4, 5]}
    assert s.get(api(emu, "/client/1001/extensions_bundle/")).json() == [
        {"bundle_id": 1, "bundle_list": [1, 2]}, {"bundle_id": 3, "bundle_list": [3, 4, 5]}]
    replaced = s.post(api(emu, "/client/1001/extensions_bundle/3"), json={"extension_id": [3, 6]})
    assert replaced.json()["bundle_list"] == [3, 6]
    for bad in ([7], [2], [], "4", [20]):
        resp = s.post(api(emu, "/client/1001/extensions_bundle/5"), json={"extension_id": bad})
        assert resp.status_code == 400 and "'extension_id'" in resp.json()["message"], bad
    assert s.get(api(emu, "/client/1001/extensions_bundle/4")).json()["status"] == "bundle_not_found"


# ---- access ----

def test_forbidden_variants(emu):
    ro, ca, blocked, other = (session(emu, app) for app in ("ro", "callapi", "blocked", "a2"))
    assert ro.get(api(emu, "/extension/1/phone/")).status_code == 200
    assert ro.put(api(emu, "/extension/1/phone/"), json={"label": "x"}).json()["status"] == "user_access_type_deny"
    assert ro.post(api(emu, "/client/1001/extensions_bundle/3"),
                   json={"extension_id": [4]}).json()["status"] == "user_access_type_deny"
    assert ca.get(api(emu, "/extension/1/phone/")).status_code == 200
    resp = ca.put(api(emu, "/extension/1/phone/"), json={"label": "x"})
    assert resp.status_code == 403 and resp.json()["status"] == "app_access_type_deny"
    for path in ("/user/", "/client/@me/", "/extension/1/phone/"):
        resp = blocked.get(api(emu, path))
        assert resp.status_code == 403 and resp.json()["status"] == "user_blocked"
    for path in ("/extension/1/phone/", "/client/1001/", "/client/1001/extension/", "/client/1001/extension/1"):
        resp = other.get(api(emu, path))
        assert resp.status_code == 403 and resp.json()["status"] == "access_denied", path
    assert other.put(api(emu, "/extension/1/phone/"), json={"label": "x"}).status_code == 403
    assert emu.state()["clients"][0]["extensions"][0]["phone"]["label"] is None
    denied = [e for e in emu.requests() if e["app_id"] == "a2" and e["status"] == 403]
    assert {e["client_id"] for e in denied} == {1002}                  # charged to the caller's own bucket
    assert emu.state()["quotas"]["1001"]["remaining"] == 1000 - 5     # ro 3 + callapi 2; blocked: not charged
    assert sum(1 for e in emu.requests() if e["client_id"] == 1001) == 5


# ---- quotas ----

def test_quota_headers_exhaustion_and_window_reset(start):
    emu = start(make_world(quota={"limit": 3, "window_seconds": 1}))
    s = session(emu)
    seen = []
    for dummy in range(3):
        resp = s.get(api(emu, "/client/@me/"))
        assert resp.status_code == 200
        seen.append(int(resp.headers["X-RateLimit-Remaining"]))
        assert resp.headers["X-RateLimit-Limit"] == "3" and int(resp.headers["X-RateLimit-Reset"]) in (0, 1)
    assert seen == [2, 1, 0]
    over = s.get(api(emu, "/extension/1/phone/"))
    assert over.status_code == 429
    assert over.json() == {"status": "rate_limit_exceeded", "message": "Request limit exceeded, try again later"}
    assert over.headers["X-RateLimit-Remaining"] == "0" and "X-RateLimit-Reset" in over.headers
    assert emu.requests()[-1]["client_id"] is None                       # a 429 is not charged
    assert token(emu)                                                    # the token endpoint still works
    time.sleep(1.05)
    again = s.get(api(emu, "/client/@me/"))
    assert again.status_code == 200 and again.headers["X-RateLimit-Remaining"] == "2"
    assert session(emu, "a2").get(api(emu, "/client/@me/")).headers["X-RateLimit-Limit"] == "1000"  # own bucket


def test_set_quota(emu):
    s = session(emu)
    assert emu.set_quota(1001, remaining=1, reset_in=1800)["remaining"] == 1
    ok = s.get(api(emu, "/user/"))
    assert ok.headers["X-RateLimit-Remaining"] == "0" and int(ok.headers["X-RateLimit-Reset"]) in (1799, 1800)
    assert s.get(api(emu, "/user/")).status_code == 429
    snapshot = emu.set_quota("1001", limit=50)
    assert snapshot["limit"] == 50 and snapshot["remaining"] == 0      # the used count is kept
    assert emu.set_quota(1001, remaining=5)["remaining"] == 5
    assert emu.set_quota("dealer:10", limit=7)["limit"] == 7
    with pytest.raises(KeyError):
        emu.set_quota(4242, limit=1)


def test_concurrent_requests_beyond_max_get_429(start):
    emu = start(make_world(max_concurrent=1))
    s1, s2 = session(emu), session(emu)
    emu.set_latency(300)
    results: Dict[str, requests.Response] = {}
    slow = threading.Thread(target=lambda: results.setdefault("slow", s1.get(api(emu, "/client/@me/"))))
    slow.start()
    time.sleep(0.1)
    busy = s2.get(api(emu, "/client/@me/"))
    slow.join()
    assert results["slow"].status_code == 200
    assert busy.status_code == 429 and busy.json() == {"message": "Parallel concurrent request not allowed"}
    assert busy.headers["Retry-After"] == "1"
    assert s2.get(api(emu, "/client/@me/")).status_code == 200


def test_latency_overlaps_across_threads(emu):
    s = [session(emu) for dummy in range(4)]
    emu.set_latency(200)
    began = time.monotonic()
    threads = [threading.Thread(target=x.get, args=(api(emu, "/user/"),)) for x in s]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 0.2 <= time.monotonic() - began < 0.6


# ---- faults ----

def test_fault_status_with_times_and_match(emu):
    s = session(emu)
    emu.set_faults([{"match": {"method": "PUT", "path": r"/extension/\d+/phone/"}, "action": "status", "status": 503,
                     "body": {"message": "busy"}, "headers": {"Retry-After": "2"}, "times": 1}])
    assert s.get(api(emu, "/extension/1/phone/")).status_code == 200
    first = s.put(api(emu, "/extension/1/phone/"), json={"label": "a"})
    assert first.status_code == 503 and first.json() == {"message": "busy"} and first.headers["Retry-After"] == "2"
    assert s.put(api(emu, "/extension/1/phone/"), json={"label": "a"}).status_code == 200
    faults = [(e["method"], e["fault"], e["client_id"]) for e in emu.requests()[1:]]
    assert faults == [("GET", None, 1001), ("PUT", "status", None), ("PUT", None, 1001)]


def test_fault_match_on_query_fires_on_that_page_only(emu):
    s = session(emu)
    emu.set_faults([{"match": {"path": "/extension/$", "query": {"page": 2}}, "action": "status", "status": 502}])
    assert s.get(api(emu, "/client/@me/extension/"), params={"page": 1, "per_page": 4}).status_code == 200
    assert s.get(api(emu, "/client/@me/extension/"), params={"page": 2, "per_page": 4}).status_code == 502
    assert s.get(api(emu, "/client/@me/extension/")).status_code == 200
    assert [e["fault"] for e in emu.requests()[1:]] == [None, "status", None]
    with pytest.raises(ValueError, match="fault match query is an object"):
        emu.set_faults([{"match": {"query": "page=2"}, "action": "drop"}])


def test_fault_status_with_a_raw_text_body(emu):
    s = session(emu)
    cut = '{"id": 1, "password": "Sip-Cut'
    emu.set_faults([{"match": {"method": "GET", "path": "/phone/"}, "action": "status", "status": 200, "text": cut,
                     "headers": {"X-Test": "1"}, "times": 1}])
    reply = s.get(api(emu, "/extension/1/phone/"))
    assert reply.status_code == 200 and reply.text == cut and reply.headers["X-Test"] == "1"
    assert "external_number" in s.get(api(emu, "/extension/1/phone/")).json()
    with pytest.raises(ValueError, match="fault text must be a string"):
        emu.set_faults([{"action": "status", "text": {"not": "text"}}])


def test_fault_drop_and_drop_after(emu):
    s = session(emu)
    emu.set_faults([{"match": {"path": "/client/"}, "action": "drop", "times": 1},
                    {"match": {"method": "PUT"}, "action": "drop_after", "times": 1}])
    with pytest.raises(requests.ConnectionError):
        s.get(api(emu, "/client/@me/"))
    with pytest.raises(requests.ConnectionError):
        s.put(api(emu, "/extension/1/phone/"), json={"label": "applied"})
    assert s.get(api(emu, "/extension/1/phone/")).json()["label"] == "applied"
    log = emu.requests()
    assert [(e["fault"], e["status"]) for e in log[1:3]] == [("drop", None), ("drop_after", 200)]


def test_fault_status_after_processes_the_request_then_replies_the_status(emu):
    s = session(emu)
    before = emu.state()["quotas"]["1001"]["remaining"]
    emu.set_faults([{"match": {"method": "PUT"}, "action": "status_after", "status": 500, "times": 1}])
    failed = s.put(api(emu, "/extension/1/phone/"), json={"label": "applied"})
    assert failed.status_code == 500 and failed.json() == {"message": "Injected fault (HTTP 500)"}
    assert s.get(api(emu, "/extension/1/phone/")).json()["label"] == "applied"
    assert emu.state()["quotas"]["1001"]["remaining"] == before - 2          # both charged: both processed
    assert [(e["fault"], e["status"]) for e in emu.requests()[1:]] == [("status_after", 500), (None, 200)]


def test_bundle_listing_can_be_switched_off_and_on(start):
    world = make_world()
    world["defaults"]["bundle_listing"] = False
    emu = start(world)
    s = session(emu)
    off = s.get(api(emu, "/client/@me/extensions_bundle/"))
    assert off.status_code == 404 and off.json()["status"] == "not_found"
    assert s.get(api(emu, "/client/1001/extensions_bundle/1")).json() == {"bundle_id": 1, "bundle_list": [1, 2]}
    s.put(api(emu, "/extension/2/phone/"), json={"record_format": "wav_mono"})        # still synchronised
    assert s.get(api(emu, "/extension/1/phone/")).json()["record_format"] == "wav_mono"
    emu.set_bundle_listing(True)
    assert s.get(api(emu, "/client/@me/extensions_bundle/")).json() == [{"bundle_id": 1, "bundle_list": [1, 2]}]
    switched = requests.post(emu.url + "/_admin/bundle_listing", json={"on": False})
    assert switched.status_code == 200
    assert s.get(api(emu, "/client/1001/extensions_bundle")).status_code == 404
    assert requests.post(emu.url + "/_admin/bundle_listing", json={}).status_code == 400


def test_fault_delay_html_truncated(emu):
    s = session(emu)
    emu.set_faults([{"match": {"path": "/user"}, "action": "delay", "seconds": 0.3, "times": 1},
                    {"match": {"path": "/client/"}, "action": "html", "times": 1},
                    {"match": {"method": "PUT"}, "action": "truncated_json", "times": 1}])
    began = time.monotonic()
    assert s.get(api(emu, "/user/")).status_code == 200 and time.monotonic() - began >= 0.3
    html = s.get(api(emu, "/client/@me/"))
    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html") and "<html>" in html.text
    cut = s.put(api(emu, "/extension/1/phone/"), json={"label": "cut"})
    assert cut.status_code == 200
    with pytest.raises(ValueError):
        cut.json()
    assert s.get(api(emu, "/extension/1/phone/")).json()["label"] == "cut"           # processed
    assert [e["fault"] for e in emu.requests()[1:]] == ["delay", "html", "truncated_json", None]


def test_log_names_the_fault_rule_that_fired(emu):
    s = session(emu)
    emu.set_faults([{"match": {"method": "PUT"}, "action": "status", "status": 500, "times": 1},
                    {"match": {"path": "/user"}, "action": "delay", "seconds": 0.05, "times": 1},
                    {"match": {"path": "/client/"}, "action": "delay", "seconds": 0.1, "times": 1},
                    {"match": {"method": "GET", "path": "/phone/"}, "action": "status", "status": 503, "times": 1}])
    assert s.get(api(emu, "/user/")).status_code == 200                                   # rule 1
    assert s.get(api(emu, "/client/@me/")).status_code == 200                             # rule 2
    assert s.get(api(emu, "/extension/1/phone/")).status_code == 503                      # rule 3
    assert s.put(api(emu, "/extension/1/phone/"), json={"label": "x"}).status_code == 500  # rule 0
    assert s.put(api(emu, "/extension/1/phone/"), json={"label": "x"}).status_code == 200  # every rule used up
    log = emu.requests()
    assert [(e["fault"], e["fault_rule"]) for e in log] == [
        (None, None), ("delay", 1), ("delay", 2), ("status", 3), ("status", 0), (None, None)]
    assert requests.get(emu.url + "/_admin/requests").json() == log
    # The index is into the list of the set_faults call in force: a new list starts again at 0.
    emu.set_faults([{"match": {"path": "/user"}, "action": "html", "times": 1}])
    s.get(api(emu, "/user/"))
    assert (emu.requests()[-1]["fault"], emu.requests()[-1]["fault_rule"]) == ("html", 0)


def test_log_fault_rule_tells_apart_rules_with_the_same_action(emu):
    s = session(emu)
    emu.set_faults([{"match": {"path": "/user"}, "action": "status", "status": 502, "probability": 0.5},
                    {"match": {"path": "/user"}, "action": "status", "status": 503, "probability": 0.5}], seed=3)
    statuses = [s.get(api(emu, "/user/")).status_code for dummy in range(24)]
    log = emu.requests()[1:]
    assert [e["status"] for e in log] == statuses and {502, 503, 200} <= set(statuses)
    assert [e["fault_rule"] for e in log] == [{502: 0, 503: 1, 200: None}[code] for code in statuses]
    assert all((e["fault"] is None) == (e["fault_rule"] is None) for e in log)


def test_log_at_is_the_arrival_time_on_a_monotonic_clock(start):
    before = time.monotonic()
    emu = start()
    tok = token(emu)
    headers = {"Authorization": "Bearer " + tok}
    for dummy in range(3):                                       # one after the other: arrival order = seq order
        requests.get(api(emu, "/user/"), headers=headers)
        time.sleep(0.05)
    emu.set_faults([{"match": {"path": "/user"}, "action": "delay", "seconds": 1.0, "times": 1}])
    slow = threading.Thread(target=requests.get, args=(api(emu, "/user/"),), kwargs={"headers": headers})
    slow.start()
    time.sleep(0.3)
    requests.get(api(emu, "/client/@me/"), headers=headers)      # arrives after the slow one, answered before it
    slow.join()
    elapsed = time.monotonic() - before
    log = emu.requests()
    ats = [e["at"] for e in log]
    assert all(isinstance(at, float) and 0 <= at <= elapsed for at in ats)
    assert ats[:4] == sorted(ats[:4])                            # non-decreasing in arrival order
    assert all(later - earlier >= 0.05 for earlier, later in zip(ats[1:4], ats[2:4]))
    fast, delayed = log[4], log[5]                               # the log is in reply order ...
    assert fast["path"].endswith("/client/@me/") and delayed["path"].endswith("/user/")
    assert delayed["fault"] == "delay" and delayed["seq"] > fast["seq"] and delayed["time"] > fast["time"]
    assert delayed["at"] < fast["at"] < delayed["at"] + 1.0      # ... "at" is when each arrived
    # "time" is when a reply went out: the delayed request was answered its 1 s delay after it arrived (less
    # the time the API took for the earlier request, which is small).
    last = log[3]
    assert (delayed["time"] - last["time"]) - (delayed["at"] - last["at"]) >= 0.5
    assert [e["path"] for e in sorted(log, key=lambda e: e["at"])][-2:] == [delayed["path"], fast["path"]]


@pytest.mark.parametrize("action, word", [("revoke_token", "revoked"), ("expire_token", "expired")])
def test_fault_token_invalidation(emu, action, word):
    s = session(emu)
    emu.set_faults([{"match": {"method": "GET"}, "action": action, "times": 1}])
    first = s.get(api(emu, "/user/"))
    assert first.status_code == 401 and first.json() == {"message": "Access token has been %s" % word,
                                                         "status": "invalid_token"}
    assert s.get(api(emu, "/user/")).status_code == 401                   # the token stays invalid
    s.headers["Authorization"] = "Bearer " + token(emu)
    assert s.get(api(emu, "/user/")).status_code == 200


def test_fault_probability_is_deterministic_per_seed(emu):
    s = session(emu)

    def pattern(seed: int) -> List[int]:
        emu.set_faults([{"match": {"path": "/user"}, "action": "status", "status": 502, "probability": 0.5}], seed=seed)
        return [s.get(api(emu, "/user/")).status_code for dummy in range(16)]

    first = pattern(7)
    assert first == pattern(7) and set(first) == {200, 502}
    assert first != pattern(8)
    emu.clear_faults()
    assert s.get(api(emu, "/user/")).status_code == 200


def test_faults_skip_admin_and_bad_rules_are_refused(emu):
    emu.set_faults([{"action": "drop"}])
    assert requests.get(emu.url + "/_admin/state").status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(api(emu, "/user/"))
    with pytest.raises(ValueError):
        emu.set_faults([{"action": "explode"}])
    bad = requests.post(emu.url + "/_admin/faults", json={"rules": [{"action": "status", "probability": 2}]})
    assert bad.status_code == 400


# ---- TLS, keep-alive, admin, log, CLI ----

def test_tls_with_ca_path(start):
    emu = start(tls=True)
    assert emu.url.startswith("https://127.0.0.1:") and Path(emu.ca_path).read_text().startswith("-----BEGIN")
    ok = requests.post(emu.url + "/oauth/token", verify=emu.ca_path,
                       data={"grant_type": "client_credentials", "client_id": "a1", "client_secret": "s1"})
    assert ok.status_code == 200
    localhost = emu.url.replace("127.0.0.1", "localhost")
    assert requests.get(localhost + "/_admin/state", verify=emu.ca_path).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(emu.url + "/_admin/state", verify=True)
    ca_path = emu.ca_path
    emu.stop()
    assert not Path(ca_path).exists()


def test_keep_alive_serves_several_requests_on_one_connection(emu):
    conn = http.client.HTTPConnection("127.0.0.1", int(emu.url.rsplit(":", 1)[1]))
    for dummy in range(3):
        conn.request("GET", API + "/user/")
        resp = conn.getresponse()
        assert resp.status == 401 and resp.getheader("Content-Length") == str(len(resp.read()))
    conn.close()


def test_request_log_entries(emu):
    s = session(emu)
    s.get(api(emu, "/client/@me/extension/"), params={"type": "phone", "page": "1"})
    s.put(api(emu, "/extension/1/phone"), json={"label": "L"})
    token_entry, get, put = emu.requests()
    assert set(get) == {"seq", "time", "method", "path", "query", "body", "status", "client_id", "token_id",
                        "app_id", "fault", "fault_rule", "at", "accept_encoding", "content_encoding"}
    assert get["fault"] is None and get["fault_rule"] is None
    assert "gzip" in get["accept_encoding"] and get["content_encoding"] == "gzip"     # requests asks for gzip
    assert 0 <= token_entry["at"] <= get["at"] <= put["at"]
    assert token_entry["path"] == "/oauth/token" and token_entry["token_id"] == "t1" and token_entry["client_id"] is None
    assert get["path"] == API + "/client/@me/extension/" and get["query"] == {"type": "phone", "page": "1"}
    assert (get["status"], get["client_id"], get["token_id"], get["app_id"]) == (200, 1001, "t1", "a1")
    assert put["body"] == {"label": "L"} and put["seq"] == get["seq"] + 1
    assert len(emu.requests(clear=True)) == 3 and emu.requests() == []


def test_admin_endpoints_match_the_python_methods(emu):
    admin = emu.url + "/_admin/"
    s = session(emu)
    s.get(api(emu, "/user/"))
    assert requests.get(admin + "requests").json() == emu.requests()
    assert requests.get(admin + "state").json() == emu.state()
    assert requests.get(admin + "tokens").json() == emu.tokens()
    assert requests.post(admin + "quota", json={"client_id": 1001, "remaining": 4}).json()["remaining"] == 4
    assert requests.post(admin + "quota", json={"client_id": 9}).status_code == 404
    assert requests.post(admin + "quota", json={"limit": 9}).status_code == 400
    assert requests.post(admin + "latency", json={"ms": 0}).status_code == 200
    assert requests.post(admin + "faults", json={"rules": [{"action": "status", "status": 500}],
                                                 "seed": 1}).status_code == 200
    assert s.get(api(emu, "/user/")).status_code == 500
    assert requests.delete(admin + "faults").status_code == 200
    assert requests.post(admin + "revoke_tokens").json() == {"revoked": 1}
    assert s.get(api(emu, "/user/")).status_code == 401
    token(emu)
    assert requests.post(admin + "expire_tokens").json() == {"expired": 1}
    assert requests.delete(admin + "requests").json() == {"cleared": 5}
    assert emu.requests() == []                                          # admin calls are never logged
    assert requests.get(admin + "nothing").status_code == 404
    assert requests.put(admin + "state").status_code == 405


def test_an_extension_created_between_runs_is_listed_and_has_a_phone(emu):
    s = session(emu)
    created = emu.add_extension(1001, {"id": 90, "name": "190", "phone": {"label": "New"}})
    assert created["name"].endswith("*190") and created["type"] == "phone"
    listed = s.get(api(emu, "/client/@me/extension/")).json()
    assert [e["id"] for e in listed if e["id"] == 90] == [90]
    phone = s.get(api(emu, "/extension/90/phone/")).json()
    assert phone["label"] == "New" and phone["record_format"] == "mp3_mono" and "password" not in phone
    admin = emu.url + "/_admin/extension"
    assert requests.post(admin, json={"client_id": 1001, "extension": {"id": 91, "name": "191"}}).status_code == 200
    assert requests.post(admin, json={"client_id": 1001, "extension": {"id": 91, "name": "192"}}).status_code == 400
    assert requests.post(admin, json={"client_id": 9, "extension": {"id": 93}}).status_code == 404
    assert requests.post(admin, json={"extension": {"id": 94}}).status_code == 400


def test_cli_with_port_file(tmp_path):
    port_file = tmp_path / "url"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    secret = {a["app_id"]: a["app_secret"] for a in yaml.safe_load(QUICKSTART.read_text())["apps"]}["acme-app"]
    proc = subprocess.Popen([sys.executable, "-m", "tests.emulator", "--world", str(QUICKSTART),
                             "--port-file", str(port_file), "--seed", "3", "--variant", "no-rate-limit-headers",
                             "--variant", "conference-extensions"],
                            cwd=str(REPO), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        url = port_file.read_text().strip()
        resp = requests.post(url + "/oauth/token", data={"grant_type": "client_credentials", "client_id": "acme-app",
                                                         "client_secret": secret})
        assert resp.status_code == 200
        phones = requests.get(url + API + "/client/@me/extension/", params={"type": "phone"},
                              headers={"Authorization": "Bearer " + resp.json()["access_token"]}).json()
        assert [p["name"] for p in phones] == ["000*100", "000*101", "000*102", "000*103"]
        conference = requests.get(url + API + "/client/@me/extension/", params={"type": "conference"},
                                  headers={"Authorization": "Bearer " + resp.json()["access_token"]})
        assert len(conference.json()) == 1 and "X-RateLimit-Limit" not in conference.headers    # both variants
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert out.splitlines()[0] == "EMULATOR_URL=" + url


# ---- worlds ----

def test_generate_world_is_deterministic_and_loads(start):
    world = generate_world(3, 4, non_phone_per_tenant=2, seed=5, with_bundles=True)
    assert world == generate_world(3, 4, non_phone_per_tenant=2, seed=5, with_bundles=True)
    assert world != generate_world(3, 4, non_phone_per_tenant=2, seed=6, with_bundles=True)
    ids = [e["id"] for c in world["clients"] for e in c["extensions"]]
    assert ids == list(range(1, 19))
    assert [c["prefix"] for c in world["clients"]] == ["010", "020", "030"]
    assert world["apps"][1]["app_id"] == "tenant1-app" and world["apps"][1]["app_secret"].startswith("secret-tenant1-")
    state = start(world).state()
    first = state["clients"][0]
    assert [e["name"] for e in first["extensions"]] == ["010*%d" % n for n in range(100, 106)]
    assert [e["type"] for e in first["extensions"]][4:] == ["queue", "ivr"]
    assert first["bundles"] == [{"bundle_id": 1, "bundle_list": [1, 2]}]


def test_quickstart_world(start):
    """docs/examples/world.yml holds what docs/emulator.md says, and every one of its apps works."""
    world = yaml.safe_load(QUICKSTART.read_text())
    emu = start(QUICKSTART)
    state = emu.state()
    assert state["dealers"] == [{"id": 10, "name": "Example Telecom"}]
    assert [(c["id"], c["name"], c["prefix"], c["dealer_id"]) for c in state["clients"]] == [
        (1001, "Acme", "000", 10), (1002, "Globex", "001", 10), (1003, "Initech", "002", 10)]
    assert [[(e["id"], e["name"], e["type"]) for e in c["extensions"]] for c in state["clients"]] == [
        [(54, "000*100", "phone"), (55, "000*101", "phone"), (56, "000*102", "phone"), (57, "000*103", "phone"),
         (58, "000*200", "queue")],
        [(61, "001*100", "phone"), (62, "001*101", "phone"), (63, "001*102", "phone"), (64, "001*300", "ivr")],
        [(71, "002*10", "phone"), (72, "002*11", "phone"), (73, "002*12", "phone")]]
    assert [c["bundles"] for c in state["clients"]] == [[], [], [{"bundle_id": 72, "bundle_list": [72, 73]}]]
    phones = {e["id"]: e["phone"] for c in state["clients"] for e in c["extensions"] if "phone" in e}
    assert {i: p["external_number"] for i, p in phones.items() if p["external_number"]} == {
        54: "+79876543210", 62: "84951112233"}                                  # Globex: national form
    assert [i for i, p in phones.items() if "dtmf_mode" in p] == [55] and phones[55]["dtmf_mode"] == "rfc2833"
    assert {key: q["limit"] for key, q in state["quotas"].items()} == {
        "1001": 3600, "1002": 3600, "1003": 3600, "dealer:10": 3600}
    reached = {}
    for app in world["apps"]:
        resp = requests.post(emu.url + "/oauth/token", data={"grant_type": "client_credentials",
                                                             "client_id": app["app_id"],
                                                             "client_secret": app["app_secret"]})
        assert resp.status_code == 200, app["app_id"]
        s = requests.Session()
        s.headers["Authorization"] = "Bearer " + resp.json()["access_token"]
        user = s.get(api(emu, "/user/")).json()
        reached[app["app_id"]] = (s.get(api(emu, "/client/@me/")).json().get("id") if user["client_id"] else
                                  [c["id"] for c in s.get(api(emu, "/dealer/@me/client/")).json()])
    assert reached == {"acme-app": 1001, "globex-app": 1002, "initech-app": 1003, "dealer-app": [1001, 1002, 1003]}


@pytest.mark.parametrize("mutate, fragment", [
    (lambda w: w["clients"][1]["extensions"].append({"id": 1, "name": "9"}), "used twice"),
    (lambda w: w["clients"][0]["extensions"][0]["phone"].update(record_format="ogg"), "record_format"),
    (lambda w: w["clients"][0]["bundles"].append({"main": 7, "members": [7]}), "queue"),
    (lambda w: w["apps"].append({"app_id": "x", "app_secret": "y", "user": {"client_id": 5}}), "not in clients"),
    (lambda w: w.update(extra=1), "unknown top-level"),
])
def test_bad_worlds_are_refused(mutate, fragment):
    world = make_world()
    mutate(world)
    with pytest.raises(WorldError, match=fragment):
        Emulator(world)


def test_caller_world_is_not_modified(start):
    world = make_world()
    copy = json.loads(json.dumps(world))
    emu = start(world)
    session(emu).put(api(emu, "/extension/1/phone/"), json={"label": "changed"})
    assert world == copy


def test_national_number_form_stores_russian_numbers_with_8(start):
    world = make_world(number_form="national")
    world["clients"][0]["extensions"][1]["phone"] = {"external_number": "79001234567"}
    emu = start(world)
    s = session(emu)
    assert s.get(api(emu, "/extension/1/phone/")).json()["external_number"] == "89876543210"   # from the world
    assert s.get(api(emu, "/extension/2/phone/")).json()["external_number"] == "89001234567"
    assert s.put(api(emu, "/extension/3/phone/"), json={"external_number": "+79991234567"}).json()[
        "external_number"] == "89991234567"
    assert s.put(api(emu, "/extension/4/phone/"), json={"external_number": "+15125550110"}).json()[
        "external_number"] == "+15125550110"                                                   # not a +7 number
    assert s.put(api(emu, "/extension/3/phone/"), json={"external_number": ""}).json()["external_number"] is None
    other = session(emu, "a2")                                                                 # client 1002: as sent
    assert other.put(api(emu, "/extension/20/phone/"), json={"external_number": "+79991234567"}).json()[
        "external_number"] == "+79991234567"
    assert "number_form" not in s.get(api(emu, "/client/@me/")).json()


def test_number_form_must_be_known():
    with pytest.raises(WorldError, match="number_form"):
        Emulator(make_world(number_form="local"))


# ---- provider variants ----

def test_variants_combine_in_order_and_are_checked(start):
    world = dict(make_world(), variant=["page-cap-clamps", "short-token"])
    world["defaults"]["per_page_max"] = 40                       # the world's defaults win over its variant
    emu = start(world, variant={"token_ttl": 5})                 # the start option wins over both
    assert (emu.engine.world.defaults["per_page_max"], emu.engine.world.defaults["token_ttl"]) == (40, 5)
    for bad in ("no-such-variant", {"per_page_above_max": 500}, {"no_such_key": 1},
                {"missing_phone_keys": ["dtmf_mode"]}, {"extra_phone_keys": {"label": "x"}}):
        with pytest.raises(WorldError):
            Emulator(make_world(), variant=bad)
    with pytest.raises(WorldError, match="bundle_listing"):
        Emulator(dict(make_world(), defaults={"bundle_listing": 302}))


@pytest.mark.parametrize("variant, status", [("page-cap-refuses", 400), ("page-cap-422", 422)])
def test_a_page_cap_that_refuses_larger_pages(start, variant, status):
    emu = start(make_world(), variant=variant)
    cap = emu.engine.world.defaults["per_page_max"]
    s = session(emu)
    refused = s.get(api(emu, "/client/@me/extension/"), params={"per_page": str(cap + 1)})
    assert refused.status_code == status and refused.json()["status"] == "invalid_request"
    assert len(s.get(api(emu, "/client/@me/extension/"), params={"per_page": str(cap)}).json()) == 9


def test_a_page_cap_that_clamps_silently(start):
    world = make_world()
    world["clients"][0]["extensions"] += [{"id": 100 + i, "name": str(800 + i), "type": "queue"} for i in range(40)]
    emu = start(world, variant="page-cap-clamps")
    s = session(emu)
    pages = [s.get(api(emu, "/client/@me/extension/"), params={"per_page": "500", "page": str(p)}) for p in (1, 2)]
    assert [(p.status_code, len(p.json())) for p in pages] == [(200, 30), (200, 19)]


@pytest.mark.parametrize("variant, status", [("bundle-listing-400", 400), ("bundle-listing-405", 405),
                                             ("bundle-listing-501", 501), ("no-bundle-listing", 404)])
def test_bundle_listing_answered_not_supported(start, variant, status):
    emu = start(make_world(), variant=variant)
    s = session(emu)
    assert s.get(api(emu, "/client/@me/extensions_bundle/")).status_code == status
    assert s.get(api(emu, "/client/1001/extensions_bundle/1")).json() == {"bundle_id": 1, "bundle_list": [1, 2]}
    assert requests.post(emu.url + "/_admin/bundle_listing", json={"on": True}).status_code == 200
    assert s.get(api(emu, "/client/@me/extensions_bundle/")).status_code == 200
    assert requests.post(emu.url + "/_admin/bundle_listing", json={"on": 418}).status_code == 400


def test_no_rate_limit_headers(start):
    emu = start(make_world(), variant="no-rate-limit-headers")
    s = session(emu)
    replies = [s.get(api(emu, "/user/")), s.get(api(emu, "/client/9999/")), s.put(api(emu, "/extension/1/phone/"))]
    assert [r.status_code for r in replies] == [200, 404, 400]
    assert not any(h.startswith("X-RateLimit") for r in replies for h in r.headers)
    assert emu.state()["quotas"]["1001"]["remaining"] == 997              # still counted, just not told


def test_conference_extensions(start):
    emu = start(make_world(), variant="conference-extensions")
    s = session(emu)
    listed = s.get(api(emu, "/client/@me/extension/")).json()
    conference = [e for e in listed if e["type"] == "conference"]
    assert [(e["id"], e["name"]) for e in conference] == [(21, "010*701")]
    assert s.get(api(emu, "/client/@me/extension/"), params={"type": "conference"}).json() == conference
    assert s.get(api(emu, "/extension/21/phone/")).status_code == 404
    with pytest.raises(WorldError, match="conference"):
        Emulator(dict(make_world(), clients=[{"id": 1, "extensions": [{"id": 1, "type": "conference"}]}]))


def test_short_token_lifetime(start):
    emu = start(make_world(), variant={"token_ttl": 1})
    resp = requests.post(emu.url + "/oauth/token",
                         data={"grant_type": "client_credentials", "client_id": "a1", "client_secret": "s1"})
    assert resp.json()["expires_in"] == 1
    headers = {"Authorization": "Bearer " + resp.json()["access_token"]}
    assert requests.get(api(emu, "/user/"), headers=headers).status_code == 200
    time.sleep(1.05)
    assert requests.get(api(emu, "/user/"), headers=headers).status_code == 401
    assert Emulator(make_world(), variant="short-token").engine.world.defaults["token_ttl"] == 1


def test_extra_and_missing_phone_keys(start):
    emu = start(make_world(), variant=["extra-phone-key", "missing-phone-key"])
    s = session(emu)
    phone = s.get(api(emu, "/extension/1/phone/")).json()
    assert phone["sip_transport"] == "udp" and phone["dtmf_mode"] == "rfc2833" and "incoming_limit" not in phone
    missing = s.put(api(emu, "/extension/1/phone/"), json={"incoming_limit": 2})
    assert missing.status_code == 400 and "incoming_limit" in missing.json()["message"]
    assert s.put(api(emu, "/extension/1/phone/"), json={"sip_transport": "tcp"}).json()["sip_transport"] == "tcp"


def test_endless_pages(start):
    emu = start(make_world(), variant="endless-pages")
    s = session(emu)
    seen = set()
    for page in (1, 2, 500):
        rows = s.get(api(emu, "/client/@me/extension/"), params={"per_page": "20", "page": str(page)}).json()
        ids = {r["id"] for r in rows}
        assert len(ids) == 20 and not ids & seen
        seen |= ids


def test_gzip_when_asked_and_the_token_path_variant(start):
    def raw(emu, headers):
        host, port = emu.url.rsplit("/", 1)[-1].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("GET", API + "/client/@me/extension/", headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp, body

    emu = start()
    auth = {"Authorization": "Bearer " + token(emu)}
    zipped, body = raw(emu, dict(auth, **{"Accept-Encoding": "gzip"}))
    assert zipped.getheader("Content-Encoding") == "gzip" and len(json.loads(gzip.decompress(body))) == 9
    plain, body = raw(emu, auth)
    assert plain.getheader("Content-Encoding") is None and len(json.loads(body)) == 9
    assert [e["content_encoding"] for e in emu.requests()[1:]] == ["gzip", None]

    other = start(make_world(), variant=["no-gzip", {"token_path": "/api/ver1.0/oauth/token"}])
    assert requests.post(other.url + "/oauth/token", data={}).status_code == 404
    issued = requests.post(other.url + API + "/oauth/token",
                           data={"grant_type": "client_credentials", "client_id": "a1", "client_secret": "s1"})
    unzipped, body = raw(other, {"Authorization": "Bearer " + issued.json()["access_token"],
                                 "Accept-Encoding": "gzip"})
    assert unzipped.getheader("Content-Encoding") is None and len(json.loads(body)) == 9


@pytest.mark.parametrize("variant, status", [(None, 200), ("number-bound-elsewhere-refused", 409)])
def test_a_number_bound_on_another_client(start, variant, status):
    # Acme's phone 1 holds +79876543210; Globex binds it, written as 8 and 10 digits.
    emu = start(make_world(), variant=variant)
    globex = session(emu, "a2")
    reply = globex.put(api(emu, "/extension/20/phone/"), json={"external_number": "89876543210"})
    assert reply.status_code == status, reply.text
    held = {e["id"]: e["phone"]["external_number"] for c in emu.state()["clients"] for e in c["extensions"]
            if e["id"] in (1, 20)}
    assert held == ({1: "+79876543210", 20: "89876543210"} if status == 200 else {1: "+79876543210", 20: None})
    if status == 409:
        assert reply.json() == {"message": "Number is bound to a phone of another client", "status": "number_in_use"}
        acme = session(emu)     # the client's own phones are not "another client": a move within Acme is accepted
        assert acme.put(api(emu, "/extension/2/phone/"), json={"external_number": "+79876543210"}).status_code == 200
