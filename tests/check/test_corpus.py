"""A corpus of broken configurations, one per failure mode `realmctl check` knows.

For each case: the broken spec is applied (plus, where the failure lives on the server rather than
in the spec, the server-side step that produces it); `check` must report the case's rule;
`check --probe` must fail at the step that rule predicts, confirmed by the sandbox's real token,
broker and exchange endpoints; then the fix is applied and `check` must be clean and every probe
succeed. `check` itself must send no write.

The same cases run on the sandbox and on a real Keycloak (`pytest --backend keycloak`, or
REALMCTL_TEST_URL): there the brokered login is a real one, through an upstream realm of the same
server and Keycloak's own login pages (tests/brokered_login.py), and the probe's messages are the
real server's. Where a case's fix is `FROM_FINDING`, the fix applied is the finding's own spec
lines, merged into the spec as a user would paste them: it must pass `validate` and, applied, make
the real request succeed.
"""

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.brokered_login import brokered_login
from tests.e2e.conftest import Upstream, make_upstream
from tests.helpers import Admin, Result, env_for, realmctl, unique

REDIRECT = "https://my-app.example/callback"  # never fetched: the login reads the code from the Location

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
                        "standardFlow": True,
                        "redirectUris": [REDIRECT],
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
    env: dict[str, str] = field(default_factory=dict)  # extra env of the next `check` (probe tokens)
    upstream: Upstream | None = None  # the real server's identity provider: a realm of its own

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
            **self.env,
        )
        return realmctl(*args, str(path), env=env)

    def apply(self) -> None:
        result = self.run("apply", "--yes", "-q")
        assert result.code == 0, result.all

    def base(self, path: str) -> str:
        return f"admin/realms/{self.realm}/{path}"

    def token(self, realm: str, host: str | None = None, **form: str) -> str:
        """An access token of alice from `realm`'s token endpoint (at another host name if given)."""
        url = self.server.url if host is None else self.server.url.replace("127.0.0.1", host)
        body = {
            "grant_type": "password",
            "client_id": "my-app",
            "client_secret": "my-app-secret",
            "username": "alice",
            "password": "alice-pw",
        }
        response = requests.post(
            f"{url}/realms/{realm}/protocol/openid-connect/token",
            data={k: v for k, v in {**body, **form}.items() if v},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


# -- server-side steps -------------------------------------------------------------------------


def login(w: World) -> None:
    """alice logs in through azure: links her account and stores the upstream tokens.

    The sandbox simulates the login with its control endpoint; a real Keycloak is walked through its
    login pages, the upstream realm's alice (password alice-up) linking to the app realm's alice.
    """
    if w.upstream is None:
        body = {
            "username": "alice",
            "subject": "alice-oid",
            "token": {"access_token": "upstream", "token_type": "Bearer"},
        }
        w.admin.post(f"sandbox/realms/{w.realm}/broker/azure/login", body)
        return
    brokered_login(
        w.server.url,
        w.realm,
        "my-app",
        "my-app-secret",
        REDIRECT,
        "azure",
        "alice",
        "alice-up",
        link_password="alice-pw",
    )


def admin_link(w: World, username: str) -> None:
    """A user created and linked to azure by an admin (as an import or a migration does): no broker
    login, so Keycloak never granted them broker/read-token."""
    w.admin.post(w.base("users"), {"username": username, "enabled": True})
    uid = w.admin.get(w.base("users"), username=username, exact="true")[0]["id"]
    link = {"identityProvider": "azure", "userId": f"{username}-oid", "userName": username}
    w.admin.post(w.base(f"users/{uid}/federated-identity/azure"), link)


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


def master_token(w: World) -> list[str]:
    """A token of another realm (master's admin-cli), handed to the probe as a token obtained elsewhere."""
    w.env["PROBE_TOKEN"] = w.token(
        "master",
        client_id="admin-cli",
        client_secret="",
        username=w.server.admin_user,
        password=w.server.admin_password,
    )
    return ["--probe-client", "my-app", "--probe-token-env", "PROBE_TOKEN"]


def own_token(w: World) -> list[str]:
    """alice's token from the app realm itself, at the host name check talks to."""
    w.env["PROBE_TOKEN"] = w.token(w.realm)
    return ["--probe-client", "my-app", "--probe-token-env", "PROBE_TOKEN"]


def other_host_token(w: World) -> list[str]:
    """alice's token from the app realm, requested at localhost while check talks to 127.0.0.1."""
    w.env["PROBE_TOKEN"] = w.token(w.realm, host="localhost")
    return ["--probe-client", "my-app", "--probe-token-env", "PROBE_TOKEN"]


def expired_token(w: World) -> list[str]:
    """alice's token from a client whose access tokens live 1 s, presented 2 s later."""
    w.env["PROBE_TOKEN"] = w.token(w.realm)
    time.sleep(2.2)
    return ["--probe-client", "my-app", "--probe-token-env", "PROBE_TOKEN"]


def service_account(w: World) -> list[str]:
    """The backend's way: my-app's own client_credentials token, its secret from an env var."""
    w.env["MY_APP_SECRET"] = "my-app-secret"
    return [
        "--probe-client",
        "my-app",
        "--probe-client-secret-env",
        "MY_APP_SECRET",
        "--probe-grant",
        "client_credentials",
    ]


def request_file(w: World, **fields: str) -> list[str]:
    """The exchange form as the user's caller sends it (no subject_token: the probe fills carol's in)."""
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "client_id": "realm-a-client",
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        **fields,
    }
    path = w.tmp / "request.txt"
    path.write_text("&".join(f"{k}={v}" for k, v in form.items()))
    return ["--probe-request", str(path)]


