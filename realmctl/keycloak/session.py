"""The connection to a Keycloak server: settings from the environment, auth, raw admin calls.

python-keycloak's `KeycloakOpenIDConnection` does the token work (password or client-credentials
grant, refresh before expiry, one retry on 401); this module adds what realmctl needs on top:
settings read only from the environment (never from argv, which shows in process lists), one clear
error for an unreachable server or refused credentials, JSON in and out, and a count of the
requests sent so that runs can report (and tests can assert) their request budget.
"""

import json
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

import requests
from keycloak import KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakAuthenticationError, KeycloakConnectionError, KeycloakError

from realmctl.errors import ConnectionFailed, RealmctlError

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


class ApiError(RealmctlError):
    """The server answered a request with an error status."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        self.method, self.path, self.status, self.body = method, path, status, body
        detail = ""
        if isinstance(body, dict):
            detail = str(body.get("errorMessage") or body.get("error_description") or body.get("error") or "")
        super().__init__(f"{method} {path} failed with HTTP {status}" + (f": {detail}" if detail else ""))


class NotFound(ApiError):
    """HTTP 404."""


class Transient(ApiError):
    """A failure worth retrying: the connection broke, or the server said 429/502/503/504."""

    def __init__(self, method: str, path: str, status: int, body: Any, retry_after: float | None = None) -> None:
        super().__init__(method, path, status, body)
        self.retry_after = retry_after


RETRY_STATUS = frozenset({429, 502, 503, 504})


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


class _Connection(KeycloakOpenIDConnection):
    """python-keycloak's connection with token refresh under a lock, so that concurrent requests
    share one admin token and refresh it once when it nears expiry."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._token_lock = threading.RLock()
        super().__init__(*args, **kwargs)

    def _refresh_if_required(self) -> None:
        if self.expires_at is None or datetime.now(tz=UTC) < self.expires_at:
            return
        with self._token_lock:  # the first thread refreshes; the others find a fresh token
            if self.expires_at is not None and datetime.now(tz=UTC) >= self.expires_at:
                self.refresh_token()

    def refresh_token(self) -> None:
        with self._token_lock:
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
        self, settings: Settings, timeout: int = 30, parallelism: int = 8, retry: RetryPolicy | None = None
    ) -> None:
        self.settings = settings
        self.retry = retry or RetryPolicy()
        self.parallelism = parallelism
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
            timeout=timeout,
            pool_maxsize=max(10, parallelism * 2),
        )
        # requests re-reads proxy settings from the environment on every call (a fifth of the client's
        # time in the benchmarks); read them once, for this server, and stop it looking again.
        session = self._conn._s
        session.proxies.update(requests.utils.get_environ_proxies(settings.url))
        session.trust_env = False
        self.counts: Counter[str] = Counter()
        self.retries = 0
        self._lock = threading.Lock()
        self._serverinfo: dict[str, Any] | None = None

    def login(self) -> None:
        """Fetches the admin token now, so bad credentials fail before any other request."""
        where = f"{self.settings.url} (realm {self.settings.auth_realm})"
        try:
            for attempt in range(self.retry.attempts):
                try:
                    self._conn.get_token()
                    break
                except KeycloakConnectionError:
                    if attempt == self.retry.attempts - 1:
                        raise
                    time.sleep(self.retry.delay(attempt, None))
                except KeycloakError as exc:
                    if getattr(exc, "response_code", None) not in RETRY_STATUS or attempt == self.retry.attempts - 1:
                        raise
                    time.sleep(self.retry.delay(attempt, None))
        except KeycloakAuthenticationError as exc:
            raise ConnectionFailed(f"The server at {where} refused realmctl's credentials.") from exc
        except KeycloakConnectionError as exc:
            raise ConnectionFailed(f"Cannot reach the Keycloak server at {self.settings.url}.") from exc
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
        `create` before it is sent again.
        """
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                return self._send_once(method, path, body, params)
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
                time.sleep(delay)

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
            raise Transient(method, path, 0, {"error": f"connection to {self.settings.url} failed"}) from exc
        log.debug("%s %s -> %s", method, path, response.status_code)
        payload: Any = None
        if response.content:
            try:
                payload = response.json()
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
        concurrent run), and the object is adopted.
        """
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                created = self.post(path, body)
                found = (created or {}).get("id") if isinstance(created, dict) else None
                return found or find() or ""
            except Transient as exc:
                existing = find()
                if existing:
                    return existing
                attempt += 1
                delay = self.retry.delay(attempt, exc.retry_after)
                if attempt >= self.retry.attempts or time.monotonic() - started + delay > self.retry.budget:
                    raise
                with self._lock:
                    self.retries += 1
                time.sleep(delay)
            except ApiError as exc:
                if exc.status == 409:
                    existing = find()
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
