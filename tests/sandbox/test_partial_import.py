"""Partial import: FAIL / SKIP / OVERWRITE, results, internal clients dropped (SEMANTICS §10.2)."""

from __future__ import annotations

from typing import Any

from tests.sandbox.conftest import Api


def payload(policy: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "clients": [{"clientId": "my-app"}, {"clientId": "broker"}, {"clientId": "other-realm"}],
        "roles": {"realm": [{"name": "imported-role"}], "client": {"my-app": [{"name": "reader"}]}},
        "identityProviders": [{"alias": "source-realm", "providerId": "oidc", "config": {"clientId": "c"}}],
        "users": [{"username": "imported-user", "enabled": True}],
        "groups": [{"name": "imported-group", "path": "/imported-group"}],
    }
    if policy:
        body["ifResourceExists"] = policy
    return body


def test_partial_import_adds_and_reports(api: Api) -> None:
    response = api.post("/partialImport", payload())
    assert response.status_code == 200
    body = response.json()
    assert body["added"] == 6 and body["skipped"] == 0 and body["overwritten"] == 0
    kinds = {(r["resourceType"], r["resourceName"], r["action"]) for r in body["results"]}
    assert kinds == {
        ("CLIENT", "my-app", "ADDED"),
        ("REALM_ROLE", "imported-role", "ADDED"),
        ("CLIENT_ROLE", "my-app-->reader", "ADDED"),
        ("IDP", "source-realm", "ADDED"),
        ("GROUP", "imported-group", "ADDED"),
        ("USER", "imported-user", "ADDED"),
    }
    client = api.get("/clients", clientId="my-app").json()[0]
    assert next(r["id"] for r in body["results"] if r["resourceType"] == "CLIENT") == client["id"]
    assert api.get(f"/clients/{client['id']}/roles/reader").status_code == 200
    assert api.get("/clients", clientId="other-realm").json() == []  # internal / *-realm dropped


def test_fail_policy_is_409_and_imports_nothing(api: Api) -> None:
    api.create("/clients", {"clientId": "my-app"})
    response = api.post("/partialImport", payload())
    assert response.status_code == 409
    assert response.json() == {"errorMessage": "Client id 'my-app' already exists"}
    assert api.get("/roles/imported-role").status_code == 404


def test_skip_and_overwrite(api: Api) -> None:
    api.post("/partialImport", payload())
    old_client = api.get("/clients", clientId="my-app").json()[0]["id"]
    old_idp = api.get("/identity-provider/instances/source-realm").json()["internalId"]
    skipped = api.post("/partialImport", payload("SKIP")).json()
    assert skipped["skipped"] == 6 and skipped["added"] == 0
    overwritten = api.post("/partialImport", payload("OVERWRITE")).json()
    assert overwritten["overwritten"] == 6
    assert api.get("/clients", clientId="my-app").json()[0]["id"] != old_client  # new internal id
    assert api.get("/identity-provider/instances/source-realm").json()["internalId"] != old_idp


def test_idp_clash_message(api: Api) -> None:
    api.post("/partialImport", {"identityProviders": payload()["identityProviders"]})
    response = api.post("/partialImport", {"identityProviders": payload()["identityProviders"]})
    assert response.status_code == 409
    assert response.json() == {"errorMessage": "Identity Provider 'source-realm' already exists."}


def test_client_roles_for_unknown_client_is_412(api: Api) -> None:
    response = api.post("/partialImport", {"roles": {"client": {"ghost": [{"name": "r"}]}}})
    assert response.status_code == 412
    assert response.json() == {"errorMessage": "Can not import client roles for nonexistent client named ghost"}
