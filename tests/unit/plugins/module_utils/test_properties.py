"""Properties of normalisation, bulk planning, masking, bundle checks and the client's quota/concurrency
bookkeeping, checked with hypothesis on generated inputs (the examples live in test_phone.py and the
scripted HTTP tests)."""

from __future__ import annotations

import itertools

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ansible_collections.telphin.pbx.plugins.module_utils import _quota
from ansible_collections.telphin.pbx.plugins.module_utils._settings import API_PREFIX
from ansible_collections.telphin.pbx.plugins.module_utils._errors import QuotaReserveReached
from ansible_collections.telphin.pbx.plugins.module_utils._replies import Response
from ansible_collections.telphin.pbx.plugins.module_utils._phone import (
    FIELDS, MASK, SYNCED_KEYS, InputError, bundle_conflicts, desired_state, masked, merged, normalize,
    normalize_bool, normalize_countries, normalize_current, normalize_int, normalize_number, normalize_str,
    plan_patch, unapplied_keys)
from ansible_collections.telphin.pbx.plugins.module_utils._ansible import nested_secrets
from ansible_collections.telphin.pbx.plugins.module_utils._bulk import check_items
from scripted import ScriptedTransport, make_client

PROPERTY = settings(max_examples=100, deadline=None)

# -- generators -----------------------------------------------------------------------------------
letters = st.sampled_from(["RU", "BY", "KZ", "ru", "by", "Kz", "DE", "am"])
country_lists = st.lists(letters, max_size=6)
separators = st.sampled_from([" ", ",", ", ", ";", "  "])
bool_spellings = st.sampled_from([True, False, 0, 1, "yes", "no", "on", "off", "true", "FALSE", " True ", "1", "0"])
int_spellings = st.one_of(st.integers(-10 ** 6, 10 ** 6), st.integers(-999, 999).map(lambda i: " %d " % i))
digits = st.text(alphabet="0123456789", min_size=9, max_size=9)
# Russian mobile numbers (+7 9XX ...) in the forms people write them: +7, 8 (trunk prefix) or 7, decorated.
numbers = st.builds(lambda prefix, d, style: style(prefix + "9" + d), st.sampled_from(["+7", "8", "7"]), digits,
                    st.sampled_from([lambda n: n, lambda n: " ".join(n[i:i + 3] for i in range(0, len(n), 3)),
                                     lambda n: n[:2] + "(" + n[2:5] + ")" + n[5:], "-".join]))
any_value = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=6),
                      st.lists(st.text(max_size=3), max_size=2))
value_for = {
    "number": st.one_of(numbers, st.just("")),
    "countries": country_lists,
    "bool": bool_spellings,
    "int": int_spellings,
    "str": st.text(alphabet=st.characters(categories=("L", "N", "Zs", "P")), max_size=12),
    "choice": None,
    "password": st.one_of(st.text(min_size=1, max_size=12), st.integers(100000, 99999999)),
}


def valid_value(name):
    field = FIELDS[name]
    if field.kind == "choice":
        return st.sampled_from(field.choices + tuple(c.upper() for c in field.choices))
    return value_for[field.kind]


valid_items = st.fixed_dictionaries({}, optional={name: valid_value(name) for name in FIELDS})


# -- normalisation is idempotent and order/case/spelling independent ------------------------------
@PROPERTY
@given(country_lists, separators)
def test_countries_normalise_once_and_for_all(codes, sep):
    once = normalize_countries(codes)
    assert normalize_countries(once) == once                      # the API's form reads back the same
    assert normalize_countries(sep.join(codes)) == once           # a string in any separator style
    assert normalize_countries(list(reversed(codes))) == once     # order does not matter
    assert normalize_countries([c.swapcase() for c in codes]) == once
    assert once is None or once == " ".join(sorted(set(c.upper() for c in codes)))


@PROPERTY
@given(bool_spellings)
def test_bools_normalise_once_and_for_all(value):
    once = normalize_bool("record_enabled", value)
    assert isinstance(once, bool)
    assert normalize_bool("record_enabled", once) == once
    assert normalize_bool("record_enabled", str(once).lower()) == once


@PROPERTY
@given(int_spellings)
def test_ints_normalise_once_and_for_all(value):
    once = normalize_int("incoming_limit", value)
    assert normalize_int("incoming_limit", once) == once == int(str(value).strip())


@PROPERTY
@given(st.text(max_size=20))
def test_strings_are_kept_or_refused_never_altered(text):
    try:
        once = normalize_str("label", text)
    except InputError as exc:
        assert "label contains control characters" in str(exc)
        return
    assert once == (text or None)
    assert normalize_str("label", once) == once


@PROPERTY
@given(numbers)
def test_numbers_normalise_once_and_for_all(text):
    once = normalize_number(text)
    assert normalize_number(once) == once
    assert normalize_current("external_number", once) == once     # what the API returns compares equal


@PROPERTY
@given(st.sampled_from(sorted(FIELDS)), any_value)
def test_normalise_is_idempotent_for_every_field_or_refuses(name, value):
    try:
        once = normalize(name, value)
    except InputError as exc:
        if FIELDS[name].write_only:
            assert repr(value) not in str(exc) or value in (None, "")     # a refused secret is never shown
        return
    if FIELDS[name].kind == "countries" and once is not None:
        assert normalize(name, once.split()) == once
    else:
        assert normalize(name, once) == once


# -- planning: a patch holds only keys that were set, and converges ---------------------------------
phones = st.dictionaries(st.sampled_from(sorted(FIELDS) + ["vendor_key", "dtmf_mode"]), any_value, max_size=12)


