# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PhoneProperties of ``/extension/{id}/phone/``: the field table, normalisation and the compare engine.

The field table drives the module argspecs, the bulk item validation, masking and the bundle rules.
Values are normalised on both sides (what the user wrote, what the API returned) before comparing,
and a patch holds only the keys the user set whose normalised values differ.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError
from ansible_collections.telphin.pbx.plugins.module_utils._numbers import (
    DEFAULT_REGION, InvalidNumber, MissingLibrary, current_number, known_country, parse_number)
from ansible_collections.telphin.pbx.plugins.module_utils._secrets import MASK, is_secret_key


@dataclass(frozen=True)
class Field:
    name: str
    kind: str                      # number | str | int | bool | choice | countries | password
    choices: Tuple[str, ...] = ()
    synced: bool = False           # updating it on one bundle member updates every member
    write_only: bool = False       # the API never returns it: never compared, never shown
    secret: bool = False           # readable and compared, but never shown: masked like a write-only key


RECORD_FORMATS = ("mp3_mono", "mp3_stereo", "wav_mono", "wav_stereo")
AUTH_TYPES = ("digest", "network", "both")

FIELDS: Dict[str, Field] = {f.name: f for f in (
    Field("external_number", "number"),
    Field("label", "str"),
    Field("announce_sound_upon_outgoing_call", "int", synced=True),
    Field("announce_sound_upon_incoming_call", "int", synced=True),
    Field("append_to_cid_name_on_transfer", "str"),
    Field("auth_type", "choice", AUTH_TYPES),
    Field("call_screening_enabled", "bool"),
    Field("conference_announce_caller_name", "bool", synced=True),
    Field("conference_end_on_exit", "bool", synced=True),
    Field("conference_pin", "str", synced=True, secret=True),
    Field("password", "password", write_only=True),
    Field("allow_webrtc", "bool"),
    Field("record_enabled", "bool", synced=True),
    Field("record_transfer", "bool", synced=True),
    Field("record_format", "choice", RECORD_FORMATS, synced=True),
    Field("record_stereo", "bool", synced=True),
    Field("ringback_sound", "int", synced=True),
    Field("hold_music", "int", synced=True),
    Field("geo_list", "countries", synced=True),
    Field("incoming_limit", "int", synced=True),
)}

SYNCED_KEYS = tuple(name for name, f in FIELDS.items() if f.synced)

_ARG_TYPES = {"number": "raw", "str": "str", "int": "int", "bool": "bool", "choice": "str", "countries": "list",
              "password": "str"}


def phone_argspec() -> Dict[str, Dict[str, Any]]:
    """Ansible argspec entries for every PhoneProperties field (all optional, no defaults)."""
    spec: Dict[str, Dict[str, Any]] = {}
    for name, f in FIELDS.items():
        entry: Dict[str, Any] = {"type": _ARG_TYPES[f.kind]}
        if f.choices:
            entry["choices"] = list(f.choices)
        if f.kind == "countries":
            entry["elements"] = "str"
        if f.write_only or f.secret:
            entry["no_log"] = True
        spec[name] = entry
    return spec


# -- normalisation --------------------------------------------------------------------------------
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _printable(value: Any) -> str:
    """repr() of a value for messages: control and odd characters made visible."""
    return repr(value) if not isinstance(value, str) or len(value) <= 60 else repr(value[:60]) + "..."


def normalize_number(value: Any, region: str = DEFAULT_REGION) -> Optional[str]:
    """``8 (987) 654-32-10`` -> ``+79876543210`` (E.164, by ``_numbers``); ``""``/``None`` -> ``None`` (unbound).

    A possible number that is not valid raises ``InvalidNumber`` (``desired_state`` may accept it).
    """
    return parse_number(value, region)


EVERY_COUNTRY = "*"


