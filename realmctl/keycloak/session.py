"""The connection to a Keycloak server: settings from the environment, auth, raw admin calls.

python-keycloak's `KeycloakOpenIDConnection` does the token work (password or client-credentials
grant, refresh before expiry, one retry on 401); this module adds what realmctl needs on top:
settings read only from the environment (never from argv, which shows in process lists), one clear
error for an unreachable server or refused credentials, JSON in and out, and a count of the
requests sent so that runs can report (and tests can assert) their request budget. Both of
python-keycloak's sessions run under realmctl's transport rules (transport.py: no redirect to
another origin, a wall-clock limit per request and per run, TLS failures named); a success answer
that is not Keycloak's JSON is one sentence naming the request.
"""

import contextlib
import json
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
import keycloak.connection
import requests
import urllib3
from keycloak import KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakAuthenticationError, KeycloakConnectionError, KeycloakError

from realmctl import exitcodes
from realmctl.errors import ConnectionFailed, RealmctlError
from realmctl.keycloak.transport import Clock, TooSlow, guard, is_loopback, origin

log = logging.getLogger("realmctl.http")


@dataclass(frozen=True)
class Settings:
    """Where the server is and how to log in. Secrets stay out of `repr`."""

    url: str
    auth_realm: str = "master"
    user: str | None = None
    password: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    verify: bool | str = True

    def __repr__(self) -> str:
        who = self.user or self.client_id
        return f"Settings(url={self.url!r}, auth_realm={self.auth_realm!r}, login={who!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Reads KEYCLOAK_URL and the credentials; a missing piece is one clear error."""
        env = os.environ if env is None else env
        url = env.get("KEYCLOAK_URL", "").strip()
        if not url:
            raise RealmctlError(
                "KEYCLOAK_URL is not set: set it to the server's base URL (e.g. https://sso.example.com "
                "or https://sso.example.com/auth), or pass --sandbox to run against an in-memory sandbox."
            )
        user, password = env.get("KEYCLOAK_USER"), env.get("KEYCLOAK_PASSWORD")
        client_id, client_secret = env.get("KEYCLOAK_CLIENT_ID"), env.get("KEYCLOAK_CLIENT_SECRET")
        if user and password is None:
            raise RealmctlError("KEYCLOAK_USER is set but KEYCLOAK_PASSWORD is not.")
        if not user and not (client_id and client_secret):
            raise RealmctlError(
                "No credentials: set KEYCLOAK_USER and KEYCLOAK_PASSWORD (password grant on admin-cli), "
                "or KEYCLOAK_CLIENT_ID and KEYCLOAK_CLIENT_SECRET (client credentials)."
            )
        verify: bool | str = True
        if env.get("KEYCLOAK_CA_BUNDLE"):
            verify = env["KEYCLOAK_CA_BUNDLE"]
            if not os.path.exists(verify):
                raise RealmctlError(
                    f"KEYCLOAK_CA_BUNDLE names {verify}, which does not exist: set it to the CA file (PEM) "
                    "that signed the server's certificate."
                )
        if env.get("KEYCLOAK_INSECURE", "") in ("1", "true", "yes"):
            verify = False
        return cls(
            url=url.rstrip("/"),
            auth_realm=env.get("KEYCLOAK_AUTH_REALM") or "master",
            user=user or None,
            password=password if user else None,
            client_id=None if user else client_id,
            client_secret=None if user else client_secret,
            verify=verify,
        )

    def warnings(self) -> list[str]:
        """realmctl's own warnings about this connection: TLS off, or secrets sent in clear."""
        out = []
        if self.verify is False:
            out.append(
                "KEYCLOAK_INSECURE=1: TLS certificates are not verified, so anyone on the network path can "
                "pose as the server and read realmctl's credentials; use it for a throwaway test server only."
            )
        parts = urlsplit(self.url)
        if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
            out.append(
                f"KEYCLOAK_URL is plain http to {parts.hostname}, which is not this machine: the credentials "
                "and every secret in the spec cross the network unencrypted; use https."
            )
        return out


