"""Provider variants: how one white-label provider's API differs from another's, as world ``defaults`` keys.

Every behaviour the public sources leave open and that a provider may choose differently is a key of
``PROVIDER_KEYS`` (with the emulator's own choice as its default). A *variant* is a named set of such
keys (``VARIANTS``); a world file names the ones it wants under ``variant:`` and ``Emulator(...,
variant=...)`` / ``--variant`` applies more at start. ``resolve`` turns a name, a dict of keys or a list of
either into one dict of keys, checked. See "Provider variants" in docs/emulator.md.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Union

BASE_EXTENSION_TYPES = ("phone", "queue", "ivr", "fax")

# key -> default: the provider behaviours a variant may change.
PROVIDER_KEYS: Dict[str, Any] = {
    "token_ttl": 3600,               # expires_in of new tokens, seconds; the token is refused after that
    "token_path": "/oauth/token",    # the one path the token endpoint answers on
    "per_page_default": 50,          # extension list page size when per_page is not given
    "per_page_max": 500,             # the largest page served
    "per_page_above_max": "clamp",   # a larger per_page: "clamp" (silently serve per_page_max rows) or 400 / 422
    "bundle_listing": True,          # GET /client/{id}/extensions_bundle/: true serves it; false = 404; or a status
    "rate_limit_headers": True,      # false: no X-RateLimit-* header on any reply
    "extra_extension_types": [],     # extension types beyond phone/queue/ivr/fax; each client gets one of each
    "extra_phone_keys": {},          # unknown (vendor) keys, with their value, on every phone that lacks them
    "missing_phone_keys": [],        # managed keys this provider's phones lack (not returned, a PUT of one is 400)
    "endless_pages": False,          # the extension list never ends (every page full of new ids): true, or client ids
    "gzip": True,                    # compress a reply when the request accepts gzip
    "number_bound_elsewhere": "accept",    # a PUT binding a number another client's phone holds: accept, or 409
}

VARIANTS: Dict[str, Dict[str, Any]] = {
    "reference": {},
    "page-cap-refuses": {"per_page_max": 200, "per_page_above_max": 400},
    "page-cap-422": {"per_page_max": 30, "per_page_above_max": 422},
    "page-cap-clamps": {"per_page_max": 30},
    "bundle-listing-400": {"bundle_listing": 400},
    "bundle-listing-405": {"bundle_listing": 405},
    "bundle-listing-501": {"bundle_listing": 501},
    "no-bundle-listing": {"bundle_listing": 404},
    "no-rate-limit-headers": {"rate_limit_headers": False},
    "conference-extensions": {"extra_extension_types": ["conference"]},
    "short-token": {"token_ttl": 1},
    "extra-phone-key": {"extra_phone_keys": {"sip_transport": "udp"}},
    "missing-phone-key": {"missing_phone_keys": ["incoming_limit"]},
    "endless-pages": {"endless_pages": True},
    "no-gzip": {"gzip": False},
    "number-bound-elsewhere-refused": {"number_bound_elsewhere": 409},
}

NOT_SUPPORTED = (400, 404, 405, 501)        # the statuses bundle_listing may answer instead of the list
Spec = Union[None, str, Mapping[str, Any], List[Any]]


def resolve(spec: Spec) -> Dict[str, Any]:
    """The provider keys of ``spec``: a variant name, a dict of keys, or a list of either (later ones win).

    Raises ``ValueError`` naming an unknown variant, an unknown key or a bad value.
    """
    if spec is None:
        return {}
    if isinstance(spec, str):
        if spec not in VARIANTS:
            raise ValueError("unknown provider variant %r (known: %s)" % (spec, ", ".join(sorted(VARIANTS))))
        return dict(VARIANTS[spec])
    if isinstance(spec, list):
        merged: Dict[str, Any] = {}
        for part in spec:
            merged.update(resolve(part))
        return merged
    if isinstance(spec, Mapping):
        check(spec)
        return dict(spec)
    raise ValueError("a provider variant is a name, a mapping of provider keys or a list of them: %r" % (spec,))


def check(keys: Mapping[str, Any]) -> None:
    """``ValueError`` for a provider key that is unknown or has a value of the wrong kind."""
    for key, value in keys.items():
        if key not in PROVIDER_KEYS:
            raise ValueError("unknown provider key %r (known: %s)" % (key, ", ".join(sorted(PROVIDER_KEYS))))
        problem = _problem(key, value)
        if problem:
            raise ValueError("provider key %s: %s, got %r" % (key, problem, value))


def _problem(key: str, value: Any) -> str:
    positive = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    kinds: Dict[str, Any] = {
        "token_ttl": (positive, "expected a positive number of seconds"),
        "token_path": (isinstance(value, str) and value.startswith("/"), "expected a path such as /oauth/token"),
        "per_page_default": (positive and isinstance(value, int), "expected a positive integer"),
        "per_page_max": (positive and isinstance(value, int), "expected a positive integer"),
        "per_page_above_max": (value == "clamp" or value in (400, 422), "expected clamp, 400 or 422"),
        "bundle_listing": (isinstance(value, bool) or value in NOT_SUPPORTED,
                           "expected true, false or one of %s" % ", ".join(map(str, NOT_SUPPORTED))),
        "rate_limit_headers": (isinstance(value, bool), "expected true or false"),
        "extra_extension_types": (isinstance(value, list) and all(
            isinstance(t, str) and t and t not in BASE_EXTENSION_TYPES for t in value),
            "expected a list of type names other than %s" % ", ".join(BASE_EXTENSION_TYPES)),
        "extra_phone_keys": (isinstance(value, Mapping) and all(isinstance(k, str) for k in value),
                             "expected a mapping of key names to values"),
        "missing_phone_keys": (isinstance(value, list) and all(isinstance(k, str) for k in value),
                               "expected a list of phone key names"),
        "endless_pages": (isinstance(value, bool) or (isinstance(value, list) and all(
            isinstance(i, int) and not isinstance(i, bool) for i in value)), "expected true, false or client ids"),
        "gzip": (isinstance(value, bool), "expected true or false"),
        "number_bound_elsewhere": (value in ("accept", 409), "expected accept or 409"),
    }
    ok, message = kinds[key]
    return "" if ok else message
