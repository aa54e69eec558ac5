"""A corpus of broken configurations, one per failure mode `realmctl check` knows.

For each case: the broken spec is applied (plus, where the failure lives on the server rather than
in the spec, the server-side step that produces it); `check` must report the case's rule;
`check --probe` must fail at the step that rule predicts, confirmed by the sandbox's real token,
broker and exchange endpoints; then the fix is applied and `check` must be clean and every probe
succeed. `check` itself must send no write.
"""

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import Admin, Result, env_for, realmctl, unique

pytestmark = pytest.mark.sandbox_only  # brokered logins go through the sandbox's /sandbox/ endpoint

Spec = dict[str, Any]
Step = Callable[["World"], None]


def stored_tokens(realm: str) -> Spec:
    """A working stored-token chain: the base every broker case breaks one link of."""
    return {
        "version": 1,
        "realms": {
            realm: {
                "identityProviders": {
                    "azure": {
                        "providerId": "oidc",
                        "storeToken": True,
                        "storedTokensReadable": True,
                        "config": {
                            "clientId": "app-registration",
                            "clientSecret": "upstream-secret",
                            "authorizationUrl": "https://login.example/authorize",
                            "tokenUrl": "https://login.example/token",
                            "defaultScope": "openid offline_access",
                        },
                    }
                },
                "clientScopes": {
                    "broker_read_token": {
                        "mappers": {"broker roles": {"type": "user-client-role", "client": "broker"}},
                        "roleScope": {"clients": {"broker": ["read-token"]}},
                    }
                },
                "clients": {
                    "my-app": {
                        "publicClient": False,
                        "secret": "my-app-secret",
                        "directAccessGrants": True,
                        "defaultClientScopes": ["broker_read_token"],
                    }
                },
                "users": {
                    "alice": {
                        "email": "alice@example.com",
                        "firstName": "Alice",
                        "lastName": "A",
                        "initialPassword": "alice-pw",
                    }
                },
                "roleGrants": [{"users": ["alice"], "clientRoles": {"broker": ["read-token"]}}],
            }
        },
    }


def exchange(a: str, b: str) -> Spec:
    """A working cross-realm exchange (legacy-exchange profile)."""
    return {
        "version": 1,
        "realms": {
            b: {
                "clients": {
                    "realm-b-client": {"publicClient": False, "secret": "b-secret", "directAccessGrants": True}
                },
                "users": {
                    "carol": {
                        "email": "carol@example.com",
                        "firstName": "Carol",
                        "lastName": "C",
                        "initialPassword": "carol-pw",
                    }
                },
            },
            a: {
                "clients": {"realm-a-client": {"publicClient": False, "secret": "a-secret"}},
                "tokenExchange": {
                    "from-b": {
                        "source": {"realm": b, "client": "realm-b-client"},
                        "identityProvider": "realm-b",
                        "clients": ["realm-a-client"],
                    }
                },
            },
        },
    }


@dataclass
class World:
    server: Any
    tmp: Path
    realm: str = field(default_factory=lambda: unique("chk"))
    source: str = field(default_factory=lambda: unique("src"))
    spec: Spec = field(default_factory=dict)

    @property
    def admin(self) -> Admin:
        return Admin(self.server.url, self.server.admin_user, self.server.admin_password)

    @property
    def r(self) -> Spec:
        realm: Spec = self.spec["realms"][self.realm]
        return realm

    def run(self, *args: str, user: str = "alice", password: str = "alice-pw") -> Result:
        path = self.tmp / "spec.yaml"
        path.write_text(yaml.safe_dump(self.spec, sort_keys=False))
        env = env_for(
            self.server.url,
            self.server.admin_user,
            self.server.admin_password,
            REALMCTL_PROBE_USER=user,
            REALMCTL_PROBE_PASSWORD=password,
        )
        return realmctl(*args, str(path), env=env)

    def apply(self) -> None:
        result = self.run("apply", "--yes", "-q")
        assert result.code == 0, result.all

    def base(self, path: str) -> str:
        return f"admin/realms/{self.realm}/{path}"


# -- server-side steps -------------------------------------------------------------------------


def login(w: World) -> None:
    """alice logs in through azure (the sandbox's simulated brokered login): links and stores."""
    body = {"username": "alice", "subject": "alice-oid", "token": {"access_token": "upstream", "token_type": "Bearer"}}
    w.admin.post(f"sandbox/realms/{w.realm}/broker/azure/login", body)


def detach_roles_scope(w: World) -> None:
    """my-app without the built-in `roles` scope, so only the spec's mapper could emit broker roles."""
    client = w.admin.client(w.realm, "my-app")
    assert client is not None
    scope = next(s for s in w.admin.get(w.base("client-scopes")) if s["name"] == "roles")
    w.admin.call("DELETE", w.base(f"clients/{client['id']}/default-client-scopes/{scope['id']}"))


def link_before_readable(w: World) -> None:
    """alice's first broker login happens while 'stored tokens readable' is still off."""
    w.r["identityProviders"]["azure"]["storedTokensReadable"] = False
    w.apply()
    login(w)
    w.r["identityProviders"]["azure"]["storedTokensReadable"] = True


