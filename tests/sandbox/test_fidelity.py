"""Differences between the sandbox and Keycloak 26.7.3 found by sending both the same requests
(issue #14, "Already known differences"; docs/fidelity-notes.md has each request and answer).

Every test runs against the sandbox and, with REALMCTL_TEST_URL, against a real Keycloak: the
expected values are what the real server answered.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests

from tests.conftest import KeycloakTarget
from tests.sandbox.conftest import Api


def names(response: Any, key: str = "name") -> list[str]:
    assert response.status_code == 200, response.text
    return [item[key] for item in response.json()]


@pytest.fixture
def populated(api: Api) -> dict[str, Any]:
    """3 users, 3 top groups (plus `top` with 12 subgroups), user000 in 12 groups, a role held by
    the 3 users, 3 identity providers."""
    users = [api.create("/users", {"username": f"user{i:03}", "enabled": True}) for i in range(3)]
    groups = [api.create("/groups", {"name": f"g{i:02}"}) for i in range(12)]
    top = api.create("/groups", {"name": "top"})
    for i in range(12):
        assert api.post(f"/groups/{top}/children", {"name": f"c{i:02}"}).status_code == 201
        assert api.put(f"/users/{users[0]}/groups/{groups[i]}").status_code == 204
    assert api.post("/roles", {"name": "member"}).status_code == 201
    role = api.get("/roles/member").json()
    for user in users:
        assert api.post(f"/users/{user}/role-mappings/realm", [role]).status_code == 204
        assert api.put(f"/users/{user}/groups/{groups[0]}").status_code == 204
    for i in range(3):
        idp = {
            "alias": f"idp{i}",
            "providerId": "oidc",
            "config": {"clientId": "x", "authorizationUrl": "https://a.test/auth", "tokenUrl": "https://a.test/t"},
        }
        assert api.post("/identity-provider/instances", idp).status_code == 201
    return {"users": users, "groups": groups, "top": top}


def test_max_minus_one_is_no_limit_and_a_negative_first_is_zero(api: Api, populated: dict[str, Any]) -> None:
    """Every listing asked with `max=-1` answers all its elements (the sandbox dropped the last)."""
    group0 = populated["groups"][0]
    listings = {
        "/users": ("username", ["user000", "user001", "user002"]),
        f"/groups/{group0}/members": ("username", ["user000", "user001", "user002"]),
        "/roles/member/users": ("username", ["user000", "user001", "user002"]),
        "/identity-provider/instances": ("alias", ["idp0", "idp1", "idp2"]),
    }
    for path, (key, expected) in listings.items():
        assert names(api.get(path, max=-1), key) == expected, path
        assert names(api.get(path, first=-1), key) == expected, path
        assert names(api.get(path, first=1, max=-1), key) == expected[1:], path
    groups = [f"g{i:02}" for i in range(12)] + ["top"]
    assert names(api.get("/groups", max=-1)) == groups
    assert names(api.get("/groups", first=-1)) == groups
    assert names(api.get("/groups", first=1, max=-1)) == groups[1:]


def test_realm_roles_are_paged_only_when_first_and_max_are_both_given(api: Api, populated: dict[str, Any]) -> None:
    """Unpaged, Keycloak promises no order (26.7.3 answers cache order); paged, it sorts by name."""
    everything = sorted(names(api.get("/roles")))
    assert len(everything) > 2
    assert sorted(names(api.get("/roles", max=1))) == everything
    assert sorted(names(api.get("/roles", first=1))) == everything
    assert names(api.get("/roles", first=1, max=1)) == everything[1:2]


def test_group_children_default_to_ten_and_honour_first_and_max(api: Api, populated: dict[str, Any]) -> None:
    """A client paging children until a short page used to loop forever: `max` was ignored."""
    top = populated["top"]
    children = [f"c{i:02}" for i in range(12)]
    assert names(api.get(f"/groups/{top}/children")) == children[:10]
    assert names(api.get(f"/groups/{top}/children", max=-1)) == children
    assert names(api.get(f"/groups/{top}/children", first=11)) == children[11:]
    assert names(api.get(f"/groups/{top}/children", first=10, max=5)) == children[10:]
    assert names(api.get(f"/groups/{top}/children", first=2, max=3)) == children[2:5]


def test_user_groups_honour_first_and_max(api: Api, populated: dict[str, Any]) -> None:
    user = populated["users"][0]
    groups = [f"g{i:02}" for i in range(12)]
    assert names(api.get(f"/users/{user}/groups")) == groups  # no default limit
    assert names(api.get(f"/users/{user}/groups", first=11)) == groups[11:]
    assert names(api.get(f"/users/{user}/groups", first=10, max=5)) == groups[10:]
    assert names(api.get(f"/users/{user}/groups", first=0, max=2)) == groups[:2]


def test_json_answers_are_compact_utf8_like_jackson(api: Api) -> None:
    """Byte for byte: no spaces after `:`/`,`, UTF-8 rather than `\\u` escapes (control characters
    escaped), so clients comparing error bodies as text see no difference."""
    assert api.get("/users/no-such-id").content == b'{"error":"User not found"}'
    description = 'Zoë ✓ </> "q" \t \u0001'
    response = api.post("/roles", {"name": "ré/le", "description": description})
    assert response.status_code == 201
    assert response.headers["Location"].endswith("/roles/r%C3%A9%2Fle")  # one encoded segment
    body = api.get("/roles/r%C3%A9%2Fle").content
    assert b'"name":"r\xc3\xa9/le","description":"Zo\xc3\xab \xe2\x9c\x93 </> \\"q\\" \\t \\u0001",' in body
    assert b'": ' not in body and b'", "' not in body


def test_json_booleans_in_string_maps_are_stored_lower_case(api: Api) -> None:
    """Client attributes, mapper config and client-scope attributes are `Map<String, String>`:
    Jackson writes `true` as "true"; the sandbox stored Python's "True"."""
    mapper = {
        "name": "m",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-hardcoded-claim-mapper",
        "config": {"claim.name": "c", "claim.value": "v", "access.token.claim": True, "id.token.claim": False},
    }
    client = {"clientId": "bools", "attributes": {"on": True, "off": False, "n": 5}, "protocolMappers": [mapper]}
    body = api.get(f"/clients/{api.create('/clients', client)}").json()
    assert {k: body["attributes"][k] for k in ("on", "off", "n")} == {"on": "true", "off": "false", "n": "5"}
    config = body["protocolMappers"][0]["config"]
    assert (config["access.token.claim"], config["id.token.claim"]) == ("true", "false")
    scope = {"name": "bool-scope", "protocol": "openid-connect", "attributes": {"include.in.token.scope": True}}
    scope_id = api.create("/client-scopes", scope)
    assert api.get(f"/client-scopes/{scope_id}").json()["attributes"]["include.in.token.scope"] == "true"


