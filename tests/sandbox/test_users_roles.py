"""Users, realm/client roles, role mappings (direct, composite, available), groups, role members."""

from __future__ import annotations

from keycloak import KeycloakAdmin

from tests.conftest import KeycloakTarget
from tests.sandbox.conftest import Api


def _broker(api: Api) -> tuple[str, dict[str, object]]:
    broker = api.get("/clients", clientId="broker").json()[0]
    role = api.get(f"/clients/{broker['id']}/roles/read-token").json()
    return str(broker["id"]), role


def test_create_user_201_location_and_defaults(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    response = api.post("/users", {"username": "Alice", "email": "Alice@Example.com", "enabled": True})
    assert response.status_code == 201
    user_id = response.headers["Location"].rsplit("/", 1)[-1]
    assert response.headers["Location"] == f"{keycloak.url}/admin/realms/{realm}/users/{user_id}"
    user = api.get(f"/users/{user_id}").json()
    assert user["username"] == "alice"
    assert user["email"] == "alice@example.com"
    assert user["enabled"] is True
    assert user["emailVerified"] is False
    assert user["requiredActions"] == []


def test_duplicate_username_is_409(api: Api) -> None:
    api.create("/users", {"username": "bob"})
    response = api.post("/users", {"username": "bob"})
    assert response.status_code == 409
    assert response.json() == {"errorMessage": "User exists with same username"}


def test_unknown_user_is_404(api: Api) -> None:
    response = api.get("/users/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json() == {"error": "User not found"}


def test_search_substring_vs_exact(kc: KeycloakAdmin, api: Api) -> None:
    for name in ("alice", "alice2", "malice"):
        api.create("/users", {"username": name, "enabled": True})
    assert [u["username"] for u in api.get("/users", username="alice").json()] == [
        "alice",
        "alice2",
        "malice",
    ]
    assert [u["username"] for u in api.get("/users", username="alice", exact="true").json()] == ["alice"]
    assert [u["username"] for u in api.get("/users", search="ali").json()] == ["alice", "alice2"]
    assert kc.get_user_id("alice2") is not None
    assert api.get("/users", username="nobody", exact="true").json() == []


def test_update_and_delete_user(api: Api) -> None:
    user_id = api.create("/users", {"username": "carol"})
    assert api.put(f"/users/{user_id}", {"firstName": "Carol", "enabled": True}).status_code == 204
    user = api.get(f"/users/{user_id}").json()
    assert user["firstName"] == "Carol"
    assert user["enabled"] is True
    assert api.delete(f"/users/{user_id}").status_code == 204
    assert api.get(f"/users/{user_id}").status_code == 404


def test_reset_password_lets_the_user_log_in(keycloak: KeycloakTarget, kc: KeycloakAdmin, realm: str) -> None:
    import requests

    # e-mail and names: a new realm's user profile requires them before a user may log in.
    user_id = kc.create_user(
        {"username": "dave", "enabled": True, "email": "dave@example.com", "firstName": "Dave", "lastName": "D"}
    )
    kc.set_user_password(user_id, "pw-1", temporary=False)
    response = requests.post(
        f"{keycloak.url}/realms/{realm}/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "admin-cli", "username": "dave", "password": "pw-1"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["expires_in"] == 300


def test_client_role_mapping_round_trip(api: Api) -> None:
    broker_id, role = _broker(api)
    user_id = api.create("/users", {"username": "erin", "enabled": True})
    base = f"/users/{user_id}/role-mappings/clients/{broker_id}"
    assert role in [{**r, "attributes": {}} for r in api.get(f"{base}/available").json()]
    assert api.post(base, [{"id": role["id"], "name": "read-token"}]).status_code == 204
    assert api.post(base, [{"id": role["id"], "name": "read-token"}]).status_code == 204  # harmless again
    direct = api.get(base).json()
    assert [r["name"] for r in direct] == ["read-token"]
    assert "attributes" not in direct[0]
    assert api.get(f"{base}/available").json() == []
    mappings = api.get(f"/users/{user_id}/role-mappings").json()
    assert mappings["clientMappings"]["broker"]["client"] == "broker"
    assert mappings["clientMappings"]["broker"]["id"] == broker_id
    assert [r["name"] for r in mappings["clientMappings"]["broker"]["mappings"]] == ["read-token"]
    assert api.delete(base, [{"id": role["id"], "name": "read-token"}]).status_code == 204
    assert api.get(base).json() == []


def test_role_mapping_needs_matching_id_and_name(api: Api) -> None:
    broker_id, role = _broker(api)
    user_id = api.create("/users", {"username": "frank", "enabled": True})
    response = api.post(f"/users/{user_id}/role-mappings/clients/{broker_id}", [{"id": role["id"], "name": "x"}])
    assert response.status_code == 404
    assert response.json() == {"error": "Role not found"}
    response = api.post(f"/users/{user_id}/role-mappings/clients/{broker_id}", [{"name": "read-token"}])
    assert response.status_code == 404


def test_role_mapping_unknown_client_or_user(api: Api) -> None:
    user_id = api.create("/users", {"username": "gina", "enabled": True})
    response = api.get(f"/users/{user_id}/role-mappings/clients/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json() == {"error": "Client not found"}
    response = api.get("/users/00000000-0000-0000-0000-000000000000/role-mappings")
    assert response.status_code == 404
    assert response.json() == {"error": "User not found"}


def test_composite_includes_group_and_composite_roles(api: Api) -> None:
    user_id = api.create("/users", {"username": "henry", "enabled": True})
    account = api.get("/clients", clientId="account").json()[0]
    composite = api.get(f"/users/{user_id}/role-mappings/clients/{account['id']}/composite").json()
    # default role → account manage-account (→ manage-account-links) and view-profile
    assert sorted(r["name"] for r in composite) == ["manage-account", "manage-account-links", "view-profile"]
    assert api.get(f"/users/{user_id}/role-mappings/clients/{account['id']}").json() == []


def test_group_grant_reaches_members_but_not_role_members_list(api: Api) -> None:
    broker_id, role = _broker(api)
    group_id = api.create("/groups", {"name": "readers"})
    assert api.post(f"/groups/{group_id}/role-mappings/clients/{broker_id}", [role]).status_code == 204
    user_id = api.create("/users", {"username": "ivy", "enabled": True})
    assert api.put(f"/users/{user_id}/groups/{group_id}").status_code == 204
    assert [g["name"] for g in api.get(f"/users/{user_id}/groups").json()] == ["readers"]
    effective = api.get(f"/users/{user_id}/role-mappings/clients/{broker_id}/composite").json()
    assert [r["name"] for r in effective] == ["read-token"]
    assert api.get(f"/clients/{broker_id}/roles/read-token/users").json() == []
    assert [u["username"] for u in api.get(f"/groups/{group_id}/members").json()] == ["ivy"]
    assert api.delete(f"/users/{user_id}/groups/{group_id}").status_code == 204
    assert api.get(f"/users/{user_id}/role-mappings/clients/{broker_id}/composite").json() == []


def test_role_members_are_direct_and_paged(api: Api) -> None:
    broker_id, role = _broker(api)
    for i in range(3):
        user_id = api.create("/users", {"username": f"member{i}", "enabled": True})
        api.post(f"/users/{user_id}/role-mappings/clients/{broker_id}", [role])
    members = api.get(f"/clients/{broker_id}/roles/read-token/users").json()
    assert [u["username"] for u in members] == ["member0", "member1", "member2"]
    page = api.get(f"/clients/{broker_id}/roles/read-token/users", first="1", max="1").json()
    assert [u["username"] for u in page] == ["member1"]
    response = api.get(f"/clients/{broker_id}/roles/nope/users")
    assert response.status_code == 404
    assert response.json() == {"error": "Could not find role"}


def test_realm_roles_crud_and_members(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    response = api.post("/roles", {"name": "auditor", "description": "reads"})
    assert response.status_code == 201
    assert response.headers["Location"] == f"{keycloak.url}/admin/realms/{realm}/roles/auditor"
    duplicate = api.post("/roles", {"name": "auditor"})
    assert duplicate.status_code == 409
    assert duplicate.json() == {"errorMessage": "Role with name auditor already exists"}
    role = api.get("/roles/auditor").json()
    assert role["description"] == "reads" and role["clientRole"] is False
    user_id = api.create("/users", {"username": "jack", "enabled": True})
    assert api.post(f"/users/{user_id}/role-mappings/realm", [role]).status_code == 204
    assert [u["username"] for u in api.get("/roles/auditor/users").json()] == ["jack"]
    assert api.put("/roles/auditor", {"name": "auditor", "description": "changed"}).status_code == 204
    assert api.get("/roles/auditor").json()["description"] == "changed"
    assert api.delete("/roles/auditor").status_code == 204
    assert api.get("/roles/auditor").status_code == 404
    assert "auditor" not in [r["name"] for r in api.get(f"/users/{user_id}/role-mappings/realm").json()]


def test_client_roles_crud_and_composites(api: Api) -> None:
    client_id = api.create("/clients", {"clientId": "api-server"})
    assert api.post(f"/clients/{client_id}/roles", {"name": "read"}).status_code == 201
    assert api.post(f"/clients/{client_id}/roles", {"name": "admin"}).status_code == 201
    read = api.get(f"/clients/{client_id}/roles/read").json()
    assert api.post(f"/clients/{client_id}/roles/admin/composites", [read]).status_code == 204
    assert api.get(f"/clients/{client_id}/roles/admin").json()["composite"] is True
    assert [r["name"] for r in api.get(f"/clients/{client_id}/roles/admin/composites").json()] == ["read"]
    assert sorted(r["name"] for r in api.get(f"/clients/{client_id}/roles").json()) == ["admin", "read"]


def test_federated_identity_link_and_unlink(api: Api) -> None:
    api.create(
        "/identity-provider/instances",
        {"alias": "upstream", "providerId": "oidc", "config": {"clientId": "c", "clientSecret": "s"}},
    )
    user_id = api.create("/users", {"username": "kate", "enabled": True})
    link = {"identityProvider": "upstream", "userId": "ext-1", "userName": "kate-ext"}
    assert api.post(f"/users/{user_id}/federated-identity/upstream", link).status_code == 204
    assert api.get(f"/users/{user_id}/federated-identity").json() == [link]
    again = api.post(f"/users/{user_id}/federated-identity/upstream", link)
    assert again.status_code == 409
    assert again.json() == {"errorMessage": "User is already linked with provider"}
    found = api.get("/users", idpAlias="upstream", idpUserId="ext-1").json()
    assert [u["username"] for u in found] == ["kate"]
    assert api.delete(f"/users/{user_id}/federated-identity/upstream").status_code == 204
    assert api.get(f"/users/{user_id}/federated-identity").json() == []
    assert api.delete(f"/users/{user_id}/federated-identity/upstream").status_code == 404


def test_client_scope_mappings(api: Api) -> None:
    broker_id, role = _broker(api)
    client_id = api.create("/clients", {"clientId": "narrow", "fullScopeAllowed": False})
    base = f"/clients/{client_id}/scope-mappings/clients/{broker_id}"
    assert api.get(base).json() == []
    assert api.post(base, [role]).status_code == 204
    assert [r["name"] for r in api.get(base).json()] == ["read-token"]
    assert [r["name"] for r in api.get(f"{base}/composite").json()] == ["read-token"]
    assert api.get(f"{base}/available").json() == []
    all_mappings = api.get(f"/clients/{client_id}/scope-mappings").json()
    assert [r["name"] for r in all_mappings["clientMappings"]["broker"]["mappings"]] == ["read-token"]
    scope_id = api.create("/client-scopes", {"name": "carrier", "protocol": "openid-connect"})
    scope_base = f"/client-scopes/{scope_id}/scope-mappings/clients/{broker_id}"
    assert api.post(scope_base, [role]).status_code == 204
    assert [r["name"] for r in api.get(scope_base).json()] == ["read-token"]
    assert api.delete(scope_base, [role]).status_code == 204
    assert api.get(scope_base).json() == []


def test_brief_user_representation(api: Api) -> None:
    profile = api.get("/users/profile").json()  # undeclared attributes are kept only with a policy
    assert api.put("/users/profile", {**profile, "unmanagedAttributePolicy": "ENABLED"}).status_code == 200
    api.create("/users", {"username": "brief", "enabled": True, "attributes": {"a": ["1"]}})
    full = api.get("/users", username="brief", exact="true").json()[0]
    brief = api.get("/users", username="brief", exact="true", briefRepresentation="true").json()[0]
    assert full["attributes"] == {"a": ["1"]}
    assert "attributes" not in brief and "requiredActions" not in brief
    assert brief["username"] == "brief" and brief["enabled"] is True


def test_group_crud_children_and_conflicts(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    response = api.post("/groups", {"name": "team"})
    assert response.status_code == 201
    group_id = response.headers["Location"].rsplit("/", 1)[-1]
    assert response.headers["Location"] == f"{keycloak.url}/admin/realms/{realm}/groups/{group_id}"
    clash = api.post("/groups", {"name": "team"})
    assert clash.status_code == 409
    assert clash.json() == {"errorMessage": "Top level group named 'team' already exists."}
    child = api.post(f"/groups/{group_id}/children", {"name": "sub"})
    assert child.status_code == 201
    assert child.json()["path"] == "/team/sub"
    assert api.get("/group-by-path/team/sub").json()["id"] == child.json()["id"]
    assert [g["name"] for g in api.get(f"/groups/{group_id}/children").json()] == ["sub"]
    assert api.get(f"/groups/{group_id}").json()["subGroupCount"] == 1
    assert api.put(f"/groups/{group_id}", {"name": "crew"}).status_code == 204
    assert api.get(f"/groups/{group_id}").json()["path"] == "/crew"
    assert api.delete(f"/groups/{group_id}").status_code == 204
    missing = api.get(f"/groups/{group_id}")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Could not find group by id"}


def test_username_and_email_free_again_after_change_or_delete(api: Api) -> None:
    """The sandbox looks users up through an index (not a scan): it must follow edits and deletes."""
    first = api.create("/users", {"username": "dora", "email": "dora@example.com", "enabled": True})
    assert api.put(f"/users/{first}", {"email": "Dora.New@example.com"}).status_code == 204
    taken = api.post("/users", {"username": "dora2", "email": "dora.new@example.com"})
    assert taken.status_code == 409
    assert taken.json() == {"errorMessage": "User exists with same email"}
    assert api.post("/users", {"username": "dora3", "email": "dora@example.com"}).status_code == 201
    assert api.delete(f"/users/{first}").status_code == 204
    assert api.post("/users", {"username": "Dora", "email": "dora.new@example.com"}).status_code == 201
    assert [u["username"] for u in api.get("/users", username="dora", exact="true").json()] == ["dora"]
