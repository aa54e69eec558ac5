"""User attributes and the realm's user profile (kind `user-profile`).

Keycloak 26.x drops a user attribute its realm's user profile does not declare unless the realm's
`unmanagedAttributePolicy` is ENABLED or ADMIN_EDIT (unset for a new realm): `plan` must refuse
such a spec before anything is written, and `userProfile: {unmanagedAttributePolicy: ADMIN_EDIT}`
must make the attribute stick (apply converges), keeping what the profile already declares.

Runs against the sandbox by default and against a real Keycloak when REALMCTL_TEST_URL is set.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from realmctl.export import export_realms, parse_kinds
from realmctl.keycloak.session import Api, Settings
from tests.helpers import Admin, env_for, realmctl, unique, write

FIX = "userProfile: {unmanagedAttributePolicy: ADMIN_EDIT}"


class Target:
    def __init__(self, keycloak: Any, tmp: Path) -> None:
        self.keycloak = keycloak
        self.realm = unique("uprofile")
        self.tmp = tmp
        self.admin = Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)
        self.env = env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password)

    def spec(self, profile: str = "", attributes: str = "team: blue") -> str:
        text = f"version: 1\nrealms:\n  {self.realm}:\n"
        if profile:
            text += f"    userProfile: {profile}\n"
        text += f"    users:\n      alice:\n        email: alice@example.org\n        attributes: {{{attributes}}}\n"
        return write(self.tmp, "spec.yaml", text)

    def base(self) -> str:
        return f"admin/realms/{self.realm}"

    def exists(self) -> bool:
        return self.admin.call("GET", self.base()).status_code == 200

    def alice(self) -> dict[str, Any] | None:
        found = self.admin.get(f"{self.base()}/users", username="alice", exact="true")
        return found[0] if found else None

    def profile(self) -> dict[str, Any]:
        return self.admin.get(f"{self.base()}/users/profile")  # type: ignore[no-any-return]


@pytest.fixture
def target(keycloak: Any, tmp_path: Path) -> Iterator[Target]:
    t = Target(keycloak, tmp_path)
    yield t
    t.admin.call("DELETE", t.base())


def test_a_dropped_attribute_in_a_new_realm_is_a_plan_error_and_nothing_is_applied(target: Target) -> None:
    spec = target.spec()
    plan = realmctl("plan", spec, env=target.env)
    assert plan.code == 1, plan.all
    for needed in ("alice", "team", "would be dropped", "unmanagedAttributePolicy", "is unset", FIX):
        assert needed in plan.all, (needed, plan.all)
    applied = realmctl("apply", "--yes", spec, env=target.env)
    assert applied.code == 1, applied.all
    assert not target.exists()


def test_a_dropped_attribute_in_an_existing_realm_is_a_plan_error(target: Target) -> None:
    target.admin.post("admin/realms", {"realm": target.realm, "enabled": True})
    spec = target.spec(attributes="team: blue, dept: ops")
    plan = realmctl("plan", spec, env=target.env)
    assert plan.code == 1, plan.all
    assert "attribute(s) dept, team would be dropped" in plan.all, plan.all
    assert FIX in plan.all
    assert realmctl("apply", "--yes", spec, env=target.env).code == 1
    assert target.alice() is None
    # ADMIN_VIEW shows undeclared attributes but does not let an admin write them: still an error.
    viewing = realmctl("plan", target.spec("{unmanagedAttributePolicy: ADMIN_VIEW}"), env=target.env)
    assert viewing.code == 1 and "is ADMIN_VIEW" in viewing.all, viewing.all


def test_admin_edit_policy_makes_the_attribute_stick_and_apply_converge(target: Target) -> None:
    spec = target.spec("{unmanagedAttributePolicy: ADMIN_EDIT}")
    plan = realmctl("plan", spec, env=target.env)
    assert plan.code == 0, plan.all
    assert "user profile of realm" in plan.all, plan.all
    applied = realmctl("apply", "--yes", spec, env=target.env)
    assert applied.code == 0, applied.all
    assert target.profile()["unmanagedAttributePolicy"] == "ADMIN_EDIT"
    alice = target.alice()
    assert alice is not None and alice["attributes"]["team"] == ["blue"], alice
    again = realmctl("plan", "--detailed-exitcode", spec, env=target.env)
    assert again.code == 0, again.all

    api = Api(
        Settings(url=target.keycloak.url, user=target.keycloak.admin_user, password=target.keycloak.admin_password)
    )
    api.login()
    exported = export_realms(api, [target.realm], parse_kinds(None)).spec["realms"][target.realm]
    assert exported["userProfile"] == {"unmanagedAttributePolicy": "ADMIN_EDIT"}


def test_the_policy_update_keeps_the_attributes_the_profile_declares(target: Target) -> None:
    target.admin.post("admin/realms", {"realm": target.realm, "enabled": True})
    profile = target.profile()
    dept = {"name": "dept", "displayName": "Department", "permissions": {"view": ["admin"], "edit": ["admin"]}}
    profile["attributes"].append(dept)
    target.admin.put(f"{target.base()}/users/profile", profile)
    declared_before = [a["name"] for a in target.profile()["attributes"]]
    assert "dept" in declared_before
    # A declared attribute alone needs no policy.
    assert realmctl("plan", target.spec(attributes="dept: ops"), env=target.env).code == 0
    # One declared without admin edit permission: Keycloak drops it on create, refuses it on update.
    locked = {"name": "badge", "permissions": {"view": ["admin"], "edit": ["user"]}}
    target.admin.put(f"{target.base()}/users/profile", {**profile, "attributes": [*profile["attributes"], locked]})
    refused = realmctl(
        "plan", target.spec("{unmanagedAttributePolicy: ENABLED}", attributes="badge: x"), env=target.env
    )
    assert refused.code == 1 and "badge would be refused" in refused.all and "permissions.edit" in refused.all
    target.admin.put(f"{target.base()}/users/profile", profile)

    spec = target.spec("{unmanagedAttributePolicy: ENABLED}", attributes="dept: ops, team: blue")
    applied = realmctl("apply", "--yes", spec, env=target.env)
    assert applied.code == 0, applied.all
    after = target.profile()
    assert [a["name"] for a in after["attributes"]] == declared_before
    assert after["unmanagedAttributePolicy"] == "ENABLED"
    assert [g["name"] for g in after["groups"]] == [g["name"] for g in profile["groups"]]
    alice = target.alice()
    assert alice is not None
    assert (alice["attributes"]["dept"], alice["attributes"]["team"]) == (["ops"], ["blue"])
    assert realmctl("plan", "--detailed-exitcode", spec, env=target.env).code == 0


@pytest.mark.sandbox_only
def test_the_profile_is_read_only_for_specs_that_need_it(target: Target) -> None:
    target.admin.post("admin/realms", {"realm": target.realm, "enabled": True})
    plain = write(
        target.tmp, "plain.yaml", f"version: 1\nrealms:\n  {target.realm}:\n    users:\n      bob: {{email: b@x.org}}\n"
    )

    def profile_reads(spec: str) -> int:
        target.admin.reset_requests()
        assert realmctl("plan", spec, env=target.env).code in (0, 1)
        return sum(1 for e in target.admin.requests()["log"] if e["path"].endswith("/users/profile"))

    assert profile_reads(plain) == 0
    assert profile_reads(target.spec()) == 1
    assert profile_reads(target.spec("{unmanagedAttributePolicy: ADMIN_EDIT}")) == 1
