"""Shared fixtures: the Keycloak the integration tests talk to.

Three backends, same tests:

* the sandbox (default): one in-memory sandbox per profile serves the whole session;
* `pytest --backend keycloak [--keycloak-version 26.7.3]`: real Keycloak servers started through
  tests/keycloak_server.py, one per profile the collected tests need (`keycloak`: the release's
  defaults, `legacy_keycloak`: legacy token exchange + FGAP v1, `modern_keycloak`: 26.6+ with
  identity-brokering-api v2 and the JWT authorization grant), on free ports, stopped when the
  session ends; tests that use neither fixture never reach a server and are deselected (the
  sandbox run covers them); tests listed in tests/real_keycloak_known_failures.txt are expected to
  fail there (strict xfail, so that a fixed one is noticed and its line removed);
* `REALMCTL_TEST_URL` (and `REALMCTL_TEST_USER` / `REALMCTL_TEST_PASSWORD`): a real Keycloak someone
  already runs.

Tests that need `/sandbox/` endpoints carry `@pytest.mark.sandbox_only` and are skipped against a
real server.
"""

from __future__ import annotations

import functools
import os
import signal
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import pytest

from realmctl.sandbox import Sandbox
from tests import keycloak_server

KNOWN_FAILURES = Path(__file__).with_name("real_keycloak_known_failures.txt")
SERVER_PROFILES = {"keycloak": "default", "legacy_keycloak": "legacy-exchange", "modern_keycloak": "modern"}
"""Fixture name -> tests/keycloak_server.py profile it needs on the `keycloak` backend."""
TEST_PROFILES = {"default": "keycloak-26", "legacy-exchange": "legacy-exchange", "modern": "modern"}
"""Helper profile -> the name tests compare `KeycloakTarget.profile` with (the sandbox's names)."""


@dataclass(frozen=True)
class KeycloakTarget:
    """Where the tests send requests, and whether it is the sandbox."""

    url: str
    admin_user: str
    admin_password: str
    is_sandbox: bool
    profile: str


