"""Fixtures for end-to-end tests with real brokered logins.

On a real Keycloak the upstream identity provider is a second realm of the same server: the app
realm gets a `keycloak-oidc` identity provider pointing at the upstream realm's endpoints, and the
upstream realm a confidential client for the broker whose redirect URI is the app realm's broker
endpoint. The sandbox has no login pages (its brokered login is simulated under `/sandbox/`), so
the tests using these fixtures run on a real server only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.conftest import KeycloakTarget
from tests.helpers import Admin, unique

BROKER_CLIENT = "app-broker"
BROKER_SECRET = "app-broker-secret"  # test-only value on a throwaway realm


class LongAdmin(Admin):
    """Raw admin calls for tests that outlive one admin token (master's access tokens live 60 s)."""

    def __init__(self, server: KeycloakTarget) -> None:
        self.server = server
        super().__init__(server.url, server.admin_user, server.admin_password)

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        response = super().call(method, path, body, **params)
        if response.status_code == 401:  # expired: log in again, once
            super().__init__(self.server.url, self.server.admin_user, self.server.admin_password)
            response = super().call(method, path, body, **params)
        return response


@dataclass
class Upstream:
    """A realm acting as the external identity provider of the app realm."""

    admin: Admin
    url: str
    realm: str
    users: dict[str, str] = field(default_factory=dict)  # username -> id

    @property
    def issuer(self) -> str:
        return f"{self.url}/realms/{self.realm}"

    def idp_config(self) -> dict[str, str]:
        """The `config` of a keycloak-oidc identity provider trusting this realm."""
        oidc = f"{self.issuer}/protocol/openid-connect"
        return {
            "clientId": BROKER_CLIENT,
            "clientSecret": BROKER_SECRET,
            "issuer": self.issuer,
            "authorizationUrl": f"{oidc}/auth",
            "tokenUrl": f"{oidc}/token",
            "userInfoUrl": f"{oidc}/userinfo",
            "jwksUrl": f"{oidc}/certs",
            "logoutUrl": f"{oidc}/logout",
            "useJwksUrl": "true",
            "validateSignature": "true",
            "clientAuthMethod": "client_secret_post",
            "syncMode": "IMPORT",
            "defaultScope": "openid profile email",
        }

    def add_user(self, username: str, password: str, **profile: str) -> str:
        """A user of the upstream realm; returns its id (the `sub` of the tokens it issues)."""
        body = {"username": username, "enabled": True, "emailVerified": True, **profile}
        body["credentials"] = [{"type": "password", "value": password, "temporary": False}]
        self.admin.post(f"admin/realms/{self.realm}/users", body)
        user_id = str(self.admin.get(f"admin/realms/{self.realm}/users", username=username, exact="true")[0]["id"])
        self.users[username] = user_id
        return user_id

    def issued_access_tokens(self) -> list[str]:
        """The ids (`jti`) of the access tokens this realm gave the broker in code exchanges, newest first.

        Keycloak records each code exchange as a CODE_TO_TOKEN event whose `token_id` is the
        access token's `jti`: what the upstream realm issued, seen from the upstream side.
        """
        events = self.admin.get(f"admin/realms/{self.realm}/events", type="CODE_TO_TOKEN", client=BROKER_CLIENT)
        return [e["details"]["token_id"] for e in events or [] if "token_id" in e.get("details", {})]


def make_upstream(server: KeycloakTarget, app_realm: str, alias: str) -> Upstream:
    """Creates the upstream realm (login events on) and its confidential client for the broker."""
    admin = LongAdmin(server)
    realm = unique("upstream")
    admin.post(
        "admin/realms",
        {"realm": realm, "enabled": True, "eventsEnabled": True, "enabledEventTypes": ["CODE_TO_TOKEN", "LOGIN"]},
    )
    admin.post(
        f"admin/realms/{realm}/clients",
        {
            "clientId": BROKER_CLIENT,
            "publicClient": False,
            "secret": BROKER_SECRET,
            "standardFlowEnabled": True,
            "redirectUris": [f"{server.url}/realms/{app_realm}/broker/{alias}/endpoint"],
        },
    )
    # Users without e-mail or name would be asked for them here (VERIFY_PROFILE, on by default since
    # Keycloak 24); switched off so that the app realm's first-broker-login review page asks instead.
    admin.put(
        f"admin/realms/{realm}/authentication/required-actions/VERIFY_PROFILE",
        {"alias": "VERIFY_PROFILE", "name": "Verify Profile", "providerId": "VERIFY_PROFILE", "enabled": False},
    )
    return Upstream(admin, server.url, realm)


def enable_admin_events(admin: Admin, realm: str) -> None:
    """Keycloak records every admin write on the realm from now on (what the server saw, not what realmctl says)."""
    admin.put(f"admin/realms/{realm}", {"realm": realm, "adminEventsEnabled": True, "adminEventsDetailsEnabled": True})


def admin_events(admin: Admin, realm: str) -> list[dict[str, Any]]:
    """The realm's admin events (Keycloak records writes only: CREATE, UPDATE, DELETE, ACTION)."""
    return list(admin.get(f"admin/realms/{realm}/admin-events", max="1000") or [])


@pytest.fixture
def real_keycloak(keycloak: KeycloakTarget) -> KeycloakTarget:
    """The server under test, if it is a real Keycloak: the sandbox has no login pages."""
    if keycloak.is_sandbox:
        pytest.skip("real brokered logins need Keycloak's login pages; the sandbox has none (REALMCTL_TEST_URL)")
    return keycloak


@pytest.fixture
def real_legacy_keycloak(legacy_keycloak: KeycloakTarget) -> KeycloakTarget:
    """A real Keycloak with legacy token exchange, or a skip on the sandbox."""
    if legacy_keycloak.is_sandbox:
        pytest.skip("runs on a real Keycloak only (REALMCTL_TEST_URL); the sandbox variant is beside it")
    return legacy_keycloak


@pytest.fixture
def cleanup(keycloak: KeycloakTarget) -> Iterator[list[str]]:
    """Realms to delete after the test, so that the shared server does not fill up."""
    yield from deleting(keycloak)


def deleting(server: KeycloakTarget) -> Iterator[list[str]]:
    """For a fixture: a list the test adds realm names to, deleted from a real server afterwards."""
    realms: list[str] = []
    yield realms
    if server.is_sandbox:
        return
    admin = Admin(server.url, server.admin_user, server.admin_password)
    for realm in realms:
        # A busy server may answer after the client gave up; the deletion goes on there.
        with contextlib.suppress(requests.RequestException):
            admin.call("DELETE", f"admin/realms/{realm}")