def normalize_countries(value: Any) -> Optional[str]:
    """``geo_list`` in its three states: ``["by", "RU"]`` / ``"RU,BY"`` / ``"RU BY"`` -> ``"BY RU"`` (those countries);
    ``"*"`` / ``["*"]`` -> ``"*"`` (every country); empty (``[]``, ``""``, ``None``) -> ``None`` (the provider's
    default, which the vendor does not define: it may be narrower than every country)."""
    if value is None:
        return None
    items: Iterable[Any] = value if isinstance(value, (list, tuple)) else [value]
    codes: List[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InputError("geo_list item %s is not a country code" % _printable(item))
        for code in re.split(r"[\s,;]+", item.strip()):
            if not code:
                continue
            if code != EVERY_COUNTRY and not _COUNTRY.match(code.upper()):
                raise InputError("geo_list item %s is not a two-letter ISO country code or * (every country)"
                                 % _printable(code))
            if code != EVERY_COUNTRY and not known_country(code.upper()):
                raise InputError("geo_list item %s is not a country code phonenumbers knows (ISO 3166 codes of "
                                 "the countries and territories with phone numbers, such as RU, BY or KZ)"
                                 % _printable(code))
            codes.append(code.upper())
    if EVERY_COUNTRY in codes and set(codes) != {EVERY_COUNTRY}:
        raise InputError("geo_list: * means every country and cannot be combined with country codes")
    return " ".join(sorted(set(codes))) or None


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def normalize_bool(name: str, value: Any) -> Optional[bool]:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise InputError("%s must be a boolean, got %s" % (name, _printable(value)))


def normalize_int(name: str, value: Any) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError("%s must be an integer, got %s" % (name, _printable(value)))
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.match(r"^\s*-?[0-9]+\s*$", value):
        return int(value)
    raise InputError("%s must be an integer, got %s" % (name, _printable(value)))


def _is_control(ch: str) -> bool:
    """Control, format (zero-width, direction overrides), surrogate, private-use, unassigned and line or
    paragraph separator characters; spaces such as the no-break space are text."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def normalize_str(name: str, value: Any, show: bool = True) -> Optional[str]:
    """A text; ``show`` false (a secret): messages name the key and never the value."""
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InputError("%s must be a string, got %s" % (
            name, _printable(value) if show else "a %s (the value is not shown)" % type(value).__name__))
    text = str(value)
    if any(_is_control(ch) for ch in text):
        raise InputError("%s contains control characters%s" % (
            name, ": " + _printable(text) if show else " (the value is not shown)"))
    return text or None  # the API may store "" or null for an empty text


def normalize_password(name: str, value: Any) -> Optional[str]:
    """A write-only secret is sent as a string (YAML may give digits as a number); the value is never shown."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError("%s must be a string, got a %s (the value is not shown)" % (name, type(value).__name__))
    return str(value)


def normalize(name: str, value: Any, region: str = DEFAULT_REGION) -> Any:
    """The comparable form of ``value`` for field ``name`` (a key of ``FIELDS``); numbers of ``region``."""
    f = FIELDS[name]
    normalizers: Dict[str, Callable[[Any], Any]] = {
        "number": lambda v: normalize_number(v, region),
        "countries": normalize_countries,
        "bool": lambda v: normalize_bool(name, v),
        "int": lambda v: normalize_int(name, v),
        "str": lambda v: normalize_str(name, v, show=not f.secret),
        "password": lambda v: normalize_password(name, v),
        "choice": lambda v: _normalize_choice(f, v),
    }
    return normalizers[f.kind](value)


def _normalize_choice(f: Field, value: Any) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str) or value.strip().lower() not in f.choices:
        raise InputError("%s must be one of %s, got %s" % (f.name, ", ".join(f.choices), _printable(value)))
    return value.strip().lower()


def normalize_current(name: str, value: Any, region: str = DEFAULT_REGION) -> Any:
    """Like ``normalize`` for values read from the API: a value we cannot parse is compared raw; a number is
    compared in E.164 whatever form the API stores it in."""
    if FIELDS[name].kind == "number":
        return current_number(value, region)
    try:
        return normalize(name, value)
    except InputError:
        return value


def desired_state(values: Mapping[str, Any], update_password: str = "always", region: str = DEFAULT_REGION,
                  warnings: Optional[List[str]] = None, number_check: str = "valid", accept: str = "") -> Dict[str, Any]:
    """The normalised values of the PhoneProperties keys the user set (``None`` = not set).

    ``external_number: ""`` (unbind) and ``geo_list: []`` (the provider's default) become ``None`` here, which is a
    managed value.
    A number that is possible but not valid is refused, with ``accept`` (how to accept it) added, unless
    ``number_check`` is ``possible``: then it is kept and its warning goes to ``warnings``.
    Raises ``InputError`` listing every bad key at once.
    """
    desired: Dict[str, Any] = {}
    problems: List[str] = []
    for name in FIELDS:
        value = values.get(name)
        if value is None or (name == "password" and update_password != "always"):
            continue
        try:
            desired[name] = normalize(name, value, region)
        except MissingLibrary:
            raise
        except InvalidNumber as exc:
            if number_check != "possible":
                problems.append("%s; %s" % (exc, accept) if accept else str(exc))
                continue
            desired[name] = exc.e164
            if warnings is not None:
                warnings.append(exc.warning)
        except InputError as exc:
            problems.append(str(exc))
    if problems:
        raise InputError("; ".join(problems))
    return desired


