"""Identity providers: create, masked secret on every read, mask round trip, mappers, errors."""

from __future__ import annotations

from typing import Any

import pytest
from keycloak import KeycloakAdmin

from realmctl.sandbox import Sandbox
from tests.conftest import KeycloakTarget
from tests.sandbox.conftest import Api, admin_for

MASK = "**********"


def idp_body(alias: str = "source-realm", secret: str = "upstream-secret") -> dict[str, Any]:
    return {
        "alias": alias,
        "displayName": "Source realm",
        "providerId": "keycloak-oidc",
        "storeToken": True,
        "addReadTokenRoleOnCreate": True,
        "config": {
            "clientId": "target-broker",
            "clientSecret": secret,
            "tokenUrl": "https://kc.example/realms/source/protocol/openid-connect/token",
            "authorizationUrl": "https://kc.example/realms/source/protocol/openid-connect/auth",
            "issuer": "https://kc.example/realms/source",
            "syncMode": "LEGACY",
            "pkceMethod": "",
        },
    }


def test_create_idp_201_location_and_representation(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    response = api.post("/identity-provider/instances", idp_body())
    assert response.status_code == 201
    assert (
        response.headers["Location"] == f"{keycloak.url}/admin/realms/{realm}/identity-provider/instances/source-realm"
    )
    body = api.get("/identity-provider/instances/source-realm").json()
    assert body["internalId"]
    assert body["enabled"] is True
    assert body["storeToken"] is True
    assert body["addReadTokenRoleOnCreate"] is True
    # 26.7.3 omits the booleans the body left out, and never writes updateProfileFirstLoginMode
    for absent in ("trustEmail", "linkOnly", "hideOnLogin", "authenticateByDefault", "updateProfileFirstLoginMode"):
        assert absent not in body
    assert body["types"] == [
        "USER_AUTHENTICATION",
        "CLIENT_ASSERTION",
        "TRUST_MATERIAL",
        "EXCHANGE_EXTERNAL_TOKEN",
        "JWT_AUTHORIZATION_GRANT",
    ]
    # 26.x stores no flow when none is given (the realm's firstBrokerLoginFlow applies)
    assert "firstBrokerLoginFlowAlias" not in body
    assert "postBrokerLoginFlowAlias" not in body
    assert "pkceMethod" not in body["config"]  # empty strings are dropped on save
    assert body["config"]["clientSecret"] == MASK


def test_secret_masked_in_list_and_kept_on_put_with_mask(kc: KeycloakAdmin, api: Api) -> None:
    api.create("/identity-provider/instances", idp_body())
    listed = api.get("/identity-provider/instances").json()
    assert [i["config"]["clientSecret"] for i in listed] == [MASK]
    current = kc.get_idp("source-realm")
    current["displayName"] = "Renamed"
    assert api.put("/identity-provider/instances/source-realm", current).status_code == 204
    exported = api.post("/partial-export").json()
    assert exported["identityProviders"][0]["config"]["clientSecret"] == MASK
    assert api.get("/identity-provider/instances/source-realm").json()["displayName"] == "Renamed"


@pytest.mark.sandbox_only
def test_mask_on_put_keeps_the_stored_secret_and_a_new_value_replaces_it() -> None:
    """Server state, read from the sandbox's store: the only place the clear secret is visible."""
    with Sandbox() as sb:
        target = KeycloakTarget(sb.url, sb.admin_user, sb.admin_password, True, "keycloak-26")
        admin_for(target).create_realm({"realm": "masked", "enabled": True})
        api = Api(admin_for(target, "masked"), "masked")
        api.create("/identity-provider/instances", idp_body(secret="first"))
        stored = sb.app.store.realms["masked"].idps["source-realm"]
        body = api.get("/identity-provider/instances/source-realm").json()
        assert body["config"]["clientSecret"] == MASK
        assert api.put("/identity-provider/instances/source-realm", body).status_code == 204
        assert stored.rep["config"]["clientSecret"] == "first"
        body["config"]["clientSecret"] = "second"
        assert api.put("/identity-provider/instances/source-realm", body).status_code == 204
        assert sb.app.store.realms["masked"].idps["source-realm"].rep["config"]["clientSecret"] == "second"


def test_vault_reference_is_not_masked(api: Api) -> None:
    api.create("/identity-provider/instances", idp_body(secret="${vault.idp_secret}"))
    body = api.get("/identity-provider/instances/source-realm").json()
    assert body["config"]["clientSecret"] == "${vault.idp_secret}"


def test_duplicate_alias_is_409_and_bad_provider_400(api: Api) -> None:
    api.create("/identity-provider/instances", idp_body())
    response = api.post("/identity-provider/instances", idp_body())
    assert response.status_code == 409
    assert response.json() == {"errorMessage": "Identity Provider source-realm already exists"}
    response = api.post("/identity-provider/instances", {**idp_body("other"), "providerId": "x"})
    assert response.status_code == 400
    assert response.json() == {"errorMessage": "Invalid identity provider id [x]"}


def test_unknown_idp_is_404(api: Api) -> None:
    response = api.get("/identity-provider/instances/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "HTTP 404 Not Found"}
    assert api.put("/identity-provider/instances/nope", idp_body("nope")).status_code == 404


def test_alias_change_is_400(api: Api) -> None:
    api.create("/identity-provider/instances", idp_body())
    response = api.put("/identity-provider/instances/source-realm", idp_body("renamed"))
    assert response.status_code == 400
    assert response.json() == {"errorMessage": "Identity Provider alias cannot be changed"}


def test_brief_listing(api: Api) -> None:
    api.create("/identity-provider/instances", idp_body())
    brief = api.get("/identity-provider/instances", briefRepresentation="true").json()
    assert set(brief[0]) == {"internalId", "providerId", "alias", "displayName", "enabled", "config"}
    assert brief[0]["config"] == {}  # 26.7.3 writes an empty config in the brief form


def test_booleans_read_back_as_sent_and_types_by_provider(api: Api) -> None:
    """26.7.3: a boolean sent as false reads back false, one left out is absent; `types` by provider."""
    api.create(
        "/identity-provider/instances",
        {"alias": "gh", "providerId": "github", "trustEmail": False, "linkOnly": True, "config": {"clientId": "x"}},
    )
    api.create("/identity-provider/instances", {"alias": "gg", "providerId": "google", "config": {"clientId": "x"}})
    gh = api.get("/identity-provider/instances/gh").json()
    assert (gh["trustEmail"], gh["linkOnly"], gh["types"]) == (False, True, [])
    assert "storeToken" not in gh and "hideOnLogin" not in gh
    gg = api.get("/identity-provider/instances/gg").json()
    assert gg["config"] == {"clientId": "x", "issuer": "https://accounts.google.com"}
    api.put("/identity-provider/instances/gh", {"alias": "gh", "providerId": "github", "config": {"clientId": "x"}})
    assert "linkOnly" not in api.get("/identity-provider/instances/gh").json()  # left out: gone


def test_idp_mappers_crud(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    api.create("/identity-provider/instances", idp_body())
    base = "/identity-provider/instances/source-realm/mappers"
    mapper = {
        "name": "email",
        "identityProviderAlias": "source-realm",
        "identityProviderMapper": "oidc-user-attribute-idp-mapper",
        "config": {"claim": "email", "user.attribute": "email", "syncMode": "INHERIT"},
    }
    response = api.post(base, mapper)
    assert response.status_code == 201
    mapper_id = response.headers["Location"].rsplit("/", 1)[-1]
    assert (
        response.headers["Location"]
        == f"{keycloak.url}/admin/realms/{realm}/identity-provider/instances/source-realm/mappers/{mapper_id}"
    )
    assert api.get(f"{base}/{mapper_id}").json() == {**mapper, "id": mapper_id}
    assert api.put(f"{base}/{mapper_id}", {**mapper, "id": mapper_id, "config": {"claim": "mail"}}).status_code == 204
    assert api.get(f"{base}/{mapper_id}").json()["config"] == {"claim": "mail"}
    assert [m["id"] for m in api.get(base).json()] == [mapper_id]
    assert api.delete(f"{base}/{mapper_id}").status_code == 204
    assert api.get(base).json() == []


def test_delete_idp_removes_user_links(api: Api) -> None:
    api.create("/identity-provider/instances", idp_body())
    user_id = api.create("/users", {"username": "linked", "enabled": True})
    api.post(f"/users/{user_id}/federated-identity/source-realm", {"userId": "1", "userName": "x"})
    assert api.delete("/identity-provider/instances/source-realm").status_code == 204
    assert api.get(f"/users/{user_id}/federated-identity").json() == []
    assert api.get("/identity-provider/instances/source-realm").status_code == 404


def test_idp_urls_are_validated_like_keycloak(api: Api) -> None:
    body = idp_body("bad-url")
    body["config"]["tokenUrl"] = "not a url"
    response = api.post("/identity-provider/instances", body)
    assert response.status_code == 400
    assert response.json() == {"errorMessage": "The url [token_url] is malformed"}
    body["config"]["tokenUrl"] = "http://kc.example.com/token"  # public host, sslRequired=external
    response = api.post("/identity-provider/instances", body)
    assert response.status_code == 400
    assert response.json() == {"errorMessage": "The url [token_url] requires secure connections"}
    body["config"]["tokenUrl"] = "http://localhost:8080/realms/source/protocol/openid-connect/token"
    assert api.post("/identity-provider/instances", body).status_code == 201
