"""realmctl's Keycloak-compatible sandbox: an in-memory Keycloak 26.x on loopback.

```python
with Sandbox(profile="keycloak-26") as sb:
    sb.url  # "http://127.0.0.1:<port>"
```

Layout: `store` (the model, one RLock held per request), `defaults` (+ `defaults_data`, taken from
a real 26.2.5 export) for new realms and imports, `ops` (mutations shared by API and import),
`reps` (model → JSON), `http` (server, route table, auth, counting, latency, faults), `tokens`
(RS256 tokens and the token endpoint), `control` (`/sandbox/…`), `admin/*` (one module per area).

Extending (part 2: token exchange, broker token endpoint, JWKS, discovery, broker login): write a
module with `register(router)` that calls `router.add(method, template, handler, auth=...)` and
append its name to `ROUTE_MODULES`; handlers receive a `Request` (with `app.store`, `app.profile`)
and return a `Response` or raise `HttpError`. `tokens.access_claims` is the one place that builds
access-token claims; `FederatedIdentity.token` holds the stored upstream token response.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from realmctl.sandbox import defaults
from realmctl.sandbox.http import App, Router, SandboxHTTPServer
from realmctl.sandbox.profiles import get_profile
from realmctl.sandbox.store import Store

__all__ = ["Sandbox", "build_router"]

#: Modules whose `register(router)` adds routes; part 2 appends its own here.
ROUTE_MODULES = [
    "realmctl.sandbox.tokens",
    "realmctl.sandbox.broker",
    "realmctl.sandbox.broker_v2",
    "realmctl.sandbox.control",
    "realmctl.sandbox.admin.realms",
    "realmctl.sandbox.admin.clients",
    "realmctl.sandbox.admin.roles",
    "realmctl.sandbox.admin.idps",
    "realmctl.sandbox.admin.users",
    "realmctl.sandbox.admin.groups",
    "realmctl.sandbox.admin.role_mappings",
    "realmctl.sandbox.admin.client_scopes",
    "realmctl.sandbox.admin.authz",
    "realmctl.sandbox.admin.fgap",
    "realmctl.sandbox.admin.partial_import",
]


def build_router(modules: Iterable[str] = ROUTE_MODULES) -> Router:
    """A router with the routes of every module listed (each has `register(router)`)."""
    router = Router()
    for name in modules:
        importlib.import_module(name).register(router)
    return router


USERS_FILE_KEYS = {"realm", "users", "federatedUsers"}


def import_files(store: Store, paths: Iterable[str | Path], *, organization: bool) -> None:
    """Realm files as `kc.sh export` writes them: a realm file, with its users inline or in
    `*-users-N.json` files beside it (`{"realm": r, "users": [...]}`), given in any order.

    A file or object it cannot take is a ValueError of one sentence naming both."""
    from realmctl.sandbox.credentials import UnsupportedCredential
    from realmctl.sandbox.errors import HttpError

    loaded = []
    for path in paths:
        try:
            rep = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot import {path}: not a JSON realm file ({exc})") from None
        if not isinstance(rep, dict) or not rep.get("realm"):
            raise ValueError(f"cannot import {path}: it names no realm (`realm` field)")
        loaded.append((path, rep, set(rep) <= USERS_FILE_KEYS and "users" in rep))
    for path, rep, users_only in sorted(loaded, key=lambda item: item[2]):  # realm files first
        realm = store.realm(rep["realm"]) if users_only else None
        try:
            if realm is not None:
                defaults.import_users_file(realm, rep)
            else:
                defaults.import_realm(store, rep, organization=organization)
        except (HttpError, UnsupportedCredential) as exc:
            body = exc.body if isinstance(exc, HttpError) else {"errorMessage": str(exc)}
            message = body.get("errorMessage") or body.get("error_description") or body.get("error") or body
            raise ValueError(f"cannot import {path} (realm {rep['realm']!r}): {message}") from None
        except (TypeError, KeyError, AttributeError, ValueError) as exc:
            # a field of a shape Keycloak's export never writes (a string where a list belongs ...)
            raise ValueError(
                f"cannot import {path} (realm {rep['realm']!r}): not a realm export Keycloak writes "
                f"({type(exc).__name__}: {exc})"
            ) from None


class Sandbox:
    """An in-memory Keycloak on a loopback port, served from a background thread."""

    def __init__(
        self,
        profile: str = "keycloak-26",
        imports: Iterable[str | Path] = (),
        latency_ms: int = 0,
        fault_rate: float = 0.0,
        fault_seed: int = 0,
        admin_user: str = "admin",
        admin_password: str = "admin",
        context_path: str = "",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.profile = get_profile(profile)
        self.admin_user = admin_user
        self.admin_password = admin_password
        self.host = host
        self.port = port
        store = Store()
        organization = self.profile.has("ORGANIZATION")
        defaults.create_master(store, admin_user, admin_password, organization=organization)
        import_files(store, imports, organization=organization)
        self.app = App(store, self.profile, build_router())
        self.app.latency_ms = latency_ms
        self.app.context_path = "/" + context_path.strip("/") if context_path.strip("/") else ""
        self.app.set_faults(fault_rate, fault_seed)
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL without trailing slash, e.g. `http://127.0.0.1:8080`."""
        return f"http://{self.host}:{self.port}{self.app.context_path}"

    def bind(self) -> Sandbox:
        """Bind the port (0 = a free one) so that `url` is known before serving."""
        if self._server is None:
            self._server = SandboxHTTPServer((self.host, self.port), self.app)
            self.port = self._server.server_address[1]
        return self

    def start(self) -> Sandbox:
        """Bind and serve in a daemon thread."""
        if self._thread is not None:
            return self
        self.bind()
        assert self._server is not None
        # A short poll interval: `stop` waits for the serving loop to notice, up to one interval
        # (socketserver's default, 0.5 s, was most of the time a test spent on a sandbox of its own).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="realmctl-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the CLI's mode)."""
        self.bind()
        assert self._server is not None
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()
            self._server = None

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
