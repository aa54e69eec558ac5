"""Fixes for the differences the differential corpus (tests/fidelity/) found between the sandbox and
Keycloak 26.7.3. Each test runs on the sandbox and, with REALMCTL_TEST_URL, on a real Keycloak: the
expected values are what the real server answered.
"""

from __future__ import annotations

import base64
import json

import requests

from tests.conftest import KeycloakTarget, unique_name
from tests.sandbox.conftest import Api, admin_for


def test_group_children_are_full_and_a_new_subgroup_has_no_count(api: Api) -> None:
    """26.7.3: `/children` lists full representations by default (unlike `/groups`), the answer to
    creating a subgroup has no `subGroupCount`, and a user's groups carry an empty `subGroups`."""
    top = api.create("/groups", {"name": "top"})
    response = api.post(f"/groups/{top}/children", {"name": "sub"})
    assert response.status_code == 201
    assert "subGroupCount" not in response.json()
    sub = response.json()["id"]
    child = api.get(f"/groups/{top}/children").json()[0]
    assert (child["attributes"], child["realmRoles"], child["clientRoles"]) == ({}, [], {})
    assert "attributes" not in api.get(f"/groups/{top}/children", briefRepresentation="true").json()[0]
    user = api.create("/users", {"username": "carol", "enabled": True})
    assert api.put(f"/users/{user}/groups/{sub}").status_code == 204
    assert api.get(f"/users/{user}/groups").json() == [
        {"id": sub, "name": "sub", "path": "/top/sub", "parentId": top, "subGroups": []}
    ]


def test_client_representation_as_26_7_3_writes_it(api: Api) -> None:
    """A confidential bearer-only client keeps its secret; an unknown field is Jackson's 400; the
    service-account user carries no `serviceAccountClientId`."""
    bo = api.create("/clients", {"clientId": "bo", "bearerOnly": True})
    assert len(api.get(f"/clients/{bo}").json()["secret"]) == 86
    sa = api.create("/clients", {"clientId": "sa", "serviceAccountsEnabled": True, "publicClient": False})
    user = api.get(f"/clients/{sa}/service-account-user").json()
    assert user["username"] == "service-account-sa"
    assert "serviceAccountClientId" not in user
    response = api.put(f"/clients/{sa}", {"clientId": "sa", "bogusField": 1})
    assert response.status_code == 400
    assert response.json() == {
        "error": 'Invalid json representation for ClientRepresentation. Unrecognized field "bogusField" at line 1 '
        "column 35."
    }
    response = api.post("/clients", {"clientId": "zz1", "bogus": True})
    assert response.status_code == 400
    assert 'Unrecognized field "bogus" at line 1 column 34.' in response.json()["error"]


def test_realm_defaults_and_duplicate_and_discovery(api: Api, realm: str, keycloak: KeycloakTarget) -> None:
    rep = api.get("").json()
    assert rep["maxSecondaryAuthFailures"] == 0
    assert "supportedLocales" not in rep
    grants = requests.get(f"{keycloak.url}/realms/{realm}/.well-known/openid-configuration", timeout=30).json()
    assert grants["grant_types_supported"] == [
        "authorization_code",
        "client_credentials",
        "implicit",
        "password",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "urn:ietf:params:oauth:grant-type:uma-ticket",
        "urn:openid:params:grant-type:ciba",
    ]


def _claims(token: str) -> dict[str, object]:
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def test_direct_grant_tokens_as_26_7_3_issues_them(api: Api, realm: str, keycloak: KeycloakTarget) -> None:
    """No `auth_time` on a direct grant; the refresh token lists every scope in effect, carries the
    access token's audience as `aud_x` and `prov: default`."""
    api.create("/users", {"username": "alice", "enabled": True, "email": "a@x.io", "firstName": "A", "lastName": "L"})
    user = api.get("/users", username="alice", exact="true").json()[0]["id"]
    assert api.put(f"/users/{user}/reset-password", {"type": "password", "value": "pw", "temporary": False}).ok
    api.create(
        "/clients",
        {
            "clientId": "conf",
            "protocol": "openid-connect",
            "publicClient": False,
            "secret": "s3",
            "directAccessGrantsEnabled": True,
            "serviceAccountsEnabled": True,
        },
    )
    url = f"{keycloak.url}/realms/{realm}/protocol/openid-connect/token"
    form = {"grant_type": "password", "client_id": "conf", "client_secret": "s3", "username": "alice", "password": "pw"}
    body = requests.post(url, data=form, timeout=30).json()
    access, refresh = _claims(body["access_token"]), _claims(body["refresh_token"])
    assert "auth_time" not in access
    assert access["aud"] == "account"
    assert (refresh["aud_x"], refresh["prov"]) == ("account", "default")
    assert sorted(str(refresh["scope"]).split()) == [
        "acr",
        "basic",
        "email",
        "profile",
        "roles",
        "service_account",
        "web-origins",
    ]
    body = requests.post(
        url, data={"grant_type": "client_credentials", "client_id": "conf", "client_secret": "s3"}, timeout=30
    )
    assert "auth_time" not in _claims(body.json()["access_token"])


