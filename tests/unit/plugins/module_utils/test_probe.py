"""telphin.pbx.api_info (``_probe``): every request in order, the documented count, each finding, never a secret."""

from __future__ import annotations

import json
import re
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils._errors import ProtocolError
from ansible_collections.telphin.pbx.plugins.module_utils._phone import FIELDS
from ansible_collections.telphin.pbx.plugins.module_utils._probe import FINDINGS, run_api_info, server_time
from ansible_collections.telphin.pbx.plugins.module_utils._tokens import token_lifetime
from scripted import Call, ScriptedTransport, make_client, quota_headers

ROOT = Path(__file__).resolve().parents[4]
TOKEN = "tok-the-secret-token-1"
PHONE = {name: None for name, f in FIELDS.items() if not f.write_only}
EXTENSIONS = [{"id": 54, "name": "000*100", "type": "phone"}, {"id": 55, "name": "000*101", "type": "phone"},
              {"id": 57, "name": "000*200", "type": "queue"}]
LIST = "/client/1001/extension/"


def headers(offset: float = 0.0, rate_limit: bool = True):
    out = dict(quota_headers(3594, limit=3600, reset=1820)) if rate_limit else {}
    out["Date"] = formatdate(time.time() + offset, usegmt=True)
    return out


def page(n, rows, size=500, status=200, **kw):
    return Call("GET", LIST, status=status, reply=rows if status == 200 else {"status": "error"},
                params={"page": n, "per_page": size}, **kw)


def calls(expires_in=3600, rate_limit=True, offset=0.0, pages=None, bundles=(200, [{"bundle_list": [54, 55]}]),
          phone=None, tok=True, phone_id=54):
    """The probe's requests against a tenant: token, tenant, the list's pages, bundles, one phone."""
    h = headers(offset, rate_limit)
    script = [Call("POST", "TOKEN", reply={"access_token": TOKEN, "token_type": "Bearer", "expires_in": expires_in},
                   headers={"Date": h["Date"]})] if tok else []
    script.append(Call("GET", "/client/@me/", reply={"id": 1001, "name": "Tenant"}, headers=h))
    script += [Call(c.method, c.path, status=c.status, reply=c.reply, params=c.params, headers=h)
               for c in (pages if pages is not None else [page(1, EXTENSIONS), page(2, [])])]
    if bundles is not None:
        script.append(Call("GET", "/client/1001/extensions_bundle/", status=bundles[0], reply=bundles[1], headers=h))
    if phone is not False:
        script.append(Call("GET", "/extension/%d/phone/" % phone_id, reply=phone if phone is not None else PHONE, headers=h))
    return script


def probe(script, **params):
    transport = ScriptedTransport(*script)
    client = make_client(transport, **params.pop("settings", {}))
    result = run_api_info(client, dict({"client_id": "@me"}, **params), client.secrets.add)
    transport.assert_done()             # every request in order, none more
    assert all(s["method"] in ("GET", "POST") for s in transport.sent)
    assert [s for s in transport.sent if s["method"] == "POST"] == transport.sent[:1] or not params.get("tok", 1)
    result.update(client.report())
    text = json.dumps(result)
    assert TOKEN not in text and "s3cret-app" not in text
    return result


def test_a_provider_that_honours_everything_costs_the_documented_six_requests():
    result = probe(calls())
    info = result["api_info"]
    assert result["requests"]["total"] == info["requests"] == 6 and result["requests"]["token"] == 1
    assert info["findings"] == []
    assert info["authentication"] == {"credential": "app_id/app_secret", "token_url": "https://api.test/oauth/token",
                                      "token_lifetime": 3600, "tokens_issued": 1,
                                      "note": info["authentication"]["note"]}
    assert {k: info["quota"][k] for k in ("headers", "limit", "remaining", "reset")} == \
        {"headers": True, "limit": 3600, "remaining": 3594, "reset": 1820}
    assert info["tenant"]["client_id"] == 1001 and info["tenant"]["by_type"] == {"phone": 2, "queue": 1}
    paging = info["paging"]
    assert (paging["per_page"], paging["refused"], paging["rows"], paging["pages"], paging["honoured"]) == \
        (500, [], 3, 2, None)
    assert "not provable" in paging["note"]
    assert info["bundles"]["listed"] is True and info["bundles"]["count"] == 1
    assert info["phone"]["unmanaged_keys"] == [] and info["phone"]["missing_keys"] == []
    assert abs(info["clock"]["skew_seconds"]) <= 1 and "in step" in info["clock"]["note"]
    assert info["collection_version"]
    assert len(result["summary"]) == 8 and "findings: none" in result["line"] and "6 requests, no write" in result["line"]