@PROPERTY
@given(valid_items, phones, st.sampled_from(["always", "never"]))
def test_a_patch_never_holds_a_key_that_was_not_set(item, current, update_password):
    desired = desired_state(item, update_password)
    set_keys = {k for k, v in item.items() if v is not None}
    assert set(desired) <= set_keys
    patch = plan_patch(current, desired)
    assert set(patch) <= set(desired)
    assert ("password" in patch) == ("password" in item and update_password == "always")
    after = merged(current, patch)
    assert {k for k in plan_patch(after, desired) if not FIELDS[k].write_only} == set()
    assert unapplied_keys(patch, after) == []
    for key in set(current) - set(patch):                            # everything else is untouched
        assert after[key] == current[key]


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(["100", "101", "102", "000*103", "104"]), valid_items), max_size=6))
def test_bulk_items_check_locally_without_inventing_keys(entries):
    bindings = [dict(item, extension=ref) for ref, item in entries]
    checked, problems = check_items(bindings, "always")
    for entry in checked:
        index = int(entry["where"].split("[")[1].split("]")[0])
        assert set(entry["desired"]) <= {k for k, v in bindings[index].items() if v is not None}
    numbers_given = {}
    for entry in checked:
        number = entry["desired"].get("external_number")
        if number:
            numbers_given[number] = numbers_given.get(number, 0) + 1
    duplicated = sum(1 for count in numbers_given.values() if count > 1)
    assert sum("is given to" in p for p in problems) == duplicated
    assert {str(b["password"]) for b in bindings if "password" in b} <= nested_secrets({"bindings": bindings})


# -- masking ---------------------------------------------------------------------------------------
secret_keys = st.sampled_from(["password", "sip_password", "client_secret", "api_token", "Password"])


@PROPERTY
@given(st.dictionaries(st.one_of(secret_keys, st.sampled_from(["label", "external_number", "x"])),
                       st.text(min_size=6, max_size=12), min_size=1))
def test_masked_phones_show_no_secret_value(phone):
    shown = masked(phone)
    assert set(shown) == set(phone)
    for key, value in phone.items():
        if key in ("label", "external_number", "x"):
            assert shown[key] == value
        else:
            assert shown[key] == MASK


# -- bundle conflicts: found exactly when members disagree on a synchronised key ------------------
@PROPERTY
@given(st.sampled_from(SYNCED_KEYS), st.lists(st.booleans(), min_size=2, max_size=4), st.booleans())
def test_bundle_conflicts_exactly_when_members_disagree(key, values, unrelated_differs):
    members = list(range(1, len(values) + 1))
    desired = {m: {key: v, "label": "L%d" % m if unrelated_differs else "L"} for m, v in zip(members, values)}
    problems = bundle_conflicts(desired, [members], {m: str(99 + m) for m in members})
    assert len(problems) == (1 if len(set(values)) > 1 else 0)
    assert bundle_conflicts(desired, [[m] for m in members], {}) == []       # separate bundles never conflict


# -- the client's bookkeeping ----------------------------------------------------------------------
@PROPERTY
@given(st.lists(st.one_of(st.just("refused"), st.just("accepted"), st.floats(0, 10)), max_size=40),
       st.integers(1, 6))
def test_concurrency_gate_stays_between_one_and_the_pool_size(events, size):
    now = [0.0]
    gate = _quota.ConcurrencyGate(size, clock=lambda: now[0])
    for event in events:
        if isinstance(event, float):
            now[0] += event
            continue
        gate.acquire()
        assert gate.active <= gate.limit
        gate.release(refused=event == "refused")
        assert 1 <= gate.limit <= size and gate.active == 0


def quota_reply(remaining, reset):
    return Response(200, {"x-ratelimit-limit": "1000", "x-ratelimit-remaining": str(remaining),
                          "x-ratelimit-reset": str(reset)}, "{}")


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 1)), min_size=1, max_size=20))
def test_within_one_window_the_remaining_count_never_goes_up(replies):
    meter = _quota.QuotaMeter(make_client(ScriptedTransport()).settings, clock=lambda: 100.0)
    for remaining, jitter in replies:
        meter.record(quota_reply(remaining, 600 - jitter))              # the same window, reset rounded
    assert meter.quota.remaining == min(remaining for remaining, jitter in replies)


@PROPERTY
@given(st.integers(0, 200), st.integers(0, 100), st.integers(0, 6))
def test_the_reserve_is_never_crossed_counting_the_requests_in_flight(remaining, reserve, in_flight):
    client = make_client(ScriptedTransport(), quota_reserve=reserve)
    client.meter.record(quota_reply(remaining, 600))
    url = client.settings.api_url + API_PREFIX + "/user/"
    client.meter.in_flight += in_flight
    try:
        client.meter.take_slot(url)
    except QuotaReserveReached:
        assert remaining - in_flight - 1 < reserve
    else:
        assert remaining - in_flight - 1 >= reserve


@PROPERTY
@given(st.permutations(list(itertools.product([0, 1], repeat=2))))
def test_permuted_bindings_plan_the_same_patches(order):
    assume(order)
    current = {"external_number": None, "record_enabled": False}
    items = {(a, b): {"external_number": "+7900000000%d" % a, "record_enabled": bool(b)} for a, b in order}
    patches = {key: plan_patch(current, desired_state(item)) for key, item in items.items()}
    again = {key: plan_patch(current, desired_state(items[key])) for key in reversed(list(items))}
    assert patches == again
