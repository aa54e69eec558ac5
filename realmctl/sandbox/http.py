"""The sandbox's HTTP layer: server, route table, bearer auth, counting, latency and faults.

Routes are a registration table (`Router.add`) so that a new module (the token service of part 2,
more admin areas) adds endpoints without touching this file. Every Keycloak endpoint is counted
under its route template; `/sandbox/` control endpoints are neither counted, delayed nor faulted.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

from realmctl.sandbox import tokens
from realmctl.sandbox.errors import FORBIDDEN, NOT_FOUND, UNAUTHORIZED, HttpError, error
from realmctl.sandbox.profiles import Profile
from realmctl.sandbox.store import Realm, Store, User

T = TypeVar("T")
Handler = Callable[["Request"], "Response"]

MASTER = "master"

# Limits measured on Keycloak 26.7.3 (Quarkus/Vert.x defaults as Keycloak ships them): a body whose
# Content-Length exceeds 10 MiB gets 413 before any of it is read, a request target over 32 KiB 414,
# request headers over 64 KiB in total 431; each answer has an empty body and closes the connection.
MAX_BODY = 10 * 1024 * 1024
MAX_REQUEST_LINE = 32 * 1024
MAX_HEADERS = 64 * 1024
SERVER_ERROR = {
    "error": "unknown_error",
    "error_description": "For more on this error consult the server log.",
}

#: A role that also satisfies another (Keycloak's `canView` is `canManage || view role`).
IMPLIED_BY: dict[str, tuple[str, ...]] = {
    "view-realm": ("manage-realm",),
    "view-clients": ("manage-clients",),
    "view-users": ("manage-users",),
    "view-identity-providers": ("manage-identity-providers",),
    "view-authorization": ("manage-authorization",),
    "view-events": ("manage-events",),
    "query-users": ("view-users", "manage-users"),
    "query-clients": ("view-clients", "manage-clients"),
    "query-groups": ("view-users", "manage-users", "query-users"),
}


#: Keycloak 26 admin endpoints the sandbox does not serve. A 404 would read as "object not found"
#: to a client, so these answer 501 naming the endpoint (paths below `/admin/realms/{realm}`).
UNIMPLEMENTED = re.compile(
    r"/admin/realms/[^/]+/(?:"
    r"authentication|components|events|admin-events|attack-detection|client-policies"
    r"|client-registration-policy|clients-initial-access|client-types|keys|localization|organizations"
    r"|sessions|client-session-stats|logout-all|push-revocation|testSMTPConnection|default-groups"
    r"|credential-registrators|ldap-server-capability|testLDAPConnection|client-description-converter"
    r"|identity-provider/(?:import-config|providers|upload-certificate)"
    r"|users/[^/]+/(?:sessions|offline-sessions|consents|credentials|execute-actions-email"
    r"|send-verify-email|impersonation|logout|configured-user-storage-credential-types"
    r"|disable-credential-types)"
    r"|clients/[^/]+/(?:installation|certificates|nodes|evaluate-scopes|offline-sessions|user-sessions"
    r"|session-count|offline-session-count|test-nodes-available|registration-access-token|push-revocation)"
    r"|clients/[^/]+/authz/resource-server/(?:import|(?:policy|permission)/evaluate)"
    r")(?:/.*)?\Z"
)


@dataclass
class Response:
    """What a handler returns: status, a JSON-able body (None = empty) and extra headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def created(location: str) -> Response:
    """201 with an empty body and the absolute `Location` of the new resource."""
    return Response(201, None, {"Location": location})


NO_CONTENT = Response(204)


@dataclass
class Principal:
    """Who sent an admin request: the token's realm, user and client."""

    realm: Realm
    user: User
    claims: dict[str, Any]


