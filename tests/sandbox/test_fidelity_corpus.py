"""Fixes for the differences the differential corpus (tests/fidelity/) found between the sandbox and
Keycloak 26.7.3. Each test runs on the sandbox and, with REALMCTL_TEST_URL, on a real Keycloak: the
expected values are what the real server answered.
"""

from __future__ import annotations

from tests.sandbox.conftest import Api


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
