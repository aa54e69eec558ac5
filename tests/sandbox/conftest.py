"""Fixtures for the admin API tests: an admin client and a fresh realm per test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from keycloak import KeycloakAdmin

from tests.conftest import KeycloakTarget, unique_name


class Api:
    """Raw calls through python-keycloak's own connection, to assert status, headers and bodies."""

    def __init__(self, admin: KeycloakAdmin, realm: str) -> None:
        self.admin = admin
        self.realm = realm

    def path(self, rel: str) -> str:
        return f"admin/realms/{self.realm}{rel}" if rel.startswith("/") or not rel else rel

    def get(self, rel: str, **params: Any) -> requests.Response:
        return self.admin.connection.raw_get(self.path(rel), **params)

    def post(self, rel: str, body: Any = None, **params: Any) -> requests.Response:
        return self.admin.connection.raw_post(self.path(rel), data=json.dumps(body), **params)

    def put(self, rel: str, body: Any = None, **params: Any) -> requests.Response:
        return self.admin.connection.raw_put(self.path(rel), data=json.dumps(body), **params)

    def delete(self, rel: str, body: Any = None) -> requests.Response:
        data = json.dumps(body) if body is not None else None
        return self.admin.connection.raw_delete(self.path(rel), data=data)  # type: ignore[arg-type]

    def create(self, rel: str, body: Any) -> str:
        """POST expecting 201; returns the id at the end of `Location`."""
        response = self.post(rel, body)
        assert response.status_code == 201, response.text
        return str(response.headers["Location"]).rsplit("/", 1)[-1]


def admin_for(target: KeycloakTarget, realm: str = "master") -> KeycloakAdmin:
    return KeycloakAdmin(
        server_url=target.url,
        username=target.admin_user,
        password=target.admin_password,
        realm_name=realm,
        user_realm_name="master",
    )


@pytest.fixture(scope="session")
def master_admin(keycloak: KeycloakTarget) -> KeycloakAdmin:
    return admin_for(keycloak)


@pytest.fixture
def realm(keycloak: KeycloakTarget, master_admin: KeycloakAdmin) -> Iterator[str]:
    """A new, enabled realm with a unique name, deleted after the test."""
    name = unique_name("t")
    master_admin.create_realm({"realm": name, "enabled": True})
    yield name
    master_admin.connection.raw_delete(f"admin/realms/{name}")


@pytest.fixture
def kc(keycloak: KeycloakTarget, realm: str) -> KeycloakAdmin:
    """python-keycloak's admin client working on the test's realm (logged in to master)."""
    return admin_for(keycloak, realm)


@pytest.fixture
def api(kc: KeycloakAdmin, realm: str) -> Api:
    return Api(kc, realm)