def test_partial_export_has_components_and_version_and_the_realm_its_client_policies(api: Api) -> None:
    """26.7.3: a new realm has the client-registration policies and generated key providers as
    `components` (keys without their material), `keycloakVersion`, and empty client policies."""
    exported = api.post("/partial-export").json()
    assert exported["keycloakVersion"] == "26.7.3"
    keys = exported["components"]["org.keycloak.keys.KeyProvider"]
    assert sorted(k["name"] for k in keys) == [
        "aes-generated",
        "hmac-generated-hs512",
        "rsa-enc-generated",
        "rsa-generated",
    ]
    assert all(set(k["config"]) <= {"priority", "algorithm"} for k in keys)
    policies = exported["components"]["org.keycloak.services.clientregistration.policy.ClientRegistrationPolicy"]
    assert len(policies) == 10
    realm = api.get("").json()
    assert (realm["clientPolicies"], realm["clientProfiles"]) == ({"policies": []}, {"profiles": []})


def test_the_sandbox_profile_is_the_servers_feature_set(api: Api, keycloak: KeycloakTarget) -> None:
    """`GET /admin/serverinfo` features and profileInfo equal the sandbox profile of the same name
    (on the sandbox backend this checks the sandbox against itself through HTTP)."""
    from realmctl.sandbox.profiles import PROFILES

    profile = PROFILES["legacy-exchange" if keycloak.profile == "legacy-exchange" else "keycloak-26"]
    info = api.get("admin/serverinfo").json()
    assert {f["name"]: f for f in info["features"]} == {f["name"]: f for f in profile.features()}
    for key in ("disabledFeatures", "previewFeatures", "experimentalFeatures"):
        assert sorted(info["profileInfo"][key]) == sorted(profile.profile_info()[key]), key


def test_a_realms_admin_client_is_view_only(api: Api) -> None:
    """26.7.3: `access` of realm-management (a realm client) is view-only, even for a master admin."""
    client = api.get("/clients", clientId="realm-management").json()[0]
    assert client["access"] == {"view": True, "configure": False, "manage": False}
    assert api.get("/clients", clientId="account").json()[0]["access"]["manage"] is True
    assert api.get("/clients", clientId="broker").json()[0]["access"]["manage"] is True  # a realm client too


def test_fgap_v1_wrong_typed_enabled_and_permission_listing(legacy_keycloak: KeycloakTarget) -> None:
    """A non-boolean `enabled` is Jackson's 400; `/permission` leaves an empty config out, `/policy` keeps it."""
    name = unique_name("fgap")
    master = admin_for(legacy_keycloak)
    master.create_realm({"realm": name, "enabled": True})
    try:
        _fgap_checks(Api(admin_for(legacy_keycloak, name), name))
    finally:
        master.connection.raw_delete(f"admin/realms/{name}")


def _fgap_checks(api: Api) -> None:
    idp = {"alias": "up", "providerId": "oidc", "config": {"clientId": "x", "tokenUrl": "https://a.test/t"}}
    assert api.post("/identity-provider/instances", idp).status_code == 201
    response = api.put("/identity-provider/instances/up/management/permissions", {"enabled": "yes please"})
    assert response.status_code == 400
    assert response.json() == {"error": "unknown_error", "error_description": "Cannot parse the JSON"}
    assert api.put("/identity-provider/instances/up/management/permissions", {"enabled": True}).status_code == 200
    rm = api.get("/clients", clientId="realm-management").json()[0]["id"]
    base = f"/clients/{rm}/authz/resource-server"
    permissions = api.get(f"{base}/permission").json()
    assert permissions and all("config" not in p for p in permissions)
    policies = {p["name"]: p for p in api.get(f"{base}/policy").json()}
    assert policies[permissions[0]["name"]]["config"] == {}


def test_temporary_password_and_missing_refresh_token(api: Api, realm: str, keycloak: KeycloakTarget) -> None:
    """26.7.3: a temporary password sets UPDATE_PASSWORD, so a direct grant is refused; a refresh
    grant without `refresh_token` is `invalid_request` "No refresh token"."""
    user = {"username": "temp", "email": "t@example.com", "firstName": "T", "lastName": "P", "enabled": True}
    uid = api.create("/users", {**user, "credentials": [{"type": "password", "value": "pw", "temporary": True}]})
    assert api.get(f"/users/{uid}").json()["requiredActions"] == ["UPDATE_PASSWORD"]
    url = f"{keycloak.url}/realms/{realm}/protocol/openid-connect/token"
    form = {"grant_type": "password", "client_id": "admin-cli", "username": "temp", "password": "pw"}
    response = requests.post(url, data=form, timeout=30)
    assert response.json() == {"error": "invalid_grant", "error_description": "Account is not fully set up"}
    response = requests.post(url, data={"grant_type": "refresh_token", "client_id": "admin-cli"}, timeout=30)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "invalid_request", "error_description": "No refresh token"},
    )


def test_group_search_reaches_subgroups_and_q_filters_by_attribute(api: Api) -> None:
    """26.7.3: `GET /groups?search=` matches at any depth and lists the top group with the matching
    branch only; `/children?search=` filters; `q=k:v` filters groups and users by attribute."""
    top = api.create("/groups", {"name": "top"})
    for name in ("s1", "s3"):
        assert api.post(f"/groups/{top}/children", {"name": name}).status_code == 201
    found = api.get("/groups", search="s3").json()
    assert [(g["name"], [s["name"] for s in g["subGroups"]]) for g in found] == [("top", ["s3"])]
    assert [g["name"] for g in api.get(f"/groups/{top}/children", search="s1").json()] == ["s1"]
    assert api.get("/groups", q="k:v").json() == []
    api.create("/users", {"username": "user1", "enabled": True})
    assert api.get("/users", q="nothing:here").json() == []
