"""The emulated world: loading and checking a world file, the phone field table, PUT validation.

A world is plain data (YAML or JSON, schema in ``docs/emulator.md``). ``World.load`` turns it into
objects the API engine mutates; ``World.snapshot`` turns them back into JSON-ready data.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import yaml

from .variants import BASE_EXTENSION_TYPES, PROVIDER_KEYS, Spec, check, resolve

EXTENSION_TYPES = BASE_EXTENSION_TYPES
ENUMS: Dict[str, Tuple[str, ...]] = {
    "auth_type": ("digest", "network", "both"),
    "record_format": ("mp3_mono", "mp3_stereo", "wav_mono", "wav_stereo"),
}
# PhoneProperties of the reference (section 8): field -> (kind, default).
PHONE_FIELDS: Dict[str, Tuple[str, Any]] = {
    "external_number": ("number", None),
    "label": ("str", None),
    "announce_sound_upon_outgoing_call": ("int", None),
    "announce_sound_upon_incoming_call": ("int", None),
    "append_to_cid_name_on_transfer": ("str", None),
    "auth_type": ("enum", "digest"),
    "call_screening_enabled": ("bool", False),
    "conference_announce_caller_name": ("bool", True),
    "conference_end_on_exit": ("bool", True),
    "conference_pin": ("str", None),
    "password": ("password", None),
    "allow_webrtc": ("bool", False),
    "record_enabled": ("bool", False),
    "record_transfer": ("bool", False),
    "record_format": ("enum", "mp3_mono"),
    "record_stereo": ("bool", False),
    "ringback_sound": ("int", None),
    "hold_music": ("int", None),
    "geo_list": ("geo", None),
    "incoming_limit": ("int", None),
}
# Phone keys a PUT on one bundle member sets on every member.
SYNC_KEYS = frozenset((
    "record_transfer", "ringback_sound", "geo_list", "record_enabled", "hold_music",
    "announce_sound_upon_outgoing_call", "announce_sound_upon_incoming_call", "conference_pin",
    "conference_announce_caller_name", "conference_end_on_exit", "record_format", "record_stereo",
    "incoming_limit",
))
SECRET_PHONE_KEYS = frozenset(("password",))

_NUMBER = re.compile(r"^\+?[0-9]{5,15}$")
NUMBER_FORMS = ("e164", "national")
_GEO = re.compile(r"^(\*|[A-Z]{2}( [A-Z]{2})*)$")     # "*": every country
_EXTENSION_DEFAULTS: Dict[str, Any] = {
    "status": "active", "label": None, "extension_group_id": None, "create_date": "2024-01-01 00:00:00",
    "caller_id_name": None, "ani_rfc3325": False, "did_as_transfer_caller_id": None, "dial_rule_id": None,
    "dial_rule_limit": None, "message_did": None, "extra_params": None,
}
_USER_FIELDS = ("id", "login", "access", "admin", "client_id", "dealer_id", "extension_group_id", "extension_id",
                "extra_params", "timezone")
_DEFAULTS: Dict[str, Any] = dict(PROVIDER_KEYS, quota_limit=10000, window_seconds=3600, max_concurrent=None)


class WorldError(ValueError):
    """The world file is malformed or inconsistent."""


def stored_number(value: Any, form: str) -> Any:
    """The form a client's PBX stores an external number in: ``national`` keeps a Russian number
    (``+7`` and 10 digits) as ``8`` and the 10 digits; every other number, and ``e164``, as sent."""
    if form == "national" and isinstance(value, str) and re.fullmatch(r"\+?7[0-9]{10}", value):
        return "8" + value[-10:]
    return value


def same_number(value: Any) -> Any:
    """One form of a stored number whatever its client's ``number_form`` (``8`` and 10 digits is ``+7`` and
    them); ``None`` when unbound."""
    if not isinstance(value, str) or not value:
        return None
    digits = value.lstrip("+")
    return "7" + digits[1:] if len(digits) == 11 and digits.startswith("8") else digits


def check_phone_value(key: str, value: Any) -> Any:
    """Check one known phone field; return the value to store or raise ``ValueError`` with the reason."""
    kind = PHONE_FIELDS[key][0]
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("expected a boolean (true or false)")
    elif kind == "int":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError("expected an integer or null")
    elif kind == "str":
        if value is not None and not isinstance(value, str):
            raise ValueError("expected a string or null")
    elif kind == "enum":
        if value not in ENUMS[key]:
            raise ValueError("expected one of %s" % ", ".join(ENUMS[key]))
    elif kind == "number":
        if value is None or value == "":
            return None
        if not isinstance(value, str) or not _NUMBER.match(value):
            raise ValueError("expected null, \"\" or a phone number of 5 to 15 digits with an optional leading +")
    elif kind == "geo":
        if value is not None and (not isinstance(value, str) or not _GEO.match(value)):
            raise ValueError("expected null, \"*\" or space-separated two-letter upper-case country codes such as "
                             "\"RU BY\"")
    elif kind == "password":
        if not isinstance(value, str) or not 6 <= len(value) <= 64:
            raise ValueError("expected a string of 6 to 64 characters")
    return value


def validate_phone_update(phone: Dict[str, Any], body: Any) -> Dict[str, Any]:
    """The changes a PUT body asks for, checked; raise ``ValueError`` naming the first bad key."""
    if not isinstance(body, dict):
        raise ValueError("Request body must be a JSON object")
    changes: Dict[str, Any] = {}
    for key, value in body.items():
        if key not in phone:
            raise ValueError("Unknown field '%s': the phone terminal has no such property" % key)
        try:
            changes[key] = check_phone_value(key, value) if key in PHONE_FIELDS else value
        except ValueError as exc:
            raise ValueError("Invalid value for '%s': %s" % (key, exc)) from None
    return changes


@dataclass
class User:
    """The API user an app acts as."""

    data: Dict[str, Any]
    blocked: bool = False

    @property
    def client_id(self) -> Optional[int]:
        return self.data["client_id"]

    @property
    def dealer_id(self) -> Optional[int]:
        return self.data["dealer_id"]

    @property
    def is_dealer(self) -> bool:
        """A dealer-level user: no client of its own, a dealer id."""
        return self.client_id is None and self.dealer_id is not None

    @property
    def read_only(self) -> bool:
        return self.data["access"] == "read_only"


@dataclass
class App:
    """A registered app and its credentials."""

    app_id: str
    app_secret: str
    type: str
    access_level: str
    user: User


@dataclass
class Extension:
    """One extension: its item fields and, for phone extensions, its PhoneProperties (password included)."""

    data: Dict[str, Any]
    phone: Optional[Dict[str, Any]]

    @property
    def id(self) -> int:
        return self.data["id"]

    def phone_reply(self) -> Dict[str, Any]:
        """The phone as GET/PUT return it: secrets left out."""
        assert self.phone is not None
        return {k: v for k, v in self.phone.items() if k not in SECRET_PHONE_KEYS}


@dataclass
class Client:
    """One client (tenant) with its extensions (by id) and bundles (main id -> member ids)."""

    data: Dict[str, Any]
    extensions: Dict[int, Extension] = field(default_factory=dict)
    bundles: Dict[int, List[int]] = field(default_factory=dict)
    quota: Dict[str, Any] = field(default_factory=dict)
    number_form: str = "e164"               # emulator-only: how this PBX stores external numbers

    @property
    def id(self) -> int:
        return self.data["id"]

    @property
    def dealer_id(self) -> Optional[int]:
        return self.data.get("dealer_id")

    def bundle_of(self, ext_id: int) -> Optional[List[int]]:
        return next((members for members in self.bundles.values() if ext_id in members), None)


@dataclass
class Dealer:
    data: Dict[str, Any]
    quota: Dict[str, Any] = field(default_factory=dict)


@dataclass
class World:
    """Everything the emulator serves."""

    defaults: Dict[str, Any]
    dealers: Dict[int, Dealer]
    clients: Dict[int, Client]
    apps: Dict[str, App]
    extensions: Dict[int, Extension]        # every extension, by id
    owners: Dict[int, Client]               # extension id -> its client

    @property
    def extension_types(self) -> Tuple[str, ...]:
        """The extension types this provider has (the variant may add some)."""
        return EXTENSION_TYPES + tuple(self.defaults["extra_extension_types"])

    @classmethod
    def load(cls, source: Union[Dict[str, Any], str, Path], variant: Spec = None) -> "World":
        """Build a world from a dict or a YAML/JSON file (the caller's dict is not modified).

        Provider keys, later ones winning: the built-in defaults, the world's ``variant``, its ``defaults``,
        then ``variant`` (the start option).
        """
        if isinstance(source, (str, Path)):
            raw = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
        else:
            raw = copy.deepcopy(source)
        if not isinstance(raw, dict):
            raise WorldError("a world is a mapping with apps, clients, dealers and defaults")
        unknown = set(raw) - {"defaults", "dealers", "apps", "clients", "variant"}
        if unknown:
            raise WorldError("unknown top-level world keys: %s" % ", ".join(sorted(unknown)))
        given = raw.get("defaults") or {}
        try:
            check({k: v for k, v in given.items() if k in PROVIDER_KEYS})
            defaults = dict(_DEFAULTS, **resolve(raw.get("variant")))
            defaults.update(given)
            defaults.update(resolve(variant))
        except ValueError as exc:
            raise WorldError(str(exc)) from None
        unknown_keys = set(defaults["missing_phone_keys"]) - set(PHONE_FIELDS)
        clash = set(defaults["extra_phone_keys"]) & set(PHONE_FIELDS)
        if unknown_keys or clash:
            raise WorldError("missing_phone_keys must name known phone keys and extra_phone_keys unknown ones: %s"
                             % ", ".join(sorted(unknown_keys | clash)))
        world = cls(defaults, {}, {}, {}, {}, {})
        for item in raw.get("dealers") or []:
            world._add_dealer(item)
        for item in raw.get("clients") or []:
            world._add_client(item)
        world._add_extra_type_extensions()
        for item in raw.get("apps") or []:
            world._add_app(item)
        return world

    def _add_dealer(self, item: Dict[str, Any]) -> None:
        item = dict(item)
        quota = item.pop("quota", None) or {}
        if "max_concurrent" in item:
            quota["max_concurrent"] = item.pop("max_concurrent")
        dealer_id = _int_id(item, "dealer")
        if dealer_id in self.dealers:
            raise WorldError("dealer %d is defined twice" % dealer_id)
        item.setdefault("name", "Dealer %d" % dealer_id)
        self.dealers[dealer_id] = Dealer(item, quota)

    def _add_client(self, item: Dict[str, Any]) -> None:
        item = dict(item)
        extensions = item.pop("extensions", None) or []
        bundles = item.pop("bundles", None) or []
        quota = item.pop("quota", None) or {}
        if "max_concurrent" in item:
            quota["max_concurrent"] = item.pop("max_concurrent")
        number_form = item.pop("number_form", "e164")
        client_id = _int_id(item, "client")
        if client_id in self.clients:
            raise WorldError("client %d is defined twice" % client_id)
        if number_form not in NUMBER_FORMS:
            raise WorldError("client %d: number_form must be one of %s" % (client_id, ", ".join(NUMBER_FORMS)))
        dealer_id = item.get("dealer_id")
        if dealer_id is not None and dealer_id not in self.dealers:
            raise WorldError("client %d: dealer %r is not in dealers" % (client_id, dealer_id))
        prefix = str(item.get("prefix", "%03d" % (client_id % 1000)))
        data = {"id": client_id, "name": "Client %d" % client_id, "prefix": prefix,
                "domain": "%s.pbx.emulator.local" % prefix, "domain_prefix": prefix, "extension_len": 3,
                "timezone": "Europe/Moscow", "create_date": "2024-01-01 00:00:00", "email": None,
                "dial_rule_id": None, "geo_list": None, "dealer_id": None}
        data.update(item, prefix=prefix)
        client = Client(data, quota=quota, number_form=number_form)
        self.clients[client_id] = client
        for ext in extensions:
            self._add_extension(client, ext)
        for bundle in bundles:
            main, members = bundle.get("main"), list(bundle.get("members") or [])
            if main not in members:
                members.insert(0, main)
            try:
                check_bundle(client, main, members)
            except ValueError as exc:
                raise WorldError("client %d bundle %r: %s" % (client_id, main, exc)) from None
            client.bundles[main] = members

    def add_extension(self, client_id: int, item: Dict[str, Any]) -> Extension:
        """A new extension of client ``client_id`` (``KeyError`` if unknown; ``WorldError`` for a bad item)."""
        self._add_extension(self.clients[client_id], item)
        return self.extensions[int(item["id"])]

    def _add_extension(self, client: Client, item: Dict[str, Any]) -> None:
        item = dict(item)
        phone_values = item.pop("phone", None) or {}
        ext_id = _int_id(item, "extension")
        if ext_id in self.extensions:
            raise WorldError("extension id %d is used twice" % ext_id)
        ext_type = item.get("type", "phone")
        if ext_type not in self.extension_types:
            raise WorldError("extension %d: type %r is not one of %s"
                             % (ext_id, ext_type, ", ".join(self.extension_types)))
        name = str(item.get("name", ext_id))
        if "*" not in name:
            name = "%s*%s" % (client.data["prefix"], name)
        data = dict(_EXTENSION_DEFAULTS, **item)
        data.update(id=ext_id, name=name, type=ext_type, client_id=client.id, domain=client.data["domain"])
        phone = None
        if ext_type == "phone":
            phone = {key: spec[1] for key, spec in PHONE_FIELDS.items()}
            for key, value in phone_values.items():
                try:
                    phone[key] = check_phone_value(key, value) if key in PHONE_FIELDS else value
                except ValueError as exc:
                    raise WorldError("extension %d phone %s: %s" % (ext_id, key, exc)) from None
            phone["external_number"] = stored_number(phone["external_number"], client.number_form)
            for key, value in self.defaults["extra_phone_keys"].items():
                phone.setdefault(key, value)
            for key in self.defaults["missing_phone_keys"]:
                phone.pop(key, None)
        elif phone_values:
            raise WorldError("extension %d is a %s: only phone extensions have a phone" % (ext_id, ext_type))
        ext = Extension(data, phone)
        client.extensions[ext_id] = ext
        self.extensions[ext_id] = ext
        self.owners[ext_id] = client

    def _add_extra_type_extensions(self) -> None:
        """Each client gets one extension of each of the variant's extra types (ids after every other id,
        short names after the client's highest numeric one), unless the world gave it one."""
        next_id = max(self.extensions, default=0) + 1
        for client in sorted(self.clients.values(), key=lambda c: c.id):
            have = {e.data["type"] for e in client.extensions.values()}
            shorts = [int(n) for n in (e.data["name"].split("*", 1)[-1] for e in client.extensions.values())
                      if n.isdigit()]
            short = max(shorts, default=99) + 1
            for ext_type in self.defaults["extra_extension_types"]:
                if ext_type not in have:
                    self._add_extension(client, {"id": next_id, "name": str(short), "type": ext_type,
                                                 "label": "%s %d" % (ext_type.title(), short)})
                    next_id, short = next_id + 1, short + 1

    def _add_app(self, item: Dict[str, Any]) -> None:
        app_id, secret = item.get("app_id"), item.get("app_secret")
        if not isinstance(app_id, str) or not isinstance(secret, str):
            raise WorldError("every app needs a string app_id and app_secret: %r" % (item,))
        if app_id in self.apps:
            raise WorldError("app %s is defined twice" % app_id)
        raw_user = dict(item.get("user") or {})
        blocked = bool(raw_user.pop("blocked", False))
        user = {key: None for key in _USER_FIELDS}
        user.update(access="full", admin=False, timezone="Europe/Moscow", extra_params=None)
        user.update(raw_user)
        if user["access"] not in ("full", "read_only"):
            raise WorldError("app %s: user access must be full or read_only" % app_id)
        if user["client_id"] is not None and user["client_id"] not in self.clients:
            raise WorldError("app %s: user client_id %r is not in clients" % (app_id, user["client_id"]))
        if user["dealer_id"] is not None and user["dealer_id"] not in self.dealers:
            raise WorldError("app %s: user dealer_id %r is not in dealers" % (app_id, user["dealer_id"]))
        if user["client_id"] is None and user["dealer_id"] is None:
            raise WorldError("app %s: the user needs a client_id or a dealer_id" % app_id)
        access_level = item.get("access_level", "all")
        if access_level not in ("all", "call_api"):
            raise WorldError("app %s: access_level must be all or call_api" % app_id)
        self.apps[app_id] = App(app_id, secret, item.get("type", "trusted"), access_level, User(user, blocked))

    def snapshot(self) -> Dict[str, Any]:
        """Clients (extensions with phones incl. password, bundles) and dealers as fresh JSON-ready data."""
        clients = []
        for client in sorted(self.clients.values(), key=lambda c: c.id):
            extensions = []
            for ext in sorted(client.extensions.values(), key=lambda e: e.id):
                entry = dict(ext.data)
                if ext.phone is not None:
                    entry["phone"] = dict(ext.phone)
                extensions.append(entry)
            bundles = [{"bundle_id": main, "bundle_list": list(members)}
                       for main, members in sorted(client.bundles.items())]
            clients.append(dict(client.data, extensions=extensions, bundles=bundles))
        dealers = [dict(self.dealers[key].data) for key in sorted(self.dealers)]
        return json.loads(json.dumps({"clients": clients, "dealers": dealers}))


def check_bundle(client: Client, main: Any, members: List[Any]) -> None:
    """A bundle is a main phone extension plus members, all phones of this client, none in another bundle."""
    for ext_id in members:
        ext = client.extensions.get(ext_id) if isinstance(ext_id, int) and not isinstance(ext_id, bool) else None
        if ext is None:
            raise ValueError("extension %r is not an extension of client %d" % (ext_id, client.id))
        if ext.data["type"] != "phone":
            raise ValueError("extension %d is a %s, only phone extensions form bundles" % (ext_id, ext.data["type"]))
        other = next((m for m, ids in client.bundles.items() if ext_id in ids and m != main), None)
        if other is not None:
            raise ValueError("extension %d already belongs to bundle %d" % (ext_id, other))
    if len(set(members)) != len(members):
        raise ValueError("an extension is listed twice")


def _int_id(item: Dict[str, Any], what: str) -> int:
    value = item.get("id")
    if isinstance(value, bool) or not isinstance(value, int):
        raise WorldError("every %s needs an integer id: %r" % (what, item))
    return value
