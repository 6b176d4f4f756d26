"""The API layer: one method per endpoint, the one paged reader, reply shapes; every HTTP call scripted."""

from __future__ import annotations

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils import _api, _tokens
from ansible_collections.telphin.pbx.plugins.module_utils._api import PER_PAGE, TelphinApi
from ansible_collections.telphin.pbx.plugins.module_utils._errors import AccessDenied, InputError, ProtocolError, ValidationFailed
from scripted import Call, ScriptedTransport, make_client, token

EXT = "/client/1001/extension/"


def api_for(*calls):
    transport = ScriptedTransport(token(), *calls)
    return transport, TelphinApi(make_client(transport))


def rows(first, count):
    return [{"id": i, "name": "000*%d" % i, "type": "phone"} for i in range(first, first + count)]


def page(number, reply, per_page=PER_PAGE, **params):
    return Call("GET", EXT, reply=reply, params=dict(params, page=number, per_page=per_page))


def test_a_short_first_page_is_confirmed_by_an_empty_one():
    transport, api = api_for(page(1, rows(1, 3)), page(2, []))
    assert [e["id"] for e in api.extensions("1001")] == [1, 2, 3]
    transport.assert_done()


def test_an_empty_first_page_is_the_whole_list():
    transport, api = api_for(page(1, [], type="queue"))
    assert api.extensions("1001", "queue") == []
    transport.assert_done()


def test_full_pages_end_at_a_shorter_one():
    transport, api = api_for(page(1, rows(0, PER_PAGE)), page(2, rows(PER_PAGE, PER_PAGE)), page(3, rows(1000, 7)))
    assert len(api.extensions("1001")) == 2 * PER_PAGE + 7
    transport.assert_done()


def test_a_provider_that_caps_per_page_below_ours_is_read_to_the_end():
    # The provider sends at most 100 rows whatever per_page asks: the first page's length is its page size.
    transport, api = api_for(page(1, rows(0, 100)), page(2, rows(100, 100)), page(3, rows(200, 42)))
    assert [e["id"] for e in api.extensions("1001")] == list(range(242))
    transport.assert_done()


def test_a_capped_provider_whose_list_fills_its_last_page_ends_at_an_empty_page():
    transport, api = api_for(page(1, rows(0, 100)), page(2, rows(100, 100)), page(3, []))
    assert len(api.extensions("1001")) == 200
    transport.assert_done()


def test_a_row_shifted_onto_the_next_page_is_read_once():
    first = rows(0, PER_PAGE)
    transport, api = api_for(page(1, first), page(2, [first[-1]] + rows(PER_PAGE, 1)))
    assert [e["id"] for e in api.extensions("1001")] == list(range(PER_PAGE + 1))
    transport.assert_done()


def test_a_server_that_ignores_page_after_a_short_first_page_sent_the_whole_list_on_it():
    transport, api = api_for(page(1, rows(0, 3)), page(2, rows(0, 3)))
    assert [e["id"] for e in api.extensions("1001")] == [0, 1, 2]
    transport.assert_done()


def test_a_server_that_ignores_page_after_a_full_first_page_is_a_protocol_error_not_a_silent_cut():
    transport, api = api_for(page(1, rows(0, PER_PAGE)), page(2, rows(0, PER_PAGE)))
    with pytest.raises(ProtocolError, match=r"GET /client/1001/extension/ page 2 repeats earlier pages"):
        api.extensions("1001")
    transport.assert_done()


def test_a_first_page_longer_than_asked_is_the_page_size_and_the_next_page_is_still_read():
    # A server that ignores per_page may page with its own, larger size: its first page proves nothing.
    transport, api = api_for(page(1, rows(0, 700)), page(2, rows(700, 700)), page(3, rows(1400, 3)))
    assert len(api.extensions("1001")) == 1403
    transport.assert_done()


def test_a_server_that_ignores_page_and_per_page_sent_the_whole_list_on_page_1():
    transport, api = api_for(page(1, rows(0, 700)), page(2, rows(0, 700)))
    assert len(api.extensions("1001")) == 700
    transport.assert_done()


