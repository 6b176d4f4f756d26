"""External numbers through phonenumbers: one form (E.164), refusals with the library's reason, warnings."""

from __future__ import annotations

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils import _numbers
from ansible_collections.telphin.pbx.plugins.module_utils._numbers import (
    InvalidNumber, MissingLibrary, NumberError, check_region, current_number, parse_number)


@pytest.mark.parametrize("raw", ["8 987 654-32-10", "+7 987 654 32 10", "79876543210", "+7 (987) 654-32-10",
                                 "89876543210", "+7.987.654.32.10", "\u00a0+7 987 654 32 10 ", "++79876543210",
                                 "+7 987 654\u201332\u201310", "+7\u0669\u0668\u0667\u0666\u0665\u0664\u0663\u0662\u0661\u0660"])
def test_every_form_of_a_russian_number_is_one_e164(raw):
    assert parse_number(raw, "RU") == "+79876543210"
    assert current_number(raw, "RU") == "+79876543210"          # what the API stores compares equal


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_empty_is_unbound(raw):
    assert parse_number(raw, "RU") is None
    assert current_number(raw, "RU") is None


def test_the_region_decides_numbers_without_a_country_code():
    assert parse_number("(512) 555-0110", "US") == "+15125550110"
    assert parse_number("8 029 123-45-67", "BY") == "+375291234567"
    assert parse_number("+15125550110", "RU") == "+15125550110"      # a + number keeps its country


@pytest.mark.parametrize("raw, reason", [
    ("1234", "too short (phonenumbers: TOO_SHORT; default_region RU)"),
    ("+7900123456789", "a length no number of its country has (phonenumbers: INVALID_LENGTH"),
    ("abc", "is not a phone number: the string supplied did not seem to be a phone number"),
    ("7+9001234567", "is not a phone number"),
    ("+999 1234567", "is not a phone number: could not interpret numbers after plus-sign"),
    ("+79876543210 ext 5", "has an extension (5): bind the number without it"),
    ("+79876543210\n", "contains control characters"),
])
def test_impossible_numbers_are_refused_with_the_reason(raw, reason):
    with pytest.raises(NumberError, match="external_number") as err:
        parse_number(raw, "RU")
    assert reason in str(err.value)


@pytest.mark.parametrize("raw, kind", [(79876543210, "an integer"), (33896823, "an integer"), (7.9, "a number"),
                                       (True, "a boolean"), (["+79876543210"], "a list")])
def test_non_strings_are_refused_with_a_message_to_quote(raw, kind):
    with pytest.raises(NumberError, match="is %s, not a string: quote the number in YAML" % kind):
        parse_number(raw, "RU")


def test_a_number_not_valid_in_the_region_it_is_read_in_is_refused_with_its_e164_forms_elsewhere():
    # (512) 555-0110 on an RU tenant was written as +75125550110 with a warning
    with pytest.raises(InvalidNumber) as err:
        parse_number("(512) 555-0110", "RU")
    assert str(err.value) == ("external_number '(512) 555-0110' is not a valid number of region RU (read there as "
                              "+75125550110): write it in E.164, with + and its country code, such as +15125550110 "
                              "if it is a number of US or +435125550110 if it is a number of AT")
    assert err.value.e164 == "+75125550110"
    with pytest.raises(InvalidNumber, match="region RU .*such as \\+375291234567 if it is a number of BY"):
        parse_number("8 029 123-45-67", "RU")


def test_an_international_number_no_operator_has_is_refused_and_can_be_accepted_with_a_warning():
    with pytest.raises(InvalidNumber) as err:
        parse_number("+7 123 456 78 90", "RU")
    assert str(err.value) == ("external_number '+7 123 456 78 90' (+71234567890) is not a valid number: no operator "
                              "of country code +7 has been assigned it")
    assert err.value.e164 == "+71234567890"
    assert err.value.warning == ("external_number '+7 123 456 78 90' (+71234567890) is a possible number but not a "
                                 "valid one: no operator of country code +7 has been assigned it; check it")


def test_values_the_api_returns_that_do_not_parse_are_compared_raw():
    assert current_number("garbage", "RU") == "garbage"
    assert current_number(79876543210, "RU") == 79876543210


def test_regions():
    assert check_region(" by ") == "BY"
    for bad in ("XX", "RUS", "", None, 7):
        with pytest.raises(NumberError, match="is not a region phonenumbers knows"):
            check_region(bad)


def test_a_missing_library_is_one_line(monkeypatch):
    monkeypatch.setattr(_numbers, "phonenumbers", None)
    with pytest.raises(MissingLibrary) as err:
        parse_number("+79876543210", "RU")
    assert "external_number needs the Python library phonenumbers" in str(err.value)
    assert "\n" not in str(err.value)
    assert parse_number("", "RU") is None                  # unbinding needs no library
    assert current_number("89876543210", "RU") == "89876543210"    # compared raw
    assert check_region("by") == "BY"                             # checked when the library is back