def client_tab_permission(w: World) -> None:
    """The exchange allowed on realm-a-client's own Permissions tab, and the IdP's permission emptied."""
    detach_policies(w)
    client = w.admin.client(w.realm, "realm-a-client")
    rm = w.admin.client(w.realm, "realm-management")
    assert client is not None and rm is not None
    ref = w.admin.put(w.base(f"clients/{client['id']}/management/permissions"), {"enabled": True}).json()
    authz = w.base(f"clients/{rm['id']}/authz/resource-server")
    w.admin.post(f"{authz}/policy/client", {"name": "tab-policy", "clients": [client["id"]], "logic": "POSITIVE"})
    policy = w.admin.get(f"{authz}/policy/search", name="tab-policy")
    permission = ref["scopePermissions"]["token-exchange"]
    current = w.admin.get(f"{authz}/permission/scope/{permission}")
    w.admin.put(f"{authz}/permission/scope/{permission}", {**current, "policies": [policy["id"]]})


def make_public(w: World) -> None:
    """Someone switches realm-a-client to public in the admin console."""
    client = w.admin.client(w.realm, "realm-a-client")
    assert client is not None
    w.admin.put(w.base(f"clients/{client['id']}"), {**client, "publicClient": True})


def linked_by_admin(w: World) -> None:
    """bob and dave came from the IdP before stored tokens were readable (linked by a migration)."""
    admin_link(w, "bob")
    admin_link(w, "dave")


FROM_FINDING: Callable[[World], None] = lambda w: None  # noqa: E731  (marker: the finding's own fix is applied)


@dataclass
class Case:
    name: str
    rule: str
    step: str | None  # the probe step the rule predicts to fail (None: check-only, a warning)
    breaks: Callable[[World], None]  # edits w.spec (and may act on the server before apply)
    fix: Callable[[World], None]  # edits w.spec back to working (FROM_FINDING: paste the finding's fix)
    says: str = ""  # in the finding's message: Keycloak's own error text where there is one
    answer: str = ""  # in the failed probe step: what the real endpoint answered
    after_apply: Step = login  # server-side step after each apply (a brokered login by default)
    before_apply: Step = nothing
    exchange: bool = False
    probe: Callable[[World], list[str]] = lambda w: []  # the probe options of the broken run
    clean_probe: Callable[[World], list[str]] = lambda w: []  # ... and of the run after the fix


def edit(fn: Callable[[Spec], Any]) -> Callable[[World], None]:
    return lambda w: (fn(w.r), None)[1]


MAPPER = ("clientScopes", "broker_read_token", "mappers", "broker roles")
NOT_AUTHORIZED = "not authorized to retrieve tokens from identity provider [azure]"
NOT_ALLOWED = "Client not allowed to exchange"


def mapper(r: Spec) -> Spec:
    found: Spec = r["clientScopes"]["broker_read_token"]["mappers"]["broker roles"]
    return found