class ApiError(RealmctlError):
    """The server answered a request with an error status."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        self.method, self.path, self.status, self.body = method, path, status, body
        detail = ""
        if isinstance(body, dict):
            detail = str(body.get("errorMessage") or body.get("error_description") or body.get("error") or "")
        if status == 0:  # no answer at all: the detail says why
            super().__init__(f"{method} {path} failed: {detail or 'no answer'}")
            return
        super().__init__(f"{method} {path} failed with HTTP {status}" + (f": {detail}" if detail else ""))


class NotFound(ApiError):
    """HTTP 404."""


class Transient(ApiError):
    """A failure worth retrying: the connection broke, or the server said 429/502/503/504.

    Once retries are exhausted the server is as good as unreachable: exit 4, as for apply.
    """

    exit_code = exitcodes.CONNECTION

    def __init__(self, method: str, path: str, status: int, body: Any, retry_after: float | None = None) -> None:
        super().__init__(method, path, status, body)
        self.retry_after = retry_after


class MalformedAnswer(ConnectionFailed):
    """A success status whose body is not what Keycloak sends (an HTML page from a proxy, cut JSON)."""


RETRY_STATUS = frozenset({429, 502, 503, 504})


def _unwrap(exc: KeycloakConnectionError) -> BaseException | None:
    """realmctl's own error behind python-keycloak's "Can't connect to server", if there is one.

    python-keycloak wraps every exception of a request; the transport's refusals (a redirect to
    another origin, a TLS failure, the deadline) must reach the user as they are, not be retried.
    """
    cause = exc.__cause__
    return cause if isinstance(cause, RealmctlError) else None


def parse_json(method: str, path: str, response: requests.Response) -> Any:
    """The JSON body of a success answer; anything else is one sentence naming the request.

    Keycloak answers its admin and token endpoints with a JSON object or array (or nothing; a
    number for `.../count`); a `null`, a string or a number elsewhere means something else is
    answering, e.g. a proxy's page.
    """
    if not response.content:
        return None
    kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
    try:
        payload = response.json()
    except ValueError:
        raise MalformedAnswer(
            f"{method} {path} was answered with HTTP {response.status_code} and a body that is not JSON "
            f"({kind}, {len(response.content)} bytes): a proxy or another server may be answering for Keycloak."
        ) from None
    counting = path.split("?", 1)[0].endswith("/count")  # Keycloak's count endpoints answer a number
    if not isinstance(payload, dict | list) and not (counting and type(payload) is int):
        shape = "null" if payload is None else type(payload).__name__
        raise MalformedAnswer(
            f"{method} {path} was answered with HTTP {response.status_code} and a JSON {shape} where Keycloak "
            "sends an object or a list: a proxy or another server may be answering for Keycloak."
        )
    return payload


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts and in total time."""

    attempts: int = 6
    base: float = 0.2
    cap: float = 5.0
    budget: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.cap * 4)
        return random.uniform(0, min(self.cap, self.base * 2**attempt))


#: OAuth errors of the token endpoint that mean "these credentials are not accepted".
REFUSED_LOGIN = frozenset({"invalid_grant", "invalid_client", "unauthorized_client"})


def _oauth_error(body: Any) -> tuple[str, str]:
    """(error, error_description) of a token-endpoint answer, empty strings when it has none."""
    try:
        parsed = json.loads(body) if isinstance(body, bytes | str) else body
    except ValueError:
        return "", ""
    if not isinstance(parsed, dict):
        return "", ""
    return str(parsed.get("error") or ""), str(parsed.get("error_description") or "")[:200]