# Regression: a first page cut short into a valid, shorter list (a proxy, a fault) was taken as the page size,
# and the rows between its end and the next page were silently left out.
@pytest.mark.parametrize("cut", [3, PER_PAGE - 1])
def test_a_page_longer_than_the_first_is_a_protocol_error_not_a_silent_cut(cut):
    transport, api = api_for(page(1, rows(0, cut)), page(2, rows(PER_PAGE, PER_PAGE)))
    with pytest.raises(ProtocolError, match=r"page 2 has %d rows, page 1 had %d: the list changed or a page was "
                                            r"cut" % (PER_PAGE, cut)):
        api.extensions("1001")
    transport.assert_done()


@pytest.mark.parametrize("reply", [{"id": 1}, [{"name": "no id"}], ["1"]])
def test_a_list_of_the_wrong_shape_is_a_protocol_error(reply):
    transport, api = api_for(page(1, reply))
    with pytest.raises(ProtocolError, match="expected a JSON array of extensions with a numeric id"):
        api.extensions("1001")
    transport.assert_done()


def test_dealer_clients_fill_the_path_template_and_return_numeric_ids_sorted():
    transport, api = api_for(
        Call("GET", "/reseller/7/clients", params={"page": 1, "per_page": PER_PAGE},
             reply=[{"id": "1002", "name": "B"}, {"id": 1001, "name": "A"}]),
        Call("GET", "/reseller/7/clients", params={"page": 2, "per_page": PER_PAGE}, reply=[]))
    assert api.dealer_clients(7, "/reseller/{dealer_id}/clients") == [{"id": 1001, "name": "A"},
                                                                      {"id": 1002, "name": "B"}]
    transport.assert_done()


@pytest.mark.parametrize("template, problem", [("/dealer/{id}/client/", "only {dealer_id}"),
                                               ("dealer/{dealer_id}", "an API path"),
                                               ("/dealer/{dealer_id}/?all=1", "an API path")])
def test_a_bad_dealer_path_template_is_refused_before_any_request(template, problem):
    with pytest.raises(InputError, match=problem):
        _api.dealer_clients_path(10, template)


def test_dealer_clients_without_numeric_ids_are_a_protocol_error():
    transport, api = api_for(Call("GET", "/dealer/7/client/", reply=[{"id": True}]))
    with pytest.raises(ProtocolError, match="clients with a numeric id"):
        api.dealer_clients(7)
    transport.assert_done()


@pytest.mark.parametrize("members", [["54", "x-secret-echo"], "5455", {"54": 1}, [54.5], [True], ["54\n"], ["-1"]])
def test_bundle_members_that_are_not_extension_ids_are_a_protocol_error_that_quotes_nothing(members):
    transport, api = api_for(Call("GET", "/client/1001/extensions_bundle/", reply=[{"bundle_list": members}]))
    with pytest.raises(ProtocolError, match="a bundle_list is not a list of numeric extension ids") as error:
        api.bundles(1001)
    assert "secret" not in str(error.value) and "5455" not in str(error.value)
    transport.assert_done()


@pytest.mark.parametrize("client_id", ["1001\n", "+1001", 1001.0, "１００１"])
def test_dealer_clients_with_ids_that_are_not_plain_digits_are_a_protocol_error(client_id):
    transport, api = api_for(Call("GET", "/dealer/7/client/", reply=[{"id": client_id}]))
    with pytest.raises(ProtocolError, match="clients with a numeric id"):
        api.dealer_clients(7)
    transport.assert_done()


def test_user_tenant_phone_and_bundles():
    transport, api = api_for(
        Call("GET", "/user/", reply={"id": 1, "dealer_id": 7}),
        Call("GET", "/client/@me/", reply={"id": "1001", "name": "Acme"}),
        Call("GET", "/extension/54/phone/", reply={"label": "x"}),
        Call("PUT", "/extension/54/phone/", body={"label": "y"}, reply={"label": "y"}),
        Call("PUT", "/extension/54/phone/", body={"label": "z"}, reply=None),
        Call("GET", "/client/@me/extensions_bundle/", reply=[{"bundle_list": ["54", 55]}, "junk"]),
        Call("GET", "/client/@me/extensions_bundle/", status=404, reply={"message": "no such endpoint"}))
    assert api.user()["dealer_id"] == 7
    assert api.tenant("@me") == {"id": 1001, "name": "Acme"}
    assert api.phone(54) == {"label": "x"}
    assert api.put_phone(54, {"label": "y"}) == {"label": "y"}
    assert api.put_phone(54, {"label": "z"}) is None
    assert api.bundles("@me") == [[54, 55]]
    assert api.bundles("@me") is None
    transport.assert_done()


