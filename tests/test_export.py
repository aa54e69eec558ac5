"""`realmctl export`: a realm configured by hand, exported, then planned against itself.

The realm is set up with raw admin calls (no realmctl), as a team adopting realmctl would have it.
Runs against the sandbox by default and against a real Keycloak when REALMCTL_TEST_URL is set.
"""

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest
import yaml

from realmctl.errors import RealmctlError
from realmctl.export import DEFAULT_KINDS, KINDS, env_name, friendly_mapper, parse_kinds, schema_beside, schema_ref
from tests.helpers import Admin, Result, env_for, realmctl, unique

CANARY = "canary-7d3b91e4-secret"
SECRET_VAR_SUFFIX = "_AZURE_CLIENT_SECRET"


def _id(response: Any) -> str:
    return str(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


class HandMade:
    """A realm using every kind realmctl exports, made with raw admin calls only."""

    def __init__(self, keycloak: Any, tmp_path: Path) -> None:
        self.admin = Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)
        self.realm = unique("export")
        self.tmp = tmp_path
        self.env = env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password)
        self.secret_var = env_name(self.realm) + SECRET_VAR_SUFFIX

    def path(self, rest: str) -> str:
        return f"admin/realms/{self.realm}/{rest}"

    def role(self, container_path: str, name: str) -> dict[str, Any]:
        role: dict[str, Any] = self.admin.get(self.path(f"{container_path}/{name}"))
        return role

    def build(self) -> None:
        a, p = self.admin, self.path
        a.post("admin/realms", {"realm": self.realm, "enabled": True, "displayName": "Hand made"})
        broker = a.client(self.realm, "broker")
        realm_management = a.client(self.realm, "realm-management")
        assert broker and realm_management
        read_token = self.role(f"clients/{broker['id']}/roles", "read-token")
        a.post(p("roles"), {"name": "reader", "description": "Reads things"})
        reader = self.role("roles", "reader")

        scope = _id(
            a.post(
                p("client-scopes"),
                {
                    "name": "broker_read_token",
                    "protocol": "openid-connect",
                    "attributes": {"include.in.token.scope": "true"},
                },
            )
        )
        # A User Client Role mapper for broker as the admin console writes it (every switch set)...
        switches = {
            "access.token.claim": "true",
            "id.token.claim": "false",
            "userinfo.token.claim": "false",
            "introspection.token.claim": "true",
            "lightweight.claim": "false",
        }
        a.post(
            p(f"client-scopes/{scope}/protocol-mappers/models"),
            {
                "name": "broker roles",
                "protocol": "openid-connect",
                "protocolMapper": "oidc-usermodel-client-role-mapper",
                "config": {
                    "usermodel.clientRoleMapping.clientId": "broker",
                    "claim.name": "resource_access.${client_id}.roles",
                    "jsonType.label": "String",
                    "multivalued": "true",
                    **switches,
                },
            },
        )
        # ...and one the friendly form cannot reproduce (no switches at all): exported raw.
        a.post(
            p(f"client-scopes/{scope}/protocol-mappers/models"),
            {
                "name": "tenant claim",
                "protocol": "openid-connect",
                "protocolMapper": "oidc-hardcoded-claim-mapper",
                "config": {"claim.name": "tenant", "claim.value": "contoso"},
            },
        )
        a.post(p(f"client-scopes/{scope}/scope-mappings/clients/{broker['id']}"), [read_token])
        a.put(p(f"default-default-client-scopes/{scope}"), None)

        app = _id(
            a.post(
                p("clients"),
                {
                    "clientId": "my-app",
                    "publicClient": False,
                    "secret": CANARY + "-client",
                    "directAccessGrantsEnabled": True,
                    "serviceAccountsEnabled": True,
                    "fullScopeAllowed": False,
                },
            )
        )
        a.put(p(f"clients/{app}/default-client-scopes/{scope}"), None)
        a.post(p(f"clients/{app}/roles"), {"name": "viewer"})
        a.post(p(f"clients/{app}/scope-mappings/realm"), [reader])
        account = a.get(p(f"clients/{app}/service-account-user"))
        view_users = self.role(f"clients/{realm_management['id']}/roles", "view-users")
        a.post(p(f"users/{account['id']}/role-mappings/clients/{realm_management['id']}"), [view_users])

        a.post(
            p("identity-provider/instances"),
            {
                "alias": "azure",
                "providerId": "oidc",
                "enabled": True,
                "storeToken": True,
                "addReadTokenRoleOnCreate": True,
                "config": {
                    "clientId": "app-registration",
                    "clientSecret": CANARY + "-idp",
                    "authorizationUrl": "https://idp.example.com/auth",
                    "tokenUrl": "https://idp.example.com/token",
                },
            },
        )
        a.post(
            p("identity-provider/instances/azure/mappers"),
            {
                "name": "tenant",
                "identityProviderAlias": "azure",
                "identityProviderMapper": "hardcoded-attribute-idp-mapper",
                "config": {"attribute": "tenant", "attribute.value": "contoso", "syncMode": "INHERIT"},
            },
        )

        group = _id(a.post(p("groups"), {"name": "staff"}))
        a.post(p(f"groups/{group}/role-mappings/realm"), [reader])
        user = _id(a.post(p("users"), {"username": "alice", "email": "alice@example.com", "enabled": True}))
        a.put(p(f"users/{user}/groups/{group}"), None)
        a.post(p(f"users/{user}/role-mappings/clients/{broker['id']}"), [read_token])

    def run(self, *args: str, **env: str) -> Result:
        result = realmctl(*args, env={**self.env, **env})
        assert CANARY not in result.all, "a secret leaked into the output"
        return result


