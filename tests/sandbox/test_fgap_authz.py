"""FGAP v1 management permissions and the realm-management authorization API (SEMANTICS §7)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from keycloak import KeycloakAdmin

from tests.conftest import KeycloakTarget, unique_name
from tests.sandbox.conftest import Api, admin_for


@pytest.fixture
def legacy_api(legacy_keycloak: KeycloakTarget) -> Iterator[Api]:
    """A fresh realm on a server running `token-exchange` + `admin-fine-grained-authz:v1`."""
    name = unique_name("fgap")
    master = admin_for(legacy_keycloak)
    master.create_realm({"realm": name, "enabled": True})
    yield Api(admin_for(legacy_keycloak, name), name)
    master.connection.raw_delete(f"admin/realms/{name}")


def _idp(api: Api) -> str:
    api.create(
        "/identity-provider/instances",
        {
            "alias": "source-realm",
            "providerId": "keycloak-oidc",
            "config": {"clientId": "c", "clientSecret": "s"},
        },
    )
    return str(api.get("/identity-provider/instances/source-realm").json()["internalId"])


def test_v1_endpoints_are_501_when_fgap_v2_is_active(keycloak: KeycloakTarget, api: Api) -> None:
    if keycloak.profile != "keycloak-26":
        pytest.skip("needs the default 26.2+ feature set")
    _idp(api)
    client_id = api.create("/clients", {"clientId": "fgap-target"})
    expected = {
        "error": "Feature not enabled",
        "error_description": "For more on this error consult the server log.",
    }
    for path in (
        "/identity-provider/instances/source-realm/management/permissions",
        f"/clients/{client_id}/management/permissions",
        "/users-management-permissions",
    ):
        response = api.get(path)
        assert response.status_code == 501, path
        assert response.json() == expected
        assert api.put(path, {"enabled": True}).status_code == 501


def test_serverinfo_reports_profile_features(keycloak: KeycloakTarget, master_admin: KeycloakAdmin) -> None:
    info = master_admin.get_server_info()
    features = {f["name"]: f for f in info["features"]}
    legacy = keycloak.profile == "legacy-exchange"
    assert features["TOKEN_EXCHANGE"]["enabled"] is legacy
    assert features["ADMIN_FINE_GRAINED_AUTHZ"]["enabled"] is legacy
    assert features["ADMIN_FINE_GRAINED_AUTHZ_V2"]["enabled"] is not legacy
    assert features["TOKEN_EXCHANGE_STANDARD_V2"] == {
        "name": "TOKEN_EXCHANGE_STANDARD_V2",
        "label": "Standard Token Exchange version 2",
        "type": "DEFAULT",
        "enabled": True,
        "dependencies": [],
    }
    assert info["profileInfo"]["name"] == "default"
    assert ("TOKEN_EXCHANGE" in info["profileInfo"]["disabledFeatures"]) is not legacy
    assert "TOKEN_EXCHANGE" in info["profileInfo"]["previewFeatures"]
    if keycloak.is_sandbox:
        assert info["systemInfo"]["version"] == "26.7.3"


def test_legacy_profile_serverinfo(legacy_keycloak: KeycloakTarget) -> None:
    info = admin_for(legacy_keycloak).get_server_info()
    features = {f["name"]: f["enabled"] for f in info["features"]}
    assert features["TOKEN_EXCHANGE"] and features["ADMIN_FINE_GRAINED_AUTHZ"]
    assert not features["ADMIN_FINE_GRAINED_AUTHZ_V2"]


def test_idp_permissions_enable_creates_keycloak_named_objects(legacy_api: Api) -> None:
    internal_id = _idp(legacy_api)
    path = "/identity-provider/instances/source-realm/management/permissions"
    assert legacy_api.get(path).json() == {"enabled": False}
    response = legacy_api.put(path, {"enabled": True})
    assert response.status_code == 200
    ref = response.json()
    assert ref["enabled"] is True
    assert set(ref["scopePermissions"]) == {"token-exchange"}
    assert legacy_api.get(path).json() == ref
    rm = legacy_api.get("/clients", clientId="realm-management").json()[0]
    assert rm["authorizationServicesEnabled"] is True
    authz = f"/clients/{rm['id']}/authz/resource-server"
    resource = legacy_api.get(f"{authz}/resource/{ref['resource']}").json()
    assert resource["name"] == f"idp.resource.{internal_id}"
    assert resource["type"] == "IdentityProvider"
    assert [s["name"] for s in resource["scopes"]] == ["token-exchange"]
    assert [s["name"] for s in legacy_api.get(f"{authz}/scope").json()] == ["token-exchange"]
    permission_id = ref["scopePermissions"]["token-exchange"]
    permission = legacy_api.get(f"{authz}/permission/scope/{permission_id}").json()
    assert permission == {
        "id": permission_id,
        "name": f"token-exchange.permission.idp.{internal_id}",
        "type": "scope",
        "logic": "POSITIVE",
        "decisionStrategy": "UNANIMOUS",
    }
    assert legacy_api.get(f"{authz}/policy/{permission_id}/associatedPolicies").json() == []
    assert legacy_api.get(f"{authz}/permission/{permission_id}/resources").json() == [
        {"_id": ref["resource"], "name": f"idp.resource.{internal_id}"}
    ]
    assert [s["name"] for s in legacy_api.get(f"{authz}/permission/{permission_id}/scopes").json()] == [
        "token-exchange"
    ]
    # idempotent, and disabling removes the permission and resource
    assert legacy_api.put(path, {"enabled": True}).json() == ref
    assert legacy_api.put(path, {"enabled": False}).json() == {"enabled": False}
    assert (
        legacy_api.get(f"{authz}/policy/search", name=f"token-exchange.permission.idp.{internal_id}").status_code == 204
    )


def test_client_and_users_permissions_names(legacy_api: Api) -> None:
    client_id = legacy_api.create("/clients", {"clientId": "exchange-target"})
    ref = legacy_api.put(f"/clients/{client_id}/management/permissions", {"enabled": True}).json()
    assert set(ref["scopePermissions"]) == {
        "view",
        "manage",
        "configure",
        "map-roles",
        "map-roles-client-scope",
        "map-roles-composite",
        "token-exchange",
    }
    rm = legacy_api.get("/clients", clientId="realm-management").json()[0]
    authz = f"/clients/{rm['id']}/authz/resource-server"
    found = legacy_api.get(f"{authz}/policy/search", name=f"token-exchange.permission.client.{client_id}")
    assert found.status_code == 200
    assert found.json()["id"] == ref["scopePermissions"]["token-exchange"]
    users = legacy_api.put("/users-management-permissions", {"enabled": True}).json()
    assert set(users["scopePermissions"]) == {
        "view",
        "manage",
        "map-roles",
        "manage-group-membership",
        "impersonate",
        "user-impersonated",
    }
    impersonate = legacy_api.get(f"{authz}/policy/{users['scopePermissions']['impersonate']}").json()
    assert impersonate["name"] == "admin-impersonating.permission.users"


def test_client_policy_attach_to_idp_permission(legacy_api: Api) -> None:
    """realmctl's pattern: create a client policy, then PUT the permission with all relations."""
    internal_id = _idp(legacy_api)
    requester = legacy_api.create("/clients", {"clientId": "requester"})
    ref = legacy_api.put("/identity-provider/instances/source-realm/management/permissions", {"enabled": True}).json()
    rm = legacy_api.get("/clients", clientId="realm-management").json()[0]
    authz = f"/clients/{rm['id']}/authz/resource-server"
    policy_body = {
        "name": "source-realm_idp_client_policy",
        "type": "client",
        "logic": "POSITIVE",
        "decisionStrategy": "UNANIMOUS",
        "clients": ["requester"],
    }
    response = legacy_api.post(f"{authz}/policy/client", policy_body)
    assert response.status_code == 201
    created = response.json()
    assert created["name"] == policy_body["name"] and created["id"]
    policy = legacy_api.get(f"{authz}/policy/client/{created['id']}").json()
    assert policy["clients"] == [requester]
    assert policy["type"] == "client"
    clash = legacy_api.post(f"{authz}/policy/client", policy_body)
    assert clash.status_code == 409
    assert clash.json() == {
        "error": "Policy with name [source-realm_idp_client_policy] already exists",
        "error_description": "Conflicting policy",
    }
    generic = legacy_api.get(f"{authz}/policy", name="idp_client", permission="false").json()
    assert [p["config"] for p in generic] == [{"clients": f'["{requester}"]'}]
    permission_id = ref["scopePermissions"]["token-exchange"]
    scope_id = legacy_api.get(f"{authz}/permission/{permission_id}/scopes").json()[0]["id"]
    update = {
        "id": permission_id,
        "name": f"token-exchange.permission.idp.{internal_id}",
        "type": "scope",
        "logic": "POSITIVE",
        "decisionStrategy": "UNANIMOUS",
        "resources": [ref["resource"]],
        "scopes": [scope_id],
        "policies": [created["id"]],
    }
    response = legacy_api.put(f"{authz}/permission/scope/{permission_id}", update)
    assert response.status_code == 201
    assert response.content == b""
    associated = legacy_api.get(f"{authz}/policy/{permission_id}/associatedPolicies").json()
    assert [(p["id"], p["name"], p["type"]) for p in associated] == [(created["id"], policy_body["name"], "client")]
    # a PUT with relations left out (null) keeps them
    legacy_api.put(f"{authz}/permission/scope/{permission_id}", {k: v for k, v in update.items() if k != "policies"})
    assert len(legacy_api.get(f"{authz}/policy/{permission_id}/associatedPolicies").json()) == 1
    assert (
        legacy_api.put(f"{authz}/policy/client/{created['id']}", {**policy_body, "description": "d"}).status_code == 201
    )
    assert legacy_api.delete(f"{authz}/policy/{created['id']}").status_code == 204
    assert legacy_api.get(f"{authz}/policy/client/{created['id']}").status_code == 404
    assert legacy_api.get(f"{authz}/policy/{permission_id}/associatedPolicies").json() == []


def test_group_and_role_permissions_names(legacy_api: Api) -> None:
    group_id = legacy_api.create("/groups", {"name": "admins"})
    ref = legacy_api.put(f"/groups/{group_id}/management/permissions", {"enabled": True}).json()
    assert set(ref["scopePermissions"]) == {
        "view",
        "manage",
        "view-members",
        "manage-members",
        "manage-membership",
    }
    rm_id = legacy_api.get("/clients", clientId="realm-management").json()[0]["id"]
    members = legacy_api.get(
        f"/clients/{rm_id}/authz/resource-server/policy/{ref['scopePermissions']['manage-members']}"
    ).json()
    assert members["name"] == f"manage.members.permission.group.{group_id}"
    legacy_api.post("/roles", {"name": "mappable"})
    role_id = legacy_api.get("/roles/mappable").json()["id"]
    role_ref = legacy_api.put(f"/roles-by-id/{role_id}/management/permissions", {"enabled": True}).json()
    rm = legacy_api.get("/clients", clientId="realm-management").json()[0]
    permission = legacy_api.get(
        f"/clients/{rm['id']}/authz/resource-server/policy/{role_ref['scopePermissions']['map-role']}"
    ).json()
    assert permission["name"] == f"map-role.permission.{role_id}"
