"""The API engine: tokens, quotas, faults, routing and the provider's behaviour, behind one lock.

``Engine.serve`` takes a parsed ``Request`` and returns the ``Reply`` to send, or None for "close
the socket without a response"; it knows nothing about sockets. The control methods (``state``, ``set_faults``, ...) are
what ``Emulator`` and the ``/_admin/`` endpoints both call.
"""

from __future__ import annotations

import functools
import gzip
import hmac
import json
import random
import re
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Pattern, Tuple, Union

from .faults import PROCESSING_ACTIONS, FaultPlan, FaultRule
from .quota import Bucket
from .variants import NOT_SUPPORTED
from .world import (SYNC_KEYS, App, Client, Dealer, Extension, User, World, WorldError, check_bundle,
                    same_number, stored_number, validate_phone_update)

API = "/api/ver1.0"
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
ENDLESS_FIRST_ID = 10 ** 9      # the ids of the endless_pages variant's invented rows start here
BucketKey = Union[int, str]
_ALNUM = string.ascii_letters + string.digits
_MASKED = "********"
_BOMB_SIZE = 64 << 20      # decoded bytes of a ``gzip_bomb`` reply (about 64 KB on the wire)


@functools.lru_cache(maxsize=8)
def _gzip_bomb(prefix: bytes) -> bytes:
    """``prefix`` then ``_BOMB_SIZE`` zero bytes, gzip-compressed (a reply that decodes to far more than it weighs)."""
    return gzip.compress(prefix + b"\0" * _BOMB_SIZE, compresslevel=9, mtime=0)


_HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n"


@dataclass
class Request:
    """One API request as the HTTP layer parsed it."""

    method: str
    path: str
    query: Dict[str, str]
    authorization: Optional[str]
    body: Any                  # parsed JSON, form dict, raw text or None
    is_json: bool = False      # the body was valid JSON
    arrived: Optional[float] = None     # time.monotonic() when its headers were read (None: when served)
    accept_encoding: str = ""  # the Accept-Encoding header


@dataclass
class Reply:
    """A response: a JSON body, or ``raw`` bytes with their content type."""

    status: int
    body: Any = None
    headers: Dict[str, str] = field(default_factory=dict)
    raw: Optional[bytes] = None
    content_type: str = "application/json"

    def payload(self) -> bytes:
        return self.raw if self.raw is not None else json.dumps(self.body).encode("utf-8")