def modeline_schema(text: str) -> str:
    """The schema the editor modeline on the first line names."""
    first = text.splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema="), first
    return first.split("$schema=", 1)[1]


@pytest.fixture
def hand(keycloak: Any, tmp_path: Path) -> HandMade:
    return HandMade(keycloak, tmp_path)


def test_export_of_a_hand_made_realm_plans_only_the_unknowable_idp_secret(hand: HandMade) -> None:
    hand.build()
    out = hand.tmp / "exported.yaml"
    result = hand.run("export", "--realm", hand.realm, "--kinds", "+users", "--out", str(out))
    assert result.code == 0, result.all
    text = out.read_text()
    assert CANARY not in text
    schema = out.parent / modeline_schema(text)  # outside a checkout: written beside the spec
    assert schema.is_file() and schema.read_text() == realmctl("schema").out, text.splitlines()[0]
    assert f"wrote {schema}" in result.err
    assert hand.secret_var in result.err, "the secret's variable name must be printed on stderr"
    assert "(sensitive) change" in result.err, "stderr must say why the first plan is not empty"

    realm = yaml.safe_load(text)["realms"][hand.realm]
    assert realm["displayName"] == "Hand made"
    scope = realm["clientScopes"]["broker_read_token"]
    assert scope["includeInTokenScope"] is True
    assert scope["mappers"]["broker roles"] == {"type": "user-client-role", "client": "broker"}
    assert scope["mappers"]["tenant claim"]["protocolMapper"] == "oidc-hardcoded-claim-mapper"
    assert scope["roleScope"] == {"clients": {"broker": ["read-token"]}}
    assert realm["defaultClientScopes"] == ["broker_read_token"]
    app = realm["clients"]["my-app"]
    assert "secret" not in app
    assert "broker_read_token" in app["defaultClientScopes"] and "profile" in app["defaultClientScopes"]
    assert app["roles"] == ["viewer"] and app["roleScope"] == {"realm": ["reader"]}
    idp = realm["identityProviders"]["azure"]
    assert idp["storeToken"] is True and idp["storedTokensReadable"] is True
    assert idp["config"]["clientSecret"] == f"${{env:{hand.secret_var}}}"
    assert idp["mappers"]["tenant"]["syncMode"] == "INHERIT"
    assert realm["roles"] == {"reader": {"description": "Reads things"}}
    assert realm["groups"] == ["staff"]
    assert realm["users"]["alice"]["groups"] == ["staff"]
    assert {"users": ["alice"], "clientRoles": {"broker": ["read-token"]}} in realm["roleGrants"]
    assert {"groups": ["staff"], "realmRoles": ["reader"]} in realm["roleGrants"]
    assert {"serviceAccounts": ["my-app"], "clientRoles": {"realm-management": ["view-users"]}} in realm["roleGrants"]

    assert hand.run("validate", str(out), **{hand.secret_var: CANARY + "-idp"}).code == 0

    # Keycloak masks the IdP secret and realmctl has no fingerprint of it yet: the one honest change,
    # sending it, and with it the realm's secrets digest in realmctl's record (never shown).
    plan = hand.run("plan", "--detailed-exitcode", "--format", "json", str(out), **{hand.secret_var: CANARY + "-idp"})
    assert plan.code == 2, plan.all
    assert CANARY not in plan.all
    changes = json.loads(plan.out)["changes"]
    fields = [[{k: v for k, v in f.items() if k != "source"} for f in c["fields"]] for c in changes]
    assert [(c["action"], c["kind"], c["key"], f) for c, f in zip(changes, fields, strict=True)] == [
        ("update", "identity-provider", ["azure"], [{"field": "config.clientSecret", "sensitive": True}]),
        (
            "update",
            "ownership-record",
            [hand.realm],
            [{"field": "realmctl.fingerprint.idp-secrets", "sensitive": True}],
        ),
    ]
    assert hand.run("apply", "--yes", str(out), **{hand.secret_var: CANARY + "-idp"}).code == 0
    again = hand.run("plan", "--detailed-exitcode", str(out), **{hand.secret_var: CANARY + "-idp"})
    assert again.code == 0, again.all

    # Now realmctl holds a fingerprint of the secret: a new export plans nothing at all.
    second = hand.tmp / "second.yaml"
    result = hand.run("export", "--realm", hand.realm, "--kinds", "+users", "--out", str(second))
    assert result.code == 0 and "fingerprint realmctl stored" in result.err, result.all
    assert yaml.safe_load(second.read_text()) == yaml.safe_load(text), "apply must not change what is exported"
    final = hand.run("plan", "--detailed-exitcode", str(second), **{hand.secret_var: CANARY + "-idp"})
    assert final.code == 0, final.all


