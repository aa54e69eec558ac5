"""The token endpoint, JWKS, discovery and userinfo: what an OIDC client of a realm notices."""

from __future__ import annotations

import base64
from typing import Any

import jwt
import pytest
import requests

from tests.conftest import KeycloakTarget
from tests.sandbox.conftest import Api
from tests.sandbox.oidc import (
    PASSWORD,
    app_client,
    password_token,
    post_token,
    realm_url,
    user_rep,
    verified,
)


@pytest.fixture
def alice(api: Api) -> str:
    api.create("/clients", app_client("app"))
    return api.create("/users", user_rep("alice"))


def test_discovery_and_jwks_describe_the_realm(keycloak: KeycloakTarget, realm: str) -> None:
    config = requests.get(f"{realm_url(keycloak, realm)}/.well-known/openid-configuration", timeout=10).json()
    base = realm_url(keycloak, realm)
    assert config["issuer"] == base
    assert config["token_endpoint"] == f"{base}/protocol/openid-connect/token"
    assert config["jwks_uri"] == f"{base}/protocol/openid-connect/certs"
    assert config["userinfo_endpoint"] == f"{base}/protocol/openid-connect/userinfo"
    assert "urn:ietf:params:oauth:grant-type:token-exchange" in config["grant_types_supported"]
    keys = requests.get(config["jwks_uri"], timeout=10).json()["keys"]
    rs256 = [k for k in keys if k.get("alg") == "RS256" and k.get("use") == "sig"]
    assert rs256 and rs256[0]["kty"] == "RSA" and rs256[0]["kid"]


def test_password_grant_token_verifies_with_pyjwt_and_carries_keycloak_claims(
    keycloak: KeycloakTarget, realm: str, alice: str
) -> None:
    body = password_token(keycloak, realm, "app", "alice", secret="app-secret")
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "profile email"
    claims = verified(keycloak, realm, body["access_token"])
    assert claims["sub"] == alice
    assert claims["azp"] == "app"
    assert claims["typ"] == "Bearer"
    assert claims["sid"] == body["session_state"]
    assert claims["exp"] - claims["iat"] == 300
    assert claims["preferred_username"] == "alice"
    assert claims["email"] == "alice@example.com"
    assert claims["email_verified"] is True
    assert claims["name"] == "Alice Tester"
    assert claims["given_name"] == "Alice"
    assert claims["family_name"] == "Tester"
    assert claims["acr"] == "1"
    assert claims["scope"] == "profile email"
    # the default role brings account roles and realm roles, and account into the audience
    assert set(claims["realm_access"]["roles"]) >= {
        "offline_access",
        "uma_authorization",
        f"default-roles-{realm}",
    }
    assert set(claims["resource_access"]["account"]["roles"]) == {
        "manage-account",
        "manage-account-links",
        "view-profile",
    }
    assert claims["aud"] == "account"


def test_openid_and_optional_scopes_are_granted_on_request(keycloak: KeycloakTarget, realm: str, alice: str) -> None:
    body = password_token(keycloak, realm, "app", "alice", secret="app-secret", scope="openid phone")
    assert set(body["scope"].split()) == {"openid", "profile", "email", "phone"}
    claims = verified(keycloak, realm, body["access_token"])
    assert set(claims["scope"].split()) == {"openid", "profile", "email", "phone"}


def test_unknown_scope_is_invalid_scope(keycloak: KeycloakTarget, realm: str, alice: str) -> None:
    data = {
        "grant_type": "password",
        "client_id": "app",
        "client_secret": "app-secret",
        "username": "alice",
        "password": PASSWORD,
        "scope": "openid nonsense",
    }
    response = post_token(keycloak, realm, data)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_roles_come_from_groups_and_composites(keycloak: KeycloakTarget, api: Api, realm: str, alice: str) -> None:
    api.create("/roles", {"name": "reader"})
    api.create("/roles", {"name": "editor"})
    editor = api.get("/roles/editor").json()
    reader = api.get("/roles/reader").json()
    assert api.post("/roles/editor/composites", [reader]).status_code == 204
    group_id = api.create("/groups", {"name": "staff"})
    assert api.post(f"/groups/{group_id}/role-mappings/realm", [editor]).status_code == 204
    assert api.put(f"/users/{alice}/groups/{group_id}").status_code == 204
    claims = verified(
        keycloak, realm, password_token(keycloak, realm, "app", "alice", secret="app-secret")["access_token"]
    )
    assert {"editor", "reader"} <= set(claims["realm_access"]["roles"])