def unrecognized(representation: str, name: str, line: int, column: int) -> dict[str, str]:
    message = f'Unrecognized field "{name}" at line {line} column {column}.'
    return {"error": f"Invalid json representation for {representation}. {message}"}


@pytest.mark.parametrize(
    ("raw", "name", "line", "column"),
    [
        ('{"bogusField": 1}', "bogusField", 1, 17),
        ('{"enabled":true,"bogus":"abc"}', "bogus", 1, 26),
        ('{"bogus":{"a":[1,2]},"x":1}', "bogus", 1, 11),
        ('{\n  "enabled": true,\n  "bogus": null\n}', "bogus", 3, 16),
    ],
)
def test_an_unknown_realm_field_is_400_unrecognized_field(
    api: Api, realm: str, raw: str, name: str, line: int, column: int
) -> None:
    """Keycloak refuses the whole body (a misspelt setting is not silently dropped)."""
    response = api.admin.connection.raw_put(f"admin/realms/{realm}", data=raw)
    assert (response.status_code, response.json()) == (400, unrecognized("RealmRepresentation", name, line, column))
    assert api.put("", {"displayName": "still fine", "enabled": True}).status_code == 204


def test_an_unknown_user_field_is_400_on_create_and_update(api: Api) -> None:
    raw = '{"username":"user1","bogus":1}'
    response = api.admin.connection.raw_post(api.path("/users"), data=raw)
    assert (response.status_code, response.json()) == (400, unrecognized("UserRepresentation", "bogus", 1, 30))
    user = api.create("/users", {"username": "user1", "enabled": True})
    response = api.admin.connection.raw_put(api.path(f"/users/{user}"), data=raw)
    assert (response.status_code, response.json()) == (400, unrecognized("UserRepresentation", "bogus", 1, 30))
    fields = {"email": None, "firstName": None, "requiredActions": [], "attributes": None, "access": None}
    assert api.put(f"/users/{user}", fields).status_code == 204  # known fields, even if ignored