@pytest.mark.parametrize("call, path", [(lambda api: api.user(), "/user/"),
                                        (lambda api: api.phone(54), "/extension/54/phone/"),
                                        (lambda api: api.tenant(1001), "/client/1001/"),
                                        (lambda api: api.bundles(1001), "/client/1001/extensions_bundle/")])
def test_replies_of_the_wrong_shape_are_protocol_errors(call, path):
    transport, api = api_for(Call("GET", path, reply=["not", "an", "object"] if "bundle" not in path else {}))
    with pytest.raises(ProtocolError, match="GET %s" % path):
        call(api)
    transport.assert_done()


def test_token_form_and_reply():
    assert _tokens.token_form("id", "secret") == {"grant_type": "client_credentials", "client_id": "id",
                                                  "client_secret": "secret"}
    assert _tokens.token_from_reply({"access_token": "t"}) == "t"
    assert _tokens.token_from_reply({"access_token": ""}) is None
    assert _tokens.token_from_reply(["t"]) is None


# ---- page size: a provider that refuses a large per_page (issue 27, item 3) ----

def refused(number, per_page, status=400, **params):
    return Call("GET", EXT, status=status, reply={"message": "Invalid value for 'per_page'", "status": "invalid_request"},
                params=dict(params, page=number, per_page=per_page))


# Regression: a provider refusing per_page=500 with a 400 failed every list read of every run.
@pytest.mark.parametrize("status", [400, 422])
def test_a_refused_page_size_steps_down_once_per_run_and_is_kept_for_every_later_list(status):
    transport, api = api_for(refused(1, 500, status), refused(1, 200, status),
                             page(1, rows(0, 30), per_page=30), page(2, rows(30, 4), per_page=30),
                             page(1, [], per_page=30, type="queue"))
    assert api.client.per_page is None
    assert [e["id"] for e in api.extensions("1001")] == list(range(34))
    assert api.client.per_page == 30            # what api_info reports
    assert api.extensions("1001", "queue") == []                # asked at 30 at once
    transport.assert_done()


def test_a_page_size_that_works_at_once_is_kept_too():
    transport, api = api_for(refused(1, 500), page(1, rows(0, 3), per_page=200), page(2, [], per_page=200))
    assert len(api.extensions("1001")) == 3 and api.client.per_page == 200
    transport.assert_done()


def test_a_refusal_that_is_not_about_the_size_stands_and_no_size_is_kept():
    transport, api = api_for(refused(1, 500, type="room"), refused(1, 200, type="room"), refused(1, 30, type="room"))
    with pytest.raises(ValidationFailed, match="HTTP 400"):
        api.extensions("1001", "room")
    assert api.client.per_page is None
    transport.assert_done()


def test_other_errors_of_the_first_page_are_not_taken_for_a_refused_size():
    transport, api = api_for(Call("GET", EXT, status=403, reply={"status": "access_denied"},
                                  params={"page": 1, "per_page": 500}))
    with pytest.raises(AccessDenied):
        api.extensions("1001")
    transport.assert_done()


def test_a_later_page_refused_is_an_error_not_a_step_down():
    transport, api = api_for(page(1, rows(0, PER_PAGE)), refused(2, PER_PAGE))
    with pytest.raises(ValidationFailed):
        api.extensions("1001")
    transport.assert_done()


# ---- a list that never ends (issue 19, item 5) ----

# Regression: a server sending full pages of new ids forever was read page after page (829 pages in 40 s, memory
# growing) and never ended.
def test_a_list_that_never_ends_is_a_protocol_error_after_the_page_bound_quoting_nothing(monkeypatch):
    monkeypatch.setattr(_api, "MAX_LIST_PAGES", 3)
    endless = [page(n, [{"id": 900000 + 10 * n + i, "name": "x-secret-%d" % n} for i in range(PER_PAGE)])
               for n in (1, 2, 3, 4)]
    transport, api = api_for(*endless)
    with pytest.raises(ProtocolError, match=r"GET /client/1001/extension/: the list does not end: 4 full pages") \
            as error:
        api.extensions("1001")
    assert "secret" not in str(error.value) and "9000" not in str(error.value)
    transport.assert_done()


