"""The HTTP layer under every request realmctl sends: redirects, time limits, TLS failures.

Every `requests.Session` realmctl uses (python-keycloak's two, for admin calls and for the token
endpoint, and the probe's) gets a `GuardedAdapter` mounted, so that one place decides:

* A redirect to another origin (scheme, host and port; https -> http counts) is refused before it
  is followed: requests would re-send a 307/308's body (the password or client-secret form, an
  admin write holding secrets) to whatever host the answer names.
* Each request must be answered *completely* within `Clock.timeout` seconds, and no request may
  end after the run's deadline. requests' own timeout bounds each socket read, so a server that
  trickles a byte every few seconds defeats it; here a watchdog thread shuts the socket down when
  the wall-clock limit passes, whatever phase the request is in.
* A TLS failure is named as such and is not retried (retrying cannot fix a certificate).
"""

import contextlib
import heapq
import ipaddress
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from realmctl.errors import ConnectionFailed, RealmctlError
from realmctl.limits import DEFAULT_DEADLINE as DEFAULT_DEADLINE  # re-exported: defined apart for cli.py
from realmctl.limits import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> str:
    """`scheme://host:port` of `url`, with the default port made explicit, for comparing origins."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses: traffic to them never leaves the machine."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class CrossOriginRedirect(ConnectionFailed):
    """The server redirected a request to another origin; nothing was sent there."""


class TlsFailed(ConnectionFailed):
    """The TLS handshake failed (most often: the certificate could not be verified)."""


class DeadlineExceeded(ConnectionFailed):
    """The run's deadline passed before a request was answered."""


class TooSlow(ConnectionFailed):
    """One request was not answered completely within the per-request timeout (retryable)."""


class Clock:
    """The run's time limits: `timeout` seconds for each whole answer, `deadline` seconds for the run.

    The deadline counts from the clock's creation (the run's start); `paused()` stops it while
    realmctl waits for a person (apply's confirmation prompt).
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, deadline: float = DEFAULT_DEADLINE) -> None:
        self.timeout = float(timeout)
        self.deadline = float(deadline)
        self._ends = time.monotonic() + self.deadline

    def remaining(self) -> float:
        return self._ends - time.monotonic()

    def limit(self) -> tuple[float, bool]:
        """Seconds the next request may take, and whether it is the run's deadline that bounds it."""
        remaining = self.remaining()
        return (remaining, True) if remaining < self.timeout else (self.timeout, False)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self._ends += time.monotonic() - started

    def deadline_error(self, what: str) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"{what} was not answered before the run's deadline of {self.deadline:g} s "
            "(--deadline or REALMCTL_DEADLINE)."
        )


class _Watch:
    """One request's wall-clock limit; `fire` shuts its socket down so that a blocked read returns."""

    def __init__(self, ends: float) -> None:
        self.ends = ends
        self.conns: list[HTTPConnection] = []
        self.fired = False
        self.done = False
        self.lock = threading.Lock()

    def fire(self) -> None:
        with self.lock:
            if self.done:
                return
            self.fired = True
            for conn in self.conns:
                sock = conn.sock
                if getattr(conn, "_realmctl_watch", None) is self and sock is not None:
                    with contextlib.suppress(OSError):  # the base method: an SSLSocket's would drop its state
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def finish(self) -> None:
        with self.lock:
            self.done = True


class _Watchdog:
    """One daemon thread for all requests: fires each watch whose time has come."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, watch: _Watch) -> None:
        with self._cond:
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (watch.ends, next(self._ids), watch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="realmctl-watchdog", daemon=True)
                self._thread.start()
            elif earliest is None or watch.ends < earliest:
                self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].done or self._heap[0][0] <= now):
                    watch = heapq.heappop(self._heap)[2]
                    if not watch.done:
                        watch.fire()
                self._cond.wait(self._heap[0][0] - now if self._heap else None)


_WATCHDOG = _Watchdog()
_local = threading.local()


class _WatchedHTTPConnection(HTTPConnection):
    """Tells the current request's watch which connection carries it."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self)
        super().request(*args, **kwargs)


