"""Admin authentication: token endpoint answers, 401 without a valid token, 403 without a role."""

from __future__ import annotations

import jwt
import requests
from keycloak import KeycloakAdmin

from tests.conftest import KeycloakTarget, unique_name
from tests.sandbox.conftest import Api


def token_url(keycloak: KeycloakTarget, realm: str) -> str:
    return f"{keycloak.url}/realms/{realm}/protocol/openid-connect/token"


def test_password_grant_on_admin_cli_returns_keycloak_token_response(keycloak: KeycloakTarget) -> None:
    response = requests.post(
        token_url(keycloak, "master"),
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": keycloak.admin_user,
            "password": keycloak.admin_password,
        },
        timeout=10,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 60
    assert body["refresh_expires_in"] == 1800
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "profile email"
    assert body["session_state"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["iss"] == f"{keycloak.url}/realms/master"
    assert claims["azp"] == "admin-cli"
    assert claims["typ"] == "Bearer"
    assert claims["sid"] == body["session_state"]
    assert claims["exp"] - claims["iat"] == 60
    assert "resource_access" not in claims  # admin-cli tokens are lightweight


def test_wrong_password_is_400_invalid_grant(keycloak: KeycloakTarget) -> None:
    """Keycloak 26.7.3 answers 400 (SEMANTICS §9 said 401): realmctl reads both as refused credentials."""
    response = requests.post(
        token_url(keycloak, "master"),
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": keycloak.admin_user,
            "password": "x",
        },
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "Invalid user credentials"}


def test_admin_api_without_token_is_401(keycloak: KeycloakTarget) -> None:
    response = requests.get(f"{keycloak.url}/admin/realms/master", timeout=10)
    assert response.status_code == 401
    assert response.json() == {"error": "HTTP 401 Unauthorized"}


def test_admin_api_with_forged_token_is_401(keycloak: KeycloakTarget) -> None:
    forged = jwt.encode({"iss": f"{keycloak.url}/realms/master", "typ": "Bearer"}, "k" * 32, algorithm="HS256")
    response = requests.get(
        f"{keycloak.url}/admin/realms/master", headers={"Authorization": f"Bearer {forged}"}, timeout=10
    )
    assert response.status_code == 401


