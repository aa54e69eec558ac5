"""Sandbox control endpoints: request counting, latency and deterministic faults."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from keycloak import KeycloakAdmin

from realmctl.sandbox import Sandbox
from tests.conftest import KeycloakTarget
from tests.sandbox.conftest import admin_for

pytestmark = pytest.mark.sandbox_only


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A private sandbox: these tests change counters, faults and latency server-wide."""
    with Sandbox() as sb:
        yield sb


def _token(sb: Sandbox) -> dict[str, str]:
    response = requests.post(
        f"{sb.url}/realms/master/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "admin-cli", "username": "admin", "password": "admin"},
        timeout=10,
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_control_endpoints_need_a_master_admin_token(sandbox: Sandbox) -> None:
    assert requests.get(f"{sandbox.url}/sandbox/requests", timeout=10).status_code == 401


def test_requests_are_counted_by_route_template(sandbox: Sandbox) -> None:
    admin = admin_for(KeycloakTarget(sandbox.url, "admin", "admin", True, "keycloak-26"))
    admin.create_realm({"realm": "counted", "enabled": True})
    headers = _token(sandbox)
    assert requests.post(f"{sandbox.url}/sandbox/requests/reset", headers=headers, timeout=10).status_code == 204
    requests.get(f"{sandbox.url}/admin/realms/counted/clients", headers=headers, timeout=10)
    requests.get(f"{sandbox.url}/admin/realms/master/clients", headers=headers, timeout=10)
    requests.get(f"{sandbox.url}/admin/realms/counted/clients/nope", headers=headers, timeout=10)
    _token(sandbox)
    stats = requests.get(f"{sandbox.url}/sandbox/requests", headers=headers, timeout=10).json()
    assert stats["total"] == 4
    assert stats["byMethod"] == {"GET": 3, "POST": 1}
    assert stats["byPath"] == {
        "GET /admin/realms/{realm}/clients": 2,
        "GET /admin/realms/{realm}/clients/{id}": 1,
        "POST /realms/{realm}/protocol/openid-connect/token": 1,
    }
    assert [(e["method"], e["path"], e["status"]) for e in stats["log"]] == [
        ("GET", "/admin/realms/{realm}/clients", 200),
        ("GET", "/admin/realms/{realm}/clients", 200),
        ("GET", "/admin/realms/{realm}/clients/{id}", 404),
        ("POST", "/realms/{realm}/protocol/openid-connect/token", 200),
    ]
    assert all(e["ms"] >= 0 for e in stats["log"])
    again = requests.get(f"{sandbox.url}/sandbox/requests", headers=headers, timeout=10).json()
    assert again["total"] == 4  # reading the counters is not counted


def test_latency_is_added_to_keycloak_endpoints_only(sandbox: Sandbox) -> None:
    headers = _token(sandbox)
    response = requests.put(f"{sandbox.url}/sandbox/latency", json={"ms": 150}, headers=headers, timeout=10)
    assert response.status_code == 204
    started = time.perf_counter()
    requests.get(f"{sandbox.url}/admin/realms/master", headers=headers, timeout=10)
    assert time.perf_counter() - started >= 0.15
    started = time.perf_counter()
    requests.get(f"{sandbox.url}/sandbox/requests", headers=headers, timeout=10)
    assert time.perf_counter() - started < 0.15


def _outcomes(sb: Sandbox, rate: float, seed: int, count: int) -> list[str]:
    headers = _token(sb)
    body = {"rate": rate, "seed": seed, "slowMs": 20}
    assert requests.put(f"{sb.url}/sandbox/faults", json=body, headers=headers, timeout=10).status_code == 204
    outcomes = []
    for _ in range(count):
        try:
            response = requests.get(f"{sb.url}/admin/realms/master", headers=headers, timeout=10)
            outcomes.append(str(response.status_code))
        except requests.ConnectionError:
            outcomes.append("dropped")
    return outcomes


def test_faults_are_deterministic_per_seed() -> None:
    with Sandbox() as first, Sandbox() as second:
        one = _outcomes(first, 0.5, 7, 30)
        two = _outcomes(second, 0.5, 7, 30)
    assert one == two
    assert "503" in one and "dropped" in one and "200" in one


def test_faults_can_be_switched_off(sandbox: Sandbox) -> None:
    assert set(_outcomes(sandbox, 0.0, 1, 10)) == {"200"}


def test_fault_rate_is_validated(sandbox: Sandbox) -> None:
    headers = _token(sandbox)
    response = requests.put(f"{sandbox.url}/sandbox/faults", json={"rate": 2, "seed": 1}, headers=headers, timeout=10)
    assert response.status_code == 400


def test_non_admin_cannot_use_control_endpoints(sandbox: Sandbox) -> None:
    admin: KeycloakAdmin = admin_for(KeycloakTarget(sandbox.url, "admin", "admin", True, "keycloak-26"))
    user_id = admin.create_user({"username": "plain", "enabled": True})
    admin.set_user_password(user_id, "pw", temporary=False)
    response = requests.post(
        f"{sandbox.url}/realms/master/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "admin-cli", "username": "plain", "password": "pw"},
        timeout=10,
    )
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert requests.get(f"{sandbox.url}/sandbox/requests", headers=headers, timeout=10).status_code == 403