def test_http_basic_client_authentication(keycloak: KeycloakTarget, realm: str, alice: str) -> None:
    basic = base64.b64encode(b"app:app-secret").decode()
    response = post_token(
        keycloak,
        realm,
        {"grant_type": "password", "username": "alice", "password": PASSWORD},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("data", "status", "body"),
    [
        (
            {"client_id": "nope"},
            401,
            {"error": "invalid_client", "error_description": "Invalid client or Invalid client credentials"},
        ),
        (
            {"client_id": "app", "client_secret": "wrong"},
            401,
            {
                "error": "unauthorized_client",
                "error_description": "Invalid client or Invalid client credentials",
            },
        ),
        (
            {"client_id": "app", "client_secret": "app-secret", "password": "wrong"},
            400,  # Keycloak 26.7.3 (SEMANTICS §9 said 401)
            {"error": "invalid_grant", "error_description": "Invalid user credentials"},
        ),
        (
            {"client_id": "app", "client_secret": "app-secret", "username": "nobody"},
            400,
            {"error": "invalid_grant", "error_description": "Invalid user credentials"},
        ),
    ],
)
def test_credential_errors(
    keycloak: KeycloakTarget, realm: str, alice: str, data: dict[str, str], status: int, body: dict[str, str]
) -> None:
    form = {"grant_type": "password", "username": "alice", "password": PASSWORD, **data}
    response = post_token(keycloak, realm, form)
    assert response.status_code == status
    assert response.json() == body


def test_disabled_client_and_direct_grants_switch(keycloak: KeycloakTarget, api: Api, realm: str, alice: str) -> None:
    api.create("/clients", {"clientId": "pub", "publicClient": True, "directAccessGrantsEnabled": False})
    form = {"grant_type": "password", "client_id": "pub", "username": "alice", "password": PASSWORD}
    response = post_token(keycloak, realm, form)
    assert response.status_code == 400
    assert response.json() == {
        "error": "unauthorized_client",
        "error_description": "Client not allowed for direct access grants",
    }
    app = api.get("/clients", clientId="app").json()[0]
    assert api.put(f"/clients/{app['id']}", {"enabled": False}).status_code == 204
    form = {**form, "client_id": "app", "client_secret": "app-secret"}
    response = post_token(keycloak, realm, form)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_public_client_with_direct_grants_needs_no_secret(
    keycloak: KeycloakTarget, api: Api, realm: str, alice: str
) -> None:
    api.create("/clients", {"clientId": "pub", "publicClient": True, "directAccessGrantsEnabled": True})
    body = password_token(keycloak, realm, "pub", "alice")
    assert verified(keycloak, realm, body["access_token"])["azp"] == "pub"


def test_disabled_user_cannot_log_in(keycloak: KeycloakTarget, api: Api, realm: str, alice: str) -> None:
    assert api.put(f"/users/{alice}", {"enabled": False}).status_code == 204
    form = {
        "grant_type": "password",
        "client_id": "app",
        "client_secret": "app-secret",
        "username": "alice",
        "password": PASSWORD,
    }
    response = post_token(keycloak, realm, form)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "Account disabled"}


