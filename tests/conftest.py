"""Shared fixtures: the Keycloak the integration tests talk to.

By default one in-memory sandbox serves the whole session. With `REALMCTL_TEST_URL` (and
`REALMCTL_TEST_USER` / `REALMCTL_TEST_PASSWORD`) the same tests run against that real Keycloak, so
the sandbox never becomes the only truth. Tests that need `/sandbox/` endpoints carry
`@pytest.mark.sandbox_only` and are skipped against a real server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from realmctl.sandbox import Sandbox


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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sandbox_only: needs the sandbox's /sandbox/ control endpoints")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _real_server() is None:
        return
    skip = pytest.mark.skip(reason="uses /sandbox/ endpoints; REALMCTL_TEST_URL points at a real Keycloak")
    for item in items:
        if "sandbox_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def keycloak() -> Iterator[KeycloakTarget]:
    """The server under test: a real Keycloak when REALMCTL_TEST_URL is set, else a sandbox."""
    real = _real_server()
    if real is not None:
        yield real
        return
    profile = os.environ.get("REALMCTL_TEST_PROFILE", "keycloak-26")
    with Sandbox(profile=profile) as sb:
        yield KeycloakTarget(sb.url, sb.admin_user, sb.admin_password, True, profile)


@pytest.fixture(scope="session")
def legacy_keycloak() -> Iterator[KeycloakTarget]:
    """A server with `token-exchange` + `admin-fine-grained-authz:v1` (the `legacy-exchange` profile).

    Against a real server this needs REALMCTL_TEST_LEGACY=1 to say the server runs with those
    features; otherwise the tests using it are skipped.
    """
    real = _real_server()
    if real is not None:
        if os.environ.get("REALMCTL_TEST_LEGACY") != "1":
            pytest.skip("the real server is not declared to run legacy token exchange (REALMCTL_TEST_LEGACY=1)")
        yield KeycloakTarget(real.url, real.admin_user, real.admin_password, False, "legacy-exchange")
        return
    with Sandbox(profile="legacy-exchange") as sb:
        yield KeycloakTarget(sb.url, sb.admin_user, sb.admin_password, True, "legacy-exchange")


def unique_name(prefix: str) -> str:
    """A realm/object name no other test uses, so that tests can share one server."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