@dataclass
class Request:
    """One parsed request plus access to the application state."""

    app: App
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    base_url: str
    principal: Principal | None = None

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def int_arg(self, name: str, default: int) -> int:
        value = self.arg(name)
        try:
            return int(value) if value not in (None, "") else default
        except ValueError:
            raise error(400, "unknown_error") from None

    def page(self, items: list[T], default_max: int = -1) -> list[T]:
        """`first`/`max` as Keycloak applies them (measured on 26.7.3): a negative `first` counts
        as 0 and a negative `max` means no limit; `default_max` applies when `max` is absent."""
        first = max(self.int_arg("first", 0), 0)
        maximum = self.int_arg("max", default_max)
        return items[first:] if maximum < 0 else items[first : first + maximum]

    def bool_arg(self, name: str, default: bool | None = None) -> bool | None:
        value = self.arg(name)
        if value is None or value == "":
            return default
        return value.lower() == "true"

    def json(self) -> Any:
        """The JSON body; unparsable → 400 as Keycloak's exception mapper answers it."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            raise HttpError(400, {"error": "unknown_error", "error_description": "Cannot parse the JSON"}) from None

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise HttpError(400, {"error": "unknown_error", "error_description": "Cannot parse the JSON"})
        return body

    def admin_url(self, realm: Realm, *parts: str) -> str:
        """Absolute URL under `/admin/realms/{realm}/`, for `Location` headers."""
        return "/".join([f"{self.base_url}/admin/realms/{seg(realm.name)}", *map(seg, parts)])

    # --- authorisation -------------------------------------------------------------------------
    def realm(self, *roles: str) -> Realm:
        """The path's realm (404 when unknown) after checking the caller holds one of `roles`.

        With no roles the caller only needs to be an admin of some kind for the realm.
        """
        realm = self.app.store.realm(self.params["realm"])
        if realm is None:
            raise error(404, "Realm not found.")
        if not self.may(realm, *roles):
            raise error(403, FORBIDDEN)
        return realm

    def may(self, realm: Realm, *roles: str) -> bool:
        """Whether the caller holds (directly or by implication) any admin role for `realm`."""
        held = self.admin_roles(realm)
        if not roles:
            return bool(held)
        wanted = {r for role in roles for r in (role, *IMPLIED_BY.get(role, ()))}
        return bool(held & wanted)

    def admin_roles(self, realm: Realm) -> set[str]:
        """Names of the admin roles the caller holds over `realm`, resolved server-side on every
        request (admin-cli tokens are lightweight and carry no roles): a master user's roles of
        master's `<realm>-realm` client, or a realm user's `realm-management` roles in its own realm."""
        principal = self.principal
        if principal is None:
            return set()
        home = principal.realm
        effective = home.user_effective_role_ids(principal.user)
        if home.name == MASTER:
            admin_client = home.client_by_client_id(f"{realm.name}-realm")
        elif home is realm:
            admin_client = home.client_by_client_id("realm-management")
        else:
            return set()
        if admin_client is None:
            return set()
        return {r.name for r in (home.roles[i] for i in effective) if r.client_id == admin_client.id}

    def require_master_role(self, name: str) -> None:
        principal = self.principal
        if principal is None or principal.realm.name != MASTER:
            raise error(403, FORBIDDEN)
        effective = principal.realm.user_effective_role_ids(principal.user)
        if not any(
            principal.realm.roles[i].name in (name, "admin") and not principal.realm.roles[i].client_id
            for i in effective
        ):
            raise error(403, FORBIDDEN)


@dataclass
class Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler
    auth: str  # "admin" (bearer token), "none", "sandbox" (master admin, not counted)


class Router:
    """Route templates such as `/admin/realms/{realm}/clients/{id}` mapped to handlers."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, *, auth: str = "admin") -> None:
        escaped = re.escape(template).replace(r"\{", "{").replace(r"\}", "}").replace(r"\:", ":")
        pattern = re.sub(r"\{(\w+):path\}", r"(?P<\1>.+)", escaped)
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        shown = re.sub(r"\{(\w+):path\}", r"{\1}", template)
        self.routes.append(Route(method, shown, re.compile(pattern + r"/?\Z"), handler, auth))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, params, path_known): path_known tells 405 from 404 when no method matched."""
        known = False
        for route in self.routes:
            found = route.regex.match(path)
            if found is None:
                continue
            if route.method == method:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}, True
            known = True
        return None, {}, known


def seg(name: str) -> str:
    """One path segment percent-encoded as Keycloak's Location headers are (`ré/le` → `r%C3%A9%2Fle`)."""
    return quote(name, safe="")