def detach_policies(w: World) -> None:
    """Someone empties the IdP's token-exchange permission."""
    rm = w.admin.client(w.realm, "realm-management")
    assert rm is not None
    authz = w.base(f"clients/{rm['id']}/authz/resource-server")
    ref = w.admin.get(w.base("identity-provider/instances/realm-b/management/permissions"))
    permission = ref["scopePermissions"]["token-exchange"]
    current = w.admin.get(f"{authz}/permission/scope/{permission}")
    w.admin.put(f"{authz}/permission/scope/{permission}", {**current, "policies": []})


def policy_names_another_client(w: World) -> None:
    """Someone edits realmctl's policy to name a different client."""
    rm = w.admin.client(w.realm, "realm-management")
    assert rm is not None
    authz = w.base(f"clients/{rm['id']}/authz/resource-server")
    w.admin.post(w.base("clients"), {"clientId": "intruder", "publicClient": False})
    policy = w.admin.get(f"{authz}/policy/search", name="realmctl-exchange-from-b")
    body = {
        "id": policy["id"],
        "name": policy["name"],
        "description": policy.get("description", ""),
        "type": "client",
        "logic": "POSITIVE",
        "decisionStrategy": "UNANIMOUS",
        "clients": ["intruder"],
    }
    w.admin.put(f"{authz}/policy/client/{policy['id']}", body)


def without_roles_scope(w: World) -> None:
    """Only the spec's mapper could emit broker roles: the built-in `roles` scope is detached."""
    detach_roles_scope(w)
    login(w)


def nothing(w: World) -> None:
    return None


@dataclass
class Case:
    name: str
    rule: str
    step: str | None  # the probe step the rule predicts to fail (None: check-only, a warning)
    breaks: Callable[[World], None]  # edits w.spec (and may act on the server before apply)
    fix: Callable[[World], None]  # edits w.spec back to working
    after_apply: Step = login  # server-side step after each apply (a brokered login by default)
    before_apply: Step = nothing
    exchange: bool = False


def edit(fn: Callable[[Spec], Any]) -> Callable[[World], None]:
    return lambda w: (fn(w.r), None)[1]


CASES = [
    Case(
        "store-token-off",
        "broker.store-token-off",
        "broker",
        edit(lambda r: r["identityProviders"]["azure"].update(storeToken=False)),
        edit(lambda r: r["identityProviders"]["azure"].update(storeToken=True)),
    ),
    Case(
        "user-lacks-role",
        "broker.user-lacks-role",
        "claims",
        edit(lambda r: (r.update(roleGrants=[]), r["identityProviders"]["azure"].update(storedTokensReadable=False))),
        edit(lambda r: r.update(roleGrants=[{"users": ["alice"], "clientRoles": {"broker": ["read-token"]}}])),
    ),
    Case(
        "linked-before-readable",
        "broker.read-token-only-for-new-users",
        "claims",
        edit(lambda r: r.update(roleGrants=[])),
        edit(lambda r: r["identityProviders"]["azure"].update(grantReadTokenToLinkedUsers=True)),
        after_apply=nothing,
        before_apply=link_before_readable,
    ),
    Case(
        "role-not-in-scope",
        "broker.role-not-in-scope",
        "claims",
        edit(
            lambda r: (
                r["clients"]["my-app"].update(fullScopeAllowed=False),
                r["clientScopes"]["broker_read_token"].pop("roleScope"),
            )
        ),
        edit(
            lambda r: r["clientScopes"]["broker_read_token"].update(roleScope={"clients": {"broker": ["read-token"]}})
        ),
    ),
    Case(
        "no-mapper",
        "broker.no-mapper",
        "claims",
        edit(lambda r: r["clients"]["my-app"].pop("defaultClientScopes")),
        edit(lambda r: r["clients"]["my-app"].update(defaultClientScopes=["broker_read_token"])),
        after_apply=without_roles_scope,
    ),
    Case(
        "scope-only-optional",
        "broker.scope-optional",
        "claims",
        edit(
            lambda r: r["clients"]["my-app"].update(defaultClientScopes=[], optionalClientScopes=["broker_read_token"])
        ),
        edit(
            lambda r: r["clients"]["my-app"].update(defaultClientScopes=["broker_read_token"], optionalClientScopes=[])
        ),
        after_apply=without_roles_scope,
    ),
    Case(
        "custom-claim-name",
        "broker.custom-claim-name",
        "claims",
        edit(
            lambda r: r["clientScopes"]["broker_read_token"]["mappers"]["broker roles"].update(claimName="broker_roles")
        ),
        edit(lambda r: r["clientScopes"]["broker_read_token"]["mappers"]["broker roles"].pop("claimName")),
        after_apply=without_roles_scope,
    ),
    Case(
        "access-claim-off",
        "broker.access-claim-off",
        "claims",
        edit(lambda r: r["clientScopes"]["broker_read_token"]["mappers"]["broker roles"].update(accessToken=False)),
        edit(lambda r: r["clientScopes"]["broker_read_token"]["mappers"]["broker roles"].update(accessToken=True)),
        after_apply=without_roles_scope,
    ),
    Case(
        "lightweight-tokens",
        "broker.lightweight-token",
        "claims",
        edit(lambda r: r["clients"]["my-app"].update(lightweightAccessToken=True)),
        edit(lambda r: r["clientScopes"]["broker_read_token"]["mappers"]["broker roles"].update(lightweight=True)),
    ),
    Case(
        "role-prefix",
        "broker.role-prefix",
        "claims",
        edit(lambda r: r["clientScopes"]["broker_read_token"]["mappers"]["broker roles"].update(rolePrefix="kc_")),
        edit(lambda r: r["clientScopes"]["broker_read_token"]["mappers"]["broker roles"].pop("rolePrefix")),
        after_apply=without_roles_scope,
    ),
    Case(
        "user-not-linked",
        "broker.user-not-linked",
        "broker",
        edit(lambda r: None),
        edit(lambda r: None),
        after_apply=nothing,
    ),
    Case(
        "no-refresh-token",
        "upkeep.no-refresh-token",
        None,
        edit(lambda r: r["identityProviders"]["azure"]["config"].update(defaultScope="openid")),
        edit(lambda r: r["identityProviders"]["azure"]["config"].update(defaultScope="openid offline_access")),
    ),
    Case(
        "account-linking-out-of-scope",
        "upkeep.account-linking-scope",
        None,
        edit(lambda r: r["clients"]["my-app"].update(fullScopeAllowed=False)),
        edit(lambda r: r["clients"]["my-app"].update(roleScope={"clients": {"account": ["manage-account-links"]}})),
    ),
    Case(
        "permission-without-policy",
        "exchange.permission-no-policy",
        "exchange",
        edit(lambda r: None),
        edit(lambda r: None),
        after_apply=nothing,
        exchange=True,
    ),
    Case(
        "requester-not-in-policy",
        "exchange.requester-not-allowed",
        "exchange",
        edit(lambda r: None),
        edit(lambda r: None),
        after_apply=nothing,
        exchange=True,
    ),
    Case(
        "idp-trusts-another-issuer",
        "exchange.idp-issuer",
        "exchange",
        edit(lambda r: r["tokenExchange"]["from-b"].update(publicUrl="https://sso.elsewhere.example")),
        edit(lambda r: r["tokenExchange"]["from-b"].pop("publicUrl")),
        after_apply=nothing,
        exchange=True,
    ),
]
SERVER_BREAKS: dict[str, Step] = {
    "permission-without-policy": detach_policies,
    "requester-not-in-policy": policy_names_another_client,
}


