"""plan and apply against a live server: creates, idempotence, updates, deletions, ownership.

Runs against the sandbox by default and against a real Keycloak when REALMCTL_TEST_URL is set;
assertions about the request log are marked sandbox_only.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import Admin, Result, env_for, realmctl, unique

CANARY = "canary-5f1e0c2d-secret"


def base_spec(realm: str) -> dict[str, Any]:
    """A realm using every kind of the stored-token chain."""
    return {
        "version": 1,
        "realms": {
            realm: {
                "displayName": "Apps",
                "roles": ["reader"],
                "groups": ["staff"],
                "identityProviders": {
                    "azure": {
                        "providerId": "oidc",
                        "storeToken": True,
                        "storedTokensReadable": True,
                        "config": {
                            "clientId": "app-registration",
                            "clientSecret": "${env:IDP_SECRET}",
                            "authorizationUrl": "https://idp.example.com/auth",
                            "tokenUrl": "https://idp.example.com/token",
                        },
                        "mappers": {
                            "tenant": {
                                "identityProviderMapper": "hardcoded-attribute-idp-mapper",
                                "config": {"attribute": "tenant", "attribute.value": "contoso"},
                            }
                        },
                    }
                },
                "clientScopes": {
                    "broker_read_token": {
                        "includeInTokenScope": True,
                        "mappers": {"broker roles": {"type": "user-client-role", "client": "broker"}},
                        "roleScope": {"clients": {"broker": ["read-token"]}},
                    }
                },
                "optionalClientScopes": ["broker_read_token"],
                "clients": {
                    "my-app": {
                        "publicClient": False,
                        "secret": "${env:APP_SECRET}",
                        "directAccessGrants": True,
                        "fullScopeAllowed": False,
                        "defaultClientScopes": ["broker_read_token"],
                        "roles": ["viewer"],
                        "roleScope": {"realm": ["reader"]},
                    }
                },
                "users": {
                    "alice": {
                        "email": "alice@example.com",
                        "initialPassword": "${env:ALICE_PASSWORD}",
                        "groups": ["staff"],
                    },
                    "bob": {"email": "bob@example.com"},
                },
                "roleGrants": [
                    {"users": ["alice", "bob"], "clientRoles": {"broker": ["read-token"]}},
                    {"groups": ["staff"], "realmRoles": ["reader"]},
                ],
            }
        },
    }


class World:
    """One test realm, its spec file, and the commands run against it."""

    def __init__(self, keycloak: Any, tmp_path: Path) -> None:
        self.keycloak = keycloak
        self.realm = unique("apply")
        self.spec = base_spec(self.realm)
        self.path = tmp_path / "spec.yaml"
        self.admin = Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)
        self.env = env_for(
            keycloak.url,
            keycloak.admin_user,
            keycloak.admin_password,
            IDP_SECRET=CANARY + "-idp",
            APP_SECRET=CANARY + "-app",
            ALICE_PASSWORD=CANARY + "-alice",
        )

    @property
    def r(self) -> dict[str, Any]:
        realm: dict[str, Any] = self.spec["realms"][self.realm]
        return realm

    def cmd(self, *args: str, **env: str) -> Result:
        self.path.write_text(yaml.safe_dump(self.spec, sort_keys=False))
        result = realmctl(*args, str(self.path), env={**self.env, **env})
        assert CANARY not in result.all, "a secret leaked into the output"
        return result

    def apply(self) -> Result:
        result = self.cmd("apply", "--yes")
        assert result.code == 0, result.all
        return result

    def plan(self) -> Result:
        return self.cmd("plan", "--detailed-exitcode")

    def get(self, path: str, **params: Any) -> Any:
        return self.admin.get(f"admin/realms/{self.realm}/{path}", **params)


@pytest.fixture
def world(keycloak: Any, tmp_path: Path) -> World:
    return World(keycloak, tmp_path)


def test_plan_on_a_missing_realm_lists_every_object_to_create(world: World) -> None:
    result = world.plan()
    assert result.code == 2, result.all
    out = result.out
    for line in (
        f"realm {world.realm}",
        f"  + realm {world.realm}",
        "  + client scope broker_read_token",
        "  + protocol mapper 'broker roles' of client scope broker_read_token",
        "  + client my-app",
        "  + client scope broker_read_token on client my-app",
        "  + role broker/read-token in the scope of client scope broker_read_token",
        "  + identity provider azure",
        "  + user alice",
        "  + role broker/read-token granted to user alice",
        "      config.clientSecret: (sensitive)",
        "      secret: (sensitive)",
        "      addReadTokenRoleOnCreate: true",
        # The ownership record's write is a change like the others (#16): 13 links and users.
        "  ~ realmctl's ownership record (realm attribute realmctl.links)",
        "      entries: 0 -> 13",
    ):
        assert line in out, f"missing {line!r} in:\n{out}"
    assert out.rstrip().endswith("Plan: 19 to add, 1 to change, 0 to delete.")


@pytest.mark.sandbox_only
def test_plan_never_writes(world: World) -> None:
    world.apply()
    world.r["clients"]["my-app"]["description"] = "changed"
    world.r["users"].pop("bob")
    world.admin.reset_requests()
    assert world.plan().code == 2
    log = world.admin.requests()
    writes = [e for e in log["log"] if e["method"] != "GET" and "/protocol/openid-connect/token" not in e["path"]]
    assert writes == []


def test_apply_creates_everything_and_the_chain_is_on_the_server(world: World) -> None:
    result = world.apply()
    assert "Apply complete: 20 change(s) applied" in result.out
    idp = world.get("identity-provider/instances/azure")
    assert idp["storeToken"] is True and idp["addReadTokenRoleOnCreate"] is True
    assert idp["config"]["clientSecret"] == "**********"
    client = world.admin.client(world.realm, "my-app")
    assert client is not None
    assert client["secret"] == CANARY + "-app"
    assert "broker_read_token" in client["defaultClientScopes"]
    assert "roles" in client["defaultClientScopes"], "the realm's default scopes were kept"
    scope = next(s for s in world.get("client-scopes") if s["name"] == "broker_read_token")
    mapper = scope["protocolMappers"][0]
    assert mapper["protocolMapper"] == "oidc-usermodel-client-role-mapper"
    assert mapper["config"]["usermodel.clientRoleMapping.clientId"] == "broker"
    assert mapper["config"]["claim.name"] == "resource_access.${client_id}.roles"
    broker = world.admin.client(world.realm, "broker")
    assert broker is not None
    holders = world.get(f"clients/{broker['id']}/roles/read-token/users")
    assert sorted(u["username"] for u in holders) == ["alice", "bob"]
    optional = [s["name"] for s in world.get("default-optional-client-scopes")]
    assert "broker_read_token" in optional


@pytest.mark.sandbox_only
def test_second_apply_sends_no_write_and_plan_is_empty(world: World) -> None:
    world.apply()
    world.admin.reset_requests()
    result = world.cmd("apply", "--yes")
    assert result.code == 0
    assert "No changes" in result.out
    log = world.admin.requests()
    writes = [e for e in log["log"] if e["method"] != "GET" and "/protocol/openid-connect/token" not in e["path"]]
    assert writes == []
    assert world.plan().code == 0


def test_second_apply_is_a_no_op(world: World) -> None:
    world.apply()
    result = world.cmd("apply", "--yes")
    assert result.code == 0 and "No changes" in result.out
    plan = world.plan()
    assert plan.code == 0, plan.out
    assert "Plan: 0 to add, 0 to change, 0 to delete." in plan.out


EDITS: list[tuple[str, Callable[[dict[str, Any]], None], list[str]]] = [
    (
        "client field",
        lambda r: r["clients"]["my-app"].update(directAccessGrants=False),
        ["  ~ client my-app", "      directAccessGrantsEnabled: true -> false"],
    ),
    (
        "client secret",
        lambda r: r["clients"]["my-app"].update(secret="${env:APP_SECRET}-rotated"),
        ["  ~ client my-app", "      secret: (sensitive) (changed)"],
    ),
    (
        "client scope attribute",
        lambda r: r["clientScopes"]["broker_read_token"].update(includeInTokenScope=False),
        ["  ~ client scope broker_read_token", '      attributes[include.in.token.scope]: "true" -> "false"'],
    ),
    (
        "mapper claim switch",
        lambda r: r["clientScopes"]["broker_read_token"]["mappers"]["broker roles"].update(lightweight=True),
        ["  ~ protocol mapper 'broker roles' of client scope broker_read_token", '"false" -> "true"'],
    ),
    (
        "idp flag",
        lambda r: r["identityProviders"]["azure"].update(storedTokensReadable=False),
        ["  ~ identity provider azure", "      addReadTokenRoleOnCreate: true -> false"],
    ),
    (
        "idp secret",
        lambda r: r["identityProviders"]["azure"]["config"].update(clientSecret="${env:IDP_SECRET}-2"),
        [
            "  ~ identity provider azure",
            "      config.clientSecret: (sensitive) (changed)",
            # The realm's secrets digest, written with the secret (realmctl.secrets_digest).
            "  ~ realmctl's ownership record (realm attribute realmctl.links)",
            "      realmctl.fingerprint.idp-secrets: (sensitive) (changed)",
        ],
    ),
    (
        "idp mapper config",
        lambda r: r["identityProviders"]["azure"]["mappers"]["tenant"]["config"].update(
            {"attribute.value": "fabrikam"}
        ),
        ["  ~ mapper 'tenant' of identity provider azure", '"contoso" -> "fabrikam"'],
    ),
    (
        "user field",
        lambda r: r["users"]["bob"].update(email="robert@example.com"),
        ["  ~ user bob", '      email: "bob@example.com" -> "robert@example.com"'],
    ),
    (
        "client scope moved from default to optional",
        lambda r: r["clients"]["my-app"].update(defaultClientScopes=[], optionalClientScopes=["broker_read_token"]),
        ["  ~ client scope broker_read_token on client my-app", '      type: "default" -> "optional"'],
    ),
    (
        "realm scope moved from optional to default",
        lambda r: r.update(optionalClientScopes=[], defaultClientScopes=["broker_read_token"]),
        [
            "  ~ realm client scope broker_read_token (default/optional)",
            '      type: "optional" -> "default"',
        ],
    ),
    (
        "role description",
        lambda r: r.update(roles={"reader": {"description": "Reads"}}),
        ["  ~ realm role reader", '      description: (none) -> "Reads"'],
    ),
    (
        "realm display name",
        lambda r: r.update(displayName="Applications"),
        ["  ~ realm", '      displayName: "Apps" -> "Applications"'],
    ),
]


@pytest.mark.parametrize("what,edit,expected", EDITS, ids=[e[0] for e in EDITS])
def test_a_spec_change_gives_exactly_the_expected_update(
    world: World, what: str, edit: Callable[[dict[str, Any]], None], expected: list[str]
) -> None:
    world.apply()
    edit(world.r)
    plan = world.plan()
    assert plan.code == 2, plan.all
    for line in expected:
        assert line in plan.out, f"{what}: missing {line!r} in\n{plan.out}"
    changed = 1 + sum("ownership record" in line for line in expected)
    assert f"Plan: 0 to add, {changed} to change, 0 to delete." in plan.out, plan.out
    world.apply()
    assert world.plan().code == 0


REMOVALS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("client", lambda r: r["clients"].clear(), "  - client my-app"),
    ("user", lambda r: r["users"].pop("bob") and r["roleGrants"][0].update(users=["alice"]), "  - user bob"),
    (
        "grant",
        lambda r: r["roleGrants"][0].update(users=["alice"]),
        "  - role broker/read-token granted to user bob",
    ),
    ("group grant", lambda r: r["roleGrants"].pop(1), "  - role reader granted to group staff"),
    (
        "idp mapper",
        lambda r: r["identityProviders"]["azure"].pop("mappers"),
        "  - mapper 'tenant' of identity provider azure",
    ),
    (
        "scope mapping",
        lambda r: r["clientScopes"]["broker_read_token"].pop("roleScope"),
        "  - role broker/read-token in the scope of client scope broker_read_token",
    ),
    (
        "client scope link",
        lambda r: r["clients"]["my-app"].pop("defaultClientScopes"),
        "  - client scope broker_read_token on client my-app",
    ),
    ("membership", lambda r: r["users"]["alice"].pop("groups"), "  - user alice in group staff"),
    (
        "realm scope",
        lambda r: r.pop("optionalClientScopes"),
        "  - realm client scope broker_read_token (default/optional)",
    ),
    ("client role", lambda r: r["clients"]["my-app"].pop("roles"), "  - client role my-app/viewer"),
]


@pytest.mark.parametrize("what,edit,expected", REMOVALS, ids=[e[0] for e in REMOVALS])
def test_a_removed_owned_object_is_deleted(
    world: World, what: str, edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    world.apply()
    edit(world.r)
    plan = world.plan()
    assert plan.code == 2, plan.all
    assert expected in plan.out, f"{what}: missing {expected!r} in\n{plan.out}"
    world.apply()
    assert world.plan().code == 0


def test_removing_the_idp_deletes_it_and_its_mapper(world: World) -> None:
    world.apply()
    world.r.pop("identityProviders")
    plan = world.plan()
    assert "  - identity provider azure" in plan.out
    world.apply()
    assert world.admin.call("GET", f"admin/realms/{world.realm}/identity-provider/instances/azure").status_code == 404


def test_unowned_objects_are_adopted_when_declared_and_never_deleted(world: World) -> None:
    world.apply()
    # Made by hand, outside realmctl.
    world.admin.post(f"admin/realms/{world.realm}/client-scopes", {"name": "handmade", "protocol": "openid-connect"})
    world.admin.post(f"admin/realms/{world.realm}/clients", {"clientId": "legacy-app", "publicClient": True})
    world.admin.post(f"admin/realms/{world.realm}/users", {"username": "carol", "enabled": True})
    # Adopt the hand-made client: declared, so its declared field is managed...
    world.r["clients"]["legacy-app"] = {"description": "adopted"}
    plan = world.plan()
    assert "  ~ client legacy-app" in plan.out and "  + client legacy-app" not in plan.out
    world.apply()
    assert world.admin.client(world.realm, "legacy-app")["description"] == "adopted"  # type: ignore[index]
    # ...and when it leaves the spec it is left alone, like the other hand-made objects.
    world.r["clients"].pop("legacy-app")
    plan = world.plan()
    assert plan.code == 0, plan.out
    assert "handmade" not in plan.out and "carol" not in plan.out
    assert world.admin.client(world.realm, "legacy-app") is not None


def test_a_grant_that_existed_before_is_not_revoked_when_it_leaves_the_spec(world: World) -> None:
    world.r["roleGrants"] = []
    world.apply()
    # The role was granted by hand; then the spec declares it too, then drops it again.
    alice = world.get("users", username="alice", exact="true")[0]
    broker = world.admin.client(world.realm, "broker")
    assert broker is not None
    role = world.admin.get(f"admin/realms/{world.realm}/clients/{broker['id']}/roles/read-token")
    world.admin.post(f"admin/realms/{world.realm}/users/{alice['id']}/role-mappings/clients/{broker['id']}", [role])
    world.r["roleGrants"] = [{"users": ["alice"], "clientRoles": {"broker": ["read-token"]}}]
    assert world.plan().code == 0
    world.r["roleGrants"] = []
    assert world.plan().code == 0


def test_grant_to_an_unknown_user_is_a_plan_error_naming_the_user(world: World) -> None:
    world.r["roleGrants"][0]["users"] = ["alice", "zed"]
    result = world.plan()
    assert result.code == 1
    assert "role grant names user 'zed'" in result.err
    assert "spec.yaml:" in result.err


def test_a_group_or_realm_role_neither_declared_nor_on_the_server_is_a_plan_error(world: World) -> None:
    """Found by applying the spec with a section removed: such a membership, grant or role scope
    used to fail halfway through apply, after the realm and its first objects were written."""
    world.r["groups"].remove("staff")  # alice joins staff; a grant gives staff `reader`
    world.r["roles"] = [r for r in world.r["roles"] if r != "reader"]
    result = world.cmd("apply", "--yes")
    assert result.code == 1, result.all
    assert "user 'alice' in realm" in result.err and "joins group 'staff', which is neither declared" in result.err
    assert "role grant names group 'staff'" in result.err
    assert "names realm role 'reader'" in result.err and "spec.yaml:" in result.err
    assert world.admin.call("GET", f"admin/realms/{world.realm}").status_code == 404, "nothing may be applied"


def test_an_undeclared_group_that_exists_on_the_server_is_used(world: World) -> None:
    """A group made by hand (not realmctl's) may be joined and granted without being declared."""
    world.r["groups"].remove("staff")
    assert world.admin.call("POST", "admin/realms", {"realm": world.realm, "enabled": True}).status_code == 201
    assert world.admin.call("POST", f"admin/realms/{world.realm}/groups", {"name": "staff"}).status_code == 201
    world.apply()
    staff = world.get("groups", search="staff", exact="true")[0]
    assert [m["username"] for m in world.get(f"groups/{staff['id']}/members")] == ["alice"]
    assert world.plan().code == 0


def test_mass_delete_needs_the_flag(world: World) -> None:
    names = [f"extra{i}" for i in range(12)]
    world.r["groups"] = ["staff", *names]
    world.apply()
    world.r["groups"] = ["staff"]
    result = world.plan()
    assert result.code == 1 and "--allow-mass-delete" in result.err
    assert world.cmd("plan", "--allow-mass-delete").code == 0


def test_plan_formats(world: World) -> None:
    import json

    as_json = json.loads(world.cmd("plan", "--format", "json").out)
    assert as_json["format"] == "realmctl.plan" and as_json["version"] == 1
    assert as_json["summary"] == {"add": 19, "change": 1, "delete": 0}
    secret_fields = [f for c in as_json["changes"] for f in c["fields"] if f.get("sensitive")]
    assert {f["field"] for f in secret_fields} >= {"secret", "config.clientSecret", "initialPassword"}
    assert all("new" not in f for f in secret_fields)
    md = world.cmd("plan", "--format", "markdown").out
    assert "**Plan: 19 to add, 1 to change, 0 to delete.**" in md
    assert "| + | client my-app |" in md


def test_plan_file_applies_exactly_and_refuses_when_stale(world: World, tmp_path: Path) -> None:
    plan_file = str(tmp_path / "plan.json")
    assert world.cmd("plan", "--out", plan_file).code == 0
    assert CANARY not in Path(plan_file).read_text()
    applied = realmctl("apply", plan_file, env=world.env)
    assert applied.code == 0, applied.all
    assert world.plan().code == 0
    # A plan made before a change on the server is refused before any write.
    world.r["users"]["bob"]["email"] = "b@example.com"
    assert world.cmd("plan", "--out", plan_file).code == 0
    world.admin.post(f"admin/realms/{world.realm}/groups", {"name": "sneaky"})
    bob = world.get("users", username="bob", exact="true")[0]
    world.admin.put(f"admin/realms/{world.realm}/users/{bob['id']}", {**bob, "firstName": "Robert"})
    world.admin.put(f"admin/realms/{world.realm}/users/{bob['id']}", {**bob, "email": "other@example.com"})
    stale = realmctl("apply", plan_file, env=world.env)
    assert stale.code == 1 and "changed since this plan was made" in stale.err


def test_apply_without_a_terminal_needs_yes(world: World) -> None:
    result = world.cmd("apply")
    assert result.code == 1 and "--yes" in result.err
    assert world.admin.call("GET", f"admin/realms/{world.realm}").status_code == 404


def test_canary_never_appears_at_the_highest_verbosity(world: World, tmp_path: Path) -> None:
    for args in (("plan", "-vv"), ("apply", "--yes", "-vv"), ("plan", "-vv", "--format", "json")):
        result = world.cmd(*args)  # World.cmd asserts the canary is absent
        assert result.code == 0, result.all


def test_apply_json_reports_what_was_applied_and_convergence(world: World) -> None:
    import json

    result = world.cmd("apply", "--yes", "--format", "json")
    assert result.code == 0, result.all
    body = json.loads(result.out)
    assert (body["format"], body["version"], body["converged"]) == ("realmctl.apply", 1, True)
    assert len(body["applied"]) == 20 and body["failed"] == [] and body["notApplied"] == []
    assert {"action": "create", "realm": world.realm, "kind": "client", "key": ["my-app"]} in body["applied"]
    again = json.loads(world.cmd("apply", "--yes", "--format", "json").out)
    assert again["applied"] == [] and again["converged"] is True


def test_secrets_anywhere_the_spec_marks_them_are_masked_in_every_output(world: World, tmp_path: Path) -> None:
    """Not only the fields a kind knows: a misspelt key, an attribute or a mapper config key."""
    canary = CANARY + "-elsewhere"
    world.env["ELSEWHERE"] = canary
    world.r["identityProviders"]["azure"]["config"]["clientSecrte"] = "${env:ELSEWHERE}"
    world.r["clients"]["my-app"]["attributes"] = {"apiPassword": "${env:ELSEWHERE}"}
    world.r["clientScopes"]["broker_read_token"]["mappers"]["broker roles"]["config"] = {"x.secret": "${env:ELSEWHERE}"}
    plan_file = str(tmp_path / "plan.json")
    for args in (
        ("plan",),
        ("plan", "--format", "json"),
        ("plan", "--format", "markdown"),
        ("plan", "--out", plan_file),
    ):
        result = world.cmd(*args)
        assert canary not in result.all and CANARY not in result.all, args
    assert canary not in Path(plan_file).read_text()
    text = world.cmd("plan").out
    assert "config.clientSecrte: (sensitive)" in text and "attributes.apiPassword: (sensitive)" in text
    assert "config[x.secret]: (sensitive)" in text
    world.apply()
    world.env["ELSEWHERE"] = canary + "-2"
    changed = world.cmd("plan")
    assert "(sensitive) (changed)" in changed.out and canary not in changed.all


def test_mixed_case_email_converges(world: World) -> None:
    world.r["users"]["bob"]["email"] = "Bob.Builder@Example.COM"
    world.apply()
    assert world.plan().code == 0


def test_usernames_differing_only_in_case_are_one_user_and_a_plan_error(world: World) -> None:
    world.r["users"]["ALICE"] = {"email": "other@example.com"}
    result = world.plan()
    assert result.code == 1 and "are the same user" in result.err


def test_a_bad_sandbox_import_is_one_sentence(world: World, tmp_path: Path) -> None:
    bad = tmp_path / "export.json"
    bad.write_text("not json")
    world.path.write_text(yaml.safe_dump(world.spec))
    result = realmctl("plan", "--sandbox-import", str(bad), str(world.path), env=world.env)
    assert result.code == 1 and "Traceback" not in result.all
    assert f"cannot start the sandbox: cannot import {bad}: not a JSON realm file" in result.err


def test_an_owned_user_is_known_without_its_attribute_marker(world: World) -> None:
    """Keycloak 24+ discards unknown user attributes by default: ownership must not depend on one."""
    world.apply()
    bob = world.get("users", username="bob", exact="true")[0]
    world.admin.put(f"admin/realms/{world.realm}/users/{bob['id']}", {**bob, "attributes": {}})
    world.r["users"].pop("bob")
    world.r["roleGrants"][0]["users"] = ["alice"]
    plan = world.plan()
    assert "  - user bob" in plan.out, plan.out
    world.apply()
    assert world.get("users", username="bob", exact="true") == []