# -- compare → patch ------------------------------------------------------------------------------
def plan_patch(current: Mapping[str, Any], desired: Mapping[str, Any], region: str = DEFAULT_REGION) -> Dict[str, Any]:
    """The keys of ``desired`` that differ from ``current`` (after normalisation), as wire values.

    Write-only keys (the SIP password) cannot be compared and are always part of the patch.
    """
    patch: Dict[str, Any] = {}
    for name, want in desired.items():
        if FIELDS[name].write_only or normalize_current(name, current.get(name), region) != want:
            patch[name] = want
    return patch


def unapplied_keys(patch: Mapping[str, Any], reply: Mapping[str, Any], region: str = DEFAULT_REGION) -> List[str]:
    """Keys of ``patch`` that the API's reply does not show with the value sent (write-only keys skipped)."""
    return [name for name, want in patch.items()
            if not FIELDS[name].write_only and normalize_current(name, reply.get(name), region) != want]


def merged(current: Mapping[str, Any], patch: Mapping[str, Any]) -> Dict[str, Any]:
    """The phone as it will read after ``patch`` (the check-mode prediction)."""
    after = dict(current)
    after.update((k, v) for k, v in patch.items() if not FIELDS[k].write_only)
    return after


def is_masked_key(name: str) -> bool:
    """Whether values under key ``name`` are secrets to mask: write-only and secret fields (the conference PIN) and
    ``_secrets.is_secret_key``."""
    f = FIELDS.get(name)
    return bool(f and (f.write_only or f.secret)) or is_secret_key(name)


def secret_values(phone: Mapping[str, Any]) -> List[str]:
    """Secret values found in an API reply, so the module can add them to its no_log values.

    Values of secret fields (a conference PIN: a few digits) are masked by key only: masking them in every text
    would also mask ids and numbers that happen to hold the same digits.
    """
    return [str(v) for k, v in phone.items()
            if is_masked_key(k) and not (k in FIELDS and FIELDS[k].secret) and v not in (None, "")]


def masked(phone: Mapping[str, Any]) -> Dict[str, Any]:
    """A copy of a phone object with secret values replaced by ``MASK``."""
    return {k: (MASK if is_masked_key(k) and v not in (None, "") else v) for k, v in phone.items()}


def managed_view(phone: Mapping[str, Any], keys: Iterable[str], written: Iterable[str] = (),
                 region: str = DEFAULT_REGION) -> Dict[str, Any]:
    """The managed keys of a phone for before/after output; write-only keys show as ``MASK`` once written."""
    written = set(written)
    view: Dict[str, Any] = {}
    for name in keys:
        if FIELDS[name].write_only:
            view[name] = MASK if name in written else "(write-only, not readable)"
        else:
            view[name] = normalize_current(name, phone.get(name), region)
            if FIELDS[name].secret and view[name] is not None:
                view[name] = MASK
    return view


def bundle_conflicts(desired_by_ext: Mapping[int, Mapping[str, Any]], bundles: Iterable[Iterable[int]],
                     names: Mapping[int, str]) -> List[str]:
    """Problems where two members of one bundle are given different values for a synchronised key."""
    problems: List[str] = []
    for members in bundles:
        listed = [m for m in members if m in desired_by_ext]
        for key in SYNCED_KEYS:
            values = {}
            for member in listed:
                if key in desired_by_ext[member]:
                    values.setdefault(repr(desired_by_ext[member][key]), []).append(names.get(member, str(member)))
            if len(values) > 1:
                detail = ", ".join("%s=%s" % ("/".join(exts), "(secret value %d)" % number if FIELDS[key].secret else val)
                                   for number, (val, exts) in enumerate(sorted(values.items()), 1))
                problems.append("bundle conflict on synchronised key %s: extensions %s are in one bundle, so the "
                                "values would overwrite each other on every run (%s)"
                                % (key, ", ".join(sorted(sum(values.values(), []))), detail))
    return problems
