"""The brokered-login client itself on a real Keycloak: where it stops, it says where and why."""

from __future__ import annotations

import pytest

from tests.brokered_login import LoginStopped, brokered_login
from tests.conftest import KeycloakTarget
from tests.e2e.conftest import LongAdmin, make_upstream
from tests.helpers import unique

REDIRECT = "https://app.example/cb"


def test_a_refused_password_stops_with_keycloaks_message(real_keycloak: KeycloakTarget, cleanup: list[str]) -> None:
    admin = LongAdmin(real_keycloak)
    realm = unique("apps")
    upstream = make_upstream(real_keycloak, realm, "up")
    cleanup += [realm, upstream.realm]
    upstream.add_user("frank", "right-password", email="frank@example.com", firstName="Frank", lastName="F")
    admin.post("admin/realms", {"realm": realm, "enabled": True})
    idp = {"alias": "up", "providerId": "keycloak-oidc", "enabled": True, "config": upstream.idp_config()}
    admin.post(f"admin/realms/{realm}/identity-provider/instances", idp)
    admin.post(
        f"admin/realms/{realm}/clients",
        {"clientId": "app", "publicClient": False, "secret": "app-secret", "redirectUris": [REDIRECT]},
    )
    with pytest.raises(LoginStopped) as stopped:
        brokered_login(real_keycloak.url, realm, "app", "app-secret", REDIRECT, "up", "frank", "wrong-password")
    message = str(stopped.value)
    assert "upstream login" in message and f"Sign in to {upstream.realm}" in message, message
    assert "Invalid username or password." in message, message

    with pytest.raises(LoginStopped) as unknown:
        brokered_login(real_keycloak.url, realm, "app", "app-secret", REDIRECT, "nope", "frank", "right-password")
    assert "the app realm's own login form (is 'nope' an enabled identity provider?)" in str(unknown.value)

    done = brokered_login(real_keycloak.url, realm, "app", "app-secret", REDIRECT, "up", "frank", "right-password")
    assert done.steps == ["upstream login form"]
    assert done.tokens["token_type"] == "Bearer" and "id_token" in done.tokens
