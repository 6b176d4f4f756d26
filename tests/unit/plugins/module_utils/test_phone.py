"""Normalisation and the compare engine, with examples and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.telphin.pbx.plugins.module_utils._phone import (
    FIELDS, MASK, InputError, bundle_conflicts, desired_state, managed_view, masked, merged, normalize_countries,
    normalize_number, phone_argspec, plan_patch, unapplied_keys)


@pytest.mark.parametrize("raw, expected", [
    ("+7 987 654-32-10", "+79876543210"),
    ("+7 (987) 654.32.10", "+79876543210"),
    ("89876543210", "+79876543210"),
    ("79876543210", "+79876543210"),
    ("", None),
    ("   ", None),
    (None, None),
])
def test_number_normalisation(raw, expected):
    assert normalize_number(raw) == expected


@pytest.mark.parametrize("raw", ["+7 987 abc", "7+9876543210", "1234", "+1234567890123456", 79876543210,
                                 "+7\u0660\u0661\u0662\u0663\u0664", "+7987\n6543210", "--", True, 7.5, ["+7"],
                                 "+79876543210\n"])
def test_bad_numbers_are_refused_with_the_value(raw):
    with pytest.raises(InputError, match="external_number"):
        normalize_number(raw)


def test_countries_compare_as_a_set():
    assert normalize_countries(["ru", "BY", "RU"]) == "BY RU"
    assert normalize_countries("RU,by") == normalize_countries("BY RU") == "BY RU"
    assert normalize_countries([]) is None
    with pytest.raises(InputError, match="RUS"):
        normalize_countries(["RUS"])


def test_desired_state_keeps_only_set_keys_and_reports_every_problem():
    assert desired_state({"external_number": "", "label": None, "record_enabled": "yes"}) == \
        {"external_number": None, "record_enabled": True}
    with pytest.raises(InputError) as err:
        desired_state({"external_number": "abc", "auth_type": "kerberos", "incoming_limit": "many"})
    for key in ("external_number", "auth_type", "incoming_limit"):
        assert key in str(err.value)


def test_password_is_sent_only_with_update_password_always():
    assert desired_state({"password": "Sip-pass-1"}, "always") == {"password": "Sip-pass-1"}
    assert desired_state({"password": "Sip-pass-1"}, "never") == {}


def test_patch_holds_only_differing_keys_after_normalisation():
    current = {"external_number": "+7 987 654 32 10", "label": "", "record_enabled": "false", "geo_list": "RU BY",
               "dtmf_mode": "rfc2833"}
    desired = desired_state({"external_number": "+79876543210", "label": "", "record_enabled": False,
                             "geo_list": ["by", "ru"], "incoming_limit": 2})
    assert plan_patch(current, desired) == {"incoming_limit": 2}


def test_write_only_password_is_always_in_the_patch_and_never_shown():
    patch = plan_patch({}, {"password": "Sip-pass-1"})
    assert patch == {"password": "Sip-pass-1"}
    assert "password" not in merged({}, patch)
    assert managed_view({}, ["password"], written=patch) == {"password": MASK}
    assert unapplied_keys(patch, {}) == []


def test_masking_of_secrets_read_back():
    assert masked({"password": "x1", "sip_secret": "y", "label": "L", "password_hint": None}) == \
        {"password": MASK, "sip_secret": MASK, "label": "L", "password_hint": None}


def test_bundle_conflicts_only_for_synchronised_keys_with_different_values():
    desired = {1: {"record_enabled": True, "label": "a"}, 2: {"record_enabled": False, "label": "b"},
               3: {"record_enabled": True}}
    problems = bundle_conflicts(desired, [[1, 2], [3, 4]], {1: "100", 2: "101", 3: "102"})
    assert len(problems) == 1 and "record_enabled" in problems[0] and "100" in problems[0] and "101" in problems[0]


def test_argspec_is_generated_from_the_field_table():
    spec = phone_argspec()
    assert set(spec) == set(FIELDS)
    assert spec["password"]["no_log"] is True
    assert spec["record_format"]["choices"] == ["mp3_mono", "mp3_stereo", "wav_mono", "wav_stereo"]
    assert spec["geo_list"] == {"type": "list", "elements": "str"}


# -- properties ---------------------------------------------------------------------------------
digits = st.text(alphabet="0123456789", min_size=9, max_size=9)
decor = st.sampled_from([" ", "-", ".", ""])


@given(digits, st.sampled_from(["+7", "8", "7"]), st.lists(st.tuples(st.integers(0, 10), decor), max_size=6))
def test_decorated_numbers_normalise_to_e164(number, prefix, insertions):
    written = list("9" + number)
    for position, char in insertions:
        written.insert(min(position, len(written)), char)
    assert normalize_number(prefix + "".join(written)) == "+79" + number


@given(st.text(max_size=20))
def test_normalise_number_is_idempotent_or_refuses(text):
    try:
        once = normalize_number(text)
    except InputError:
        return
    assert normalize_number(once) == once


values = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=5))
phones = st.dictionaries(st.sampled_from(sorted(FIELDS) + ["vendor_key"]), values, max_size=10)


@given(phones, phones)
def test_applying_the_patch_converges_and_touches_nothing_else(current, wanted):
    try:
        desired = desired_state({k: v for k, v in wanted.items() if k in FIELDS and k != "password"})
    except InputError:
        return
    patch = plan_patch(current, desired)
    after = merged(current, patch)
    assert plan_patch(after, desired) == {}
    assert set(patch) <= set(desired)
    for key in set(current) - set(patch):
        assert after[key] == current[key]


# Regression (property tests): a label with a no-break space (copied from a web page) was refused as
# "contains control characters"; str.isprintable() is false for every space but " ".
@pytest.mark.parametrize("text", ["Desk\u00a0A", "Desk\u2009A", "Приёмная", "Desk \u00e9"])
def test_labels_with_unicode_spaces_and_letters_are_text(text):
    assert desired_state({"label": text}) == {"label": text}


@pytest.mark.parametrize("text", ["Desk\x07", "Desk\u200b", "Desk\u202e", "Desk\u2028", "Desk\x00", "Desk\n"])
def test_labels_with_control_or_format_characters_are_refused(text):
    with pytest.raises(InputError, match="label contains control characters"):
        desired_state({"label": text})


# geo_list has three states (the vendor's client page): null = the provider's default, "*" = every country, and a
# list of codes. Regression (issue 27, item 1): "*" was refused, and a phone allowing every country read as an
# unparsable value, so `geo_list: []` (documented as "removes the restriction") moved it to the default.
@pytest.mark.parametrize("raw, expected", [
    ("*", "*"), (["*"], "*"), ([" * "], "*"), (["*", "*"], "*"),
    ([], None), ("", None), ([""], None), (None, None),
    (["ru", "BY"], "BY RU"), ("RU, BY", "BY RU"),
])
def test_geo_list_states(raw, expected):
    assert normalize_countries(raw) == expected


@pytest.mark.parametrize("raw", [["*", "RU"], "RU *", ["**"], ["RU*"]])
def test_geo_list_every_country_is_not_combined_with_codes(raw):
    with pytest.raises(InputError, match="geo_list"):
        normalize_countries(raw)


@pytest.mark.parametrize("current, given, patch", [
    ("*", ["*"], {}),                       # every country, asked every country: unchanged
    ("*", [], {"geo_list": None}),          # every country -> the provider's default: a change, sent as null
    (None, ["*"], {"geo_list": "*"}),       # the default -> every country
    ("", [], {}),                           # an empty value read back is null
    (None, [], {}),
    ("RU", ["*"], {"geo_list": "*"}),
    ("*", ["RU"], {"geo_list": "RU"}),
])
def test_geo_list_three_states_compare(current, given, patch):
    assert plan_patch({"geo_list": current}, desired_state({"geo_list": given})) == patch