CASES = [
    Case(
        "store-token-off",
        "broker.store-token-off",
        "broker",
        edit(lambda r: r["identityProviders"]["azure"].update(storeToken=False)),
        FROM_FINDING,
        says="does not support this operation",
        answer="does not support this operation",
    ),
    Case(
        "user-lacks-role",
        "broker.user-lacks-role",
        "claims",
        edit(lambda r: (r.update(roleGrants=[]), r["identityProviders"]["azure"].update(storedTokensReadable=False))),
        FROM_FINDING,
        says="does not hold broker/read-token",
        answer=NOT_AUTHORIZED,
    ),
    Case(
        "linked-before-readable",
        "broker.read-token-only-for-new-users",
        "claims",
        edit(lambda r: r.update(roleGrants=[])),
        FROM_FINDING,
        says="only at a user's first broker login",
        answer=NOT_AUTHORIZED,
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
        FROM_FINDING,
        says="fullScopeAllowed=false",
        answer=NOT_AUTHORIZED,
    ),
    Case(
        "no-mapper",
        "broker.no-mapper",
        "claims",
        edit(lambda r: r["clients"]["my-app"].pop("defaultClientScopes")),
        edit(lambda r: r["clients"]["my-app"].update(defaultClientScopes=["broker_read_token"])),
        says="resource_access.broker.roles",
        answer=NOT_AUTHORIZED,
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
        says="only an optional scope",
        answer=NOT_AUTHORIZED,
        after_apply=without_roles_scope,
    ),
    Case(
        "custom-claim-name",
        "broker.custom-claim-name",
        "claims",
        edit(lambda r: mapper(r).update(claimName="broker_roles")),
        FROM_FINDING,
        says="'broker_roles'",
        answer=NOT_AUTHORIZED,
        after_apply=without_roles_scope,
    ),
    Case(
        "access-claim-off",
        "broker.access-claim-off",
        "claims",
        edit(lambda r: mapper(r).update(accessToken=False)),
        FROM_FINDING,
        says="'Add to access token' off",
        answer=NOT_AUTHORIZED,
        after_apply=without_roles_scope,
    ),
    Case(
        "lightweight-tokens",
        "broker.lightweight-token",
        "claims",
        edit(lambda r: r["clients"]["my-app"].update(lightweightAccessToken=True)),
        FROM_FINDING,
        says="mapper 'broker roles' (scope broker_read_token)",  # the user's own mapper, not `roles`
        answer=NOT_AUTHORIZED,
    ),
    Case(
        "lightweight-tokens-builtin-mapper-only",
        "broker.lightweight-token",
        "claims",
        edit(
            lambda r: (
                r["clients"]["my-app"].update(lightweightAccessToken=True),
                r["clients"]["my-app"].pop("defaultClientScopes"),
                r.pop("clientScopes"),
            )
        ),
        FROM_FINDING,  # a scope of the client's own; the built-in `roles` scope is left as it is
        says="(scope roles)",
        answer=NOT_AUTHORIZED,
    ),
    Case(
        "role-prefix",
        "broker.role-prefix",
        "claims",
        edit(lambda r: mapper(r).update(rolePrefix="kc_")),
        FROM_FINDING,
        says="kc_read-token",
        answer=NOT_AUTHORIZED,
        after_apply=without_roles_scope,
    ),
    Case(
        "user-not-linked",
        "broker.user-not-linked",
        "broker",
        edit(lambda r: None),
        edit(lambda r: None),
        says="is not associated with identity provider [azure]",
        answer="is not associated with identity provider [azure]",
        after_apply=nothing,
    ),
    Case(
        "service-account-reads-own-links",
        "broker.service-account-reads-own-links",
        "broker",
        edit(
            lambda r: (
                r["clients"]["my-app"].update(serviceAccounts=True),
                r["roleGrants"].append({"serviceAccounts": ["my-app"], "clientRoles": {"broker": ["read-token"]}}),
            )
        ),
        edit(lambda r: r["roleGrants"].pop()),
        says="is not associated with identity provider [azure]",
        answer="is not associated with identity provider [azure]",
        probe=service_account,
    ),
    Case(
        "token-of-another-realm",
        "probe.token-other-realm",
        "claims",
        edit(lambda r: None),
        edit(lambda r: None),
        says="issued by realm master",
        answer="400 Invalid token.",
        probe=master_token,
        clean_probe=own_token,
    ),
    Case(
        "token-for-another-host-name",
        "probe.token-other-host",
        "claims",
        edit(lambda r: None),
        edit(lambda r: None),
        says="another host name (localhost:",
        answer="400 Invalid token.",
        probe=other_host_token,
        clean_probe=own_token,
    ),
    Case(
        "expired-token",
        "probe.token-expired",
        "claims",
        edit(lambda r: r["clients"]["my-app"].update(attributes={"access.token.lifespan": "1"})),
        edit(lambda r: r["clients"]["my-app"].update(attributes={"access.token.lifespan": "300"})),
        says="the token expired",
        answer="400 Invalid token.",
        probe=expired_token,
        clean_probe=own_token,
    ),
    Case(
        "linked-users-not-in-the-spec",
        "broker.linked-users-without-read-token",
        None,
        edit(lambda r: None),
        FROM_FINDING,  # grantReadTokenToLinkedUsers: apply backfills bob and dave
        says="2 user(s) linked to identity provider azure (bob, dave)",
        after_apply=lambda w: (login(w), linked_by_admin(w))[0],
    ),
    Case(
        "no-refresh-token",
        "upkeep.no-refresh-token",
        None,
        edit(lambda r: r["identityProviders"]["azure"]["config"].update(defaultScope="openid")),
        FROM_FINDING,
        says="offline_access",
    ),
    Case(
        "account-linking-out-of-scope",
        "upkeep.account-linking-scope",
        None,
        edit(lambda r: r["clients"]["my-app"].update(fullScopeAllowed=False)),
        FROM_FINDING,
        says="manage-account-links",
    ),
    Case(
        "permission-without-policy",
        "exchange.permission-no-policy",
        "exchange",
        edit(lambda r: None),
        edit(lambda r: None),
        says=NOT_ALLOWED,
        answer=NOT_ALLOWED,
        after_apply=nothing,
        exchange=True,
    ),
    Case(
        "requester-not-in-policy",
        "exchange.requester-not-allowed",
        "exchange",
        edit(lambda r: None),
        edit(lambda r: None),
        says=NOT_ALLOWED,
        answer=NOT_ALLOWED,
        after_apply=nothing,
        exchange=True,
    ),
    Case(
        "permission-on-the-clients-tab-only",
        "exchange.permission-on-client-only",
        "exchange",
        edit(lambda r: None),
        edit(lambda r: None),  # apply attaches realmctl's policy to the identity provider's permission
        says="governs exchanges that ask for realm-a-client as the audience only",
        answer=NOT_ALLOWED,
        after_apply=nothing,
        exchange=True,
    ),
    Case(
        "idp-trusts-another-issuer",
        "exchange.idp-issuer",
        "exchange",
        edit(lambda r: r["tokenExchange"]["from-b"].update(publicUrl="https://sso.elsewhere.example")),
        edit(lambda r: r["tokenExchange"]["from-b"].pop("publicUrl")),
        says="invalid token",
        answer="400 invalid token",
        after_apply=nothing,
        exchange=True,
    ),
    Case(
        "requester-is-public",
        "exchange.requester-public",
        None,  # Keycloak 26.7 lets a public client exchange (200): a warning, not a broken link
        edit(lambda r: None),  # the spec keeps it confidential: someone flips it in the console
        FROM_FINDING,
        says="anyone holding a realm",
        after_apply=nothing,
        exchange=True,
    ),
    Case(
        "request-without-subject-issuer",
        "probe.request-no-subject-issuer",
        "exchange",
        edit(lambda r: None),
        edit(lambda r: None),
        says="Invalid token",
        answer="400 Invalid token",
        after_apply=nothing,
        exchange=True,
        probe=request_file,
        clean_probe=lambda w: request_file(w, subject_issuer="realm-b"),
    ),
    Case(
        "standard-exchange-takes-the-request",
        "exchange.standard-exchange-on",
        "exchange",
        edit(lambda r: r["clients"]["realm-a-client"].update(standardTokenExchange=True)),
        edit(lambda r: r["clients"]["realm-a-client"].update(standardTokenExchange=False)),
        says='"Invalid token"',
        answer="400 Invalid token",
        after_apply=nothing,
        exchange=True,
        probe=request_file,
        clean_probe=lambda w: request_file(w, subject_issuer="realm-b"),
    ),
]
SERVER_BREAKS: dict[str, Step] = {
    "permission-without-policy": detach_policies,
    "requester-not-in-policy": policy_names_another_client,
    "permission-on-the-clients-tab-only": client_tab_permission,
    "requester-is-public": make_public,
}