def test_the_module_documents_the_count_the_tests_check():
    doc = " ".join((ROOT / "plugins" / "modules" / "api_info.py").read_text().split())
    assert "costs B(6 requests)" in doc
    for code in FINDINGS:
        assert code in doc, code
        assert code in (ROOT / "docs" / "docsite" / "rst" / "troubleshooting.rst").read_text(), code


def test_full_pages_show_per_page_honoured():
    rows = [{"id": i, "type": "phone"} for i in range(1, 501)]
    result = probe(calls(pages=[page(1, rows), page(2, [{"id": 501, "type": "fax"}])], phone_id=1))
    paging = result["api_info"]["paging"]
    assert paging["honoured"] is True and paging["cap"] is None and result["api_info"]["requests"] == 6
    assert result["api_info"]["tenant"]["by_type"] == {"phone": 500, "fax": 1}


def test_a_short_first_page_while_more_rows_exist_shows_a_cap():
    rows = [{"id": i, "type": "phone"} for i in range(54, 89)]             # 35 rows, pages of 30
    result = probe(calls(pages=[page(1, rows[:30]), page(2, rows[30:])]))
    info = result["api_info"]
    assert info["paging"]["cap"] == 30 and info["paging"]["honoured"] is False and info["findings"] == ["page_cap"]
    assert info["requests"] == 6 and "capped at 30" in result["line"]


def test_a_refused_page_size_steps_down_and_is_reported():
    result = probe(calls(pages=[page(1, None, status=422), page(1, None, 200, status=422), page(1, EXTENSIONS, 30),
                                page(2, [], 30)]))
    paging = result["api_info"]["paging"]
    assert paging["refused"] == [500, 200] and paging["per_page"] == 30 and "HTTP 422" in paging["note"]
    assert result["api_info"]["findings"] == ["page_size_refused"] and result["requests"]["total"] == 8


def test_a_first_page_longer_than_asked_shows_per_page_ignored():
    many = [{"id": i, "type": "phone"} for i in range(54, 54 + 40)]        # 40 rows for 30 asked
    result = probe(calls(pages=[page(1, None, status=400), page(1, None, 200, status=400), page(1, many, 30),
                                page(2, [], 30)]))
    paging = result["api_info"]["paging"]
    assert paging["honoured"] is False and paging["cap"] is None and "ignores per_page" in paging["note"]
    assert result["api_info"]["findings"] == ["page_size_refused", "per_page_ignored"]


def test_no_rate_limit_headers_says_what_quota_reserve_cannot_do():
    result = probe(calls(rate_limit=False), settings={"quota_reserve": 100})
    quota = result["api_info"]["quota"]
    assert quota["headers"] is False and quota["limit"] is None and quota["quota_reserve"] == 100
    assert "quota_reserve has no figure to act on" in quota["note"]
    assert result["api_info"]["findings"] == ["no_rate_limit_headers"] and "no rate-limit headers" in result["line"]


@pytest.mark.parametrize("status", [400, 404, 405, 501])
def test_a_provider_without_bundle_listing_is_reported(status):
    result = probe(calls(bundles=(status, {"status": "error"})))
    bundles = result["api_info"]["bundles"]
    assert bundles["listed"] is False and bundles["status"] == status and "bundle_listing: false" in bundles["note"]
    assert result["api_info"]["findings"] == ["no_bundle_listing"]