def test_a_list_that_never_ends_is_a_protocol_error_after_the_row_bound(monkeypatch):
    monkeypatch.setattr(_api, "MAX_LIST_ROWS", 2 * PER_PAGE)
    transport, api = api_for(*[page(n, rows(n * PER_PAGE, PER_PAGE)) for n in (1, 2, 3)])
    with pytest.raises(ProtocolError, match="the list does not end"):
        api.extensions("1001")
    transport.assert_done()


# Regression (review): rows and pages were bounded, not bytes: pages of one huge row each (every reply under the
# transport's per-reply bound) were all kept, up to MAX_LIST_PAGES x 8 MiB.
def test_a_list_of_huge_rows_is_a_protocol_error_after_the_size_bound_quoting_nothing(monkeypatch):
    monkeypatch.setattr(_api, "MAX_LIST_CHARS", 3000)
    huge = [page(n, [{"id": 700 + n, "name": "x-secret-" + "y" * 1000}]) for n in (1, 2, 3)]
    transport, api = api_for(*huge)
    with pytest.raises(ProtocolError, match=r"GET /client/1001/extension/: 3 pages of this list came to more than") \
            as error:
        api.extensions("1001")
    assert "secret" not in str(error.value) and "yyy" not in str(error.value)
    transport.assert_done()


def test_a_list_just_under_the_size_bound_is_read_to_its_end(monkeypatch):
    monkeypatch.setattr(_api, "MAX_LIST_CHARS", 3000)
    transport, api = api_for(page(1, [{"id": 701, "name": "y" * 1000}]), page(2, []))
    assert len(api.extensions("1001")) == 1
    transport.assert_done()


def test_a_list_of_exactly_the_row_bound_is_read_to_its_end(monkeypatch):
    monkeypatch.setattr(_api, "MAX_LIST_ROWS", 2 * PER_PAGE)
    transport, api = api_for(page(1, rows(0, PER_PAGE)), page(2, rows(PER_PAGE, PER_PAGE)), page(3, []))
    assert len(api.extensions("1001")) == 2 * PER_PAGE
    transport.assert_done()


# ---- bundle listing answered "not supported" (issue 27, item 2) ----

# Regression: only a 404 was taken as "this provider lists no bundles"; a 400, 405 or 501 failed the run.
@pytest.mark.parametrize("status", [400, 404, 405, 501])
def test_a_bundle_listing_answered_not_supported_means_none_listed(status):
    transport, api = api_for(Call("GET", "/client/1001/extensions_bundle/", status=status,
                                  reply={"message": "Method not allowed"}))
    assert api.bundles(1001) is None
    transport.assert_done()


def test_a_bundle_listing_refused_for_access_is_an_error():
    transport, api = api_for(Call("GET", "/client/1001/extensions_bundle/", status=403,
                                  reply={"status": "access_denied"}))
    with pytest.raises(AccessDenied):
        api.bundles(1001)
    transport.assert_done()


# ---- extension types (issue 27, item 5) ----

def test_a_list_with_types_the_collection_does_not_know_is_read_and_any_type_name_may_filter():
    mixed = [{"id": 1, "name": "000*100", "type": "phone"}, {"id": 2, "name": "000*700", "type": "conference"},
             {"id": 3, "name": "000*701", "type": "video_room"}]
    transport, api = api_for(page(1, mixed), page(2, []),
                             page(1, mixed[1:2], type="conference"), page(2, [], type="conference"))
    assert api.extensions("1001") == mixed
    assert api.extensions("1001", "conference") == mixed[1:2]
    transport.assert_done()


@pytest.mark.parametrize("ext_type", ["Phone", "phone&x=1", "", "a" * 33, "ph one"])
def test_a_type_filter_that_is_not_a_type_name_is_refused_before_any_request(ext_type):
    transport, api = api_for()
    with pytest.raises(InputError, match="is not a type name"):
        api.extensions("1001", ext_type)
    assert transport.sent == []