def unquote(text: str) -> str:
    from urllib.parse import unquote as _unquote

    return _unquote(text)


@dataclass
class Stats:
    """Request counters of Keycloak endpoints, as `GET /sandbox/requests` reports them."""

    total: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    by_path: dict[str, int] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)

    def record(self, method: str, template: str, status: int, ms: float, target: str = "") -> None:
        """`target` is the request target as sent (still percent-encoded, with its query), so that
        tests can tell which object a request addressed, not only which route served it."""
        self.total += 1
        self.by_method[method] = self.by_method.get(method, 0) + 1
        key = f"{method} {template}"
        self.by_path[key] = self.by_path.get(key, 0) + 1
        self.log.append({"method": method, "path": template, "target": target, "status": status, "ms": round(ms, 3)})


class App:
    """Everything one sandbox serves: store, profile, routes, counters, latency and faults."""

    def __init__(self, store: Store, profile: Profile, router: Router) -> None:
        self.store = store
        self.profile = profile
        self.router = router
        self.stats = Stats()
        self.stats_lock = threading.Lock()
        self.token_cache: dict[str, tuple[str, dict[str, Any]]] = {}
        self.latency_ms = 0
        self.context_path = ""  # e.g. "/auth": every path is served below it, as Keycloak < 17 did
        self.fault_rate = 0.0
        self.fault_rng = random.Random(0)
        self.slow_ms = 1000
        #: Seconds a kept-alive connection may stay silent before it is closed (sandbox choice;
        #: Keycloak's Vert.x idle timeout is 30 min, far longer than any sandbox client waits).
        self.idle_timeout = 60.0
        #: Seconds from a request's first byte until its head and body must be read in full: a
        #: client trickling bytes cannot hold a thread longer than this (sandbox choice).
        self.read_timeout = 30.0

    def set_faults(self, rate: float, seed: int) -> None:
        with self.stats_lock:
            self.fault_rate = rate
            self.fault_rng = random.Random(seed)

    def draw_fault(self) -> str | None:
        """None, or one of "error" (503 before the request is handled), "drop" (connection closed
        before it is handled), "lost" (handled, then the connection closed without an answer) and
        "slow": deterministic for a seed and request order."""
        with self.stats_lock:
            if self.fault_rate <= 0:
                return None
            if self.fault_rng.random() >= self.fault_rate:
                return None
            return self.fault_rng.choice(("error", "drop", "lost", "slow"))

    def authenticate(self, req: Request) -> None:
        header = req.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise error(401, UNAUTHORIZED)
        checked = tokens.verify(self, token.strip())
        if checked is None:
            raise error(401, UNAUTHORIZED)
        realm, claims = checked
        if not tokens.issued_here(claims, req.base_url, realm):
            raise error(401, UNAUTHORIZED)
        user = realm.token_user(claims)
        if user is None or not user.rep.get("enabled"):
            raise error(401, UNAUTHORIZED)
        req.principal = Principal(realm, user, claims)

    def dispatch(self, req: Request, route: Route | None, known: bool) -> Response:
        """Run the handler under the store lock and turn HttpError into its response."""
        try:
            if UNIMPLEMENTED.match(req.path):
                if req.principal is None:
                    with self.store.lock:
                        self.authenticate(req)
                described = f"{req.method} {req.path}"
                raise HttpError(
                    501,
                    {
                        "error": "not_implemented",
                        "error_description": f"The realmctl sandbox does not implement {described}",
                    },
                )
            if route is None:
                if req.path.startswith("/admin/") and req.principal is None:
                    with self.store.lock:
                        self.authenticate(req)  # AdminRoot authenticates before matching a resource
                raise error(405 if known else 404, "HTTP 405 Method Not Allowed" if known else NOT_FOUND)
            with self.store.lock:
                if route.auth in ("admin", "sandbox") and req.principal is None:
                    self.authenticate(req)
                if route.auth == "sandbox":
                    req.require_master_role("admin")
                return route.handler(req)
        except HttpError as exc:
            return Response(exc.status, exc.body, exc.headers)
        except Exception:  # a sandbox bug: answer like Keycloak's mapper does for a 500, log the cause
            traceback.print_exc(file=sys.stderr)
            return Response(500, SERVER_ERROR)


STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No Content",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Request Entity Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def jackson(body: Any) -> bytes:
    """JSON as Keycloak's Jackson writes it: no spaces after `:` and `,`, UTF-8 instead of
    `\\u` escapes (control characters are still escaped), so error bodies compare equal as text."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class RequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; each response goes out in one write, with Nagle disabled.

    Reading is bounded like Keycloak's Vert.x front: size limits on the request line, the headers
    and the body, the caller authenticated before its body is read, and a deadline per request so
    that a slow or silent client cannot hold a thread.
    """

    protocol_version = "HTTP/1.1"
    server: SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the sandbox's own request log is `GET /sandbox/requests`."""

    def do_GET(self) -> None:
        self.handle_any()

    def do_POST(self) -> None:
        self.handle_any()

    def do_PUT(self) -> None:
        self.handle_any()

    def do_DELETE(self) -> None:
        self.handle_any()

    def handle_one_request(self) -> None:
        """One request, read within limits; replaces the base class's unbounded reading."""
        app = self.server.app
        try:
            self.connection.settimeout(app.idle_timeout)
            reader = self.rfile
            assert isinstance(reader, io.BufferedReader)  # rbufsize -1: socketserver buffers reads
            if not reader.peek(1):  # idle until the first byte (it may already be buffered)
                self.close_connection = True
                return
            self.server.watch(self.connection, app.read_timeout)
            try:
                self.read_and_handle()
            finally:
                self.server.unwatch(self.connection)
        except OSError:  # timed out, reset, or shut down by the deadline watcher
            self.close_connection = True

    def read_and_handle(self) -> None:
        line = self.rfile.readline(MAX_REQUEST_LINE + 1)
        if not line:
            self.close_connection = True
            return
        if len(line) > MAX_REQUEST_LINE:
            self.refuse(414)
            return
        head = io.BytesIO()
        while True:
            header = self.rfile.readline(MAX_HEADERS + 1 - head.tell())
            if not header:  # the client went away mid-head
                self.close_connection = True
                return
            head.write(header)
            if header in (b"\r\n", b"\n"):
                break
            if head.tell() > MAX_HEADERS:
                self.refuse(431)
                return
        self.raw_requestline = line
        socket_file, self.rfile = self.rfile, io.BytesIO(head.getvalue())
        try:
            parsed = self.parse_request()  # answers 400/431/505 itself when the head is malformed
        finally:
            self.rfile = socket_file
        if not parsed:
            return
        handler = getattr(self, "do_" + self.command, None)
        if handler is None:
            self.send_error(501, f"Unsupported method ({self.command!r})")
            return
        handler()
        self.wfile.flush()

    def refuse(self, status: int) -> None:
        """Vert.x's answer to a request it will not read: status, empty body, connection closed."""
        self.close_connection = True
        self.send(Response(status, None, {}))

    def content_length(self) -> int | None:
        """The declared body length; None when it is not a non-negative integer (Keycloak: 400)."""
        raw = self.headers.get("Content-Length")
        if raw is None or raw.strip() == "":
            return 0
        raw = raw.strip()
        return int(raw) if raw.isdigit() and raw.isascii() else None

    def handle_any(self) -> None:
        started = time.perf_counter()
        app = self.server.app
        length = self.content_length()
        if length is None:
            self.refuse(400)
            return
        if length > MAX_BODY:
            self.refuse(413)
            return
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        if app.context_path:
            if not (path == app.context_path or path.startswith(app.context_path + "/")):
                self.send(Response(404, {"error": "HTTP 404 Not Found"}))
                self.discard(length)
                return
            path = path[len(app.context_path) :] or "/"
        route, params, known = app.router.match(self.command, path)
        bound_host, bound_port = self.server.server_address[:2]
        host = self.headers.get("Host") or f"{bound_host!s}:{bound_port}"
        base = f"http://{host}{app.context_path}"
        req = Request(app, self.command, path, params, parse_qs(url.query), self.headers, b"", base)
        keycloak = not path.startswith("/sandbox/")
        denied = self.authenticate_first(req, route)
        if denied is not None:  # the body of a caller that is not allowed is never read
            if keycloak:
                self.record(app, route, path, denied.status, started)
            self.send(denied)
            self.discard(length)
            return
        req.body = self.rfile.read(length) if length else b""
        if len(req.body) < length:  # the client went away before sending what it declared
            self.close_connection = True
            return
        self.server.unwatch(self.connection)  # read in full: handling time is not the client's
        if keycloak:
            fault = app.draw_fault()
            if fault == "drop":
                self.record(app, route, path, 0, started)
                self.close_connection = True
                return
            if fault == "slow":
                time.sleep(app.slow_ms / 1000)
            response = Response(503, SERVER_ERROR) if fault == "error" else app.dispatch(req, route, known)
            if fault == "lost":  # the request took effect, but its answer never reaches the client
                self.record(app, route, path, 0, started)
                self.close_connection = True
                return
            if app.latency_ms:
                time.sleep(app.latency_ms / 1000)
            self.record(app, route, path, response.status, started)
        else:
            response = app.dispatch(req, route, known)
        self.send(response)

    def authenticate_first(self, req: Request, route: Route | None) -> Response | None:
        """The 401 for a request that needs a bearer token and lacks a valid one, else None
        (the principal is then set on `req`): Keycloak answers 401 before reading the body."""
        needs_token = route.auth in ("admin", "sandbox") if route else req.path.startswith("/admin/")
        if not needs_token:
            return None
        try:
            with req.app.store.lock:
                req.app.authenticate(req)
        except HttpError as exc:
            return Response(exc.status, exc.body, exc.headers)
        return None

    def discard(self, length: int) -> None:
        """Skip the unread body of an answered request, 64 KiB at a time and keeping none of it, so
        that the connection stays usable (at most MAX_BODY, within the read deadline)."""
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                self.close_connection = True
                return
            length -= len(chunk)

    def record(self, app: App, route: Route | None, path: str, status: int, started: float) -> None:
        template = route.template if route else path
        with app.stats_lock:
            app.stats.record(self.command, template, status, (time.perf_counter() - started) * 1000, self.path)

    def send(self, response: Response) -> None:
        payload = b""
        headers = dict(response.headers)
        if response.body is not None:
            payload = response.body if isinstance(response.body, bytes) else jackson(response.body)
            headers.setdefault("Content-Type", "application/json")
        head = [f"HTTP/1.1 {response.status} {STATUS_TEXT.get(response.status, 'Unknown')}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head.append(f"Content-Length: {len(payload)}")
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)


