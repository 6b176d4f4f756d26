# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``telphin.pbx.api_info``: what one provider and tenant do, found with a few reads and never a write.

Requests, in this order (the module's documentation states them; the unit tests script each one):
the token (none with a given ``access_token``), ``GET /client/{id}/``, the extension list
(``_api.TelphinApi.pages``: 1 request for an empty list, 2 for a list shorter than a page, otherwise
one per full page and one more; one or two refused first pages, once, on a provider that refuses 500
rows, or 500 and 200), the bundle list (not with ``bundle_listing: false``) and one phone (the phone
extension with the lowest id; none when the tenant has none). Retries of transient failures and token
renewals add theirs.

Nothing a server sent is quoted: names (phone keys, extension types) only when they are plain words,
numbers, and the server's ``Date`` as the probe writes it. The token is never kept.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from ansible_collections.telphin.pbx.plugins.module_utils._api import (
    REFUSED_PAGE_SIZE, TelphinApi, bundles_path, extensions_path)
from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._phone import FIELDS, secret_values
from ansible_collections.telphin.pbx.plugins.module_utils._replies import Response
from ansible_collections.telphin.pbx.plugins.module_utils._resolve import check_client_id
from ansible_collections.telphin.pbx.plugins.module_utils._settings import API_PREFIX
from ansible_collections.telphin.pbx.plugins.module_utils._tokens import token_lifetime
from ansible_collections.telphin.pbx.plugins.module_utils._transport import Transport
from ansible_collections.telphin.pbx.plugins.module_utils._version import COLLECTION_VERSION

SHORT_TOKEN = 300       # a token lifetime below this many seconds is a finding: a longer run renews its token
CLOCK_SKEW = 60         # a server clock further off than this many seconds is a finding
MAX_NAMES = 50          # names (phone keys, extension types) reported at most; the rest are counted
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")      # the whole text: fullmatch (a "$" lets "x\n" pass)
OTHER = "(other)"       # extension types and keys whose names are not plain words

# The findings, by code: docs/troubleshooting.rst says what to do about each.
FINDINGS = ("short_token", "no_token_lifetime", "no_rate_limit_headers", "page_size_refused", "page_cap",
            "per_page_ignored", "no_bundle_listing", "unmanaged_phone_keys", "missing_phone_keys", "clock_skew")


@dataclass
class Exchange:
    """One request as the probe saw it: no body, no header value but the figures below."""

    method: str
    path: str                       # after /api/ver1.0, or "token"
    params: Dict[str, Any]
    status: int
    rate_limit: bool                # the reply carried X-RateLimit-* headers
    server_time: Optional[float]    # the reply's Date, as a timestamp
    local_time: float               # the controller's clock when the reply was in


class Recorder(Transport):
    """The client's transport, seen through: what each exchange shows of the provider. It keeps no body and no
    token; of the token endpoint's reply only the lifetime (``expires_in``)."""

    def __init__(self, inner: Transport, token_url: str, clock: Callable[[], float] = time.time) -> None:
        self.inner = inner
        self.token_url = token_url
        self._clock = clock
        self.exchanges: List[Exchange] = []
        self.token_lifetime: Optional[int] = None

    def send(self, method: str, url: str, *, headers: Mapping[str, str], params: Optional[Mapping[str, Any]] = None,
             json_body: Any = None, form: Optional[Mapping[str, str]] = None, timeout: float = 30) -> Response:
        resp = self.inner.send(method, url, headers=headers, params=params, json_body=json_body, form=form,
                               timeout=timeout)
        is_token = url == self.token_url
        if is_token and resp.status == 200:
            self.token_lifetime = token_lifetime(resp.json_object())
        rate_limit = any(resp.headers.get("x-ratelimit-" + n) is not None for n in ("limit", "remaining"))
        self.exchanges.append(Exchange(method, "token" if is_token else _api_path(url), dict(params or {}),
                                       resp.status, rate_limit, server_time(resp.headers.get("date")), self._clock()))
        return resp

    def api(self) -> List[Exchange]:
        return [e for e in self.exchanges if e.path != "token"]


def _api_path(url: str) -> str:
    path = urlsplit(url).path
    return path[path.find(API_PREFIX) + len(API_PREFIX):] if API_PREFIX in path else path


