# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""External numbers: one number, one form (E.164), parsed by ``phonenumbers`` (libphonenumber).

What the user wrote and what the API stores are both parsed with the same default region, so
``8 987 654-32-10``, ``+7 987 654 32 10`` and ``79876543210`` are one number, ``+79876543210``.
"""

from __future__ import annotations

import sys
import unicodedata
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError

try:
    import phonenumbers
except ImportError:  # reported as one line by ``require_phonenumbers``
    phonenumbers = None

DEFAULT_REGION = "RU"
LIBRARY = "phonenumbers>=8.12"


class NumberError(InputError):
    """A value that is not a possible phone number; the message names the value and the reason."""


class InvalidNumber(NumberError):
    """A possible number that is not valid where it is read (no operator has been assigned it there): refused
    unless the user accepts it (``number_check: possible``); ``e164`` and ``warning`` are what accepting it gives."""

    def __init__(self, message: str, e164: str, warning: str) -> None:
        super().__init__(message)
        self.e164 = e164
        self.warning = warning


NUMBER_CHECKS = ("valid", "possible")


def accept_hint(item_key: Optional[str], run_option: str) -> str:
    """How to accept a number refused as not valid: per item (``item_key``, a bulk item) and for the run."""
    per_item = "number_check: possible on the item, or " if item_key else ""
    return "if the number is right as written, accept it with %s%s" % (per_item, run_option)


class MissingLibrary(InputError):
    """``phonenumbers`` is not installed for the Python that runs the engine: a one-line error, no traceback."""


def require_phonenumbers(what: str = "external_number") -> None:
    if phonenumbers is None:
        raise MissingLibrary("%s needs the Python library phonenumbers, missing for %s: install it "
                             "with %s -m pip install '%s'" % (what, sys.executable, sys.executable, LIBRARY))


def known_country(code: str) -> bool:
    """Whether ``code`` (two upper-case letters) is a region of phonenumbers (ISO 3166 codes of the countries and
    territories with phone numbers, and AC, TA, XK); without the library, any two letters (``require_phonenumbers``
    is for the callers that must know)."""
    return phonenumbers is None or code in phonenumbers.SUPPORTED_REGIONS


def check_region(value: Any, option: str = "default_region") -> str:
    """A two-letter region libphonenumber knows (``RU``, ``by`` -> ``BY``); without the library, any two letters."""
    region = value.strip().upper() if isinstance(value, str) else ""
    known = phonenumbers.SUPPORTED_REGIONS if phonenumbers is not None else ()
    if not (region in known or (phonenumbers is None and len(region) == 2 and region.isalpha() and region.isascii())):
        raise NumberError("%s %r is not a region phonenumbers knows: give a two-letter ISO 3166 code "
                          "such as RU, BY or KZ" % (option, value))
    return region


_KINDS = {int: "an integer", float: "a number", bool: "a boolean", list: "a list", dict: "a mapping"}


def _shown(value: Any) -> str:
    return repr(value) if not isinstance(value, str) or len(value) <= 40 else repr(value[:40]) + "..."


_POSSIBLE_REASONS = {
    "TOO_SHORT": "too short",
    "TOO_LONG": "too long",
    "INVALID_LENGTH": "a length no number of its country has",
    "INVALID_COUNTRY_CODE": "its country calling code does not exist",
    "IS_POSSIBLE_LOCAL_ONLY": "a local number that needs its area code",
}


def parse_number(value: Any, region: str) -> Optional[str]:
    """The E.164 form of a user value; ``None`` for ``""``/``None`` (unbound).

    Refuses (``NumberError``) a non-string (YAML turns ``+79876543210`` into an integer without its
    ``+`` and ``0201234567`` into an octal one), control characters, an extension, and numbers
    libphonenumber calls impossible, with its reason. A possible number that no operator has been
    assigned where it is read (not valid) raises ``InvalidNumber``: a number of another country written
    without its country code reads as a wrong number of ``region``.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise NumberError("external_number %s is %s, not a string: quote the number in YAML (for example "
                          "external_number: \"+79876543210\"), or YAML may change it (a leading + is dropped, a "
                          "leading 0 makes an octal number)" % (_shown(value), _KINDS.get(type(value), "not text")))
    if value.strip(" ") == "":
        return None
    if any(unicodedata.category(ch)[0] == "C" for ch in value):
        raise NumberError("external_number %s is not a phone number: it contains control characters" % _shown(value))
    require_phonenumbers()
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise NumberError("external_number %s is not a phone number: %s"
                          % (_shown(value), _library_text(exc))) from None
    if number.extension:
        raise NumberError("external_number %s has an extension (%s): bind the number without it"
                          % (_shown(value), number.extension))
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        name = _reason_name(reason)
        raise NumberError("external_number %s (%s) is not a possible phone number: %s (phonenumbers: %s; "
                          "default_region %s)" % (_shown(value), e164, _POSSIBLE_REASONS.get(name, name), name, region))
    if not phonenumbers.is_valid_number(number):
        raise _invalid(value, number, e164, region)
    return e164


