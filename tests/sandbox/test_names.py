"""Which names Keycloak 26.7.3 refuses, and how it answers (measured; the sandbox must agree).

Run against a real server too (REALMCTL_TEST_URL): every expectation here was read from 26.7.3.
"""

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.helpers import Admin, unique


@pytest.fixture
def admin(keycloak: Any) -> Admin:
    return Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)


@pytest.fixture
def realm(admin: Admin) -> Iterator[str]:
    name = unique("names")
    admin.post("admin/realms", {"realm": name, "enabled": True})
    yield name
    admin.call("DELETE", f"admin/realms/{name}")


@pytest.mark.parametrize(("name", "char"), [("a/b", "/"), ("a+b", "+"), ("a;b", ";"), ("a\\b", "\\"), ("a?b", "?")])
def test_realm_names_with_reserved_characters_are_refused(admin: Admin, name: str, char: str) -> None:
    response = admin.call("POST", "admin/realms", {"realm": unique(name)})
    assert response.status_code == 400
    assert response.json() == {"error": f"Character '{char}' not allowed."}


def test_a_realm_name_with_quotes_and_emoji_is_created_and_addressable(admin: Admin) -> None:
    name = unique('q"😀\t')
    response = admin.call("POST", "admin/realms", {"realm": name, "enabled": True})
    try:
        assert response.status_code == 201
        assert response.headers["Location"].endswith(f"/admin/realms/{quote(name, safe='')}")
        assert admin.get(f"admin/realms/{quote(name, safe='')}")["realm"] == name
    finally:
        admin.call("DELETE", f"admin/realms/{quote(name, safe='')}")


@pytest.mark.parametrize(
    ("alias", "body"),
    [
        ("a b", {"error": "Empty Space not allowed."}),
        ("a;b", {"error": "Character ';' not allowed."}),
        ("a/b", {"error": "Character '/' not allowed."}),
        ("{x}", {"errorMessage": "Path parameter not provided x"}),
    ],
)
def test_idp_aliases_keycloak_refuses(admin: Admin, realm: str, alias: str, body: dict[str, str]) -> None:
    rep = {"alias": alias, "providerId": "oidc", "config": {"clientId": "x", "tokenUrl": "https://e/t"}}
    response = admin.call("POST", f"admin/realms/{realm}/identity-provider/instances", rep)
    assert response.status_code == 400
    assert response.json() == body


LENGTH = {"field": "username", "errorMessage": "error-invalid-length", "params": ["username", 3, 255]}
CHARACTER = {"field": "username", "errorMessage": "error-username-invalid-character", "params": ["username"]}


@pytest.mark.parametrize(
    ("username", "body"),
    [
        ("Ab", LENGTH),
        ("a b", CHARACTER),
        ("a%2Fb", CHARACTER),
        ("abc§", CHARACTER),
        ("%", {"errors": [LENGTH, CHARACTER]}),
    ],
)
def test_usernames_the_user_profile_refuses(admin: Admin, realm: str, username: str, body: dict[str, Any]) -> None:
    response = admin.call("POST", f"admin/realms/{realm}/users", {"username": username, "enabled": True})
    assert response.status_code == 400
    assert response.json() == body


@pytest.mark.parametrize("username", ["ünï", "a@b", "a+b", "😀😀", "...", "a\u200bbc"])
def test_usernames_the_user_profile_accepts(admin: Admin, realm: str, username: str) -> None:
    response = admin.call("POST", f"admin/realms/{realm}/users", {"username": username, "enabled": True})
    assert response.status_code == 201
    assert [u["username"] for u in admin.get(f"admin/realms/{realm}/users", username=username, exact="true")] == [
        username
    ]


def test_blank_client_ids_and_group_names_are_refused_blank_role_names_are_not(admin: Admin, realm: str) -> None:
    response = admin.call("POST", f"admin/realms/{realm}/clients", {"clientId": "  "})
    assert (response.status_code, response.json()) == (
        400,
        {"error": "invalid_input", "error_description": "Client ID cannot be blank"},
    )
    response = admin.call("POST", f"admin/realms/{realm}/groups", {"name": " "})
    assert (response.status_code, response.json()) == (400, {"errorMessage": "Group name is missing"})
    assert admin.call("POST", f"admin/realms/{realm}/roles", {"name": " "}).status_code == 201


def test_an_exact_group_search_is_trimmed(admin: Admin, realm: str) -> None:
    admin.post(f"admin/realms/{realm}/groups", {"name": " a"})
    assert [g["name"] for g in admin.get(f"admin/realms/{realm}/groups", briefRepresentation="false")] == [" a"]
    assert admin.get(f"admin/realms/{realm}/groups", search=" a", exact="true") == []


def test_a_role_location_names_the_role_percent_encoded(admin: Admin, realm: str) -> None:
    response = admin.post(f"admin/realms/{realm}/roles", {"name": "a/b"})
    assert response.headers["Location"].endswith(f"/admin/realms/{realm}/roles/a%2Fb")
    assert admin.get(f"admin/realms/{realm}/roles/a%2Fb")["name"] == "a/b"