class _LazyAsyncClient:
    """python-keycloak's connection builds an `httpx.AsyncClient` in its constructor, which loads
    the CA bundle into an SSL context (30-70 ms, two connections per run), for async calls realmctl
    never makes: it uses the requests session. This one builds that client, with the same
    arguments and attributes, only when something first uses it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        object.__setattr__(self, "_args", (args, kwargs))
        object.__setattr__(self, "_client", None)
        object.__setattr__(self, "_pending", {})

    def _real(self) -> httpx.AsyncClient:
        if self._client is None:
            args, kwargs = self._args
            client = httpx.AsyncClient(*args, **kwargs)
            for name, value in self._pending.items():
                setattr(client, name, value)
            object.__setattr__(self, "_client", client)
        return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if self._client is None:
            self._pending[name] = value
        else:
            setattr(self._client, name, value)


class _HttpxForKeycloak:
    """httpx as python-keycloak's connection module sees it: all of it, with a lazy AsyncClient."""

    AsyncClient = _LazyAsyncClient

    def __getattr__(self, name: str) -> Any:
        return getattr(httpx, name)


keycloak.connection.httpx = _HttpxForKeycloak()  # type: ignore[assignment]


class _Connection(KeycloakOpenIDConnection):
    """python-keycloak's connection with token refresh under a lock, so that concurrent requests
    share one admin token and refresh it once when it nears expiry; both of its sessions (admin
    calls, token endpoint) go through realmctl's transport (redirects, time limits, TLS)."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        self._token_lock = threading.RLock()
        self._clock = clock
        super().__init__(*args, **kwargs)
        guard(self._s, clock, self.pool_maxsize or 10)

    @property
    def keycloak_openid(self) -> Any:
        if self._keycloak_openid is None:
            openid = KeycloakOpenIDConnection.keycloak_openid.fget(self)  # type: ignore[attr-defined]
            session = openid.connection._s
            session.trust_env = False
            session.proxies.update(self._s.proxies)
            guard(session, self._clock)
        return self._keycloak_openid

    @contextlib.contextmanager
    def _token_answer(self) -> Iterator[None]:
        """python-keycloak fails with TypeError/KeyError on a 200 that is not a token; say so once."""
        try:
            yield
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            path = f"/realms/{self.user_realm_name or self.realm_name}/protocol/openid-connect/token"
            raise MalformedAnswer(
                f"POST {path} was answered with something that is not a token ({type(exc).__name__}): "
                "a proxy or another server may be answering for Keycloak."
            ) from None

    def get_token(self) -> None:
        with self._token_answer():
            super().get_token()

    def _refresh_if_required(self) -> None:
        if self.expires_at is None or datetime.now(tz=UTC) < self.expires_at:
            return
        with self._token_lock:  # the first thread refreshes; the others find a fresh token
            if self.expires_at is not None and datetime.now(tz=UTC) >= self.expires_at:
                self.refresh_token()

    def refresh_token(self) -> None:
        with self._token_lock, self._token_answer():
            super().refresh_token()


#: Segments that URL handling anywhere on the way (urljoin, urllib3, proxies, the server) reads as
#: "this folder" or "the parent folder": a role named `..` would otherwise address the realm itself.
DOT_SEGMENTS = frozenset({"", ".", ".."})


class UnsafePath(RealmctlError):
    """A path that would not reach the object it was built for; nothing was sent."""


def seg(value: str) -> str:
    """Quotes one path segment, so that a name stays one segment whatever it holds.

    Every character but the unreserved ones is percent-encoded (`a/b` -> `a%2Fb`, `a;b` -> `a%3Bb`,
    which Keycloak 26.7 decodes back into the one name). `.` and `..` cannot be encoded that way
    (dots are unreserved, and URL normalisation resolves them), so they are refused here, and the
    spec validator refuses them before any request.
    """
    if value in DOT_SEGMENTS:
        raise UnsafePath(f"refusing to use {value!r} as a name in a URL: it would address a different object")
    return quote(value, safe="")


def checked_path(path: str) -> str:
    """`path` if each of its segments stays where it was put; raises UnsafePath otherwise.

    The last line of defence for paths assembled from ids the server returned (a hostile or broken
    server could answer with an id of `..`) and for any f-string that forgot `seg`.
    """
    bare = path.split("?", 1)[0]
    for part in bare.split("/"):
        if part in DOT_SEGMENTS or unquote(part) in (".", ".."):
            raise UnsafePath(
                f"refusing to send a request to {bare!r}: a segment of it would change which object it addresses"
            )
    return path


class Api:
    """Admin REST calls with JSON bodies, counted by method."""

    def __init__(
        self,
        settings: Settings,
        timeout: float | None = None,
        parallelism: int = 8,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.retry = retry or RetryPolicy()
        self.parallelism = parallelism
        #: How gather reads a realm: "listings" (GETs) or "export" (realmctl/export_read.py).
        self.read_strategy = "listings"
        self.clock = clock or Clock(**({"timeout": timeout} if timeout else {}))
        grant = "password" if settings.user else "client_credentials"
        self._conn = _Connection(
            server_url=settings.url + "/",
            username=settings.user,
            password=settings.password,
            realm_name=settings.auth_realm,
            user_realm_name=settings.auth_realm,
            client_id=settings.client_id or "admin-cli",
            client_secret_key=settings.client_secret,
            grant_type=grant,
            verify=settings.verify,
            timeout=self.clock.timeout,
            pool_maxsize=max(10, parallelism * 2),
            clock=self.clock,
        )
        # requests re-reads proxy settings from the environment on every call (a fifth of the client's
        # time in the benchmarks); read them once, for this server, and stop it looking again.
        session = self._conn._s
        session.proxies.update(requests.utils.get_environ_proxies(settings.url))
        session.trust_env = False
        if settings.verify is False:  # realmctl warns once itself (Settings.warnings); not once per host
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self.counts: Counter[str] = Counter()
        self.retries = 0
        self._lock = threading.Lock()
        self._serverinfo: dict[str, Any] | None = None

    def session(self) -> requests.Session:
        """A new requests.Session under the same transport rules (redirects, time limits, TLS), for
        calls outside the admin API (the probes' token and broker requests)."""
        http = requests.Session()
        http.verify = self.settings.verify
        http.trust_env = False
        http.proxies.update(self._conn._s.proxies)
        return guard(http, self.clock)

    def _wait(self, delay: float, what: str) -> None:
        """Sleeps before a retry, unless the run's deadline would pass meanwhile."""
        if delay >= self.clock.remaining():
            raise self.clock.deadline_error(what)
        time.sleep(delay)

    def login(self) -> None:
        """Fetches the admin token now, so bad credentials fail before any other request.

        Connection failures and 429/5xx answers are retried like admin requests, bounded in count,
        in time (the retry budget) and by the run's deadline; a refusal of the transport (TLS, a
        redirect to another origin, the deadline) is not retried.
        """
        where = f"{self.settings.url} (realm {self.settings.auth_realm})"
        what = f"POST /realms/{self.settings.auth_realm}/protocol/openid-connect/token"
        started = time.monotonic()
        try:
            for attempt in range(self.retry.attempts):
                try:
                    self._conn.get_token()
                    return
                except KeycloakConnectionError as exc:
                    own = _unwrap(exc)
                    if own is not None and not isinstance(own, TooSlow):
                        raise own from None
                    last = attempt == self.retry.attempts - 1
                except KeycloakError as exc:
                    if getattr(exc, "response_code", None) not in RETRY_STATUS:
                        raise
                    last = attempt == self.retry.attempts - 1
                delay = self.retry.delay(attempt, None)
                if last or time.monotonic() - started + delay > self.retry.budget:
                    raise ConnectionFailed(f"Cannot reach the Keycloak server at {self.settings.url}.")
                self._wait(delay, what)
        except KeycloakAuthenticationError as exc:
            raise ConnectionFailed(f"The server at {where} refused realmctl's credentials.") from exc
        except KeycloakError as exc:
            code = getattr(exc, "response_code", None)
            reason = _oauth_error(getattr(exc, "response_body", None))
            if code == 400 and reason[0] in REFUSED_LOGIN:
                # Keycloak 26.7 answers a wrong password with 400 invalid_grant (not 401).
                detail = f": {reason[1]}" if reason[1] else ""
                raise ConnectionFailed(f"The server at {where} refused realmctl's credentials{detail}.") from exc
            raise ConnectionFailed(f"Logging in to {where} failed (HTTP {code}).") from exc

    def _count(self, method: str) -> None:
        with self._lock:
            self.counts[method] += 1

    def _send(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> Any:
        """Sends, retrying transient failures for GET, PUT and DELETE (they are idempotent here).

        POST is never repeated blindly: a create that may have reached the server is re-read by
        `create` before it is sent again. A DELETE that was retried and then answered 404 may
        have succeeded the first time (its answer lost): a re-read decides.
        """
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                return self._send_once(method, path, body, params)
            except NotFound:
                if method == "DELETE" and attempt and self._gone(path, body):
                    log.info("DELETE %s: 404 on a retry, and a re-read finds it gone: done", path)
                    return None
                raise
            except Transient as exc:
                attempt += 1
                delay = self.retry.delay(attempt, exc.retry_after)
                spent = time.monotonic() - started
                if (
                    (method == "POST" and not idempotent)
                    or attempt >= self.retry.attempts
                    or spent + delay > self.retry.budget
                ):
                    raise
                log.info("%s %s: %s; retrying in %.1fs", method, path, exc, delay)
                with self._lock:
                    self.retries += 1
                self._wait(delay, f"{method} /{path}")

    def _gone(self, path: str, body: Any) -> bool:
        """Whether what a DELETE of `path` (with `body`) removes is absent now.

        A 200 on the path means the object is there, unless the DELETE had a body (role mappings):
        then none of the body's ids may still be listed. A 404 or 405 on the path is confirmed in
        the parent's list, because link paths (a client's default scope, a group membership) have
        no GET: Keycloak 26.7 answers those 404 "HTTP 404 Not Found" and the sandbox 405.
        """
        try:
            here = self.get(path)
        except ApiError as exc:
            if exc.status not in (404, 405):
                return False
            parent, _, last = path.rpartition("/")
            try:
                listed = self.get(parent)
            except NotFound:
                return True  # the container is gone, and the object with it
            if not isinstance(listed, list):
                return exc.status == 404
            key = unquote(last)
            return not any(
                isinstance(item, dict) and key in (item.get(k) for k in ("id", "name", "alias", "realm"))
                for item in listed
            )
        if not isinstance(body, list) or not isinstance(here, list):
            return False
        wanted = {str(item.get("id")) for item in body if isinstance(item, dict)}
        return not wanted & {str(item.get("id")) for item in here if isinstance(item, dict)}

    def _send_once(self, method: str, path: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        # An absolute URL, so that python-keycloak's urljoin never resolves anything in `path`
        # (it would turn `x/..` into the parent and `//host/...` into another server).
        url = f"{self.settings.url}/{checked_path(path)}"
        self._count(method)
        try:
            if method == "GET":
                response = self._conn.raw_get(url, **dict(params or {}))
            elif method == "POST":
                response = self._conn.raw_post(url, data=json.dumps(body), **dict(params or {}))
            elif method == "PUT":
                response = self._conn.raw_put(url, data=json.dumps(body), **dict(params or {}))
            else:
                response = self._conn.raw_delete(url, data=None if body is None else json.dumps(body))
        except KeycloakConnectionError as exc:
            own = _unwrap(exc)
            if isinstance(own, TooSlow):
                raise Transient(method, path, 0, {"error": str(own).split(": ", 1)[-1]}) from None
            if own is not None:
                raise own from None
            raise Transient(method, path, 0, {"error": f"connection to {origin(url)} failed"}) from exc
        log.debug("%s %s -> %s", method, path, response.status_code)
        if response.status_code < 300:
            payload = parse_json(method, f"/{path}", response)
        else:
            try:
                payload = response.json() if response.content else None
            except ValueError:
                payload = response.text[:200]
        if response.status_code in RETRY_STATUS:
            after = response.headers.get("Retry-After", "")
            raise Transient(method, path, response.status_code, payload, float(after) if after.isdigit() else None)
        if response.status_code == 404:
            raise NotFound(method, path, 404, payload)
        if response.status_code in (401, 403):
            raise ConnectionFailed(
                f"The server refused {method} {path} (HTTP {response.status_code}): "
                "realmctl's login lacks the admin roles it needs."
            )
        if response.status_code >= 400:
            raise ApiError(method, path, response.status_code, payload)
        if method == "POST" and response.status_code == 201 and payload is None:
            location = response.headers.get("Location", "")
            return {"id": location.rstrip("/").rsplit("/", 1)[-1]} if location else None
        return payload

    def get(self, path: str, **params: Any) -> Any:
        """GET `path` (relative to the server URL, e.g. "admin/realms/x/clients") as JSON."""
        return self._send("GET", path, params=params)

    def get_or_none(self, path: str, **params: Any) -> Any:
        """GET, with None for a 404."""
        try:
            return self.get(path, **params)
        except NotFound:
            return None

    def get_all(self, path: str, page: int = 500, **params: Any) -> list[Any]:
        """GETs every page of a paged list endpoint (first/max)."""
        items: list[Any] = []
        first = 0
        while True:
            batch = self.get(path, first=first, max=page, **params) or []
            if not isinstance(batch, list):
                raise MalformedAnswer(
                    f"GET /{path} was answered with a JSON object where Keycloak sends a list: "
                    "a proxy or another server may be answering for Keycloak."
                )
            items.extend(batch)
            if len(batch) < page:
                return items
            first += page

    def post(self, path: str, body: Any, idempotent: bool = False) -> Any:
        """POST JSON; for a 201 without body returns {"id": <last Location segment>}.

        `idempotent=True` marks a POST that may safely be repeated (granting a role mapping twice
        is harmless), so it is retried like a PUT.
        """
        return self._send("POST", path, body=body, idempotent=idempotent)

    def create(self, path: str, body: Any, find: Callable[[], str | None]) -> str:
        """POSTs a new object and returns its id, never creating it twice.

        When the POST fails transiently it may still have reached the server, so `find` re-reads
        (by natural key) before it is sent again; a 409 means someone else created it first (a
        concurrent run, or our own lost attempt), and the object is adopted after that re-read.
        The re-read is itself retried: a POST is never re-sent while the re-read cannot tell.
        """
        started = time.monotonic()
        attempt = 0

        def backoff(exc: Transient) -> None:
            nonlocal attempt
            attempt += 1
            delay = self.retry.delay(attempt, exc.retry_after)
            if attempt >= self.retry.attempts or time.monotonic() - started + delay > self.retry.budget:
                raise exc
            with self._lock:
                self.retries += 1
            self._wait(delay, f"POST /{path}")

        def found() -> str | None:
            while True:
                try:
                    return find()
                except Transient as exc:
                    backoff(exc)

        while True:
            try:
                created = self.post(path, body)
                new = (created or {}).get("id") if isinstance(created, dict) else None
                return new or found() or ""
            except Transient as exc:
                existing = found()
                if existing:
                    return existing
                backoff(exc)
            except ApiError as exc:
                if exc.status == 409:
                    existing = found()
                    if existing:
                        return existing
                raise

    def put(self, path: str, body: Any) -> Any:
        """PUT JSON."""
        return self._send("PUT", path, body=body)

    def delete(self, path: str, body: Any = None) -> Any:
        """DELETE, with an optional JSON body (role mappings take one)."""
        return self._send("DELETE", path, body=body)

    def serverinfo(self) -> dict[str, Any]:
        """GET /admin/serverinfo, once per run (features and version)."""
        with self._lock:
            cached = self._serverinfo
        if cached is None:
            cached = self.get("admin/serverinfo") or {}
            with self._lock:
                self._serverinfo = cached
        return cached

    @property
    def writes(self) -> int:
        """Admin requests sent that may change the server (logins are not counted at all)."""
        return sum(n for m, n in self.counts.items() if m != "GET")