def _invalid(value: str, number: Any, e164: str, region: str) -> InvalidNumber:
    """The refusal of a possible number that is not valid: for one written without its country code, the
    region it was read in and the E.164 forms it is valid in elsewhere."""
    warning = ("external_number %s (%s) is a possible number but not a valid one: no operator of %s has been "
               "assigned it; check it" % (_shown(value), e164, _region_of(number)))
    if value.lstrip(" (").startswith("+"):
        return InvalidNumber("external_number %s (%s) is not a valid number: no operator of %s has been assigned "
                             "it" % (_shown(value), e164, _region_of(number)), e164, warning)
    elsewhere = _valid_elsewhere(value)
    return InvalidNumber("external_number %s is not a valid number of region %s (read there as %s): write it in "
                         "E.164, with + and its country code%s" % (
                             _shown(value), region, e164,
                             ", such as %s" % " or ".join("%s if it is a number of %s" % (n, r) for n, r in elsewhere)
                             if elsewhere else ""),
                         e164, warning)


def _valid_elsewhere(value: str, shown: int = 2) -> List[Tuple[str, str]]:
    """The E.164 forms ``value`` is valid as when read in other regions, each with the region it belongs to;
    the forms valid in the most regions first (a +1 number is read so in every country of the NANP)."""
    found: Dict[str, List[Any]] = {}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            found.setdefault(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), []).append(number)
    ranked = sorted(found.items(), key=lambda kv: -len(kv[1]))[:shown]
    return [(e164, phonenumbers.region_code_for_number(numbers[0])) for e164, numbers in ranked]


def current_number(value: Any, region: str) -> Any:
    """The E.164 form of a number the API returned, whatever form it is stored in; a value that does
    not parse is returned as it is (compared raw, so it differs from any desired number)."""
    if value is None or (isinstance(value, str) and value.strip(" ") == ""):
        return None
    if phonenumbers is None or not isinstance(value, str):
        return value
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _library_text(exc: Exception) -> str:
    text = str(getattr(exc, "_msg", "") or exc).strip()
    return text[0].lower() + text[1:].rstrip(".") if text else "unparseable"


def _reason_name(reason: int) -> str:
    for name in _POSSIBLE_REASONS:
        if getattr(phonenumbers.ValidationResult, name) == reason:
            return name
    return str(reason)


def _region_of(number: Any) -> str:
    region = phonenumbers.region_code_for_number(number)
    return "region %s" % region if region and region != "ZZ" else "country code +%d" % number.country_code


# A mobile, a fixed-line and a toll-free number: checking them loads the region's metadata and compiles the patterns
# that parsing and checking its numbers use (libphonenumber compiles them on first use, in each process).
_WARM_UP_SAMPLES = ("+7 916 123-45-67", "8 495 123-45-67", "8 800 123-45-67")


def warm_up(region: str = DEFAULT_REGION) -> None:
    """Load ``region``'s metadata and compile its patterns now, in this process, so that every process forked from
    it finds them ready (Ansible's main process loads the action plugins before it forks a worker per tenant)."""
    if phonenumbers is None:
        return
    for sample in _WARM_UP_SAMPLES:
        try:
            parse_number(sample, region)
            current_number(sample, region)
        except InputError:
            pass