class ApiError(Exception):
    """An error reply in the provider's ``{"message", "status"}`` shape."""

    def __init__(self, status: int, message: str, code: Optional[str] = None,
                 headers: Optional[Dict[str, str]] = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.headers = dict(headers or {})

    def reply(self) -> Reply:
        body: Dict[str, Any] = {"message": self.message}
        if self.code:
            body["status"] = self.code
        return Reply(self.status, body, dict(self.headers))


@dataclass
class Token:
    value: str
    id: str
    app: App
    expires_at: float
    state: str = "valid"            # valid | revoked | expired


@dataclass
class Ctx:
    """What one request is known to be: presented token, app, charged bucket."""

    token: Optional[Token] = None
    app_id: Optional[str] = None
    bucket_key: Optional[BucketKey] = None
    slot: Optional[Bucket] = None    # the bucket whose in-flight count this request holds


@dataclass
class Scope:
    """The objects a path addresses, the bucket to charge, and the error to reply with if any."""

    bucket_key: BucketKey
    params: Dict[str, str]
    client: Optional[Client] = None
    ext: Optional[Extension] = None
    dealer: Optional[Dealer] = None
    error: Optional[ApiError] = None


Handler = Callable[["Engine", Request, Ctx, Scope], Reply]
_ID = r"@me|[0-9]+"
_NUM = r"[0-9]+"


class Engine:
    """The emulated provider; every mutation of world, tokens, quotas, faults and log is under ``lock``."""

    def __init__(self, world: World, latency_ms: float = 0, seed: Optional[int] = None) -> None:
        self.world = world
        self.lock = threading.RLock()
        self.latency = latency_ms / 1000.0
        self.seed = seed
        self.rng = random.Random(seed)
        self.faults = FaultPlan(seed)
        self.bundle_listing: Union[bool, int] = world.defaults["bundle_listing"]
        self.issued: Dict[str, Token] = {}
        self.log: List[Dict[str, Any]] = []
        self.seq = 0
        self.started = time.monotonic()     # the origin of the log's "at"
        # called with the log after each request is logged, before its reply is sent, in the serving thread and
        # under the lock: a test that must act at an exact point of a run (tests/reliability/killpoints.py)
        self.after_record: Optional[Callable[[List[Dict[str, Any]]], None]] = None
        d = world.defaults
        self.buckets: Dict[BucketKey, Bucket] = {}
        for key, quota in [(c.id, c.quota) for c in world.clients.values()] + \
                          [("dealer:%d" % i, dl.quota) for i, dl in world.dealers.items()]:
            self.buckets[key] = Bucket(int(quota.get("limit", d["quota_limit"])),
                                       quota.get("window_seconds", d["window_seconds"]),
                                       quota.get("max_concurrent", d["max_concurrent"]))

    # ---- control surface (Emulator methods and /_admin/ endpoints) ----

    def requests(self, clear: bool = False) -> List[Dict[str, Any]]:
        """The request log (a copy); with ``clear`` the log is emptied after it is read."""
        with self.lock:
            entries = json.loads(json.dumps(self.log))
            if clear:
                self.log.clear()
            return entries

    def state(self) -> Dict[str, Any]:
        with self.lock:
            state = self.world.snapshot()
            state["quotas"] = {str(key): bucket.snapshot() for key, bucket in self.buckets.items()}
            return state

    def tokens(self) -> List[str]:
        with self.lock:
            return list(self.issued)

    def set_faults(self, rules: List[Dict[str, Any]], seed: Optional[int] = None) -> None:
        """Replace the fault rules; ``seed`` (default: the emulator's seed) makes the draws repeatable."""
        with self.lock:
            self.faults.set(rules, self.seed if seed is None else seed)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def revoke_tokens(self) -> int:
        return self._invalidate("revoked")

    def expire_tokens(self) -> int:
        return self._invalidate("expired")

    def set_quota(self, client_id: BucketKey, limit: Optional[int] = None, remaining: Optional[int] = None,
                  reset_in: Optional[float] = None) -> Dict[str, Any]:
        """Change a bucket (a client id, or ``"dealer:<id>"``); return its new figures. KeyError if unknown."""
        key: BucketKey = int(client_id) if str(client_id).isdigit() else str(client_id)
        with self.lock:
            if key not in self.buckets:
                raise KeyError("no quota bucket %r" % (client_id,))
            self.buckets[key].set(limit, remaining, reset_in)
            return self.buckets[key].snapshot()

    def set_latency(self, ms: float) -> None:
        with self.lock:
            self.latency = ms / 1000.0

    def set_bundle_listing(self, on: Union[bool, int]) -> None:
        """Switch ``GET /client/{id}/extensions_bundle/`` on (True) or off: False answers 404, as an API
        without it; a status of ``NOT_SUPPORTED`` answers that status."""
        if not isinstance(on, bool) and on not in NOT_SUPPORTED:
            raise ValueError("bundle listing: expected true, false or one of %s" % ", ".join(map(str, NOT_SUPPORTED)))
        with self.lock:
            self.bundle_listing = on

    def add_extension(self, client_id: Union[int, str], item: Dict[str, Any]) -> Dict[str, Any]:
        """Create an extension of client ``client_id`` (an item as in a world file, ``phone`` values included), as
        staff do in the provider's web UI between two runs; return it as the extension list shows it."""
        with self.lock:
            try:
                return dict(self.world.add_extension(int(client_id), item).data)
            except WorldError as exc:
                raise ValueError(str(exc)) from None

    def _invalidate(self, state: str) -> int:
        with self.lock:
            live = [t for t in self.issued.values() if t.state == "valid"]
            for token in live:
                token.state = state
            return len(live)

    # ---- serving ----

    def serve(self, req: Request) -> Optional[Reply]:
        """Handle one API request: faults, latency, the API itself, the log entry. None: send nothing."""
        arrived = time.monotonic() if req.arrived is None else req.arrived
        with self.lock:
            picked = self.faults.pick(req.method, req.path, req.query)
        rule_index, rule = picked if picked is not None else (None, None)
        action = rule.action if rule else None
        if rule is not None and action == "delay":
            time.sleep(rule.seconds)
        with self.lock:
            ctx = self._identify(req)
            if rule is None or action in PROCESSING_ACTIONS:
                reply = self._dispatch(req, ctx)
            else:
                reply = self._fault_reply(rule, ctx)
        try:
            time.sleep(self.latency)
        finally:
            if ctx.slot is not None:
                with self.lock:
                    ctx.slot.release()
        if action == "status_after" and reply is not None:
            assert rule is not None
            reply = self._fault_reply(rule, ctx)
        if action == "truncated_json" and reply is not None:
            payload = reply.payload()
            reply = Reply(200, headers=reply.headers, raw=payload[:len(payload) // 2])
        if reply is not None:
            reply = self._provider_headers(req, reply)
        self._record(req, ctx, reply, action, rule_index, arrived)
        return None if action == "drop_after" else reply

    def _provider_headers(self, req: Request, reply: Reply) -> Reply:
        """The variant's last word on a reply: rate-limit headers dropped, the body gzip-compressed when asked."""
        defaults = self.world.defaults
        if not defaults["rate_limit_headers"]:
            reply.headers = {k: v for k, v in reply.headers.items() if k not in RATE_LIMIT_HEADERS}
        accepted = [part.split(";")[0].strip().lower() for part in req.accept_encoding.split(",")]
        if defaults["gzip"] and "gzip" in accepted and "Content-Encoding" not in reply.headers:
            reply = Reply(reply.status, headers=dict(reply.headers, **{"Content-Encoding": "gzip"}),
                          raw=gzip.compress(reply.payload(), compresslevel=1, mtime=0), content_type=reply.content_type)
        return reply

    def _is_token_path(self, path: str) -> bool:
        return path.rstrip("/") == self.world.defaults["token_path"].rstrip("/")

    def _identify(self, req: Request) -> Ctx:
        """Who the request claims to be (not yet checked)."""
        ctx = Ctx()
        if self._is_token_path(req.path):
            ctx.app_id = _credentials(req).get("client_id")
            return ctx
        parts = (req.authorization or "").split(None, 1)
        if len(parts) == 2 and parts[0].lower() == "bearer":
            ctx.token = self.issued.get(parts[1].strip())
            ctx.app_id = ctx.token.app.app_id if ctx.token else None
        return ctx

    def _fault_reply(self, rule: FaultRule, ctx: Ctx) -> Optional[Reply]:
        """The reply of a fault that replaces the API (None: drop the connection)."""
        if rule.action in ("status", "status_after") and rule.text is not None:
            return Reply(rule.status, headers=dict(rule.headers), raw=rule.text.encode("utf-8"))
        if rule.action in ("status", "status_after"):
            body = rule.body if rule.body is not None else {"message": "Injected fault (HTTP %d)" % rule.status}
            return Reply(rule.status, body, dict(rule.headers))
        if rule.action == "html":
            return Reply(200, headers=dict(rule.headers), raw=_HTML, content_type="text/html; charset=utf-8")
        if rule.action == "gzip_bomb":
            return Reply(200, headers=dict(rule.headers, **{"Content-Encoding": "gzip"}),
                         raw=_gzip_bomb((rule.text or '{"label": "').encode("utf-8")))
        if rule.action in ("revoke_token", "expire_token"):
            state = "revoked" if rule.action == "revoke_token" else "expired"
            if ctx.token is not None:
                ctx.token.state = state
            return ApiError(401, "Access token has been %s" % state, "invalid_token").reply()
        return None     # drop

    def _record(self, req: Request, ctx: Ctx, reply: Optional[Reply], action: Optional[str],
                rule_index: Optional[int], arrived: float) -> None:
        body = req.body
        if isinstance(body, dict) and "client_secret" in body:
            body = dict(body, client_secret=_MASKED)
        query = dict(req.query, client_secret=_MASKED) if "client_secret" in req.query else dict(req.query)
        with self.lock:
            self.seq += 1
            self.log.append({
                "seq": self.seq, "time": time.time(), "method": req.method, "path": req.path, "query": query,
                "body": body, "status": reply.status if reply is not None else None,
                "client_id": ctx.bucket_key, "token_id": ctx.token.id if ctx.token else None,
                "app_id": ctx.app_id, "fault": action, "fault_rule": rule_index,
                "at": round(arrived - self.started, 6), "accept_encoding": req.accept_encoding,
                "content_encoding": reply.headers.get("Content-Encoding") if reply is not None else None})
            if self.after_record is not None:
                self.after_record(self.log)

    def _dispatch(self, req: Request, ctx: Ctx) -> Reply:
        """The API proper (under the lock). Charges the quota bucket and takes an in-flight slot."""
        if self._is_token_path(req.path):
            return self._issue_token(req, ctx)
        route = _match(req.path)
        if route is None:
            return ApiError(404, "Not found", "not_found").reply()
        methods, params = route
        try:
            token = self._authenticate(ctx)
        except ApiError as exc:
            return exc.reply()
        user = token.app.user
        own = self.buckets[_own_bucket(user)]
        if req.method not in methods:
            return ApiError(405, "Method %s is not allowed here" % req.method, "method_not_allowed",
                            dict(own.headers(), Allow=", ".join(sorted(methods)))).reply()
        if user.blocked:
            return ApiError(403, "The user is blocked", "user_blocked", own.headers()).reply()
        scope = self._scope(user, params)
        bucket = self.buckets[scope.bucket_key]
        if bucket.exhausted():
            return ApiError(429, "Request limit exceeded, try again later", "rate_limit_exceeded",
                            bucket.headers()).reply()
        if bucket.busy():
            return Reply(429, {"message": "Parallel concurrent request not allowed"},
                         dict(bucket.headers(), **{"Retry-After": "1"}))
        bucket.take()
        ctx.slot, ctx.bucket_key = bucket, scope.bucket_key
        try:
            if scope.error is not None:
                raise scope.error
            reply = methods[req.method](self, req, ctx, scope)
        except ApiError as exc:
            reply = exc.reply()
        reply.headers.update(bucket.headers())
        return reply

    def _issue_token(self, req: Request, ctx: Ctx) -> Reply:
        if req.method != "POST":
            return Reply(405, {"error": "invalid_request", "error_description": "use POST"}, {"Allow": "POST"})
        params = _credentials(req)
        grant = params.get("grant_type")
        if not grant:
            return Reply(400, {"error": "invalid_request", "error_description": "grant_type is required"})
        if grant != "client_credentials":
            return Reply(400, {"error": "unsupported_grant_type",
                               "error_description": "grant type %s is not supported" % grant})
        app = self.world.apps.get(params.get("client_id") or "")
        if app is None or not hmac.compare_digest(app.app_secret.encode(), params.get("client_secret", "").encode()):
            return Reply(401, {"error": "invalid_client", "error_description": "Bad client credentials"})
        if app.type != "trusted":
            return Reply(400, {"error": "unauthorized_client",
                               "error_description": "only trusted apps may use client_credentials"})
        ttl = self.world.defaults["token_ttl"]
        value = "".join(self.rng.choices(_ALNUM, k=30))
        token = Token(value, "t%d" % (len(self.issued) + 1), app, time.monotonic() + ttl)
        self.issued[value] = token
        ctx.token = token
        return Reply(200, {"access_token": value, "token_type": "Bearer", "expires_in": ttl, "scope": "all"})

    def _authenticate(self, ctx: Ctx) -> Token:
        token = ctx.token
        if token is None:
            raise ApiError(401, "A valid Bearer access token is required", "invalid_token")
        if token.state == "valid" and time.monotonic() >= token.expires_at:
            token.state = "expired"
        if token.state != "valid":
            raise ApiError(401, "Access token has been %s" % token.state, "invalid_token")
        return token

    # ---- what a path addresses ----

    def _scope(self, user: User, params: Dict[str, str]) -> Scope:
        """Resolve client / extension / dealer of the path; bucket = the addressed one if the user may."""
        scope = Scope(_own_bucket(user), params)
        try:
            if "dealer" in params:
                scope.dealer = self._dealer(user, params["dealer"])
                scope.bucket_key = "dealer:%d" % scope.dealer.data["id"]
                return scope
            if "client" in params:
                scope.client = self._client(user, params["client"])
            elif "ext" in params:
                ext = self.world.extensions.get(int(params["ext"]))
                if ext is None:
                    raise ApiError(404, "Extension not found", "extension_not_found")
                scope.client = self._may(user, self.world.owners[ext.id])
                scope.ext = ext
            if scope.client is not None:
                scope.bucket_key = scope.client.id
            if "client" in params and "ext" in params:
                scope.ext = scope.client.extensions.get(int(params["ext"]))
                if scope.ext is None:
                    raise ApiError(404, "Extension not found", "extension_not_found")
        except ApiError as exc:
            scope.error = exc
        return scope

    def _client(self, user: User, ref: str) -> Client:
        if ref == "@me":
            if user.client_id is None:
                raise ApiError(404, "Client not found: a dealer user has no client of its own", "client_not_found")
            return self.world.clients[user.client_id]
        client = self.world.clients.get(int(ref))
        if client is None:
            raise ApiError(404, "Client not found", "client_not_found")
        return self._may(user, client)

    def _may(self, user: User, client: Client) -> Client:
        if user.client_id == client.id or (user.is_dealer and client.dealer_id == user.dealer_id):
            return client
        raise ApiError(403, "Access denied to client %d" % client.id, "access_denied")

    def _dealer(self, user: User, ref: str) -> Dealer:
        if ref == "@me" and not user.is_dealer:
            raise ApiError(404, "Dealer not found: a client user has no dealer of its own", "dealer_not_found")
        dealer_id = user.dealer_id if ref == "@me" else int(ref)
        dealer = self.world.dealers.get(dealer_id)
        if dealer is None:
            raise ApiError(404, "Dealer not found", "dealer_not_found")
        if not (user.is_dealer and user.dealer_id == dealer_id):
            raise ApiError(403, "Access denied to dealer %d" % dealer_id, "access_denied")
        return dealer

    # ---- handlers ----

    def _get_user(self, req: Request, ctx: Ctx, scope: Scope) -> Reply:
        assert ctx.token is not None
        return Reply(200, dict(ctx.token.app.user.data))

    def _get_client(self, req: Request, ctx: Ctx, scope: Scope) -> Reply:
        assert scope.client is not None
        return Reply(200, dict(scope.client.data))

    def _list_dealer_clients(self, req: Request, ctx: Ctx, scope: Scope) -> Reply:
        assert scope.dealer is not None
        dealer_id = scope.dealer.data["id"]
        return Reply(200, [dict(c.data) for c in sorted(self.world.clients.values(), key=lambda c: c.id)
                           if c.dealer_id == dealer_id])

    def _list_extensions(self, req: Request, ctx: Ctx, scope: Scope) -> Reply:
        assert scope.client is not None
        defaults = self.world.defaults
        ext_type = req.query.get("type")
        types = self.world.extension_types
        if ext_type is not None and ext_type not in types:
            raise ApiError(400, "Invalid value for 'type': expected one of %s" % ", ".join(types), "invalid_request")
        page = _positive(req.query, "page", 1)
        per_page = _positive(req.query, "per_page", defaults["per_page_default"])
        if per_page > defaults["per_page_max"]:
            if defaults["per_page_above_max"] != "clamp":
                raise ApiError(defaults["per_page_above_max"], "Invalid value for 'per_page': at most %d"
                               % defaults["per_page_max"], "invalid_request")
            per_page = defaults["per_page_max"]
        endless = defaults["endless_pages"]
        if endless is True or (isinstance(endless, list) and scope.client.id in endless):
            first = ENDLESS_FIRST_ID + (page - 1) * per_page
            return Reply(200, [{"id": first + i, "name": "%s*e%d" % (scope.client.data["prefix"], first + i),
                                "type": "phone", "client_id": scope.client.id} for i in range(per_page)])
        items = [dict(e.data) for e in sorted(scope.client.extensions.values(), key=lambda e: e.id)
                 if ext_type is None or e.data["type"] == ext_type]
        return Reply(200, items[(page - 1) * per_page:page * per_page])

    def _get_extension(self, req: Request, ctx: Ctx, scope: Scope) -> Reply:
        assert scope.ext is not None
        return Reply(200, dict(scope.ext.data))

    def _get_phone(self, req: Request, ctx: Ctx, scope: Scope) -> Reply:
        return Reply(200, _phone_of(scope).phone_reply())

    def _put_phone(self, req: Request, ctx: Ctx, scope: Scope) -> Reply:
        _require_write(ctx)
        ext = _phone_of(scope)
        assert ext.phone is not None and scope.client is not None
        try:
            changes = validate_phone_update(ext.phone, req.body if req.is_json else None)
        except ValueError as exc:
            raise ApiError(400, str(exc), "invalid_request") from None
        if "external_number" in changes:
            changes["external_number"] = stored_number(changes["external_number"], scope.client.number_form)
            if self.world.defaults["number_bound_elsewhere"] != "accept" and self._bound_elsewhere(
                    scope.client, changes["external_number"]):
                raise ApiError(409, "Number is bound to a phone of another client", "number_in_use")
        ext.phone.update(changes)
        synced = {key: value for key, value in changes.items() if key in SYNC_KEYS}
        if synced:
            for member in scope.client.bundle_of(ext.id) or []:
                phone = scope.client.extensions[member].phone
                assert phone is not None
                phone.update(synced)
        return Reply(200, ext.phone_reply())

    def _bound_elsewhere(self, client: Client, number: Any) -> bool:
        """Whether a phone of another client holds ``number`` (the number_bound_elsewhere variant)."""
        want = same_number(number)
        return want is not None and any(
            same_number((e.phone or {}).get("external_number")) == want
            for other in self.world.clients.values() if other.id != client.id for e in other.extensions.values())

    def _list_bundles(self, req: Request, ctx: Ctx, scope: Scope) -> Reply:
        assert scope.client is not None
        if self.bundle_listing is not True:
            status = 404 if self.bundle_listing is False else int(self.bundle_listing)
            raise ApiError(status, "Listing bundles is not supported" if status != 404 else "Not found",
                           "not_found" if status == 404 else "not_supported")
        return Reply(200, [{"bundle_id": main, "bundle_list": list(members)}
                           for main, members in sorted(scope.client.bundles.items())])

    def _get_bundle(self, req: Request, ctx: Ctx, scope: Scope) -> Reply:
        assert scope.client is not None
        main = int(scope.params["bundle"])
        members = scope.client.bundles.get(main)
        if members is None:
            raise ApiError(404, "Bundle %d not found" % main, "bundle_not_found")
        return Reply(200, {"bundle_id": main, "bundle_list": list(members)})

    def _post_bundle(self, req: Request, ctx: Ctx, scope: Scope) -> Reply:
        _require_write(ctx)
        assert scope.client is not None
        main = int(scope.params["bundle"])
        ids = req.body.get("extension_id") if req.is_json and isinstance(req.body, dict) else None
        if not isinstance(ids, list) or not ids:
            raise ApiError(400, "Invalid value for 'extension_id': expected a non-empty list of extension ids",
                           "invalid_request")
        members = ids if main in ids else [main] + ids
        try:
            check_bundle(scope.client, main, members)
        except ValueError as exc:
            raise ApiError(400, "Invalid value for 'extension_id': %s" % exc, "invalid_request") from None
        scope.client.bundles[main] = list(members)
        return Reply(201, {"bundle_id": main, "bundle_list": list(members)})


# (path under /api/ver1.0, {method: handler}); every path works with and without a trailing slash.
_ROUTE_TABLE: List[Tuple[str, Dict[str, Handler]]] = [
    ("/user", {"GET": Engine._get_user}),
    ("/client/(?P<client>%s)" % _ID, {"GET": Engine._get_client}),
    ("/client/(?P<client>%s)/extension" % _ID, {"GET": Engine._list_extensions}),
    ("/client/(?P<client>%s)/extension/(?P<ext>%s)" % (_ID, _NUM), {"GET": Engine._get_extension}),
    ("/extension/(?P<ext>%s)/phone" % _NUM, {"GET": Engine._get_phone, "PUT": Engine._put_phone}),
    ("/client/(?P<client>%s)/extensions_bundle" % _ID, {"GET": Engine._list_bundles}),
    ("/client/(?P<client>%s)/extensions_bundle/(?P<bundle>%s)" % (_ID, _NUM),
     {"GET": Engine._get_bundle, "POST": Engine._post_bundle}),
    ("/dealer/(?P<dealer>%s)/client" % _ID, {"GET": Engine._list_dealer_clients}),
]
ROUTES: List[Tuple[Pattern[str], Dict[str, Handler]]] = [
    (re.compile("^%s/?$" % path), methods) for path, methods in _ROUTE_TABLE]


def _match(path: str) -> Optional[Tuple[Dict[str, Handler], Dict[str, str]]]:
    if not path.startswith(API + "/"):
        return None
    for pattern, methods in ROUTES:
        found = pattern.match(path[len(API):])
        if found:
            return methods, found.groupdict()
    return None


def _credentials(req: Request) -> Dict[str, str]:
    """Token request parameters: the query string, overridden by a form or JSON body."""
    params = dict(req.query)
    if isinstance(req.body, dict):
        params.update({str(k): str(v) for k, v in req.body.items()})
    return params


def _own_bucket(user: User) -> BucketKey:
    return user.client_id if user.client_id is not None else "dealer:%d" % user.dealer_id


def _require_write(ctx: Ctx) -> None:
    assert ctx.token is not None
    app = ctx.token.app
    if app.user.read_only:
        raise ApiError(403, "The user has read-only access", "user_access_type_deny")
    if app.access_level != "all":
        raise ApiError(403, "The app's access level (%s) does not allow changes" % app.access_level,
                       "app_access_type_deny")


def _phone_of(scope: Scope) -> Extension:
    ext = scope.ext
    assert ext is not None
    if ext.phone is None:
        raise ApiError(404, "Extension %d is not a phone extension (type: %s)" % (ext.id, ext.data["type"]),
                       "not_found")
    return ext


def _positive(query: Dict[str, str], name: str, default: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ApiError(400, "Invalid value for '%s': expected a positive integer" % name, "invalid_request")
    return int(text)