def _real_server() -> KeycloakTarget | None:
    url = os.environ.get("REALMCTL_TEST_URL")
    if not url:
        return None
    return KeycloakTarget(
        url=url.rstrip("/"),
        admin_user=os.environ.get("REALMCTL_TEST_USER", "admin"),
        admin_password=os.environ.get("REALMCTL_TEST_PASSWORD", "admin"),
        is_sandbox=False,
        profile=os.environ.get("REALMCTL_TEST_PROFILE", "keycloak-26"),
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("realmctl", "realmctl test backend")
    group.addoption(
        "--backend",
        choices=("sandbox", "keycloak"),
        default="sandbox",
        help="sandbox: in-memory (default); keycloak: real servers started via tests/keycloak_server.py",
    )
    group.addoption(
        "--keycloak-version",
        default=keycloak_server.NEWEST,
        help=f"Keycloak version for --backend keycloak (default {keycloak_server.NEWEST})",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sandbox_only: needs the sandbox's /sandbox/ control endpoints")
    if config.getoption("backend") == "keycloak" and _real_server() is not None:
        raise pytest.UsageError("--backend keycloak starts its own servers: unset REALMCTL_TEST_URL, or drop --backend")


def _on_real_server(config: pytest.Config) -> bool:
    return _real_server() is not None or config.getoption("backend") == "keycloak"


def known_failures() -> dict[str, str]:
    """Test id -> reason, from tests/real_keycloak_known_failures.txt (`id  # reason` a line).

    A reason starting with `flaky:` makes a non-strict xfail: the test fails on some runs only.
    """
    found = {}
    for line in KNOWN_FAILURES.read_text().splitlines() if KNOWN_FAILURES.exists() else []:
        test_id, _, reason = line.partition("#")
        if test_id.strip():
            found[test_id.strip()] = reason.strip() or "fails on a real Keycloak"
    return found


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _on_real_server(config):
        return
    skip = pytest.mark.skip(reason="uses /sandbox/ endpoints; the tests run against a real Keycloak")
    expected = known_failures()
    needed: set[str] = set()
    offline: list[pytest.Item] = []
    for item in items:
        if "sandbox_only" in item.keywords:
            item.add_marker(skip)
            continue
        uses = {SERVER_PROFILES[name] for name in getattr(item, "fixturenames", ()) if name in SERVER_PROFILES}
        if "modern" in uses and not _modern_version(config):
            item.add_marker(
                pytest.mark.skip(
                    reason=f"the modern profile needs Keycloak 26.6+, not {config.getoption('keycloak_version')}"
                )
            )
            continue
        if not uses and config.getoption("backend") == "keycloak":
            offline.append(item)  # never reaches a server: the sandbox run already ran it
            continue
        if item.nodeid in expected:
            reason = f"known failure on a real Keycloak: {expected[item.nodeid]}"
            strict = not expected[item.nodeid].startswith("flaky:")  # fails on some runs only
            item.add_marker(pytest.mark.xfail(strict=strict, reason=reason))
        needed |= uses
    if offline:
        config.hook.pytest_deselected(items=offline)
        items[:] = [item for item in items if item not in offline]
    config.stash[_NEEDED] = needed


_NEEDED = pytest.StashKey[set[str]]()


def pytest_report_header(config: pytest.Config) -> str:
    if config.getoption("backend") == "keycloak":
        return f"backend: real Keycloak {config.getoption('keycloak_version')} (tests/keycloak_server.py)"
    real = _real_server()
    return f"backend: real Keycloak at {real.url}" if real else "backend: sandbox"


class RealServers:
    """`--backend keycloak`: the servers of this session, one per profile, started through the helper."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.servers: dict[str, keycloak_server.Server] = {}

    def start(self, profiles: list[str]) -> None:
        """Start the missing `profiles` side by side (their ~40 s boots overlap).

        Waits for every start to end, even on Ctrl-C, so that each server that came up is known
        and stopped by `stop_all`; a start that fails stops its own server.
        """
        missing = [p for p in profiles if p not in self.servers]
        if not missing:
            return
        keycloak_server.fetch(self.version)
        pool = ThreadPoolExecutor(max_workers=len(missing))
        futures = {p: pool.submit(keycloak_server.start, self.version, p) for p in missing}
        errors = []
        try:
            wait(futures.values())
        finally:
            pool.shutdown(wait=True)  # after Ctrl-C too: the starts in flight end, and each server is recorded
            for profile, future in futures.items():
                if future.exception() is None:
                    self.servers[profile] = future.result()
                else:
                    errors.append(f"{profile}: {future.exception()}")
        if errors:
            raise RuntimeError(f"could not start Keycloak {self.version}: " + "; ".join(errors))

    def target(self, profile: str) -> KeycloakTarget:
        self.start([profile])  # a test that asked for its server only at run time
        server = self.servers[profile]
        return KeycloakTarget(server.url, server.admin_user, server.admin_password, False, TEST_PROFILES[profile])

    def stop_all(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="session")
def real_servers(request: pytest.FixtureRequest) -> Iterator[RealServers]:
    """Every server profile the collected tests need, started together on first use, stopped at the end."""
    servers = RealServers(request.config.getoption("keycloak_version"))
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a killed session still runs its finalizers
    try:
        needed: set[str] = request.config.stash.get(_NEEDED, set(SERVER_PROFILES.values()))
        servers.start(sorted(needed))
        yield servers
    finally:
        servers.stop_all()
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _started(request: pytest.FixtureRequest, profile: str) -> KeycloakTarget:
    servers: RealServers = request.getfixturevalue("real_servers")
    return servers.target(profile)


@pytest.fixture(scope="session")
def keycloak(request: pytest.FixtureRequest) -> Iterator[KeycloakTarget]:
    """The server under test: a real Keycloak (--backend keycloak or REALMCTL_TEST_URL), else a sandbox."""
    if request.config.getoption("backend") == "keycloak":
        yield _started(request, "default")
        return
    real = _real_server()
    if real is not None:
        yield real
        return
    profile = os.environ.get("REALMCTL_TEST_PROFILE", "keycloak-26")
    with Sandbox(profile=profile) as sb:
        yield KeycloakTarget(sb.url, sb.admin_user, sb.admin_password, True, profile)


@pytest.fixture(scope="session")
def legacy_keycloak(request: pytest.FixtureRequest) -> Iterator[KeycloakTarget]:
    """A server with `token-exchange` + `admin-fine-grained-authz:v1` (the `legacy-exchange` profile).

    Against a real server this needs REALMCTL_TEST_LEGACY=1 to say the server runs with those
    features; otherwise the tests using it are skipped. With --backend keycloak it is a server
    started with those features.
    """
    if request.config.getoption("backend") == "keycloak":
        yield _started(request, "legacy-exchange")
        return
    real = _real_server()
    if real is not None:
        if os.environ.get("REALMCTL_TEST_LEGACY") != "1":
            pytest.skip("the real server is not declared to run legacy token exchange (REALMCTL_TEST_LEGACY=1)")
        yield KeycloakTarget(real.url, real.admin_user, real.admin_password, False, "legacy-exchange")
        return
    with Sandbox(profile="legacy-exchange") as sb:
        yield KeycloakTarget(sb.url, sb.admin_user, sb.admin_password, True, "legacy-exchange")


def _modern_version(config: pytest.Config) -> bool:
    """Whether `--keycloak-version` can run the `modern` profile (26.6+)."""
    if config.getoption("backend") != "keycloak":
        return True
    return keycloak_server._version_tuple(config.getoption("keycloak_version")) >= keycloak_server.MODERN_SINCE


@pytest.fixture(scope="session")
def modern_keycloak(request: pytest.FixtureRequest) -> Iterator[KeycloakTarget]:
    """A 26.6+ server with `jwt-authorization-grant` + `identity-brokering-api:v2` (the `modern` profile).

    Against a real server named by REALMCTL_TEST_URL this needs REALMCTL_TEST_PROFILE=modern to say
    the server runs those features; otherwise the tests using it are skipped.
    """
    if request.config.getoption("backend") == "keycloak":
        yield _started(request, "modern")
        return
    real = _real_server()
    if real is not None:
        if os.environ.get("REALMCTL_TEST_PROFILE") != "modern":
            pytest.skip("the real server is not declared to run the modern profile (REALMCTL_TEST_PROFILE=modern)")
        yield KeycloakTarget(real.url, real.admin_user, real.admin_password, False, "modern")
        return
    with Sandbox(profile="modern") as sb:
        yield KeycloakTarget(sb.url, sb.admin_user, sb.admin_password, True, "modern")


def unique_name(prefix: str) -> str:
    """A realm/object name no other test uses, so that tests can share one server."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries of in-process runs back off from 0.01 s instead of 0.2 s (doubling either way).

    For tests that prove a retry happens and how the run ends, not how long it waits between
    attempts: six attempts cost ~3 s of sleep with the default policy.
    """
    from realmctl.keycloak import session

    monkeypatch.setattr(session, "RetryPolicy", functools.partial(session.RetryPolicy, base=0.01))