def test_an_unknown_field_in_a_new_realm_is_400(api: Api) -> None:
    raw = '{"realm":"never-created-x1","bogus":1}'
    response = api.admin.connection.raw_post("admin/realms", data=raw)
    assert (response.status_code, response.json()) == (400, {"errorMessage": "unable to read contents from stream"})


def test_roles_by_id_update_and_composites(api: Api) -> None:
    """`PUT /roles-by-id/{id}` answered 405 and its `/composites` 404 on the sandbox."""
    for name in ("parent", "child"):
        assert api.post("/roles", {"name": name}).status_code == 201
    parent, child = api.get("/roles/parent").json(), api.get("/roles/child").json()
    client = api.create("/clients", {"clientId": "holder", "protocol": "openid-connect"})
    assert api.post(f"/clients/{client}/roles", {"name": "client-child"}).status_code == 201
    client_child = api.get(f"/clients/{client}/roles/client-child").json()
    by_id = f"/roles-by-id/{parent['id']}"
    assert api.put(by_id, {"name": "parent", "description": "d"}).status_code == 204
    assert api.get(by_id).json()["description"] == "d"
    assert api.post(f"{by_id}/composites", [child, client_child]).status_code == 204
    assert sorted(names(api.get(f"{by_id}/composites"))) == ["child", "client-child"]
    assert names(api.get(f"{by_id}/composites/realm")) == ["child"]
    assert names(api.get("/roles/parent/composites/realm")) == ["child"]
    assert names(api.get(f"{by_id}/composites/clients/{client}")) == ["client-child"]
    assert names(api.get(f"/roles/parent/composites/clients/{client}")) == ["client-child"]
    assert "attributes" not in api.get(f"{by_id}/composites").json()[0]
    assert api.delete(f"{by_id}/composites", [child]).status_code == 204
    assert names(api.get(f"{by_id}/composites")) == ["client-child"]
    missing = api.put("/roles-by-id/no-such-role", {"name": "x"})
    assert (missing.status_code, missing.json()) == (404, {"error": "Could not find role with id"})


def test_groups_count_is_not_a_group_id(api: Api, populated: dict[str, Any]) -> None:
    """12 + 1 top-level groups and 12 subgroups of `top` (the sandbox read `count` as an id: 404)."""
    assert api.get("/groups/count").json() == {"count": 25}
    assert api.get("/groups/count", top="true").json() == {"count": 13}
    assert api.get("/groups/count", search="C0").json() == {"count": 10}


def test_an_identity_provider_update_keeps_its_provider_id(api: Api) -> None:
    """26.7.3 answers 204 to a changed `providerId` and keeps the stored one (the sandbox switched)."""
    idp = {
        "alias": "upstream",
        "providerId": "oidc",
        "config": {"clientId": "x", "authorizationUrl": "https://a.test/auth", "tokenUrl": "https://a.test/t"},
    }
    assert api.post("/identity-provider/instances", idp).status_code == 201
    for other in ("keycloak-oidc", "github"):
        assert api.put("/identity-provider/instances/upstream", {**idp, "providerId": other}).status_code == 204
        assert api.get("/identity-provider/instances/upstream").json()["providerId"] == "oidc"


def test_a_link_to_an_unknown_identity_provider_is_stored(api: Api) -> None:
    """Keycloak does not check the alias: the link is stored (409 on a second one), hidden from the
    user's link list until an IdP with that alias exists, and found by `idpAlias` meanwhile."""
    user = api.create("/users", {"username": "linked", "enabled": True})
    link = {"userId": "u1", "userName": "n1"}
    assert api.post(f"/users/{user}/federated-identity/later", link).status_code == 204
    again = api.post(f"/users/{user}/federated-identity/later", link)
    assert (again.status_code, again.json()) == (409, {"errorMessage": "User is already linked with provider"})
    assert api.get(f"/users/{user}/federated-identity").json() == []
    assert names(api.get("/users", idpAlias="later"), "username") == ["linked"]
    idp = {
        "alias": "later",
        "providerId": "oidc",
        "config": {"clientId": "x", "authorizationUrl": "https://a.test/auth", "tokenUrl": "https://a.test/t"},
    }
    assert api.post("/identity-provider/instances", idp).status_code == 201
    assert api.get(f"/users/{user}/federated-identity").json() == [
        {"identityProvider": "later", "userId": "u1", "userName": "n1"}
    ]


