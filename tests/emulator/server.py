"""The HTTP layer: a threaded HTTP/1.1 server (optionally TLS), the ``/_admin/`` endpoints, ``Emulator``."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Set, Tuple, Union
from urllib.parse import parse_qsl, urlsplit

from .api import ApiError, Engine, Reply, Request
from .tls import make_certificate, server_context
from .variants import Spec
from .world import World

ADMIN = "/_admin/"


class _Server(ThreadingHTTPServer):
    """Keeps track of open connections so ``stop`` can close idle keep-alive sockets too."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: Tuple[str, int], engine: Engine, tls: Optional[ssl.SSLContext]) -> None:
        super().__init__(address, _Handler)
        self.engine = engine
        self.tls = tls
        self.connections: Set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def get_request(self) -> Tuple[socket.socket, Any]:
        """Wrap accepted sockets for TLS; the handshake runs in the handler thread, not in the accept loop."""
        sock, address = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self.connections_lock:
            for conn in list(self.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up or fail the TLS handshake are normal here; anything else is printed."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Parses each request and hands it to the engine (API) or the admin table."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 1 << 16          # headers and body leave in one write (flushed after each request)
    server: _Server

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the record."""

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _handle(self) -> None:
        arrived = time.monotonic()          # the request line and headers are in; the body is not read yet
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body, is_json = _parse_body(raw, self.headers.get("Content-Type") or "")
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        if url.path.startswith(ADMIN):
            self._send(_admin(self.server.engine, self.command, url.path, body if is_json else None))
            return
        req = Request(self.command, url.path, query, self.headers.get("Authorization"), body, is_json, arrived,
                      self.headers.get("Accept-Encoding") or "")
        reply = self.server.engine.serve(req)
        if reply is None:
            self.close_connection = True
        else:
            self._send(reply)

    def _send(self, reply: Reply) -> None:
        payload = reply.payload()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def _parse_body(raw: bytes, content_type: str) -> Tuple[Any, bool]:
    """(body as logged, whether it is JSON): JSON, a form dict, raw text, or None when empty."""
    if not raw:
        return None, False
    text = raw.decode("utf-8", errors="replace")
    if "application/x-www-form-urlencoded" in content_type:
        return dict(parse_qsl(text, keep_blank_values=True)), False
    try:
        return json.loads(text), True
    except ValueError:
        return text, False


def _admin(engine: Engine, method: str, path: str, body: Any) -> Reply:
    """The ``/_admin/`` table: the same operations as the ``Emulator`` methods."""
    args = body if isinstance(body, dict) else {}
    actions: Dict[Tuple[str, str], Callable[[], Any]] = {
        ("GET", "requests"): engine.requests,
        ("DELETE", "requests"): lambda: {"cleared": len(engine.requests(clear=True))},
        ("GET", "state"): engine.state,
        ("GET", "tokens"): engine.tokens,
        ("POST", "faults"): lambda: engine.set_faults(args.get("rules", []), args.get("seed")),
        ("DELETE", "faults"): engine.clear_faults,
        ("POST", "revoke_tokens"): lambda: {"revoked": engine.revoke_tokens()},
        ("POST", "expire_tokens"): lambda: {"expired": engine.expire_tokens()},
        ("POST", "quota"): lambda: engine.set_quota(args["client_id"], args.get("limit"), args.get("remaining"),
                                                    args.get("reset_in")),
        ("POST", "latency"): lambda: engine.set_latency(float(args["ms"])),
        ("POST", "bundle_listing"): lambda: engine.set_bundle_listing(args["on"]),
        ("POST", "extension"): lambda: engine.add_extension(args["client_id"], args.get("extension") or {}),
    }
    name = path[len(ADMIN):].strip("/")
    action = actions.get((method, name))
    if action is None:
        known = any(key[1] == name for key in actions)
        return ApiError(405 if known else 404, "no admin operation %s %s" % (method, path)).reply()
    required = {"quota": "client_id", "latency": "ms", "bundle_listing": "on", "extension": "client_id"}.get(name)
    if required and required not in args:
        return ApiError(400, "the JSON body needs %r" % required).reply()
    try:
        result = action()
    except KeyError as exc:
        return ApiError(404, str(exc)).reply()
    except (ValueError, TypeError) as exc:
        return ApiError(400, str(exc)).reply()
    return Reply(200, {"ok": True} if result is None else result)


class Emulator:
    """The provider API on 127.0.0.1: ``start``, use ``url``, ``stop`` (or use it as a context manager)."""

    def __init__(self, world: Union[Dict[str, Any], str, Path], port: int = 0, tls: bool = False,
                 latency_ms: float = 0, seed: Optional[int] = None, host: str = "127.0.0.1", variant: Spec = None) -> None:
        self.engine = Engine(World.load(world, variant), latency_ms, seed)
        self.host, self.port, self.tls = host, port, tls
        self.ca_path: Optional[str] = None
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        self._tmp: Optional[Path] = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        return "%s://%s:%d" % ("https" if self.tls else "http", host, port)

    def start(self) -> "Emulator":
        """Listen and serve in a daemon thread; return self."""
        context = None
        if self.tls:
            self._tmp = Path(tempfile.mkdtemp(prefix="telphin-emulator-tls-"))
            cert, key = make_certificate(self._tmp)
            context, self.ca_path = server_context(cert, key), str(cert)
        self._server = _Server((self.host, self.port), self.engine, context)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="telphin-emulator",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and remove the certificate."""
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._server = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def requests(self, clear: bool = False) -> List[Dict[str, Any]]:
        """The request log; ``clear=True`` empties it after returning it."""
        return self.engine.requests(clear)

    def state(self) -> Dict[str, Any]:
        """Clients with extensions, phones (password included) and bundles; dealers; quota buckets."""
        return self.engine.state()

    def tokens(self) -> List[str]:
        """Every access token ever issued."""
        return self.engine.tokens()

    def set_faults(self, rules: List[Dict[str, Any]], seed: Optional[int] = None) -> None:
        self.engine.set_faults(rules, seed)

    def clear_faults(self) -> None:
        self.engine.clear_faults()

    def revoke_tokens(self) -> int:
        """Revoke every live token; return how many."""
        return self.engine.revoke_tokens()

    def expire_tokens(self) -> int:
        """Expire every live token; return how many."""
        return self.engine.expire_tokens()

    def set_quota(self, client_id: Union[int, str], limit: Optional[int] = None, remaining: Optional[int] = None,
                  reset_in: Optional[float] = None) -> Dict[str, Any]:
        """Change a quota bucket (client id or ``"dealer:<id>"``); return its figures."""
        return self.engine.set_quota(client_id, limit, remaining, reset_in)

    def set_latency(self, ms: float) -> None:
        self.engine.set_latency(ms)

    def set_bundle_listing(self, on: Union[bool, int]) -> None:
        """Serve the bundle listing (True) or answer it 404 (False), or 400/405/501, as an API that lists none."""
        self.engine.set_bundle_listing(on)

    def add_extension(self, client_id: Union[int, str], extension: Dict[str, Any]) -> Dict[str, Any]:
        """Create an extension of a client (a world file's item), as staff do between two runs; return it."""
        return self.engine.add_extension(client_id, extension)