class SandboxHTTPServer(ThreadingHTTPServer):
    """A threading server carrying the App; threads are daemons so Ctrl-C stops at once."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self.deadlines: dict[socket.socket, float] = {}
        self.deadlines_lock = threading.Lock()
        self.watcher: threading.Thread | None = None
        super().__init__(address, RequestHandler)

    def watch(self, conn: socket.socket, seconds: float) -> None:
        """Shut `conn` down if its request is not read within `seconds` (see `unwatch`)."""
        with self.deadlines_lock:
            self.deadlines[conn] = time.monotonic() + seconds
            if self.watcher is None:
                self.watcher = threading.Thread(target=self.enforce_deadlines, name="sandbox-deadlines", daemon=True)
                self.watcher.start()

    def unwatch(self, conn: socket.socket) -> None:
        with self.deadlines_lock:
            self.deadlines.pop(conn, None)

    def enforce_deadlines(self) -> None:
        """One thread for all connections: a socket timeout alone does not stop a client that
        sends one byte just before each timeout, so overdue reads are cut by shutting the socket."""
        while True:
            time.sleep(0.2)
            now = time.monotonic()
            with self.deadlines_lock:
                overdue = [conn for conn, deadline in self.deadlines.items() if deadline <= now]
                for conn in overdue:
                    del self.deadlines[conn]
            for conn in overdue:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
