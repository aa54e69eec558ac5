"""Client scopes, their protocol mappers, and realm/client default and optional scope links."""

from __future__ import annotations

from typing import Any

from keycloak import KeycloakAdmin

from tests.conftest import KeycloakTarget
from tests.sandbox.conftest import Api

BROKER_ROLES_MAPPER: dict[str, Any] = {
    "name": "broker roles",
    "protocol": "openid-connect",
    "protocolMapper": "oidc-usermodel-client-role-mapper",
    "config": {
        "usermodel.clientRoleMapping.clientId": "broker",
        "usermodel.clientRoleMapping.rolePrefix": "",
        "claim.name": "resource_access.${client_id}.roles",
        "jsonType.label": "String",
        "multivalued": "true",
        "access.token.claim": "true",
        "id.token.claim": "false",
        "userinfo.token.claim": "false",
        "introspection.token.claim": "true",
        "lightweight.claim": "false",
    },
}


def test_create_scope_201_location_and_attributes_as_sent(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    response = api.post("/client-scopes", {"name": "broker_read_token", "protocol": "openid-connect"})
    assert response.status_code == 201
    scope_id = response.headers["Location"].rsplit("/", 1)[-1]
    assert response.headers["Location"] == f"{keycloak.url}/admin/realms/{realm}/client-scopes/{scope_id}"
    body = api.get(f"/client-scopes/{scope_id}").json()
    assert body == {
        "id": scope_id,
        "name": "broker_read_token",
        "protocol": "openid-connect",
        "attributes": {},
    }


def test_duplicate_scope_is_409(api: Api) -> None:
    api.create("/client-scopes", {"name": "twice", "protocol": "openid-connect"})
    response = api.post("/client-scopes", {"name": "twice", "protocol": "openid-connect"})
    assert response.status_code == 409
    assert response.json() == {"errorMessage": "Client Scope twice already exists"}


def test_bad_name_and_protocol_are_400(api: Api) -> None:
    response = api.post("/client-scopes", {"name": "has space", "protocol": "openid-connect"})
    assert response.status_code == 400
    assert response.json() == {"errorMessage": 'Unexpected name "has space" for ClientScope'}
    response = api.post("/client-scopes", {"name": "ok", "protocol": "nope"})
    assert response.status_code == 400
    assert response.json() == {"errorMessage": "Unexpected protocol"}


def test_unknown_scope_is_404(api: Api) -> None:
    response = api.get("/client-scopes/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json() == {"error": "Could not find client scope"}


def test_put_merges_attributes_and_ignores_mappers(api: Api) -> None:
    scope_id = api.create(
        "/client-scopes",
        {
            "name": "merge-me",
            "protocol": "openid-connect",
            "attributes": {"include.in.token.scope": "true", "x": "1"},
        },
    )
    response = api.put(
        f"/client-scopes/{scope_id}",
        {"name": "merge-me", "attributes": {"x": "2"}, "protocolMappers": [BROKER_ROLES_MAPPER]},
    )
    assert response.status_code == 204
    body = api.get(f"/client-scopes/{scope_id}").json()
    assert body["attributes"] == {"include.in.token.scope": "true", "x": "2"}
    assert "protocolMappers" not in body


def test_mapper_create_stores_config_without_empty_strings(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    scope_id = api.create("/client-scopes", {"name": "with-mapper", "protocol": "openid-connect"})
    response = api.post(f"/client-scopes/{scope_id}/protocol-mappers/models", BROKER_ROLES_MAPPER)
    assert response.status_code == 201
    mapper_id = response.headers["Location"].rsplit("/", 1)[-1]
    assert response.headers["Location"] == (
        f"{keycloak.url}/admin/realms/{realm}/client-scopes/{scope_id}/protocol-mappers/models/{mapper_id}"
    )
    mapper = api.get(f"/client-scopes/{scope_id}/protocol-mappers/models/{mapper_id}").json()
    expected_config = {k: v for k, v in BROKER_ROLES_MAPPER["config"].items() if v != ""}
    assert mapper == {
        **BROKER_ROLES_MAPPER,
        "id": mapper_id,
        "consentRequired": False,
        "config": expected_config,
    }
    scope = api.get(f"/client-scopes/{scope_id}").json()
    assert [m["name"] for m in scope["protocolMappers"]] == ["broker roles"]


def test_mapper_errors(api: Api) -> None:
    scope_id = api.create("/client-scopes", {"name": "mapper-errors", "protocol": "openid-connect"})
    base = f"/client-scopes/{scope_id}/protocol-mappers/models"
    api.create(base, BROKER_ROLES_MAPPER)
    response = api.post(base, BROKER_ROLES_MAPPER)
    assert response.status_code == 409
    assert response.json() == {"errorMessage": "Protocol mapper exists with same name"}
    response = api.post(base, {**BROKER_ROLES_MAPPER, "name": "x", "protocolMapper": "no-such-mapper"})
    assert response.status_code == 404
    assert response.json() == {"error": "ProtocolMapper provider not found"}
    response = api.get(f"{base}/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json() == {"error": "Model not found"}


def test_mapper_put_with_id_updates_and_delete_removes(api: Api) -> None:
    scope_id = api.create("/client-scopes", {"name": "mapper-put", "protocol": "openid-connect"})
    base = f"/client-scopes/{scope_id}/protocol-mappers/models"
    mapper_id = api.create(base, BROKER_ROLES_MAPPER)
    changed = {
        **BROKER_ROLES_MAPPER,
        "id": mapper_id,
        "config": {**BROKER_ROLES_MAPPER["config"], "multivalued": "false"},
    }
    assert api.put(f"{base}/{mapper_id}", changed).status_code == 204
    assert api.get(f"{base}/{mapper_id}").json()["config"]["multivalued"] == "false"
    assert api.delete(f"{base}/{mapper_id}").status_code == 204
    assert api.get(base).json() == []


def test_mapper_endpoint_shows_effective_model(api: Api) -> None:
    """Builtin `client roles` reads back unchanged; account-console's empty audience resolve gets flags."""
    roles_scope = next(s for s in api.get("/client-scopes").json() if s["name"] == "roles")
    models = api.get(f"/client-scopes/{roles_scope['id']}/protocol-mappers/models").json()
    stored = {m["name"]: m["config"] for m in roles_scope["protocolMappers"]}
    assert {m["name"]: m["config"] for m in models} == stored
    console = api.get("/clients", clientId="account-console").json()[0]
    mappers = api.get(f"/clients/{console['id']}/protocol-mappers/models").json()
    audience = next(m for m in mappers if m["protocolMapper"] == "oidc-audience-resolve-mapper")
    assert audience["config"] == {"access.token.claim": "true", "introspection.token.claim": "true"}


def test_realm_default_scopes_list_add_conflict_and_move(api: Api) -> None:
    scope_id = api.create("/client-scopes", {"name": "realm-linked", "protocol": "openid-connect"})
    defaults = api.get("/default-default-client-scopes").json()
    assert {"id", "name", "protocol"} <= set(defaults[0])
    assert api.put(f"/default-default-client-scopes/{scope_id}").status_code == 204
    assert "realm-linked" in [s["name"] for s in api.get("/default-default-client-scopes").json()]
    conflict = api.put(f"/default-optional-client-scopes/{scope_id}")
    assert conflict.status_code == 409
    # DELETE on the *optional* endpoint removes the default mapping: both share one implementation
    assert api.delete(f"/default-optional-client-scopes/{scope_id}").status_code == 204
    assert "realm-linked" not in [s["name"] for s in api.get("/default-default-client-scopes").json()]
    assert api.put(f"/default-optional-client-scopes/{scope_id}").status_code == 204
    assert "realm-linked" in [s["name"] for s in api.get("/default-optional-client-scopes").json()]


def test_realm_default_scope_unknown_is_404(api: Api) -> None:
    response = api.put("/default-default-client-scopes/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json() == {"error": "Client scope not found"}


def test_client_default_scope_put_is_silent_when_attached(kc: KeycloakAdmin, api: Api) -> None:
    client_id = api.create("/clients", {"clientId": "scoped"})
    scope_id = api.create("/client-scopes", {"name": "client-linked", "protocol": "openid-connect"})
    assert api.put(f"/clients/{client_id}/optional-client-scopes/{scope_id}").status_code == 204
    # already attached as optional: PUT default is a silent no-op
    assert api.put(f"/clients/{client_id}/default-client-scopes/{scope_id}").status_code == 204
    assert "client-linked" not in [s["name"] for s in api.get(f"/clients/{client_id}/default-client-scopes").json()]
    optional = api.get(f"/clients/{client_id}/optional-client-scopes").json()
    assert {"id": scope_id, "name": "client-linked"} in optional
    assert api.delete(f"/clients/{client_id}/optional-client-scopes/{scope_id}").status_code == 204
    kc.add_client_default_client_scope(client_id, scope_id, {})
    assert "client-linked" in kc.get_client(client_id)["defaultClientScopes"]


def test_delete_scope_unlinks_it(api: Api) -> None:
    scope_id = api.create("/client-scopes", {"name": "short-lived", "protocol": "openid-connect"})
    assert api.delete(f"/client-scopes/{scope_id}").status_code == 204
    assert api.get(f"/client-scopes/{scope_id}").status_code == 404


def test_client_dedicated_mappers_bulk_add_and_by_protocol(api: Api) -> None:
    client_id = api.create("/clients", {"clientId": "mapped", "publicClient": False})
    base = f"/clients/{client_id}/protocol-mappers"
    second = {**BROKER_ROLES_MAPPER, "name": "second"}
    assert api.post(f"{base}/add-models", [BROKER_ROLES_MAPPER, second]).status_code == 204
    names = sorted(m["name"] for m in api.get(f"{base}/models").json())
    assert names == ["broker roles", "second"]
    assert len(api.get(f"{base}/protocol/openid-connect").json()) == 2
    assert api.get(f"{base}/protocol/saml").json() == []
    client = api.get(f"/clients/{client_id}").json()
    assert sorted(m["name"] for m in client["protocolMappers"]) == names


def test_mapper_put_without_id_fails_like_keycloak(api: Api) -> None:
    scope_id = api.create("/client-scopes", {"name": "no-id-put", "protocol": "openid-connect"})
    base = f"/client-scopes/{scope_id}/protocol-mappers/models"
    mapper_id = api.create(base, BROKER_ROLES_MAPPER)
    response = api.put(f"{base}/{mapper_id}", BROKER_ROLES_MAPPER)  # no "id" in the body
    assert response.status_code == 500
    assert api.get(f"{base}/{mapper_id}").json()["config"]["multivalued"] == "true"  # unchanged
