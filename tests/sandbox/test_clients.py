"""Client endpoints: create defaults, search, read, update (merge), delete, secret, service account."""

from __future__ import annotations

from keycloak import KeycloakAdmin

from tests.conftest import KeycloakTarget
from tests.sandbox.conftest import Api


def test_create_client_answers_201_with_location(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    response = api.post("/clients", {"clientId": "my-app"})
    assert response.status_code == 201
    assert response.content == b""
    location = response.headers["Location"]
    client_uuid = location.rsplit("/", 1)[-1]
    assert location == f"{keycloak.url}/admin/realms/{realm}/clients/{client_uuid}"
    assert api.get(f"/clients/{client_uuid}").json()["clientId"] == "my-app"


def test_sparse_client_body_without_protocol_is_confidential_with_a_secret(api: Api) -> None:
    """Keycloak 26.7.3 applies the OIDC protocol defaults only when the body names the protocol:
    `{"clientId": …}` alone is a confidential client with a generated secret and no direct grants."""
    client_uuid = api.create("/clients", {"clientId": "bare-app"})
    body = api.get(f"/clients/{client_uuid}").json()
    assert body["publicClient"] is False
    assert len(body["secret"]) == 86
    assert body["directAccessGrantsEnabled"] is False
    assert body["standardFlowEnabled"] is True
    assert body["protocol"] == "openid-connect"
    assert set(body["attributes"]) == {"realm_client", "client.secret.creation.time"}


def test_sparse_client_body_with_protocol_becomes_a_public_client(api: Api) -> None:
    """OIDCLoginProtocolFactory.setupClientDefaults: `protocol` given, no publicClient ⇒ public."""
    client_uuid = api.create("/clients", {"clientId": "defaults-app", "protocol": "openid-connect"})
    body = api.get(f"/clients/{client_uuid}").json()
    assert body["enabled"] is True
    assert body["publicClient"] is True
    assert "secret" not in body
    assert body["bearerOnly"] is False
    assert body["standardFlowEnabled"] is True
    assert body["directAccessGrantsEnabled"] is True
    assert body["implicitFlowEnabled"] is False
    assert body["frontchannelLogout"] is False
    assert body["fullScopeAllowed"] is True
    assert body["nodeReRegistrationTimeout"] == -1
    assert body["protocol"] == "openid-connect"
    assert body["access"] == {"view": True, "configure": True, "manage": True}
    assert body["attributes"].pop("client.secret.creation.time").isdigit()  # generated, then made public
    assert body["attributes"] == {
        "realm_client": "false",
        "backchannel.logout.session.required": "true",
        "backchannel.logout.revoke.offline.tokens": "false",
    }
    assert "protocolMappers" not in body
    assert sorted(body["defaultClientScopes"]) == ["acr", "basic", "email", "profile", "roles", "web-origins"]
    assert sorted(body["optionalClientScopes"]) == [
        "address",
        "microprofile-jwt",
        "offline_access",
        "organization",
        "phone",
    ]


def test_confidential_client_gets_a_generated_secret_in_clear(api: Api) -> None:
    client_uuid = api.create("/clients", {"clientId": "confidential", "publicClient": False})
    body = api.get(f"/clients/{client_uuid}").json()
    assert body["publicClient"] is False
    assert len(body["secret"]) == 86  # 512 bits of alphanumerics (26.7.3)
    assert body["attributes"]["client.secret.creation.time"].isdigit()


def test_root_url_seeds_redirects_origins_and_admin_url(api: Api) -> None:
    rep = {"clientId": "web", "rootUrl": "https://app.example.com", "protocol": "openid-connect"}
    body = api.get(f"/clients/{api.create('/clients', rep)}").json()
    assert body["redirectUris"] == ["https://app.example.com/*"]
    assert body["webOrigins"] == ["https://app.example.com"]
    assert body["adminUrl"] == "https://app.example.com"
    del rep["protocol"]  # without it, no protocol defaults at all
    body = api.get(f"/clients/{api.create('/clients', {**rep, 'clientId': 'web2'})}").json()
    assert (body["redirectUris"], body["webOrigins"], body.get("adminUrl")) == ([], [], None)


def test_explicit_scope_lists_replace_the_realm_defaults(api: Api) -> None:
    client_uuid = api.create(
        "/clients",
        {"clientId": "explicit", "defaultClientScopes": ["roles", "nope"], "optionalClientScopes": []},
    )
    body = api.get(f"/clients/{client_uuid}").json()
    assert body["defaultClientScopes"] == ["roles"]
    assert body["optionalClientScopes"] == []


def test_public_client_has_no_secret(api: Api) -> None:
    client_uuid = api.create("/clients", {"clientId": "spa", "publicClient": True})
    assert "secret" not in api.get(f"/clients/{client_uuid}").json()


def test_duplicate_client_id_is_409(api: Api) -> None:
    api.create("/clients", {"clientId": "dup"})
    response = api.post("/clients", {"clientId": "dup"})
    assert response.status_code == 409
    assert response.json() == {"errorMessage": "Client dup already exists"}


def test_unknown_client_is_404_could_not_find_client(api: Api) -> None:
    response = api.get("/clients/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json() == {"error": "Could not find client"}


def test_search_by_client_id_is_exact_unless_search_true(kc: KeycloakAdmin, api: Api) -> None:
    api.create("/clients", {"clientId": "alpha-app"})
    assert [c["clientId"] for c in api.get("/clients", clientId="alpha-app").json()] == ["alpha-app"]
    assert api.get("/clients", clientId="alpha").json() == []
    found = api.get("/clients", clientId="alpha", search="true").json()
    assert [c["clientId"] for c in found] == ["alpha-app"]
    assert kc.get_client_id("alpha-app") == found[0]["id"]


def test_update_merges_attributes_and_returns_204(api: Api) -> None:
    client_uuid = api.create("/clients", {"clientId": "merge", "attributes": {"a": "1", "b": "2"}})
    response = api.put(f"/clients/{client_uuid}", {"clientId": "merge", "attributes": {"b": "3"}, "description": "d"})
    assert response.status_code == 204
    body = api.get(f"/clients/{client_uuid}").json()
    assert body["attributes"]["a"] == "1"
    assert body["attributes"]["b"] == "3"
    assert body["description"] == "d"


def test_rename_to_existing_client_id_is_409(api: Api) -> None:
    api.create("/clients", {"clientId": "taken"})
    other = api.create("/clients", {"clientId": "other"})
    response = api.put(f"/clients/{other}", {"clientId": "taken"})
    assert response.status_code == 409
    # unlike a duplicate create ("Client taken already exists"): the database constraint answers
    assert response.json() == {"error": "conflict", "error_description": "Duplicate resource error"}


def test_delete_client_is_204_then_404(api: Api) -> None:
    client_uuid = api.create("/clients", {"clientId": "gone"})
    assert api.delete(f"/clients/{client_uuid}").status_code == 204
    assert api.get(f"/clients/{client_uuid}").status_code == 404


def test_client_secret_get_and_regenerate(api: Api) -> None:
    client_uuid = api.create("/clients", {"clientId": "secretive", "publicClient": False, "secret": "s3cr3t"})
    assert api.get(f"/clients/{client_uuid}/client-secret").json() == {"type": "secret", "value": "s3cr3t"}
    regenerated = api.post(f"/clients/{client_uuid}/client-secret").json()
    assert regenerated["type"] == "secret"
    assert regenerated["value"] != "s3cr3t"
    assert api.get(f"/clients/{client_uuid}").json()["secret"] == regenerated["value"]


def test_service_account_user_exists_for_service_account_clients(kc: KeycloakAdmin, api: Api) -> None:
    client_uuid = api.create("/clients", {"clientId": "Robot", "publicClient": False, "serviceAccountsEnabled": True})
    user = kc.get_client_service_account_user(client_uuid)
    assert user["username"] == "service-account-robot"
    assert "service_account" in api.get(f"/clients/{client_uuid}").json()["defaultClientScopes"]


def test_builtin_clients_report_realm_client_flag(api: Api) -> None:
    flags = {c["clientId"]: c["attributes"]["realm_client"] for c in api.get("/clients").json()}
    assert flags["broker"] == "true"
    assert flags["realm-management"] == "true"
    assert flags["account"] == "false"
    assert flags["admin-cli"] == "false"


def test_broker_read_token_role(api: Api) -> None:
    broker = api.get("/clients", clientId="broker").json()[0]
    role = api.get(f"/clients/{broker['id']}/roles/read-token").json()
    assert role == {
        "id": role["id"],
        "name": "read-token",
        "description": "${role_read-token}",
        "composite": False,
        "clientRole": True,
        "containerId": broker["id"],
        "attributes": {},
    }


def test_service_account_user_of_a_plain_client_is_400(api: Api) -> None:
    client_uuid = api.create("/clients", {"clientId": "no-robot"})
    response = api.get(f"/clients/{client_uuid}/service-account-user")
    assert response.status_code == 400
    assert response.json() == {"error": "Service account not enabled for the client 'no-robot'"}