def findings(result: Result) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(result.out)
    return body


def paste(spec: Spec, fix: Spec) -> None:
    """Merges a finding's fix into a realm's spec as a user pastes it: mappings merge, a mapper and
    any list are replaced whole."""
    for key, value in fix.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict) and key != "mappers":
            paste(spec[key], value)
        elif key == "mappers" and isinstance(spec.get(key), dict):
            spec[key].update(value)
        else:
            spec[key] = value


def setup(case: Case, request: pytest.FixtureRequest, tmp_path: Path) -> World:
    # Only the server the case needs: a real server without legacy features still runs the broker cases.
    w = World(request.getfixturevalue("legacy_keycloak" if case.exchange else "keycloak"), tmp_path)
    if case.exchange:
        w.spec = exchange(w.realm, w.source)
        return w
    w.spec = stored_tokens(w.realm)
    if not w.server.is_sandbox:  # a real identity provider: an upstream realm of the same server
        w.upstream = make_upstream(w.server, w.realm, "azure")
        w.upstream.add_user("alice", "alice-up", email="alice@example.com", firstName="Alice", lastName="A")
        idp = w.r["identityProviders"]["azure"]
        idp["config"] = {**w.upstream.idp_config(), "defaultScope": "openid offline_access"}
    return w


def cleanup(w: World) -> None:
    if w.server.is_sandbox:
        return
    for realm in (w.realm, w.source, w.upstream.realm if w.upstream else ""):
        if realm:
            w.admin.call("DELETE", f"admin/realms/{realm}")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_check_names_the_link_and_the_probe_confirms_it(
    case: Case, keycloak: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """`keycloak` is named so that `--backend keycloak` collects every case; an exchange case asks
    for the legacy server when it runs (skipped where none is declared)."""
    w = setup(case, request, tmp_path)
    try:
        run_case(case, w)
    finally:
        cleanup(w)


def break_world(case: Case, w: World) -> None:
    """Makes the case's broken server: its spec edits applied, and the breaks done by hand before
    and after the apply (tests/render/test_chain_diagrams.py draws the same servers)."""
    case.breaks(w)
    broken = copy.deepcopy(w.spec)
    case.before_apply(w)
    w.spec = broken
    w.apply()
    case.after_apply(w)
    if case.name in SERVER_BREAKS:
        SERVER_BREAKS[case.name](w)


def run_case(case: Case, w: World) -> None:
    user, password = ("carol", "carol-pw") if case.exchange else ("alice", "alice-pw")
    break_world(case, w)

    if w.server.is_sandbox:
        w.admin.reset_requests()
    checked = w.run("check", "--format", "json", "--probe", *case.probe(w), user=user, password=password)
    if w.server.is_sandbox:
        log = w.admin.requests()["log"]
        admin_writes = [e for e in log if e["method"] != "GET" and e["path"].startswith("/admin/")]
        assert admin_writes == [], "check must not write"
    shown = checked.all
    for secret in ("my-app-secret", "alice-pw", "carol-pw", "b-secret", w.env.get("PROBE_TOKEN", "no token given")):
        assert secret not in shown, "the probe never prints a secret or the token"
    body = findings(checked)
    probe_findings = [f for p in body["probes"] for f in p["findings"]]
    rules = {f["rule"]: f for f in [*body["findings"], *probe_findings]}
    assert case.rule in rules, f"{case.name}: expected {case.rule}, got {sorted(rules)}"
    finding = rules[case.rule]
    assert finding["fix"], "every finding says how to fix it"
    assert case.says in finding["message"], finding["message"]
    if case.step is None:
        assert all(p["ok"] for p in body["probes"]), body["probes"]
    else:
        failed = [s for p in body["probes"] for s in p["steps"] if not s["ok"]]
        assert failed, f"{case.name}: the probe should fail"
        assert failed[0]["name"] == case.step, failed
        assert any(case.answer in s["text"] for s in failed), failed
        assert any(case.rule in p["explainedBy"] for p in body["probes"]), body["probes"]
    assert checked.code == (3 if finding["severity"] == "error" or case.step else 0), checked.all

    if case.fix is FROM_FINDING:
        paste(w.r, yaml.safe_load(finding["fix"]))
        valid = w.run("validate")
        assert valid.code == 0, f"the finding's fix does not validate:\n{finding['fix']}\n{valid.all}"
    else:
        case.fix(w)
    w.apply()
    if case.after_apply is not nothing or case.name == "user-not-linked":
        login(w) if not case.exchange else None
    clean = w.run("check", "--format", "json", "--probe", *case.clean_probe(w), user=user, password=password)
    body = findings(clean)
    problems = [f for f in body["findings"] if f["severity"] != "info" or f["rule"] == case.rule]
    assert problems == [], problems
    assert all(p["ok"] for p in body["probes"]) and body["probes"], body["probes"]
    assert clean.code == 0, clean.all


def test_the_corpus_covers_at_least_twenty_five_cases() -> None:
    assert len(CASES) >= 25 and len({c.rule for c in CASES}) >= 22
