# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Telphin API as the collection uses it: the only place an endpoint path is written.

Contract:

- ``TelphinApi(client)`` wraps one ``_client.ApiClient`` (token, retries, quota, counting) and has
  one method per endpoint: ``user``, ``tenant`` (``GET /client/{id}/``), ``dealer_clients``,
  ``extensions``, ``phone``, ``put_phone``, ``bundles`` (the paths go after ``_settings.API_PREFIX``).
- Each method checks the reply's shape and returns plain data, or raises a ``_errors.TelphinError``
  (``ProtocolError`` for a reply of the wrong shape). Lists are read with ``pages``, the one paged
  reader: every page once, in order.
- ``*_path`` functions give the paths for messages ("GET /client/1001/extension/").
- ``TelphinApi`` holds no state of its own: one per client, or a new one per call, is the same. The page size
  a provider accepted is the client's (``ApiClient.per_page``): learnt once per run, for every list after.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError, ProtocolError, TelphinError
from ansible_collections.telphin.pbx.plugins.module_utils._resolve import is_id

DEALER_CLIENTS_PATH = "/dealer/{dealer_id}/client/"   # not documented publicly: the inventory lets users change it
PER_PAGE = 500                  # rows asked for per page of a list, first
SMALLER_PAGE_SIZES = (200, 30)  # then, while a provider refuses the size (400/422 on page 1): the sizes public clients send
REFUSED_PAGE_SIZE = (400, 422)
MAX_LIST_ROWS = 50000           # one list longer than this is refused: a server that never ends a list
MAX_LIST_PAGES = 2000           # the same for pages (a server sending one row per page)
MAX_LIST_CHARS = 64 << 20       # the same for the decoded size of all its pages (each page is bounded by the transport)
NOT_SUPPORTED = (400, 404, 405, 501)    # the bundle listing's answers that mean "this provider lists none"

# Extension types: the four every source shows and the conference type the vendor's pages mention (its name on the
# wire is not documented). A list read never depends on them: a provider may have more, and a filter may name any.
KNOWN_EXTENSION_TYPES = ("phone", "queue", "ivr", "fax", "conference")
_EXTENSION_TYPE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")

Item = Dict[str, Any]
OnPage = Callable[[int, int, int], None]


def client_path(client_id: Any) -> str:
    return "/client/%s/" % client_id


def extensions_path(client_id: Any) -> str:
    return "/client/%s/extension/" % client_id


def phone_path(extension_id: int) -> str:
    return "/extension/%d/phone/" % extension_id


def bundles_path(client_id: Any) -> str:
    return "/client/%s/extensions_bundle/" % client_id


def user_path() -> str:
    return "/user/"


def dealer_clients_path(dealer_id: Any, template: str = DEALER_CLIENTS_PATH) -> str:
    """``template`` with ``{dealer_id}`` filled in; ``InputError`` for anything but an API path."""
    try:
        path = str(template).format(dealer_id=dealer_id)
    except (KeyError, IndexError, ValueError) as exc:
        raise InputError("dealer_clients_path %r: only {dealer_id} may be used in it (%s)" % (template, exc)) from None
    if not path.startswith("/") or "?" in path:
        raise InputError("dealer_clients_path must be an API path such as %s" % DEALER_CLIENTS_PATH)
    return path


def _has_id(item: Any) -> bool:
    return isinstance(item, dict) and "id" in item


def _is_id(value: Any) -> bool:
    """An id the server sent: ``is_id``, of at most 12 digits."""
    return is_id(value) and len(str(value)) <= 12


def _numeric_id(item: Any) -> bool:
    return isinstance(item, dict) and _is_id(item.get("id"))


def _tenant(item: Any, where: str) -> Item:
    if not _numeric_id(item):
        raise ProtocolError("%s: expected client objects with a numeric id, got %s"
                            % (where, type(item).__name__ if not isinstance(item, dict) else "an object without one"))
    return dict(item, id=int(item["id"]))


