"""Ownership per spec (issue #16 item 5): two teams keeping two specs for one realm never delete
each other's objects; declaring another owner's object is a plan error naming the owner, unless
the spec adopts it; objects made before owners existed belong to `default`.

Runs against the sandbox by default and against a real Keycloak when REALMCTL_TEST_URL is set.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import Admin, Result, env_for, realmctl, unique


class Team:
    """One team's spec file for the shared realm."""

    def __init__(self, path: Path, realm: str, env: dict[str, str], owner: str | None) -> None:
        self.path = path
        self.env = env
        self.doc: dict[str, Any] = {"version": 1, "realms": {realm: {}}}
        if owner:
            self.doc["owner"] = owner
        self.realm = realm

    @property
    def r(self) -> dict[str, Any]:
        realm: dict[str, Any] = self.doc["realms"][self.realm]
        return realm

    def cmd(self, *args: str) -> Result:
        self.path.write_text(yaml.safe_dump(self.doc, sort_keys=False))
        return realmctl(*args, str(self.path), env=self.env)

    def apply(self) -> Result:
        result = self.cmd("apply", "--yes")
        assert result.code == 0, result.all
        return result


class Realm:
    def __init__(self, keycloak: Any, tmp_path: Path) -> None:
        self.name = unique("owners")
        self.admin = Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)
        self.env = env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password)
        self.tmp = tmp_path

    def team(self, owner: str | None, file: str) -> Team:
        return Team(self.tmp / file, self.name, self.env, owner)

    def client_ids(self) -> set[str]:
        return {c["clientId"] for c in self.admin.get(f"admin/realms/{self.name}/clients")}


@pytest.fixture
def realm(keycloak: Any, tmp_path: Path) -> Iterator[Realm]:
    made = Realm(keycloak, tmp_path)
    yield made
    made.admin.call("DELETE", f"admin/realms/{made.name}")  # the servers are shared


def two_teams(realm: Realm) -> tuple[Team, Team]:
    a, b = realm.team("team-a", "a.yaml"), realm.team("team-b", "b.yaml")
    a.r.update(
        clients={"a-app": {"publicClient": True, "roles": ["viewer"]}},
        roles=["a-reader"],
        groups=["a-staff"],
        users={"alice": {"email": "alice@example.com", "groups": ["a-staff"]}},
        roleGrants=[{"users": ["alice"], "realmRoles": ["a-reader"]}],
    )
    b.r.update(clients={"b-app": {"publicClient": True}}, users={"bob": {"email": "bob@example.com"}})
    return a, b


def test_another_owners_apply_deletes_nothing_of_ours(realm: Realm) -> None:
    a, b = two_teams(realm)
    a.apply()
    planned = b.cmd("plan", "--format", "json")
    assert planned.code == 0, planned.all
    body = json.loads(planned.out)
    assert body["summary"]["delete"] == 0, [c for c in body["changes"] if c["action"] == "delete"]
    b.apply()
    assert {"a-app", "b-app"} <= realm.client_ids()
    users = {u["username"] for u in realm.admin.get(f"admin/realms/{realm.name}/users")}
    assert {"alice", "bob"} <= users
    # Each team's plan is empty; and each still deletes what it removes from its own spec.
    assert a.cmd("plan", "--detailed-exitcode").code == 0
    assert b.cmd("plan", "--detailed-exitcode").code == 0
    b.r["clients"] = {}
    removed = b.cmd("plan")
    assert "  - client b-app" in removed.out and "a-app" not in removed.out, removed.out
    b.apply()
    assert "a-app" in realm.client_ids() and "b-app" not in realm.client_ids()


def test_declaring_another_owners_object_is_a_plan_error_naming_the_owner(realm: Realm) -> None:
    a, b = two_teams(realm)
    a.apply()
    b.r["clients"]["a-app"] = {"publicClient": True, "description": "mine now"}
    result = b.cmd("plan")
    assert result.code == 1
    assert f"client a-app in realm {realm.name} is held by owner 'team-a'" in result.err
    assert f'adopt: {{{realm.name}: [["client", "a-app"]]}}' in result.err
    assert b.cmd("apply", "--yes").code == 1
    client = realm.admin.client(realm.name, "a-app")
    assert client is not None and "description" not in client  # nothing was written


def test_adopting_moves_the_object_to_the_new_owner(realm: Realm) -> None:
    a, b = two_teams(realm)
    a.apply()
    b.r["clients"]["a-app"] = {"publicClient": True}
    b.doc["adopt"] = {realm.name: [["client", "a-app"]]}
    shown = b.cmd("plan")
    assert shown.code == 0, shown.all
    assert '  ~ client a-app\n      owner: "team-a" -> "team-b"' in shown.out
    b.apply()
    assert b.cmd("plan", "--detailed-exitcode").code == 0
    # Team A's spec still declares it: now that is the error, naming team-b.
    refused = a.cmd("plan")
    assert refused.code == 1 and "is held by owner 'team-b'" in refused.err
    a.r["clients"].pop("a-app")
    # Team A no longer deletes it (its client role `viewer` is still team A's: adoption is per
    # object, children are listed too or adopted with ["*", "team-a"]).
    assert "- client a-app" not in a.cmd("plan").out
    # Team B holds it: leaving B's spec deletes it.
    b.r["clients"].pop("a-app")
    assert "  - client a-app" in b.cmd("plan").out


def test_objects_of_earlier_versions_belong_to_the_default_owner_and_migrate_by_adoption(realm: Realm) -> None:
    old = realm.team(None, "a.yaml")  # no `owner:`, as every spec before owners
    old.r.update(clients={"a-app": {"publicClient": True}}, users={"alice": {}}, groups=["staff"])
    old.r["roleGrants"] = [{"groups": ["staff"], "realmRoles": ["offline_access"]}]
    old.apply()
    named = realm.team("team-a", "a.yaml")
    named.doc["realms"] = old.doc["realms"]
    refused = named.cmd("plan")
    assert refused.code == 1 and "client a-app" in refused.err and "held by owner 'default'" in refused.err
    named.doc["adopt"] = {realm.name: [["*", "default"]]}
    shown = named.cmd("plan")
    assert shown.code == 0, shown.all
    for line in ("~ client a-app", "~ user alice", "~ group staff", "role offline_access granted to group staff"):
        assert line in shown.out, shown.out
    named.apply()
    named.doc.pop("adopt")
    assert named.cmd("plan", "--detailed-exitcode").code == 0
    # A spec of the default owner for the same realm no longer deletes them.
    empty = realm.team(None, "other.yaml")
    assert "  - " not in empty.cmd("plan").out
    # team-a owns them now, links included: removing them from its spec deletes them.
    named.r.pop("roleGrants")
    named.r.pop("clients")
    out = named.cmd("plan").out
    assert "  - client a-app" in out and "- role offline_access granted to group staff" in out, out