def test_export_without_users_kind_leaves_users_and_their_grants_out(hand: HandMade) -> None:
    hand.build()
    result = hand.run("export", "--realm", hand.realm, "--format", "json")
    assert result.code == 0, result.all
    body = json.loads(result.out)
    assert body["format"] == "realmctl.export" and body["version"] == 1
    assert body["secrets"] == [hand.secret_var]
    realm = body["spec"]["realms"][hand.realm]
    assert "users" not in realm
    assert all("users" not in grant for grant in realm["roleGrants"])
    assert realm["clientScopes"]["broker_read_token"]["mappers"]["tenant claim"]["config"]["claim.name"] == "tenant"


def test_users_kind_alone_keeps_memberships_and_several_realms_share_one_spec(hand: HandMade) -> None:
    hand.build()
    other = unique("export")
    hand.admin.post("admin/realms", {"realm": other, "enabled": False})
    result = hand.run("export", "--realm", hand.realm, "--realm", other, "--kinds", "users")
    assert result.code == 0, result.all
    realms = yaml.safe_load(result.out)["realms"]
    assert realms[hand.realm] == {
        "users": {"alice": {"email": "alice@example.com", "enabled": True, "emailVerified": False, "groups": ["staff"]}}
    }
    assert realms[other] == {}


@pytest.mark.sandbox_only
def test_export_never_writes(hand: HandMade) -> None:
    hand.build()
    hand.admin.reset_requests()
    assert hand.run("export", "--realm", hand.realm, "--kinds", "all").code == 0
    log = hand.admin.requests()["log"]
    assert any(e["method"] == "GET" for e in log)
    writes = [e for e in log if e["method"] != "GET" and "/protocol/openid-connect/token" not in e["path"]]
    assert writes == []


def test_export_of_a_fresh_realm_declares_no_object_and_plans_nothing(hand: HandMade) -> None:
    hand.admin.post("admin/realms", {"realm": hand.realm, "enabled": True})
    out = hand.tmp / "fresh.yaml"
    result = hand.run("export", "--realm", hand.realm, "--out", str(out))
    assert result.code == 0, result.all
    assert f"wrote {out} (0 objects)" in result.err
    assert yaml.safe_load(out.read_text()) == {"version": 1, "realms": {hand.realm: {"enabled": True}}}
    validate = hand.run("validate", "--format", "json", str(out))
    assert validate.code == 0, validate.all
    assert json.loads(validate.out)["summary"]["objects"] == 0
    assert hand.run("plan", "--detailed-exitcode", str(out)).code == 0


def test_export_with_builtins_of_a_fresh_realm_plans_nothing(hand: HandMade) -> None:
    hand.admin.post("admin/realms", {"realm": hand.realm, "enabled": True})
    out = hand.tmp / "builtins.yaml"
    result = hand.run("export", "--realm", hand.realm, "--include-builtins", "--out", str(out))
    assert result.code == 0, result.all
    realm = yaml.safe_load(out.read_text())["realms"][hand.realm]
    assert {"broker", "account", "realm-management"} <= set(realm["clients"])
    assert "profile" in realm["clientScopes"] and "offline_access" in realm["roles"]
    # Keycloak's own `${...}` texts are escaped (`$${`), so interpolation gives them back unchanged
    # and the plan below is empty.
    assert realm["clients"]["broker"]["name"] == "$${client_broker}"
    assert hand.run("validate", str(out)).code == 0
    plan = hand.run("plan", "--detailed-exitcode", str(out))
    assert plan.code == 0, plan.all