def server_time(value: Optional[str]) -> Optional[float]:
    """An HTTP ``Date`` as a timestamp; None when absent or not a date."""
    if not value or len(value) > 64:
        return None
    try:
        stamp = parsedate_to_datetime(value)
        return stamp.timestamp() if stamp.tzinfo is not None else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _iso(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


def _names(values: List[Any]) -> List[str]:
    """Plain names of ``values`` (at most ``MAX_NAMES``), others as ``OTHER``: never a server's free text."""
    plain = sorted({str(v) for v in values if _plain(v)})
    return plain[:MAX_NAMES] + ([OTHER] if len(plain) > MAX_NAMES or not all(map(_plain, values)) else [])


def _plain(value: Any) -> bool:
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


# -- one section each --------------------------------------------------------------------------------------------
def authentication(client: ApiClient, recorder: Recorder) -> Dict[str, Any]:
    settings = client.settings
    if settings.access_token and not client.tokens_issued:
        return {"credential": "access_token", "token_url": None, "token_lifetime": None, "tokens_issued": 0,
                "note": "the access_token given was accepted; the API states no lifetime for it, and %s"
                        % ("app_id/app_secret renew it when it is refused" if settings.app_id else
                           "without app_id/app_secret nothing renews it once it expires")}
    parts = urlsplit(settings.token_url or "")
    url = "%s://%s%s" % (parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path)
    life = recorder.token_lifetime
    note = "app_id/app_secret: tokens from %s" % url
    if settings.access_token:
        note += " (the access_token given was refused)"
    note += ", valid %d s" % life if life else ", which states no lifetime (expires_in)"
    if life and life < SHORT_TOKEN:
        note += ("; a run longer than that has a request refused (HTTP 401) and repeated with a new token, one "
                 "token request more each time")
    return {"credential": "app_id/app_secret", "token_url": url, "token_lifetime": life,
            "tokens_issued": client.tokens_issued, "note": note}


def quota(client: ApiClient, recorder: Recorder) -> Dict[str, Any]:
    reserve = client.settings.quota_reserve
    figures = client.meter.as_dict()
    if not any(e.rate_limit for e in recorder.api()):
        return dict(figures, headers=False, quota_reserve=reserve,
                    note="the provider sends no X-RateLimit-* headers: quota_reserve has no figure to act on (it "
                         "cannot keep a share of the quota for live integrations) and results show no quota; a run "
                         "stops only when the provider refuses a request for the quota (HTTP 429)")
    return dict(figures, headers=True, quota_reserve=reserve,
                note="%s of %s requests left in this window; quota_reserve (%d) stops a run before it takes the "
                     "remaining count below it" % (figures["remaining"], figures["limit"], reserve))


def tenant(client_id: int, items: List[Dict[str, Any]]) -> Dict[str, Any]:
    counts = Counter(str(i.get("type")) if _plain(i.get("type")) else OTHER for i in items)
    types = dict(counts.most_common(MAX_NAMES))
    if len(counts) > MAX_NAMES:
        types[OTHER] = types.get(OTHER, 0) + sum(n for t, n in counts.most_common()[MAX_NAMES:])
    return {"client_id": client_id, "extensions": len(items), "by_type": types,
            "note": "client %d: %d extension(s)%s" % (client_id, len(items), "".join(
                ", %d %s" % (n, t) for t, n in sorted(types.items())))}


def paging(client: ApiClient, recorder: Recorder, client_id: int, pages: List[Tuple[int, int, int]],
           rows: int) -> Dict[str, Any]:
    path = extensions_path(client_id)
    refused = [e.params.get("per_page") for e in recorder.api()
               if e.path == path and e.status in REFUSED_PAGE_SIZE and e.params.get("page") == 1]
    size = client.per_page
    first = pages[0][2] if pages else 0
    out: Dict[str, Any] = {"per_page": size, "refused": refused, "first_page_rows": first, "rows": rows,
                           "pages": len(pages), "honoured": None, "cap": None}
    if refused:
        step = ("the provider refused per_page=%s (HTTP %s); %d worked: each run steps down once, %d request(s) more"
                % ("/".join(map(str, refused)), "/".join(sorted({str(e.status) for e in recorder.api()
                                                                 if e.path == path and e.status in REFUSED_PAGE_SIZE})),
                   size or 0, len(refused)))
    else:
        step = "per_page=%s accepted" % size
    if not rows:
        out["note"] = step + "; the tenant has no extension: whether pages are capped is not provable here"
    elif first > (size or 0):
        out["honoured"] = False
        out["note"] = step + "; the server sent %d rows for %s asked: it ignores per_page (lists are still read to " \
                             "the end)" % (first, size)
    elif first == size:
        out["honoured"] = True
        out["note"] = step + "; full pages of %d rows served: per_page is honoured" % first
    elif rows > first:
        out["honoured"], out["cap"] = False, first
        out["note"] = step + "; pages are capped at %d rows (%d asked) while %d rows exist: a list costs one " \
                             "request per %d rows and one more, and nothing is lost" % (first, size, rows, first)
    else:
        out["note"] = step + "; the tenant's %d extension(s) fit one page: a cap of %d rows or more would not show, " \
                             "so whether pages of %s are served is not provable with this tenant" % (rows, rows, size)
    return out


def bundles(found: Optional[List[List[int]]], asked: bool, recorder: Recorder, client_id: int) -> Dict[str, Any]:
    if not asked:
        return {"asked": False, "listed": None, "count": None,
                "note": "not asked (bundle_listing is false): bundle conflicts of synchronised keys are looked for "
                        "after the writes, by reading back each phone whose synchronised keys were written"}
    if found is None:
        path = bundles_path(client_id)
        status = next((e.status for e in reversed(recorder.api()) if e.path == path), None)
        return {"asked": True, "listed": False, "count": None, "status": status,
                "note": "not listed (GET %s answered HTTP %s): bundle conflicts of synchronised keys are found only "
                        "after the writes (a read-back per phone written); say bundle_listing: false "
                        "(telphin_bundle_listing in the role) to skip the request and its warning" % (path, status)}
    return {"asked": True, "listed": True, "count": len(found),
            "note": "listed (%d bundle(s)): a bundle conflict is refused before any write" % len(found)}


def phone_keys(extension_id: Optional[int], phone: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    if phone is None:
        return {"extension_id": None, "unmanaged_keys": [], "missing_keys": [],
                "note": "the tenant has no phone extension: the phone keys were not read"}
    readable = [name for name, f in FIELDS.items() if not f.write_only]
    unmanaged = _names([k for k in phone if k not in FIELDS])
    missing = sorted(k for k in readable if k not in phone)
    note = "phone of extension %d: %s" % (extension_id or 0, "every managed key returned, none unknown"
                                          if not (unmanaged or missing) else "")
    if unmanaged:
        note += "keys the collection does not manage (%s): never sent nor changed" % ", ".join(unmanaged)
    if missing:
        note += "%smanaged keys not returned (%s): a binding that sets one fails its item on this provider" % (
            "; " if unmanaged else "", ", ".join(missing))
    return {"extension_id": extension_id, "unmanaged_keys": unmanaged, "missing_keys": missing, "note": note}


def clock(recorder: Recorder) -> Dict[str, Any]:
    dated = [e for e in recorder.exchanges if e.server_time is not None]
    if not dated:
        return {"server_date": None, "controller_date": None, "skew_seconds": None,
                "note": "the server sent no Date header: its clock is not known"}
    last = dated[-1]
    skew = int(round(last.server_time - last.local_time))    # type: ignore[operator]
    if abs(skew) <= 1:
        where = "in step with the controller's (Date has whole seconds)"
    else:
        where = "%d s %s the controller's" % (abs(skew), "ahead of" if skew > 0 else "behind")
    return {"server_date": _iso(last.server_time), "controller_date": _iso(last.local_time),   # type: ignore[arg-type]
            "skew_seconds": skew, "note": "the server's clock is " + where}


def findings(info: Mapping[str, Any]) -> List[str]:
    """The codes of ``FINDINGS`` that hold for ``info``."""
    auth, paged, phone = info["authentication"], info["paging"], info["phone"]
    found = {
        "short_token": bool(auth["token_lifetime"] and auth["token_lifetime"] < SHORT_TOKEN),
        "no_token_lifetime": auth["credential"] == "app_id/app_secret" and not auth["token_lifetime"],
        "no_rate_limit_headers": not info["quota"]["headers"],
        "page_size_refused": bool(paged["refused"]),
        "page_cap": paged["cap"] is not None,
        "per_page_ignored": paged["honoured"] is False and paged["cap"] is None,
        "no_bundle_listing": info["bundles"]["listed"] is False,
        "unmanaged_phone_keys": bool(phone["unmanaged_keys"]),
        "missing_phone_keys": bool(phone["missing_keys"]),
        "clock_skew": abs(info["clock"]["skew_seconds"] or 0) > CLOCK_SKEW,
    }
    return [code for code in FINDINGS if found[code]]


def one_line(info: Mapping[str, Any]) -> str:
    """The tenant in one line, for ``check_api``: no secret, nothing a server wrote but plain names."""
    auth, paged, bund, phone, quota_ = (info[k] for k in ("authentication", "paging", "bundles", "phone", "quota"))
    token = "token %s s" % auth["token_lifetime"] if auth["token_lifetime"] else "token lifetime unknown"
    pages = "per_page %s %s" % (paged["per_page"], {True: "honoured", False: "capped at %s" % paged["cap"]
                                                    if paged["cap"] else "ignored", None: "(cap not provable)"}[
        paged["honoured"]])
    listed = {True: "bundles listed", False: "bundles not listed", None: "bundle listing skipped"}[bund["listed"]]
    keys = "phone keys +%d -%d" % (len(phone["unmanaged_keys"]), len(phone["missing_keys"])) \
        if phone["extension_id"] else "no phone read"
    skew = "clock %+d s" % info["clock"]["skew_seconds"] if info["clock"]["skew_seconds"] is not None else "no Date"
    return "client %s: %s, %s | %s | %s | %s | %s | %s | %d requests, no write | findings: %s" % (
        info["tenant"]["client_id"], auth["credential"], token,
        "quota %s/%s left" % (quota_["remaining"], quota_["limit"]) if quota_["headers"] else "no rate-limit headers",
        pages, listed, keys, skew, info["requests"], ", ".join(info["findings"]) or "none")


# -- the module ---------------------------------------------------------------------------------------------------
def run_api_info(client: ApiClient, params: Mapping[str, Any], on_secret: Callable[[str], None]) -> Dict[str, Any]:
    """``telphin.pbx.api_info``: the probe's requests (see the module docstring), then what they showed."""
    client_id = check_client_id(params.get("client_id"))
    asked = params.get("bundle_listing") is not False
    recorder = Recorder(client.transport, client.settings.token_url or "")
    client.transport = recorder
    api = TelphinApi(client)
    tid = api.tenant(client_id)["id"]
    pages: List[Tuple[int, int, int]] = []
    items = api.extensions(tid, on_page=lambda page, size, rows: pages.append((page, size, rows)))
    found = api.bundles(tid) if asked else None
    phones = sorted(int(i["id"]) for i in items if i.get("type") == "phone")
    phone = api.phone(phones[0]) if phones else None
    for value in secret_values(phone or {}):
        on_secret(value)
    info: Dict[str, Any] = {
        "collection_version": COLLECTION_VERSION,
        "authentication": authentication(client, recorder),
        "quota": quota(client, recorder),
        "tenant": tenant(tid, items),
        "paging": paging(client, recorder, tid, pages, len(items)),
        "bundles": bundles(found, asked, recorder, tid),
        "phone": phone_keys(phones[0] if phones else None, phone),
        "clock": clock(recorder),
        "requests": len(recorder.exchanges),
    }
    info["findings"] = findings(info)
    summary = ["telphin.pbx %s: %d request(s), no write; findings: %s" % (
        COLLECTION_VERSION, info["requests"], ", ".join(info["findings"]) or "none")]
    summary += ["%s: %s" % (key, info[key]["note"])
                for key in ("authentication", "quota", "tenant", "paging", "bundles", "phone", "clock")]
    return {"changed": False, "api_info": info, "summary": summary, "line": one_line(info)}
