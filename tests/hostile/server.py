"""A hostile HTTP server on loopback, for the transport tests (issue #18).

`Hostile` answers like Keycloak (by forwarding to an `upstream` Keycloak or sandbox, or, without
one, with a token for any login and 404 for everything else) until a request matches one of its
`Rule`s; that request then gets the rule's misbehaviour. Every request it receives is recorded
(method, path, headers, body), so that a test can prove what reached which origin.

Behaviours: `redirect` (HTTP `status` 301/302/303/307/308 to `location` + the request's path),
`html` (200 with a proxy's HTML page), `truncated` (200 with half of the JSON answer),
`json-string` (200 `"ok"`), `null` (200 `null`), `stall` (reads the request, never answers),
`trickle` (the answer, status line included, one byte every `every` seconds), `reset` (the
connection is reset without an answer), `lost` (the request is forwarded and takes effect, then
the connection is closed without an answer). Stalls and trickles give up after `give_up` seconds,
so that a client without limits fails a test instead of hanging it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import ssl
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

TOKEN = {
    "access_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJob3N0aWxlIn0.",
    "expires_in": 300,
    "refresh_expires_in": 1800,
    "refresh_token": "hostile-refresh",
    "token_type": "Bearer",
}
HTML = b"<html><head><title>502 Bad Gateway</title></head><body>Service temporarily unavailable</body></html>"


@dataclass
class Rule:
    """Misbehave on requests whose method is `method` and whose path matches `path` (a regex)."""

    behaviour: str
    method: str = "GET"
    path: str = ""
    times: int | None = None  # how many matching requests misbehave; None: all of them
    location: str = ""  # redirect: the other origin's base URL
    status: int = 307  # redirect: the status
    every: float = 1.0  # trickle: seconds between bytes
    give_up: float = 40.0  # stall, trickle: the server closes the connection after this long

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and re.search(self.path, path) is not None and self.times != 0


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Hostile:
    """The server; use as a context manager. `url` is its base URL once started."""

    upstream: str | None = None
    rules: list[Rule] = field(default_factory=list)
    tls: ssl.SSLContext | None = None
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        hostile = self

        class Handler(_Handler):
            server_side = hostile

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if self.tls is not None:
            self.httpd.socket = self.tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if self.tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> Hostile:
        # poll_interval: leaving waits up to one interval (0.5 s by default, a test's most time)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def rule_for(self, method: str, path: str) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
        return None

    def saw(self, text: str) -> bool:
        """Whether `text` reached this server anywhere: in a path, a header or a body."""
        needle = text.encode()
        return any(
            needle in r.body or text in r.path or any(text in v for v in r.headers.values()) for r in self.received
        )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_side: Hostile

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except OSError:  # the client went away, or we reset the connection on purpose
            self.close_connection = True

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self.serve()

    do_POST = do_PUT = do_DELETE = do_GET

    def serve(self) -> None:
        hostile = self.server_side
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        with hostile.lock:
            hostile.received.append(Received(self.command, self.path, dict(self.headers.items()), body))
        rule = hostile.rule_for(self.command, path)
        behaviour = rule.behaviour if rule else "normal"
        if rule is not None and behaviour == "redirect":
            self.answer(rule.status, b"", "text/plain", {"Location": rule.location.rstrip("/") + self.path})
        elif behaviour == "html":
            self.answer(200, HTML, "text/html")
        elif behaviour == "json-string":
            self.answer(200, b'"ok"', "application/json")
        elif behaviour == "null":
            self.answer(200, b"null", "application/json")
        elif behaviour == "truncated":
            status, payload, _ = self.forward(body)
            whole = payload if status == 200 and payload else json.dumps({"realm": "cut", "enabled": True}).encode()
            self.answer(200, whole[: len(whole) // 2], "application/json")
        elif rule is not None and behaviour == "stall":
            hostile.stopping.wait(rule.give_up)
            self.close_connection = True
        elif rule is not None and behaviour == "trickle":
            self.trickle(rule)
        elif behaviour == "reset":
            self.reset()
        elif behaviour == "lost":
            self.forward(body)
            self.reset()
        else:
            status, payload, headers = self.forward(body)
            self.answer(status, payload, headers.get("Content-Type", "application/json"), headers)

    def forward(self, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        """The upstream's answer to this request; without upstream, a token for any login, else 404."""
        upstream = self.server_side.upstream
        if upstream is None:
            if self.path.endswith("/protocol/openid-connect/token"):
                return 200, json.dumps(TOKEN).encode(), {"Content-Type": "application/json"}
            return 404, b'{"error":"not found"}', {"Content-Type": "application/json"}
        parts = urlsplit(upstream)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=60)
        try:
            keep = ("Authorization", "Content-Type", "Accept")
            headers = {k: v for k, v in self.headers.items() if k in keep}
            conn.request(self.command, parts.path.rstrip("/") + self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            out = {k: v for k, v in response.getheaders() if k in ("Content-Type", "Location")}
            return response.status, payload, out
        finally:
            conn.close()

    def answer(self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            if key != "Content-Type":
                self.send_header(key, value)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def trickle(self, rule: Rule) -> None:
        status, payload, _ = self.forward(b"")
        whole = (
            f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        waited = 0.0
        for byte in whole:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            if self.server_side.stopping.wait(rule.every):
                break
            waited += rule.every
            if waited >= rule.give_up:
                break
        self.close_connection = True

    def reset(self) -> None:
        """Closes the connection with a TCP reset: the client gets no answer at all."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()
