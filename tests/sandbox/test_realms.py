"""Realm endpoints: create, read, update, delete and their error bodies."""

from __future__ import annotations

from keycloak import KeycloakAdmin

from tests.conftest import KeycloakTarget, unique_name
from tests.sandbox.conftest import Api


def test_create_realm_answers_201_with_location_and_empty_body(
    keycloak: KeycloakTarget, master_admin: KeycloakAdmin
) -> None:
    name = unique_name("r")
    response = Api(master_admin, "").post("admin/realms", {"realm": name, "enabled": True})
    try:
        assert response.status_code == 201
        assert response.headers["Location"] == f"{keycloak.url}/admin/realms/{name}"
        assert response.content == b""
    finally:
        master_admin.connection.raw_delete(f"admin/realms/{name}")


def test_duplicate_realm_is_409_conflict(master_admin: KeycloakAdmin, realm: str) -> None:
    response = Api(master_admin, "").post("admin/realms", {"realm": realm, "enabled": True})
    assert response.status_code == 409
    assert response.json() == {"errorMessage": f"Realm {realm} already exists"}  # 26.7.3


def test_new_realm_has_keycloak_token_settings_and_default_role(api: Api, realm: str) -> None:
    body = api.get("").json()
    assert body["realm"] == realm
    assert body["accessTokenLifespan"] == 300
    assert body["ssoSessionIdleTimeout"] == 1800
    assert body["ssoSessionMaxLifespan"] == 36000
    assert body["defaultRole"]["name"] == f"default-roles-{realm}"
    assert body["defaultRole"]["composite"] is True


def test_master_realm_access_tokens_live_60_seconds(master_admin: KeycloakAdmin) -> None:
    assert Api(master_admin, "master").get("").json()["accessTokenLifespan"] == 60


def test_update_realm_is_204_and_persists(api: Api) -> None:
    response = api.put("", {"displayName": "Shown name", "attributes": {"x": "1"}})
    assert response.status_code == 204
    body = api.get("").json()
    assert body["displayName"] == "Shown name"
    assert body["attributes"]["x"] == "1"
    assert body["accessTokenLifespan"] == 300


def test_update_realm_replaces_its_attributes(api: Api) -> None:
    """Keycloak 26.7.3 drops the attributes a PUT with `attributes` leaves out (a1, a2, and the
    new realm's `realmReusableOtpCode`), shows the CIBA, device-flow and PAR settings it leaves
    out at their defaults (a cibaInterval of 10 goes back to 5), and keeps all of them on a PUT
    without `attributes` (each answer below was read from the real server)."""
    derived = {
        "cibaAuthRequestedUserHint": "login_hint",
        "cibaBackchannelTokenDeliveryMode": "poll",
        "cibaExpiresIn": "120",
        "cibaInterval": "5",
        "oauth2DeviceCodeLifespan": "600",
        "oauth2DevicePollingInterval": "5",
        "parRequestUriLifespan": "60",
    }
    assert api.get("").json()["attributes"].get("realmReusableOtpCode") == "false"
    api.put("", {"attributes": {"a1": "x", "a2": "y"}})
    api.put("", {"attributes": {"a3": "z"}})
    assert api.get("").json()["attributes"] == {"a3": "z", **derived}
    api.put("", {"attributes": {"a3": "z", "cibaInterval": "10", "parRequestUriLifespan": "90"}})
    assert api.get("").json()["attributes"] == {
        **derived,
        "a3": "z",
        "cibaInterval": "10",
        "parRequestUriLifespan": "90",
    }
    api.put("", {"attributes": {"a3": "z"}})
    assert api.get("").json()["attributes"] == {"a3": "z", **derived}
    api.put("", {"displayName": "Shown"})
    assert api.get("").json()["attributes"] == {"a3": "z", **derived}


def test_unknown_realm_is_404_realm_not_found(master_admin: KeycloakAdmin) -> None:
    response = Api(master_admin, "").get(f"admin/realms/{unique_name('missing')}")
    assert response.status_code == 404
    assert response.json() == {"error": "Realm not found."}


def test_delete_realm_is_204_then_gone(master_admin: KeycloakAdmin) -> None:
    name = unique_name("d")
    master_admin.create_realm({"realm": name, "enabled": True})
    raw = Api(master_admin, "")
    assert raw.delete(f"admin/realms/{name}").status_code == 204
    assert raw.get(f"admin/realms/{name}").status_code == 404


def test_new_realm_gets_an_admin_client_in_master(master_admin: KeycloakAdmin, realm: str) -> None:
    clients = Api(master_admin, "master").get("/clients", clientId=f"{realm}-realm").json()
    assert len(clients) == 1
    assert clients[0]["bearerOnly"] is True
    assert clients[0]["attributes"]["realm_client"] == "true"


def test_creator_with_create_realm_only_administers_the_new_realm(
    keycloak: KeycloakTarget, master_admin: KeycloakAdmin
) -> None:
    import requests

    username = unique_name("creator")
    user_id = master_admin.create_user({"username": username, "enabled": True})
    master_admin.set_user_password(user_id, "pw", temporary=False)
    role = master_admin.get_realm_role("create-realm")
    master_admin.assign_realm_roles(user_id, [role])
    token = requests.post(
        f"{keycloak.url}/realms/master/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "admin-cli", "username": username, "password": "pw"},
        timeout=10,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    name = unique_name("mine")
    response = requests.post(
        f"{keycloak.url}/admin/realms", json={"realm": name, "enabled": True}, headers=headers, timeout=10
    )
    try:
        assert response.status_code == 201
        assert requests.get(f"{keycloak.url}/admin/realms/{name}/clients", headers=headers, timeout=10).ok
        assert (
            requests.get(f"{keycloak.url}/admin/realms/master/clients", headers=headers, timeout=10).status_code == 403
        )
    finally:
        master_admin.connection.raw_delete(f"admin/realms/{name}")
        master_admin.delete_user(user_id)