class TelphinApi:
    """One method per endpoint the collection uses; see the module docstring."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def pages(self, path: str, expected: str, params: Optional[Mapping[str, Any]] = None,
              valid: Callable[[Any], bool] = _has_id, on_page: Optional[OnPage] = None) -> List[Item]:
        """Every item of a paged list, each page read once; ``expected`` is what a bad reply is told it lacks;
        ``on_page(page, per_page asked, rows)`` is told of each page read (``api_info`` reports the paging).

        Page size: ``per_page`` is ``PER_PAGE``, or the size this client's provider accepted earlier in the run
        (``client.per_page``). A first page refused with 400 or 422 is asked again with the next of
        ``SMALLER_PAGE_SIZES``; a size that then works is kept for the rest of the run (if none works, the last
        refusal stands and nothing is kept: the refusal was not about the size).

        The one termination rule (a provider may cap ``per_page`` below the size asked, or ignore it): the first
        page's length is the page size, and the list ends at an empty page or one shorter than that. An empty
        first page ends it at once; any other first page costs one more request, so a list shorter than the size
        asked costs two (one cannot tell "the whole list" from "a page capped at its length").
        A later page longer than the first one shows that the first was not a full page (cut, or the list grew
        while it was read): a ``ProtocolError``, never a silent cut. Rows repeated from an earlier page (an
        item created while paging shifts one onto the next) are dropped. A page with nothing new means the
        server ignores ``page``: a page 2 equal to a first page that was not exactly the size asked (the
        server ignores ``per_page`` too, so it does not page this list) means page 1 was the whole list;
        otherwise rows may be missing: a ``ProtocolError``, not an endless loop or a silent cut. A list of more
        than ``MAX_LIST_ROWS`` rows or ``MAX_LIST_PAGES`` pages (a server that keeps sending full pages of new
        rows), or of more than ``MAX_LIST_CHARS`` decoded characters in all (a server sending huge rows), is a
        ``ProtocolError`` too.
        """
        chars_before = self.client.reply_chars
        per_page, batch = self._first_page(path, params)
        items: List[Item] = []
        seen = set()
        first_ids: List[str] = []
        page, size = 1, 0
        while True:
            if not isinstance(batch, list) or not all(valid(i) for i in batch):
                raise ProtocolError("GET %s page %d: %s" % (path, page, expected))
            ids = [str(i["id"]) for i in batch]
            if on_page is not None:
                on_page(page, per_page, len(batch))
            if page == 1:
                size, first_ids = len(batch), ids
            elif batch and size != per_page and page == 2 and ids == first_ids:
                return items            # the server does not page this list: page 1 was all of it
            fresh = [i for i, key in zip(batch, ids) if key not in seen]
            if batch and not fresh:
                raise ProtocolError("GET %s page %d repeats earlier pages: the server ignores paging" % (path, page))
            if len(batch) > size:
                raise ProtocolError("GET %s page %d has %d rows, page 1 had %d: the list changed or a page was cut "
                                    "while it was read; run again" % (path, page, len(batch), size))
            seen.update(ids)
            items.extend(fresh)
            if not batch or len(batch) < size:
                return items
            if self.client.reply_chars - chars_before > MAX_LIST_CHARS:
                raise ProtocolError("GET %s: %d pages of this list came to more than %d MiB; stopped (a list of "
                                    "phones is a few MB at most)" % (path, page, MAX_LIST_CHARS >> 20))
            if len(items) > MAX_LIST_ROWS or page > MAX_LIST_PAGES:
                raise ProtocolError("GET %s: the list does not end: %d full pages of new rows read, more than one list "
                                    "may have (%d rows or %d pages); stopped"
                                    % (path, page, MAX_LIST_ROWS, MAX_LIST_PAGES))
            page += 1
            batch = self.client.get(path, dict(params or {}, page=page, per_page=per_page))

    def _first_page(self, path: str, params: Optional[Mapping[str, Any]]) -> Tuple[int, Any]:
        """(the page size that worked, page 1 of ``path``): see ``pages``."""
        known = self.client.per_page
        sizes = [known] if known else [PER_PAGE] + [n for n in SMALLER_PAGE_SIZES if n < PER_PAGE]
        for n, size in enumerate(sizes):
            try:
                batch = self.client.get(path, dict(params or {}, page=1, per_page=size))
            except TelphinError as exc:
                if exc.http_status not in REFUSED_PAGE_SIZE or n == len(sizes) - 1:
                    raise
                continue
            self.client.per_page = size
            return size, batch
        raise AssertionError("unreachable: the last size's error is raised")  # pragma: no cover

    def user(self) -> Item:
        """``GET /user/``: the app's user (``client_id``, ``dealer_id``, ``access`` ...)."""
        data = self.client.get(user_path())
        if not isinstance(data, dict):
            raise ProtocolError("GET %s: expected a JSON object with the app's user" % user_path())
        return data

    def tenant(self, client_id: Any) -> Item:
        """``GET /client/{id}/``: one tenant, its ``id`` an int."""
        return _tenant(self.client.get(client_path(client_id)), "GET %s" % client_path(client_id))

    def dealer_clients(self, dealer_id: Any, template: str = DEALER_CLIENTS_PATH) -> List[Item]:
        """Every client of a dealer (paged), sorted by id, each ``id`` an int."""
        path = dealer_clients_path(dealer_id, template)
        items = self.pages(path, "expected a JSON array of clients with a numeric id", valid=_numeric_id)
        return sorted((_tenant(i, "GET %s" % path) for i in items), key=lambda c: c["id"])

    def extensions(self, client_id: Any, ext_type: Optional[str] = None, on_page: Optional[OnPage] = None) -> List[Item]:
        """Every extension of a tenant (paged), optionally of one ``type`` (any type name: the provider decides;
        ``InputError`` for one that is not a lower-case word)."""
        if ext_type is not None and not _EXTENSION_TYPE.match(str(ext_type)):
            raise InputError("extension type %r is not a type name such as %s (lower-case letters, digits, _ and -)"
                             % (str(ext_type)[:40], ", ".join(KNOWN_EXTENSION_TYPES)))
        return self.pages(extensions_path(client_id), "expected a JSON array of extensions with a numeric id",
                          {"type": ext_type} if ext_type else None, valid=_numeric_id, on_page=on_page)

    def phone(self, extension_id: int) -> Item:
        """``GET /extension/{id}/phone/``: the phone properties, every key the API returns."""
        data = self.client.get(phone_path(extension_id))
        if not isinstance(data, dict):
            raise ProtocolError("GET %s: expected a JSON object with the phone properties" % phone_path(extension_id))
        return data

    def put_phone(self, extension_id: int, patch: Mapping[str, Any]) -> Optional[Item]:
        """``PUT /extension/{id}/phone/`` with ``patch``; the reply when it is a JSON object, else None."""
        reply = self.client.put(phone_path(extension_id), patch)
        return reply if isinstance(reply, dict) else None

    def bundles(self, client_id: Any) -> Optional[List[List[int]]]:
        """Member id lists of the tenant's bundles; None when this API lists no bundles (no public source
        documents the route: any "not supported" answer, ``NOT_SUPPORTED``, means that)."""
        try:
            data = self.client.get(bundles_path(client_id))
        except TelphinError as exc:
            if exc.http_status in NOT_SUPPORTED:
                return None
            raise
        path = bundles_path(client_id)
        if not isinstance(data, list):
            raise ProtocolError("GET %s: expected a JSON array of bundles" % path)
        bundles = []
        for bundle in data:
            if not isinstance(bundle, dict):
                continue
            members = bundle.get("bundle_list") or []
            # the server's values are never quoted: only whether they are extension ids
            if not isinstance(members, list) or not all(_is_id(m) for m in members):
                raise ProtocolError("GET %s: a bundle_list is not a list of numeric extension ids" % path)
            bundles.append([int(m) for m in members])
        return bundles