def findings(result: Result) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(result.out)
    return body


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_check_names_the_link_and_the_probe_confirms_it(
    case: Case, keycloak: Any, legacy_keycloak: Any, tmp_path: Path
) -> None:
    w = World(legacy_keycloak if case.exchange else keycloak, tmp_path)
    w.spec = exchange(w.realm, w.source) if case.exchange else stored_tokens(w.realm)
    user, password = ("carol", "carol-pw") if case.exchange else ("alice", "alice-pw")
    case.breaks(w)
    broken = copy.deepcopy(w.spec)
    case.before_apply(w)
    w.spec = broken
    w.apply()
    case.after_apply(w)
    if case.name in SERVER_BREAKS:
        SERVER_BREAKS[case.name](w)

    w.admin.reset_requests()
    checked = w.run("check", "--format", "json", "--probe", user=user, password=password)
    log = w.admin.requests()["log"]
    admin_writes = [e for e in log if e["method"] != "GET" and e["path"].startswith("/admin/")]
    assert admin_writes == [], "check must not write"
    body = findings(checked)
    rules = {f["rule"]: f for f in body["findings"]}
    assert case.rule in rules, f"{case.name}: expected {case.rule}, got {sorted(rules)}"
    assert rules[case.rule]["fix"], "every finding says how to fix it"
    if case.step is None:
        assert all(p["ok"] for p in body["probes"]), body["probes"]
    else:
        failed = [s for p in body["probes"] for s in p["steps"] if not s["ok"]]
        assert failed, f"{case.name}: the probe should fail"
        assert failed[0]["name"] == case.step, failed
        assert any(case.rule in p["explainedBy"] for p in body["probes"]), body["probes"]
    assert checked.code == (3 if rules[case.rule]["severity"] == "error" or case.step else 0), checked.all

    case.fix(w)
    w.apply()
    if case.after_apply is not nothing or case.name == "user-not-linked":
        login(w) if not case.exchange else None
    clean = w.run("check", "--format", "json", "--probe", user=user, password=password)
    body = findings(clean)
    problems = [f for f in body["findings"] if f["severity"] != "info" or f["rule"] == case.rule]
    assert problems == [], problems
    assert all(p["ok"] for p in body["probes"]) and body["probes"], body["probes"]
    assert clean.code == 0, clean.all


def test_the_corpus_covers_at_least_twelve_failure_modes() -> None:
    assert len({c.rule for c in CASES}) >= 12