def test_missing_grant_type_and_unknown_grant(keycloak: KeycloakTarget, realm: str, alice: str) -> None:
    response = post_token(keycloak, realm, {"client_id": "app", "client_secret": "app-secret"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Missing form parameter: grant_type",
    }
    response = post_token(keycloak, realm, {"grant_type": "magic", "client_id": "app", "client_secret": "app-secret"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_refresh_token_grant(keycloak: KeycloakTarget, api: Api, realm: str, alice: str) -> None:
    first = password_token(keycloak, realm, "app", "alice", secret="app-secret", scope="openid")
    form = {
        "grant_type": "refresh_token",
        "client_id": "app",
        "client_secret": "app-secret",
        "refresh_token": first["refresh_token"],
    }
    response = post_token(keycloak, realm, form)
    assert response.status_code == 200, response.text
    claims = verified(keycloak, realm, response.json()["access_token"])
    assert claims["sub"] == alice
    assert claims["sid"] == first["session_state"]
    assert "openid" in claims["scope"].split()
    api.create("/clients", app_client("other", secret="other-secret"))
    form = {**form, "client_id": "other", "client_secret": "other-secret"}
    response = post_token(keycloak, realm, form)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_client_credentials_token_has_service_account_claims(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    api.create(
        "/clients",
        {"clientId": "svc", "secret": "svc-secret", "publicClient": False, "serviceAccountsEnabled": True},
    )
    response = post_token(
        keycloak,
        realm,
        {"grant_type": "client_credentials", "client_id": "svc", "client_secret": "svc-secret"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body
    claims = verified(keycloak, realm, body["access_token"])
    assert claims["azp"] == "svc"
    assert claims["preferred_username"] == "service-account-svc"
    assert claims["client_id"] == "svc"
    assert "clientHost" in claims and "clientAddress" in claims


def test_userinfo_with_bearer_token(keycloak: KeycloakTarget, api: Api, realm: str, alice: str) -> None:
    body = password_token(keycloak, realm, "app", "alice", secret="app-secret", scope="openid")
    url = f"{realm_url(keycloak, realm)}/protocol/openid-connect/userinfo"
    response = requests.get(url, headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=10)
    assert response.status_code == 200
    info: dict[str, Any] = response.json()
    assert info["sub"] == alice
    assert info["preferred_username"] == "alice"
    assert info["email"] == "alice@example.com"
    assert "resource_access" not in info  # the role mappers are not userinfo mappers
    response = requests.get(url, timeout=10)  # 26.7.3: 401, empty body, no error in the header
    assert (response.status_code, response.content) == (401, b"")
    assert response.headers["WWW-Authenticate"] == f'Bearer realm="{realm}"'
    forged = jwt.encode({"sub": alice, "typ": "Bearer"}, "k" * 32, algorithm="HS256")
    response = requests.get(url, headers={"Authorization": f"Bearer {forged}"}, timeout=10)
    assert (response.status_code, response.content) == (401, b"")  # the reason is in the header only
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer realm="{realm}", error="invalid_token", error_description="Token verification failed"'
    )


def test_token_dies_with_its_user(keycloak: KeycloakTarget, api: Api, realm: str, alice: str) -> None:
    body = password_token(keycloak, realm, "app", "alice", secret="app-secret", scope="openid")
    url = f"{realm_url(keycloak, realm)}/protocol/openid-connect/userinfo"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert requests.get(url, headers=headers, timeout=10).status_code == 200
    assert api.delete(f"/users/{alice}").status_code == 204
    response = requests.get(url, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "User session not found or doesn't have client attached on it",
    }


def test_disabled_realm_issues_no_tokens(keycloak: KeycloakTarget, api: Api, realm: str, alice: str) -> None:
    assert api.put("", {"enabled": False}).status_code == 204
    form = {
        "grant_type": "password",
        "client_id": "app",
        "client_secret": "app-secret",
        "username": "alice",
        "password": PASSWORD,
    }
    response = post_token(keycloak, realm, form)
    assert response.status_code == 403
    assert response.json() == {"error": "access_denied", "error_description": "Realm not enabled"}


def test_disabled_user_is_refused_before_the_password_is_checked(
    keycloak: KeycloakTarget, api: Api, realm: str, alice: str
) -> None:
    assert api.put(f"/users/{alice}", {"enabled": False}).status_code == 204
    form = {
        "grant_type": "password",
        "client_id": "app",
        "client_secret": "app-secret",
        "username": "alice",
        "password": "wrong",
    }
    response = post_token(keycloak, realm, form)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "Account disabled"}


def test_client_access_token_lifespan_overrides_the_realm(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    api.create("/clients", app_client("short", attributes={"access.token.lifespan": "120"}))
    api.create("/users", user_rep("alice"))
    body = password_token(keycloak, realm, "short", "alice", secret="app-secret")
    assert body["expires_in"] == 120
    claims = verified(keycloak, realm, body["access_token"])
    assert claims["exp"] - claims["iat"] == 120


def test_openid_scope_brings_an_id_token(keycloak: KeycloakTarget, realm: str, alice: str) -> None:
    import hashlib

    body = password_token(keycloak, realm, "app", "alice", secret="app-secret", scope="openid")
    id_claims = verified(keycloak, realm, body["id_token"])
    assert id_claims["typ"] == "ID"
    assert id_claims["aud"] == "app"
    assert id_claims["sub"] == alice
    assert id_claims["preferred_username"] == "alice"
    assert id_claims["sid"] == body["session_state"]
    digest = hashlib.sha256(body["access_token"].encode()).digest()
    assert id_claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert "resource_access" not in id_claims
    assert "id_token" not in password_token(keycloak, realm, "app", "alice", secret="app-secret")


def test_password_grant_accepts_the_email_as_username(keycloak: KeycloakTarget, realm: str, alice: str) -> None:
    body = password_token(keycloak, realm, "app", "alice@example.com", secret="app-secret")
    assert verified(keycloak, realm, body["access_token"])["sub"] == alice


def test_admin_cli_tokens_carry_no_sub_and_still_work_through_their_session(
    keycloak: KeycloakTarget, realm: str
) -> None:
    """26.7.3 issues admin-cli lightweight tokens without `sub` (its refresh token too) and finds
    their user through the session (`sid`): the admin API and the refresh grant take them, the
    userinfo endpoint refuses them."""
    form = {"grant_type": "password", "client_id": "admin-cli", "scope": "openid"}
    form |= {"username": keycloak.admin_user, "password": keycloak.admin_password}
    body = post_token(keycloak, "master", form).json()
    access, refresh = (
        jwt.decode(body["access_token"], options={"verify_signature": False}),
        jwt.decode(body["refresh_token"], options={"verify_signature": False}),
    )
    assert "sub" not in access and "sub" not in refresh and access["sid"] == refresh["sid"]
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert requests.get(f"{keycloak.url}/admin/realms/{realm}", headers=bearer, timeout=10).status_code == 200
    renewed = post_token(
        keycloak, "master", {**form, "grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert renewed.status_code == 200, renewed.text
    again = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
    assert requests.get(f"{keycloak.url}/admin/realms/{realm}/users", headers=again, timeout=10).json() == []
    info = requests.get(f"{realm_url(keycloak, 'master')}/protocol/openid-connect/userinfo", headers=bearer, timeout=10)
    assert info.status_code == 401 and info.text == ""
    assert "Lightweight access token not allowed for userinfo endpoint" in info.headers["WWW-Authenticate"]


def test_userinfo_needs_the_openid_scope(keycloak: KeycloakTarget, realm: str, alice: str) -> None:
    """26.7.3: a token issued without `openid` gets 403 `insufficient_scope`, the reason in the header."""
    token = password_token(keycloak, realm, "app", "alice", secret="app-secret")["access_token"]
    info = requests.get(
        f"{realm_url(keycloak, realm)}/protocol/openid-connect/userinfo",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert info.status_code == 403 and info.text == ""
    assert 'error="insufficient_scope", error_description="Missing openid scope"' in info.headers["WWW-Authenticate"]