def test_public_realm_description_and_admin_console_answer(keycloak: KeycloakTarget, realm: str) -> None:
    """Readiness probes of other tools poll these; the sandbox answered 404 to both."""
    response = requests.get(f"{keycloak.url}/realms/{realm}", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert sorted(body) == ["account-service", "public_key", "realm", "token-service", "tokens-not-before"]
    assert body["realm"] == realm
    assert body["token-service"] == f"{keycloak.url}/realms/{realm}/protocol/openid-connect"
    assert body["account-service"] == f"{keycloak.url}/realms/{realm}/account"
    assert body["tokens-not-before"] == 0
    assert base64.b64decode(body["public_key"])[:2] == b"\x30\x82"  # DER SubjectPublicKeyInfo
    missing = requests.get(f"{keycloak.url}/realms/no-such-realm-x1", timeout=10)
    assert (missing.status_code, missing.json()) == (404, {"error": "Realm does not exist"})
    for path in ("/admin", "/admin/"):
        redirect = requests.get(keycloak.url + path, allow_redirects=False, timeout=10)
        assert (redirect.status_code, redirect.headers["Location"]) == (302, f"{keycloak.url}/admin/master/console/")
    console = requests.get(f"{keycloak.url}/admin/master/console/", timeout=10)
    assert console.status_code == 200
    assert console.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<title>Keycloak Administration Console</title>" in console.text


@pytest.mark.sandbox_only
@pytest.mark.parametrize(
    "path",
    ["/components", "/authentication/flows", "/keys", "/attack-detection/brute-force/users"],
)
def test_keycloak_endpoints_the_sandbox_lacks_answer_501_naming_them(api: Api, realm: str, path: str) -> None:
    """Keycloak serves these (200); a 404 would read as "object not found", so the sandbox says
    plainly that it does not implement them. Truly unknown paths stay 404 as on Keycloak."""
    response = api.get(path)
    assert response.status_code == 501
    assert response.json() == {
        "error": "not_implemented",
        "error_description": f"The realmctl sandbox does not implement GET /admin/realms/{realm}{path}",
    }
    unknown = api.get("/no-such-endpoint")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "HTTP 404 Not Found"})


def test_the_endpoints_answered_501_are_served_by_keycloak(keycloak: KeycloakTarget, api: Api) -> None:
    """What the 501s above stand for: on Keycloak 26.7.3 these answer 200 (real server only)."""
    if keycloak.is_sandbox:
        pytest.skip("checks the real server's answers that the sandbox's 501s stand in for")
    for path in ("/components", "/authentication/flows", "/users/profile", "/keys"):
        assert api.get(path).status_code == 200, path


def test_a_token_minted_through_another_host_name_is_refused(keycloak: KeycloakTarget) -> None:
    """A token whose `iss` host differs from the request's host: the sandbox accepted it."""
    assert "//127.0.0.1:" in keycloak.url
    token = requests.post(
        f"{keycloak.url}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": keycloak.admin_user,
            "password": keycloak.admin_password,
        },
        timeout=10,
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    for host, admin, broker in (("127.0.0.1", 200, 403), ("localhost", 401, 400)):
        base = keycloak.url.replace("127.0.0.1", host)
        assert requests.get(f"{base}/admin/realms/master", headers=auth, timeout=10).status_code == admin
        answer = requests.get(f"{base}/realms/master/broker/nowhere/token", headers=auth, timeout=10)
        assert answer.status_code == broker
        if broker == 400:
            assert answer.json() == {"errorMessage": "Invalid token."}
    # (through the minting host, userinfo answers 403 on Keycloak: no `openid` scope; an open difference)
    userinfo = requests.get(
        f"{keycloak.url.replace('127.0.0.1', 'localhost')}/realms/master/protocol/openid-connect/userinfo",
        headers=auth,
        timeout=10,
    )
    assert userinfo.status_code == 401