def _service_account_token(keycloak: KeycloakTarget, kc: KeycloakAdmin, realm: str, roles: list[str]) -> str:
    client_uuid = kc.create_client(
        {"clientId": unique_name("svc"), "publicClient": False, "serviceAccountsEnabled": True}
    )
    client = kc.get_client(client_uuid)
    user = kc.get_client_service_account_user(client_uuid)
    rm = kc.get_client_id("realm-management")
    assert rm is not None
    wanted = [r for r in kc.get_client_roles(rm) if r["name"] in roles]
    if wanted:
        kc.assign_client_role(user["id"], rm, wanted)
    response = requests.post(
        token_url(keycloak, realm),
        data={
            "grant_type": "client_credentials",
            "client_id": client["clientId"],
            "client_secret": client["secret"],
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body
    assert "session_state" not in body
    assert body["refresh_expires_in"] == 0
    assert body["expires_in"] == 300
    return str(body["access_token"])


def test_service_account_with_realm_management_role_can_read_its_realm(
    keycloak: KeycloakTarget, kc: KeycloakAdmin, realm: str
) -> None:
    token = _service_account_token(keycloak, kc, realm, ["view-clients"])
    headers = {"Authorization": f"Bearer {token}"}
    response = requests.get(f"{keycloak.url}/admin/realms/{realm}/clients", headers=headers, timeout=10)
    assert response.status_code == 200
    assert "realm-management" in {c["clientId"] for c in response.json()}
    # view-clients does not allow writes, nor other realms
    response = requests.post(
        f"{keycloak.url}/admin/realms/{realm}/clients", json={"clientId": "nope"}, headers=headers, timeout=10
    )
    assert response.status_code == 403
    assert response.json() == {"error": "HTTP 403 Forbidden"}
    response = requests.get(f"{keycloak.url}/admin/realms/master/clients", headers=headers, timeout=10)
    assert response.status_code == 403


def test_service_account_without_roles_gets_403(keycloak: KeycloakTarget, kc: KeycloakAdmin, realm: str) -> None:
    token = _service_account_token(keycloak, kc, realm, [])
    response = requests.get(
        f"{keycloak.url}/admin/realms/{realm}/clients",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 403


def test_client_credentials_with_bad_secret_is_401(keycloak: KeycloakTarget, kc: KeycloakAdmin, realm: str) -> None:
    client_id = unique_name("svc")
    kc.create_client({"clientId": client_id, "publicClient": False, "serviceAccountsEnabled": True})
    response = requests.post(
        token_url(keycloak, realm),
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "wrong"},
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": "unauthorized_client",
        "error_description": "Invalid client or Invalid client credentials",
    }


def test_client_credentials_needs_service_accounts_enabled(
    keycloak: KeycloakTarget, kc: KeycloakAdmin, realm: str
) -> None:
    client_uuid = kc.create_client({"clientId": unique_name("app"), "publicClient": False})
    client = kc.get_client(client_uuid)
    response = requests.post(
        token_url(keycloak, realm),
        data={
            "grant_type": "client_credentials",
            "client_id": client["clientId"],
            "client_secret": client["secret"],
        },
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error_description"] == "Client not enabled to retrieve service account"


def test_client_credentials_on_a_public_client_is_refused(
    keycloak: KeycloakTarget, kc: KeycloakAdmin, realm: str
) -> None:
    client_id = unique_name("spa")
    kc.create_client({"clientId": client_id, "serviceAccountsEnabled": True, "publicClient": True})
    response = requests.post(
        token_url(keycloak, realm),
        data={"grant_type": "client_credentials", "client_id": client_id},
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": "unauthorized_client",
        "error_description": "Public client not allowed to retrieve service account",
    }


def test_python_keycloak_admin_session_works_end_to_end(api: Api, realm: str) -> None:
    assert api.get("").json()["realm"] == realm


def test_realm_created_without_enabled_is_disabled(keycloak: KeycloakTarget, master_admin: KeycloakAdmin) -> None:
    name = unique_name("off")
    master_admin.create_realm({"realm": name})
    try:
        assert Api(master_admin, name).get("").json()["enabled"] is False
        response = requests.post(
            token_url(keycloak, name),
            data={"grant_type": "password", "client_id": "admin-cli", "username": "x", "password": "y"},
            timeout=10,
        )
        assert response.status_code == 403
        assert response.json() == {"error": "access_denied", "error_description": "Realm not enabled"}
    finally:
        master_admin.connection.raw_delete(f"admin/realms/{name}")


def test_requested_openid_scope_is_reported_first(keycloak: KeycloakTarget) -> None:
    response = requests.post(
        token_url(keycloak, "master"),
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": keycloak.admin_user,
            "password": keycloak.admin_password,
            "scope": "openid",
        },
        timeout=10,
    )
    assert response.json()["scope"] == "openid profile email"


def test_disabled_user_and_client_errors(keycloak: KeycloakTarget, kc: KeycloakAdmin, realm: str) -> None:
    user_id = kc.create_user({"username": "sleeper", "enabled": False})
    kc.set_user_password(user_id, "pw", temporary=False)
    form = {"grant_type": "password", "client_id": "admin-cli", "username": "sleeper", "password": "pw"}
    response = requests.post(token_url(keycloak, realm), data=form, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "Account disabled"}
    response = requests.post(token_url(keycloak, realm), data={**form, "client_id": "no-such-client"}, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    response = requests.post(token_url(keycloak, realm), data={"grant_type": "password"}, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client", "error_description": "Missing client_id parameter"}


def test_unknown_admin_path_without_token_is_401(keycloak: KeycloakTarget) -> None:
    response = requests.get(f"{keycloak.url}/admin/realms/master/no-such-thing", timeout=10)
    assert response.status_code == 401


def test_realm_admin_without_view_realm_gets_the_name_subset(
    keycloak: KeycloakTarget, kc: KeycloakAdmin, realm: str
) -> None:
    token = _service_account_token(keycloak, kc, realm, ["view-clients"])
    response = requests.get(
        f"{keycloak.url}/admin/realms/{realm}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["realm"] == realm
    assert "accessTokenLifespan" not in response.json()