def _watch(conn: HTTPConnection) -> None:
    watch = getattr(_local, "watch", None)
    conn._realmctl_watch = watch  # type: ignore[attr-defined]
    if watch is not None:
        watch.conns.append(conn)


class _Pool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _TlsPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _Pool, "https": _TlsPool}


def _is_certificate_failure(exc: BaseException) -> bool:
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if "CERTIFICATE_VERIFY_FAILED" in str(item) or type(item).__name__ == "SSLCertVerificationError":
            return True
        if isinstance(item, BaseException):
            todo.extend([item.__cause__, item.__context__, *item.args, getattr(item, "reason", None)])
    return False


class GuardedAdapter(HTTPAdapter):
    """requests' adapter with realmctl's rules: no cross-origin redirect, wall-clock limits, TLS named."""

    def __init__(self, clock: Clock, **kwargs: Any) -> None:
        self.clock = clock
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, **kwargs: Any
    ) -> requests.Response:
        url = request.url or ""
        what = f"{request.method} {urlsplit(url).path}"
        limit, by_deadline = self.clock.limit()
        if limit <= 0:
            raise self.clock.deadline_error(what)
        watch = _Watch(time.monotonic() + limit)
        _local.watch = watch
        _WATCHDOG.add(watch)
        try:
            response = super().send(request, stream=stream, timeout=(limit, limit), **kwargs)
            if response.is_redirect:
                self._refuse_other_origin(what, url, response)
            if not stream:
                response.content  # noqa: B018  (read the whole body under the watch)
            return response
        except RealmctlError:
            raise
        except Exception as exc:
            if watch.fired or isinstance(exc, requests.Timeout):
                if by_deadline:
                    raise self.clock.deadline_error(what) from exc
                raise TooSlow(
                    f"{what}: no complete answer from {origin(url)} within {limit:g} s "
                    "(--timeout or REALMCTL_REQUEST_TIMEOUT)"
                ) from exc
            if isinstance(exc, requests.exceptions.SSLError):
                if _is_certificate_failure(exc):
                    raise TlsFailed(
                        f"The TLS certificate of {origin(url)} could not be verified: set KEYCLOAK_CA_BUNDLE to the "
                        "CA file that signed it (KEYCLOAK_INSECURE=1 turns verification off, for a throwaway "
                        "test server only)."
                    ) from exc
                raise TlsFailed(f"The TLS handshake with {origin(url)} failed ({_short(exc)}).") from exc
            raise
        finally:
            watch.finish()
            _local.watch = None

    @staticmethod
    def _refuse_other_origin(what: str, url: str, response: requests.Response) -> None:
        target = urljoin(url, response.headers.get("Location", ""))
        if origin(target) != origin(url):
            response.close()
            raise CrossOriginRedirect(
                f"{what} was redirected (HTTP {response.status_code}) from {origin(url)} to {origin(target)}, "
                "another origin; realmctl does not follow it, so that no credentials or request body reach "
                "that server (set KEYCLOAK_URL to the server that answers)."
            )


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 160 else text[:157] + "..."


def guard(session: requests.Session, clock: Clock, pool_maxsize: int = 10) -> requests.Session:
    """Mounts a `GuardedAdapter` on `session` for http and https; returns the session."""
    # urllib3 may retry only a connection that was never made: a request that was sent (its answer
    # lost) is retried, or re-read first, by realmctl's own rules (session.py), never blindly here.
    retry = Retry(total=1, connect=1, read=False, status=False, other=0, redirect=False)
    for prefix in ("https://", "http://"):
        session.mount(prefix, GuardedAdapter(clock, max_retries=retry, pool_maxsize=pool_maxsize))
    return session