def test_bundle_listing_false_skips_the_request_and_says_so():
    result = probe(calls(bundles=None), bundle_listing=False)
    bundles = result["api_info"]["bundles"]
    assert bundles["asked"] is False and bundles["listed"] is None and "not asked" in bundles["note"]
    assert result["requests"]["total"] == 5 and result["api_info"]["findings"] == []
    assert "bundle listing skipped" in result["line"]


def test_phone_keys_unknown_and_missing():
    phone = dict(PHONE, sip_transport="udp", **{"odd key {{ x }}": 1})
    del phone["incoming_limit"]
    result = probe(calls(phone=phone))
    keys = result["api_info"]["phone"]
    assert keys["extension_id"] == 54
    assert keys["unmanaged_keys"] == ["sip_transport", "(other)"] and keys["missing_keys"] == ["incoming_limit"]
    assert result["api_info"]["findings"] == ["unmanaged_phone_keys", "missing_phone_keys"]
    assert "{{" not in json.dumps(result) and "phone keys +2 -1" in result["line"]


def test_a_phone_secret_read_is_never_shown():
    result = probe(calls(phone=dict(PHONE, conference_pin="4321987650", password="sip-secret-value")))
    assert "sip-secret-value" not in json.dumps(result) and "4321987650" not in json.dumps(result)


def test_a_short_token_lifetime_is_a_finding():
    result = probe(calls(expires_in=60))
    assert result["api_info"]["authentication"]["token_lifetime"] == 60
    assert result["api_info"]["findings"] == ["short_token"] and "token 60 s" in result["line"]
    result = probe(calls(expires_in="never"))
    assert result["api_info"]["findings"] == ["no_token_lifetime"]


def test_a_given_access_token_costs_no_token_request():
    result = probe(calls(tok=False), settings={"app_id": None, "app_secret": None, "access_token": "given-token-1"},
                   tok=False)
    auth = result["api_info"]["authentication"]
    assert auth["credential"] == "access_token" and auth["token_url"] is None and result["requests"]["total"] == 5
    assert "given-token-1" not in json.dumps(result)


def test_the_server_clock_against_the_controller():
    result = probe(calls(offset=3600))
    clock = result["api_info"]["clock"]
    assert 3599 <= clock["skew_seconds"] <= 3601 and "ahead of" in clock["note"]
    assert result["api_info"]["findings"] == ["clock_skew"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", clock["server_date"])


def test_a_tenant_without_extensions_costs_four_requests():
    result = probe(calls(pages=[page(1, [])], bundles=(200, []), phone=False))
    info = result["api_info"]
    assert info["requests"] == 4 and info["tenant"]["extensions"] == 0 and info["phone"]["extension_id"] is None
    assert "not provable" in info["paging"]["note"] and "no phone read" in result["line"]


def test_server_time_and_token_lifetime_take_only_what_makes_sense():
    assert server_time("Sun, 06 Dec 2026 02:40:00 GMT") == 1796524800.0
    assert server_time(None) is None and server_time("yesterday") is None and server_time("x" * 100) is None
    assert [token_lifetime({"expires_in": v}) for v in (3600, "60", 1.5, 0, -1, True, float("inf"), "9" * 20)] == \
        [3600, 60, 1, None, None, None, None, None]
    # str.isdigit() takes these for digits and int() refuses one of them: never an unexpected ValueError
    assert [token_lifetime({"expires_in": v}) for v in ("\u00b2", "\u0663", "1\u00b9")] == [None, None, None]


@pytest.mark.parametrize("bad_id", ["54a", None, "٥٤"])
def test_an_extension_id_that_is_not_a_number_is_a_protocol_error_naming_the_path(bad_id):
    """The probe sorts the phone ids of the list: an id that is not a number was "unexpected error (a bug)"."""
    listed = [dict(EXTENSIONS[0], id=bad_id)] + EXTENSIONS[1:]
    with pytest.raises(ProtocolError) as err:
        probe(calls(pages=[page(1, listed)], bundles=None, phone=False))
    assert str(err.value) == "GET %s page 1: expected a JSON array of extensions with a numeric id" % LIST
