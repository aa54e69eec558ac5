"""The declarative user profile (Keycloak 24+) on the admin API: what an admin client notices.

A new realm's profile declares only username, e-mail and names and sets no
`unmanagedAttributePolicy`, so other user attributes are dropped; the policy decides whether
undeclared attributes are written and shown. Runs on the sandbox and on a real Keycloak alike.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import KeycloakTarget
from tests.sandbox.conftest import Api
from tests.sandbox.oidc import PASSWORD, post_token, user_rep


def _profile(api: Api, **changes: Any) -> dict[str, Any]:
    profile = api.get("/users/profile").json()
    profile.update(changes)
    response = api.put("/users/profile", profile)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _attributes(api: Api, uid: str) -> Any:
    return api.get(f"/users/{uid}").json().get("attributes")


def test_a_new_realm_drops_undeclared_attributes(api: Api) -> None:
    profile = api.get("/users/profile").json()
    assert [a["name"] for a in profile["attributes"]] == ["username", "email", "firstName", "lastName"]
    assert "unmanagedAttributePolicy" not in profile
    uid = api.create("/users", {"username": "bob", "attributes": {"team": ["blue"]}})
    assert _attributes(api, uid) is None
    assert api.get("/users", q="team:blue").json() == []
    assert api.get(f"/users/{uid}/unmanagedAttributes").json() == {}


@pytest.mark.parametrize(
    ("policy", "created", "after_update"),
    [
        ("ENABLED", {"team": ["red"]}, {"team": ["green"]}),
        ("ADMIN_EDIT", {"team": ["red"]}, {"team": ["green"]}),
        ("ADMIN_VIEW", None, {"team": ["blue"]}),  # shown, never written
    ],
)
def test_the_unmanaged_attribute_policy_decides_what_is_written_and_shown(
    api: Api, policy: str, created: Any, after_update: Any
) -> None:
    _profile(api, unmanagedAttributePolicy="ENABLED")
    bob = api.create("/users", {"username": "bob", "attributes": {"team": ["blue"]}})
    assert _profile(api, unmanagedAttributePolicy=policy)["unmanagedAttributePolicy"] == policy
    carl = api.create("/users", {"username": "carl", "attributes": {"team": ["red"]}})
    assert _attributes(api, carl) == created
    assert api.put(f"/users/{bob}", {"attributes": {"team": ["green"]}}).status_code == 204
    assert _attributes(api, bob) == after_update
    profile = api.get("/users/profile").json()
    del profile["unmanagedAttributePolicy"]
    assert api.put("/users/profile", profile).status_code == 200
    assert _attributes(api, bob) is None  # hidden again, still stored: found by search
    assert [u["username"] for u in api.get("/users", q=f"team:{after_update['team'][0]}").json()] == ["bob"]


def test_declared_attributes_follow_their_admin_permissions(api: Api) -> None:
    profile = api.get("/users/profile").json()
    profile["attributes"] += [
        {"name": "team", "permissions": {"view": ["admin"], "edit": ["admin"]}},
        {"name": "self", "permissions": {"view": ["user"], "edit": ["user"]}},
        {"name": "seen", "permissions": {"view": ["admin"], "edit": ["user"]}},
    ]
    assert api.put("/users/profile", profile).status_code == 200
    uid = api.create("/users", {"username": "dora", "attributes": {"team": ["a"], "self": ["b"], "seen": ["c"]}})
    assert _attributes(api, uid) == {"team": ["a"]}
    meta = {a["name"]: a for a in api.get("/users/profile/metadata").json()["attributes"]}
    assert set(meta) == {"username", "email", "firstName", "lastName", "team", "seen"}
    assert meta["seen"]["readOnly"] is True and meta["team"]["readOnly"] is False
    two = api.post("/users", {"username": "erin", "attributes": {"team": ["a", "b"]}})
    assert two.status_code == 400
    assert two.json() == {"field": "team", "errorMessage": "error-invalid-multivalued-size", "params": ["team", 0, 1]}


def test_an_update_may_not_change_a_read_only_declared_attribute(api: Api) -> None:
    """Dropped silently on create, but refused on an update that sends another value (26.7.3);
    a blank value, or an update without it, passes."""
    profile = api.get("/users/profile").json()
    profile["attributes"].append({"name": "ro", "permissions": {"view": ["admin", "user"], "edit": ["user"]}})
    assert api.put("/users/profile", profile).status_code == 200
    uid = api.create("/users", {"username": "fred", "attributes": {"ro": ["x"]}})
    assert _attributes(api, uid) is None
    changed = api.put(f"/users/{uid}", {"attributes": {"ro": ["x"]}})
    assert changed.status_code == 400
    assert changed.json() == {"field": "ro", "errorMessage": "error-user-attribute-read-only", "params": ["ro"]}
    for body in ({"attributes": {"ro": []}}, {"attributes": {"ro": [""]}}, {"firstName": "Fred"}):
        assert api.put(f"/users/{uid}", body).status_code == 204, body


def test_an_update_with_attributes_replaces_the_names_too(api: Api) -> None:
    uid = api.create("/users", {"username": "fred", "email": "f@x.org", "firstName": "F", "lastName": "L"})
    assert api.put(f"/users/{uid}", {"firstName": "G"}).status_code == 204
    user = api.get(f"/users/{uid}").json()
    assert (user["firstName"], user["lastName"], user["email"]) == ("G", "L", "f@x.org")
    assert api.put(f"/users/{uid}", {"attributes": {}}).status_code == 204
    user = api.get(f"/users/{uid}").json()
    assert not {"firstName", "lastName", "email"} & set(user)


def test_renaming_needs_edit_username_allowed(api: Api, realm: str) -> None:
    uid = api.create("/users", {"username": "gina"})
    refused = api.put(f"/users/{uid}", {"username": "gina2"})
    assert refused.status_code == 400
    assert refused.json() == {
        "field": "username",
        "errorMessage": "error-user-attribute-read-only",
        "params": ["username"],
    }
    assert api.put("", {"realm": realm, "editUsernameAllowed": True}).status_code == 204
    assert api.put(f"/users/{uid}", {"username": "gina2"}).status_code == 204
    assert api.get(f"/users/{uid}").json()["username"] == "gina2"


def test_bad_profiles_are_refused_and_change_nothing(api: Api) -> None:
    before = api.get("/users/profile").json()
    refused = api.put("/users/profile", {"attributes": []})
    assert refused.status_code == 400
    assert refused.json() == {
        "errorMessage": "[The attribute 'username' can not be removed, The attribute 'email' can not be removed]"
    }
    bogus = api.put("/users/profile", {**before, "unmanagedAttributePolicy": "BOGUS"})
    assert bogus.status_code == 400
    assert api.get("/users/profile").json() == before


def test_login_requires_what_the_profile_requires(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    api.create("/users", user_rep("hank", email=None, firstName=None, lastName=None))
    form = {"grant_type": "password", "client_id": "admin-cli", "username": "hank", "password": PASSWORD}
    assert post_token(keycloak, realm, form).json()["error_description"] == "Account is not fully set up"
    profile = api.get("/users/profile").json()
    for attribute in profile["attributes"]:
        attribute.pop("required", None)
    assert api.put("/users/profile", profile).status_code == 200
    assert post_token(keycloak, realm, form).status_code == 200
