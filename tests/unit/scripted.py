"""A scripted HTTP transport: every expected call is listed in order; an extra, a missing or a
different call fails the test."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
from ansible_collections.telphin.pbx.plugins.module_utils._settings import API_PREFIX, ConnectionSettings
from ansible_collections.telphin.pbx.plugins.module_utils._replies import Response
from ansible_collections.telphin.pbx.plugins.module_utils._transport import Transport

API = "https://api.test"
TOKEN_URL = API + "/oauth/token"
_MISSING = object()


@dataclass
class Call:
    method: str
    path: str                                   # API path after /api/ver1.0, or "TOKEN"
    status: int = 200
    reply: Any = None                           # JSON-encoded unless ``text`` is given
    text: Optional[str] = None
    headers: Dict[str, str] = field(default_factory=dict)
    params: Any = _MISSING                      # expected query parameters
    body: Any = _MISSING                        # expected JSON body
    raises: Optional[Exception] = None          # a transport failure instead of a response


def token(value: str = "tok-1", status: int = 200, **kw: Any) -> Call:
    reply = {"access_token": value, "token_type": "Bearer", "expires_in": 3600} if status == 200 else \
        {"error": "invalid_client"}
    return Call("POST", "TOKEN", status=status, reply=reply, **kw)


def quota_headers(remaining: int, limit: int = 1000, reset: int = 1200) -> Dict[str, str]:
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": str(reset)}


class ScriptedTransport(Transport):
    def __init__(self, *calls: Call) -> None:
        self.script: List[Call] = list(calls)
        self.sent: List[Dict[str, Any]] = []

    def send(self, method: str, url: str, *, headers: Mapping[str, str], params: Optional[Mapping[str, Any]] = None,
             json_body: Any = None, form: Optional[Mapping[str, str]] = None, timeout: float = 30) -> Response:
        path = "TOKEN" if url == TOKEN_URL else url.replace(API + API_PREFIX, "", 1)
        self.sent.append({"method": method, "path": path, "headers": dict(headers), "params": params,
                          "body": json_body, "form": form})
        assert self.script, "unexpected extra call: %s %s" % (method, path)
        call = self.script.pop(0)
        assert (method, path) == (call.method, call.path), \
            "expected %s %s, got %s %s" % (call.method, call.path, method, path)
        if call.params is not _MISSING:
            assert dict(params or {}) == call.params, "query of %s %s: %r" % (method, path, params)
        if call.body is not _MISSING:
            assert json_body == call.body, "body of %s %s: %r" % (method, path, json_body)
        if call.raises is not None:
            raise call.raises
        text = call.text if call.text is not None else ("" if call.reply is None else json.dumps(call.reply))
        return Response(call.status, {k.lower(): v for k, v in call.headers.items()}, text)

    def assert_done(self) -> None:
        assert not self.script, "expected calls not made: %s" % ["%s %s" % (c.method, c.path) for c in self.script]


def make_client(transport: ScriptedTransport, **settings: Any) -> ApiClient:
    options: Dict[str, Any] = {"api_url": API, "app_id": "app-1", "app_secret": "s3cret-app"}
    options.update(settings)
    return ApiClient(ConnectionSettings(**options), transport=transport, sleep=lambda s: None)
