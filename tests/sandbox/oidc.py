"""Helpers for the token-service tests: raw OIDC calls and JWKS verification with PyJWT."""

from __future__ import annotations

from typing import Any

import jwt
import requests

from tests.conftest import KeycloakTarget

PASSWORD = "Secret-pw-1"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"


def realm_url(target: KeycloakTarget, realm: str) -> str:
    return f"{target.url}/realms/{realm}"


def token_url(target: KeycloakTarget, realm: str) -> str:
    return f"{realm_url(target, realm)}/protocol/openid-connect/token"


def post_token(target: KeycloakTarget, realm: str, data: dict[str, Any], **kwargs: Any) -> requests.Response:
    return requests.post(token_url(target, realm), data=data, timeout=10, **kwargs)


def password_token(
    target: KeycloakTarget,
    realm: str,
    client_id: str,
    username: str,
    *,
    secret: str | None = None,
    scope: str | None = None,
) -> dict[str, Any]:
    """A successful password grant's body (asserts 200)."""
    data = {"grant_type": "password", "client_id": client_id, "username": username, "password": PASSWORD}
    if secret is not None:
        data["client_secret"] = secret
    if scope is not None:
        data["scope"] = scope
    response = post_token(target, realm, data)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def verified(target: KeycloakTarget, realm: str, token: str) -> dict[str, Any]:
    """Claims of `token` after PyJWT checked its RS256 signature against the realm's JWKS."""
    jwks = jwt.PyJWKClient(f"{realm_url(target, realm)}/protocol/openid-connect/certs")
    key = jwks.get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["RS256"], issuer=realm_url(target, realm), options={"verify_aud": False}
    )
    return claims


def user_rep(username: str, **extra: Any) -> dict[str, Any]:
    """A user that can log in by password on a default 26.x realm (profile complete)."""
    rep: dict[str, Any] = {
        "username": username,
        "enabled": True,
        "email": f"{username}@example.com",
        "emailVerified": True,
        "firstName": username.capitalize(),
        "lastName": "Tester",
        "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}],
    }
    rep.update(extra)
    return rep


def app_client(client_id: str, secret: str = "app-secret", **extra: Any) -> dict[str, Any]:
    """A confidential client allowed to use the password grant."""
    rep: dict[str, Any] = {
        "clientId": client_id,
        "secret": secret,
        "publicClient": False,
        "directAccessGrantsEnabled": True,
        "standardFlowEnabled": False,
    }
    rep.update(extra)
    return rep


def broker_token(target: KeycloakTarget, realm: str, alias: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(f"{realm_url(target, realm)}/broker/{alias}/token", headers=headers, timeout=10)


def master_token(target: KeycloakTarget) -> str:
    """A fresh master admin access token (admin-cli password grant)."""
    response = post_token(
        target,
        "master",
        {
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": target.admin_user,
            "password": target.admin_password,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])