def test_export_converts_a_keycloak_realm_export_file_offline(hand: HandMade) -> None:
    """`--sandbox-import`: a realm export JSON in, a spec out, no server of one's own needed."""
    hand.build()
    response = hand.admin.call(
        "POST", f"admin/realms/{hand.realm}/partial-export", None, exportClients="true", exportGroupsAndRoles="true"
    )
    response.raise_for_status()
    exported = hand.tmp / "realm-export.json"
    exported.write_text(response.text)
    result = hand.run("export", "--sandbox-import", str(exported), "--realm", hand.realm)
    assert result.code == 0, result.all
    realm = yaml.safe_load(result.out)["realms"][hand.realm]
    assert realm["clientScopes"]["broker_read_token"]["mappers"]["broker roles"]["client"] == "broker"
    assert realm["identityProviders"]["azure"]["config"]["clientSecret"] == f"${{env:{hand.secret_var}}}"
    assert {"groups": ["staff"], "realmRoles": ["reader"]} in realm["roleGrants"]
    schema = modeline_schema(result.out)  # stdout: the installed package's schema, by file URI
    assert schema.startswith("file:///") and Path(url2pathname(urlsplit(schema).path)).is_file(), schema


def test_export_of_a_missing_realm_fails_with_its_name(hand: HandMade) -> None:
    result = hand.run("export", "--realm", hand.realm)
    assert result.code == 1
    assert f"realm {hand.realm!r} does not exist" in result.err


def test_export_runs_against_a_sandbox_started_for_it() -> None:
    result = realmctl("export", "--sandbox", "--realm", "master")
    assert result.code == 0, result.all
    assert yaml.safe_load(result.out)["realms"]["master"]["enabled"] is True


def test_kinds_option() -> None:
    assert parse_kinds(None) == DEFAULT_KINDS and "users" not in DEFAULT_KINDS
    assert parse_kinds("+users") == DEFAULT_KINDS | {"users"}
    assert parse_kinds("users,groups") == {"users", "groups"}
    assert parse_kinds("all") == set(KINDS)
    with pytest.raises(RealmctlError, match="unknown kind 'user'"):
        parse_kinds("user")
    assert realmctl("export", "--sandbox", "--realm", "master", "--kinds", "nope").code == 1


def test_env_names_are_valid_variables() -> None:
    assert env_name("apps", "azure", "clientSecret") == "APPS_AZURE_CLIENT_SECRET"
    assert env_name("my-realm", "entra id", "client.secret") == "MY_REALM_ENTRA_ID_CLIENT_SECRET"
    assert env_name("1st", "x") == "_1ST_X"


def test_mapper_friendly_only_when_exact() -> None:
    full = {
        "access.token.claim": "true",
        "id.token.claim": "true",
        "userinfo.token.claim": "false",
        "introspection.token.claim": "true",
        "lightweight.claim": "false",
        "claim.name": "realm_access.roles",
        "jsonType.label": "String",
        "multivalued": "true",
        "user.attribute": "foo",
    }
    mapper = {"protocol": "openid-connect", "protocolMapper": "oidc-usermodel-realm-role-mapper", "config": full}
    assert friendly_mapper(mapper, "openid-connect") == {
        "type": "user-realm-role",
        "idToken": True,
        "config": {"user.attribute": "foo"},
    }
    partial = {**mapper, "config": {"claim.name": "realm_access.roles"}}
    assert friendly_mapper(partial, "openid-connect") == {
        "protocolMapper": "oidc-usermodel-realm-role-mapper",
        "config": {"claim.name": "realm_access.roles"},
    }


def test_schema_ref_inside_a_checkout_is_a_relative_path_that_resolves(tmp_path: Path) -> None:
    inside = Path(__file__).parent / "no-such-dir" / "spec.yaml"  # never written
    ref = schema_ref(str(inside))
    assert not ref.startswith(("http", "/")) and (inside.parent / ref).resolve().is_file(), ref
    assert schema_beside(str(inside)) is None  # the checkout's schema is used, nothing written
    assert schema_beside(str(tmp_path / "spec.yaml")) == tmp_path / "realmctl.schema.json"
