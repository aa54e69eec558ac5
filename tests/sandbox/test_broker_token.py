"""`GET /realms/{realm}/broker/{alias}/token`: Keycloak's checks, codes, messages (SEMANTICS §3.5, §4, §5)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from keycloak import KeycloakAdmin

from tests.conftest import KeycloakTarget, unique_name
from tests.sandbox.conftest import Api
from tests.sandbox.oidc import app_client, broker_token, master_token, password_token, user_rep

ALIAS = "upstream"
UPSTREAM_TOKEN = {
    "access_token": "upstream-access-token",
    "expires_in": 300,
    "refresh_expires_in": 1800,
    "refresh_token": "upstream-refresh-token",
    "token_type": "Bearer",
    "id_token": "upstream-id-token",
    "scope": "openid profile",
}


def idp_rep(*, store_token: bool = True, add_read_token: bool = True) -> dict[str, Any]:
    return {
        "alias": ALIAS,
        "providerId": "oidc",
        "enabled": True,
        "storeToken": store_token,
        "addReadTokenRoleOnCreate": add_read_token,
        "config": {
            "clientId": "realm-client",
            "clientSecret": "upstream-secret",
            "authorizationUrl": "https://idp.example.com/auth",
            "tokenUrl": "https://idp.example.com/token",
        },
    }


def read_token_role(api: Api) -> dict[str, Any]:
    broker = api.get("/clients", clientId="broker").json()[0]
    role: dict[str, Any] = api.get(f"/clients/{broker['id']}/roles/read-token").json()
    return {"id": role["id"], "name": role["name"], "broker": broker["id"]}


def grant_read_token(api: Api, user_id: str) -> None:
    role = read_token_role(api)
    response = api.post(
        f"/users/{user_id}/role-mappings/clients/{role['broker']}", [{"id": role["id"], "name": "read-token"}]
    )
    assert response.status_code == 204, response.text


def sandbox_login(keycloak: KeycloakTarget, realm: str, body: dict[str, Any]) -> Any:
    """The sandbox's simulated broker login."""
    token = master_token(keycloak)
    response = requests.post(
        f"{keycloak.url}/sandbox/realms/{realm}/broker/{ALIAS}/login",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def app(api: Api) -> str:
    api.create("/clients", app_client("app"))
    return "app"


def _token(keycloak: KeycloakTarget, realm: str, username: str, client_id: str = "app") -> str:
    body = password_token(keycloak, realm, client_id, username, secret="app-secret")
    return str(body["access_token"])


def test_user_without_read_token_gets_keycloak_403(keycloak: KeycloakTarget, api: Api, realm: str, app: str) -> None:
    api.create("/identity-provider/instances", idp_rep())
    api.create("/users", user_rep("alice"))
    response = broker_token(keycloak, realm, ALIAS, _token(keycloak, realm, "alice"))
    assert response.status_code == 403
    assert response.json() == {
        "errorMessage": f"Client [app] not authorized to retrieve tokens from identity provider [{ALIAS}]."
    }


def test_role_scope_and_mapper_in_place_but_store_token_off_is_400(
    keycloak: KeycloakTarget, api: Api, realm: str, app: str
) -> None:
    api.create("/identity-provider/instances", idp_rep(store_token=False))
    user_id = api.create("/users", user_rep("alice"))
    grant_read_token(api, user_id)
    response = broker_token(keycloak, realm, ALIAS, _token(keycloak, realm, "alice"))
    assert response.status_code == 400
    assert response.json() == {"errorMessage": f"Identity Provider [{ALIAS}] does not support this operation."}


def test_token_carries_broker_role_and_audience(keycloak: KeycloakTarget, api: Api, realm: str, app: str) -> None:
    user_id = api.create("/users", user_rep("alice"))
    grant_read_token(api, user_id)
    claims = _claims(_token(keycloak, realm, "alice"))
    assert claims["resource_access"]["broker"] == {"roles": ["read-token"]}
    assert "broker" in claims["aud"]
    assert claims["azp"] == "app"


def _claims(token: str) -> dict[str, Any]:
    import jwt

    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_unlinked_user_and_link_without_token(keycloak: KeycloakTarget, api: Api, realm: str, app: str) -> None:
    api.create("/identity-provider/instances", idp_rep())
    user_id = api.create("/users", user_rep("alice"))
    grant_read_token(api, user_id)
    token = _token(keycloak, realm, "alice")
    response = broker_token(keycloak, realm, ALIAS, token)
    assert response.status_code == 400
    assert response.json() == {"errorMessage": f"User [{user_id}] is not associated with identity provider [{ALIAS}]."}
    linked = api.post(f"/users/{user_id}/federated-identity/{ALIAS}", {"userId": "ext-1", "userName": "alice"})
    assert linked.status_code == 204
    response = broker_token(keycloak, realm, ALIAS, token)
    assert response.status_code == 404
    assert response.json() == {
        "errorMessage": f"No token stored for user [{user_id}] with associated identity provider [{ALIAS}]."
    }


def test_full_scope_off_without_scope_mapping_is_403(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    api.create("/clients", app_client("app", fullScopeAllowed=False))
    api.create("/identity-provider/instances", idp_rep())
    user_id = api.create("/users", user_rep("alice"))
    grant_read_token(api, user_id)
    token = _token(keycloak, realm, "alice")
    assert "broker" not in _claims(token).get("resource_access", {})
    response = broker_token(keycloak, realm, ALIAS, token)
    assert response.status_code == 403
    assert response.json()["errorMessage"].startswith("Client [app] not authorized")


@pytest.fixture
def imported_realm(keycloak: KeycloakTarget, master_admin: KeycloakAdmin) -> Iterator[str]:
    name = unique_name("imp")
    yield name
    master_admin.connection.raw_delete(f"admin/realms/{name}")


def test_full_scope_off_with_client_scope_mapping_gets_the_role(
    keycloak: KeycloakTarget, master_admin: KeycloakAdmin, imported_realm: str
) -> None:
    realm = imported_realm
    master_admin.create_realm(
        {
            "realm": realm,
            "enabled": True,
            "clients": [
                app_client("app", fullScopeAllowed=False),
                app_client("other", fullScopeAllowed=False),
            ],
            "clientScopeMappings": {"broker": [{"client": "app", "roles": ["read-token"]}]},
            "users": [user_rep("alice", clientRoles={"broker": ["read-token"]}, realmRoles=["offline_access"])],
        }
    )
    claims = _claims(_token(keycloak, realm, "alice"))
    assert claims["resource_access"]["broker"] == {"roles": ["read-token"]}
    assert "realm_access" not in claims  # offline_access is held but not in the role scope
    claims = _claims(_token(keycloak, realm, "alice", client_id="other"))
    assert "resource_access" not in claims


def test_mapper_with_custom_claim_name_is_403(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    mapper = {
        "name": "broker roles",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-usermodel-client-role-mapper",
        "config": {
            "usermodel.clientRoleMapping.clientId": "broker",
            "claim.name": "broker_roles",
            "multivalued": "true",
            "access.token.claim": "true",
        },
    }
    api.create("/clients", app_client("app", defaultClientScopes=["profile", "email"], protocolMappers=[mapper]))
    api.create("/identity-provider/instances", idp_rep())
    user_id = api.create("/users", user_rep("alice"))
    grant_read_token(api, user_id)
    token = _token(keycloak, realm, "alice")
    claims = _claims(token)
    assert claims["broker_roles"] == ["read-token"]
    assert "resource_access" not in claims
    response = broker_token(keycloak, realm, ALIAS, token)
    assert response.status_code == 403


def test_dedicated_mapper_with_client_id_placeholder_writes_the_claim(
    keycloak: KeycloakTarget, api: Api, realm: str
) -> None:
    mapper = {
        "name": "broker roles",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-usermodel-client-role-mapper",
        "config": {
            "usermodel.clientRoleMapping.clientId": "broker",
            "claim.name": "resource_access.${client_id}.roles",
            "multivalued": "true",
            "access.token.claim": "true",
        },
    }
    api.create("/clients", app_client("app", defaultClientScopes=["profile"], protocolMappers=[mapper]))
    user_id = api.create("/users", user_rep("alice"))
    grant_read_token(api, user_id)
    claims = _claims(_token(keycloak, realm, "alice"))
    # only broker roles: the account roles of the default role are not mapped by this mapper
    assert claims["resource_access"] == {"broker": {"roles": ["read-token"]}}
    assert "aud" not in claims  # no audience-resolve mapper without the roles scope


def test_lightweight_access_token_lacks_resource_access_so_403(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    attributes = {"client.use.lightweight.access.token.enabled": "true"}
    api.create("/clients", app_client("app", attributes=attributes))
    api.create("/identity-provider/instances", idp_rep())
    user_id = api.create("/users", user_rep("alice"))
    grant_read_token(api, user_id)
    token = _token(keycloak, realm, "alice")
    assert "resource_access" not in _claims(token)
    assert broker_token(keycloak, realm, ALIAS, token).status_code == 403


def test_missing_or_invalid_token_is_400_invalid_token(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    api.create("/identity-provider/instances", idp_rep())
    for token in (None, "not-a-jwt"):
        response = broker_token(keycloak, realm, ALIAS, token)
        assert response.status_code == 400
        assert response.json() == {"errorMessage": "Invalid token."}


def test_token_of_another_realm_is_invalid(
    keycloak: KeycloakTarget, api: Api, realm: str, master_admin: KeycloakAdmin
) -> None:
    api.create("/identity-provider/instances", idp_rep())
    response = broker_token(keycloak, realm, ALIAS, master_token(keycloak))
    assert response.status_code == 400
    assert response.json() == {"errorMessage": "Invalid token."}


# --- with the sandbox's simulated broker login ----------------------------------------------------
@pytest.mark.sandbox_only
def test_first_broker_login_grants_role_and_token_is_returned_exactly(
    keycloak: KeycloakTarget, api: Api, realm: str, app: str
) -> None:
    api.create("/identity-provider/instances", idp_rep())
    before = int(time.time())
    answer = sandbox_login(keycloak, realm, {"username": "alice", "subject": "ext-alice", "token": UPSTREAM_TOKEN})
    assert answer["created"] is True
    user_id = answer["userId"]
    assert api.put(f"/users/{user_id}/reset-password", {"type": "password", "value": "Secret-pw-1"}).status_code == 204
    role = read_token_role(api)
    direct = api.get(f"/users/{user_id}/role-mappings/clients/{role['broker']}").json()
    assert [r["name"] for r in direct] == ["read-token"]
    links = api.get(f"/users/{user_id}/federated-identity").json()
    assert [(x["identityProvider"], x["userId"]) for x in links] == [(ALIAS, "ext-alice")]

    response = broker_token(keycloak, realm, ALIAS, _token(keycloak, realm, "alice"))
    assert response.status_code == 200
    body = response.json()
    expiration = body.pop("accessTokenExpiration")
    assert body == UPSTREAM_TOKEN
    assert before + 300 <= expiration <= int(time.time()) + 300


@pytest.mark.sandbox_only
def test_later_login_updates_stored_token_and_does_not_regrant(
    keycloak: KeycloakTarget, api: Api, realm: str, app: str
) -> None:
    api.create("/identity-provider/instances", idp_rep())
    first = sandbox_login(keycloak, realm, {"username": "alice", "subject": "s1", "token": UPSTREAM_TOKEN})
    user_id = first["userId"]
    role = read_token_role(api)
    # an admin removes the role; a later login must not give it back
    removed = api.delete(
        f"/users/{user_id}/role-mappings/clients/{role['broker']}", [{"id": role["id"], "name": "read-token"}]
    )
    assert removed.status_code == 204
    newer = {"access_token": "second", "token_type": "Bearer"}
    again = sandbox_login(keycloak, realm, {"username": "alice", "subject": "s1", "token": newer})
    assert again == {"userId": user_id, "created": False}
    assert api.get(f"/users/{user_id}/role-mappings/clients/{role['broker']}").json() == []
    grant_read_token(api, user_id)
    api.put(f"/users/{user_id}/reset-password", {"type": "password", "value": "Secret-pw-1"})
    response = broker_token(keycloak, realm, ALIAS, _token(keycloak, realm, "alice"))
    assert response.status_code == 200
    assert response.json() == newer  # no expires_in ⇒ stored verbatim


@pytest.mark.sandbox_only
def test_user_created_before_add_read_token_was_switched_on_has_no_role(
    keycloak: KeycloakTarget, api: Api, realm: str
) -> None:
    api.create("/identity-provider/instances", idp_rep(add_read_token=False))
    first = sandbox_login(keycloak, realm, {"username": "early", "subject": "e1", "token": UPSTREAM_TOKEN})
    assert first["created"] is True
    assert api.put(f"/identity-provider/instances/{ALIAS}", idp_rep(add_read_token=True)).status_code == 204
    again = sandbox_login(keycloak, realm, {"username": "early", "subject": "e1", "token": UPSTREAM_TOKEN})
    assert again["created"] is False
    role = read_token_role(api)
    assert api.get(f"/users/{first['userId']}/role-mappings/clients/{role['broker']}").json() == []
    # the first broker login of a new identity after the switch does get it
    late = sandbox_login(keycloak, realm, {"username": "late", "subject": "l1", "token": UPSTREAM_TOKEN})
    names = [r["name"] for r in api.get(f"/users/{late['userId']}/role-mappings/clients/{role['broker']}").json()]
    assert names == ["read-token"]


@pytest.mark.sandbox_only
def test_first_broker_login_links_an_existing_user(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    api.create("/identity-provider/instances", idp_rep())
    user_id = api.create("/users", user_rep("carol"))
    answer = sandbox_login(keycloak, realm, {"username": "carol", "subject": "c1", "token": UPSTREAM_TOKEN})
    assert answer == {"userId": user_id, "created": False}
    role = read_token_role(api)
    names = [r["name"] for r in api.get(f"/users/{user_id}/role-mappings/clients/{role['broker']}").json()]
    assert names == ["read-token"]  # granted at the first broker login, whether created or linked


@pytest.mark.sandbox_only
def test_unknown_alias_is_502_and_deleted_user_token_is_invalid(
    keycloak: KeycloakTarget, api: Api, realm: str, app: str
) -> None:
    api.create("/identity-provider/instances", idp_rep())
    answer = sandbox_login(keycloak, realm, {"username": "dave", "subject": "d1", "token": UPSTREAM_TOKEN})
    api.put(f"/users/{answer['userId']}/reset-password", {"type": "password", "value": "Secret-pw-1"})
    token = _token(keycloak, realm, "dave")
    assert broker_token(keycloak, realm, "nope", token).status_code == 502
    assert api.delete(f"/users/{answer['userId']}").status_code == 204
    response = broker_token(keycloak, realm, ALIAS, token)
    assert response.status_code == 400
    assert response.json() == {"errorMessage": "Invalid token."}


@pytest.mark.sandbox_only
def test_broker_login_needs_a_master_admin(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    api.create("/identity-provider/instances", idp_rep())
    response = requests.post(
        f"{keycloak.url}/sandbox/realms/{realm}/broker/{ALIAS}/login", json={"subject": "x"}, timeout=10
    )
    assert response.status_code == 401


def test_role_scope_from_default_and_requested_optional_client_scopes(
    keycloak: KeycloakTarget, master_admin: KeycloakAdmin, imported_realm: str
) -> None:
    realm = imported_realm
    master_admin.create_realm(
        {
            "realm": realm,
            "enabled": True,
            "clients": [app_client("app", fullScopeAllowed=False)],
            "clientScopeMappings": {
                "broker": [{"clientScope": "phone", "roles": ["read-token"]}],
                "account": [{"clientScope": "profile", "roles": ["view-profile"]}],
            },
            "users": [user_rep("alice", clientRoles={"broker": ["read-token"], "account": ["view-profile"]})],
        }
    )
    plain = _claims(_token(keycloak, realm, "alice"))
    assert plain["resource_access"] == {"account": {"roles": ["view-profile"]}}  # via the default scope
    body = password_token(keycloak, realm, "app", "alice", secret="app-secret", scope="phone")
    claims = _claims(body["access_token"])
    assert claims["resource_access"]["broker"] == {"roles": ["read-token"]}  # via the requested optional scope
    assert set(claims["aud"]) == {"account", "broker"}


def test_token_claim_switches_and_lightweight_claim(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    def mapper(name: str, claim: str, **config: str) -> dict[str, Any]:
        return {
            "name": name,
            "protocol": "openid-connect",
            "protocolMapper": "oidc-usermodel-client-role-mapper",
            "config": {"usermodel.clientRoleMapping.clientId": "broker", "claim.name": claim, **config},
        }

    lightweight = {"client.use.lightweight.access.token.enabled": "true"}
    mappers = [
        mapper("light", "resource_access.${client_id}.roles", multivalued="true", **{"lightweight.claim": "true"}),
        mapper("hidden", "hidden_roles", multivalued="true", **{"access.token.claim": "false"}),
    ]
    api.create("/clients", app_client("light-app", attributes=lightweight, protocolMappers=mappers))
    api.create("/clients", app_client("full-app", protocolMappers=mappers, defaultClientScopes=["profile"]))
    api.create("/identity-provider/instances", idp_rep(store_token=False))
    user_id = api.create("/users", user_rep("alice"))
    grant_read_token(api, user_id)
    light = _token(keycloak, realm, "alice", client_id="light-app")
    claims = _claims(light)
    assert claims["resource_access"] == {"broker": {"roles": ["read-token"]}}
    assert "preferred_username" not in claims and "hidden_roles" not in claims
    # past the role check: the IdP does not store tokens
    assert broker_token(keycloak, realm, ALIAS, light).status_code == 400
    full = _claims(_token(keycloak, realm, "alice", client_id="full-app"))
    assert full["resource_access"] == {"broker": {"roles": ["read-token"]}}  # no lightweight switch needed
    assert "hidden_roles" not in full
